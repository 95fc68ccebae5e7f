# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data files of the command line: format detection and reading."""

import contextlib
import csv
import io
import itertools
import os
import re
import sys
from dataclasses import dataclass

import numpy as np

from sparseclf.datasets import iter_fasttext, iter_xmc, load_fasttext, load_xmc
from sparseclf.datasets._io import _open_text
from sparseclf.datasets._xmc import _read_header

FORMATS = ("xmc", "fasttext", "csv", "tsv")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".xmc": "xmc",
    ".ft": "fasttext",
    ".fasttext": "fasttext",
}
_XMC_HEADER = re.compile(r"\s*\d+\s+\d+\s+\d+\s*")
STDIN = "standard input"


class CLIError(Exception):
    """An error of the user's input, reported as one line without a traceback."""


@dataclass
class Data:
    """A data file's samples.

    ``kind`` is ``"text"`` (``X`` a list of str; ``y`` an array of labels, a list
    of label lists for multi-label data, or None without labels) or ``"xmc"``
    (``X`` and ``y`` CSR matrices: features and label indicator).
    """

    kind: str
    X: object
    y: object


def detect_format(path, label_prefix="__label__"):
    """The format of ``path``: by its extension, else by its first line."""
    name = os.path.basename(os.fspath(path)).lower()
    for suffix in (".gz", ".bz2", ".xz"):
        name = name.removesuffix(suffix)
    ext = os.path.splitext(name)[1]
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    return _format_of_line(_first_line(path, path), path, label_prefix)


def _format_of_line(first, name, label_prefix):
    """The format whose first line ``first`` is: an XMC header or fastText."""
    if _XMC_HEADER.fullmatch(first):
        return "xmc"
    if label_prefix in first:
        return "fasttext"
    raise CLIError(
        f"cannot tell the format of {name}: its extension is not one of "
        f"{', '.join(sorted(_EXTENSIONS))} and its first line is neither an XMC "
        f"header nor fastText-labelled; pass --format {{{','.join(FORMATS)}}}"
    )


def _first_line(path, name):
    with _open_text(path) as stream:
        for line in stream:
            if line.strip():
                return line
    raise CLIError(f"{name} is empty")


def read_data(path, fmt=None, *, labels=True, **options):
    """Read ``path`` (a str; ``"-"`` for standard input) as a Data.

    Parameters
    ----------
    path : str
        The file; ``"-"``: standard input, one text per line for ``predict``
        (``labels=False``, no ``fmt``), else read as a file would be.
    fmt : {"xmc", "fasttext", "csv", "tsv"} or None
        The format; None detects it.
    labels : bool, default=True
        Whether the labels are required (fit, evaluate) or ignored (predict).
    **options
        ``label_prefix``, ``sep``, ``text_column``, ``label_column``, ``header``.

    Returns
    -------
    data : Data
    """
    prefix = options.get("label_prefix", "__label__")
    if path == "-" and not labels and fmt is None:
        data = Data("text", [line.rstrip("\r\n") for line in sys.stdin], None)
    elif path == "-":
        # Labelled data (or a format given): the readers need the lines twice.
        stream = io.StringIO(sys.stdin.read(), newline="\n")
        fmt = fmt or _format_of_line(_first_line(stream, STDIN), STDIN, prefix)
        stream.seek(0)
        data = _read(stream, fmt, labels, prefix, options, STDIN)
    else:
        fmt = fmt or detect_format(path, prefix)
        data = _read(path, fmt, labels, prefix, options, path)
    n = data.X.shape[0] if data.kind == "xmc" else len(data.X)
    if n == 0:
        raise CLIError(f"{STDIN if path == '-' else path} holds no samples")
    return data


def _read(path, fmt, labels, prefix, options, name):
    with _reading(name, fmt):
        if fmt == "xmc":
            X, Y = load_xmc(path)
            return Data("xmc", X, Y)
        if fmt == "fasttext":
            texts, tags = load_fasttext(
                path, label_prefix=prefix, allow_unlabeled=not labels
            )
            return Data("text", texts, _label_array(tags) if labels else None)
        sep = options.get("sep") or ("," if fmt == "csv" else "\t")
        return _read_delimited(path, sep, labels, options, name)


@contextlib.contextmanager
def _reading(name, fmt):
    """Turn the readers' errors into CLIErrors that name the file."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise CLIError(f"{name}: not UTF-8 text ({exc.reason})") from None
    except ValueError as exc:
        raise CLIError(f"{name}: {exc} (read as {fmt})") from None


def iter_data(path, fmt, chunk_size, *, labels=True, **options):
    """Yield the samples of the file ``path`` as Data of up to ``chunk_size``
    samples each, reading one chunk at a time (a path: it is read again at
    each call).

    As :func:`read_data`, but the labels of fastText files stay label lists
    (``y`` a list of lists) in every chunk, whether or not the file is
    multi-label; a file of zero samples gives one chunk of zero samples.
    ``fmt`` is one of FORMATS (see :func:`detect_format`).
    """
    with _reading(path, fmt):
        if fmt == "xmc":
            for X, Y in iter_xmc(path, chunk_size=chunk_size):
                yield Data("xmc", X, Y)
        elif fmt == "fasttext":
            prefix = options.get("label_prefix", "__label__")
            chunks = iter_fasttext(
                path,
                chunk_size=chunk_size,
                label_prefix=prefix,
                allow_unlabeled=not labels,
            )
            for texts, tags in chunks:
                yield Data("text", texts, tags if labels else None)
        else:
            sep = options.get("sep") or ("," if fmt == "csv" else "\t")
            chunks = _delimited_chunks(path, sep, labels, options, path, chunk_size)
            for texts, y in chunks:
                yield Data("text", texts, y)


def xmc_header(path):
    """``(n_samples, n_features, n_labels)`` of an XMC file's header line."""
    with _reading(path, "xmc"), _open_text(path) as stream:
        return _read_header(stream.readline())


