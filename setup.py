"""Builds plainnet's optional C core, ``plainnet._pn_c``; the metadata is in pyproject.toml.

The C core is built with cffi from csrc/build_ffi.py; on CPython the
extension ``plainnet._pn_lists`` (csrc/pn_lists.c) is built beside it.  If
they cannot be built (no C compiler, no Python headers, no cffi), plainnet
installs as pure Python, as a ``py3-none-any`` wheel, and a banner in the
build output says why.

    PLAINNET_NO_C=1       do not build the C core (pure Python)
    PLAINNET_REQUIRE_C=1  fail the installation if the C core cannot be built
"""

import os
import runpy
import shutil
import sys
import tempfile

from setuptools import setup
from setuptools.command.build_ext import build_ext

BUILD_SCRIPT = "csrc/build_ffi.py"
# Commands that compile; metadata and sdist commands never need the C core.
BUILDING = {"build", "build_ext", "bdist_wheel", "bdist_egg", "install", "develop",
            "editable_wheel"}


def _flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _banner(why, what=None):
    lines = what or [
        "plainnet: the C core was NOT built; installing pure Python.",
        "Why: %s" % why,
        "plainnet works the same without it, only slower. To get it, install a C",
        "compiler and the Python headers and reinstall; PLAINNET_REQUIRE_C=1",
        "makes this an error.",
    ]
    rule = "*" * 78
    text = "\n".join([rule] + ["* " + line for line in lines] + [rule])
    sys.stderr.write("\n%s\n\n" % text)
    sys.stderr.flush()


def _fail(why):
    sys.exit("plainnet: PLAINNET_REQUIRE_C=1 but the C core cannot be built: %s" % why)


def _probe(build):
    """None if a trivial extension compiles and links here, else why not.

    It checks the compiler, the Python headers and csrc/plainnet.h in a
    fraction of a second, so that without them the wheel is planned pure from
    the start; the C core itself is compiled only once, by build_ext.
    """
    try:
        from distutils.ccompiler import new_compiler
        from distutils.sysconfig import customize_compiler, get_python_inc

        compiler = new_compiler()
        customize_compiler(compiler)
    except Exception as exc:  # noqa: BLE001 - any failure means "no compiler"
        return "no C compiler is configured (%s: %s)" % (type(exc).__name__, exc)
    tmp = tempfile.mkdtemp(prefix="plainnet-probe-")
    try:
        probe = os.path.join(tmp, "probe.c")
        with open(probe, "w") as f:
            f.write('#include <Python.h>\n#include "plainnet.h"\n'
                    "int pn_probe(void) { return PN_OK; }\n")
        objects = compiler.compile([probe], output_dir=tmp,
                                   include_dirs=[get_python_inc()] + build["INCLUDE_DIRS"])
        if sys.platform != "win32":
            compiler.link_shared_object(objects, os.path.join(tmp, "probe.so"),
                                        libraries=build["LIBRARIES"])
    except Exception as exc:  # noqa: BLE001
        return "the C compiler failed on a trivial extension: no working compiler or no Python headers (%s: %s)" % (
            type(exc).__name__, str(exc).strip().splitlines()[-1] if str(exc).strip() else "")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return None


def _why_not_c(build):
    """None if the C core should be built, else why it will not be."""
    if _flag("PLAINNET_NO_C"):
        return "PLAINNET_NO_C is set"
    if build is None:
        return "cffi is not installed in the build environment"
    return _probe(build)


def _build_script():
    """The globals of the build script, or None without cffi (which it imports)."""
    if _flag("PLAINNET_NO_C"):
        return None
    try:
        import cffi  # noqa: F401
    except ImportError:
        return None
    return runpy.run_path(BUILD_SCRIPT)


class OptionalBuildExt(build_ext):
    """build_ext that falls back to pure Python, unless PLAINNET_REQUIRE_C is set.

    csrc/plainnet.c is compiled once, by the build script's share_core, and
    that object is linked into every extension.  The extension named
    ``optional`` (plainnet._pn_lists, set by main) is built after the C core,
    and on its own: if only it fails, the C core is installed without it
    (lists then take the checked Python path into the core, with the same
    results).
    """

    optional = None
    build_script = None  # the build script's globals, set by main

    def build_extensions(self):
        lists = [ext for ext in self.extensions if ext.name == self.optional]
        self.extensions = [ext for ext in self.extensions if ext.name != self.optional]
        wait_for_core = self.build_script["share_core"](self, self.extensions + lists)
        try:
            build_ext.build_extensions(self)
        finally:
            wait_for_core()  # its compiler's error, if it failed
        for ext in lists:
            try:
                self.build_extension(ext)
            except Exception as exc:  # noqa: BLE001
                why = "building %s failed (%s: %s)" % (ext.name, type(exc).__name__, exc)
                if _flag("PLAINNET_REQUIRE_C"):
                    _fail(why)
                _banner(why, [
                    "plainnet: the C core was built, but not %s." % ext.name,
                    "Why: %s" % why,
                    "The C backend works the same without it; Python lists reach the",
                    "core through Python's checks, which is slower for lists.",
                    "PLAINNET_REQUIRE_C=1 makes this an error.",
                ])
                continue
            self.extensions.append(ext)  # so that it is installed

    def run(self):
        try:
            build_ext.run(self)
        except Exception as exc:  # noqa: BLE001 - compiler and linker errors vary
            why = "building the extension failed (%s: %s)" % (type(exc).__name__, exc)
            if _flag("PLAINNET_REQUIRE_C"):
                _fail(why)
            _banner(why)
            # The probe passed, so the wheel was planned as a platform wheel:
            # make it pure again, as it now holds no compiled code.
            self.distribution.ext_modules = []
            wheel = self.distribution.command_obj.get("bdist_wheel")
            if wheel is not None:
                wheel.root_is_pure = True


def main():
    kwargs = {}
    if BUILDING.intersection(sys.argv[1:]):
        if _flag("PLAINNET_NO_C") and _flag("PLAINNET_REQUIRE_C"):
            sys.exit("plainnet: PLAINNET_NO_C and PLAINNET_REQUIRE_C are both set")
        build = _build_script()
        why = _why_not_c(build)
        if why is None:
            kwargs = {"cffi_modules": [BUILD_SCRIPT + ":ffibuilder"],
                      "cmdclass": {"build_ext": OptionalBuildExt}}
            OptionalBuildExt.build_script = build
            if build["builds_lists"]():  # CPython: csrc/pn_lists.c, lists at C speed
                kwargs["ext_modules"] = [build["lists_extension"]()]
                OptionalBuildExt.optional = kwargs["ext_modules"][0].name
        elif _flag("PLAINNET_REQUIRE_C"):
            _fail(why)
        else:
            _banner(why)
    setup(**kwargs)


main()
