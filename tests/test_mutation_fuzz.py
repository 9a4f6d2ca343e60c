"""Seeded, bounded mutation fuzzers that run everywhere (issue 16): model files
and the command line's CSV input.

Model files: valid files of every kind, mutated structurally (fields deleted,
retyped, resized, given extreme numbers) and as bytes; each must load or raise
ModelFileError (or an OSError for the file itself), and whatever loads must
predict finite-or-documented results on both backends with the same bits.
CSV: mutated tables through `plainnet train` and `predict` in-process; each
must finish or exit 1/2 with a one-line message, never an unexpected error.
"""

import contextlib
import copy
import io
import json
import random

import pytest

import plainnet as pn
from plainnet import cli

from conftest import BACKENDS, random_data

N_MODEL_CASES = 400
N_CSV_CASES = 120


def _seeds():
    X, T = random_data(6, 3, 2, seed=1)
    out = []
    for kw in (dict(activation="sigmoid"),
               dict(activation="gelu", output_activation="softmax", loss="categorical_crossentropy"),
               dict(activation=["relu", "softplus"], output_activation="sigmoid", loss="binary_crossentropy")):
        net = pn.Network([3, 4, 2], seed=2, backend="python", **kw)
        opt = random.Random(len(out)).choice(["sgd", "momentum", "adam"])
        T2 = [[1.0, 0.0] if r % 2 else [0.0, 1.0] for r in range(6)] if kw.get("loss") else T
        net.train(X, T2, epochs=2, optimizer=opt, batch_size=2, scale=len(out) == 1)
        net.set_column_names(["a", "b", "c"], ["y0", "y1"])
        out.append(net.to_dict())
    return out


_WEIRD = [None, True, -1, 0, 2 ** 64, 10 ** 30, -1e308, 1e308, 5e-324, "x", "", [], {}, [1.0], {"a": 1},
          "sigmoid", 0.5, -0.0, [[[]]], "9" * 40]


def _mutate(d, rng):
    d = copy.deepcopy(d)
    for _ in range(rng.randint(1, 3)):
        path, node = [], d
        while isinstance(node, (dict, list)) and node and rng.random() < 0.7:
            key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
            path.append((node, key))
            node = node[key]
        if not path:
            continue
        parent, key = path[-1]
        action = rng.random()
        if action < 0.2 and isinstance(parent, dict):
            del parent[key]
        elif action < 0.35 and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        elif action < 0.45 and isinstance(parent, list):
            del parent[key]
        else:
            parent[key] = rng.choice(_WEIRD)
    return d


def _check_loaded(net, rows):
    """A network that loaded must compute, or refuse the row, the same way on both backends."""
    results = []
    for backend in BACKENDS:
        other = pn.Network.from_dict(net.to_dict(), backend=backend)
        try:
            results.append(repr([other.feedforward(r) for r in rows]))
        except (ValueError, TypeError) as exc:
            results.append(type(exc).__name__ + str(exc))
    assert len(set(results)) == 1, results


@pytest.mark.parametrize("part", range(4))
def test_mutated_model_dicts_load_or_raise_model_file_error(part):
    rng = random.Random(1000 + part)
    seeds = _seeds()
    rows = [[0.5, -1.0, 2.0], [1e300, -1e300, 0.0]]
    loaded = refused = 0
    for _ in range(N_MODEL_CASES // 4):
        d = _mutate(rng.choice(seeds), rng)
        try:
            net = pn.Network.from_dict(d, backend="python")
        except pn.ModelFileError:
            refused += 1
            continue
        loaded += 1
        _check_loaded(net, rows)
    assert refused > 0  # the mutations do reach the checks


def test_mutated_model_files_as_bytes(tmp_path):
    rng = random.Random(7)
    seeds = [json.dumps(d).encode() for d in _seeds()]
    path = tmp_path / "m.json"
    for _ in range(N_MODEL_CASES // 2):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 8)):
            k = rng.randrange(len(data))
            op = rng.random()
            if op < 0.4:
                data[k] = rng.randrange(256)
            elif op < 0.7:
                del data[k:k + rng.randint(1, 20)]
            else:
                data[k:k] = rng.choice([b"[", b"]", b"{", b"}", b",", b"1e999", b"NaN", b"\xff", b"\"",
                                        b"-", b"0" * 50])
        path.write_bytes(bytes(data))
        for backend in BACKENDS:
            try:
                pn.load(str(path), backend=backend)
            except pn.ModelFileError:
                pass


def _table(rng):
    n_cols = rng.randint(1, 5)
    header = ["c%d" % k for k in range(n_cols)]
    rows = [[repr(rng.uniform(-3, 3)) for _ in range(n_cols)] for _ in range(rng.randint(1, 12))]
    lines = [",".join(header)] + [",".join(r) for r in rows]
    text = "\n".join(lines) + "\n"
    junk = ["", ",", "nan", "inf", "1e999", "\"", "a\"b", "\x00", "\xe9", ";", "\r", "  ", "0x10", "--",
            ",,,,", "\n\n", "c0", "1,2,3,4,5,6,7"]
    chars = list(text)
    for _ in range(rng.randint(0, 6)):
        k = rng.randrange(len(chars) + 1)
        chars[k:k + rng.randint(0, 3)] = list(rng.choice(junk))
    return "".join(chars), header


def _run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
    return code, err.getvalue()


def test_mutated_csv_through_the_command_line(tmp_path):
    rng = random.Random(11)
    for case in range(N_CSV_CASES):
        text, header = _table(rng)
        data = tmp_path / ("d%d.csv" % case)
        data.write_bytes(text.encode("utf-8", "surrogatepass"))
        model = tmp_path / ("m%d.json" % case)
        target = rng.choice(header + ["nope"])
        code, err = _run_cli(["train", str(data), "--target", target, "--hidden", "2", "--epochs", "2",
                              "-o", str(model)])
        assert code in (0, 1, 2), (text, code, err)
        if code:
            assert "unexpected" not in err and "Traceback" not in err, (text, err)
            assert len(err.strip().splitlines()) <= 3, (text, err)
            continue
        code, err = _run_cli(["predict", str(model), str(data)])
        assert code in (0, 1, 2) and "unexpected" not in err and "Traceback" not in err, (text, err)
