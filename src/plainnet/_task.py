"""What the command line learns from a table's target columns: the task.

``infer`` looks at the target columns of a CSV table and chooses

- classes (one column of text, or of a few distinct integers): one-hot
  targets, a softmax output and categorical cross-entropy; the class names
  are saved in the model;
- binary classification (one column of two values): a sigmoid output and
  binary cross-entropy; the two labels are saved in the model;
- one-hot classes or multi-label (several 0/1 columns), as the rows show;
- regression (anything else): a linear output and mse, on standardised
  targets (the network maps its predictions back).

It also holds the measures ``evaluate`` prints.  Nothing here prints.
"""

from math import isfinite

__all__ = ["Task", "infer", "MAX_CLASSES", "label", "classifier_kind", "class_report",
           "regression_report"]

#: One column of integers with at most this many distinct values is taken for classes.
MAX_CLASSES = 20


def _number(text):
    try:
        v = float(text)
    except ValueError:
        return None
    return v if isfinite(v) else None


def label(text):
    """The canonical name of a class label: a number as its shortest form ("1.0" -> "1")."""
    text = text.strip()
    v = _number(text)
    if v is None:
        return text
    return str(int(v)) if v.is_integer() else repr(v)


def _sorted_labels(labels):
    numbers = [_number(x) for x in labels]
    if all(v is not None for v in numbers):
        return [x for _, x in sorted(zip(numbers, labels))]
    return sorted(labels)


def _listing(values, most=5):
    shown = ", ".join(repr(v) for v in values[:most])
    return shown + (", ..." if len(values) > most else "")


class Task:
    """The task chosen for a table: what to train and the line that says why."""

    def __init__(self, kind, reason, targets, output, loss, output_names, column=None, classes=None):
        self.kind = kind              # "classes", "binary", "onehot", "multilabel" or "regression"
        self.reason = reason          # the line the command line prints
        self.targets = targets        # target rows of floats, ready for Network.train
        self.output = output          # output activation
        self.loss = loss
        self.output_names = output_names
        self.column = column          # the one target column of "classes" and "binary"
        self.classes = classes        # class names of "classes" and "binary"

    @property
    def is_classifier(self):
        return self.kind != "regression"


def infer(table, target_cols, forced=None):
    """The :class:`Task` for ``table``'s columns ``target_cols``; ``forced`` is
    None, "classify" or "regress" (``--task``).  Raises ValueError for targets
    that fit no task."""
    names = [table.header[c] for c in target_cols]
    if len(target_cols) == 1:
        return _one_column(table, target_cols[0], forced)
    T = table.numbers(target_cols)
    binary = all(v in (0.0, 1.0) for row in T for v in row)
    quoted = ", ".join(repr(n) for n in names)
    if forced == "regress" or (not binary and forced is None):
        why = "as --task regress asks" if forced else "they hold numbers other than 0 and 1"
        return _regression(T, names, "columns %s: %s" % (quoted, why))
    if not binary:
        raise ValueError("--task classify with several target columns needs them to hold 0 and 1 "
                         "(one-hot classes or labels); columns %s hold other numbers" % quoted)
    if all(sum(row) == 1.0 for row in T):
        return Task("onehot", "task: classification into %d classes, the target columns (columns %s "
                    "are one-hot: 0 or 1, one 1 in each row): softmax output, categorical "
                    "cross-entropy" % (len(names), quoted),
                    T, "softmax", "categorical_crossentropy", names)
    return Task("multilabel", "task: multi-label classification, one yes/no label per column (columns "
                "%s hold 0 and 1, and some rows have several 1s or none): sigmoid outputs, binary "
                "cross-entropy" % quoted, T, "sigmoid", "binary_crossentropy", names)


