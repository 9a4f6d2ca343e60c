"""The C backend: ``_contract.Core``, computed by ``csrc/plainnet.c``.

Thin wrappers around the cffi module ``plainnet._pn_c``: they allocate with
``ffi.new``, read float64 buffers in place with ``ffi.from_buffer``, and turn
the C core's return codes into the exceptions the Python backend raises.  The
C core returns the same bits as the Python backend (the order contract in
``_contract``).  Codes are found by name (``lib.PN_SIGMOID``), from the
registry's records.

On CPython, the companion extension ``plainnet._pn_lists`` (csrc/pn_lists.c)
takes Python lists into the core in C: ``forward_list`` of a list is then one
C call, and ``pack_rows`` packs lists of rows with it.

Importing this module raises ImportError when the compiled module is missing;
``plainnet._backends`` turns that into "backend unavailable".  cffi releases
the GIL during every call, so other threads run meanwhile.
"""

from array import array
from contextlib import contextmanager
from functools import partial
from struct import Struct, error as StructError
from time import perf_counter

from . import _registry
from ._contract import flatten, unflatten
from ._threads import get_num_threads
from ._pn_c import ffi, lib

try:  # CPython's shortcut for lists (csrc/pn_lists.c); plainnet._data uses it too
    from . import _pn_lists
except ImportError:  # PyPy, or a build without it: lists take the checked path
    _pn_lists = None

name = "c"


def _code(record):
    """The C core's code of a registry record, by name; ValueError if it has none."""
    code = getattr(lib, record.c_code, None)
    if code is None:
        raise ValueError("the C core has no %s (%r): rebuild plainnet's C core" % (record.c_code, record.name))
    return code

# First guess of the seconds one SGD step costs per parameter; measured after.
_FIRST_COST = 2e-9

_new_uncleared = ffi.new_allocator(should_clear_after_alloc=False)


def _check(rc):
    if rc != lib.PN_OK:
        text = ffi.string(lib.pn_strerror(rc)).decode()
        if rc == lib.PN_ESTATE:
            raise RuntimeError("plainnet C core: %s" % text)
        raise ValueError("plainnet C core: %s" % text)


def _doubles(buffer):
    """A ``double[]`` view of a float64 buffer (array('d') or a Rows buffer), no
    copy unless the buffer is not aligned for doubles (a numpy view at an odd
    byte offset): C may not read that in place, so it reads an aligned copy.
    Every length passed to C is the view's own, ``len(view)``, so C never reads
    past a buffer, whatever a Rows claims.

    Use it in a ``with`` block, which releases the buffer on the way out,
    exceptions included.  Left to the garbage collector in a traceback's
    reference cycle, a view of a memoryview (what Rows holds for numpy input)
    crashed CPython: the collector cleared the memoryview while it was still
    exported, then the view released it.
    """
    view = ffi.from_buffer("double[]", buffer)
    if int(ffi.cast("uintptr_t", view)) % ffi.alignof("double") == 0:
        return view
    ffi.release(view)
    copy = array("d")
    copy.frombytes(memoryview(buffer).cast("B"))
    return ffi.from_buffer("double[]", copy)


def first_nonfinite(flat):
    """Index of the first NaN or infinity in a float64 buffer, or None."""
    index = ffi.new("size_t *")
    with _doubles(flat) as values:
        n = len(values)
        _check(lib.pn_find_nonfinite(values, n, index))
    return None if index[0] == n else index[0]


def _no_shortcut(x):
    return None


