"""Model files: versioned JSON, validated completely before anything is built.

A model file is data, never code: it is parsed with ``json`` and every field is
checked (types, shapes, sizes, finiteness, known names) before a network is
constructed.  Saving writes a temporary file in the destination folder, syncs
it to disk and renames it over the destination, so a failure part-way leaves
any previous file intact.
"""

import errno
import os
import stat

from . import _spec
from ._contract import n_parameters
from ._data import as_float, as_int, as_vector
from ._errors import ModelFileError
from ._training import OPTIMIZERS, Scaler, make_optimizer

__all__ = ["FORMAT", "VERSION", "model_dict", "parts_from_dict", "save_dict", "read", "model_schema"]

FORMAT = "plainnet"
VERSION = 1
_KEYS = ("format", "version", "sizes", "activations", "loss", "weights", "biases")
_OPTIONAL_KEYS = ("scaler", "columns", "training", "target")
# Longest decimal integer accepted in a file; a longer one is not a layer size
# and would only cost time to parse.
_MAX_INT_DIGITS = 30

#: Model files (and dicts) with more layers than this are refused, whatever
#: their number of parameters: each layer costs time and memory of its own
#: (about 10 microseconds to load), and 10,000 layers of width 1 are already
#: far beyond any useful network.  Checked before any weight is looked at.
MAX_LAYERS = 10000

#: The most epochs a model file records; save() refuses a network trained longer.
MAX_EPOCHS = 2 ** 62

# Error messages quote values from the file: each at most this long.
_ECHO = 80
# ... and a message built elsewhere (a backend check, a setting) at most this long.
_MESSAGE = 480
_READ_CHUNK = 1 << 20


def _short(v):
    """``repr(v)``, cut to about 80 characters, cheaply even for a huge value."""
    import reprlib  # light; only when an error is being reported
    r = reprlib.Repr()
    r.maxstring = r.maxother = _ECHO
    r.maxlist = r.maxtuple = r.maxdict = r.maxset = 8
    r.maxlevel = 3
    try:
        text = r.repr(v)
    except Exception:  # an int too long for str(), a repr that fails
        text = "<%s>" % type(v).__name__
    if len(text) > _ECHO:
        text = text[:_ECHO - 3] + "..."
    if isinstance(v, str) and len(v) > _ECHO - 2:
        text += " (%d characters)" % len(v)
    elif isinstance(v, (list, dict)) and len(v) > 8:
        text += " (%d items)" % len(v)
    return text


def _name(k):
    if not isinstance(k, str):
        return _short(k)
    return k if len(k) <= _ECHO else k[:_ECHO - 3] + "..."


def _names(keys):
    """A short, readable list of (possibly hostile) field names."""
    keys = sorted(map(_name, keys))
    text = ", ".join(keys[:8])
    if len(keys) > 8:
        text += ", ... (%d in all)" % len(keys)
    return text


def _error(exc):
    """A ModelFileError from another check's TypeError/ValueError, its message bounded."""
    text = str(exc)
    if len(text) > _MESSAGE:  # keep the start and the end, which says what is expected
        text = text[:_MESSAGE - 160] + " ... " + text[-150:]
    return ModelFileError(text)


def _limit(max_parameters):
    """The parameter limit: ``MAX_PARAMETERS`` for None, else an int >= 1."""
    if max_parameters is None:
        return _spec.MAX_PARAMETERS
    return as_int(max_parameters, "max_parameters", minimum=1)