def _one_column(table, col, forced):
    name = table.header[col]
    texts = table.texts(col)
    for row, (text, line) in enumerate(zip(texts, table.lines)):
        if not text:
            raise ValueError("%s, row %d, column %r: empty target cell" % (table.path, line, name))
    numbers = [_number(t) for t in texts]
    numeric = all(v is not None for v in numbers)
    if forced == "regress":
        return _regression(table.numbers([col]), [name], "column %r: as --task regress asks" % name)
    labels = [label(t) for t in texts]
    distinct = _sorted_labels(sorted(set(labels)))
    integers = numeric and all(v.is_integer() for v in numbers)
    if forced == "classify":
        why = "as --task classify asks"
    elif not numeric:
        why = "it holds text"
    elif len(distinct) == 2:
        why = "it holds two values"
    elif integers and len(distinct) <= MAX_CLASSES:
        why = "it holds %d distinct integers, at most %d" % (len(distinct), MAX_CLASSES)
    else:
        why = ("it holds %d distinct integers, more than %d" % (len(distinct), MAX_CLASSES) if integers
               else "it holds numbers that are not all integers")
        return _regression(table.numbers([col]), [name], "column %r: %s" % (name, why))
    if len(distinct) < 2:
        raise ValueError("%s: target column %r holds one value only (%r): nothing to learn"
                         % (table.path, name, distinct[0]))
    index = {c: k for k, c in enumerate(distinct)}
    if len(distinct) == 2:
        positive = distinct[1]
        targets = [[1.0 if x == positive else 0.0] for x in labels]
        return Task("binary", "task: binary classification, %s or %s (column %r: %s): sigmoid output, "
                    "binary cross-entropy, predicting %r when the output is above 0.5"
                    % (repr(distinct[0]), repr(positive), name, why, positive),
                    targets, "sigmoid", "binary_crossentropy", ["%s=%s" % (name, positive)],
                    column=name, classes=distinct)
    k = len(distinct)
    targets = []
    for x in labels:
        row = [0.0] * k
        row[index[x]] = 1.0
        targets.append(row)
    return Task("classes", "task: classification into %d classes, %s (column %r: %s): one-hot, "
                "softmax output, categorical cross-entropy" % (k, _listing(distinct), name, why),
                targets, "softmax", "categorical_crossentropy",
                ["%s=%s" % (name, c) for c in distinct], column=name, classes=distinct)


def _regression(T, names, why):
    return Task("regression", "task: regression (%s): linear output, mse on standardised targets, "
                "predictions mapped back to the targets' units" % why,
                T, "linear", "mse", names)


# -- what a trained model is ---------------------------------------------------

def classifier_kind(net):
    """"classes" (class names saved), "onehot" (softmax), "labels" (sigmoid
    outputs with binary cross-entropy) or None (regression, or unknown)."""
    if net.classes is not None:
        return "classes"
    if net.activations[-1] == "softmax":
        return "onehot"
    if net.activations[-1] == "sigmoid" and net.loss_name == "binary_crossentropy":
        return "labels"
    return None


# -- measures ----------------------------------------------------------------

def class_report(truth, predicted, names):
    """Lines reporting accuracy, per-class precision, recall and F1, and the
    confusion matrix, for class indices ``truth`` and ``predicted``."""
    n = len(names)
    matrix = [[0] * n for _ in range(n)]
    for t, p in zip(truth, predicted):
        matrix[t][p] += 1
    total = len(truth)
    right = sum(matrix[k][k] for k in range(n))
    lines = ["accuracy: %.4f (%d of %d)" % (right / total, right, total)]
    width = max([len(s) for s in names] + [len("class")])
    lines.append("  %-*s  precision  recall      f1  support" % (width, "class"))
    for k, name in enumerate(names):
        said = sum(matrix[j][k] for j in range(n))
        actual = sum(matrix[k])
        precision = matrix[k][k] / said if said else 0.0
        recall = matrix[k][k] / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        lines.append("  %-*s  %9.4f  %6.4f  %6.4f  %7d" % (width, name, precision, recall, f1, actual))
    lines.append("confusion matrix (rows: true class, columns: predicted class):")
    width = max([len(s) for s in names] + [len(str(total))])
    lines.append("  " + " " * width + "".join("  %*s" % (width, s) for s in names))
    for name, row in zip(names, matrix):
        lines.append("  %*s" % (width, name) + "".join("  %*d" % (width, c) for c in row))
    return lines


def regression_report(T, P, names):
    """Lines with MSE, MAE and R² of predictions ``P`` for targets ``T``, per output."""
    lines = []
    for k, name in enumerate(names):
        t = [row[k] for row in T]
        p = [row[k] for row in P]
        n = len(t)
        mse = sum((a - b) ** 2 for a, b in zip(t, p)) / n
        mae = sum(abs(a - b) for a, b in zip(t, p)) / n
        mean = sum(t) / n
        ss_tot = sum((a - mean) ** 2 for a in t)
        r2 = 1.0 - mse * n / ss_tot if ss_tot > 0.0 else float("nan")
        prefix = "" if len(names) == 1 else "%s: " % name
        lines.append("%smse: %.6g" % (prefix, mse))
        lines.append("%smae: %.6g" % (prefix, mae))
        lines.append("%sr2: %.4f" % (prefix, r2))
    return lines
