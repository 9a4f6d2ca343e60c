"""plainnet in WebAssembly, run by Node: Pyodide and MicroPython.

* Pyodide (CPython compiled to WebAssembly) installs the pure wheel, offline, and
  reproduces the tutorial's numbers (tools/wasm/pyodide_check.mjs).
* MicroPython cannot import plainnet itself (no ``numbers``, ``threading``,
  ``collections.abc``...), but runs the modules ``Network.export_python`` writes:
  their outputs are compared with ``Network.feedforward`` here, in CPython.

Both need Node and ``npm ci`` in tools/wasm (CI does it); without them these
tests skip and say why.  ``PLAINNET_PURE_WHEEL=path`` reuses a wheel already built.
"""

import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import plainnet as pn
from conftest import EMILY, FRANK, TUTORIAL_DATA, TUTORIAL_TARGETS

ROOT = Path(__file__).resolve().parent.parent
WASM = ROOT / "tools" / "wasm"
NODE = shutil.which("node")
# Files that the source tree may hold from local builds and the wheel must not see.
NOT_SOURCE = shutil.ignore_patterns(".git", "build", "dist", "node_modules", "*.egg-info",
                                    "__pycache__", "*.py[cod]", "*.so", "*.pyd", ".hypothesis",
                                    ".pytest_cache", ".benchmarks", "_pn_c.c")


def _need(package_dir):
    if NODE is None:
        pytest.skip("node is not installed: the WebAssembly checks need Node.js >= 18")
    if not (ROOT / "tools").is_dir():
        pytest.skip("tools/wasm is not here (running from an installed copy of the tests?)")
    if not (WASM / "node_modules" / package_dir).is_dir():
        pytest.skip("tools/wasm/node_modules/%s is missing: run `npm ci` in tools/wasm" % package_dir)


def _node(script, *args, timeout=300):
    return subprocess.run([NODE, str(WASM / script)] + [str(a) for a in args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=timeout)


@pytest.fixture(scope="module")
def pure_wheel(tmp_path_factory):
    """plainnet's py3-none-any wheel, built from a clean copy of this source tree."""
    _need("pyodide")  # before the build: no wheel is needed without Pyodide
    given = os.environ.get("PLAINNET_PURE_WHEEL")
    if given:
        return Path(given)
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("no source tree to build the wheel from")
    tmp = tmp_path_factory.mktemp("wheel")
    shutil.copytree(str(ROOT), str(tmp / "src"), ignore=NOT_SOURCE)
    env = dict(os.environ, PLAINNET_NO_C="1")
    env.pop("PLAINNET_REQUIRE_C", None)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            "-w", str(tmp / "dist"), str(tmp / "src")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, env=env, timeout=600)
    if built.returncode != 0:
        # pip builds in an isolated environment: it needs setuptools from PyPI.
        pytest.skip("could not build the pure wheel (offline?):\n" + built.stdout[-2000:])
    (wheel,) = (tmp / "dist").glob("plainnet-*-py3-none-any.whl")
    return wheel


# -- Pyodide ---------------------------------------------------------------------

def test_pyodide_installs_pure_wheel_offline_and_reproduces_the_tutorial(pure_wheel):
    _need("pyodide")
    run = _node("pyodide_check.mjs", pure_wheel)
    print(run.stdout, run.stderr, sep="\n")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PASS pyodide" in run.stdout

    # Same seeds in CPython: the outputs after training, compared to the last bit.
    (line,) = [l for l in run.stdout.splitlines() if l.startswith("values ")]
    values = json.loads(line[len("values "):])
    here = {"emily": [], "frank": []}
    for seed in range(20):
        net = pn.Network([2, 2, 1], seed=seed, backend="python")
        net.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=1000, learning_rate=0.1)
        here["emily"].append(net.feedforward(EMILY)[0])
        here["frank"].append(net.feedforward(FRANK)[0])
    diffs = [abs(float.fromhex(w) - c)
             for k in ("emily", "frank") for w, c in zip(values[k], here[k])]
    same = sum(d == 0.0 for d in diffs)
    print("Pyodide vs CPython %s, 40 trained outputs: %d identical, max abs diff %.3g"
          % (sys.version.split()[0], same, max(diffs)))
    # Both run plainnet's Python backend on IEEE doubles; only libm's exp may differ.
    assert max(diffs) <= 1e-12


# -- MicroPython -----------------------------------------------------------------