def model_dict(sizes, activations, loss, weights, biases, scaler=None, columns=None,
               training=None, target=None):
    """The model dict (what a file holds) of a network's parts.

    ``target`` (written only when set, so that files without it stay as they
    were) is None, ``{"column": name, "classes": [names]}`` for a classifier
    trained on one column of class labels, or ``{"mean": [...], "scale": [...]}``
    for standardised regression targets.
    """
    d = {
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
    if target is not None:
        d["target"] = target
    return d


def _check_target(d, sizes):
    """The validated "target" field: None, ("classes", column, names) or ("scale", Scaler)."""
    if d is None:
        return None
    n_out = sizes[-1]
    if isinstance(d, dict) and set(d) == {"mean", "scale"}:
        for key in ("mean", "scale"):
            if not isinstance(d[key], list) or len(d[key]) != n_out:
                raise ModelFileError("target %r must list %d numbers (one per output)" % (key, n_out))
        try:
            return ("scale", Scaler(d["mean"], d["scale"]))
        except (TypeError, ValueError) as exc:
            raise _error(exc) from None
    if not isinstance(d, dict) or set(d) != {"column", "classes"}:
        raise ModelFileError("'target' must be null, an object with 'column' and 'classes', "
                             "or one with 'mean' and 'scale'")
    try:
        column, classes = _spec.check_classes(d["column"], d["classes"], sizes)
    except (TypeError, ValueError) as exc:
        raise _error(exc) from None
    return ("classes", column, classes)


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
        raise _error(exc) from None


_TRAINING_KEYS = ("epochs", "rng", "optimizer", "b1t", "b2t", "buffers")


def _check_training(d, n_params):
    if d is None:
        return None
    if not isinstance(d, dict):
        raise ModelFileError("'training' must be null or an object")
    missing = [k for k in _TRAINING_KEYS if k not in d]
    unknown = [k for k in d if k not in _TRAINING_KEYS]
    if missing or unknown:
        raise ModelFileError("'training' fields: missing %s, unknown %s"
                             % (", ".join(missing) or "none", _names(unknown) or "none"))
    out = {}
    for key, top in (("epochs", MAX_EPOCHS), ("rng", 2 ** 64 - 1)):
        v = d[key]
        if type(v) is not int or not 0 <= v <= top:
            raise ModelFileError("training %r must be an integer in [0, %d], got %s" % (key, top, _short(v)))
        out[key] = v
    spec = d["optimizer"]
    if spec is not None and (not isinstance(spec, dict) or not isinstance(spec.get("name"), str)
                             or spec["name"] not in OPTIMIZERS):
        raise ModelFileError(
            "training 'optimizer' must be null or an object whose 'name' is one of %s; got %s"
            % (", ".join(OPTIMIZERS), "'name' %s" % _short(spec.get("name")) if isinstance(spec, dict)
               else _short(spec)))
    try:
        opt = None if spec is None else make_optimizer(spec)
        for key in ("b1t", "b2t"):
            out[key] = as_float(d[key], "training %r" % key)
            if not 0.0 <= out[key] <= 1.0:
                raise ValueError("training %r must be in [0, 1]" % key)
    except (TypeError, ValueError) as exc:
        raise _error(exc) from None
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
            raise _error(exc) from None
    if opt is not None and opt.name == "adam":
        # Adam's second moments are running means of squares: never negative.
        v = out["buffers"][1]
        bad = next((i for i, x in enumerate(v) if x < 0.0), None)
        if bad is not None:
            raise ModelFileError("training buffer 1 (Adam's second moments) value %d is %r: "
                                 "it must not be negative" % (bad, v[bad]))
    out["optimizer"] = opt
    return out


def _validated(d, max_parameters):
    """(sizes, activations, loss, weights, biases) from a model dict, or ModelFileError."""
    limit = _limit(max_parameters)  # a bad argument is a TypeError/ValueError, whatever the dict
    if not isinstance(d, dict):
        raise ModelFileError("a model must be a JSON object, not %s" % type(d).__name__)
    if d.get("format") != FORMAT:
        raise ModelFileError("not a plainnet model: 'format' is %s, expected %r" % (_short(d.get("format")), FORMAT))
    version = d.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError("'version' must be an integer, got %s" % _short(version))
    if version > VERSION:
        raise ModelFileError(
            "model format version %s is newer than this plainnet reads (%d): upgrade plainnet"
            % (_short(version), VERSION)
        )
    if version < 1:
        raise ModelFileError("'version' must be at least 1, got %s" % _short(version))
    missing = [k for k in _KEYS if k not in d]
    if missing:
        raise ModelFileError("missing field(s): %s" % ", ".join(missing))
    unknown = [k for k in d if k not in _KEYS and k not in _OPTIONAL_KEYS]
    if unknown:
        raise ModelFileError("unknown field(s): %s" % _names(unknown))

    sizes = d["sizes"]
    if isinstance(sizes, list) and len(sizes) - 1 > MAX_LAYERS:
        raise ModelFileError(
            "'sizes' lists %d layers, over the limit of %d layers (plainnet._modelfile.MAX_LAYERS)"
            % (len(sizes) - 1, MAX_LAYERS))
    if not isinstance(sizes, list) or not all(type(s) is int for s in sizes):
        raise ModelFileError("'sizes' must be a list of integers, got %s" % _short(sizes))
    if len(sizes) < 2 or min(sizes) < 1:
        raise ModelFileError("'sizes' needs at least two layers of width >= 1, got %s" % _short(sizes))
    count = n_parameters(sizes)
    if count > limit:
        raise ModelFileError(
            "'sizes' %s means %d parameters, over the limit of %d (pass max_parameters to allow more)"
            % (_short(sizes), count, limit)
        )
    acts = d["activations"]
    if not isinstance(acts, list) or len(acts) != len(sizes) - 1:
        raise ModelFileError("'activations' must list one name per layer (%d), got %s"
                             % (len(sizes) - 1, _short(acts)))
    loss = d["loss"]
    try:
        acts = _spec.check_activations(acts, None, len(sizes) - 1)
        loss = _spec.check_loss(loss, acts, sizes)
        W, B = _spec.check_params(d["weights"], d["biases"], sizes)
    except (TypeError, ValueError) as exc:
        raise _error(exc) from None
    scaler = _check_scaler(d.get("scaler"), sizes[0])
    training = _check_training(d.get("training"), count)
    columns = d.get("columns")
    if columns is not None:
        if not isinstance(columns, dict) or set(columns) != {"inputs", "outputs"}:
            raise ModelFileError("'columns' must be null or an object with 'inputs' and 'outputs'")
        try:
            columns = _spec.check_columns(columns["inputs"], columns["outputs"], sizes)
        except (TypeError, ValueError) as exc:
            raise _error(exc) from None
    target = _check_target(d.get("target"), sizes)
    if target is not None and target[0] == "classes" and sizes[-1] > 1 and acts[-1] != "softmax":
        raise ModelFileError("'target' lists classes for %d outputs, which needs a softmax output, not %r"
                             % (sizes[-1], acts[-1]))
    return sizes, acts, loss, W, B, scaler, training, columns, target


def parts_from_dict(d, max_parameters=None):
    """(sizes, activations, loss, weights, biases, scaler, training, columns, target)
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


def model_schema():
    """The model file's JSON Schema (draft 2020-12) as a dict: the file
    ``model.schema.json`` installed inside the package, for validators in any
    language (``jsonschema`` in Python)."""
    import json
    import pkgutil  # reads package data from a folder or a zip alike
    return json.loads(pkgutil.get_data(__name__.rpartition(".")[0], "model.schema.json")
                      .decode("utf-8"))


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
    """Write a model dict to ``path`` as JSON, atomically.  Refuses, before
    writing anything, what :func:`read` would refuse."""
    layers = len(d["sizes"]) - 1
    if layers > MAX_LAYERS:
        raise ValueError("cannot save a network of %d layers, over the limit of %d layers a model "
                         "file may hold (plainnet._modelfile.MAX_LAYERS)" % (layers, MAX_LAYERS))
    epochs = d["training"]["epochs"]
    if not 0 <= epochs <= MAX_EPOCHS:
        raise ValueError("cannot save: epochs_trained is %d, over the most a model file holds (2**62)"
                         % epochs)
    write_atomically(path, dumps(d).encode("utf-8"))


def _resolved(path):
    """The file a write to ``path`` should replace: through symlinks, to their target."""
    if not os.path.islink(path):
        return path
    real = os.path.realpath(path)
    if os.path.islink(real):  # a loop of links: realpath gave up
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
    return real


def write_atomically(path, data):
    """Write bytes to ``path`` through a synced temporary file renamed over it.

    A failure part-way (disk full, permission denied, interrupted) leaves any
    previous file at ``path`` as it was, and the error names ``path``.  A
    symlink is written through: its target is replaced, and the link stays.
    An existing file keeps its permission bits; a new one gets 0o666 minus
    the umask.  The file is a new one (a new inode): other hard links to the
    old file keep the old contents, as with any atomic replace.
    """
    given = os.fspath(path)
    try:
        _write_atomically(os.fsdecode(given), data)
    except OSError as exc:
        if exc.errno is None:
            raise
        # The temporary file is an implementation detail: name the path given.
        raise OSError(exc.errno, exc.strerror, given) from None


def _write_atomically(path, data):
    path = _resolved(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.stat(path).st_mode
    except OSError:  # no file yet (or unreadable folder, which os.open reports below)
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        # A rename over a device, FIFO or socket would replace the node itself
        # (as root: /dev/null becomes a regular file).
        kind = next((name for test, name in _KINDS if test(mode)), "a directory" if stat.S_ISDIR(mode)
                    else "not a file")
        raise OSError(errno.EEXIST, "exists and is not a regular file (%s): plainnet writes "
                                    "model and export files only as regular files" % kind, path)
    # A hidden name of bounded length, whatever the target's: a prefix of its
    # name (for whoever finds one left by a killed process), pid and random.
    tmp = os.path.join(folder, ".%s.%d.%s.tmp" % (os.path.basename(path)[:32], os.getpid(),
                                                   os.urandom(6).hex()))
    # Created with the usual 0o666 minus umask, like any file the user writes.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None and stat.S_ISREG(mode):
                _chmod(f.fileno(), tmp, stat.S_IMODE(mode))
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


def _chmod(fd, path, mode):
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # Windows: only the read-only bit means anything
        os.chmod(path, mode)


_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _not_regular(path, mode):
    if stat.S_ISDIR(mode):
        return IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    kind = next((name for test, name in _KINDS if test(mode)), "not a file")
    return ModelFileError("%s: not a regular file (%s): refusing to read it" % (path, kind))


def _read_limited(path, max_bytes):
    """The bytes of the regular file ``path``, or None if it holds more than ``max_bytes``.

    Refuses FIFOs, devices and sockets without reading (a FIFO with no
    writer would block forever; /dev/zero never ends), and reads in chunks
    rather than into one buffer sized for the limit.
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise _not_regular(path, mode)
    # O_NONBLOCK: should the path have become a FIFO since, open() does not wait for a writer.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode)
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = f.read(min(_READ_CHUNK, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    return None if total > max_bytes else b"".join(chunks)


def read(path, max_parameters=None):
    """The validated parts (as :func:`parts_from_dict`) of the model file at
    ``path``; a malformed file raises ModelFileError naming it.

    Only regular files are read (a FIFO or device raises ModelFileError), and
    no more of one than a model of ``max_parameters`` parameters can take.
    """
    limit = _limit(max_parameters)
    path = os.fspath(path)
    # About 25 bytes of JSON per parameter at most, plus room for the rest.
    max_bytes = 32 * limit + (1 << 20)
    raw = _read_limited(path, max_bytes)
    if raw is None:
        raise ModelFileError("%s: file is larger than a model of %d parameters can be" % (path, limit))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelFileError("%s: not UTF-8 text: %s" % (path, exc)) from None
    del raw
    d = loads(text, path)
    try:
        return parts_from_dict(d, limit)
    except ModelFileError as exc:
        raise ModelFileError("%s: %s" % (path, exc)) from None
