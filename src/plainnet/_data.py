"""Validation and conversion of user data, done once, before any backend runs.

Everything a backend receives has been checked here: numbers are finite
Python floats, rows are rectangular and of the width the network expects.
Buffers (``array('d')``, anything with the buffer protocol) are read through
``memoryview``, so numpy is never imported for them.  A numpy array of real
numbers (bool, integer or float, any layout or byte order) that is not native
C-order float64 already is converted to one by numpy, in one step, and then
read in place like one; numpy is only looked up in ``sys.modules`` for that,
since such an array exists only once numpy is imported.  Other
array-likes (pandas and polars DataFrames and Series, torch tensors, anything
with ``__array__`` or the dataframe interchange protocol) are converted
through numpy, imported only then; text and missing values in them are
refused naming the column.
"""

import sys
from array import array
from itertools import chain
from math import isfinite
from collections.abc import Mapping
from numbers import Real
from struct import Struct

__all__ = ["as_float", "as_int", "as_vector", "as_rows", "as_targets", "Rows", "names_of",
           "check_loss_targets"]

_INT_FORMATS = frozenset("bBhHiIlLqQnN")
# Formats of native float64, which the C backend reads in place.
_NATIVE_DOUBLE = ("d", "@d", "=d", "<d" if sys.byteorder == "little" else ">d")
_FLOAT_FORMATS = frozenset("efd")
_BOOL_FORMAT = "?"


def _describe(v):
    """A short description of ``v`` for an error message: a repr cut to 40
    characters, and the type.  Strings are cut before repr, so a huge one
    costs nothing; a repr that fails is not needed to report the problem."""
    if isinstance(v, str) and len(v) > 40:
        v = v[:40]
    try:
        text = repr(v)
    except Exception:
        text = "<unprintable>"
    if len(text) > 40:
        text = text[:37] + "..."
    return "%s (%s)" % (text, type(v).__name__)


def as_float(v, what):
    """Return ``v`` as a finite float, or raise TypeError/ValueError naming ``what``."""
    if type(v) is not float:
        if isinstance(v, bool) or not isinstance(v, Real):
            raise TypeError("%s must be a number, not %s" % (what, _describe(v)))
        try:
            v = float(v)
        except (OverflowError, ValueError) as exc:
            raise ValueError("%s cannot be converted to a float: %s" % (what, exc)) from None
    if not isfinite(v):
        raise ValueError("%s must be finite, got %r" % (what, v))
    return v


def as_int(v, what, minimum=None):
    """Return ``v`` as an int (bool and float rejected), optionally >= ``minimum``."""
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise TypeError("%s must be an integer, not %s" % (what, _describe(v)))
    v = v.__index__()
    if type(v) is not int:
        # An int subclass may define its own comparisons (or __index__ may
        # return anything): compare, and hand on, an exact int only.
        if not isinstance(v, int):
            raise TypeError("%s must be an integer: its __index__ returned %s" % (what, _describe(v)))
        v = int.__index__(v)
    if minimum is not None and v < minimum:
        raise ValueError("%s must be at least %d, got %d" % (what, minimum, v))
    return v


def is_sequence(obj):
    """True for lists, tuples, arrays and the like; False for text, bytes and mappings."""
    if type(obj) is list or type(obj) is tuple:  # the common case, before the ABC check
        return True
    return (hasattr(obj, "__len__") and hasattr(obj, "__iter__")
            and not isinstance(obj, (str, bytes, bytearray, Mapping)))


def _is_iterable(obj):
    if type(obj) is list or type(obj) is tuple:
        return True
    return hasattr(obj, "__iter__") and not isinstance(obj, (str, bytes, bytearray, Mapping))


def _buffer_view(obj):
    """A memoryview of ``obj`` if it exposes numeric data through the buffer protocol."""
    if isinstance(obj, (list, tuple, str, bytes, bytearray)):
        return None
    try:
        view = memoryview(obj)
    except TypeError:
        return None
    fmt = view.format.lstrip("@=<>!")
    if fmt not in _FLOAT_FORMATS and fmt not in _INT_FORMATS and fmt != _BOOL_FORMAT:
        if hasattr(obj, "__array__"):  # numpy text or objects: _from_foreign names the problem
            return None
        raise TypeError(
            "buffer of format %r is not numeric: pass floats (for example a float64 array)"
            % view.format
        )
    return view


