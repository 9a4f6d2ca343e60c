"""float32 and int8 C exports: on the host (gcc, against numpy float32 and
feedforward) and on an emulated Cortex-M4F (arm-none-eabi-gcc, qemu-system-arm),
against the host's feedforward.

All models are compiled into one program per machine: tests/mcu/startup.c (vector
table, reset handler, semihosting) and a generated main that runs every model over
its rows, compiled in as arrays, and prints each output's float bits in hex.
"""

import importlib.util
import math
import os
import random
import re
import shutil
import struct
import subprocess
import sys

import pytest

import plainnet
from plainnet._export_mcu import c_float32, f32
from plainnet import _registry

HERE = os.path.dirname(os.path.abspath(__file__))
MCU = os.path.join(HERE, "mcu")
CC = shutil.which("cc") or shutil.which("gcc")
ARM_GCC = shutil.which("arm-none-eabi-gcc")
ARM_SIZE = shutil.which("arm-none-eabi-size")
QEMU = shutil.which("qemu-system-arm")
ARM_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
STRICT = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wmissing-prototypes",
          "-Wstrict-prototypes", "-Wdouble-promotion", "-Wconversion"]


def _newlib():
    if ARM_GCC is None:
        return False
    out = subprocess.run([ARM_GCC] + ARM_FLAGS + ["-print-file-name=libm.a"], stdout=subprocess.PIPE,
                         universal_newlines=True).stdout.strip()
    return os.path.isabs(out) and os.path.exists(out)


needs_cc = pytest.mark.skipif(CC is None or os.name != "posix", reason="no C compiler (cc or gcc) found")
if ARM_GCC is None or ARM_SIZE is None:
    _TARGET_MISSING = "arm-none-eabi-gcc not found (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
elif not _newlib():
    _TARGET_MISSING = "arm-none-eabi-gcc has no newlib libm (Debian: apt-get install libnewlib-arm-none-eabi)"
elif QEMU is None:
    _TARGET_MISSING = "qemu-system-arm not found (Debian: apt-get install qemu-system-arm)"
else:
    _TARGET_MISSING = None
needs_target = pytest.mark.skipif(_TARGET_MISSING is not None, reason=str(_TARGET_MISSING))

try:
    import numpy as np
except ImportError:  # pragma: no cover
    np = None
# scikit-learn is imported only when the digits are needed (it takes seconds)
HAVE_SKLEARN = importlib.util.find_spec("sklearn") is not None


# -- the models -------------------------------------------------------------------

FLOAT32_NETS = [
    ("sig", [2, 8, 1], dict(activation="sigmoid")),
    ("tanh_lin", [3, 16, 8, 2], dict(activation="tanh", output_activation="linear")),
    ("relu_sm", [6, 24, 4], dict(activation="relu", output_activation="softmax", loss="categorical_crossentropy")),
    ("leaky_sig", [5, 12, 12, 1], dict(activation="leaky_relu", output_activation="sigmoid",
                                        loss="binary_crossentropy")),
    ("mixed", [3, 5, 4, 2], dict(activation=["softplus", "silu", "gelu"])),
    ("gelu_sm", [4, 10, 3], dict(activation="gelu", output_activation="softmax", loss="categorical_crossentropy")),
    ("silu_sp", [2, 6, 1], dict(activation="silu", output_activation="softplus")),
    ("linear", [4, 3], dict(activation="linear")),
    # wider than the stack limit: static buffers, one and two of them
    ("wide1", [8, 160, 3], dict(activation="tanh", output_activation="sigmoid", init="xavier")),
    ("wide2", [4, 150, 150, 2], dict(activation="relu", output_activation="linear", init="he")),
]


def f32_rows(rows):
    return [[f32(v) for v in row] for row in rows]


def sample_rows(n_inputs, seed, n=200):
    rng = random.Random(seed)
    rows = [[0.0] * n_inputs, [1.0] * n_inputs, [-1.0] * n_inputs]
    rows += [[rng.gauss(0.0, 1.0) for _ in range(n_inputs)] for _ in range(n - 53)]
    rows += [[rng.gauss(0.0, 3.0) for _ in range(n_inputs)] for _ in range(50)]
    return f32_rows(rows)


