"""cffi build script for the C core ``plainnet._pn_c`` (out-of-line API mode).

setup.py uses the module-level ``ffibuilder`` through ``cffi_modules``; for a
local build run ``python src/plainnet/_build_c.py`` from the project root,
which puts the compiled module next to this file (in src/plainnet/).

The C core must do strict IEEE double arithmetic to return the same bits as
the pure-Python backend: no fused multiply-add and no fast-math.
"""

import os
import platform
import sys

from cffi import FFI

# Paths relative to the project root (where setup.py runs, from a checkout or
# an unpacked sdist); the root is found from this file, not from the cwd.
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _from_root(*parts):
    path = os.path.join(_ROOT, *parts)
    if __name__ == "__main__":  # ffibuilder.compile() changes directory
        return path
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    # setuptools wants relative source paths when it can have them
    return path if rel.startswith(os.pardir) else rel


CDEF = """
typedef struct pn_net pn_net;
typedef struct pn_optimizer {
    int kind;
    int nesterov;
    double momentum;
    double beta1, beta2, epsilon;
    double weight_decay;
} pn_optimizer;

#define PN_OPT_SGD 0
#define PN_OPT_MOMENTUM 1
#define PN_OPT_ADAM 2

#define PN_OK 0
#define PN_EINVAL -1
#define PN_ESIZE -2
#define PN_EDIVERGED -3
#define PN_ESTATE -4

const char *pn_strerror(int code);
size_t pn_net_bytes(size_t n_sizes, const size_t *sizes);
int pn_net_init(void *mem, size_t bytes, size_t n_sizes, const size_t *sizes,
                const int *activations, int loss);
size_t pn_n_params(const pn_net *net);
size_t pn_scratch_len(const pn_net *net);
int pn_set_params(pn_net *net, const double *params, size_t n);
int pn_get_params(const pn_net *net, double *params, size_t n);
int pn_forward(const pn_net *net, const double *x, size_t x_len, double *y, size_t y_len,
               double *scratch, size_t scratch_len);
int pn_predict(const pn_net *net, const double *x, size_t x_len, double *y, size_t y_len,
               double *scratch, size_t scratch_len);
int pn_loss(const pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
            double *loss, double *scratch, size_t scratch_len);
int pn_gradients(const pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
                 double *grads, size_t grads_len, double *loss,
                 double *scratch, size_t scratch_len);
int pn_train(pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
             size_t epochs, const double *lrs, size_t lrs_len, uint64_t *rng,
             size_t *order, size_t order_len, double *losses, size_t losses_len,
             size_t *epochs_done);
int pn_shuffle(size_t *order, size_t n, uint64_t *rng);
int pn_epoch_begin(pn_net *net);
int pn_epoch_rows(pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
                  const size_t *order, size_t order_len, size_t first, size_t count,
                  double learning_rate, double *total);
int pn_epoch_batches(pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
                     const size_t *order, size_t order_len, size_t first, size_t count,
                     size_t batch_size, double learning_rate, const pn_optimizer *opt,
                     double *buffers, size_t buffers_len, double *adam_state, double *total);
int pn_epoch_end(pn_net *net, double total, size_t n_rows, double *loss);
int pn_epoch_abort(pn_net *net);
size_t pn_epochs_trained(const pn_net *net);
int pn_find_nonfinite(const double *x, size_t n, size_t *index);
"""


def _compile_args():
    if sys.platform == "win32":  # MSVC
        return ["/O2", "/fp:precise"]
    args = ["-O3", "-ffp-contract=off", "-fno-fast-math"]
    if platform.machine().lower() in ("i386", "i486", "i586", "i686", "x86"):
        # x87 registers round twice; SSE2 rounds like everyone else.
        args += ["-msse2", "-mfpmath=sse"]
    return args


# setup.py reads these too, to check that the compiler works before it commits
# to a platform wheel.
SOURCES = [_from_root("csrc", "plainnet.c")]
INCLUDE_DIRS = [_from_root("csrc")]
COMPILE_ARGS = _compile_args()
LIBRARIES = [] if sys.platform == "win32" else ["m"]

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "plainnet._pn_c",
    '#include "plainnet.h"',
    sources=SOURCES,
    include_dirs=INCLUDE_DIRS,
    extra_compile_args=COMPILE_ARGS,
    libraries=LIBRARIES,
)


def _build_in_place():
    """Compile in a temporary folder and copy the module next to this file."""
    import glob
    import shutil
    import tempfile

    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as tmp:
        built = ffibuilder.compile(tmpdir=tmp, verbose=True)
        for old in glob.glob(os.path.join(here, "_pn_c.*.so")) + glob.glob(os.path.join(here, "_pn_c.*.pyd")):
            os.remove(old)
        target = os.path.join(here, os.path.basename(built))
        shutil.copy(built, target)
    print("built %s" % target)


if __name__ == "__main__":
    _build_in_place()