class Core:
    __slots__ = ("sizes", "activations", "loss_name", "_mem", "_net", "_n_params",
                 "_scratch_len", "_block_len", "_threads", "_idle_blocks", "_cost", "_rng", "_adam", "_buffers", "_epochs_base",
                 "_pack_x", "_unpack_y", "_forward_buffers", "forward_list", "_saved",
                 "_order", "_c_opt")
    name = name

    def __init__(self, sizes, activations, loss, weights, biases):
        self.sizes = list(sizes)
        self.activations = list(activations)
        self.loss_name = loss
        c_sizes = ffi.new("size_t[]", self.sizes)
        codes = ffi.new("int[]", [_code(_registry.activation(a)) for a in self.activations])
        nbytes = lib.pn_net_bytes(len(self.sizes), c_sizes)
        if nbytes == 0:
            raise ValueError("sizes %r are too large for the C core" % (self.sizes,))
        self._mem = _new_uncleared("double[]", (nbytes + 7) // 8)
        _check(lib.pn_net_init(self._mem, nbytes, len(self.sizes), c_sizes, codes,
                               _code(_registry.loss(loss))))
        self._net = ffi.cast("pn_net *", self._mem)
        # forward_list: one C call from a Python list to a list of outputs,
        # checks included (contract: None for anything but a plain list).
        self.forward_list = (_no_shortcut if _pn_lists is None
                             else partial(_pn_lists.forward, ffi.buffer(self._mem)))
        self._n_params = lib.pn_n_params(self._net)
        self._scratch_len = lib.pn_scratch_len(self._net)
        self._block_len = lib.pn_block_scratch_len(self._net)
        self._threads = 1
        self._idle_blocks = []  # block areas between calls, see _block_scratch
        self._cost = _FIRST_COST
        # The C core counts epochs and advances the shuffling state in place, so
        # both are right even when Ctrl-C lands just after a call returns.
        self._rng = ffi.new("uint64_t *")
        self._adam = ffi.new("double[2]")  # beta1 ** steps, beta2 ** steps
        self._epochs_base = 0
        self._pack_x = Struct("%dd" % self.sizes[0]).pack_into
        self._unpack_y = Struct("%dd" % self.sizes[-1]).unpack_from
        self._forward_buffers = []  # idle buffer sets of forward(), see there
        self._saved = None
        self._order = None
        self._c_opt = None
        self.set_params(weights, biases)
        self.set_train_state({"rng": 0, "b1t": 1.0, "b2t": 1.0, "buffers": []})

    def _scratch(self):
        # Per call, so that forward, predict, loss and gradients may run in many threads.
        return _new_uncleared("double[]", self._scratch_len)

    # -- parameters and state ------------------------------------------------
    def get_params(self):
        flat = _new_uncleared("double[]", self._n_params)
        _check(lib.pn_get_params(self._net, flat, self._n_params))
        return unflatten(ffi.unpack(flat, self._n_params), self.sizes)

    def set_params(self, weights, biases):
        flat = array("d", flatten(weights, biases))
        with _doubles(flat) as params:
            _check(lib.pn_set_params(self._net, params, len(flat)))

    def get_train_state(self):
        n, held = self._n_params, self._buffers
        return {"rng": self._rng[0], "b1t": self._adam[0], "b2t": self._adam[1],
                "buffers": [self._relayout(held[k:k + n], False).tolist()
                            for k in range(0, len(held), n)]}

    def set_train_state(self, state):
        self._rng[0] = state["rng"]
        self._adam[0] = state["b1t"]
        self._adam[1] = state["b2t"]
        held = array("d")
        for buffer in state["buffers"]:
            held.extend(self._relayout(array("d", buffer), True))
        self._buffers = held

    def reset_optimizer(self, n_buffers):
        self._adam[0] = self._adam[1] = 1.0
        self._buffers = array("d", bytes(8 * self._n_params * n_buffers))  # zeros in any layout

    def _relayout(self, buffer, to_core):
        """One optimizer buffer from the flat layout to the core's (to_core)
        or back: the core keeps each layer's weights i-major (plainnet.h)."""
        out, at = array("d"), 0
        for n_in, n_out in zip(self.sizes, self.sizes[1:]):
            block = buffer[at:at + n_in * n_out]
            # column i of the j-major block is row i of the i-major one, and back
            for k in range(n_in if to_core else n_out):
                out.extend(block[k::n_in if to_core else n_out])
            at += n_in * n_out
            out.extend(buffer[at:at + n_out])
            at += n_out
        return out

    @property
    def epochs_done(self):
        return self._epochs_base + lib.pn_epochs_trained(self._net)

    def set_epochs_done(self, n):
        self._epochs_base = n - lib.pn_epochs_trained(self._net)

    # -- forward -----------------------------------------------------------
    def forward(self, x):
        # The latency of one row is mostly Python: so no allocation per call
        # (each call takes a set of buffers from a free list and puts it back,
        # which is safe with threads and with reentry through signal handlers,
        # since list.pop and list.append are atomic), and struct rather than
        # cffi to convert the floats (twice as fast).
        free = self._forward_buffers
        try:
            buffers = free.pop()
        except IndexError:
            buffers = self._new_forward_buffers()
        x_bytes, x_c, y_c, y_bytes, scratch = buffers
        try:
            self._pack_x(x_bytes, 0, *x)
        except StructError:  # a row of the wrong length
            free.append(buffers)
            _check(lib.PN_ESIZE)
        rc = lib.pn_forward(self._net, x_c, len(x), y_c, self.sizes[-1], scratch,
                            self._scratch_len)
        y = list(self._unpack_y(y_bytes))
        free.append(buffers)
        if rc:
            _check(rc)
        return y

    def pack_rows(self, data, width):
        if _pn_lists is None:
            return None
        packed = _pn_lists.pack_rows(data, width)
        return None if packed is None else memoryview(packed).cast("d")

    first_nonfinite = staticmethod(first_nonfinite)

    def _new_forward_buffers(self):
        n_in, n_out = self.sizes[0], self.sizes[-1]
        x_c = _new_uncleared("double[]", n_in)
        y_c = _new_uncleared("double[]", n_out + self._scratch_len)
        return ffi.buffer(x_c), x_c, y_c, ffi.buffer(y_c, 8 * n_out), y_c + n_out

    def _use_threads(self):
        """Tell the core the thread count (set_num_threads) before a batched call."""
        n = get_num_threads()
        if n != self._threads:
            _check(lib.pn_set_threads(self._net, n))
            self._threads = n

    @contextmanager
    def _block_scratch(self, n_rows):
        """Scratch for pn_predict/pn_loss: a block area (matrix products),
        unless one row is all there is to compute.  Block areas are reused
        (a list of idle ones, as forward's buffers: pop and append are
        atomic), so that small calls do not pay for fresh pages each time."""
        if n_rows == 1:
            yield self._scratch(), self._scratch_len
            return
        self._use_threads()
        idle = self._idle_blocks
        try:
            block = idle.pop()
        except IndexError:
            block = _new_uncleared("double[]", self._block_len)
        try:
            yield block, self._block_len
        finally:
            if len(idle) < 2:
                idle.append(block)

    def predict(self, rows):
        n_out = self.sizes[-1]
        size = rows.n * n_out
        y = _new_uncleared("double[]", size)
        with self._block_scratch(rows.n) as (scratch, scratch_len), _doubles(rows.flat()) as x:
            _check(lib.pn_predict(self._net, x, len(x), y, size, scratch, scratch_len))
        # memoryview makes the nested lists in C: 1.7x faster than slicing a flat list
        return memoryview(ffi.buffer(y, 8 * size)).cast("d", (rows.n, n_out)).tolist()

    def predict_into(self, rows, out):
        with self._block_scratch(rows.n) as (scratch, scratch_len), _doubles(rows.flat()) as x, \
                ffi.from_buffer("double[]", out, require_writable=True) as y:
            _check(lib.pn_predict(self._net, x, len(x), y, len(y), scratch, scratch_len))

    def loss(self, rows, targets, weights=None):
        out = ffi.new("double *")
        with self._block_scratch(rows.n) as (scratch, scratch_len), _doubles(rows.flat()) as x, \
                _doubles(targets.flat()) as t:
            if weights is None:
                _check(lib.pn_loss(self._net, x, len(x), t, len(t), out, scratch, scratch_len))
            else:
                with _doubles(weights) as w:
                    _check(lib.pn_loss_weighted(self._net, x, len(x), t, len(t), w, len(w),
                                                out, scratch, scratch_len))
        return out[0]

    def gradients(self, x, t):
        grads = _new_uncleared("double[]", self._n_params)
        loss = ffi.new("double *")
        _check(lib.pn_gradients(self._net, ffi.new("double[]", x), len(x),
                                ffi.new("double[]", t), len(t), grads, self._n_params, loss,
                                self._scratch(), self._scratch_len))
        wg, bg = unflatten(ffi.unpack(grads, self._n_params), self.sizes)
        return wg, bg, loss[0]

    # -- training primitives (driven by _driver) -----------------------------
    @contextmanager
    def train_data(self, rows, targets):
        with _doubles(rows.flat()) as x, _doubles(targets.flat()) as t:
            yield x, len(x), t, len(t)

    def epoch_seconds(self, n_rows):
        return n_rows * self._n_params * self._cost

    def sgd_epochs(self, data, options, first, count):
        # array('d') and pointer arithmetic rather than ffi.new and ffi.unpack of
        # lists: for a small network, converting 1000 rates and losses through
        # cffi cost as much as training.  (An array('d') is never collected by
        # the garbage collector, so these views may be left to reference counts.)
        n_rows = data[1] // self.sizes[0]
        rates = options.lrs
        lrs = (rates.doubles(first, count) if hasattr(rates, "doubles")
               else array("d", rates[first:first + count]))
        losses = array("d", bytes(8 * count))
        shuffle = options.shuffle
        order = self._order_buffer(n_rows) if shuffle else ffi.NULL
        done = ffi.new("size_t *")
        start = perf_counter()
        with _doubles(lrs) as c_lrs, _doubles(losses) as c_losses:
            rc = lib.pn_train(self._net, *data, count, c_lrs, count,
                              self._rng if shuffle else ffi.NULL, order, n_rows if shuffle else 0,
                              c_losses, count, done)
        self._measured(perf_counter() - start, done[0] * n_rows * self._n_params)
        n_done = done[0]
        if rc == lib.PN_EDIVERGED:
            return losses[:n_done].tolist(), losses[n_done]
        _check(rc)
        return losses.tolist(), None

    def _order_buffer(self, n_rows):
        if self._order is None or len(self._order) != n_rows:
            self._order = ffi.new("size_t[]", n_rows)
        return self._order

    def begin_epoch(self):
        self._saved = (array("d", self._buffers), self._adam[0], self._adam[1], self._rng[0],
                       lib.pn_epochs_trained(self._net))
        _check(lib.pn_epoch_begin(self._net))

    def abort_epoch(self):
        # The parameters: restored by pn_epoch_abort if the epoch is open (a
        # diverged epoch's pn_epoch_end restored them already).  The optimizer
        # and PRNG state: unless the C core counted the epoch, whatever moment
        # Ctrl-C chose.
        lib.pn_epoch_abort(self._net)
        saved = self._saved
        if saved is not None and lib.pn_epochs_trained(self._net) == saved[4]:
            self._restore_state()
        self._saved = None

    def _restore_state(self):
        self._buffers, self._adam[0], self._adam[1], self._rng[0] = self._saved[:4]
        self._saved = None

    def end_epoch(self, total, n_rows, weight_total=None):
        loss = ffi.new("double *")
        if weight_total is None:
            rc = lib.pn_epoch_end(self._net, total, n_rows, loss)
        else:
            rc = lib.pn_epoch_end_weighted(self._net, total, weight_total, loss)
        if rc == lib.PN_EDIVERGED:
            self._restore_state()
            return loss[0], False
        _check(rc)
        self._saved = None
        return loss[0], True

    def epoch_order(self, options, n_rows):
        if not options.shuffle:
            return None
        order = self._order_buffer(n_rows)
        _check(lib.pn_shuffle(order, n_rows, self._rng))
        return order

    def run_rows(self, data, options, epoch, order, first, count, total):
        n_rows = data[1] // self.sizes[0]
        c_order, order_len = (ffi.NULL, 0) if order is None else (order, n_rows)
        c_total = ffi.new("double *", total)
        lr = options.lrs[epoch]
        start = perf_counter()
        if options.weights is not None:
            self._run_weighted(data, options, c_order, order_len, first, count, lr, c_total)
        elif options.plain_sgd:
            _check(lib.pn_epoch_rows(self._net, *data, c_order, order_len, first, count, lr,
                                     c_total))
        else:
            self._use_threads()
            with _doubles(self._buffers) as buffers:
                _check(lib.pn_epoch_batches(
                    self._net, *data, c_order, order_len, first, count, options.batch_size, lr,
                    self._optimizer(options.optimizer), buffers, len(self._buffers), self._adam,
                    c_total))
        self._measured(perf_counter() - start, count * self._n_params)
        return c_total[0]

    def _run_weighted(self, data, options, c_order, order_len, first, count, lr, c_total):
        with _doubles(options.weights) as w:
            if options.plain_sgd:
                _check(lib.pn_epoch_rows_weighted(self._net, *data, w, len(w), c_order, order_len,
                                                  first, count, lr, c_total))
                return
            self._use_threads()
            with _doubles(self._buffers) as buffers:
                _check(lib.pn_epoch_batches_weighted(
                    self._net, *data, w, len(w), c_order, order_len, first, count,
                    options.batch_size, lr, self._optimizer(options.optimizer), buffers,
                    len(self._buffers), self._adam, c_total))

    def _optimizer(self, opt):
        """The C settings of an optimizer (cached: the same object is reused each part)."""
        cached = self._c_opt
        if cached is not None and cached[0] is opt:
            return cached[1]
        settings = {"kind": _code(_registry.optimizer_kind(opt.name)),
                    "weight_decay": opt.weight_decay}
        if opt.name == "momentum":
            settings.update(momentum=opt.momentum, nesterov=opt.nesterov)
        elif opt.name == "adam":
            settings.update(beta1=opt.beta1, beta2=opt.beta2, epsilon=opt.epsilon)
        c_opt = ffi.new("pn_optimizer *", settings)
        self._c_opt = (opt, c_opt)
        return c_opt

    def _measured(self, seconds, steps):
        if steps and seconds > 1e-4:
            self._cost = seconds / steps
