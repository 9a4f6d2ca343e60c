"""cffi build script for the C core ``plainnet._pn_c`` (out-of-line API mode).

setup.py uses the module-level ``ffibuilder`` through ``cffi_modules``,
``lists_extension()`` for the CPython-only companion ``plainnet._pn_lists``
(csrc/pn_lists.c: Python lists in and out of the core at C speed), and
``share_core()``, which compiles csrc/plainnet.c once for both and records
the compiler and flags for ``pn_build_info()`` (``plainnet info``).  It lives
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
    body = re.sub(r"(?m)^#define\s+(\w+)\s.*$", r"#define \1 ...", text[start:end])
    # The activation codes are an enum that the header expands from the list
    # in pn_activations.h, which cdef cannot read: declare each by name.
    with open(os.path.join(_ROOT, "csrc", "pn_activations.h")) as f:
        names = re.findall(r"(?m)^\s+X\((\w+),", f.read())
    codes = ["PN_%s" % n for n in names] + ["PN_SOFTMAX", "PN_N_ACTIVATIONS"]
    return "".join("#define %s ...\n" % c for c in codes) + body


# pn_build_info() is not part of the C core: it is defined in plainnet._pn_c's
# own source (BUILD_INFO_SOURCE below) and tells how the core was compiled.
CDEF = _cdef() + "\nconst char *pn_build_info(void);\n"


def _compile_args():
    if sys.platform == "win32":  # MSVC
        return ["/O2", "/fp:precise"]
    # -fno-math-errno lets sqrt run in vector registers (Adam's steps): sqrt
    # is correctly rounded either way, and nothing reads errno.
    args = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno"]
    if platform.machine().lower() in ("i386", "i486", "i586", "i686", "x86"):
        # x87 registers round twice; SSE2 rounds like everyone else.
        args += ["-msse2", "-mfpmath=sse"]
    return args


CORE_SOURCE = _from_root("csrc", "plainnet.c")
SOURCES = [CORE_SOURCE]
INCLUDE_DIRS = [_from_root("csrc")]
COMPILE_ARGS = _compile_args()
LIBRARIES = [] if sys.platform == "win32" else ["m", "pthread"]

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


def _c_string(text):
    """``text`` as a C string literal (printable ASCII kept, the rest escaped)."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif " " <= char <= "~" and char != "?":  # "?" could start a trigraph
            out.append(char)
        else:
            out.append("\\%03o" % byte)
    return '"%s"' % "".join(out)


# The C source of plainnet._pn_c: the core's header, and pn_build_info(), which
# returns "compiler: ...\nflags: ...\n".  share_core writes pn_build_info.h
# with the command that compiled csrc/plainnet.c; without it (the module built
# by cffi alone) the flags are this script's COMPILE_ARGS.  The version is
# that of the compiler compiling this file, the same one as the core's.
BUILD_INFO_SOURCE = """\
#include "plainnet.h"
#ifdef PN_HAVE_BUILD_INFO_H
#include "pn_build_info.h"
#endif
#ifndef PN_BUILD_COMPILER
#define PN_BUILD_COMPILER "not recorded"
#endif
#ifndef PN_BUILD_FLAGS
#define PN_BUILD_FLAGS %s
#endif
#define PN_STR_(x) #x
#define PN_STR(x) PN_STR_(x)
#if defined(__clang__) || defined(__INTEL_LLVM_COMPILER)
#define PN_COMPILER_VERSION __VERSION__
#elif defined(__GNUC__)
#define PN_COMPILER_VERSION "GCC " __VERSION__
#elif defined(_MSC_FULL_VER)
#define PN_COMPILER_VERSION "MSVC " PN_STR(_MSC_FULL_VER)
#else
#define PN_COMPILER_VERSION "unknown version"
#endif
static const char *pn_build_info(void)
{
    return "compiler: " PN_BUILD_COMPILER " (" PN_COMPILER_VERSION ")\\n"
           "flags: " PN_BUILD_FLAGS "\\n";
}
""" % _c_string(" ".join(COMPILE_ARGS))

_LAUNCHERS = ("ccache", "sccache", "distcc")


def _describe(command, source, objects):
    """(compiler, flags) of a compiler command line, without its files and folders."""
    words = list(command)
    compiler = [words.pop(0)]
    while words and os.path.basename(compiler[-1]).split(".")[0] in _LAUNCHERS:
        compiler.append(words.pop(0))
    skip = {source, os.path.abspath(source), "-c", "/c"} | set(objects)
    flags, words = [], iter(words)
    for word in words:
        if word == "-o":
            next(words, None)
        elif word not in skip and not word.startswith(("-I", "/I", "/Fo", "/Tc", "/Tp")):
            flags.append(word)
    return " ".join(compiler), " ".join(flags)


def _core_command(compiler, build_temp, debug):
    """The commands that compiler.compile runs for the core: recorded, not run.

    distutils compilers run their commands through ``spawn`` (newer
    setuptools: ``call``); both are replaced, on this instance, for the call.
    """
    commands = []
    saved = {}
    for name in ("spawn", "call"):
        if hasattr(compiler, name):
            saved[name] = vars(compiler).get(name)
            setattr(compiler, name, lambda cmd, *args, **kwargs: commands.append(list(cmd)))
    try:
        compiler.compile([CORE_SOURCE], output_dir=build_temp, include_dirs=INCLUDE_DIRS,
                         extra_postargs=COMPILE_ARGS, debug=debug)
    finally:
        for name, method in saved.items():
            if method is None:
                delattr(compiler, name)
            else:
                setattr(compiler, name, method)
    return commands


def _write_build_info(cmd, objects):
    """pn_build_info.h for plainnet._pn_c: how share_core compiles the core; its folder."""
    commands = _core_command(cmd.compiler, cmd.build_temp, cmd.debug)
    if len(commands) == 1:
        compiler, flags = _describe(commands[0], CORE_SOURCE, objects)
    else:  # not one plain command line: say only what this script adds
        compiler = "%s compiler" % getattr(cmd.compiler, "compiler_type", "unknown")
        flags = " ".join(COMPILE_ARGS) + " (and the compiler's defaults, not recorded)"
    folder = os.path.join(cmd.build_temp, "plainnet-build-info")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "pn_build_info.h"), "w") as f:
        f.write("/* Written by csrc/build_ffi.py: how csrc/plainnet.c was compiled. */\n"
                "#define PN_BUILD_COMPILER %s\n#define PN_BUILD_FLAGS %s\n"
                % (_c_string(compiler), _c_string(flags)))
    return folder


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
        if ext.name == MODULE:
            ext.include_dirs = list(ext.include_dirs or []) + [_write_build_info(cmd, objects)]
            ext.define_macros = list(ext.define_macros or []) + [("PN_HAVE_BUILD_INFO_H", None)]

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


MODULE = "plainnet._pn_c"
ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    MODULE,
    BUILD_INFO_SOURCE,
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
