"""Model files: versioned JSON, validated completely before anything is built.

A model file is data, never code: it is parsed with ``json`` and every field is
checked (types, shapes, sizes, finiteness, known names) before a network is
constructed.  Saving writes a temporary file in the destination folder, syncs
it to disk and renames it over the destination, so a failure part-way leaves
any previous file intact.
"""

import os

from . import _spec
from ._contract import n_parameters
from ._data import as_float, as_vector
from ._errors import ModelFileError
from ._training import Scaler, make_optimizer

__all__ = ["FORMAT", "VERSION", "model_dict", "parts_from_dict", "save_dict", "read"]

FORMAT = "plainnet"
VERSION = 1
_KEYS = ("format", "version", "sizes", "activations", "loss", "weights", "biases")
_OPTIONAL_KEYS = ("scaler", "columns", "training")
# Longest decimal integer accepted in a file; a longer one is not a layer size
# and would only cost time to parse.
_MAX_INT_DIGITS = 30


def model_dict(sizes, activations, loss, weights, biases, scaler=None, columns=None,
               training=None):
    """The model dict (what a file holds) of a network's parts."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "sizes": list(sizes),
        "activations": list(activations),
        "loss": loss,
        "weights": weights,
        "biases": biases,
        "scaler": scaler,
        "columns": columns,
        "training": training,
    }


def _check_scaler(d, n_inputs):
    if d is None:
        return None
    if not isinstance(d, dict) or set(d) != {"mean", "scale"}:
        raise ModelFileError("'scaler' must be null or an object with 'mean' and 'scale'")
    for key in ("mean", "scale"):
        if not isinstance(d[key], list) or len(d[key]) != n_inputs:
            raise ModelFileError("scaler %r must list %d numbers" % (key, n_inputs))
    try:
        return Scaler(d["mean"], d["scale"])
    except (TypeError, ValueError) as exc:
        raise ModelFileError(str(exc)) from None


_TRAINING_KEYS = ("epochs", "rng", "optimizer", "b1t", "b2t", "buffers")


def _check_training(d, n_params):
    if d is None:
        return None
    if not isinstance(d, dict):
        raise ModelFileError("'training' must be null or an object")
    missing = [k for k in _TRAINING_KEYS if k not in d]
    unknown = sorted(str(k) for k in d if k not in _TRAINING_KEYS)
    if missing or unknown:
        raise ModelFileError("'training' fields: missing %s, unknown %s" % (missing or "none", unknown or "none"))
    out = {}
    for key, top in (("epochs", 2 ** 62), ("rng", 2 ** 64 - 1)):
        v = d[key]
        if type(v) is not int or not 0 <= v <= top:
            raise ModelFileError("training %r must be an integer in [0, %d], got %r" % (key, top, v))
        out[key] = v
    try:
        opt = None if d["optimizer"] is None else make_optimizer(d["optimizer"])
        for key in ("b1t", "b2t"):
            out[key] = as_float(d[key], "training %r" % key)
            if not 0.0 <= out[key] <= 1.0:
                raise ValueError("training %r must be in [0, 1]" % key)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(str(exc)) from None
    buffers = d["buffers"]
    wanted = 0 if opt is None else opt.n_buffers
    if not isinstance(buffers, list) or len(buffers) != wanted:
        raise ModelFileError("training 'buffers' must be a list of %d optimizer buffers" % wanted)
    out["buffers"] = []
    for k, buf in enumerate(buffers):
        if not isinstance(buf, list) or len(buf) != n_params:
            raise ModelFileError("training buffer %d must list %d numbers" % (k, n_params))
        try:
            out["buffers"].append(as_vector(buf, n_params, "training buffer %d" % k))
        except (TypeError, ValueError) as exc:
            raise ModelFileError(str(exc)) from None
    out["optimizer"] = opt
    return out


def _validated(d, max_parameters):
    """(sizes, activations, loss, weights, biases) from a model dict, or ModelFileError."""
    if not isinstance(d, dict):
        raise ModelFileError("a model must be a JSON object, not %s" % type(d).__name__)
    if d.get("format") != FORMAT:
        raise ModelFileError("not a plainnet model: 'format' is %r, expected %r" % (d.get("format"), FORMAT))
    version = d.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError("'version' must be an integer, got %r" % (version,))
    if version > VERSION:
        raise ModelFileError(
            "model format version %d is newer than this plainnet reads (%d): upgrade plainnet"
            % (version, VERSION)
        )
    if version < 1:
        raise ModelFileError("'version' must be at least 1, got %d" % version)
    missing = [k for k in _KEYS if k not in d]
    if missing:
        raise ModelFileError("missing field(s): %s" % ", ".join(missing))
    unknown = sorted(str(k) for k in d if k not in _KEYS and k not in _OPTIONAL_KEYS)
    if unknown:
        raise ModelFileError("unknown field(s): %s" % ", ".join(unknown))

    sizes = d["sizes"]
    if not isinstance(sizes, list) or not all(type(s) is int for s in sizes):
        raise ModelFileError("'sizes' must be a list of integers, got %r" % (sizes,))
    if len(sizes) < 2 or min(sizes) < 1:
        raise ModelFileError("'sizes' needs at least two layers of width >= 1, got %r" % (sizes,))
    count = n_parameters(sizes)
    limit = _spec.MAX_PARAMETERS if max_parameters is None else max_parameters
    if count > limit:
        raise ModelFileError(
            "'sizes' %r means %d parameters, over the limit of %d (pass max_parameters to allow more)"
            % (sizes, count, limit)
        )
    acts = d["activations"]
    if not isinstance(acts, list) or len(acts) != len(sizes) - 1:
        raise ModelFileError("'activations' must list one name per layer (%d), got %r" % (len(sizes) - 1, acts))
    loss = d["loss"]
    try:
        acts = _spec.check_activations(acts, None, len(sizes) - 1)
        loss = _spec.check_loss(loss, acts)
        W, B = _spec.check_params(d["weights"], d["biases"], sizes)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(str(exc)) from None
    scaler = _check_scaler(d.get("scaler"), sizes[0])
    training = _check_training(d.get("training"), count)
    columns = d.get("columns")
    if columns is not None:
        if not isinstance(columns, dict) or set(columns) != {"inputs", "outputs"}:
            raise ModelFileError("'columns' must be null or an object with 'inputs' and 'outputs'")
        try:
            columns = _spec.check_columns(columns["inputs"], columns["outputs"], sizes)
        except (TypeError, ValueError) as exc:
            raise ModelFileError(str(exc)) from None
    return sizes, acts, loss, W, B, scaler, training, columns


def parts_from_dict(d, max_parameters=None):
    """(sizes, activations, loss, weights, biases, scaler, training, columns)
    from a model dict, every field validated; else ModelFileError."""
    return _validated(d, max_parameters)


def _reject_constant(name):
    raise ValueError("%s is not a finite number" % name)


def _parse_int(text):
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise ValueError("integer with %d digits" % len(text))
    return int(text)


def dumps(d):
    """JSON text for a model dict: one top-level field a line, numbers as exact reprs."""
    import json  # here, not at import: json brings re and enum, a third of plainnet's import time
    fields = ['  "%s": %s' % (k, json.dumps(d[k], allow_nan=False))
              for k in _KEYS + _OPTIONAL_KEYS if k in d]
    return "{\n" + ",\n".join(fields) + "\n}\n"


def loads(text, source="model"):
    """Parse model JSON text; errors become ModelFileError naming ``source``."""
    try:
        import json
        return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except RecursionError:
        raise ModelFileError("%s: JSON nested too deeply" % source) from None
    except ValueError as exc:
        raise ModelFileError("%s: not valid JSON: %s" % (source, exc)) from None


def save_dict(d, path):
    """Write a model dict to ``path`` as JSON, atomically."""
    write_atomically(path, dumps(d).encode("utf-8"))


def write_atomically(path, data):
    """Write bytes to ``path`` through a synced temporary file renamed over it.

    A failure part-way (disk full, permission denied, interrupted) leaves any
    previous file at ``path`` as it was.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, ".%s.%d.%s.tmp" % (os.path.basename(path), os.getpid(), os.urandom(4).hex()))
    # Created with the usual 0o666 minus umask, like any file the user writes.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable, where the platform allows it
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def read(path, max_parameters=None):
    """The validated parts (as :func:`parts_from_dict`) of the model file at
    ``path``; a malformed file raises ModelFileError naming it."""
    path = os.fspath(path)
    limit = _spec.MAX_PARAMETERS if max_parameters is None else max_parameters
    # About 25 bytes of JSON per parameter at most, plus room for the rest.
    max_bytes = 32 * limit + (1 << 20)
    with open(path, "rb") as f:
        raw = f.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ModelFileError("%s: file is larger than a model of %d parameters can be" % (path, limit))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelFileError("%s: not UTF-8 text: %s" % (path, exc)) from None
    d = loads(text, path)
    try:
        return parts_from_dict(d, max_parameters)
    except ModelFileError as exc:
        raise ModelFileError("%s: %s" % (path, exc)) from None