def scaled_net():
    net = plainnet.Network([3, 10, 2], seed=4, activation="tanh", output_activation="sigmoid")
    rng = random.Random(4)
    data = [[rng.gauss(10.0, 3.0), rng.gauss(-2.0, 0.1), rng.gauss(0.0, 1e3)] for _ in range(300)]
    net.fit_scaler(data[:20])
    return net, f32_rows(data)


class Model:
    def __init__(self, name, net, rows, kind="float32", calibration=None, labels=None):
        self.name, self.net, self.rows, self.kind, self.labels = name, net, rows, kind, labels
        if kind == "int8":
            self.text = net.export_c(name, quantize="int8", calibration=calibration)
        else:
            self.text = net.export_c(name, precision="float32")
        self.expected = [net.feedforward(x) for x in rows]


_DIGITS = {}


def digits():
    """A 64-32-10 relu/softmax digits classifier (scaled inputs), its calibration
    (training) rows, test rows and test labels; None without scikit-learn."""
    if not HAVE_SKLEARN:
        return None
    if not _DIGITS:
        from sklearn.datasets import load_digits
        d = load_digits()
        X, y = d.data.tolist(), [int(c) for c in d.target]
        n = 1437  # sklearn's usual 80 %; the last 360 digits are the test rows
        T = [[1.0 if k == c else 0.0 for k in range(10)] for c in y[:n]]
        net = plainnet.Network([64, 32, 10], seed=1, activation="relu", output_activation="softmax",
                               loss="categorical_crossentropy", init="he")
        # 60 epochs take 0.8 s with the C backend, 90 s in pure Python
        epochs = 60 if plainnet.get_backend() == "c" else 6
        net.train(X[:n], T, epochs=epochs, learning_rate=0.003, optimizer="adam", batch_size=16,
                  shuffle=True, scale=True)
        _DIGITS.update(net=net, train=X[:n], test=f32_rows(X[n:]), labels=y[n:])
    return _DIGITS


_MODELS = []


def models():
    if not _MODELS:
        for k, (name, sizes, kwargs) in enumerate(FLOAT32_NETS):
            net = plainnet.Network(sizes, seed=10 + k, **kwargs)
            _MODELS.append(Model(name, net, sample_rows(sizes[0], k)))
        net, rows = scaled_net()
        _MODELS.append(Model("scaled", net, rows))
        d = digits()
        if d is not None:
            _MODELS.append(Model("digits32", d["net"], d["test"], labels=d["labels"]))
            _MODELS.append(Model("digits8", d["net"], d["test"], "int8", d["train"], d["labels"]))
        # int8 through lookup tables (tanh, sigmoid) and a linear output
        rng = random.Random(7)
        net = plainnet.Network([6, 20, 12, 3], seed=7, activation=["tanh", "sigmoid", "linear"])
        rows = f32_rows([[rng.gauss(0.0, 1.0) for _ in range(6)] for _ in range(300)])
        _MODELS.append(Model("lut8", net, rows, "int8", rows[:100]))
    return _MODELS


# -- building and running -------------------------------------------------------------

def harness(ms):
    """main.c: every model's rows as float arrays; prints 'name row hex hex ...' lines."""
    out = ["#include <stdint.h>", "#include <string.h>", "",
           "void sh_write(const char *text);",
           "typedef void (*predict_fn)(const float *, float *);", ""]
    for m in ms:
        n_in = m.net.sizes[0]
        out.append("void %s_predict(const float *input, float *output);" % m.name)
        out.append("static const float %s_rows[%d][%d] = {" % (m.name, len(m.rows), n_in))
        for row in m.rows:
            out.append("    {%s}," % ", ".join(float(v).hex() + "f" for v in row))
        out.append("};")
    out += [
        "",
        "static char line[4096];",
        "",
        "static char *hex(char *p, uint32_t v)",
        "{",
        "    int k;",
        "    for (k = 7; k >= 0; k--) {",
        "        p[k] = \"0123456789abcdef\"[v & 15u];",
        "        v >>= 4;",
        "    }",
        "    return p + 8;",
        "}",
        "",
        "static void run(const char *name, predict_fn f, const float *rows, int n_rows, int n_in, int n_out)",
        "{",
        "    float y[64];",
        "    int r, k;",
        "    for (r = 0; r < n_rows; r++) {",
        "        char *p = line;",
        "        size_t len = strlen(name);",
        "        memcpy(p, name, len);",
        "        p += len;",
        "        for (k = 0; k < n_out; k++)",
        "            y[k] = -1.0f;",
        "        f(rows + r * n_in, y);",
        "        for (k = 0; k < n_out; k++) {",
        "            uint32_t u;",
        "            memcpy(&u, &y[k], 4);",
        "            *p++ = ' ';",
        "            p = hex(p, u);",
        "        }",
        "        *p++ = '\\n';",
        "        *p = 0;",
        "        sh_write(line);",
        "    }",
        "}",
        "",
        "int main(void)",
        "{",
    ]
    for m in ms:
        out.append("    run(\"%s\", %s_predict, &%s_rows[0][0], %d, %d, %d);" % (
            m.name, m.name, m.name, len(m.rows), m.net.sizes[0], m.net.sizes[-1]))
    out += ["    sh_write(\"END\\n\");", "    return 0;", "}", ""]
    return "\n".join(out)