def _label_array(tags):
    """One label per sample as an array, else the label lists (multi-label)."""
    if all(len(t) == 1 for t in tags):
        return np.asarray([t[0] for t in tags], dtype=str)
    return tags


def _read_delimited(path, sep, labels, options, name):
    # One chunk: the whole file.
    texts, y = next(_delimited_chunks(path, sep, labels, options, name, None))
    return Data("text", texts, y)


def _delimited_chunks(path, sep, labels, options, name, chunk_size):
    """Yield ``(texts, y)`` of up to ``chunk_size`` (None: all) rows of a
    CSV/TSV file; at least one chunk, if empty. ``y`` is None without labels."""
    header = options.get("header", True)
    # Tab-separated files (SST-2, the SMS Spam Collection) hold quote characters
    # as text; CSV files quote fields that contain the separator.
    quoting = csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL
    with _open_text(path) as stream:
        reader = csv.reader(stream, delimiter=sep, quoting=quoting, strict=True)
        try:
            first = next(reader, None)
            if first is None:
                raise CLIError(f"{name} is empty")
            names = first if header else [str(i) for i in range(len(first))]
            text_col, label_col = _columns(names, header, labels, options)
            rows = reader if header else itertools.chain([first], reader)
            texts, y, n_yielded = [], [], 0
            for lineno, row in enumerate(rows, start=2 if header else 1):
                if not row:
                    continue
                if len(row) != len(names):
                    raise ValueError(
                        f"line {lineno}: {len(row)} fields separated by {sep!r}, "
                        f"expected {len(names)} (quoted fields spanning lines "
                        "shift these numbers)"
                    )
                texts.append(row[text_col])
                if label_col is not None:
                    y.append(row[label_col])
                if len(texts) == chunk_size:
                    n_yielded += len(texts)
                    yield texts, np.asarray(y, dtype=str) if labels else None
                    texts, y = [], []
        except csv.Error as exc:
            raise ValueError(f"line {reader.line_num}: {exc}") from None
    if texts or not n_yielded:
        yield texts, np.asarray(y, dtype=str) if labels else None


def _columns(names, header, labels, options):
    """Indices of the text column and of the label column (None if unused)."""
    label_name = options.get("label_column")
    text_name = options.get("text_column")
    if label_name is None:
        label_name = "label" if header else "0"
    if text_name is None:
        text_name = "text" if header else "1"
    label_col = None
    if labels:
        label_col = _find_column(names, label_name, "label")
    text_col = _find_column(names, text_name, "text", required=False)
    if text_col is None and options.get("text_column") is None:
        # Two columns, one the labels: the other is the text (SST-2's
        # "label<TAB>sentence", the SMS Spam Collection's "Label<TAB>SMS").
        other = _find_column(names, label_name, "label", required=False)
        if len(names) == 2 and other is not None:
            text_col = 1 - other
    if text_col is None:
        text_col = _find_column(names, text_name, "text")
    return text_col, label_col


def _find_column(names, name, what, required=True):
    """Index of column ``name``: a header name (any case) or a 0-based index."""
    if name in names:
        return names.index(name)
    lower = [n.lower() for n in names]
    if name.lower() in lower:
        return lower.index(name.lower())
    if name.isdigit() and int(name) < len(names):
        return int(name)
    if not required:
        return None
    raise CLIError(
        f"no {what} column {name!r}; the columns are {names[:20]} (choose one with "
        f"--{what}-column NAME or a 0-based index)"
    )


def add_data_options(parser):
    """The options that describe a data file, on ``parser``."""
    group = parser.add_argument_group("data file")
    group.add_argument(
        "--format",
        choices=FORMATS,
        help="format of the data file (default: from its extension: .csv, .tsv, "
        ".xmc, .ft; else from its first line, an XMC header or a fastText label)",
    )
    group.add_argument(
        "--text-column",
        help="CSV/TSV: name (or 0-based index) of the text column (default: "
        "'text', or the only other column of a two-column file)",
    )
    group.add_argument(
        "--label-column",
        help="CSV/TSV: name (or 0-based index) of the label column (default: 'label')",
    )
    group.add_argument(
        "--sep", help="CSV/TSV: field separator (default: ',' for CSV, tab for TSV)"
    )
    group.add_argument(
        "--no-header",
        dest="header",
        action="store_false",
        help="CSV/TSV: the first line is data (columns are then 0-based indices; "
        "defaults: label 0, text 1)",
    )
    group.add_argument(
        "--label-prefix",
        default="__label__",
        help="fastText: the prefix of label words (default: %(default)s)",
    )


def data_options(args):
    """``read_data``'s keyword arguments from the parsed options."""
    return {
        "label_prefix": args.label_prefix,
        "sep": args.sep,
        "text_column": args.text_column,
        "label_column": args.label_column,
        "header": args.header,
    }


def match_columns(M, n_columns, what, path):
    """``M`` with ``n_columns`` columns: padded; too wide is an error for features."""
    if M.shape[1] < n_columns:
        M = M.copy()
        M.resize((M.shape[0], n_columns))
    elif M.shape[1] > n_columns and what is not None:
        raise CLIError(
            f"{path} has {M.shape[1]:,} {what}; the model was trained on {n_columns:,}"
        )
    return M
