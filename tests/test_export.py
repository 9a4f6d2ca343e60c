"""Exported C and Python give exactly Network.feedforward's numbers."""

import ast
import os
import random
import shutil
import subprocess

import pytest

import plainnet

# (sizes, keyword arguments of Network): every activation, on hidden and output layers.
ARCHITECTURES = [
    ([2, 2, 1], dict(activation="sigmoid")),
    ([3, 5, 4, 2], dict(activation="tanh", output_activation="linear")),
    ([4, 6, 3], dict(activation="relu", output_activation="softmax", loss="categorical_crossentropy")),
    ([2, 3, 3, 1], dict(activation="leaky_relu", output_activation="sigmoid", loss="binary_crossentropy")),
    ([1, 1], dict(activation="linear")),
    ([5, 3], dict(activation="tanh")),
    ([3, 4, 4, 4, 2], dict(activation=["relu", "sigmoid", "leaky_relu", "softmax"])),
    ([6, 7, 5, 4, 3, 2], dict(activation=["tanh", "relu", "linear", "sigmoid", "leaky_relu"])),
    ([3, 5, 4, 2], dict(activation=["softplus", "silu", "gelu"])),
    ([4, 6, 3], dict(activation="gelu", output_activation="softmax", loss="categorical_crossentropy")),
    ([2, 4, 1], dict(activation="silu", output_activation="softplus")),
]
IDS = ["-".join(map(str, s)) for s, _ in ARCHITECTURES]


def sample_inputs(n_inputs, seed):
    """Rows that reach both branches of every activation, including saturation."""
    rng = random.Random(seed)
    rows = [[0.0] * n_inputs, [1.0] * n_inputs, [-1.0] * n_inputs]
    for scale in (0.01, 1.0, 3.0, 50.0, 800.0):
        for _ in range(4):
            rows.append([rng.gauss(0.0, scale) for _ in range(n_inputs)])
    return rows


def network(sizes, kwargs, backend, seed=0):
    return plainnet.Network(sizes, seed=seed, backend=backend, **kwargs)


def tutorial_network(backend):
    # The tutorial's 2-2-1 network with every weight [0, 1] and every bias 0.
    return plainnet.Network.from_weights([[[0, 1], [0, 1]], [[0, 1]]], [[0, 0], [0]], backend=backend)


def load_python_export(net):
    namespace = {"__name__": "exported_model"}
    exec(compile(net.export_python(), "<exported model>", "exec"), namespace)
    return namespace


def bits(values):
    return [v.hex() for v in values]


# -- Python ----------------------------------------------------------------

@pytest.mark.parametrize("sizes, kwargs", ARCHITECTURES, ids=IDS)
def test_python_export_is_bit_exact(backend, sizes, kwargs):
    for seed in (0, 1):
        net = network(sizes, kwargs, backend, seed)
        model = load_python_export(net)
        assert (model["N_INPUTS"], model["N_OUTPUTS"]) == (sizes[0], sizes[-1])
        for x in sample_inputs(sizes[0], seed):
            expected = net.feedforward(x)
            got = model["predict"](x)
            assert got == expected
            assert bits(got) == bits(expected)


def test_python_export_tutorial_number(backend):
    model = load_python_export(tutorial_network(backend))
    assert model["predict"]([2, 3]) == [0.7216325609518421]


def test_python_export_uses_math_only_and_plain_syntax(backend):
    sizes, kwargs = ARCHITECTURES[-2]
    tree = ast.parse(network(sizes, kwargs, backend).export_python())
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [(type(n).__name__, [a.name for a in n.names]) for n in imports] == [("Import", ["math"])]
    # MicroPython-friendly: no f-strings, no classes, no lambdas
    assert not any(isinstance(n, (ast.JoinedStr, ast.ClassDef, ast.Lambda)) for n in ast.walk(tree))


def test_python_export_checks_the_row_length(backend):
    model = load_python_export(network([3, 2], {}, backend))
    with pytest.raises(ValueError, match="expected 3 inputs, got 2"):
        model["predict"]([1.0, 2.0])


