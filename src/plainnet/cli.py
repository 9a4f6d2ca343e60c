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

from . import _backends, _registry
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


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number, got %r" % text) from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError("must be at least 0 and below 1, got %r" % text)
    return value


def _columns_for(net, table, targets):
    """(feature columns, target columns) of ``table`` for ``net``, as positions.

    With ``--target`` the features are all other columns.  Without it, a model
    that knows its column names (every model ``plainnet train`` writes) picks
    its inputs and outputs by name; other columns are left alone.
    """
    names = net.column_names
    if targets or names is None:
        return table.split(targets)
    features = [table.index(name) for name in names["inputs"]]
    outputs = [c for c in (table.find(name) for name in names["outputs"]) if c is not None]
    return features, outputs


def _data_for(net, table, targets):
    """(features, target rows) from ``table`` for ``net``, with clear errors on a mismatch."""
    features, target_cols = _columns_for(net, table, targets)
    if not target_cols:
        raise CommandError("%s: no target columns: name them with --target" % table.path)
    n_in, n_out = net.sizes[0], net.sizes[-1]
    if len(target_cols) != n_out:
        raise CommandError("the model has %d output(s), but %d target column(s) were given"
                           % (n_out, len(target_cols)))
    if len(features) != n_in:
        raise CommandError(
            "%s: %d feature column(s) (%s), but the model takes %d input(s)"
            % (table.path, len(features), ", ".join(repr(table.header[c]) for c in features), n_in))
    return table.numbers(features), table.numbers(target_cols)


def _train(args, net, X, T, header):
    """Train with progress on stderr (unless --quiet); returns the History."""
    options = dict(epochs=args.epochs, learning_rate=args.learning_rate, scale=args.scale,
                   validation_split=args.validation_split, optimizer=args.optimizer,
                   batch_size=args.batch_size, shuffle=args.shuffle,
                   early_stopping=args.early_stopping or False)
    if args.quiet:
        return net.train(X, T, **options)
    stream = sys.stderr
    progress = Progress(stream, args.epochs, stream.isatty(), header)
    try:
        return net.train(X, T, callback=lambda epoch, loss: progress.update(epoch + 1, loss), **options)
    finally:
        progress.close()


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
    table = read_table(args.data)
    features, target_cols = table.split(args.target)
    if not features:
        raise CommandError("%s: every column is a target; no feature columns are left" % args.data)
    X, T = table.numbers(features), table.numbers(target_cols)
    output_activation = args.output_activation
    if output_activation is None:
        output_activation = _registry.loss(args.loss).output
    if output_activation == "softmax" and len(target_cols) < 2:
        raise CommandError("a softmax output needs two or more target columns (one-hot), got 1: "
                           "its single output would always be 1")
    sizes = [len(features)] + args.hidden + [len(target_cols)]
    net = _network_from(args, sizes, args.activation, output_activation, args.loss)
    net.set_column_names([table.header[c] for c in features], [table.header[c] for c in target_cols])
    held_out = " (the last %g held out for validation)" % args.validation_split if args.validation_split else ""
    header = "training %r on %d rows%s for %d epochs" % (net, len(X), held_out, args.epochs)
    history = _train(args, net, X, T, header)
    net.save(args.output)
    if args.plot is not None:
        from ._plot import write_svg
        write_svg(args.plot, history, title="%r %s on %s" % (net.sizes, args.activation, os.path.basename(args.data)),
                  ylabel="loss (%s)" % net.loss_name)
    out = sys.stdout
    out.write("loss (%s) in the last epoch: %r\n" % (net.loss_name, history[-1]))
    val_loss = getattr(history, "val_loss", None)
    if val_loss:
        out.write("validation loss (%s): %r\n" % (net.loss_name, val_loss[-1]))
    out.write("saved %s\n" % args.output)
    return 0


def cmd_predict(args):
    net = _load_model(args)
    table = read_table(args.data)
    features, _ = _columns_for(net, table, args.target)
    n_in = net.sizes[0]
    if len(features) != n_in:
        hint = "" if args.target else " (name columns to leave out with --target)"
        raise CommandError("%s: %d input column(s), but the model takes %d%s"
                           % (args.data, len(features), n_in, hint))
    outputs = net.predict(table.numbers(features))
    n_out = net.sizes[-1]
    names = ["prediction"] if n_out == 1 else ["prediction_%d" % k for k in range(n_out)]
    header = list(table.header) + _unique(names, table.header)
    rows = [list(row) + [repr(v) for v in y] for row, y in zip(table.rows, outputs)]
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
        while name in taken:
            name += "_"
        out.append(name)
    return out


