"""How many threads the C core may use: ``set_num_threads``, ``get_num_threads``.

The C core splits batch prediction, losses and mini-batch training between
threads so that every sum is still computed whole, in its order, by one
thread: the results are the same bits for every count (and equal to the
Python backend's, which runs in one thread).  The default is
``PLAINNET_NUM_THREADS``, else ``OMP_NUM_THREADS`` (which joblib's and dask's
workers set) up to every CPU this process may run on, else every such CPU.
Per-sample SGD runs in one thread: its steps depend on each other.
"""

import os

__all__ = ["set_num_threads", "get_num_threads"]

_ENV = "PLAINNET_NUM_THREADS"
_setting = None  # set_num_threads, or None for the default


def _cpus():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def _parse(value, what):
    if not isinstance(value, int) or isinstance(value, bool):
        try:
            if isinstance(value, bool):
                raise TypeError
            value = value.__index__()  # numpy integers; not floats, text or bools
        except (AttributeError, TypeError):
            raise TypeError("%s must be a whole number of threads (1 or more), got %r"
                            % (what, value)) from None
    value = int(value)
    if value < 1:
        raise ValueError("%s must be 1 or more, got %d" % (what, value))
    return value


def get_num_threads():
    """Threads the C backend may use per call (fewer for little work)."""
    if _setting is not None:
        return _setting
    env = os.environ.get(_ENV, "").strip()
    if env:
        try:
            return _parse(int(env), _ENV)
        except (TypeError, ValueError):
            raise ValueError("%s=%r: it must be a whole number of threads, 1 or more"
                             % (_ENV, env)) from None
    omp = _omp_threads()
    return min(omp, _cpus()) if omp is not None else _cpus()


def _omp_threads():
    """OMP_NUM_THREADS as a thread count, or None.  joblib's loky workers and
    dask's worker processes set it to share the machine's cores among
    themselves (1 for dask's): following it keeps a worker from starting a
    team of threads on cores its siblings use.  It belongs to other libraries
    too, so a value plainnet cannot read (not a whole number of 1 or more) is
    left to them and ignored; of OpenMP's nested form "4,2" the first level
    counts."""
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    # No int() that fails in the usual case (the variable unset): this runs
    # before every batched call into the core (each chunk of a training), and
    # on CPython 3.9 a Ctrl-C landing while such a ValueError was caught was
    # lost (about 1 in 30 interrupted CLI trainings; none in 150 without it).
    if not (value.isascii() and value.isdigit()):
        return None
    n = int(value)
    return n if n >= 1 else None


def set_num_threads(n):
    """Let the C backend use up to ``n`` threads per call (results do not change)."""
    global _setting
    _setting = _parse(n, "set_num_threads(n)")