HOST_SHIM = "#include <stdio.h>\nvoid sh_write(const char *text);\n" \
            "void sh_write(const char *text) { fputs(text, stdout); }\n" \
            "int main(void);\n"


def parse(stdout, ms):
    lines = stdout.splitlines()
    assert lines and lines[-1] == "END", stdout[-2000:]
    got = {m.name: [] for m in ms}
    for line in lines[:-1]:
        name, *values = line.split()
        got[name].append([struct.unpack(">f", bytes.fromhex(v))[0] for v in values])
    for m in ms:
        assert len(got[m.name]) == len(m.rows)
    return got


def write_sources(tmp, ms):
    sources = []
    for m in ms:
        path = os.path.join(tmp, "%s.c" % m.name)
        with open(path, "w") as f:
            f.write(m.text)
        sources.append(path)
    with open(os.path.join(tmp, "main.c"), "w") as f:
        f.write(harness(ms))
    return sources


@pytest.fixture(scope="module")
def host_run(tmp_path_factory):
    """The host's outputs of every model: {name: rows of outputs}."""
    if CC is None or os.name != "posix":
        pytest.skip("no C compiler (cc or gcc) found")
    tmp = str(tmp_path_factory.mktemp("host"))
    ms = models()
    sources = write_sources(tmp, ms)
    subprocess.run([CC] + STRICT + ["-O2", "-ffp-contract=off", "-c"] + sources, check=True, cwd=tmp)
    with open(os.path.join(tmp, "shim.c"), "w") as f:
        f.write(HOST_SHIM)
    objects = [s[:-2] + ".o" for s in sources]
    subprocess.run([CC, "-std=c99", "-O2", "-o", "app", "main.c", "shim.c"] + objects + ["-lm"],
                   check=True, cwd=tmp)
    proc = subprocess.run([os.path.join(tmp, "app")], stdout=subprocess.PIPE, universal_newlines=True,
                          check=True, timeout=60)
    return parse(proc.stdout, ms)


class TargetRun:
    pass


@pytest.fixture(scope="module")
def target_run(tmp_path_factory):
    """Every model compiled for the Cortex-M4F and run under qemu: outputs, sizes, stack use."""
    if _TARGET_MISSING is not None:
        pytest.skip(_TARGET_MISSING)
    tmp = str(tmp_path_factory.mktemp("target"))
    ms = models()
    sources = write_sources(tmp, ms)
    base = [ARM_GCC] + ARM_FLAGS + ["-O2"]
    subprocess.run(base + STRICT + ["-ffunction-sections", "-fdata-sections", "-fstack-usage", "-c"]
                   + sources, check=True, cwd=tmp)
    objects = [s[:-2] + ".o" for s in sources]
    subprocess.run(base + ["-std=c99", "-nostartfiles", "-T", os.path.join(MCU, "link.ld"),
                           "-Wl,--gc-sections", "-o", "app.elf", os.path.join(MCU, "startup.c"), "main.c"]
                   + objects + ["-lm", "-lc", "-lnosys"], check=True, cwd=tmp)
    proc = subprocess.run([QEMU, "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
                           "-chardev", "stdio,id=sh0", "-semihosting-config", "enable=on,target=native,chardev=sh0",
                           "-kernel", "app.elf"],
                          stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, universal_newlines=True,
                          cwd=tmp, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]
    run = TargetRun()
    run.outputs = parse(proc.stdout, ms)
    run.sections = {}
    run.stack = {}
    for m in ms:
        text = subprocess.run([ARM_SIZE, "-A", m.name + ".o"], stdout=subprocess.PIPE, universal_newlines=True,
                              check=True, cwd=tmp).stdout
        sections = {}
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
                sections[parts[0]] = int(parts[1])
        run.sections[m.name] = sections
        with open(os.path.join(tmp, m.name + ".su")) as f:
            for line in f:
                if ":%s_predict\t" % m.name in line:
                    run.stack[m.name] = int(line.split("\t")[1])
    return run