def scaled_network(backend):
    """A network that standardises its inputs with a scaler fitted to some data."""
    net = network([3, 4, 2], dict(activation="tanh", output_activation="sigmoid"), backend, seed=4)
    rng = random.Random(4)
    net.fit_scaler([[rng.gauss(10.0, 3.0), rng.gauss(-2.0, 0.1), rng.gauss(0.0, 1e3)] for _ in range(20)])
    return net


def test_python_export_applies_the_scaler(backend):
    net = scaled_network(backend)
    model = load_python_export(net)
    assert list(model["MEAN"]) == net.scaler.mean and list(model["SCALE"]) == net.scaler.scale
    for x in sample_inputs(3, 4):
        assert bits(model["predict"](x)) == bits(net.feedforward(x))


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "int", "model name", None, "x\n"])
def test_export_c_rejects_bad_names(name):
    with pytest.raises(ValueError, match="C identifier"):
        plainnet.Network([1, 1], seed=0).export_c(name)


def test_export_c_text():
    net = plainnet.Network.from_weights([[[0.1, -0.0]]], [[1e-300]])
    text = net.export_c("tiny")
    assert text.startswith("/* tiny: a feed-forward neural network exported by plainnet %s." % plainnet.__version__)
    assert "cc -std=c99 -O2 -ffp-contract=off model.c -lm" in text
    assert "#define TINY_N_INPUTS 2\n#define TINY_N_OUTPUTS 1\n" in text
    assert "void tiny_predict(const double *input, double *output)" in text
    # 17 significant digits; -0.0 keeps its sign; no allocation, no stdio
    assert "0.10000000000000001, -0.0" in text and "{\n    1e-300\n}" in text
    assert "malloc" not in text and "stdio" not in text


# -- C ---------------------------------------------------------------------

CC = shutil.which("cc") or shutil.which("gcc")
needs_cc = pytest.mark.skipif(CC is None or os.name != "posix", reason="no C compiler (cc or gcc) found")

HARNESS = r"""
#include <stdio.h>

#define N_IN %(n_in)d
#define N_OUT %(n_out)d

void %(name)s_predict(const double *input, double *output);

/* Reads rows of N_IN hex floats from stdin; writes N_OUT hex floats a line. */
int main(void)
{
    double in[N_IN], out[N_OUT];
    int i;
    for (;;) {
        for (i = 0; i < N_IN; i++)
            if (scanf("%%la", &in[i]) != 1)
                return 0;
        %(name)s_predict(in, out);
        for (i = 0; i < N_OUT; i++)
            printf("%%a%%c", out[i], i + 1 < N_OUT ? ' ' : '\n');
    }
}
"""

STRICT = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wmissing-prototypes",
          "-Wstrict-prototypes", "-Wdouble-promotion", "-Wconversion"]


def c_predict(tmp_path, net, name, rows):
    """Compile ``net.export_c(name)`` (strictly) with a harness; its outputs for ``rows``."""
    model_c = tmp_path / "model.c"
    model_c.write_text(net.export_c(name))
    harness_c = tmp_path / "harness.c"
    harness_c.write_text(HARNESS % dict(n_in=net.sizes[0], n_out=net.sizes[-1], name=name))
    exe = tmp_path / "harness"
    # The model must be clean C99 under every warning; the harness is just a test tool.
    subprocess.run([CC] + STRICT + ["-O2", "-ffp-contract=off", "-c", str(model_c), "-o", str(tmp_path / "model.o")],
                   check=True, cwd=str(tmp_path))
    subprocess.run([CC, "-std=c99", "-O2", "-ffp-contract=off", str(harness_c), str(tmp_path / "model.o"),
                    "-o", str(exe), "-lm"], check=True, cwd=str(tmp_path))
    text = "\n".join(" ".join(float(v).hex() for v in row) for row in rows) + "\n"
    proc = subprocess.run([str(exe)], input=text, stdout=subprocess.PIPE, universal_newlines=True,
                          check=True, timeout=30)
    return [[float.fromhex(v) for v in line.split()] for line in proc.stdout.splitlines()]


