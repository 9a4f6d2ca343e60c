"""The ``plainnet`` command, run as a separate process, as a user would run it."""

import csv
import io
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import plainnet
from conftest import env_with_package

# The folder holding the plainnet package under test (src/ or site-packages).


def run(args, cwd, timeout=60):
    """Run ``python -m plainnet ARGS`` in ``cwd``; the CompletedProcess, text mode."""
    return subprocess.run(
        [sys.executable, "-m", "plainnet"] + [str(a) for a in args],
        cwd=str(cwd), env=env_with_package(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, timeout=timeout,
    )


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("plainnet: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


# The tutorial's people plus Emily and Frank (weight - 135 lb, height - 66 in; 1 = F).
PEOPLE_CSV = (
    "weight,height,female\n"
    "-2,-1,1\n"
    "25,6,0\n"
    "17,4,0\n"
    "-15,-6,1\n"
    "-7,-3,1\n"
    "20,2,0\n"
)


@pytest.fixture
def people(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE_CSV)
    return path


def read_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


# -- demo ------------------------------------------------------------------

def _demo_checks(proc):
    assert proc.returncode == 0, proc.stderr
    emily = re.search(r"^\s*Emily: (\d\.\d{3}) ([FM])$", proc.stdout, re.M)
    frank = re.search(r"^\s*Frank: (\d\.\d{3}) ([FM])$", proc.stdout, re.M)
    assert emily and frank, proc.stdout
    assert float(emily.group(1)) > 0.5 and emily.group(2) == "F"
    assert float(frank.group(1)) < 0.5 and frank.group(2) == "M"
    return re.findall(r"^\s*epoch\s+(\d+)\s+loss (\S+)$", proc.stdout, re.M)


def test_no_command_runs_the_demo(tmp_path):
    losses = _demo_checks(run([], tmp_path))
    assert [int(e) for e, _ in losses] == list(range(100, 1001, 100))
    # training makes progress: the loss falls from the first report to the last
    assert float(losses[-1][1]) < float(losses[0][1])


def test_demo_options(tmp_path, backend):
    proc = run(["demo", "--seed", "7", "--epochs", "600", "--backend", backend], tmp_path)
    losses = _demo_checks(proc)
    assert [int(e) for e, _ in losses] == [100, 200, 300, 400, 500, 600]
    assert "%s backend" % backend in proc.stdout


# -- help, version, usage errors -------------------------------------------

@pytest.mark.parametrize("args", [["--help"], ["demo", "--help"], ["train", "--help"], ["predict", "--help"],
                                  ["evaluate", "--help"], ["info", "--help"], ["export", "--help"]])
def test_help(tmp_path, args):
    proc = run(args, tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: plainnet")
    assert proc.stderr == ""


def test_version(tmp_path):
    proc = run(["--version"], tmp_path)
    assert (proc.returncode, proc.stdout.strip()) == (0, "plainnet %s" % plainnet.__version__)


@pytest.mark.parametrize("args", [
    ["fly"],
    ["train", "people.csv", "-o", "m.json"],                                   # no --target
    ["train", "people.csv", "--target", "female"],                             # no -o
    ["train", "people.csv", "--target", "female", "-o", "m.json", "--epochs", "0"],
    ["train", "people.csv", "--target", "female", "-o", "m.json", "--hidden", "4,x"],
    ["train", "people.csv", "--target", "female", "-o", "m.json", "--validation-split", "1"],
    ["train", "people.csv", "--target", "female", "-o", "m.json", "--activation", "softmax"],
    ["export", "m.json"],                                                      # no --lang
    ["export", "m.json", "--lang", "python", "--name", "x"],
])
def test_usage_errors_exit_2(tmp_path, people, args):
    proc = run(args, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "usage:" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "m.json").exists()


# -- train, predict, evaluate, export, info --------------------------------

def test_train_predict_evaluate_export(tmp_path, people, backend):
    proc = run(["train", people, "--target", "female", "--hidden", "3", "--epochs", "300",
                "--seed", "1", "--backend", backend, "-o", "model.json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    net = plainnet.load(str(tmp_path / "model.json"), backend=backend)
    assert net.sizes == [2, 3, 1]
    header, rows = read_csv(PEOPLE_CSV)
    X = [[float(r[0]), float(r[1])] for r in rows]
    T = [float(r[2]) for r in rows]
    # a seeded network trained by the library directly, with the CLI's defaults
    # for a 0/1 column (binary classification), ends with the same weights
    twin = plainnet.Network([2, 3, 1], seed=1, backend=backend, activation="tanh",
                            output_activation="sigmoid", loss="binary_crossentropy", init="xavier")
    losses = twin.train(X, T, epochs=300, learning_rate=0.003, optimizer="adam", batch_size=16,
                        shuffle=True, scale=True)
    assert twin.weights == net.weights and twin.biases == net.biases
    assert proc.stdout.startswith("task: binary classification, '0' or '1' (column 'female': it holds "
                                  "two values)")
    assert "loss (binary_crossentropy) in the last epoch: %r" % losses[-1] in proc.stdout
    assert "validation" not in proc.stdout

    # predict: the input columns, then the predicted class and the probability, exactly as repr wrote it
    proc = run(["predict", "model.json", people, "--target", "female", "--backend", backend], tmp_path)
    assert proc.returncode == 0, proc.stderr
    out_header, out_rows = read_csv(proc.stdout)
    assert out_header == header + ["predicted_female", "p(female=1)"]
    assert [r[:3] for r in out_rows] == rows
    assert [float(r[4]) for r in out_rows] == [net.feedforward(x)[0] for x in X]
    assert [r[3] for r in out_rows] == ["1" if net.feedforward(x)[0] > 0.5 else "0" for x in X]
    # -o writes the same text to a file, and nothing to stdout
    proc2 = run(["predict", "model.json", people, "--target", "female", "-o", "out.csv"], tmp_path)
    assert proc2.returncode == 0 and proc2.stdout == ""
    assert (tmp_path / "out.csv").read_text() == proc.stdout

    # evaluate: loss, accuracy, confusion matrix (rows true, columns predicted)
    proc = run(["evaluate", "model.json", people, "--target", "female"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "loss (binary_crossentropy): %r" % net.loss(X, T) in proc.stdout
    predicted = [1 if net.feedforward(x)[0] > 0.5 else 0 for x in X]
    right = sum(p == t for p, t in zip(predicted, T))
    assert "accuracy: %.4f (%d of 6)" % (right / 6, right) in proc.stdout
    matrix = [[sum(1 for p, t in zip(predicted, T) if t == i and p == j) for j in (0, 1)] for i in (0, 1)]
    lines = proc.stdout.splitlines()
    k = lines.index("confusion matrix (rows: true class, columns: predicted class):")
    assert lines[k + 1].split() == ["0", "1"]
    for label in (0, 1):  # precision, recall, F1 and support of each class
        said = sum(p == label for p in predicted)
        actual = sum(t == label for t in T)
        hit = matrix[label][label]
        precision, recall = hit / said if said else 0.0, hit / actual
        f1 = 2 * precision * recall / (precision + recall) if hit else 0.0
        assert ("  %d      %9.4f  %6.4f  %6.4f  %7d" % (label, precision, recall, f1, actual)) in lines
    assert lines[k + 2].split() == ["0"] + [str(c) for c in matrix[0]]
    assert lines[k + 3].split() == ["1"] + [str(c) for c in matrix[1]]

    # export: the Python module gives the network's numbers
    proc = run(["export", "model.json", "--lang", "python", "-o", "model_export.py"], tmp_path)
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    namespace = {}
    code = compile((tmp_path / "model_export.py").read_text(), "model_export.py", "exec")
    exec(code, namespace)
    assert [namespace["predict"](x) for x in X] == [net.feedforward(x) for x in X]
    proc = run(["export", "model.json", "--lang", "c", "--name", "people"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == net.export_c("people")
    assert "void people_predict(const double *input, double *output)" in proc.stdout


def test_train_optimizer_batches_shuffle_init_early_stopping(tmp_path, people):
    proc = run(["train", people, "--target", "female", "--hidden", "5", "--epochs", "80",
                "--learning-rate", "0.02", "--seed", "4", "--optimizer", "adam", "--batch-size", "2",
                "--shuffle", "--init", "xavier", "--validation-split", "0.34", "--no-scale",
                "--activation", "sigmoid", "--loss", "mse",
                "--early-stopping", "5", "--quiet", "-o", "model.json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    net = plainnet.load(str(tmp_path / "model.json"))
    _, rows = read_csv(PEOPLE_CSV)
    X = [[float(r[0]), float(r[1])] for r in rows]
    T = [float(r[2]) for r in rows]
    twin = plainnet.Network([2, 5, 1], seed=4, init="xavier")
    twin.train(X, T, epochs=80, learning_rate=0.02, optimizer="adam", batch_size=2, shuffle=True,
               validation_split=0.34, early_stopping=5)
    assert twin.weights == net.weights and twin.biases == net.biases
    assert net.to_dict()["training"]["optimizer"]["name"] == "adam"


def test_train_options_validation_split_and_scale(tmp_path, people):
    proc = run(["train", people, "--target", "female", "--hidden", "4,3", "--activation", "tanh",
                "--loss", "binary_crossentropy", "--epochs", "50", "--learning-rate", "0.05",
                "--seed", "3", "--validation-split", "0.34", "--scale", "--quiet", "-o", "model.json",
                "--optimizer", "sgd", "--batch-size", "1", "--no-shuffle", "--init", "normal"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # --quiet: no progress
    net = plainnet.load(str(tmp_path / "model.json"))
    assert net.sizes == [2, 4, 3, 1]
    assert net.activations == ["tanh", "tanh", "sigmoid"]
    assert net.loss_name == "binary_crossentropy"
    _, rows = read_csv(PEOPLE_CSV)
    X = [[float(r[0]), float(r[1])] for r in rows]
    T = [float(r[2]) for r in rows]
    twin = plainnet.Network([2, 4, 3, 1], seed=3, activation="tanh", output_activation="sigmoid",
                            loss="binary_crossentropy")
    history = twin.train(X, T, epochs=50, learning_rate=0.05, validation_split=0.34, scale=True)
    assert twin.weights == net.weights
    assert net.scaler is not None
    assert (net.scaler.mean, net.scaler.scale) == (twin.scaler.mean, twin.scaler.scale)
    assert "loss (binary_crossentropy) in the last epoch: %r" % history[-1] in proc.stdout
    assert "validation loss (binary_crossentropy): %r" % history.val_loss[-1] in proc.stdout
    # the held-out rows are the last ones: their loss, measured afresh, is the one reported
    n_val = len(X) - int(len(X) * (1 - 0.34))
    assert history.val_loss[-1] == net.loss(X[-n_val:], T[-n_val:])


def test_validation_split_too_large_for_the_data(tmp_path, people):
    proc = run(["train", people, "--target", "female", "--validation-split", "0.99", "-o", "m.json"], tmp_path)
    assert_one_line_error(proc, "validation_split")
    assert not (tmp_path / "m.json").exists()


def test_one_hot_classification(tmp_path):
    data = tmp_path / "points.csv"
    lines = ["x,y,left,right"]
    for k in range(8):
        x = (k - 3.5) / 2.0
        lines.append("%r,%r,%d,%d" % (x, k % 3 - 1.0, x < 0, x >= 0))
    data.write_text("\n".join(lines) + "\n")
    proc = run(["train", data, "--target", "left", "--target", "right", "--hidden", "none",
                "--epochs", "200", "--learning-rate", "0.05", "--seed", "2",
                "-o", "m.json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    net = plainnet.load(str(tmp_path / "m.json"))
    assert (net.sizes, net.activations) == ([2, 2], ["softmax"])
    proc = run(["evaluate", "m.json", data, "--target", "left", "--target", "right"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "accuracy: 1.0000 (8 of 8)" in proc.stdout
    lines = proc.stdout.splitlines()
    k = lines.index("confusion matrix (rows: true class, columns: predicted class):")
    assert [l.split() for l in lines[k + 1:k + 4]] == [["left", "right"], ["left", "4", "0"], ["right", "0", "4"]]
    proc = run(["predict", "m.json", data, "--target", "left", "--target", "right"], tmp_path)
    header, rows = read_csv(proc.stdout)
    assert header == ["x", "y", "left", "right", "predicted_class", "p(left)", "p(right)"]
    assert [r[4] for r in rows] == ["left"] * 4 + ["right"] * 4


def test_regression_evaluate_has_no_accuracy(tmp_path):
    data = tmp_path / "line.csv"
    data.write_text("x,y\n0,0.5\n1,1.5\n2,2.5\n")
    assert run(["train", data, "--target", "y", "--hidden", "none", "--early-stopping", "0",
                "--epochs", "20", "--seed", "0", "--quiet", "-o", "m.json"], tmp_path).returncode == 0
    proc = run(["evaluate", "m.json", data, "--target", "y"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "loss (mse, standardised targets): " in proc.stdout and "accuracy" not in proc.stdout
    net = plainnet.load(str(tmp_path / "m.json"))
    p = [y for (y,) in net.predict([[0.0], [1.0], [2.0]])]
    mse = sum((a - b) ** 2 for a, b in zip([0.5, 1.5, 2.5], p)) / 3
    mae = sum(abs(a - b) for a, b in zip([0.5, 1.5, 2.5], p)) / 3
    assert "mse: %.6g" % mse in proc.stdout and "mae: %.6g" % mae in proc.stdout
    assert "r2: %.4f" % (1 - mse * 3 / 2.0) in proc.stdout  # the targets' sum of squares is 2


def test_info(tmp_path, people):
    proc = run(["info"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "plainnet %s" % plainnet.__version__ in proc.stdout
    assert "backends: %s (default: %s)" % (", ".join(plainnet.available_backends()),
                                            plainnet.get_backend()) in proc.stdout
    if "c" not in plainnet.available_backends():
        assert "C backend: not available" in proc.stdout
    plainnet.Network([2, 5, 3], seed=0, activation="relu", output_activation="softmax",
                     loss="categorical_crossentropy").save(str(tmp_path / "m.json"))
    proc = run(["info", "m.json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "sizes: [2, 5, 3]" in proc.stdout
    assert "2 inputs -> 5 relu -> 3 softmax" in proc.stdout
    assert "loss: categorical_crossentropy" in proc.stdout
    assert "parameters: 33" in proc.stdout  # 2*5 + 5 + 5*3 + 3


# -- failures: one line, naming the file, row and column --------------------

BAD_CSVS = [
    ("a,b,y\n1,2,1\n3,abc,0\n", ["row 3", "column 'b'", "'abc' is not a number"]),
    ("a,b,y\n1,2,1\n\n3,,0\n", ["row 4", "column 'b'", "empty cell"]),
    ("a,b,y\n1,2,1\n3,nan,0\n", ["row 3", "column 'b'", "'nan' is not a finite number"]),
    ("a,b,y\n1,2,1\n3,-inf,0\n", ["row 3", "column 'b'", "not a finite number"]),
    ("a,b,y\n1,2,x\n", ["target column 'y' holds one value only"]),
    ("a,b,y\n1,x,1\n2,3,0\n", ["row 2", "column 'b'", "'x' is not a number"]),
    ("a,,y\n1,2,1\n2,3,0\n", ["row 1", "column 2 has no name", "--ignore ''"]),
    ("a,b,y\n1,2,1\n3,4\n", ["row 3", "2 cells", "3 columns"]),
    ("a,b,y\n1,2,1,5\n", ["row 2", "4 cells"]),
    ("1,2,3\n4,5,6\n", ["row 1", "header"]),
    ("", ["empty"]),
    ("\n\n", ["empty"]),
    ("a,b,y\n", ["no data rows"]),
    ("a,b,c\n1,2,3\n", ["no column 'y'"]),
    ("a,a,y\n1,2,3\n", ["row 1", "'a' appears twice"]),
    ('a,b,y\n1,2,1\n"3,4,0\n', ["malformed CSV"]),
]


@pytest.mark.parametrize("text, fragments", BAD_CSVS)
def test_bad_csv(tmp_path, text, fragments):
    (tmp_path / "data.csv").write_text(text)
    proc = run(["train", "data.csv", "--target", "y", "--quiet", "-o", "m.json"], tmp_path)
    assert_one_line_error(proc, "data.csv", *fragments)
    assert not (tmp_path / "m.json").exists()


def test_bad_csv_in_predict_and_evaluate(tmp_path, people):
    plainnet.Network([1, 1], seed=0).save(str(tmp_path / "m.json"))
    (tmp_path / "data.csv").write_text("a,y\n1,1\n2,oops\n")
    proc = run(["evaluate", "m.json", "data.csv", "--target", "y"], tmp_path)
    assert_one_line_error(proc, "data.csv, row 3, column 'y': 'oops' is not a number")
    # predict reads only the inputs: y, named as not an input, may hold anything
    proc = run(["predict", "m.json", "data.csv", "--target", "y"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert read_csv(proc.stdout)[1][1][:2] == ["2", "oops"]
    proc = run(["predict", "m.json", "data.csv"], tmp_path)
    assert_one_line_error(proc, "data.csv", "2 input column(s)", "takes 1", "--target")
    proc = run(["evaluate", "m.json", people, "--target", "female", "--target", "height"], tmp_path)
    assert_one_line_error(proc, "1 output(s)", "2 target column(s)")


def test_missing_files(tmp_path):
    proc = run(["train", "nowhere.csv", "--target", "y", "-o", "m.json"], tmp_path)
    assert_one_line_error(proc, "nowhere.csv: no such file")
    proc = run(["predict", "nomodel.json", "nowhere.csv"], tmp_path)
    assert_one_line_error(proc, "nomodel.json: no such file")
    proc = run(["info", "nomodel.json"], tmp_path)
    assert_one_line_error(proc, "nomodel.json: no such file")


@pytest.mark.parametrize("text, fragment, command", [
    ('{"format": "other"}', "not a plainnet model", ["info", "m.json"]),
    ("{not json", "not valid JSON", ["predict", "m.json", "people.csv"]),
    ('{"format": "plainnet", "version": 1}', "missing field(s)", ["export", "m.json", "--lang", "c"]),
    ('{"format": "plainnet", "version": 1}', "missing field(s)", ["evaluate", "m.json", "people.csv",
                                                                 "--target", "female"]),
])
def test_bad_model_file(tmp_path, people, text, fragment, command):
    (tmp_path / "m.json").write_text(text)
    assert_one_line_error(run(command, tmp_path), "m.json", fragment)


def test_debug_shows_the_traceback(tmp_path):
    (tmp_path / "data.csv").write_text("a,y\nx,1\n2,0\n")
    proc = run(["train", "data.csv", "--target", "y", "--debug", "-o", "m.json"], tmp_path)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "'x' is not a number" in proc.stderr
    proc = run(["--debug", "train", "data.csv", "--target", "y", "-o", "m.json"], tmp_path)
    assert proc.returncode == 1 and "Traceback" in proc.stderr


def test_unwritable_output_fails_before_training(tmp_path, people):
    proc = run(["train", people, "--target", "female", "--epochs", "1000000",
                "-o", tmp_path / "no" / "such" / "m.json"], tmp_path, timeout=20)
    assert_one_line_error(proc, "does not exist")


def test_divergence_writes_nothing(tmp_path, people):
    proc = run(["train", people, "--target", "female", "--hidden", "20,20", "--activation", "relu",
                "--output-activation", "linear", "--loss", "mse", "--learning-rate", "1e6", "--seed", "0", "--quiet",
                "--optimizer", "sgd", "--batch-size", "1", "--no-scale", "--init", "normal",
                "-o", "m.json"], tmp_path)
    assert_one_line_error(proc, "diverged")
    assert not (tmp_path / "m.json").exists()


def test_softmax_with_one_target_is_refused(tmp_path, people):
    proc = run(["train", people, "--target", "female", "--loss", "categorical_crossentropy",
                "-o", "m.json"], tmp_path)
    assert_one_line_error(proc, "softmax output needs two or more outputs")


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs POSIX signals")
def test_ctrl_c_exits_130_and_writes_nothing(tmp_path, people):
    proc = subprocess.Popen(
        [sys.executable, "-m", "plainnet", "train", str(people), "--target", "female",
         "--epochs", "1000000", "-o", "m.json"],
        cwd=str(tmp_path), env=env_with_package(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True,
    )
    try:
        first = proc.stderr.readline()  # "training ...": the training loop is about to run
        assert first.startswith("training "), first
        time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[-1] == "plainnet: interrupted; no model was written"
    assert all(l.startswith("epoch ") for l in lines[:-1])  # progress, on a fast backend
    assert not (tmp_path / "m.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["people.csv"]


def test_model_remembers_its_columns(tmp_path, people):
    """A model written by `plainnet train` knows its columns: predict and evaluate
    find them by name, whatever else the CSV holds and in whatever order."""
    assert run(["train", people, "--target", "female", "--hidden", "3", "--epochs", "200",
                "--seed", "2", "--quiet", "-o", "m.json"], tmp_path).returncode == 0
    net = plainnet.load(str(tmp_path / "m.json"))
    assert net.column_names == {"inputs": ["weight", "height"], "outputs": ["female=1"]}
    assert net.classes == {"column": "female", "classes": ["0", "1"]}
    # The training file itself, without --target:
    proc = run(["predict", "m.json", people], tmp_path)
    assert proc.returncode == 0, proc.stderr
    header, rows = read_csv(proc.stdout)
    assert header == ["weight", "height", "female", "predicted_female", "p(female=1)"]
    assert [float(r[4]) for r in rows] == [net.feedforward([float(r[0]), float(r[1])])[0] for r in rows]
    # Columns shuffled and an extra one: still found by name.
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("id,height,female,weight\n" + "".join(
        "%d,%s,%s,%s\n" % (k, r[1], r[2], r[0]) for k, r in enumerate(rows)))
    proc = run(["predict", "m.json", shuffled], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [float(r[5]) for r in read_csv(proc.stdout)[1]] == [float(r[4]) for r in rows]
    proc = run(["evaluate", "m.json", shuffled], tmp_path)
    assert proc.returncode == 0, proc.stderr
    X = [[float(r[0]), float(r[1])] for r in rows]
    T = [float(r[2]) for r in rows]
    assert "loss (binary_crossentropy): %r" % net.loss(X, T) in proc.stdout
    # A file without one of the model's inputs names it.
    partial = tmp_path / "partial.csv"
    partial.write_text("weight,female\n1,0\n")
    assert_one_line_error(run(["predict", "m.json", partial], tmp_path), "partial.csv", "no column 'height'")
    # Without target columns, evaluate says so.
    nolabels = tmp_path / "nolabels.csv"
    nolabels.write_text("weight,height\n1,2\n")
    assert_one_line_error(run(["evaluate", "m.json", nolabels], tmp_path), "nolabels.csv",
                          "no target columns", "--target")
