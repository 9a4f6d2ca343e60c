"""The C backend: the contract of ``_py_backend``, computed by ``csrc/plainnet.c``.

Thin wrappers around the cffi module ``plainnet._pn_c``: they allocate with
``ffi.new``, read float64 buffers in place with ``ffi.from_buffer``, and turn
the C core's return codes into the exceptions the Python backend raises.  The
C core returns the same bits as the Python backend (see ``csrc/plainnet.c``).

On CPython, the companion extension ``plainnet._pn_lists`` (csrc/pn_lists.c)
takes Python lists into the core in C: ``feedforward`` of a list is then one
C call, and ``plainnet._data`` packs lists of rows with it.

Importing this module raises ImportError when the compiled module is missing;
``plainnet._backends`` turns that into "backend unavailable".

Training runs many epochs per C call, in chunks of about ``CHUNK_SECONDS``
(an epoch longer than that is itself split into chunks of rows), so that
Ctrl-C lands between chunks; an interrupted epoch is rolled back, and the
network always holds the weights of whole epochs.  cffi releases the GIL
during every call, so other threads run meanwhile.
"""

from array import array
from functools import partial
from struct import Struct, error as StructError
from time import perf_counter

from . import _maths, _training
from ._errors import TrainingDiverged
from ._pn_c import ffi, lib

try:  # CPython's shortcut for lists (csrc/pn_lists.c); plainnet._data uses it too
    from . import _pn_lists
except ImportError:  # PyPy, or a build without it: lists take the checked path
    _pn_lists = None

name = "c"

#: Aim for C calls of about this many seconds while training.
CHUNK_SECONDS = 0.03

_ACTIVATION_CODES = {a: code for code, a in enumerate(_maths.ACTIVATIONS)}
_LOSS_CODES = {loss: code for code, loss in enumerate(_maths.LOSSES)}
_OPTIMIZER_CODES = {opt: code for code, opt in enumerate(_training.OPTIMIZERS)}
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
    """A ``double[]`` view of a float64 buffer (array('d') or a Rows buffer), no copy.

    Use it in a ``with`` block, which releases the buffer on the way out,
    exceptions included.  Left to the garbage collector in a traceback's
    reference cycle, a view of a memoryview (what Rows holds for numpy input)
    crashed CPython: the collector cleared the memoryview while it was still
    exported, then the view released it.
    """
    return ffi.from_buffer("double[]", buffer)


def first_nonfinite(buffer):
    """Index of the first NaN or infinity in a float64 buffer, or None."""
    index = ffi.new("size_t *")
    with _doubles(buffer) as values:
        n = len(values)
        _check(lib.pn_find_nonfinite(values, n, index))
    return None if index[0] == n else index[0]