# -- oracles -------------------------------------------------------------------------

def tolerance_ok(got, expected, tol=1e-5):
    """|got - expected| <= tol absolute for |expected| <= 1, tol relative beyond."""
    return all(abs(g - e) <= tol * max(1.0, abs(e)) for g, e in zip(got, expected))


def numpy_float32(net, rows):
    """An independent float32 forward pass: numpy float32 arrays, numpy's functions."""
    f = np.float32
    a = np.asarray(rows, dtype=f)
    if net.scaler is not None:
        a = (a - np.asarray(net.scaler.mean, f)) / np.asarray(net.scaler.scale, f)
    k, c = f(_registry.GELU_K), f(_registry.GELU_C)
    with np.errstate(over="ignore"):
        for W, b, act in zip(net.weights, net.biases, net.activations):
            z = a @ np.asarray(W, f).T + np.asarray(b, f)
            if act == "sigmoid":
                a = f(1) / (f(1) + np.exp(-z))
            elif act == "tanh":
                a = np.tanh(z)
            elif act == "relu":
                a = np.maximum(z, f(0))
            elif act == "leaky_relu":
                a = np.where(z > 0, z, f(0.01) * z)
            elif act == "linear":
                a = z
            elif act == "softplus":
                a = np.where(z > 20, z, np.log1p(np.exp(np.minimum(z, f(20)))))
            elif act == "silu":
                a = z / (f(1) + np.exp(-z))
            elif act == "gelu":
                a = f(0.5) * z * (f(1) + np.tanh(k * (z + c * (z * z * z))))
            elif act == "softmax":
                e = np.exp(z - z.max(axis=1, keepdims=True))
                a = e / e.sum(axis=1, keepdims=True)
            else:  # pragma: no cover
                raise AssertionError(act)
            assert a.dtype == f
    return a.tolist()


def accuracy(outputs, labels):
    return sum(max(range(len(o)), key=o.__getitem__) == c for o, c in zip(outputs, labels)) / len(labels)


def stated(text, pattern):
    m = re.search(pattern, text)
    assert m, pattern
    return int(m.group(1))


# -- the text ----------------------------------------------------------------------

def test_float32_templates_from_the_registry():
    for act in _registry.ACTIVATIONS.values():
        if act.c is None:
            continue
        text = c_float32(act.c)
        assert not re.search(r"\b(exp|tanh|log1p)\(", text), text
        literals = re.findall(r"(?<![\w.])\d+\.?\d*(?:[eE][+-]?\d+)?f?", text)
        assert literals == [] or all(v.endswith("f") for v in literals), (act.name, text)
        for fn in act.libm:
            assert fn + "f(" in text
        # each literal is the template's double rounded to float32
        doubles = re.findall(r"(?<![\w.])\d+\.\d*(?:[eE][+-]?\d+)?", act.c)
        assert [f32(float(v[:-1])) for v in literals] == [f32(float(v)) for v in doubles]
        assert text.replace("f(", "(") .count("(") == act.c.count("(")


def test_float32_export_text():
    m = Model("fl", plainnet.Network([3, 4, 2], seed=0, activation="tanh", output_activation="softmax",
                                     loss="categorical_crossentropy"), [])
    text = m.text
    assert "void fl_predict(const float *input, float *output)" in text
    assert "double" not in text and "malloc" not in text and "stdio" not in text
    assert "#include <math.h>" in text and "needs only <math.h> (expf, tanhf)" in text
    assert stated(text, r"flash: (\d+) bytes of weights") == 4 * (3 * 4 + 4 + 4 * 2 + 2)
    assert stated(text, r"stack at most (\d+) bytes: (?:\d+) of buffers") == 16 + 64


