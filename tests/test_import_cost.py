"""What ``import plainnet`` costs: no numpy, no cffi, little time, little memory.

Each measurement runs in a fresh interpreter (subprocess).  Machines are noisy,
so the times are the minimum of several runs and the asserted bounds are loose;
the numbers are printed (``pytest -s``) beside a bare interpreter and
``import numpy``.  The aim is within about 10 ms and 1 MiB of a bare interpreter.
"""

import json
import subprocess
import sys

import pytest

import plainnet
from conftest import PACKAGE_PARENT  # the children must import this same copy

RUNS = 5

# Runs ``statement`` in a child; prints the seconds it took, the peak resident
# memory in KiB (VmHWM on Linux: ru_maxrss would count the parent's before exec)
# and the modules it loaded.
CHILD = """
import sys, time
sys.path.insert(0, %r)
before = set(sys.modules)
t = time.perf_counter()
exec(%r)
t = time.perf_counter() - t
new = sorted(set(sys.modules) - before)
rss = None
try:
    with open("/proc/self/status") as f:
        rss = [int(l.split()[1]) for l in f if l.startswith("VmHWM:")][0]
except (OSError, IndexError):
    pass
import json
print(json.dumps({"seconds": t, "rss_kib": rss, "new": new}))
"""


def child(statement):
    out = subprocess.check_output([sys.executable, "-c", CHILD % (PACKAGE_PARENT, statement)],
                                  universal_newlines=True)
    return json.loads(out.strip().splitlines()[-1])


def best_of(statement, runs=RUNS):
    """Minimum seconds and peak memory over ``runs`` fresh interpreters, and the modules loaded.

    One run first, not counted, so that bytecode caches exist as after pip install.
    """
    child(statement)
    results = [child(statement) for _ in range(runs)]
    rss = [r["rss_kib"] for r in results if r["rss_kib"] is not None]
    return (min(r["seconds"] for r in results), min(rss) if rss else None, results[-1]["new"])


def have(module):
    try:
        subprocess.check_call([sys.executable, "-c", "import " + module],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except subprocess.CalledProcessError:
        return False
    return True


HEAVY = ("numpy", "cffi", "_cffi_backend", "torch", "sklearn", "plainnet._pn_c", "plainnet._c_backend")


def test_import_loads_no_numpy_no_cffi_until_a_c_network():
    out = subprocess.check_output(
        [sys.executable, "-c",
         "import sys, json; sys.path.insert(0, %r)\n"
         "import plainnet\n"
         "a = set(sys.modules)\n"
         "net = plainnet.Network([2, 2, 1], seed=0, backend='python')\n"
         "net.train([[0.0, 1.0]], [1.0], epochs=2)\n"
         "b = set(sys.modules)\n"
         "print(json.dumps({'import': sorted(a), 'python_net': sorted(b)}))" % PACKAGE_PARENT],
        universal_newlines=True)
    loaded = json.loads(out)
    for stage in ("import", "python_net"):
        heavy = [m for m in HEAVY if m in loaded[stage]]
        assert heavy == [], "%s loaded %s" % (stage, heavy)


@pytest.mark.skipif("c" not in plainnet.available_backends(), reason="the C backend is not available here")
def test_the_c_core_loads_with_the_first_c_network():
    # plainnet._pn_c is the cffi module; on CPython it brings _cffi_backend (on
    # PyPy that is built in and need not show in sys.modules).
    out = subprocess.check_output(
        [sys.executable, "-c",
         "import sys; sys.path.insert(0, %r)\n"
         "import plainnet\n"
         "assert 'plainnet._pn_c' not in sys.modules and '_cffi_backend' not in sys.modules\n"
         "plainnet.Network([2, 2, 1], seed=0, backend='c')\n"
         "print('plainnet._pn_c' in sys.modules, 'numpy' in sys.modules)" % PACKAGE_PARENT],
        universal_newlines=True)
    assert out.split() == ["True", "False"]


def test_import_time_and_memory():
    bare_s, bare_kib, _ = best_of("pass")
    pn_s, pn_kib, pn_new = best_of("import plainnet")
    rows = [("bare interpreter", bare_s, bare_kib), ("import plainnet", pn_s, pn_kib)]
    if have("numpy"):
        np_s, np_kib, _ = best_of("import numpy")
        rows.append(("import numpy", np_s, np_kib))
    print("\nimport cost, best of %d fresh %s %s processes:"
          % (RUNS, sys.implementation.name, sys.version.split()[0]))
    for name, s, kib in rows:
        extra_s = s - bare_s
        mem = "" if kib is None else ", peak RSS %.1f MiB (%+.2f MiB)" % (kib / 1024, (kib - bare_kib) / 1024)
        print("  %-18s %7.2f ms (%+.2f ms)%s" % (name, s * 1e3, extra_s * 1e3, mem))
    print("  import plainnet loads %d modules: %s" % (len(pn_new), " ".join(pn_new)))
    # Loose bounds, for noisy machines; the target is ~10 ms and ~1 MiB.
    assert pn_s - bare_s < 0.100
    # PyPy's memory grows with its JIT and its own allocator: printed, not bounded.
    if pn_kib is not None and sys.implementation.name == "cpython":
        assert (pn_kib - bare_kib) / 1024 < 8.0


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="-X importtime is CPython's")
def test_importtime_of_plainnet():
    """``-X importtime``: plainnet's cumulative import time and its slowest imports."""
    runs = []
    for _ in range(RUNS):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c",
             "import sys; sys.path.insert(0, %r); import plainnet" % PACKAGE_PARENT],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
            check=True).stderr
        # Lines come children first; plainnet's subtree is what follows the last
        # top-level import before plainnet's own line.
        subtree = []
        for line in err.splitlines():
            if not line.startswith("import time:") or "[us]" in line:
                continue
            self_us, cumulative_us, name = line[len("import time:"):].split("|")
            depth = (len(name) - len(name.lstrip())) // 2
            if name.strip() == "plainnet" and depth == 0:
                runs.append((int(cumulative_us), subtree))
                break
            if depth == 0:
                subtree = []
            else:
                subtree.append((name.strip(), int(self_us)))
    total, subtree = min(runs, key=lambda run: run[0])
    slowest = sorted(subtree, key=lambda r: -r[1])[:6]
    print("\n-X importtime, best of %d: plainnet %.2f ms cumulative; slowest imports under it (self): %s"
          % (RUNS, total / 1e3, ", ".join("%s %.2f ms" % (n, s / 1e3) for n, s in slowest)))
    assert total < 100_000