class Core:
    __slots__ = ("sizes", "activations", "loss_name", "_mem", "_net", "_n_params",
                 "_scratch_len", "_cost", "_rng", "_adam", "_buffers", "_epochs_before",
                 "_pack_x", "_unpack_y", "_forward_buffers", "forward_list")
    name = name

    def __init__(self, sizes, activations, loss, weights, biases):
        self.sizes = list(sizes)
        self.activations = list(activations)
        self.loss_name = loss
        c_sizes = ffi.new("size_t[]", self.sizes)
        codes = ffi.new("int[]", [_ACTIVATION_CODES[a] for a in self.activations])
        nbytes = lib.pn_net_bytes(len(self.sizes), c_sizes)
        if nbytes == 0:
            raise ValueError("sizes %r are too large for the C core" % (self.sizes,))
        self._mem = _new_uncleared("double[]", (nbytes + 7) // 8)
        _check(lib.pn_net_init(self._mem, nbytes, len(self.sizes), c_sizes, codes,
                               _LOSS_CODES[loss]))
        self._net = ffi.cast("pn_net *", self._mem)
        # One C call from a Python list to a list of outputs, checks included.
        self.forward_list = (None if _pn_lists is None
                             else partial(_pn_lists.forward, ffi.buffer(self._mem)))
        self._n_params = lib.pn_n_params(self._net)
        self._scratch_len = lib.pn_scratch_len(self._net)
        self._cost = _FIRST_COST
        # The C core counts epochs and advances the shuffling state in place, so
        # both are right even when Ctrl-C lands just after a call returns.
        self._rng = ffi.new("uint64_t *")
        self._adam = ffi.new("double[2]")  # beta1 ** steps, beta2 ** steps
        self._epochs_before = 0
        self._pack_x = Struct("%dd" % self.sizes[0]).pack_into
        self._unpack_y = Struct("%dd" % self.sizes[-1]).unpack_from
        self._forward_buffers = []  # idle buffer sets of forward(), see there
        self.set_params(weights, biases)
        self.set_train_state({"rng": 0, "b1t": 1.0, "b2t": 1.0, "buffers": []})

    def _scratch(self):
        # Per call, so that forward, predict, loss and gradients may run in many threads.
        return _new_uncleared("double[]", self._scratch_len)

    def _nest(self, values):
        """Flat layout (per layer: weights j-major, then biases) -> nested lists."""
        W, B, k = [], [], 0
        for n_in, n_out in zip(self.sizes, self.sizes[1:]):
            W.append([values[k + j * n_in:k + (j + 1) * n_in] for j in range(n_out)])
            k += n_in * n_out
            B.append(values[k:k + n_out])
            k += n_out
        return W, B

    # -- parameters --------------------------------------------------------
    def get_params(self):
        flat = _new_uncleared("double[]", self._n_params)
        _check(lib.pn_get_params(self._net, flat, self._n_params))
        return self._nest(ffi.unpack(flat, self._n_params))

    def set_params(self, weights, biases):
        flat = array("d")
        for W, b in zip(weights, biases):
            for row in W:
                flat.extend(row)
            flat.extend(b)
        with _doubles(flat) as params:
            _check(lib.pn_set_params(self._net, params, len(flat)))

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

    def _new_forward_buffers(self):
        n_in, n_out = self.sizes[0], self.sizes[-1]
        x_c = _new_uncleared("double[]", n_in)
        y_c = _new_uncleared("double[]", n_out + self._scratch_len)
        return ffi.buffer(x_c), x_c, y_c, ffi.buffer(y_c, 8 * n_out), y_c + n_out

    def predict(self, rows):
        n_out = self.sizes[-1]
        size = rows.n * n_out
        y = _new_uncleared("double[]", size + self._scratch_len)  # outputs, then scratch
        with _doubles(rows.flat()) as x:
            _check(lib.pn_predict(self._net, x, rows.n * rows.width, y, size,
                                  y + size, self._scratch_len))
        # memoryview makes the nested lists in C: 1.7x faster than slicing a flat list
        return memoryview(ffi.buffer(y, 8 * size)).cast("d", (rows.n, n_out)).tolist()

    def loss(self, rows, targets):
        out = ffi.new("double *")
        with _doubles(rows.flat()) as x, _doubles(targets.flat()) as t:
            _check(lib.pn_loss(self._net, x, rows.n * rows.width, t, targets.n * targets.width,
                               out, self._scratch(), self._scratch_len))
        return out[0]

    # -- backward ----------------------------------------------------------
    def gradients(self, x, t):
        grads = _new_uncleared("double[]", self._n_params)
        loss = ffi.new("double *")
        _check(lib.pn_gradients(self._net, ffi.new("double[]", x), len(x),
                                ffi.new("double[]", t), len(t), grads, self._n_params, loss,
                                self._scratch(), self._scratch_len))
        wg, bg = self._nest(ffi.unpack(grads, self._n_params))
        return wg, bg, loss[0]

    # -- training state ----------------------------------------------------
    @property
    def completed(self):
        """Whole epochs completed by the current or last call to train."""
        return lib.pn_epochs_trained(self._net) - self._epochs_before

    def get_train_state(self):
        n, flat = self._n_params, self._buffers
        return {"rng": self._rng[0], "b1t": self._adam[0], "b2t": self._adam[1],
                "buffers": [flat[k:k + n].tolist() for k in range(0, len(flat), n)]}

    def set_train_state(self, state):
        self._rng[0] = state["rng"]
        self._adam[0] = state["b1t"]
        self._adam[1] = state["b2t"]
        flat = array("d")
        for buffer in state["buffers"]:
            flat.extend(buffer)
        self._buffers = flat

    # -- training ----------------------------------------------------------
    def train(self, rows, targets, epochs, learning_rate, options=None):
        with _doubles(rows.flat()) as x, _doubles(targets.flat()) as t:
            data = (x, rows.n * rows.width, t, targets.n * targets.width)
            if options is not None and not options.plain_sgd:
                return self._train_batches(data, rows.n, epochs, options)
            return self._train_sgd(data, rows, epochs, learning_rate, options)

    def _train_sgd(self, data, rows, epochs, learning_rate, options):
        # array('d') and pointer arithmetic rather than ffi.new and ffi.unpack of
        # lists: for a small network, converting 1000 rates and losses through
        # cffi cost as much as training.  (An array('d') is never collected by
        # the garbage collector, so these views may be left to reference counts.)
        lrs = (array("d", [learning_rate]) * epochs if options is None
               else array("d", options.lrs[:epochs]))
        c_lrs = _doubles(lrs)
        all_losses = array("d", bytes(8 * epochs))
        c_losses = _doubles(all_losses)
        shuffle = options is not None and options.shuffle
        order = ffi.new("size_t[]", rows.n) if shuffle else ffi.NULL
        rng = self._rng if shuffle else ffi.NULL
        order_len = rows.n if shuffle else 0
        done = ffi.new("size_t *")
        steps = rows.n * self._n_params  # parameter updates per epoch
        n_done = 0
        self._epochs_before = lib.pn_epochs_trained(self._net)
        while n_done < epochs:
            epoch_seconds = steps * self._cost
            if epoch_seconds > CHUNK_SECONDS and rows.n > 1:
                all_losses[n_done] = self._train_epoch_in_parts(
                    data, rows.n, lrs[n_done], order, all_losses[:n_done].tolist())
                n_done += 1
                continue
            chunk = min(epochs - n_done, max(1, int(CHUNK_SECONDS / epoch_seconds)))
            start = perf_counter()
            rc = lib.pn_train(self._net, *data, chunk, c_lrs + n_done, chunk, rng,
                              order, order_len, c_losses + n_done, chunk, done)
            self._measured(perf_counter() - start, done[0] * steps)
            n_done += done[0]
            if rc == lib.PN_EDIVERGED:
                raise TrainingDiverged.in_epoch(n_done + 1, all_losses[n_done],
                                                all_losses[:n_done].tolist())
            _check(rc)
        return all_losses.tolist()

    def _train_epoch_in_parts(self, data, n_rows, learning_rate, order, losses):
        """One epoch in chunks of rows; rolled back if interrupted or diverged."""
        total = ffi.new("double *", 0.0)
        rng = self._rng[0]
        first = 0
        try:
            _check(lib.pn_epoch_begin(self._net))
            if order != ffi.NULL:
                _check(lib.pn_shuffle(order, n_rows, self._rng))
            while first < n_rows:
                count = int(CHUNK_SECONDS / (self._n_params * self._cost))
                count = min(n_rows - first, max(1, count))
                start = perf_counter()
                _check(lib.pn_epoch_rows(self._net, *data, order, n_rows if order != ffi.NULL else 0,
                                         first, count, learning_rate, total))
                self._measured(perf_counter() - start, count * self._n_params)
                first += count
        except BaseException:
            # KeyboardInterrupt or anything else mid-epoch: no half-updated weights.
            lib.pn_epoch_abort(self._net)
            self._rng[0] = rng
            raise
        loss = ffi.new("double *")
        rc = lib.pn_epoch_end(self._net, total[0], n_rows, loss)
        if rc == lib.PN_EDIVERGED:
            self._rng[0] = rng
            raise TrainingDiverged.in_epoch(len(losses) + 1, loss[0], losses)
        _check(rc)
        return loss[0]

    def _train_batches(self, data, n, epochs, options):
        """Mini-batches, momentum, Adam or weight decay: one epoch per round of C calls."""
        opt = options.optimizer
        settings = {"kind": _OPTIMIZER_CODES[opt.name], "weight_decay": opt.weight_decay}
        if opt.name == "momentum":
            settings.update(momentum=opt.momentum, nesterov=opt.nesterov)
        elif opt.name == "adam":
            settings.update(beta1=opt.beta1, beta2=opt.beta2, epsilon=opt.epsilon)
        c_opt = ffi.new("pn_optimizer *", settings)
        size = options.batch_size
        order = ffi.new("size_t[]", n) if options.shuffle else ffi.NULL
        losses = []
        self._epochs_before = lib.pn_epochs_trained(self._net)
        for epoch in range(epochs):
            saved = array("d", self._buffers), self._adam[0], self._adam[1], self._rng[0]
            buffers = _doubles(self._buffers)
            total = ffi.new("double *", 0.0)
            first = 0
            try:
                _check(lib.pn_epoch_begin(self._net))
                if options.shuffle:
                    _check(lib.pn_shuffle(order, n, self._rng))
                while first < n:
                    batches = int(CHUNK_SECONDS / (size * self._n_params * self._cost))
                    count = min(n - first, max(1, batches) * size)
                    start = perf_counter()
                    _check(lib.pn_epoch_batches(
                        self._net, *data, order, n if options.shuffle else 0, first, count, size,
                        options.lrs[epoch], c_opt, buffers, len(self._buffers), self._adam, total))
                    self._measured(perf_counter() - start, count * self._n_params)
                    first += count
            except BaseException:
                lib.pn_epoch_abort(self._net)
                self._restore_state(saved)
                raise
            loss = ffi.new("double *")
            rc = lib.pn_epoch_end(self._net, total[0], n, loss)
            if rc == lib.PN_EDIVERGED:
                self._restore_state(saved)
                raise TrainingDiverged.in_epoch(len(losses) + 1, loss[0], losses)
            _check(rc)
            losses.append(loss[0])
        return losses

    def _restore_state(self, saved):
        self._buffers, self._adam[0], self._adam[1], self._rng[0] = saved

    def _measured(self, seconds, steps):
        if steps and seconds > 1e-4:
            self._cost = seconds / steps
