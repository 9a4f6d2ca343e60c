"""How plainnet was built, as ``plainnet info`` tells it: the C core's compiler
and flags, or why there is no C core (never built, cffi missing, or broken).

The "why" cases run ``python -m plainnet info`` in a child process, on the
plainnet under test or on a copy of it with its compiled files removed or
spoiled.
"""

import importlib.machinery
import os
import platform
import re
import shutil
import subprocess
import sys

import pytest

import plainnet
from plainnet import _backends
from conftest import PACKAGE_PARENT

HAS_C = "c" in plainnet.available_backends()
needs_c = pytest.mark.skipif(not HAS_C, reason="the C backend is not built here")
PACKAGE = os.path.dirname(os.path.abspath(plainnet.__file__))


def info(parent=PACKAGE_PARENT, before=""):
    """stdout of ``plainnet info`` with the plainnet found in ``parent``,
    after running the Python code ``before`` in the same process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(parent)
    env.pop("PLAINNET_BACKEND", None)
    code = (before + "\nimport sys, plainnet.cli\n"
            "assert plainnet.__file__.startswith(%r), plainnet.__file__\n"
            "sys.exit(plainnet.cli.main(['info']))\n" % str(parent))
    proc = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def unwrapped(text):
    """The lines of ``text`` after "C backend: not available", joined as one line."""
    lines = text.splitlines()
    start = lines.index("C backend: not available")
    return " ".join(line.strip() for line in lines[start + 1:])


def package_copy(tmp_path):
    """A copy of the plainnet under test, without its compiled modules; its parent."""
    shutil.copytree(PACKAGE, str(tmp_path / "plainnet"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
    return tmp_path


def script_flags():
    """The flags csrc/build_ffi.py adds for the C core (they come last, so they win)."""
    if sys.platform == "win32":
        return ["/O2", "/fp:precise"]
    flags = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno"]
    if platform.machine().lower() in ("i386", "i486", "i586", "i686", "x86"):
        flags += ["-msse2", "-mfpmath=sse"]
    return flags


@needs_c
def test_info_shows_the_compiler_and_the_flags_of_the_c_core():
    built = _backends.c_build_info()
    assert sorted(built) == ["compiler", "flags"]
    flags = built["flags"].split()
    assert flags[-len(script_flags()):] == script_flags(), built["flags"]
    if sys.platform != "win32":
        assert "-ffp-contract=off" in flags and "-fno-fast-math" in flags
        assert "-ffast-math" not in flags and "-Ofast" not in flags
    # the compiler's command, then its version from the compiler's own macros
    assert re.match(r"^\S.* \(.*\d.*\)$", built["compiler"]), built["compiler"]
    assert "not recorded" not in built["compiler"]
    out = info()
    assert "C backend: built with\n  compiler: %s\n  flags: %s\n" % (
        built["compiler"], built["flags"]) in out
    assert "-ffp-contract=off" in out or sys.platform == "win32"


def test_info_without_a_compiled_c_core(tmp_path):
    # (a): no compiled plainnet._pn_c at all, as after PLAINNET_NO_C=1 or a build without a compiler
    out = info(package_copy(tmp_path))
    assert "backends: python (default: python)" in out
    why = unwrapped(out)
    assert why.startswith("the C backend is not available: this plainnet was installed without its C core")
    assert "PLAINNET_NO_C=1" in why
    assert "`PLAINNET_REQUIRE_C=1 pip install --force-reinstall '.[c]'`" in why
    assert "backend='python'" in why


@needs_c
@pytest.mark.skipif(platform.python_implementation() == "PyPy",
                    reason="PyPy's cffi is part of the interpreter: it cannot be missing")
def test_info_when_cffi_is_missing_at_run_time():
    # (b): plainnet._pn_c is there, but cffi's runtime is not
    out = info(before="import sys; sys.modules['_cffi_backend'] = None")
    assert "backends: python (default: python)" in out
    why = unwrapped(out)
    assert why == ("the C backend is not available: the C core is installed, but cffi, which it "
                   "needs at run time, is not. `pip install cffi` to use it, or use backend='python'")


def test_info_when_the_c_core_is_broken(tmp_path):
    # (c): a plainnet._pn_c that is not a loadable module: the import error's own text
    parent = package_copy(tmp_path)
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (parent / "plainnet" / ("_pn_c" + suffix)).write_bytes(b"not a shared library\n" * 64)
    why = unwrapped(info(parent))
    assert why.startswith("the C backend is not available: the C core failed to import (ImportError: ")
    assert "_pn_c" + suffix in why  # the loader names the file it could not load
    assert "pip install --force-reinstall" in why


@pytest.mark.skipif(platform.python_implementation() == "PyPy",
                    reason="PyPy's cffi is part of the interpreter: it cannot be missing")
def test_set_backend_c_says_pip_install_cffi_when_only_cffi_is_missing():
    if not HAS_C:
        pytest.skip("the C backend is not built here")
    code = ("import sys; sys.modules['_cffi_backend'] = None\n"
            "import plainnet\n"
            "try:\n"
            "    plainnet.set_backend('c')\n"
            "except plainnet.BackendUnavailable as exc:\n"
            "    print(exc)\n")
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
    env.pop("PLAINNET_BACKEND", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                         universal_newlines=True, timeout=120).stdout
    assert "`pip install cffi`" in out
    assert "plainnet[c]" not in out and "'.[c]'" not in out


def test_the_package_holds_no_build_script_and_shadows_no_standard_module():
    names = {entry.split(".")[0] for entry in os.listdir(PACKAGE)}
    assert "build_ffi" not in names and "_build_c" not in names
    if sys.version_info >= (3, 10):
        assert not names & set(sys.stdlib_module_names), names & set(sys.stdlib_module_names)
    assert "_table" in names and "_csv" not in names
