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
    if __name__ == "__main__":  # run as a script, from any folder
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


CORE_SOURCE = _from_root("csrc", "plainnet.c")
SOURCES = [CORE_SOURCE]
INCLUDE_DIRS = [_from_root("csrc")]
COMPILE_ARGS = _compile_args()
LIBRARIES = [] if sys.platform == "win32" else ["m"]

# plainnet._pn_lists holds the same core, compiled with the same flags, so its
# results are the same bits as plainnet._pn_c's.  Each extension lists the core
# among its sources, so that it builds on its own; share_core (setup.py, and
# the in-place build below) compiles the core once and links that one object
# into both instead.
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


def share_core(cmd, extensions):
    """Compile csrc/plainnet.c once and link that object into ``extensions``.

    ``cmd`` is a running build_ext (its ``compiler`` set up, as in its
    build_extensions): the core is compiled with that compiler, into its
    build_temp, with COMPILE_ARGS and INCLUDE_DIRS, exactly as build_ext would
    compile it as one of an extension's sources, so the bits are the same.
    Each extension that lists the core among its sources gets the object in
    ``extra_objects`` instead.

    The core takes most of the build's time, so it compiles in a thread while
    build_ext compiles the extensions' own sources; linking waits for it.
    Returns ``wait()``, which waits for the core and raises its compiler's
    error, if any: call it before build_ext is done.
    """
    import threading

    compiler = cmd.compiler
    core = os.path.abspath(CORE_SOURCE)
    objects = compiler.object_filenames([CORE_SOURCE], output_dir=cmd.build_temp)
    for ext in extensions:
        kept = [src for src in ext.sources if os.path.abspath(src) != core]
        if len(kept) == len(ext.sources):
            continue
        ext.sources = kept
        ext.extra_objects = list(ext.extra_objects or []) + objects
        # rebuild the extension when the core changes, although not a source
        ext.depends = list(ext.depends or []) + [CORE_SOURCE, _from_root("csrc", "plainnet.h")]

    failed = []

    def compile_core():
        try:
            compiler.compile([CORE_SOURCE], output_dir=cmd.build_temp, include_dirs=INCLUDE_DIRS,
                             extra_postargs=COMPILE_ARGS, debug=cmd.debug)
        except BaseException as exc:  # noqa: BLE001 - raised again by wait()
            failed.append(exc)

    thread = threading.Thread(target=compile_core, name="plainnet-core", daemon=True)
    thread.start()

    def wait():
        thread.join()
        if failed:
            raise failed[0]

    link = compiler.link_shared_object

    def link_after_core(*args, **kwargs):
        wait()
        return link(*args, **kwargs)

    compiler.link_shared_object = link_after_core
    return wait


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

    from setuptools import Distribution
    from setuptools.command.build_ext import build_ext

    class BuildExt(build_ext):
        def build_extensions(self):
            wait = share_core(self, self.extensions)
            try:
                build_ext.build_extensions(self)
            finally:
                wait()

    here = os.path.join(_ROOT, "src", "plainnet")
    with tempfile.TemporaryDirectory() as tmp:
        extensions = [ffibuilder.distutils_extension(tmpdir=tmp)]  # writes plainnet._pn_c.c
        if builds_lists():
            extensions.append(lists_extension())
        dist = Distribution({"ext_modules": extensions, "cmdclass": {"build_ext": BuildExt}})
        cmd = dist.get_command_obj("build_ext")
        cmd.build_lib = os.path.join(tmp, "lib")
        cmd.build_temp = os.path.join(tmp, "temp")
        dist.run_command("build_ext")
        for path in cmd.get_outputs():
            stem = os.path.basename(path).split(".")[0]
            for old in glob.glob(os.path.join(here, stem + ".*.so")) + glob.glob(os.path.join(here, stem + ".*.pyd")):
                os.remove(old)
            target = os.path.join(here, os.path.basename(path))
            shutil.copy(path, target)
            print("built %s" % target)


if __name__ == "__main__":
    _build_in_place()
