"""Right answers on real data (issue #15): scikit-learn's bundled data sets,
written to CSV here, through the command line with its defaults and through
the API as pandas, numpy and torch users hold them.

The oracles are scikit-learn's: MLPClassifier with default settings in a
StandardScaler pipeline for the classification sets, LinearRegression for
diabetes, and sklearn.metrics for every number ``evaluate`` prints.
"""

import contextlib
import io
import json
import os
import re
import time
import warnings

import pytest

import plainnet
from plainnet import cli

sklearn = pytest.importorskip("sklearn", reason="the real-data oracles need scikit-learn "
                                                "(pip install scikit-learn)")
pd = pytest.importorskip("pandas", reason="the real-data tests write and read data with pandas "
                                          "(pip install pandas)")
np = pytest.importorskip("numpy", reason="needs numpy")

from sklearn import datasets  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.metrics import (accuracy_score, confusion_matrix, mean_absolute_error,  # noqa: E402
                             mean_squared_error, precision_recall_fscore_support, r2_score)
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

BACKENDS = plainnet.available_backends()
SETS = ("iris", "wine", "breast_cancer", "diabetes")
TIMES = {}  # seconds each CLI training took, reported at the end of the module


def load(name):
    """The data set as a DataFrame whose last column is 'target' (iris: species names)."""
    bunch = getattr(datasets, "load_" + name)(as_frame=True)
    frame = bunch.frame.copy()
    if name == "iris":
        frame["target"] = [str(bunch.target_names[t]) for t in bunch.target]
    return frame


def split(name):
    """Stratified 75/25 split (diabetes: stratified by target quartile), seed 0."""
    frame = load(name)
    strata = frame["target"] if name != "diabetes" else pd.qcut(frame["target"], 4, labels=False)
    return train_test_split(frame, test_size=0.25, stratify=strata, random_state=0)


