"""The ``plainnet`` command: train, use, inspect and export networks from a shell.

Exit status: 0 on success, 2 for a usage error (argparse's own), 1 for any
other failure, reported as one line on stderr (``--debug`` shows the
traceback instead), and 130 when interrupted with Ctrl-C.
"""

import argparse
import io
import os
import sys
import textwrap
import time

from . import _backends, _registry, _task
from ._table import CSVError, read_table, write_rows
from ._errors import BackendUnavailable, ModelFileError, TrainingDiverged
from ._modelfile import write_atomically
from ._version import __version__
from ._training import OPTIMIZERS
from .network import INITS, Network, load

__all__ = ["main"]

PROG = "plainnet"

# The tutorial's people: weight minus 135 lb, height minus 66 in; 1 = F, 0 = M.
DEMO_PEOPLE = [("Alice", -2.0, -1.0, 1), ("Bob", 25.0, 6.0, 0), ("Charlie", 17.0, 4.0, 0), ("Diana", -15.0, -6.0, 1)]
DEMO_QUERIES = [("Emily", -7.0, -3.0), ("Frank", 20.0, 2.0)]
DEMO_SEED = 0


class CommandError(Exception):
    """A failure to report as one line, ``plainnet: error: <message>``."""


# Errors whose message is written for the user; anything else is a bug.
_EXPECTED = (CommandError, CSVError, ModelFileError, BackendUnavailable, TrainingDiverged, OSError,
             ValueError, TypeError, NotImplementedError)


# -- progress --------------------------------------------------------------

