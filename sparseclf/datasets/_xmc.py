# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Read and write the Extreme Classification Repository's text format."""

import re
from array import array
from math import isfinite
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array, check_scalar

from sparseclf.datasets._io import _open_text

_LABELS = re.compile(r"[0-9]+(?:,[0-9]+)*")
_ROWS_PER_WRITE = 4096
# Doubles from here on round to inf in float32 (float32 max plus half an ulp).
_FLOAT32_LIMIT = float(np.finfo(np.float32).max) + 2.0**103


def load_xmc(path):
    """Load a multi-label data set in the Extreme Classification Repository format.

    The text format of the Extreme Classification Repository: a header line
    ``n_samples n_features n_labels``, then one line per sample,
    ``l1,l2,... f:v f:v ...``, with 0-based label ids ``l`` and feature ids ``f``.
    A sample without labels starts with a space. The file is read line by line.

    Parameters
    ----------
    path : str, path-like or file object
        The file. Paths ending in ``.gz``, ``.bz2`` or ``.xz`` are decompressed on
        the fly. A file object may be text or binary (then decoded as UTF-8); it
        is read from its current position and left open.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features), float32
        Features, with sorted indices. Shape from the header.
    Y : scipy.sparse.csr_matrix of shape (n_samples, n_labels), int8
        Label indicator matrix (ones where a sample has a label). Shape from the
        header.

    Raises
    ------
    ValueError
        On a malformed header or line, naming the 1-based line number: a token
        that is not an id or an ``id:value`` pair, an id outside the range given
        by the header, the same id twice in a line, a non-finite value (or one
        beyond float32), or fewer or more sample lines than the header announces.

    See Also
    --------
    dump_xmc : Write this format.
    iter_xmc : Read the file in chunks, for files larger than memory.

    Notes
    -----
    A line may end in ``\\r\\n``; feature pairs may be separated by any run of
    whitespace. An empty line is a sample with neither labels nor features.

    Examples
    --------
    >>> import io
    >>> from sparseclf.datasets import load_xmc
    >>> X, Y = load_xmc(io.StringIO("2 4 3\\n0,2 1:0.5 3:2\\n 0:1\\n"))
    >>> X.toarray()
    array([[0. , 0.5, 0. , 2. ],
           [1. , 0. , 0. , 0. ]], dtype=float32)
    >>> Y.toarray()
    array([[1, 0, 1],
           [0, 0, 0]], dtype=int8)
    """
    with _open_text(path, "r") as stream:
        # One chunk: the whole file.
        return next(_xmc_chunks(stream, None))


def iter_xmc(path, *, chunk_size=10_000):
    """Read an Extreme Classification Repository file in chunks of samples.

    The chunks hold the rows of :func:`load_xmc`'s matrices, in file order,
    each with the header's ``n_features`` and ``n_labels`` columns: stacked
    (``scipy.sparse.vstack``), they are its result. The file is opened when the
    first chunk is asked for and read line by line, so memory holds one chunk
    at a time, whatever the size of the file. Iterate again (call again) to
    read the file again, e.g. once per epoch.

    Parameters
    ----------
    path : str, path-like or file object
        The file. Paths ending in ``.gz``, ``.bz2`` or ``.xz`` are decompressed on
        the fly. A file object may be text or binary (then decoded as UTF-8); it
        is read from its current position and left open.
    chunk_size : int, default=10_000
        Samples per chunk; the last chunk may hold fewer.

    Yields
    ------
    X : scipy.sparse.csr_matrix of shape (n_chunk, n_features), float32
        Features of up to ``chunk_size`` samples, with sorted indices.
    Y : scipy.sparse.csr_matrix of shape (n_chunk, n_labels), int8
        Their label indicator matrix. A file of zero samples gives one chunk of
        zero rows, which carries the header's shape.

    Raises
    ------
    ValueError
        As :func:`load_xmc`, with the line number in the whole file, when the
        chunk holding the problem is read (earlier chunks have been yielded): a
        malformed line, or more or fewer sample lines than the header announces
        (found at the end of the file). A bad ``chunk_size`` raises at the call.

    See Also
    --------
    load_xmc : Read the whole file at once.

    Examples
    --------
    >>> import io
    >>> from sparseclf.datasets import iter_xmc
    >>> f = io.StringIO("3 4 2\\n0 1:0.5\\n1 3:2\\n0,1 0:1\\n")
    >>> for X, Y in iter_xmc(f, chunk_size=2):
    ...     print(X.shape, Y.shape, Y.nnz)
    (2, 4) (2, 2) 2
    (1, 4) (1, 2) 2
    """
    check_scalar(chunk_size, "chunk_size", Integral, min_val=1)
    return _iter_xmc(path, chunk_size)