def _view_tolist(view):
    """``view.tolist()``, also for the formats memoryview cannot unpack itself:
    float16 (``e``) and non-native byte order (``>d``), read with ``struct``."""
    if view.format.lstrip("@=<>!") == _BOOL_FORMAT:  # a bool array: True is 1.0
        flat = [1.0 if b else 0.0 for b in view.tobytes()]
        for size in reversed(view.shape[1:]):
            flat = [flat[i:i + size] for i in range(0, len(flat), size)]
        return flat[0] if view.ndim == 0 else flat
    try:
        return view.tolist()
    except NotImplementedError:
        pass
    fmt = view.format
    order, code = (fmt[0], fmt[1:]) if fmt[0] in "@=<>!" else ("@", fmt)
    n = view.nbytes // view.itemsize
    flat = list(Struct("%s%d%s" % (order, n, code)).unpack(view.tobytes()))
    if view.ndim == 0:
        return flat[0]
    for size in reversed(view.shape[1:]):
        flat = [flat[i:i + size] for i in range(0, len(flat), size)]
    return flat


# The fast paths below take plain lists of plain numbers, the common case, at C
# speed: a set of the element types, then one sum.  A sum of floats is finite
# only if every term is (NaN and infinities make any sum non-finite); an
# overflow to infinity merely sends the data to the careful path, which then
# accepts it.  Anything unusual (bools, strings, numpy scalars, ragged rows)
# also takes the careful path, which names the offending value.
_FLOAT = frozenset([float])
_INT_FLOAT = frozenset([int, float])
_LIST = frozenset([list])


def _fast_floats(values):
    """A fresh list of floats equal to ``values`` (a list), or None to check carefully."""
    types = set(map(type, values))
    if types == _FLOAT:
        out = values[:]
    elif types <= _INT_FLOAT:
        try:
            out = list(map(float, values))
        except OverflowError:
            return None
    else:
        return None
    return out if isfinite(sum(out)) else None


def _fast_rows(data, width, core):
    """:class:`Rows` for a list of equally long lists of numbers, or None.

    A core that offers packing (the C backend on CPython, through
    ``plainnet._pn_lists``) does the checks and packs float64 rows in one C
    loop; it too returns None for anything unusual, so the result never
    depends on whether it is there.
    """
    if core is not None:
        packed = core.pack_rows(data, width)
        if packed is not None:
            return Rows(len(data), width, buffer=packed)
    if set(map(type, data)) != _LIST or set(map(len, data)) != {width}:
        return None
    types = set(map(type, chain.from_iterable(data)))
    if types == _FLOAT:
        rows = [row[:] for row in data]
    elif types <= _INT_FLOAT:
        try:
            rows = [list(map(float, row)) for row in data]
        except OverflowError:
            return None
    else:
        return None
    return Rows(len(rows), width, lists=rows) if isfinite(sum(map(sum, rows))) else None


def _check_vector(values, what, width):
    """``values`` (a sequence) as a list of finite floats of length ``width``."""
    if type(values) is list and (width is None or len(values) == width):
        out = _fast_floats(values)
        if out is not None:
            return out
    if not is_sequence(values):
        raise TypeError("%s must be a sequence of numbers, not %s" % (what, _describe(values)))
    if type(values) is not list:
        values = list(values)
    if width is not None and len(values) != width:
        raise ValueError("%s has %d values, expected %d" % (what, len(values), width))
    out = [v if type(v) is float else None for v in values]
    for i, v in enumerate(out):
        if v is None or not isfinite(v):
            out[i] = as_float(values[i], "%s[%d]" % (what, i))
    return out


