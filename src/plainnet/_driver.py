"""The epoch driver: how training runs, written once for both backends.

It splits the work into calls of about ``CHUNK_SECONDS`` (several whole
epochs, one epoch, or part of one), so that Ctrl-C lands between calls and
other threads get the GIL back; rolls back an epoch that is interrupted or
diverges, so a network always holds the weights of whole epochs; and raises
:class:`TrainingDiverged` for the epoch that produced a non-finite loss or
parameter.  The cores provide the primitives (``_contract.Core``).
"""

from ._errors import TrainingDiverged

__all__ = ["train", "CHUNK_SECONDS"]

#: Aim for calls into a core of about this many seconds.
CHUNK_SECONDS = 0.03


def train(core, rows, targets, options, after_epoch=None):
    """Train ``options.epochs`` epochs; returns the list of epoch losses.

    ``after_epoch(epoch, loss)``, if given, runs after each epoch (0-based in
    this call); returning False stops training.
    """
    n = rows.n
    epochs = options.epochs
    losses = []
    with core.train_data(rows, targets) as data:
        while len(losses) < epochs:
            epoch = len(losses)
            seconds = core.epoch_seconds(n)
            if options.plain_sgd and options.weights is None and (seconds <= CHUNK_SECONDS or n == 1):
                count = 1 if after_epoch is not None else min(
                    epochs - epoch, max(1, int(CHUNK_SECONDS / max(seconds, 1e-12))))
                ran = core.sgd_epochs(data, options, epoch, count)
                if ran is not None:
                    done, bad = ran
                    losses.extend(done)
                    if bad is not None:
                        raise TrainingDiverged.in_epoch(len(losses) + 1, bad, list(losses))
                    if after_epoch is not None and after_epoch(epoch, losses[-1]) is False:
                        break
                    continue
            losses.append(_one_epoch(core, data, options, epoch, n, losses))
            if after_epoch is not None and after_epoch(epoch, losses[-1]) is False:
                break
    return losses


def _one_epoch(core, data, options, epoch, n, losses):
    """One epoch in parts of about CHUNK_SECONDS, rolled back if it fails."""
    core.begin_epoch()
    try:
        order = core.epoch_order(options, n)
        total = 0.0
        first = 0
        size = options.batch_size
        while first < n:
            per_row = core.epoch_seconds(n) / n
            count = max(1, int(CHUNK_SECONDS / max(per_row * size, 1e-12))) * size
            count = min(n - first, count)
            total = core.run_rows(data, options, epoch, order, first, count, total)
            first += count
        loss, ok = core.end_epoch(total, n, options.weight_total)
    except BaseException:
        # KeyboardInterrupt or anything else mid-epoch: no half-updated weights.
        # (Should it land after end_epoch closed the epoch, there is nothing to undo.)
        core.abort_epoch()
        raise
    if not ok:
        raise TrainingDiverged.in_epoch(epoch + 1, loss, list(losses))
    return loss