def test_int8_export_text():
    net = plainnet.Network([3, 4, 2], seed=0, activation="relu", output_activation="sigmoid")
    text = net.export_c("q8", quantize="int8", calibration=[[1.0, 2.0, 3.0], [-1.0, 0.0, 0.5]])
    assert "#include <stdint.h>" in text and "math.h" not in text
    assert not re.search(r"\b(exp|expf|tanh|tanhf|log1p|log1pf)\(", text)
    assert "static const int8_t q8_w1[4][3]" in text and "static const int8_t q8_t2[255]" in text
    # int8 weights, 9 bytes a neuron (int32 bias, int32 multiplier, shift), one sigmoid table
    assert stated(text, r"flash: (\d+) bytes") == 3 * 4 + 4 * 2 + 9 * 6 + 255


def test_export_options_are_checked():
    net = plainnet.Network([2, 2], seed=0)
    for kwargs, match in [
        (dict(precision="float16"), "precision must be"),
        (dict(quantize="int4", calibration=[[0, 0]]), "quantize must be"),
        (dict(quantize="int8"), "needs calibration"),
        (dict(quantize="int8", calibration=[]), "no rows"),
        (dict(quantize="int8", calibration=[[1.0]]), "has 1 values; the network takes 2"),
        (dict(quantize="int8", calibration=[[1.0, float("nan")]]), "not finite"),
        (dict(quantize="int8", calibration=[["a", 1]]), "not a row of numbers"),
        (dict(precision="float32", calibration=[[1.0, 2.0]]), "calibration applies"),
    ]:
        with pytest.raises(ValueError, match=match):
            net.export_c("m", **kwargs)
    # the double export is unchanged by the new keywords
    assert net.export_c("m", precision="float64") == net.export_c("m")


# -- on the host -------------------------------------------------------------------------

@needs_cc
@pytest.mark.skipif(np is None, reason="numpy not installed")
def test_float32_on_host_matches_numpy_float32(host_run):
    for m in models():
        if m.kind != "float32":
            continue
        oracle = numpy_float32(m.net, m.rows)
        for row, got, want in zip(m.rows, host_run[m.name], oracle):
            # both are float32 computations; they differ in summation order and libm
            assert tolerance_ok(got, want, 2e-6), (m.name, row, got, want)


@needs_cc
def test_float32_on_host_close_to_feedforward(host_run):
    for m in models():
        if m.kind == "float32":
            for row, got, want in zip(m.rows, host_run[m.name], m.expected):
                assert tolerance_ok(got, want), (m.name, row, got, want)


@needs_cc
@pytest.mark.skipif(not HAVE_SKLEARN, reason="scikit-learn not installed")
def test_int8_on_host_keeps_digits_accuracy(host_run):
    d = digits()
    exact = accuracy([d["net"].feedforward(x) for x in d["test"]], d["labels"])
    assert exact > 0.9
    assert abs(accuracy(host_run["digits8"], d["labels"]) - exact) <= 0.01


# -- on the emulated Cortex-M4F ----------------------------------------------------------

@needs_target
def test_float32_on_target_agrees_with_feedforward(target_run):
    n = 0
    for m in models():
        if m.kind == "float32":
            for row, got, want in zip(m.rows, target_run.outputs[m.name], m.expected):
                assert tolerance_ok(got, want), (m.name, row, got, want)
                n += 1
    assert n >= 2000


@needs_target
@pytest.mark.skipif(not HAVE_SKLEARN, reason="scikit-learn not installed")
def test_int8_on_target_keeps_digits_accuracy(target_run):
    d = digits()
    exact = accuracy([d["net"].feedforward(x) for x in d["test"]], d["labels"])
    assert len(d["labels"]) == 360 and exact > 0.9
    assert abs(accuracy(target_run.outputs["digits8"], d["labels"]) - exact) <= 0.01
    assert abs(accuracy(target_run.outputs["digits32"], d["labels"]) - exact) <= 1 / 360


@needs_target
def test_int8_on_target_is_the_host_int8(target_run, host_run):
    """Integer arithmetic, and single IEEE float operations at the ends: the same bits."""
    for m in models():
        if m.kind == "int8":
            assert target_run.outputs[m.name] == host_run[m.name]