def as_vector(x, width, what="x"):
    """One row of numbers as a list of floats of length ``width``."""
    x = _from_foreign(x, what)
    view = _buffer_view(x)
    if view is not None:
        if view.ndim != 1:
            raise ValueError("%s must be 1-dimensional, got shape %s" % (what, tuple(view.shape)))
        x = _view_tolist(view)
    return _check_vector(x, what, width)


class Rows:
    """A validated, rectangular block of finite floats: ``n`` rows of ``width``.

    ``lists`` holds the rows as lists of floats.  ``buffer`` is set when the
    caller passed a C-contiguous float64 buffer (``borrowed``: the caller's
    memory), when numpy converted the caller's array to a new float64 one
    (the memoryview holds that array), or when ``plainnet._pn_lists`` packed
    the rows: the C backend reads it in place.
    """

    __slots__ = ("n", "width", "_lists", "buffer", "_flat", "borrowed")

    def __init__(self, n, width, lists=None, buffer=None, borrowed=False):
        self.n = n
        self.width = width
        self._lists = lists
        self.buffer = buffer
        self._flat = None
        self.borrowed = borrowed

    def snapshot(self):
        """These rows with values that nothing outside plainnet can change: a
        borrowed buffer is copied (one memcpy), anything else is plainnet's own.
        Training with a callback reads a snapshot, so both backends see the
        data as it was at the call even if the callback changes the caller's
        array; without one, nothing of the caller's runs until the call
        returns, and training reads the array in place."""
        if not self.borrowed:
            return self
        copy = array("d")
        copy.frombytes(self.buffer.cast("B"))
        return Rows(self.n, self.width, buffer=memoryview(copy))

    def flat(self):
        """All values row after row as float64: ``buffer``, or a cached ``array('d')``."""
        if self.buffer is not None:
            return self.buffer
        if self._flat is None:
            if self.n * self.width <= 1024:  # small: one call beats a Struct per row
                flat = array("d", chain.from_iterable(self._lists))
            else:  # large: packing row by row is about twice as fast per value
                flat = array("d", bytes(8 * self.n * self.width))
                pack_row, step = Struct("%dd" % self.width).pack_into, 8 * self.width
                for k, row in enumerate(self._lists):
                    pack_row(flat, k * step, *row)
            self._flat = flat
        return self._flat

    @property
    def lists(self):
        if self._lists is None:
            flat = self.buffer.tolist()
            w = self.width
            self._lists = [flat[i * w:(i + 1) * w] for i in range(self.n)]
        return self._lists


def _block_shape(shape, width, what):
    """``shape`` (an array's or a view's) as (rows, width), or raise naming the problem."""
    if len(shape) == 1 and width == 1:
        shape = (shape[0], 1)
    elif len(shape) != 2:
        raise ValueError(
            "%s must be 2-dimensional (rows of %s values), got shape %s"
            % (what, width, tuple(shape))
        )
    if shape[0] == 0:
        raise ValueError("%s is empty: at least one row is needed" % what)
    if width is not None and shape[1] != width:
        raise ValueError("%s rows have %d values, expected %d" % (what, shape[1], width))
    return tuple(shape)