def _networks():
    """(name, trained network, rows) over several architectures and activations."""
    rng = random.Random(8)

    def rows(n, width, scale=3.0):
        return [[rng.uniform(-scale, scale) for _ in range(width)] for _ in range(n)]

    tutorial = pn.Network([2, 2, 1], seed=0)
    tutorial.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=1000, learning_rate=0.1)
    yield "tutorial 2-2-1 sigmoid", tutorial, TUTORIAL_DATA + [EMILY, FRANK] + rows(30, 2, 30.0)

    x = rows(40, 3)
    y = [[math.sin(a) * 0.5 + 0.5, (b * c > 0) * 1.0] for a, b, c in x]
    deep = pn.Network([3, 5, 4, 2], seed=1, activation="tanh", output_activation="sigmoid")
    deep.train(x, y, epochs=200, learning_rate=0.05)
    yield "3-5-4-2 tanh/sigmoid", deep, rows(40, 3, 10.0)

    x = rows(40, 4)
    y = [[a - b + 0.5 * c * d] for a, b, c, d in x]
    for act in ("relu", "leaky_relu"):
        net = pn.Network([4, 8, 1], seed=2, activation=act, output_activation="linear")
        net.train(x, y, epochs=100, learning_rate=0.01)
        yield "4-8-1 %s/linear" % act, net, rows(40, 4, 5.0)

    x = rows(60, 2)
    labels = [[1.0 if k == ((a > 0) + 2 * (b > 0)) % 3 else 0.0 for k in range(3)] for a, b in x]
    soft = pn.Network([2, 6, 3], seed=3, activation="tanh", output_activation="softmax",
                      loss="categorical_crossentropy")
    soft.train(x, labels, epochs=150, learning_rate=0.1)
    yield "2-6-3 tanh/softmax", soft, rows(40, 2, 4.0) + [[1e3, -1e3], [-40.0, 40.0]]

    scaled = pn.Network([2, 3, 1], seed=4)
    scaled.fit_scaler([[150.0, 60.0], [110.0, 70.0], [180.0, 66.0], [120.0, 64.0]])
    scaled.train([[133, 65], [160, 72], [152, 70], [120, 60]], [1, 0, 0, 1], epochs=300)
    yield "2-3-1 sigmoid with scaler", scaled, [[100.0 + 5 * k, 58.0 + k] for k in range(20)]

    # Extreme pre-activations: exp underflows to 0 and sigmoid saturates.
    big = pn.Network.from_weights([[[50.0, -50.0], [-800.0, 3.0]], [[30.0, -30.0]]],
                                  [[0.5, -0.5], [-2.0]])
    yield "saturating sigmoid", big, rows(30, 2, 20.0)


def _bits(v):
    return struct.pack(">d", v).hex()


def test_micropython_runs_exported_modules_like_cpython(tmp_path):
    _need("@micropython")
    cases, expected, params = [], {}, {}
    for name, net, rows in _networks():
        source = net.export_python()
        cases.append({"name": name, "source": source, "rows": rows})
        expected[name] = [net.feedforward(r) for r in rows]
        module = {}
        exec(compile(source, name, "exec"), module)  # the exported module in CPython
        assert [module["predict"](r) for r in rows] == expected[name], name
        values = []
        for weights, biases, _ in module["LAYERS"]:
            for w in weights:
                values += list(w)
            values += list(biases)
        values += list(module.get("MEAN", ())) + list(module.get("SCALE", ()))
        params[name] = [_bits(v) for v in values]
    (tmp_path / "cases.json").write_text(json.dumps({"cases": cases}))

    run = _node("micropython_check.mjs", "predict", tmp_path / "cases.json")
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    print(report["micropython"])

    worst_abs = worst_rel = 0.0
    n_out = n_same = n_param = n_param_same = n_repr = 0
    for name, want in expected.items():
        got = report["results"][name]
        assert len(got["outputs"]) == len(want)
        n_param += len(params[name])
        n_param_same += sum(a == b for a, b in zip(got["params"], params[name]))
        case_abs = case_rel = 0.0
        for got_row, want_row in zip(got["outputs"], want):
            assert len(got_row) == len(want_row)
            for (bits, text), w in zip(got_row, want_row):
                g = struct.unpack(">d", bytes.fromhex(bits))[0]
                n_out += 1
                n_same += bits == _bits(w)
                n_repr += float(text) == g  # does MicroPython's repr round-trip?
                case_abs = max(case_abs, abs(g - w))
                case_rel = max(case_rel, abs(g - w) / abs(w) if w else abs(g))
        print("  %-28s max abs diff %.3g, max rel diff %.3g" % (name, case_abs, case_rel))
        worst_abs, worst_rel = max(worst_abs, case_abs), max(worst_rel, case_rel)
    print("MicroPython vs CPython: %d/%d outputs identical; max abs diff %.3g, max rel diff %.3g"
          % (n_same, n_out, worst_abs, worst_rel))
    print("  parameters parsed from the exported literals identically: %d/%d; "
          "MicroPython repr round-trips %d/%d outputs" % (n_param_same, n_param, n_repr, n_out))
    assert worst_rel <= 1e-12


def test_plainnet_itself_under_micropython():
    """Reports why the package does not import under MicroPython (export_python is the way)."""
    _need("@micropython")
    src = ROOT / "src" / "plainnet"
    if not src.is_dir():
        pytest.skip("no src/plainnet here")
    run = _node("micropython_check.mjs", "import", src)
    assert run.returncode == 0, run.stdout + run.stderr
    modules = json.loads(run.stdout)["modules"]
    print("MicroPython imports of plainnet's modules (first obstacle of each):")
    for name, error in modules.items():
        print("  %-24s %s" % (name, error or "imports"))
    expected = {"plainnet"} | {"plainnet." + p.stem for p in src.glob("*.py")
                               if p.stem not in ("__init__", "__main__")}
    assert set(modules) == expected
