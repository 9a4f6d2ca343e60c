// Runs Python modules exported by plainnet (Network.export_python) under MicroPython
// (the WebAssembly port, double-precision floats), in Node, offline.
//
//   node tools/wasm/micropython_check.mjs predict CASES.json
//       CASES.json: {"cases": [{"name": ..., "source": <module source>, "rows": [[...], ...]}]}
//       prints one JSON object: for each case, predict(row) for every row, as the
//       IEEE bits of each float (16 hex digits, exact) and MicroPython's repr of it,
//       and the bits of every weight, bias and scaler value as MicroPython parsed them.
//
//   node tools/wasm/micropython_check.mjs import SRC/plainnet
//       copies the package into MicroPython's /lib and tries to import it, then each
//       of its modules alone (under an empty __init__); prints one JSON object:
//       module -> null (imported) or the error that stopped it.
//
// The comparison with CPython is done by tests/test_wasm.py.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const { loadMicroPython } = await import(
  join(here, "node_modules", "@micropython", "micropython-webassembly-pyscript", "micropython.mjs")
);

const [mode, arg] = process.argv.slice(2);
if (!["predict", "import"].includes(mode) || !arg) {
  console.error("usage: node micropython_check.mjs predict CASES.json | import SRC/plainnet");
  process.exit(2);
}

const captured = [];
const mp = await loadMicroPython({
  heapsize: 64 * 1024 * 1024,
  stdout: (line) => captured.push(line),
  stderr: (line) => console.error(line),
});

// Runs code and returns what it printed; a Python exception becomes a JS exception.
function run(code) {
  captured.length = 0;
  mp.runPython(code);
  return captured.join("\n");
}

const version = run("import sys; print(sys.implementation._machine, sys.version)");

if (mode === "predict") {
  const { cases } = JSON.parse(readFileSync(arg, "utf8"));
  const results = {};
  mp.FS.mkdirTree("/lib");
  cases.forEach(({ name, source, rows }, k) => {
    const module = `exported_${k}`;
    mp.FS.writeFile(`/lib/${module}.py`, source);
    mp.FS.writeFile("/tmp/rows.json", JSON.stringify(rows));
    const printed = run(`
import json, struct, binascii
import ${module} as model
with open("/tmp/rows.json") as f:
    rows = json.load(f)
bits = lambda v: binascii.hexlify(struct.pack(">d", v)).decode()
outputs = []
for row in rows:
    outputs.append([[bits(y), repr(y)] for y in model.predict(row)])
# The parameters as MicroPython parsed them from the source's literals.
params = []
for weights, biases, _ in model.LAYERS:
    for w in weights:
        params += [bits(v) for v in w]
    params += [bits(v) for v in biases]
for extra in ("MEAN", "SCALE"):
    params += [bits(v) for v in getattr(model, extra, ())]
print(json.dumps({"outputs": outputs, "params": params}))
`);
    results[name] = JSON.parse(printed);
  });
  console.log(JSON.stringify({ micropython: version, results }));
} else {
  const names = readdirSync(arg)
    .filter((f) => f.endsWith(".py"))
    .map((f) => f.slice(0, -3))
    .sort();
  // First the package as shipped; then each module on its own, under an empty
  // __init__, to find every module's own first obstacle.
  const tryImport = (dotted) => {
    try {
      run(`import ${dotted}`);
      return null;
    } catch (exc) {
      const lines = String(exc.message).trim().split("\n");
      const last = lines.filter((l) => l.trim().startsWith("File ")).pop() || "";
      const where = last.match(/File "(?:\/lib\/)?([^"]*)", line (\d+)/);
      return lines[lines.length - 1].trim() + (where ? ` (${where[1]}:${where[2]})` : "");
    }
  };
  mp.FS.mkdirTree("/lib/plainnet");
  for (const name of names) {
    mp.FS.writeFile(`/lib/plainnet/${name}.py`, readFileSync(join(arg, `${name}.py`)));
  }
  const modules = { plainnet: tryImport("plainnet") };
  run("import sys\nfor k in list(sys.modules):\n    if k.startswith('plainnet'):\n        del sys.modules[k]");
  mp.FS.writeFile("/lib/plainnet/__init__.py", "");
  for (const name of names.filter((n) => n !== "__init__" && n !== "__main__")) {
    run("import sys\nfor k in list(sys.modules):\n    if k.startswith('plainnet.'):\n        del sys.modules[k]");
    modules[`plainnet.${name}`] = tryImport(`plainnet.${name}`);
  }
  console.log(JSON.stringify({ micropython: version, modules }));
}