def _classes(net, T):
    """Class of each target row, and the class names, if this is a classification task."""
    if len(T[0]) == 1:
        if net.activations[-1] == "sigmoid" and all(t[0] in (0.0, 1.0) for t in T):
            return [int(t[0]) for t in T]
        return None
    if all(sorted(t) == [0.0] * (len(t) - 1) + [1.0] for t in T):
        return [t.index(1.0) for t in T]
    return None


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
    table = read_table(args.data)
    X, T = _data_for(net, table, args.target)
    out = sys.stdout
    out.write("rows: %d\n" % len(X))
    out.write("loss (%s): %r\n" % (net.loss_name, net.loss(X, T)))
    truth = _classes(net, T)
    if truth is None:
        return 0
    predicted = [_predicted_class(y) for y in net.predict(X)]
    if len(T[0]) == 1:
        labels = ["0", "1"]
    else:
        labels = [table.header[c] for c in _columns_for(net, table, args.target)[1]]
    n = len(labels)
    matrix = [[0] * n for _ in range(n)]
    for t, p in zip(truth, predicted):
        matrix[t][p] += 1
    right = sum(matrix[k][k] for k in range(n))
    out.write("accuracy: %.4f (%d of %d)\n" % (right / len(truth), right, len(truth)))
    out.write("confusion matrix (rows: true class, columns: predicted class):\n")
    width = max([len(s) for s in labels] + [len(str(len(truth)))])
    out.write("  " + " " * width + "".join("  %*s" % (width, s) for s in labels) + "\n")
    for label, row in zip(labels, matrix):
        out.write("  %*s" % (width, label) + "".join("  %*d" % (width, c) for c in row) + "\n")
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
    net = _load_model(args)
    if args.lang == "onnx":  # binary: a file only, written atomically
        _check_writable(args.output)
        from ._onnx import model_bytes
        write_atomically(args.output, model_bytes(net))
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

    p = add("train", "train a network on a CSV file and save it",
            "Train a network on DATA, a CSV file with a header row: the --target columns "
            "are what to predict, every other column is an input. Progress goes to stderr; "
            "the model is written only once training has finished.")
    p.add_argument("data", metavar="DATA.csv", help="training data")
    p.add_argument("--target", action="append", required=True, metavar="COL",
                   help="a column to predict; repeat for several outputs")
    p.add_argument("--hidden", type=_parse_hidden, default=[8], metavar="N,N,...",
                   help="hidden layer widths, e.g. 8,4, or 'none' (default: 8)")
    p.add_argument("--activation", choices=_registry.hidden_activations(), default="sigmoid",
                   help="activation of the hidden layers (default: %(default)s)")
    p.add_argument("--output-activation", choices=list(_registry.ACTIVATIONS), default=None,
                   help="activation of the output layer (default: softmax for categorical_crossentropy, "
                        "sigmoid for binary_crossentropy, else --activation)")
    p.add_argument("--loss", choices=list(_registry.LOSSES), default="mse", help="loss to minimise (default: %(default)s)")
    p.add_argument("--epochs", type=_positive_int, default=1000, help="passes over the data (default: %(default)s)")
    p.add_argument("--learning-rate", type=_positive_float, default=0.1, help="step size (default: %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="seed for the initial weights (default: random)")
    add_backend(p)
    p.add_argument("--scale", action="store_true",
                   help="standardise each input column (mean 0, standard deviation 1, learned from the "
                        "training rows and saved in the model)")
    p.add_argument("--validation-split", type=_fraction, default=0.0, metavar="F",
                   help="hold out the last fraction F of the rows and report their loss")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                   help="sgd, momentum (0.9) or adam (default: %(default)s)")
    p.add_argument("--batch-size", type=_positive_int, default=1, metavar="N",
                   help="rows per update (default: %(default)s, per sample)")
    p.add_argument("--shuffle", action="store_true", help="visit the rows in a new seeded order each epoch")
    p.add_argument("--init", choices=INITS, default="normal",
                   help="initial weights: normal (the tutorial's), xavier or he (default: %(default)s)")
    p.add_argument("--early-stopping", type=_positive_int, default=0, metavar="PATIENCE",
                   help="with --validation-split: stop after PATIENCE epochs without a better "
                        "validation loss, keeping the best weights")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.json", help="where to save the model")
    p.add_argument("--plot", default=None, metavar="CURVE.svg",
                   help="also write the training (and validation) loss per epoch as an SVG chart")
    p.set_defaults(func=cmd_train)

    p = add("predict", "write a model's predictions for a CSV file",
            "Write DATA's columns plus one prediction column per model output "
            "('prediction', or 'prediction_0', 'prediction_1', ...) as CSV.")
    p.add_argument("model", metavar="MODEL.json")
    p.add_argument("data", metavar="DATA.csv")
    p.add_argument("--target", action="append", default=[], metavar="COL",
                   help="a column that is not an input (copied, not used); repeatable. Without "
                        "it, a model trained by 'plainnet train' finds its input columns by name")
    p.add_argument("-o", "--output", metavar="OUT.csv", help="output file (default: stdout)")
    add_backend(p)
    p.set_defaults(func=cmd_predict)

    p = add("evaluate", "measure a model's loss (and accuracy) on a CSV file",
            "Print the model's loss on DATA; for classification (one sigmoid output with 0/1 "
            "targets, or one-hot targets) also the accuracy and the confusion matrix.")
    p.add_argument("model", metavar="MODEL.json")
    p.add_argument("data", metavar="DATA.csv")
    p.add_argument("--target", action="append", default=[], metavar="COL",
                   help="a column the model predicts, in the order of its outputs; repeatable "
                        "(default: the target columns the model was trained on)")
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
            "--lang onnx writes a float64 ONNX model (opset 17) to the -o file.")
    p.add_argument("model", metavar="MODEL.json")
    p.add_argument("--lang", choices=("c", "python", "onnx"), required=True, help="language to write")
    p.add_argument("-o", "--output", metavar="FILE", help="output file (default: stdout)")
    p.add_argument("--name", default=None,
                   help="prefix of the C names: NAME_predict, NAME_N_INPUTS (default: plainnet_model)")
    p.add_argument("--precision", choices=("float64", "float32"), default="float64",
                   help="C arithmetic: float64 (double, the same bits as plainnet) or float32 "
                        "(float, for single-precision FPUs such as the Cortex-M4F's) (default: %(default)s)")
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
        for given, option in ((args.name is not None, "--name"), (args.precision != "float64", "--precision"),
                              (args.quantize is not None, "--quantize"),
                              (args.calibration is not None, "--calibration")):
            if given:
                args.usage_error("%s applies to --lang c only" % option)
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