def _iter_xmc(path, chunk_size):
    with _open_text(path, "r") as stream:
        yield from _xmc_chunks(stream, chunk_size)


def _xmc_chunks(stream, chunk_size):
    """Yield ``(X, Y)`` of up to ``chunk_size`` (None: all) sample lines of
    ``stream`` after its header; at least one chunk, if of zero rows. The one
    parser of :func:`load_xmc` and :func:`iter_xmc`."""
    n_samples, n_features, n_labels = _read_header(stream.readline())
    shape = (n_features, n_labels)
    rows = _Rows()
    n_yielded = 0
    lineno = 1
    for lineno, line in enumerate(stream, start=2):
        try:
            if lineno - 1 > n_samples:
                raise ValueError(
                    f"more sample lines than n_samples={n_samples} announced in "
                    "the header"
                )
            rows.add(line, n_features, n_labels)
        except ValueError as exc:
            raise ValueError(f"line {lineno}: {exc}") from None
        if rows.n == chunk_size:
            n_yielded += rows.n
            yield rows.matrices(shape)
            rows = _Rows()

    n_read = n_yielded + rows.n
    if n_read < n_samples:
        raise ValueError(
            f"line {lineno + 1}: the file ends after {n_read} sample lines, but "
            f"the header announces n_samples={n_samples}"
        )
    if rows.n or not n_yielded:
        yield rows.matrices(shape)


class _Rows:
    """Sample lines parsed into CSR arrays, growing line by line."""

    def __init__(self):
        self.feat_ind, self.feat_val = array("q"), array("f")
        self.feat_ptr = array("q", [0])
        self.lab_ind, self.lab_ptr = array("q"), array("q", [0])

    @property
    def n(self):
        return len(self.feat_ptr) - 1

    def add(self, line, n_features, n_labels):
        """Parse one sample line (without its number; ValueError if malformed)."""
        line = line.rstrip("\r\n")
        if not line or line[0].isspace():
            labels, features = "", line
        else:
            labels, _, features = line.partition(" ")
        if labels:
            self.lab_ind.extend(_parse_labels(labels, n_labels))
        self.lab_ptr.append(len(self.lab_ind))
        ids, values = _parse_features(features.split(), n_features)
        self.feat_ind.extend(ids)
        self.feat_val.extend(values)
        self.feat_ptr.append(len(self.feat_ind))

    def matrices(self, shape):
        """``(X, Y)``: CSR features (float32) and label indicator (int8)."""
        n_features, n_labels = shape
        X = sp.csr_matrix(
            (
                np.array(self.feat_val, np.float32),
                np.array(self.feat_ind),
                np.array(self.feat_ptr),
            ),
            shape=(self.n, n_features),
        )
        Y = sp.csr_matrix(
            (
                np.ones(len(self.lab_ind), np.int8),
                np.array(self.lab_ind),
                np.array(self.lab_ptr),
            ),
            shape=(self.n, n_labels),
        )
        X.sort_indices()  # our own matrices: sorting in place is fine
        Y.sort_indices()
        return X, Y


def _read_header(line):
    fields = line.split()
    if (
        len(fields) != 3
        or not all(f.isascii() and f.isdigit() for f in fields)
        or max(int(f) for f in fields) >= 2**63
    ):
        raise ValueError(
            "line 1: expected the header 'n_samples n_features n_labels' "
            f"(three integers in [0, 2**63)), got {line.rstrip()[:40]!r}"
        )
    return tuple(int(f) for f in fields)


def _parse_labels(labels, n_labels):
    """Label ids of a line's comma-separated label list, checked."""
    if not _LABELS.fullmatch(labels):
        raise ValueError(
            f"bad label list {labels[:40]!r}: expected comma-separated label ids "
            "(a sample without labels starts with a space)"
        )
    ids = [int(t) for t in labels.split(",")]
    _check_ids(ids, n_labels, "label")
    return ids


