"""Numeric CSV tables for the command line: a header row of names, then data.

Every error names the file, the row (its 1-based line number, as an editor
shows it) and the column, because that is what someone needs to go and fix it.
"""

import csv
from math import isfinite

__all__ = ["CSVError", "Table", "read_table", "write_rows"]


class CSVError(ValueError):
    """A CSV file that cannot be used; the message says where and why."""


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


class Table:
    """The cells of a CSV file, as text: ``header``, ``rows`` and each row's line number."""

    __slots__ = ("path", "header", "rows", "lines")

    def __init__(self, path, header, rows, lines):
        self.path = path
        self.header = header
        self.rows = rows
        self.lines = lines

    def describe(self, col):
        name = self.header[col]
        return "column %r" % name if name else "column %d" % (col + 1)

    def find(self, name):
        """The position of the column called ``name``, or None."""
        return self.header.index(name) if name in self.header else None

    def index(self, name):
        """The position of the column called ``name``."""
        try:
            return self.header.index(name)
        except ValueError:
            raise CSVError(
                "%s: no column %r (the header has: %s)"
                % (self.path, name, ", ".join(repr(h) for h in self.header))
            ) from None

    def split(self, targets):
        """(feature columns, target columns) as positions; features are all the others."""
        target_cols = []
        for name in targets:
            col = self.index(name)
            if col in target_cols:
                raise CSVError("target column %r is given twice" % name)
            target_cols.append(col)
        features = [c for c in range(len(self.header)) if c not in target_cols]
        return features, target_cols

    def texts(self, col):
        """The cells of column ``col``, stripped of surrounding spaces."""
        return [row[col].strip() for row in self.rows]

    def numbers(self, cols):
        """The cells of columns ``cols`` as finite floats, one list per row."""
        out = []
        for row, line in zip(self.rows, self.lines):
            values = []
            for c in cols:
                text = row[c]
                try:
                    v = float(text)
                except ValueError:
                    problem = "empty cell, expected a number" if not text.strip() else "%r is not a number" % text
                    raise CSVError("%s, row %d, %s: %s" % (self.path, line, self.describe(c), problem)) from None
                if not isfinite(v):
                    raise CSVError(
                        "%s, row %d, %s: %r is not a finite number" % (self.path, line, self.describe(c), text)
                    )
                values.append(v)
            out.append(values)
        return out


def read_table(path, ignore=()):
    """Read ``path``: a header row, then at least one row with as many cells.

    Columns named in ``ignore`` are dropped (``""`` drops the unnamed ones).
    Blank lines are skipped.  Raises CSVError (or OSError, for a file that
    cannot be opened) with a message naming the file and the row.
    """
    try:
        f = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise CSVError("%s: no such file" % path) from None
    except IsADirectoryError:
        raise CSVError("%s: is a directory, not a CSV file" % path) from None
    except OSError as exc:
        raise CSVError("%s: cannot open: %s" % (path, exc.strerror or exc)) from None
    header = None
    rows, lines = [], []
    line = 1
    with f:
        reader = csv.reader(f, strict=True)
        try:
            for cells in reader:
                start, line = line, reader.line_num + 1
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue
                if header is None:
                    full = [c.strip() for c in cells]
                    unknown = [name for name in ignore if name not in full]
                    if unknown:
                        raise CSVError("%s: --ignore names no column %s (the header has: %s)"
                                       % (path, ", ".join(map(repr, unknown)), ", ".join(map(repr, full))))
                    keep = [c for c, name in enumerate(full) if name not in ignore]
                    header = [full[c] for c in keep]
                    if not header:
                        raise CSVError("%s: every column is ignored" % path)
                    _check_header(path, full, keep, start)
                    continue
                if len(cells) != len(full):
                    raise CSVError(
                        "%s, row %d: %d cell%s, but the header has %d columns"
                        % (path, start, len(cells), "" if len(cells) == 1 else "s", len(full))
                    )
                rows.append(cells if len(keep) == len(full) else [cells[c] for c in keep])
                lines.append(start)
        except UnicodeDecodeError as exc:
            raise CSVError("%s: not UTF-8 text (%s)" % (path, exc.reason)) from None
        except csv.Error as exc:
            raise CSVError("%s, row %d: malformed CSV: %s" % (path, line, exc)) from None
    if header is None:
        raise CSVError("%s: the file is empty; expected a header row of column names" % path)
    if not rows:
        raise CSVError("%s: no data rows after the header" % path)
    return Table(path, header, rows, lines)


def _check_header(path, full, keep, line):
    """Refuse a header of numbers, and (among the columns kept) empty or repeated names."""
    if all(_is_number(full[c]) for c in keep):
        raise CSVError(
            "%s, row %d: expected a header row of column names, found numbers: add a header row"
            % (path, line)
        )
    seen = {}
    for col in keep:
        name = full[col]
        if not name:
            hint = (" (a pandas index? write the file with df.to_csv(path, index=False))"
                    if col == 0 else "")
            raise CSVError(
                "%s, row %d: column %d has no name%s; name it, or leave the unnamed "
                "columns out with --ignore ''" % (path, line, col + 1, hint))
        if name in seen:
            raise CSVError(
                "%s, row %d: column name %r appears twice (columns %d and %d): names must be "
                "unique, or leave one out with --ignore" % (path, line, name, seen[name] + 1, col + 1)
            )
        seen[name] = col


def write_rows(stream, header, rows):
    """Write a header and rows to a text stream opened with ``newline=''``."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