def _checked_doubles(flat, shape, what, core, borrowed):
    """:class:`Rows` reading ``flat`` (a C-contiguous float64 memoryview) in
    place, once no value in it is a NaN or an infinity."""
    k = core.first_nonfinite(flat) if core is not None else first_nonfinite(flat)
    if k is not None:
        raise ValueError("%s row %d, column %d is %r: data must be finite"
                         % (what, k // shape[1], k % shape[1], flat[k]))
    return Rows(shape[0], shape[1], buffer=flat, borrowed=borrowed)


def _rows_from_view(view, width, what, core):
    shape = _block_shape(view.shape, width, what)
    fmt = view.format.lstrip("@=<>!")
    if fmt == "d" and view.c_contiguous and view.format in _NATIVE_DOUBLE:
        return _checked_doubles(view.cast("B").cast("d"), shape, what, core, True)
    nested = _view_tolist(view)
    if view.ndim == 1:
        nested = [[v] for v in nested]
    return _rows_from_lists(nested, width, what, core)


def _real_array(obj):
    """``obj`` if it is a numpy array of real numbers (bool, integer or float
    of any size, order and layout), else None.  numpy is looked up, never
    imported: an ndarray exists only if numpy already is."""
    numpy = sys.modules.get("numpy")
    ndarray = getattr(numpy, "ndarray", None)
    if ndarray is None or not isinstance(obj, ndarray) or obj.dtype.kind not in "biuf":
        return None
    return obj


def _rows_from_array(arr, width, what, core):
    """:class:`Rows` for a numpy array of real numbers: native C-contiguous
    float64 is read in place; anything else numpy converts to a new C-order
    float64 array in one step (ints correctly rounded, as Python's float(int);
    bools 1.0 and 0.0; float16 and float32 widened exactly; any byte order),
    which the Rows then reads in place and so keeps alive through its
    memoryview.  No Python lists in between."""
    shape = _block_shape(arr.shape, width, what)
    if shape[1] == 0 or (arr.dtype.kind == "f" and arr.dtype.itemsize == 8
                         and arr.dtype.isnative and arr.flags.c_contiguous):
        return _rows_from_view(memoryview(arr), width, what, core)
    numpy = sys.modules["numpy"]
    doubles = numpy.ascontiguousarray(arr, dtype=numpy.float64)
    # A new array is plainnet's own: training need not snapshot it.
    borrowed = doubles is arr or not doubles.flags.owndata
    return _checked_doubles(memoryview(doubles).cast("B").cast("d"), shape, what, core, borrowed)


def first_nonfinite(flat):
    """Index of the first NaN or infinity in a float64 memoryview, or None."""
    for k, v in enumerate(flat):
        if not isfinite(v):
            return k
    return None


def _rows_from_lists(data, width, what, core=None):
    if data and width is not None:
        fast = _fast_rows(data, width, core)
        if fast is not None:
            return fast
    rows = []
    for r, row in enumerate(data):
        name = "%s row %d" % (what, r)
        if width is None:
            if not is_sequence(row):
                raise TypeError("%s must be a sequence of numbers, not %s" % (name, _describe(row)))
            width = len(row)
            if width == 0:
                raise ValueError("%s is empty: rows need at least one value" % name)
        view = _buffer_view(row)
        rows.append(_check_vector(_view_tolist(view) if view is not None else row, name, width))
    if not rows:
        raise ValueError("%s is empty: at least one row is needed" % what)
    return Rows(len(rows), width, lists=rows)


def as_rows(data, width, what="data", core=None, names=None):
    """A 2-D block of numbers (list of rows, a 2-D buffer, a DataFrame, a
    tensor, anything with ``__array__``) as :class:`Rows`.

    ``core``, the network's backend core, may pack and check the rows its own
    way (``pack_rows``, ``first_nonfinite``); the rows then take its form.
    ``names``, the network's input names, picks a DataFrame's columns by name.
    """
    if isinstance(data, Rows):
        return data
    if _real_array(data) is not None:
        return _rows_from_array(data, width, what, core)
    view = _buffer_view(data)
    if view is None:
        data = _from_foreign(data, what, names)
        if _real_array(data) is not None:
            return _rows_from_array(data, width, what, core)
        view = _buffer_view(data)
    if view is not None:
        return _rows_from_view(view, width, what, core)
    if not _is_iterable(data):
        raise TypeError("%s must be a list of rows of numbers, not %s" % (what, _describe(data)))
    data = list(data)
    if data and isinstance(data[0], (str, bytes)):
        raise TypeError("%s holds text (%s), not rows of numbers%s" % (what, _describe(data[0]), _TEXT_HINT))
    if data and width is not None and not is_sequence(data[0]):
        raise TypeError(
            "%s must be a list of rows (each a list of %d numbers); got a flat sequence"
            % (what, width)
        )
    return _rows_from_lists(data, width, what, core)


def _is_block(obj):
    """True for what :func:`as_rows` reads as a block: Rows, numpy arrays of
    real numbers, numeric buffers."""
    return isinstance(obj, Rows) or _real_array(obj) is not None or _buffer_view(obj) is not None


def as_targets(targets, n_rows, n_out, what="targets", core=None, names=None):
    """Targets as :class:`Rows` of width ``n_out``.

    A flat sequence of numbers (or a Series, or a 1-D array) is accepted for
    a network with one output.  ``names`` picks a DataFrame's columns by name.
    """
    if not _is_block(targets):
        targets = _from_foreign(targets, what, names)
    if not _is_block(targets):
        if not _is_iterable(targets):
            raise TypeError("%s must be a list of numbers or of rows, not %s" % (what, _describe(targets)))
        targets = list(targets)
        if targets and isinstance(targets[0], (str, bytes)):
            raise TypeError("%s hold text (%s), not numbers%s" % (what, _describe(targets[0]), _TEXT_HINT))
        if targets and not is_sequence(targets[0]):
            if n_out != 1:
                raise ValueError(
                    "%s is a flat list, but the network has %d outputs: give one row of %d values per sample"
                    % (what, n_out, n_out)
                )
            targets = [[v] for v in targets]
    rows = as_rows(targets, n_out, what, core)
    if rows.n != n_rows:
        raise ValueError("%s has %d rows but data has %d" % (what, rows.n, n_rows))
    return rows


_TEXT_HINT = (": plainnet computes with numbers; encode classes as one-hot columns "
              "(pandas.get_dummies), or let the command line ('plainnet train') do it")


def _is_frame(obj):
    """True for a DataFrame (pandas, polars, anything with the interchange protocol)."""
    return hasattr(obj, "__dataframe__") or (hasattr(obj, "columns") and hasattr(obj, "dtypes"))


def names_of(obj):
    """The column names of a DataFrame, or ``[name]`` of a named Series, else None.

    Only names that are all strings count (pandas numbers unnamed columns 0, 1, ...).
    """
    if isinstance(obj, (list, tuple, str, bytes, Rows)):
        return None
    names = None
    if _is_frame(obj):
        names = getattr(obj, "columns", None)
        if names is None:
            try:
                names = obj.__dataframe__().column_names()
            except Exception:
                return None
        names = list(names)
    elif hasattr(obj, "__array__") and hasattr(obj, "name") and hasattr(obj, "dtype"):  # a Series
        names = [obj.name]
    if not names or not all(isinstance(n, str) for n in names):
        return None
    return names


def _numpy(what):
    try:
        import numpy
    except ImportError:
        raise TypeError("%s: converting this kind of data needs numpy, which is not installed" % what) from None
    return numpy


def _from_foreign(obj, what, names=None):
    """``obj`` as a numpy array if it is a DataFrame, Series, tensor or other
    ``__array__`` holder; anything else unchanged.

    With ``names`` (the network's input names) a DataFrame whose columns are
    named gives those columns, in that order.  Text, missing values and
    non-numeric columns raise TypeError/ValueError naming the column.
    """
    if type(obj) in (list, tuple) or isinstance(obj, (str, bytes, bytearray, Mapping, Rows)):
        return obj
    frame = _is_frame(obj)
    if not frame and not hasattr(obj, "__array__"):
        return obj
    numpy = _numpy(what)
    columns = names_of(obj) if frame else None
    if hasattr(obj, "detach") and hasattr(obj, "numpy") and hasattr(obj, "device"):  # a torch tensor
        device = getattr(obj.device, "type", str(obj.device))
        if device != "cpu":
            raise ValueError("%s is a tensor on device %r: move it to the CPU first (tensor.cpu())"
                             % (what, str(obj.device)))
        arr = obj.detach().numpy()
    elif not hasattr(obj, "__array__"):  # the dataframe interchange protocol only
        try:
            from pandas.api.interchange import from_dataframe
        except ImportError:
            raise TypeError("%s: reading a %s (a dataframe without __array__) needs pandas"
                            % (what, type(obj).__name__)) from None
        arr = numpy.asarray(from_dataframe(obj))
    else:
        try:
            arr = numpy.asarray(obj)
        except (TypeError, ValueError) as exc:
            raise TypeError("%s: cannot read %s as an array of numbers: %s"
                            % (what, type(obj).__name__, exc)) from None
    if names is not None and columns is not None and arr.ndim == 2:
        missing = [n for n in names if n not in columns]
        if missing:
            raise ValueError(
                "%s lacks the column(s) %s that the network was trained on (it has: %s)"
                % (what, ", ".join(map(repr, missing)), ", ".join(map(repr, columns))))
        if list(names) != columns:
            arr = arr[:, [columns.index(n) for n in names]]
            columns = list(names)
    kind = arr.dtype.kind
    if kind == "f" and columns is not None and arr.ndim == 2 and not numpy.isfinite(arr).all():
        r, c = (int(k) for k in numpy.argwhere(~numpy.isfinite(arr))[0])
        v = float(arr[r, c])
        problem = "a missing value (NaN): fill or drop missing values first" if v != v else \
            "%r: data must be finite" % v
        raise ValueError("%s, row %d, column %r is %s" % (what, r, columns[c], problem))
    if kind == "b" or arr.dtype == numpy.float64:  # C-contiguous float64: read in place
        return numpy.ascontiguousarray(arr, dtype=numpy.float64)
    if kind in "iuf":
        return arr
    if kind == "c":
        raise TypeError("%s holds complex numbers: pass real numbers" % what)
    _refuse_cells(arr, what, columns, numpy)
    try:
        return arr.astype(numpy.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError("%s: cannot read %s (dtype %s) as numbers: %s"
                        % (what, type(obj).__name__, arr.dtype, exc)) from None


def _refuse_cells(arr, what, columns, numpy):
    """Raise, naming the first cell of ``arr`` (not numeric dtype) that is not a real number."""
    flat = arr.reshape(arr.shape[0], -1) if arr.ndim >= 2 else arr.reshape(-1, 1)
    for r in range(flat.shape[0]):
        for c in range(flat.shape[1]):
            v = flat[r, c]
            if isinstance(v, (bool, numpy.bool_)) or (isinstance(v, Real) and isfinite(float(v))):
                continue
            if arr.ndim >= 2:
                where = "column %r" % columns[c] if columns is not None else "column %d" % c
                where = "%s, row %d, %s" % (what, r, where)
            else:
                where = "%s[%d]" % (what, r)
            if isinstance(v, (str, bytes)):
                raise TypeError("%s holds text (%s), not a number%s" % (where, _describe(v), _TEXT_HINT))
            if v is None or (isinstance(v, Real) and v != v) or type(v).__name__ in ("NAType", "NaTType"):
                raise ValueError("%s is a missing value (%s): fill or drop missing values first"
                                 % (where, _describe(v)))
            if isinstance(v, Real):
                raise ValueError("%s is %r: data must be finite" % (where, v))
            raise TypeError("%s is %s, not a number" % (where, _describe(v)))


def check_loss_targets(rows, loss, what="targets"):
    """Refuse targets that the cross-entropy ``loss`` cannot take: values outside
    [0, 1], and for categorical cross-entropy rows that do not sum to 1."""
    if loss not in ("binary_crossentropy", "categorical_crossentropy"):
        return
    w, flat = rows.width, rows.buffer
    # a borrowed buffer is read row by row in place, never turned into lists
    # (for 1e6 x 10 targets, 1e7 Python floats kept for the whole call)
    each = rows.lists if flat is None else (flat[r * w:(r + 1) * w] for r in range(rows.n))
    for r, row in enumerate(each):
        for c, v in enumerate(row):
            if not 0.0 <= v <= 1.0:
                raise ValueError(
                    "%s row %d, column %d is %r: %s needs targets in [0, 1] (probabilities or 0/1 labels)"
                    % (what, r, c, v, loss))
        if loss == "categorical_crossentropy" and abs(sum(row) - 1.0) > 1e-6:
            raise ValueError(
                "%s row %d sums to %r: categorical_crossentropy needs each row to sum to 1 "
                "(one-hot classes or class probabilities)" % (what, r, sum(row)))
