"""Backend registry and selection.

Two backends implement one contract (``_contract.Core``): ``"c"``,
the cffi-built C core, and ``"python"``, the pure-Python reference.  The C core
is imported lazily, the first time it is needed, so ``import plainnet`` stays
cheap.  ``PLAINNET_BACKEND`` (``c``, ``python`` or ``auto``) sets the default
at import time; :func:`set_backend` changes it later.
"""

import os

from ._errors import BackendUnavailable

__all__ = ["available_backends", "get_backend", "set_backend", "load_backend", "c_build_info"]

#: Every backend plainnet knows, fastest first.
KNOWN = ("c", "python")
_CHOICES = KNOWN + ("auto",)

_HOW_TO_GET_C = "the C backend is not available: {why}. {how}, or use backend='python'"

# Why the C core does not load, and how to get it: (a) it was never built
# (no compiled plainnet._pn_c: no C compiler or no cffi at build time, or
# PLAINNET_NO_C); (b) it was, but cffi's runtime, _cffi_backend, is missing;
# (c) any other import error, with its text.
_NOT_BUILT = (
    "this plainnet was installed without its C core (no C compiler, Python headers or "
    "cffi where it was built, or PLAINNET_NO_C=1)",
    "To get it, reinstall plainnet where a C compiler and cffi are present, e.g. from its "
    "source `PLAINNET_REQUIRE_C=1 pip install --force-reinstall '.[c]'`",
)
_NO_CFFI = (
    "the C core is installed, but cffi, which it needs at run time, is not",
    "`pip install cffi` to use it",
)
_BROKEN = (
    "the C core failed to import ({error})",
    "Reinstall plainnet with its C core, e.g. from its source "
    "`PLAINNET_REQUIRE_C=1 pip install --force-reinstall '.[c]'`",
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
        try:
            compiled = any(entry.startswith("_pn_c.") and entry.endswith((".so", ".pyd"))
                           for entry in os.listdir(os.path.dirname(os.path.abspath(__file__))))
        except OSError:  # not a folder (a zip, say)
            compiled = False
        if exc.name == "_cffi_backend":
            why, how = _NO_CFFI
        elif exc.name == __package__ + "._pn_c" and not compiled:
            why, how = _NOT_BUILT
        else:
            why, how = _BROKEN[0].format(error="%s: %s" % (type(exc).__name__, exc)), _BROKEN[1]
        _c_error = _HOW_TO_GET_C.format(why=why, how=how)
        raise BackendUnavailable(_c_error) from None
    return _c_backend


def c_build_info():
    """How the C core was built: {"compiler": ..., "flags": ...} (strings).

    Raises :class:`BackendUnavailable`, saying why and how to get it, where
    the C backend cannot load.
    """
    load_backend("c")
    from ._pn_c import ffi, lib

    text = ffi.string(lib.pn_build_info()).decode("utf-8", "replace")
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


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
