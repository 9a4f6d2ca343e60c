// Runs plainnet's pure wheel under Pyodide (CPython compiled to WebAssembly), in Node, offline.
//
//   node tools/wasm/pyodide_check.mjs dist/plainnet-X-py3-none-any.whl
//
// Pyodide loads from node_modules/pyodide (the npm package carries the whole
// runtime: pyodide.asm.wasm, python_stdlib.zip, pyodide-lock.json), and any
// network access fails the run.  The wheel is unpacked into site-packages with
// Python's zipfile inside Pyodide (no micropip), then the tutorial's numbers are
// checked there.  Exit status 0 when every check passes.

import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const indexURL = join(here, "node_modules", "pyodide") + "/";

const wheelPath = process.argv[2];
if (!wheelPath || !wheelPath.endsWith("-py3-none-any.whl")) {
  console.error("usage: node pyodide_check.mjs <plainnet-*-py3-none-any.whl>");
  process.exit(2);
}

// No network: the run must work on an offline machine.
const refuse = (what) => () => {
  throw new Error(`pyodide_check: network access attempted (${what})`);
};
globalThis.fetch = refuse("fetch");
globalThis.XMLHttpRequest = refuse("XMLHttpRequest");

const CHECKS = String.raw`
import json, sys, zipfile, site
with zipfile.ZipFile(WHEEL) as whl:
    whl.extractall(site.getsitepackages()[0])

import plainnet as pn

results = []

def check(name, ok, got):
    results.append((name, bool(ok), repr(got)))

got = pn.sigmoid(7)
check("sigmoid(7) == 0.9990889488055994", got == 0.9990889488055994, got)
got = pn.Neuron([0, 1], 4).feedforward([2, 3])
check("Neuron([0, 1], 4).feedforward([2, 3]) == 0.9990889488055994", got == 0.9990889488055994, got)
net = pn.Network.from_weights([[[0, 1], [0, 1]], [[0, 1]]], [[0, 0], [0]])
got = net.feedforward([2, 3])
check("2-2-1, w = [0, 1], b = 0, x = [2, 3] -> [0.7216325609518421]", got == [0.7216325609518421], got)
got = pn.mse_loss([1, 0, 0, 1], [0, 0, 0, 0])
check("mse_loss([1, 0, 0, 1], [0, 0, 0, 0]) == 0.5", got == 0.5, got)
net = pn.Network.from_weights([[[1, 1], [1, 1]], [[1, 1]]], [[0, 0], [0]])
dw, db = net.gradients([-2, -1], 1)
got = dw[0][0][0]
check("backprop dL/dw1 == 0.02146953526581111 (1e-12)", abs(got - 0.02146953526581111) <= 1e-12, got)

data = [[-2, -1], [25, 6], [17, 4], [-15, -6]]
genders = [1, 0, 0, 1]
emilys, franks = [], []
for seed in range(20):
    net = pn.Network([2, 2, 1], seed=seed)
    net.train(data, genders, epochs=1000, learning_rate=0.1)
    emilys.append(net.feedforward([-7, -3])[0])
    franks.append(net.feedforward([20, 2])[0])
check("20 seeds: Emily in [0.941, 0.980] and > 0.5",
      all(0.941 <= e <= 0.980 and e > 0.5 for e in emilys), (min(emilys), max(emilys)))
check("20 seeds: Frank in [0.029, 0.061] and < 0.5",
      all(0.029 <= f <= 0.061 and f < 0.5 for f in franks), (min(franks), max(franks)))
got = pn.available_backends()
check('available_backends() == ["python"]', got == ["python"], got)
try:
    pn.set_backend("c")
    check("set_backend('c') raises BackendUnavailable", False, "no error")
except pn.BackendUnavailable as exc:
    check("set_backend('c') raises BackendUnavailable", "pip install" in str(exc), str(exc))

json.dumps({"python": sys.version.split()[0], "platform": sys.platform,
            "plainnet": pn.__version__, "file": pn.__file__, "results": results,
            "values": {"emily": [e.hex() for e in emilys], "frank": [f.hex() for f in franks]}})
`;

const { loadPyodide } = await import(join(indexURL, "pyodide.mjs"));
const started = performance.now();
const pyodide = await loadPyodide({ indexURL, stdout: console.log, stderr: console.error });
const wheelName = basename(wheelPath);
pyodide.FS.writeFile("/tmp/" + wheelName, readFileSync(wheelPath));
pyodide.globals.set("WHEEL", "/tmp/" + wheelName);
const report = JSON.parse(await pyodide.runPythonAsync(CHECKS));
const seconds = ((performance.now() - started) / 1000).toFixed(1);

console.log(
  `Pyodide ${pyodide.version} (Python ${report.python}, ${report.platform}): ` +
    `plainnet ${report.plainnet} from ${report.file}`,
);
let failed = 0;
for (const [name, ok, got] of report.results) {
  console.log(`${ok ? "PASS" : "FAIL"} ${name}: ${got}`);
  if (!ok) failed += 1;
}
// For comparison with CPython (tests/test_wasm.py): Emily's and Frank's outputs, seeds 0-19.
console.log("values " + JSON.stringify(report.values));
console.log(`${failed ? "FAIL" : "PASS"} pyodide: ${report.results.length - failed}/${report.results.length} checks in ${seconds} s`);
process.exit(failed ? 1 : 0);