def _clock(seconds):
    seconds = int(seconds + 0.5)
    if seconds >= 3600:
        return "%d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)
    return "%d:%02d" % (seconds // 60, seconds % 60)


class Progress:
    """Training progress on a stream.

    ``header``, if given, is written on a line of its own before the first
    update.  On a terminal, one line redrawn in place with '\\r', at most ``rate``
    times a second (and always for the first and the last epoch).  Elsewhere,
    a plain line at each tenth of the epochs, with no control characters.
    """

    def __init__(self, stream, total, terminal, header=None, rate=10.0, clock=time.monotonic):
        self.stream = stream
        self.header = header
        self.total = total
        self.terminal = terminal
        self.interval = 1.0 / rate
        self.clock = clock
        self.start = clock()
        self.last_draw = None
        self.last_tenth = 0
        self.width = 0
        self.columns = 80
        if terminal:
            try:  # a line wider than the terminal would wrap, and '\r' could not redraw it
                self.columns = os.get_terminal_size(stream.fileno()).columns or 80
            except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
                pass

    def _text(self, done, loss, now):
        elapsed = now - self.start
        remaining = elapsed / done * (self.total - done)
        return "epoch %*d/%d  loss %.6g  elapsed %s  left %s" % (
            len(str(self.total)), done, self.total, loss, _clock(elapsed), _clock(remaining))

    def update(self, done, loss):
        """Report that ``done`` epochs of ``total`` have finished, the last with ``loss``."""
        now = self.clock()
        if self.header is not None:  # written once training is under way
            self.stream.write(self.header + "\n")
            self.header = None
        if self.terminal:
            if (self.last_draw is not None and done < self.total
                    and now - self.last_draw < self.interval):
                return
            self.last_draw = now
            bar_len = 10
            filled = bar_len * done // self.total
            text = "[%s%s] %s" % ("#" * filled, "." * (bar_len - filled), self._text(done, loss, now))
            text = text[:max(1, self.columns - 1)]
            pad = " " * max(0, self.width - len(text))
            self.width = len(text)
            self.stream.write("\r" + text + pad)
        else:
            tenth = done * 10 // self.total
            if tenth <= self.last_tenth:
                return
            self.last_tenth = tenth
            self.stream.write(self._text(done, loss, now) + "\n")
        self.stream.flush()

    def close(self):
        """End the redrawn line, so that what follows starts on a line of its own."""
        if self.terminal and self.last_draw is not None:
            self.stream.write("\n")
            self.stream.flush()
            self.last_draw = None


# -- helpers ---------------------------------------------------------------

def _network_from(args, sizes, activation="sigmoid", output_activation=None, loss="mse"):
    return Network(sizes, seed=args.seed, backend=args.backend, activation=activation,
                   output_activation=output_activation, loss=loss,
                   init=getattr(args, "init", "normal"))


def _load_model(args):
    try:
        return load(args.model, backend=getattr(args, "backend", None))
    except FileNotFoundError:
        raise CommandError("%s: no such file" % args.model) from None
    except IsADirectoryError:
        raise CommandError("%s: is a directory, not a model file" % args.model) from None


def _check_writable(path):
    """Fail now, not after a long training, if ``path`` cannot be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CommandError("%s: folder %s does not exist" % (path, folder))
    if os.path.isdir(path):
        raise CommandError("%s: is a directory" % path)
    if not os.access(folder, os.W_OK):
        raise CommandError("%s: cannot write in folder %s" % (path, folder))


def _write_text(path, text):
    """Write ``text`` to ``path`` (or stdout for None), replacing the file atomically."""
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_atomically(path, text.encode("utf-8"))


def _parse_hidden(text):
    text = text.strip()
    if text in ("", "none", "0"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("expected layer widths such as 8,4, got %r" % text) from None
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError("layer widths must be at least 1, got %r" % text)
    return sizes


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a whole number, got %r" % text) from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1, got %r" % text)
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number, got %r" % text) from None
    if not value > 0.0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number, got %r" % text)
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a whole number, got %r" % text) from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be at least 0, got %r" % text)
    return value


def _parse_names(text):
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError("expected column names such as a,b,c, got %r" % text)
    return names


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number, got %r" % text) from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError("must be at least 0 and below 1, got %r" % text)
    return value


def _refuse_overwrite(output, inputs):
    """Refuse an output path that is one of the input files (also through links)."""
    if output is None:
        return
    for path in inputs:
        try:
            same = os.path.samefile(output, path)
        except OSError:  # the output does not exist yet
            same = False
        if same:
            raise CommandError("%s: is the input file %s; refusing to overwrite it: choose another "
                               "output path" % (output, path))


def _read(args):
    return read_table(args.data, ignore=getattr(args, "ignore", None) or ())


def _feature_columns(table, target_cols, features):
    """The input columns: --features in their order, else every non-target column."""
    if features is None:
        return [c for c in range(len(table.header)) if c not in target_cols]
    cols = []
    for name in features:
        col = table.index(name)
        if col in target_cols:
            raise CommandError("column %r is both a target and a feature" % name)
        if col in cols:
            raise CommandError("--features names column %r twice" % name)
        cols.append(col)
    return cols


def _columns_for(net, table, targets):
    """(feature columns, target columns) of ``table`` for ``net``, as positions.

    A model that knows its column names (every model ``plainnet train``
    writes) finds its inputs by name; without names, the features are all
    columns but the --target ones, by position.  The targets are the --target
    columns, else those the model was trained on, where the table has them.
    """
    names = net.column_names
    if names is None:
        return table.split(targets)
    _, target_cols = table.split(targets)
    features = [table.index(name) for name in names["inputs"]]
    if not targets:
        if net.classes is not None:
            wanted = [net.classes["column"]]
        else:
            wanted = names["outputs"]
        target_cols = [c for c in (table.find(name) for name in wanted) if c is not None]
    return features, target_cols


def _check_inputs(net, table, features, hint=""):
    if len(features) != net.sizes[0]:
        raise CommandError(
            "%s: %d input column(s) (%s), but the model takes %d%s"
            % (table.path, len(features), ", ".join(repr(table.header[c]) for c in features),
               net.sizes[0], hint))


def _class_indices(net, table, col):
    """Class index of each row's label in column ``col``, for a model with class names."""
    classes = net.classes["classes"]
    index = {c: k for k, c in enumerate(classes)}
    out = []
    for text, line in zip(table.texts(col), table.lines):
        k = index.get(_task.label(text))
        if k is None:
            raise CommandError("%s, row %d, column %r: %r is not one of the model's classes (%s)"
                               % (table.path, line, table.header[col], text,
                                  ", ".join(map(repr, classes))))
        out.append(k)
    return out


def _train(args, net, X, T, header, scale_targets=False, validation_data=None,
           validation_split=0.0, patience=0):
    """Train with progress on stderr (unless --quiet); returns the History."""
    options = dict(epochs=args.epochs, learning_rate=args.learning_rate, scale=args.scale,
                   validation_split=validation_split, validation_data=validation_data,
                   optimizer=args.optimizer, batch_size=args.batch_size, shuffle=args.shuffle,
                   early_stopping=patience or False, scale_targets=scale_targets)
    if args.quiet:
        return net.train(X, T, **options)
    stream = sys.stderr
    progress = Progress(stream, args.epochs, stream.isatty(), header)
    try:
        return net.train(X, T, callback=lambda epoch, loss: progress.update(epoch + 1, loss), **options)
    finally:
        progress.close()


def _random_holdout(n, fraction, seed):
    """(training rows, held-out rows) as sorted positions: a seeded random ``fraction``."""
    import random
    n_val = int(n * fraction)
    if n_val < 1 or n_val >= n:
        raise CommandError("a validation fraction of %g of %d rows leaves no training or no "
                           "validation rows" % (fraction, n))
    held = set(random.Random(seed).sample(range(n), n_val))
    return [k for k in range(n) if k not in held], sorted(held)


def _hints(args, task, net, X, history):
    """Lines saying that training went nowhere, and what to try."""
    tries = []
    if not args.scale:
        tries.append("scaling the inputs (leave out --no-scale)")
    tries.append("a smaller --learning-rate (now %g)" % args.learning_rate)
    tries.append("more --epochs")
    advice = "try " + ", ".join(tries[:-1]) + " or " + tries[-1]
    lines = []
    if task.kind in ("classes", "binary", "onehot"):
        if task.kind == "binary":
            truth = [int(t[0]) for t in task.targets]
        else:
            truth = [t.index(1.0) for t in task.targets]
        predicted = [_predicted_class(y) for y in net.predict(X)]
        accuracy = sum(t == p for t, p in zip(truth, predicted)) / len(truth)
        chance = max(truth.count(k) for k in set(truth)) / len(truth)
        if accuracy <= chance + 0.01:
            lines.append("hint: training accuracy %.4f is no better than always answering the most "
                         "common class (%.4f): the network learned nothing; %s" % (accuracy, chance, advice))
    first, last = history[0], history.final_loss
    if not lines and len(history) >= 5 and last > 0.98 * first:
        lines.append("hint: the loss hardly moved (from %.6g to %.6g): %s" % (first, last, advice))
    return lines


# -- commands --------------------------------------------------------------

def cmd_demo(args):
    out = sys.stdout
    net = _network_from(args, [2, 2, 1])
    data = [[w, h] for _, w, h, _ in DEMO_PEOPLE]
    labels = [float(f) for _, _, _, f in DEMO_PEOPLE]
    out.write("The tutorial's %r sigmoid network (%s backend) learns to tell F from M\n"
              % (net.sizes, net.backend))
    out.write("by weight (minus 135 lb) and height (minus 66 in):\n")
    for name, w, h, f in DEMO_PEOPLE:
        out.write("  %-8s %4g %4g  %s\n" % (name, w, h, "F" if f else "M"))
    out.write("Per-sample SGD, learning rate 0.1, %d epochs (seed %s):\n" % (args.epochs, args.seed))

    def report(epoch, loss):
        if (epoch + 1) % 100 == 0 or epoch + 1 == args.epochs:
            out.write("  epoch %*d  loss %.6f\n" % (len(str(args.epochs)), epoch + 1, loss))
            out.flush()

    net.train(data, labels, epochs=args.epochs, learning_rate=0.1, callback=report)
    out.write("Predictions (F when above 0.5):\n")
    for name, w, h in DEMO_QUERIES:
        y = net.feedforward([w, h])[0]
        out.write("  %s: %.3f %s\n" % (name, y, "F" if y > 0.5 else "M"))
    return 0


def cmd_train(args):
    _check_writable(args.output)
    if args.plot is not None:
        _check_writable(args.plot)
    _refuse_overwrite(args.output, [args.data])
    table = _read(args)
    _, target_cols = table.split(args.target)
    features = _feature_columns(table, target_cols, args.features)
    if not features:
        raise CommandError("%s: every column is a target; no feature columns are left" % args.data)
    task = _task.infer(table, target_cols, args.task)
    X = table.numbers(features)
    loss = args.loss or task.loss
    output_activation = args.output_activation or (task.output if args.loss is None
                                                   else _registry.loss(loss).output)
    sizes = [len(features)] + args.hidden + [len(target_cols) if task.kind != "classes"
                                             else len(task.classes)]
    net = _network_from(args, sizes, args.activation, output_activation, loss)
    net.set_column_names([table.header[c] for c in features], task.output_names)
    if task.classes is not None and net.activations[-1] in ("softmax", "sigmoid"):
        net.set_classes(task.column, task.classes)  # not when --output-activation chose otherwise
    out = sys.stdout
    out.write(task.reason + "\n")
    out.flush()
    regression = task.kind == "regression"
    patience = args.early_stopping if args.early_stopping is not None else (20 if regression else 0)
    split = args.validation_split
    T = task.targets
    validation_data, held_out = None, ""
    if split is None and patience:  # the default: a seeded random tenth
        train_rows, val_rows = _random_holdout(len(X), 0.1, args.seed)
        validation_data = ([X[k] for k in val_rows], [T[k] for k in val_rows])
        X, T = [X[k] for k in train_rows], [T[k] for k in train_rows]
        held_out = " (a random 10% of them held out for validation)"
    elif split:
        held_out = " (the last %g held out for validation)" % split
    if patience and not (split or validation_data):
        raise CommandError("--early-stopping needs validation rows: give --validation-split")
    header = "training %r on %d rows%s for %d epochs" % (
        net, len(X) + (len(validation_data[0]) if validation_data else 0), held_out, args.epochs)
    history = _train(args, net, X, T, header, scale_targets=regression and loss == "mse",
                     validation_data=validation_data, validation_split=split or 0.0,
                     patience=patience)
    net.save(args.output)
    if args.plot is not None:
        from ._plot import write_svg
        write_svg(args.plot, history, title="%r %s on %s" % (net.sizes, net.activations[0],
                                                            os.path.basename(args.data)),
                  ylabel="loss (%s)" % net.loss_name)
    what = net.loss_name + (", standardised targets" if net.target_scaler is not None else "")
    if history.restored_epoch is not None:
        restored = history.restored_epoch + 1
        if history.stopped_early:
            out.write("stopped early at epoch %d; restored the weights of epoch %d\n"
                      % (len(history), restored))
        else:
            out.write("trained %d epochs; restored the weights of epoch %d, of the lowest "
                      "validation loss\n" % (len(history), restored))
        out.write("loss (%s) in epoch %d: %r\n" % (what, restored, history.final_loss))
    else:
        out.write("loss (%s) in the last epoch: %r\n" % (what, history.final_loss))
    if history.val_loss:
        out.write("validation loss (%s): %r\n" % (what, history.final_val_loss))
    for line in _hints(args, task, net, X, history):
        out.write(line + "\n")
    out.write("saved %s\n" % args.output)
    return 0


def _output_columns(net, header):
    """(names of the columns predict writes, function from outputs to cells)."""
    n_out = net.sizes[-1]
    names = net.column_names
    kind = _task.classifier_kind(net)
    if names is None:  # a model without names: as plainnet always wrote them
        cols = ["prediction"] if n_out == 1 else ["prediction_%d" % k for k in range(n_out)]
        return _unique(cols, header), lambda y: [repr(v) for v in y]
    outputs = names["outputs"]
    if kind is None:
        return _unique(["predicted_%s" % n for n in outputs], header), lambda y: [repr(v) for v in y]
    probabilities = ["p(%s)" % n for n in outputs]
    if kind == "classes":
        classes = net.classes["classes"]
        cols = ["predicted_%s" % net.classes["column"]] + probabilities
        return _unique(cols, header), lambda y: [classes[_predicted_class(y)]] + [repr(v) for v in y]
    if kind == "onehot":
        cols = ["predicted_class"] + probabilities
        return _unique(cols, header), lambda y: [outputs[_predicted_class(y)]] + [repr(v) for v in y]
    cols = ["predicted_%s" % n for n in outputs] + probabilities
    return _unique(cols, header), lambda y: ["1" if v > 0.5 else "0" for v in y] + [repr(v) for v in y]


def cmd_predict(args):
    _refuse_overwrite(args.output, [args.model, args.data])
    net = _load_model(args)
    table = _read(args)
    features, _ = _columns_for(net, table, args.target)
    hint = "" if args.target or net.column_names else " (name columns to leave out with --target)"
    _check_inputs(net, table, features, hint)
    outputs = net.predict(table.numbers(features))
    names, cells = _output_columns(net, table.header)
    header = list(table.header) + names
    rows = [list(row) + cells(y) for row, y in zip(table.rows, outputs)]
    if args.output is None:
        write_rows(sys.stdout, header, rows)
        sys.stdout.flush()
    else:
        _check_writable(args.output)
        buf = io.StringIO(newline="")
        write_rows(buf, header, rows)
        _write_text(args.output, buf.getvalue())
    return 0


def _unique(names, taken):
    """``names``, each suffixed with '_' as often as needed to avoid ``taken``."""
    out = []
    for name in names:
        while name in taken or name in out:
            name += "_"
        out.append(name)
    return out


def _predicted_class(y):
    if len(y) == 1:
        return 1 if y[0] > 0.5 else 0
    best = 0
    for k, v in enumerate(y):
        if v > y[best]:
            best = k
    return best


def cmd_evaluate(args):
    net = _load_model(args)
    table = _read(args)
    features, target_cols = _columns_for(net, table, args.target)
    if not target_cols:
        raise CommandError("%s: no target columns: name them with --target" % table.path)
    _check_inputs(net, table, features)
    X = table.numbers(features)
    kind = _task.classifier_kind(net)
    n_out = net.sizes[-1]
    if kind == "classes":
        if len(target_cols) != 1:
            raise CommandError("the model predicts one column of classes (%r), but %d target "
                               "columns were given" % (net.classes["column"], len(target_cols)))
        truth = _class_indices(net, table, target_cols[0])
        labels = net.classes["classes"]
        T = ([[float(t)] for t in truth] if n_out == 1
             else [[1.0 if k == t else 0.0 for k in range(n_out)] for t in truth])
    else:
        if len(target_cols) != n_out:
            raise CommandError("the model has %d output(s), but %d target column(s) were given"
                               % (n_out, len(target_cols)))
        T = table.numbers(target_cols)
        labels = [table.header[c] for c in target_cols]
    out = sys.stdout
    out.write("rows: %d\n" % len(X))
    what = net.loss_name + (", standardised targets" if net.target_scaler is not None else "")
    out.write("loss (%s): %r\n" % (what, net.loss(X, T)))
    P = net.predict(X)
    lines = []
    if kind == "classes":
        lines = _task.class_report(truth, [_predicted_class(y) for y in P], labels)
    elif n_out > 1 and all(sorted(t) == [0.0] * (n_out - 1) + [1.0] for t in T):
        truth = [t.index(1.0) for t in T]
        lines = _task.class_report(truth, [_predicted_class(y) for y in P], labels)
    elif all(v in (0.0, 1.0) for t in T for v in t) and (kind is not None or net.activations[-1] == "sigmoid"):
        for k in range(n_out):  # each output a yes/no label
            if n_out > 1:
                lines.append("label %r:" % labels[k])
            report = _task.class_report([int(t[k]) for t in T], [1 if y[k] > 0.5 else 0 for y in P],
                                        ["0", "1"])
            lines.extend(report if n_out == 1 else ["  " + line for line in report])
    else:
        lines = _task.regression_report(T, P, labels)
    for line in lines:
        out.write(line + "\n")
    return 0


def cmd_info(args):
    out = sys.stdout
    out.write("plainnet %s (Python %s, %s)\n"
              % (__version__, ".".join(map(str, sys.version_info[:3])), sys.implementation.name))
    out.write("backends: %s (default: %s)\n"
              % (", ".join(_backends.available_backends()), _backends.get_backend()))
    try:
        info = _backends.c_build_info()
    except BackendUnavailable as exc:  # why, and how to get it
        out.write("C backend: not available\n")
        out.write("".join("  %s\n" % line for line in textwrap.wrap(
            str(exc), 76, break_long_words=False, break_on_hyphens=False)))
    else:
        out.write("C backend: built with\n")
        for key in info:
            out.write("  %s: %s\n" % (key, info[key]))
    if args.model is not None:
        net = _load_model(args)
        sizes, acts = net.sizes, net.activations
        out.write("model: %s\n" % args.model)
        out.write("  sizes: %r\n" % (sizes,))
        out.write("  layers: %d inputs%s\n"
                  % (sizes[0], "".join(" -> %d %s" % (n, a) for n, a in zip(sizes[1:], acts))))
        out.write("  loss: %s\n" % net.loss_name)
        out.write("  parameters: %d\n" % net.n_parameters)
    return 0


def cmd_export(args):
    _refuse_overwrite(args.output, [args.model])
    net = _load_model(args)
    if args.lang == "onnx":  # binary: a file only, written atomically
        _check_writable(args.output)
        from ._onnx import model_bytes
        write_atomically(args.output, model_bytes(net, dtype=args.precision))
        return 0
    if args.lang == "c":
        calibration = None
        if args.calibration is not None:
            table = read_table(args.calibration)
            features, _ = _columns_for(net, table, [])
            if len(features) != net.sizes[0]:
                raise CommandError("%s: %d input column(s), but the model takes %d"
                                   % (args.calibration, len(features), net.sizes[0]))
            calibration = table.numbers(features)
        text = net.export_c(args.name or "plainnet_model", precision=args.precision,
                            quantize=args.quantize, calibration=calibration)
    else:
        text = net.export_python()
    if args.output is not None:
        _check_writable(args.output)
    _write_text(args.output, text)
    return 0


# -- the parser ------------------------------------------------------------

def build_parser():
    backends = _backends.KNOWN + ("auto",)
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a --debug before the command must survive the subcommand's defaults.
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="on failure, show the full traceback")

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Feed-forward neural networks from the command line. "
                    "With no command, runs the tutorial's demo.",
        epilog="Run '%s COMMAND --help' for a command's options." % PROG,
    )
    parser.add_argument("--version", action="version", version="%s %s" % (PROG, __version__))
    parser.add_argument("--debug", action="store_true", help="on failure, show the full traceback")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name, help, description):
        p = sub.add_parser(name, help=help, description=description, parents=[common])
        p.set_defaults(usage_error=p.error)
        return p

    def add_backend(p):
        p.add_argument("--backend", choices=backends, default=None,
                       help="backend to compute with (default: plainnet's default, see 'plainnet info')")

    p = add("demo", "train the tutorial's network and predict Emily and Frank",
            "Train the tutorial's [2, 2, 1] sigmoid network on Alice, Bob, Charlie and "
            "Diana, printing the loss every 100 epochs, then predict Emily and Frank.")
    p.add_argument("--seed", type=int, default=DEMO_SEED, help="seed for the initial weights (default: %(default)s)")
    p.add_argument("--epochs", type=_positive_int, default=1000, help="passes over the data (default: %(default)s)")
    add_backend(p)
    p.set_defaults(func=cmd_demo)

    def add_columns(p):
        p.add_argument("--ignore", action="append", default=[], metavar="COL",
                       help="a column to leave out entirely; repeatable ('' for unnamed columns, "
                            "such as a pandas index)")

    p = add("train", "train a network on a CSV file and save it",
            "Train a network on DATA, a CSV file with a header row: the --target columns "
            "are what to predict, every other column is an input. The task is inferred from "
            "the targets and said in one line: one column of text, of two values or of at "
            "most %d distinct integers is classes (softmax and categorical cross-entropy, or "
            "sigmoid and binary cross-entropy for two); several 0/1 columns are one-hot "
            "classes or yes/no labels; anything else is regression (linear output, mse on "
            "standardised targets, 10%% of the rows held out at random for early stopping). "
            "Progress goes to stderr; the model is written only once training has finished."
            % _task.MAX_CLASSES)
    p.add_argument("data", metavar="DATA.csv", help="training data")
    p.add_argument("--target", action="append", required=True, metavar="COL",
                   help="a column to predict; repeat for several outputs")
    p.add_argument("--features", type=_parse_names, default=None, metavar="COL,COL,...",
                   help="the input columns, in this order (default: every column but the targets)")
    add_columns(p)
    p.add_argument("--task", choices=("classify", "regress"), default=None,
                   help="override the task inferred from the target columns")
    p.add_argument("--hidden", type=_parse_hidden, default=[16], metavar="N,N,...",
                   help="hidden layer widths, e.g. 8,4, or 'none' (default: 16)")
    p.add_argument("--activation", choices=_registry.hidden_activations(), default="tanh",
                   help="activation of the hidden layers (default: %(default)s)")
    p.add_argument("--output-activation", choices=list(_registry.ACTIVATIONS), default=None,
                   help="activation of the output layer (default: the task's, or the one --loss needs)")
    p.add_argument("--loss", choices=list(_registry.LOSSES), default=None,
                   help="loss to minimise (default: the task's)")
    p.add_argument("--epochs", type=_positive_int, default=100, help="passes over the data (default: %(default)s)")
    p.add_argument("--learning-rate", type=_positive_float, default=0.003, help="step size (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed for the initial weights, the shuffling and the held-out rows "
                        "(default: %(default)s, so that a run repeats)")
    add_backend(p)
    p.add_argument("--scale", action="store_true", default=True,
                   help="standardise each input column (mean 0, standard deviation 1, learned from the "
                        "training rows and saved in the model); the default")
    p.add_argument("--no-scale", action="store_false", dest="scale", help="do not scale the inputs")
    p.add_argument("--validation-split", type=_fraction, default=None, metavar="F",
                   help="hold out the last fraction F of the rows and report their loss "
                        "(default: none, or a random 0.1 with early stopping)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                   help="sgd, momentum (0.9) or adam (default: %(default)s)")
    p.add_argument("--batch-size", type=_positive_int, default=16, metavar="N",
                   help="rows per update (default: %(default)s; 1 is per sample)")
    p.add_argument("--shuffle", action="store_true", default=True,
                   help="visit the rows in a new seeded order each epoch (the default)")
    p.add_argument("--no-shuffle", action="store_false", dest="shuffle",
                   help="visit the rows in file order")
    p.add_argument("--init", choices=INITS, default="xavier",
                   help="initial weights: normal (the tutorial's), xavier or he (default: %(default)s)")
    p.add_argument("--early-stopping", type=_non_negative_int, default=None, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without a better validation loss, keeping the "
                        "best weights; 0 turns it off (default: 20 for regression, else 0)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.json", help="where to save the model")
    p.add_argument("--plot", default=None, metavar="CURVE.svg",
                   help="also write the training (and validation) loss per epoch as an SVG chart")
    p.set_defaults(func=cmd_train)

    p = add("predict", "write a model's predictions for a CSV file",
            "Write DATA's columns plus the model's predictions as CSV: for a classifier the "
            "predicted class ('predicted_COL', or 'predicted_class' for one-hot columns) and "
            "the probability of each output ('p(NAME)'), for regression 'predicted_NAME' in the "
            "targets' units (models without column names: 'prediction', or 'prediction_0', ...). "
            "The model's input columns are found by name.")
    p.add_argument("model", metavar="MODEL.json")
    p.add_argument("data", metavar="DATA.csv")
    p.add_argument("--target", action="append", default=[], metavar="COL",
                   help="a column that is not an input (copied, not used); repeatable. Needed only "
                        "for models without column names")
    add_columns(p)
    p.add_argument("-o", "--output", metavar="OUT.csv", help="output file (default: stdout)")
    add_backend(p)
    p.set_defaults(func=cmd_predict)

    p = add("evaluate", "measure a model's loss (and accuracy, or R²) on a CSV file",
            "Print the model's loss on DATA; for classes also the accuracy, each class's "
            "precision, recall and F1, and the confusion matrix; for regression the MSE, MAE "
            "and R² in the targets' units. Columns are found by name.")
    p.add_argument("model", metavar="MODEL.json")
    p.add_argument("data", metavar="DATA.csv")
    p.add_argument("--target", action="append", default=[], metavar="COL",
                   help="a column the model predicts, in the order of its outputs; repeatable "
                        "(default: the target columns the model was trained on)")
    add_columns(p)
    add_backend(p)
    p.set_defaults(func=cmd_evaluate)

    p = add("info", "show the version, backends and, optionally, a model",
            "Show plainnet's version, the backends available here and the default, the C "
            "backend's build, and for MODEL.json its architecture and parameter count.")
    p.add_argument("model", metavar="MODEL.json", nargs="?", default=None)
    p.set_defaults(func=cmd_info)

    p = add("export", "write a model as standalone C or Python source, or ONNX",
            "Write MODEL as standalone source: C99 with NAME_predict(), or a Python module "
            "(math only) with predict(); both give the same numbers as plainnet. "
            "--lang onnx writes an ONNX model (opset 17) to the -o file, float64 or, with "
            "--precision float32, float32.")
    p.add_argument("model", metavar="MODEL.json")
    p.add_argument("--lang", choices=("c", "python", "onnx"), required=True, help="language to write")
    p.add_argument("-o", "--output", metavar="FILE", help="output file (default: stdout)")
    p.add_argument("--name", default=None,
                   help="prefix of the C names: NAME_predict, NAME_N_INPUTS (default: plainnet_model)")
    p.add_argument("--precision", choices=("float64", "float32"), default="float64",
                   help="C arithmetic: float64 (double, the same bits as plainnet) or float32 "
                        "(float, for single-precision FPUs such as the Cortex-M4F's); for --lang "
                        "onnx the graph's type: float64 or float32 weights, input and output "
                        "(default: %(default)s)")
    p.add_argument("--quantize", choices=("int8",), default=None,
                   help="C with int8 weights and integer arithmetic; needs --calibration")
    p.add_argument("--calibration", metavar="DATA.csv", default=None,
                   help="with --quantize: rows of typical inputs (CSV with a header; a model trained by "
                        "'plainnet train' picks its input columns by name) that fix each layer's range")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv=None):
    """Run the command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(argv + ["demo"])
    if args.command == "export" and args.lang != "c":
        for given, option in ((args.name is not None, "--name"),
                              (args.precision != "float64" and args.lang != "onnx", "--precision"),
                              (args.quantize is not None, "--quantize"),
                              (args.calibration is not None, "--calibration")):
            if given:
                args.usage_error("%s applies to --lang c only" % option
                                 if option != "--precision" else
                                 "--precision applies to --lang c and --lang onnx only")
    if args.command == "export" and (args.quantize is None) != (args.calibration is None):
        args.usage_error("--quantize int8 needs --calibration DATA.csv" if args.calibration is None
                         else "--calibration applies to --quantize only")
    if args.command == "export" and args.lang == "onnx" and args.output is None:
        args.usage_error("--lang onnx writes a binary file: give it with -o FILE")
    debug = args.debug
    try:
        return args.func(args)
    except KeyboardInterrupt:
        if debug:
            raise
        sys.stdout.flush()
        what = "; no model was written" if args.command == "train" else ""
        sys.stderr.write("%s: interrupted%s\n" % (PROG, what))
        return 130
    except BrokenPipeError:
        # The reader (e.g. `head`) went away: stop quietly, as other tools do.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except _EXPECTED as exc:
        if debug:
            raise
        sys.stderr.write("%s: error: %s\n" % (PROG, _one_line(exc)))
        return 1
    except Exception as exc:  # a bug: still one line, with a pointer to --debug
        if debug:
            raise
        sys.stderr.write("%s: error: unexpected %s: %s (run with --debug for the traceback)\n"
                         % (PROG, type(exc).__name__, _one_line(exc)))
        return 1


def _one_line(exc):
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = "%s: %s" % (exc.filename, exc.strerror)
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())