def _parse_features(tokens, n_features):
    """Feature ids and values of a line's ``id:value`` tokens, checked."""
    try:
        pairs = [t.split(":") for t in tokens]
        ids = [int(i) for i, _ in pairs]
        values = [float(v) for _, v in pairs]
    except ValueError:
        for t in tokens:  # find the culprit for the message
            i, sep, v = t.partition(":")
            try:
                int(i), float(v)
            except ValueError:
                sep = ""
            if not sep or ":" in v:
                raise ValueError(
                    f"bad feature token {t[:40]!r}: expected 'id:value'"
                ) from None
        raise  # pragma: no cover - a token above fails
    if ids:
        _check_ids(ids, n_features, "feature")
        # sum() is NaN or inf if a value is; then min/max have no NaN to skip.
        if not (
            isfinite(sum(values))
            and -_FLOAT32_LIMIT < min(values)
            and max(values) < _FLOAT32_LIMIT
        ):
            v = next(v for v in values if not abs(v) < _FLOAT32_LIMIT)
            raise ValueError(f"non-finite value {v} (or a value beyond float32)")
    return ids, values


def _check_ids(ids, n_ids, what):
    """Raise a ValueError if an id is out of ``[0, n_ids)`` or repeated."""
    if min(ids) < 0 or max(ids) >= n_ids:
        i = next(i for i in ids if not 0 <= i < n_ids)
        raise ValueError(
            f"{what} id {i} out of range: the header announces n_{what}s={n_ids}"
        )
    if len(set(ids)) < len(ids):
        seen = set()
        i = next(i for i in ids if i in seen or seen.add(i))
        raise ValueError(f"{what} id {i} repeated")


def dump_xmc(X, Y, path):
    """Write a multi-label data set in the Extreme Classification Repository format.

    Writes the header ``n_samples n_features n_labels``, then one line
    ``l1,l2,... f:v f:v ...`` per sample (0-based ids in increasing order; a sample
    without labels starts with a space). :func:`load_xmc` reads the file back to
    the same matrices.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Features. Cast to float32 (the type :func:`load_xmc` returns) and written
        with 9 significant digits, which round-trips every float32 exactly. Stored
        zeros of a sparse ``X`` are written; duplicate entries are summed.
    Y : {array-like, sparse matrix} of shape (n_samples, n_labels)
        Label indicator matrix: every non-zero entry must be 1 (or True).
    path : str, path-like or file object
        Where to write. A path ending in ``.gz``, ``.bz2`` or ``.xz`` is
        compressed; an existing file is overwritten. A file object (text, or
        binary to receive UTF-8) is written at its current position and left open.

    Raises
    ------
    ValueError
        If ``X`` has a non-finite value (after the cast to float32), ``Y`` a value
        other than 0 and 1, or ``X`` and ``Y`` different numbers of rows.

    See Also
    --------
    load_xmc : Read this format.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from sparseclf.datasets import dump_xmc
    >>> f = io.StringIO()
    >>> dump_xmc(np.array([[0, 0.1], [2, 0]]), np.array([[1, 1, 0], [0, 0, 0]]), f)
    >>> print(f.getvalue(), end="")
    2 2 3
    0,1 1:0.100000001
     0:2
    """
    kw = dict(accept_sparse="csr", ensure_min_samples=0, ensure_min_features=0)
    with np.errstate(over="ignore"):
        X = check_array(X, dtype=np.float32, ensure_all_finite=False, **kw)
    Y = check_array(Y, dtype=None, **kw)
    X, Y = sp.csr_matrix(X), sp.csr_matrix(Y)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X and Y have different numbers of rows: {X.shape[0]} and {Y.shape[0]}"
        )
    if not np.isfinite(X.data).all():
        raise ValueError("X has non-finite values (or values beyond float32)")
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    Y = Y.copy()
    Y.sum_duplicates()
    Y.eliminate_zeros()
    if not (Y.data == 1).all():
        raise ValueError("Y must be a label indicator matrix of zeros and ones")

    with _open_text(path, "w") as stream:
        stream.write(f"{X.shape[0]} {X.shape[1]} {Y.shape[1]}\n")
        for start in range(0, X.shape[0], _ROWS_PER_WRITE):
            stop = min(start + _ROWS_PER_WRITE, X.shape[0])
            stream.writelines(_xmc_lines(X[start:stop], Y[start:stop]))


def _xmc_lines(X, Y):
    """The text lines of the rows of ``X`` and ``Y`` (CSR, canonical)."""
    x_ptr, x_ind, x_val = X.indptr, X.indices.tolist(), X.data.tolist()
    y_ptr, y_ind = Y.indptr, Y.indices.tolist()
    for i in range(X.shape[0]):
        labels = ",".join(map(str, y_ind[y_ptr[i] : y_ptr[i + 1]]))
        a, b = x_ptr[i], x_ptr[i + 1]
        features = " ".join([f"{j}:{v:.9g}" for j, v in zip(x_ind[a:b], x_val[a:b])])
        if labels and not features:
            yield labels + "\n"
        else:
            yield f"{labels} {features}\n"
