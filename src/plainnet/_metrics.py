"""Loss functions on plain data, for users (networks compute theirs in the backend)."""

from ._data import _buffer_view, _is_iterable, as_rows, is_sequence

__all__ = ["mse_loss"]


def _as_block(values, what):
    """Flat numbers become one-value rows; rows stay rows."""
    if not _is_iterable(values):
        raise TypeError("%s must be a sequence of numbers or of rows, not %r" % (what, values))
    view = _buffer_view(values)
    if view is not None:
        return as_rows(values, 1 if view.ndim == 1 else None, what)
    values = list(values)
    if values and not is_sequence(values[0]):
        return as_rows([[v] for v in values], 1, what)
    return as_rows(values, None, what)


def mse_loss(y_true, y_pred):
    """Mean squared error: the mean over samples of each sample's mean squared error.

    Accepts flat sequences (one value per sample) or lists of rows.
    ``mse_loss([1, 0, 0, 1], [0, 0, 0, 0]) == 0.5``.
    """
    t = _as_block(y_true, "y_true")
    p = _as_block(y_pred, "y_pred")
    if (t.n, t.width) != (p.n, p.width):
        raise ValueError(
            "y_true has %d rows of %d values but y_pred has %d rows of %d"
            % (t.n, t.width, p.n, p.width)
        )
    total = 0.0
    for tr, pr in zip(t.lists, p.lists):
        acc = 0.0
        for a, b in zip(tr, pr):
            d = a - b
            acc += d * d
        total += acc / t.width
    return total / t.n