@needs_cc
@pytest.mark.parametrize("sizes, kwargs", ARCHITECTURES, ids=IDS)
def test_c_export_is_bit_exact(tmp_path, backend, sizes, kwargs):
    net = network(sizes, kwargs, backend, seed=3)
    rows = sample_inputs(sizes[0], 3)
    got = c_predict(tmp_path, net, "net_%d" % len(sizes), rows)
    expected = [net.feedforward(x) for x in rows]
    assert got == expected
    assert [bits(r) for r in got] == [bits(r) for r in expected]


@needs_cc
def test_c_export_applies_the_scaler(tmp_path, backend):
    net = scaled_network(backend)
    rows = sample_inputs(3, 4)
    got = c_predict(tmp_path, net, "scaled", rows)
    assert [bits(r) for r in got] == [bits(net.feedforward(x)) for x in rows]


@needs_cc
def test_c_export_tutorial_number(tmp_path, backend):
    assert c_predict(tmp_path, tutorial_network(backend), "tutorial", [[2.0, 3.0]]) == [[0.7216325609518421]]


@needs_cc
def test_c_export_as_documented(tmp_path, backend):
    """The compile line in the header comment works as written, with a main in the same file."""
    net = network([2, 3, 2], dict(activation="tanh", output_activation="softmax",
                                   loss="categorical_crossentropy"), backend, seed=5)
    main = (
        '\n#include <stdio.h>\n'
        'int main(void)\n{\n'
        '    double x[MODEL_N_INPUTS] = {0.5, -2.0}, y[MODEL_N_OUTPUTS];\n'
        '    model_predict(x, y);\n'
        '    printf("%a %a\\n", y[0], y[1]);\n'
        '    return 0;\n}\n'
    )
    (tmp_path / "model.c").write_text(net.export_c("model") + main)
    subprocess.run([CC, "-std=c99", "-O2", "-ffp-contract=off", "model.c", "-lm"], check=True, cwd=str(tmp_path))
    out = subprocess.run([str(tmp_path / "a.out")], stdout=subprocess.PIPE, universal_newlines=True, check=True)
    assert [float.fromhex(v) for v in out.stdout.split()] == net.feedforward([0.5, -2.0])


@needs_cc
def test_c_export_of_a_wide_layer_keeps_its_buffers_off_the_stack(tmp_path):
    """Issue 16 item 16: two arrays of the widest layer on the stack overflowed it
    for an allowed network; past 64 KiB the buffers are static (and said so)."""
    import resource
    net = plainnet.Network([1, 70000, 1], seed=5, backend="python", activation="relu",
                           output_activation="linear")
    text = net.export_c("wide")
    assert "1120000 bytes of static buffers (z, a: predict is not reentrant)" in text
    assert "    static double z[70000], a[70000];" in text
    model_c, harness_c, exe = tmp_path / "model.c", tmp_path / "harness.c", tmp_path / "harness"
    model_c.write_text(text)
    harness_c.write_text(HARNESS % dict(n_in=1, n_out=1, name="wide"))
    subprocess.run([CC, "-std=c99", "-O1", "-ffp-contract=off", str(harness_c), str(model_c),
                    "-o", str(exe), "-lm"], check=True, cwd=str(tmp_path), timeout=300)

    def small_stack():  # 1 MiB: less than the 1.1 MB the buffers take
        resource.setrlimit(resource.RLIMIT_STACK, (1 << 20, 1 << 20))
    rows = [[0.5], [-2.0], [30.0]]
    proc = subprocess.run([str(exe)], input="".join("%s\n" % float(r[0]).hex() for r in rows),
                          stdout=subprocess.PIPE, universal_newlines=True, timeout=60,
                          preexec_fn=small_stack)
    assert proc.returncode == 0
    got = [[float.fromhex(v) for v in line.split()] for line in proc.stdout.splitlines()]
    assert got == [net.feedforward(x) for x in rows]