def run(argv):
    """``plainnet ARGV`` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def ok(argv):
    status, out, err = run(argv)
    assert status == 0, (out, err)
    return out


def fails(argv, *fragments):
    status, out, err = run(argv)
    assert status == 1, (out, err)
    line = err.strip()
    assert "\n" not in line and line.startswith("plainnet: error: "), err
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def value(text, key):
    """The number after 'KEY: ' in ``text``."""
    match = re.search(r"^%s: (\S+)" % re.escape(key), text, re.M)
    assert match, (key, text)
    return float(match.group(1))


def write(frame, path):
    frame.to_csv(path, index=False)
    return path


def sklearn_reference(name, train, test):
    if name == "diabetes":
        X, Xt = train.drop(columns="target"), test.drop(columns="target")
        return r2_score(test["target"], LinearRegression().fit(X, train["target"]).predict(Xt))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLPClassifier's default 200 iterations may not converge
        model = make_pipeline(StandardScaler(), MLPClassifier(random_state=0))
        model.fit(train.drop(columns="target"), train["target"])
    return model.score(test.drop(columns="target"), test["target"])


# -- the defaults' scores ------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", SETS)
def test_defaults_reach_sklearn(tmp_path, name, backend):
    """Nothing but --target: within 0.03 accuracy of MLPClassifier, and R² >= 0.30 on diabetes.

    Both backends run every set: the pure-Python one takes at most a few
    seconds per set (breast_cancer, the largest, about 8 s)."""
    train, test = split(name)
    train_csv, test_csv = write(train, tmp_path / "train.csv"), write(test, tmp_path / "test.csv")
    start = time.monotonic()
    ok(["train", train_csv, "--target", "target", "--backend", backend, "--quiet", "-o", tmp_path / "m.json"])
    TIMES[name, backend] = time.monotonic() - start
    report = ok(["evaluate", tmp_path / "m.json", test_csv, "--backend", backend])
    reference = sklearn_reference(name, train, test)
    predicted = pd.read_csv(io.StringIO(ok(["predict", tmp_path / "m.json", test_csv,
                                            "--backend", backend])))
    if name == "diabetes":
        r2 = r2_score(test["target"], predicted["predicted_target"])
        assert value(report, "r2") == pytest.approx(r2, abs=5e-5)
        assert value(report, "mse") == pytest.approx(mean_squared_error(test["target"], predicted["predicted_target"]), rel=1e-5)
        assert value(report, "mae") == pytest.approx(mean_absolute_error(test["target"], predicted["predicted_target"]), rel=1e-5)
        print("%s (%s): R² %.4f, linear regression %.4f" % (name, backend, r2, reference))
        assert r2 >= 0.30
        return
    truth = test["target"].astype(str).tolist()
    guess = predicted["predicted_target"].astype(str).tolist()
    accuracy = accuracy_score(truth, guess)
    assert value(report, "accuracy") == pytest.approx(accuracy, abs=5e-5)
    print("%s (%s): accuracy %.4f, MLPClassifier %.4f" % (name, backend, accuracy, reference))
    assert accuracy >= reference - 0.03


@pytest.mark.skipif("c" not in BACKENDS, reason="compares the two backends: needs the C backend")
def test_defaults_give_the_same_model_on_both_backends(tmp_path):
    train, _ = split("wine")
    data = write(train, tmp_path / "wine.csv")
    for backend in ("python", "c"):
        ok(["train", data, "--target", "target", "--backend", backend, "--quiet", "-o", tmp_path / (backend + ".json")])
    models = [json.loads((tmp_path / (b + ".json")).read_text()) for b in ("python", "c")]
    assert models[0] == models[1]


def test_evaluate_metrics_are_sklearns(tmp_path):
    """Per-class precision, recall, F1 and the confusion matrix, against sklearn.metrics."""
    train, test = split("iris")
    ok(["train", write(train, tmp_path / "train.csv"), "--target", "target", "--epochs", "10",
        "--quiet", "-o", tmp_path / "m.json"])  # ten epochs: a few mistakes to count
    test_csv = write(test, tmp_path / "test.csv")
    report = ok(["evaluate", tmp_path / "m.json", test_csv])
    guess = pd.read_csv(io.StringIO(ok(["predict", tmp_path / "m.json", test_csv])))["predicted_target"]
    classes = ["setosa", "versicolor", "virginica"]
    p, r, f, support = precision_recall_fscore_support(test["target"], guess, labels=classes, zero_division=0)
    for k, c in enumerate(classes):
        row = re.search(r"^  %s\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)$" % c, report, re.M).groups()
        assert [float(v) for v in row[:3]] == pytest.approx([p[k], r[k], f[k]], abs=5e-5)
        assert int(row[3]) == support[k]
    matrix = confusion_matrix(test["target"], guess, labels=classes)
    lines = report.split("confusion matrix")[1].splitlines()[2:5]
    assert [[int(v) for v in line.split()[1:]] for line in lines] == matrix.tolist()


# -- task inference --------------------------------------------------------------

def _task_line(tmp_path, frame, *extra):
    out = ok(["train", write(frame, tmp_path / "d.csv"), "--epochs", "2", "--quiet",
              "-o", tmp_path / "m.json"] + list(extra))
    return out.splitlines()[0], plainnet.load(tmp_path / "m.json")


def test_task_inference(tmp_path):
    iris = load("iris")
    line, net = _task_line(tmp_path, iris, "--target", "target")
    assert line.startswith("task: classification into 3 classes") and "holds text" in line
    assert net.activations[-1] == "softmax" and net.loss_name == "categorical_crossentropy"
    assert net.classes == {"column": "target", "classes": ["setosa", "versicolor", "virginica"]}
    assert net.column_names["outputs"] == ["target=setosa", "target=versicolor", "target=virginica"]

    numbered = load("wine")  # classes 0, 1, 2 as integers
    line, net = _task_line(tmp_path, numbered, "--target", "target")
    assert "3 distinct integers" in line and net.classes["classes"] == ["0", "1", "2"]

    line, net = _task_line(tmp_path, load("breast_cancer"), "--target", "target")
    assert line.startswith("task: binary classification") and "two values" in line
    assert (net.sizes[-1], net.activations[-1], net.loss_name) == (1, "sigmoid", "binary_crossentropy")
    assert net.classes["classes"] == ["0", "1"]

    line, net = _task_line(tmp_path, load("diabetes"), "--target", "target", "--early-stopping", "0")
    assert line.startswith("task: regression") and "214 distinct integers" in line
    assert (net.activations[-1], net.loss_name) == ("linear", "mse")
    target = load("diabetes")["target"]  # without early stopping, every row is a training row
    assert net.target_scaler.mean[0] == pytest.approx(target.mean(), rel=1e-12)
    assert net.target_scaler.scale[0] == pytest.approx(target.std(ddof=0), rel=1e-12)

    dummies = pd.concat([iris.drop(columns="target"), pd.get_dummies(iris["target"]).astype(int)], axis=1)
    line, net = _task_line(tmp_path, dummies, "--target", "setosa", "--target", "versicolor",
                           "--target", "virginica")
    assert "one-hot" in line and net.activations[-1] == "softmax" and net.classes is None

    labels = iris.drop(columns="target").assign(long=(iris["sepal length (cm)"] > 5.8).astype(int),
                                                wide=(iris["sepal width (cm)"] > 3.0).astype(int))
    line, net = _task_line(tmp_path, labels.drop(columns=["sepal length (cm)", "sepal width (cm)"]),
                           "--target", "long", "--target", "wide")
    assert line.startswith("task: multi-label") and net.loss_name == "binary_crossentropy"
    assert net.sizes[-1] == 2 and net.activations[-1] == "sigmoid"

    line, net = _task_line(tmp_path, numbered, "--target", "target", "--task", "regress")
    assert line.startswith("task: regression") and "--task regress" in line and net.sizes[-1] == 1
    fails(["train", tmp_path / "missing.csv", "--target", "x", "-o", tmp_path / "m.json"], "no such file")
    write(iris, tmp_path / "iris.csv")
    fails(["train", tmp_path / "iris.csv", "--target", "target", "--task", "regress", "--quiet",
           "-o", tmp_path / "m.json"], "'setosa' is not a number")


def test_binary_labels_are_kept_and_written_back(tmp_path):
    frame = load("breast_cancer")
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    ok(["train", write(frame, tmp_path / "bc.csv"), "--target", "target", "--epochs", "20", "--quiet",
        "-o", tmp_path / "m.json"])
    net = plainnet.load(tmp_path / "m.json")
    assert net.classes["classes"] == ["benign", "malignant"]
    out = pd.read_csv(io.StringIO(ok(["predict", tmp_path / "m.json", tmp_path / "bc.csv"])))
    p = out["p(target=malignant)"]
    assert list(out["predicted_target"]) == ["malignant" if v > 0.5 else "benign" for v in p]
    assert accuracy_score(frame["target"], out["predicted_target"]) > 0.9


# -- names in and out ---------------------------------------------------------------

def test_columns_are_found_by_name(tmp_path):
    train, test = split("wine")
    ok(["train", write(train, tmp_path / "train.csv"), "--target", "target", "--epochs", "20",
        "--quiet", "-o", tmp_path / "m.json"])
    plain = ok(["evaluate", tmp_path / "m.json", write(test, tmp_path / "test.csv")])
    columns = list(test.columns)
    shuffled = test[columns[::-1]].assign(extra=1.0)  # reversed, and a column the model does not know
    moved = write(shuffled, tmp_path / "moved.csv")
    assert ok(["evaluate", tmp_path / "m.json", moved]) == plain
    assert ok(["evaluate", tmp_path / "m.json", moved, "--target", "target"]) == plain
    a = pd.read_csv(io.StringIO(ok(["predict", tmp_path / "m.json", tmp_path / "test.csv"])))
    b = pd.read_csv(io.StringIO(ok(["predict", tmp_path / "m.json", moved])))
    assert list(a["predicted_target"]) == list(b["predicted_target"])
    assert list(a.columns[-4:]) == ["predicted_target", "p(target=0)", "p(target=1)", "p(target=2)"]
    # --features picks the inputs; --ignore leaves columns out
    ok(["train", tmp_path / "train.csv", "--target", "target", "--features", "alcohol,proline",
        "--epochs", "2", "--quiet", "-o", tmp_path / "two.json"])
    assert plainnet.load(tmp_path / "two.json").column_names["inputs"] == ["alcohol", "proline"]
    ok(["train", tmp_path / "train.csv", "--target", "target", "--ignore", "alcohol",
        "--epochs", "2", "--quiet", "-o", tmp_path / "less.json"])
    assert plainnet.load(tmp_path / "less.json").column_names["inputs"] == columns[1:-1]
    fails(["evaluate", tmp_path / "m.json", write(test.drop(columns="proline"), tmp_path / "short.csv")],
          "no column 'proline'")


# -- refusals ------------------------------------------------------------------------

def test_outputs_over_inputs_are_refused(tmp_path):
    data = write(load("iris"), tmp_path / "d.csv")
    before = data.read_bytes()
    fails(["train", data, "--target", "target", "-o", data], "is the input file")
    os.symlink(str(data), str(tmp_path / "link.csv"))
    fails(["train", data, "--target", "target", "-o", tmp_path / "link.csv"], "is the input file")
    ok(["train", data, "--target", "target", "--epochs", "1", "--quiet", "-o", tmp_path / "m.json"])
    model = (tmp_path / "m.json").read_bytes()
    fails(["predict", tmp_path / "m.json", data, "-o", tmp_path / "m.json"], "is the input file")
    fails(["predict", tmp_path / "m.json", data, "-o", tmp_path / "link.csv"], "is the input file")
    fails(["export", tmp_path / "m.json", "--lang", "python", "-o", tmp_path / "m.json"], "is the input file")
    assert data.read_bytes() == before and (tmp_path / "m.json").read_bytes() == model


def test_headers_with_empty_or_repeated_names_are_refused(tmp_path):
    frame = load("iris")
    frame.to_csv(tmp_path / "indexed.csv")  # pandas' default: an unnamed index column first
    line = fails(["train", tmp_path / "indexed.csv", "--target", "target", "-o", tmp_path / "m.json"],
                 "column 1 has no name", "index=False", "--ignore ''")
    ok(["train", tmp_path / "indexed.csv", "--target", "target", "--ignore", "", "--epochs", "1",
        "--quiet", "-o", tmp_path / "m.json"])
    assert plainnet.load(tmp_path / "m.json").sizes[0] == 4
    (tmp_path / "blank.csv").write_text("a,,,y\n1,2,3,0\n2,3,4,1\n")
    fails(["train", tmp_path / "blank.csv", "--target", "y", "-o", tmp_path / "m.json"], "column 2 has no name")
    (tmp_path / "twice.csv").write_text("a,b,a,y\n1,2,3,0\n2,3,4,1\n")
    fails(["train", tmp_path / "twice.csv", "--target", "y", "-o", tmp_path / "m.json"], "'a' appears twice")
    fails(["train", tmp_path / "twice.csv", "--target", "y", "--ignore", "nope", "-o", tmp_path / "m.json"],
          "--ignore names no column 'nope'")
    assert line


@pytest.mark.parametrize("backend", BACKENDS)
def test_crossentropy_targets_are_checked(backend):
    net = plainnet.Network([2, 1], seed=0, backend=backend, loss="binary_crossentropy")
    before = net.weights
    with pytest.raises(ValueError, match=r"row 1, column 0 is 2.0: binary_crossentropy needs targets in \[0, 1\]"):
        net.train([[0.0, 1.0], [1.0, 0.0]], [0.0, 2.0], epochs=1)
    with pytest.raises(ValueError, match=r"is -1.0: binary_crossentropy"):
        net.loss([[0.0, 1.0]], [-1.0])
    soft = plainnet.Network([2, 3], seed=0, backend=backend, output_activation="softmax",
                            loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="row 0 sums to 2.0: categorical_crossentropy needs each row to sum to 1"):
        soft.train([[0.0, 1.0]], [[1.0, 1.0, 0.0]], epochs=1)
    with pytest.raises(ValueError, match="validation targets row 0 sums to 0.5"):
        soft.train([[0.0, 1.0]], [[1.0, 0.0, 0.0]], epochs=1,
                   validation_data=([[1.0, 1.0]], [[0.5, 0.0, 0.0]]))
    assert net.weights == before and soft.epochs_trained == 0
    assert soft.loss([[0.0, 1.0]], [[0.2, 0.3, 0.5]]) > 0.0  # probabilities are fine


@pytest.mark.parametrize("backend", BACKENDS)
def test_softmax_over_one_output_is_refused(tmp_path, backend):
    with pytest.raises(ValueError, match="softmax output needs two or more outputs"):
        plainnet.Network([2, 1], backend=backend, output_activation="softmax", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="softmax output needs two or more outputs"):
        plainnet.Network.from_weights([[[1.0, 2.0]]], [[0.0]], backend=backend, output_activation="softmax")
    d = plainnet.Network([2, 2], seed=0, backend=backend, output_activation="softmax").to_dict()
    d["sizes"], d["weights"], d["biases"] = [2, 1], [[[1.0, 2.0]]], [[0.0]]
    with pytest.raises(plainnet.ModelFileError, match="softmax output needs two or more outputs"):
        plainnet.Network.from_dict(d)
    frame = load("breast_cancer")
    fails(["train", write(frame, tmp_path / "bc.csv"), "--target", "target", "--output-activation",
           "softmax", "-o", tmp_path / "m.json"], "softmax output needs two or more outputs")


# -- the API takes data as users have it ------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_dataframes_and_series(backend):
    frame = load("wine")
    X = frame.drop(columns="target")
    y = (frame["target"] == 0).astype(float).rename("first")
    net = plainnet.Network([13, 4, 1], seed=1, backend=backend, activation="tanh", init="xavier",
                           output_activation="sigmoid", loss="binary_crossentropy")
    history = net.train(X, y, epochs=5, optimizer="adam", learning_rate=0.01, batch_size=16, scale=True)
    assert net.column_names == {"inputs": list(X.columns), "outputs": ["first"]}
    twin = plainnet.Network([13, 4, 1], seed=1, backend=backend, activation="tanh", init="xavier",
                            output_activation="sigmoid", loss="binary_crossentropy")
    assert twin.train(X.to_numpy().tolist(), y.tolist(), epochs=5, optimizer="adam", learning_rate=0.01,
                      batch_size=16, scale=True) == history
    expected = twin.predict(X.to_numpy())
    assert net.predict(X) == expected
    assert net.predict(X[list(X.columns)[::-1]]) == expected  # found by name
    assert net.predict(X.assign(other=1.0)) == expected  # extra columns are left alone
    assert net.loss(X, y) == twin.loss(X.to_numpy(), y.to_numpy())
    assert net.loss(X, y.to_frame()) == net.loss(X, y)
    assert net.feedforward(X.iloc[3]) == expected[3]
    assert net.fit_scaler(X).mean == pytest.approx(list(X.mean()), rel=1e-12)
    with pytest.raises(ValueError, match=r"lacks the column\(s\) 'proline'"):
        net.predict(X.drop(columns="proline"))
    with pytest.raises(TypeError, match=r"column 'alcohol' holds text \('strong'"):
        net.predict(X.assign(alcohol="strong"))
    with pytest.raises(ValueError, match="column 'ash' is a missing value"):
        net.predict(X.assign(ash=[None] + [1.0] * (len(X) - 1)))
    with pytest.raises(TypeError, match="targets\\[0\\] holds text") as info:
        net.train(X, frame["target"].map({0: "a", 1: "b", 2: "c"}), epochs=1)
    assert "flat sequence" not in str(info.value) and "get_dummies" in str(info.value)
    with pytest.raises(TypeError, match="targets hold text"):
        net.train(X, ["a"] * len(X), epochs=1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bool_arrays_and_get_dummies(backend):
    iris = load("iris")
    X = iris.drop(columns="target")
    onehot = pd.get_dummies(iris["target"])  # bool columns
    assert all(dtype == bool for dtype in onehot.dtypes)
    net = plainnet.Network([4, 3], seed=0, backend=backend, output_activation="softmax",
                           loss="categorical_crossentropy")
    net.train(X, onehot, epochs=3, scale=True)
    assert net.column_names["outputs"] == ["setosa", "versicolor", "virginica"]
    assert net.loss(X, onehot) == net.loss(X.to_numpy(), onehot.to_numpy().astype(float))
    assert net.loss(X, onehot.to_numpy()) == net.loss(X, onehot.to_numpy().astype(float))


@pytest.mark.parametrize("backend", BACKENDS)
def test_torch_tensors(backend):
    torch = pytest.importorskip("torch", reason="needs torch (pip install torch)")
    net = plainnet.Network([3, 2, 1], seed=0, backend=backend)
    rows = [[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]]
    expected = net.predict(rows)
    assert net.predict(torch.tensor(rows, dtype=torch.float64)) == expected
    assert net.predict(torch.tensor(rows, dtype=torch.float64, requires_grad=True)) == expected
    assert net.predict(torch.tensor(rows, dtype=torch.float32)) == net.predict(
        np.array(rows, dtype=np.float32))
    assert net.feedforward(torch.tensor(rows[0], dtype=torch.float64)) == expected[0]
    assert net.loss(torch.tensor(rows, dtype=torch.float64), torch.tensor([0.0, 1.0])) == net.loss(rows, [0.0, 1.0])
    assert net.predict(torch.tensor([[True, False, True]])) == net.predict([[1.0, 0.0, 1.0]])


def test_polars_frames():
    pl = pytest.importorskip("polars", reason="polars is not installed")
    net = plainnet.Network([2, 1], seed=0)
    frame = pl.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    net.train(frame, pl.Series("y", [0.0, 1.0]), epochs=2)
    assert net.column_names == {"inputs": ["a", "b"], "outputs": ["y"]}
    assert net.predict(frame) == net.predict([[1.0, 3.0], [2.0, 4.0]])


def test_float64_arrays_are_still_read_in_place():
    from plainnet._data import as_rows
    a = np.arange(12.0).reshape(4, 3)
    rows = as_rows(a, 3)
    assert rows.buffer is not None and rows.buffer.obj is a
    frame = pd.DataFrame(a, columns=["x", "y", "z"])
    assert as_rows(frame, 3).buffer is not None  # a DataFrame is made C-contiguous once


# -- early stopping -----------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_early_stopping_keeps_and_reports_the_restored_epoch(tmp_path, backend):
    train, _ = split("wine")
    train_csv = write(train, tmp_path / "train.csv")
    out = ok(["train", train_csv, "--target", "target", "--validation-split", "0.25",
              "--early-stopping", "3", "--learning-rate", "0.05", "--backend", backend, "--quiet",
              "-o", tmp_path / "m.json"])
    match = re.search(r"stopped early at epoch (\d+); restored the weights of epoch (\d+)", out)
    assert match, out
    stopped, restored = int(match.group(1)), int(match.group(2))
    assert stopped - restored == 3
    printed = value(out, "validation loss (categorical_crossentropy)")
    assert "loss (categorical_crossentropy) in epoch %d: " % restored in out
    held = train.iloc[int(len(train) * 0.75):]  # the last quarter is held out
    again = ok(["evaluate", tmp_path / "m.json", write(held, tmp_path / "held.csv"), "--backend", backend])
    assert value(again, "loss (categorical_crossentropy)") == printed  # the saved weights' loss

    X, y = train.drop(columns="target").to_numpy(), (train["target"] == 1).to_numpy()
    net = plainnet.Network([13, 8, 1], seed=2, backend=backend, loss="binary_crossentropy")
    history = net.train(X, y, epochs=300, learning_rate=0.5, validation_split=0.3, early_stopping=4, scale=True)
    assert history.stopped_early and history.restored_epoch == history.best_epoch
    assert history.val_loss[history.restored_epoch] == min(history.val_loss)
    assert history.final_val_loss == min(history.val_loss) and history.final_loss == history[history.restored_epoch]
    n_train = int(len(X) * 0.7)
    assert net.loss(X[n_train:], y[n_train:]) == history.final_val_loss
    plain = plainnet.Network([13, 1], seed=2, backend=backend).train(X, y.astype(float), epochs=2)
    assert plain.restored_epoch is None and plain.final_loss == plain[-1] and plain.final_val_loss is None


# -- hints --------------------------------------------------------------------------------

def test_hints_when_training_goes_nowhere(tmp_path):
    frame = load("wine")
    data = write(frame, tmp_path / "wine.csv")
    out = ok(["train", data, "--target", "target", "--no-scale", "--optimizer", "sgd", "--learning-rate",
              "5", "--epochs", "5", "--quiet", "-o", tmp_path / "m.json"])
    assert "hint: training accuracy" in out and "no better than always answering" in out
    assert "leave out --no-scale" in out and "a smaller --learning-rate (now 5)" in out
    good = ok(["train", data, "--target", "target", "--quiet", "-o", tmp_path / "m.json"])
    assert "hint:" not in good
    flat = ok(["train", write(load("diabetes"), tmp_path / "d.csv"), "--target", "target",
               "--learning-rate", "1e-7", "--epochs", "5", "--early-stopping", "0", "--quiet",
               "-o", tmp_path / "m.json"])
    assert "hint: the loss hardly moved" in flat


def test_model_files_keep_target_fields_strict(tmp_path):
    ok(["train", write(load("iris"), tmp_path / "iris.csv"), "--target", "target", "--epochs", "1",
        "--quiet", "-o", tmp_path / "m.json"])
    d = json.loads((tmp_path / "m.json").read_text())
    assert d["target"] == {"column": "target", "classes": ["setosa", "versicolor", "virginica"]}
    assert plainnet.Network.from_dict(d).classes == d["target"]
    for bad, message in ((dict(d["target"], classes=["a", "a", "b"]), "distinct"),
                         (dict(d["target"], classes=["a", "b"]), "need 3"),
                         ({"column": "target"}, "'target' must be null"),
                         ({"mean": [0.0, 1.0, 2.0], "scale": [1.0, 1.0, 0.0]}, "positive")):
        with pytest.raises(plainnet.ModelFileError, match=message):
            plainnet.Network.from_dict(dict(d, target=bad))
    del d["target"]
    assert plainnet.Network.from_dict(d).classes is None  # files without it still load
    plain = plainnet.Network([2, 1], seed=0).to_dict()
    assert "target" not in plain


def teardown_module(module):
    if TIMES:
        print("\nCLI training times: " + ", ".join("%s/%s %.1fs" % (n, b, t) for (n, b), t in sorted(TIMES.items())))