@needs_target
def test_int8_lookup_tables_track_feedforward(target_run):
    """tanh and sigmoid tables, a linear output: within 3 % RMS of the float64 outputs."""
    m = [m for m in models() if m.name == "lut8"][0]
    pairs = [(g, e) for got, want in zip(target_run.outputs[m.name], m.expected) for g, e in zip(got, want)]
    rms_error = math.sqrt(sum((g - e) ** 2 for g, e in pairs) / len(pairs))
    rms = math.sqrt(sum(e * e for _, e in pairs) / len(pairs))
    assert rms_error <= 0.03 * rms


@needs_target
def test_stated_memory_is_what_the_target_uses(target_run):
    for m in models():
        sections = target_run.sections[m.name]
        code = sum(v for k, v in sections.items() if k.startswith(".text"))
        rodata = sum(v for k, v in sections.items() if k.startswith(".rodata"))
        bss = sum(v for k, v in sections.items() if k.startswith(".bss"))
        assert sum(v for k, v in sections.items() if k.startswith(".data")) == 0
        flash = stated(m.text, r"flash: (\d+) bytes")
        if m.kind == "int8":
            assert rodata == flash, m.name
        else:  # the compiler may fold a small or all-zero bias or scaler array into the code
            folded = 4 * (sum(m.net.sizes[1:]) + (2 * m.net.sizes[0] if m.net.scaler else 0))
            assert flash - folded <= rodata <= flash, m.name
        estimate = stated(m.text, r"about (\d+) bytes of code")
        assert 0.6 * estimate <= code <= 1.4 * estimate, (m.name, code, estimate)
        if "static buffers" in m.text:
            assert bss == stated(m.text, r"(\d+) bytes of static buffers"), m.name
            assert target_run.stack[m.name] <= stated(m.text, r"stack at most (\d+) bytes"), m.name
        else:
            assert bss == 0
            assert target_run.stack[m.name] <= stated(m.text, r"stack at most (\d+) bytes"), m.name
    assert any("static buffers" in m.text for m in models())


# -- the command line -----------------------------------------------------------------

def plainnet_cli(args, cwd):
    from conftest import env_with_package
    return subprocess.run([sys.executable, "-m", "plainnet"] + args, cwd=str(cwd), env=env_with_package(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60)


def test_cli_exports_float32_and_int8(tmp_path):
    net = plainnet.Network([3, 5, 2], seed=2, activation="tanh", output_activation="sigmoid")
    net.save(str(tmp_path / "model.json"))
    rng = random.Random(2)
    rows = [[round(rng.gauss(0.0, 1.0), 6) for _ in range(3)] for _ in range(20)]
    (tmp_path / "cal.csv").write_text("a,b,c\n" + "".join("%r,%r,%r\n" % tuple(r) for r in rows))
    proc = plainnet_cli(["export", "model.json", "--lang", "c", "--precision", "float32"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == net.export_c("plainnet_model", precision="float32")
    proc = plainnet_cli(["export", "model.json", "--lang", "c", "--name", "q", "--quantize", "int8",
                         "--calibration", "cal.csv", "-o", "q.c"], tmp_path)
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    assert (tmp_path / "q.c").read_text() == net.export_c("q", quantize="int8", calibration=rows)
    for args, message in [
        (["--quantize", "int8"], "--quantize int8 needs --calibration"),
        (["--calibration", "cal.csv"], "--calibration applies to --quantize only"),
        (["--precision", "float16"], "invalid choice"),
    ]:
        proc = plainnet_cli(["export", "model.json", "--lang", "c"] + args, tmp_path)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    proc = plainnet_cli(["export", "model.json", "--lang", "python", "--precision", "float32"], tmp_path)
    assert proc.returncode == 2 and "--precision applies to --lang c and --lang onnx only" in proc.stderr
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    proc = plainnet_cli(["export", "model.json", "--lang", "c", "--quantize", "int8", "--calibration", "bad.csv"],
                        tmp_path)
    assert proc.returncode == 1 and "bad.csv: 2 input column(s), but the model takes 3" in proc.stderr


def test_double_export_states_its_memory():
    net = plainnet.Network([3, 7, 2], seed=0)
    net.fit_scaler([[1.0, 2.0, 3.0], [2.0, 0.0, 1.0]])
    text = net.export_c("d")
    assert "%d bytes of weights and biases and scaler" % (8 * (3 * 7 + 7 + 7 * 2 + 2) + 16 * 3) in text
    assert "%d bytes of stack for its buffers (x, z, a)" % (8 * (3 + 2 * 7)) in text
