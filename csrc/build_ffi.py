"""cffi build script for the C core ``plainnet._pn_c`` (out-of-line API mode).

setup.py uses the module-level ``ffibuilder`` through ``cffi_modules``, and
``lists_extension()`` for the CPython-only companion ``plainnet._pn_lists``
(csrc/pn_lists.c: Python lists in and out of the core at C speed).  It lives
beside the C sources, outside the package, so that it never ships in a wheel.
For a local build run ``python csrc/build_ffi.py`` (from anywhere), which puts
the compiled modules into the package, src/plainnet/.

The C core must do strict IEEE double arithmetic to return the same bits as
the pure-Python backend: no fused multiply-add and no fast-math.
"""

import os
import platform
import re
import sys

from cffi import FFI

# Paths relative to the project root (where setup.py runs, from a checkout or
# an unpacked sdist); the root is found from this file, not from the cwd.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def _cdef():
    """The declarations of csrc/plainnet.h, which is the one documented C surface.

    cffi's cdef takes the header's body (between its extern "C" guards) as it
    is, except that every #define becomes ``#define NAME ...``: in API mode the
    compiler then reads the value from the header itself.
    """
    with open(os.path.join(_ROOT, "csrc", "plainnet.h")) as f:
        text = f.read()
    start = text.index('extern "C" {\n#endif\n') + len('extern "C" {\n#endif\n')
    end = text.rindex("#ifdef __cplusplus\n}")
    return re.sub(r"(?m)^#define\s+(\w+)\s.*$", r"#define \1 ...", text[start:end])


CDEF = _cdef()


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

# plainnet._pn_lists compiles the same core source with the same flags, so its
# results are the same bits as plainnet._pn_c's.
LISTS_SOURCES = [_from_root("csrc", "pn_lists.c")] + SOURCES


def builds_lists():
    """True where plainnet._pn_lists is built: CPython (PyPy's cpyext would
    make it slower than cffi, which is PyPy's fast way in), but not a
    free-threaded build, where its unlocked reads of list items would race."""
    import sysconfig

    return (platform.python_implementation() == "CPython"
            and not sysconfig.get_config_var("Py_GIL_DISABLED"))


def lists_extension():
    """The setuptools Extension for plainnet._pn_lists."""
    from setuptools import Extension

    return Extension("plainnet._pn_lists", sources=LISTS_SOURCES, include_dirs=INCLUDE_DIRS,
                     extra_compile_args=COMPILE_ARGS, libraries=LIBRARIES)


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
    """Compile in a temporary folder and copy the modules into src/plainnet/."""
    import glob
    import shutil
    import tempfile

    here = os.path.join(_ROOT, "src", "plainnet")
    with tempfile.TemporaryDirectory() as tmp:
        built = [ffibuilder.compile(tmpdir=tmp, verbose=True)]
        if builds_lists():
            from setuptools import Distribution

            dist = Distribution({"ext_modules": [lists_extension()]})
            cmd = dist.get_command_obj("build_ext")
            cmd.build_lib = os.path.join(tmp, "lib")
            cmd.build_temp = os.path.join(tmp, "temp")
            os.chdir(_ROOT)  # the sources are relative to the project root
            dist.run_command("build_ext")
            built += cmd.get_outputs()
        for path in built:
            stem = os.path.basename(path).split(".")[0]
            for old in glob.glob(os.path.join(here, stem + ".*.so")) + glob.glob(os.path.join(here, stem + ".*.pyd")):
                os.remove(old)
            target = os.path.join(here, os.path.basename(path))
            shutil.copy(path, target)
            print("built %s" % target)


if __name__ == "__main__":
    _build_in_place()
