"""Backend registry and selection.

Two backends implement one contract (``_contract.Core``): ``"c"``,
the cffi-built C core, and ``"python"``, the pure-Python reference.  The C core
is imported lazily, the first time it is needed, so ``import plainnet`` stays
cheap.  ``PLAINNET_BACKEND`` (``c``, ``python`` or ``auto``) sets the default
at import time; :func:`set_backend` changes it later.
"""

import os

from ._errors import BackendUnavailable

__all__ = ["available_backends", "get_backend", "set_backend", "load_backend"]

#: Every backend plainnet knows, fastest first.
KNOWN = ("c", "python")
_CHOICES = KNOWN + ("auto",)

_HOW_TO_GET_C = (
    "the C backend is not available: {why}. Install a build with the C core, e.g. "
    "`pip install plainnet[c]` (needs cffi and a C compiler, or a prebuilt wheel), "
    "or use backend='python'"
)

_NO_CFFI = (
    "the C backend is not available: {why}. The C core is installed, but cffi, which it "
    "needs at run time, is not: `pip install cffi`, or use backend='python'"
)

_modules = {}
_c_error = None


def _load_c():
    global _c_error
    if _c_error is not None:
        raise BackendUnavailable(_c_error)
    try:
        from . import _c_backend
    except ImportError as exc:
        if getattr(exc, "name", None) in ("cffi", "_cffi_backend"):
            # The C core is installed; only cffi, which it needs at run time, is missing.
            _c_error = _NO_CFFI.format(why=exc)
        else:
            _c_error = _HOW_TO_GET_C.format(why=exc)
        raise BackendUnavailable(_c_error) from None
    return _c_backend


def load_backend(name):
    """The backend module called ``name`` ("c", "python" or "auto")."""
    name = _check_name(name, "backend")
    if name == "auto":
        name = "c" if "c" in available_backends() else "python"
    module = _modules.get(name)
    if module is None:
        if name == "python":
            from . import _py_backend as module
        else:
            module = _load_c()
        _modules[name] = module
    return module


def _check_name(name, what):
    if not isinstance(name, str):
        raise TypeError("%s must be a string, one of %s; got %r" % (what, ", ".join(_CHOICES), name))
    if name not in _CHOICES:
        raise ValueError("unknown %s %r: choose one of %s" % (what, name, ", ".join(_CHOICES)))
    return name


def available_backends():
    """Names of the backends that work here, fastest first: ["c", "python"] or ["python"]."""
    names = []
    try:
        _modules["c"] = _modules.get("c") or _load_c()
        names.append("c")
    except BackendUnavailable:
        pass
    names.append("python")
    return names


_default = os.environ.get("PLAINNET_BACKEND", "").strip().lower() or "auto"


def set_backend(name):
    """Set the default backend for new networks: "c", "python" or "auto".

    Asking for "c" where it cannot load raises :class:`BackendUnavailable`
    and leaves the default as it was.
    """
    global _default
    load_backend(name)
    _default = name


def get_backend():
    """The name of the backend new networks get by default ("c" or "python")."""
    if _default not in _CHOICES:
        raise ValueError(
            "PLAINNET_BACKEND=%r is not a backend: set it to one of %s"
            % (_default, ", ".join(_CHOICES))
        )
    return load_backend(_default).name
