"""Exceptions raised by plainnet, beyond the built-in ValueError and TypeError.

Every one pickles with its message and attributes, so it crosses process
boundaries (multiprocessing, concurrent.futures) as itself.
"""

__all__ = ["BackendUnavailable", "ModelFileError", "TrainingDiverged", "TrainingInProgress"]


class BackendUnavailable(ImportError):
    """A backend was asked for by name and cannot be loaded here."""


class ModelFileError(ValueError):
    """A model file or model dictionary is malformed; the message names the problem."""


class TrainingDiverged(FloatingPointError):
    """Training produced a non-finite loss or weight.

    The network is left with the weights it had after the last epoch whose
    weights and loss were all finite.  ``epoch`` is the 1-based number of the
    epoch that diverged (within this call to ``train``) and ``losses`` holds the
    per-epoch losses of the epochs that completed before it; ``loss`` is the
    diverged epoch's loss.
    """

    loss = None

    def __init__(self, message, epoch, losses):
        super().__init__(message)
        self.epoch = epoch
        self.losses = losses

    def __reduce__(self):
        # BaseException's would call cls(message) alone; the attributes (loss
        # among them, when set) travel in the instance dict.
        return (type(self), (self.args[0] if self.args else "", self.epoch, self.losses), self.__dict__)

    @classmethod
    def in_epoch(cls, epoch, loss, losses):
        """The error for epoch ``epoch`` (1-based) whose loss was ``loss``."""
        exc = cls(
            "training diverged in epoch %d (loss %r): the weights are those after the "
            "last finite epoch; try a smaller learning rate" % (epoch, loss),
            epoch,
            losses,
        )
        exc.loss = loss
        return exc


class TrainingInProgress(RuntimeError):
    """train() was called on a network that another thread is training."""
