"""Coverage-guided fuzzing of plainnet's untrusted inputs with atheris.

    python tools/fuzz_load.py [-runs=N] [-max_total_time=S] [corpus_dir]

Each input is fed to the model-file reader (as a file's bytes, and as JSON to
Network.from_dict) and, when it parses, the network it makes is run on both
backends. The only acceptable failures are plainnet.ModelFileError (for bad
files) and the documented ValueError/TypeError (for bad rows); anything else,
or a crash, is a finding. Needs `pip install atheris`; tests/test_fuzz.py runs a
bounded number of inputs in CI when atheris is installed.
"""

import json
import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    import plainnet

BACKENDS = plainnet.available_backends()
SEED = plainnet.Network([2, 3, 1], seed=0, backend="python").to_dict()
_FD, _PATH = tempfile.mkstemp(suffix=".json")
os.close(_FD)


def _exercise(net, fdp):
    row = [fdp.ConsumeRegularFloat() for _ in range(net.sizes[0])]
    try:
        out = net.feedforward(row)
    except (ValueError, TypeError):
        return
    assert len(out) == net.sizes[-1]


def one_input(data):
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 2)
    raw = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4096))
    if mode == 2:  # splice the bytes into a valid model's JSON, to get past the parser
        text = json.dumps(SEED).encode()
        at = fdp.ConsumeIntInRange(0, len(text))
        raw = text[:at] + raw + text[at + len(raw) // 2:]
    backend = BACKENDS[fdp.ConsumeIntInRange(0, len(BACKENDS) - 1)]
    if mode == 0:
        try:
            d = json.loads(raw.decode("utf-8", "replace"))
        except (ValueError, RecursionError):
            return
        try:
            net = plainnet.Network.from_dict(d, backend=backend)
        except plainnet.ModelFileError:
            return
    else:
        with open(_PATH, "wb") as f:
            f.write(raw)
        try:
            net = plainnet.load(_PATH, backend=backend, max_parameters=10000)
        except plainnet.ModelFileError:
            return
    _exercise(net, fdp)


def main(argv=None):
    atheris.Setup(sys.argv if argv is None else argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
