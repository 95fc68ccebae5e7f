# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Locality-sensitive hashing: SimHash, DWTA, the hash tables and their queries.

Thin wrappers of the hashing and table kernels: they validate, cast to the exact
dtypes the compiled kernels export, draw all randomness from a
``numpy.random.RandomState`` and allocate outputs. Only this module knows how
:class:`LSHTables` lays its buckets out. Every object here holds plain NumPy
arrays, so models that contain them pickle without custom code.
"""

import math
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from sparseclf._csr import csr_arrays
from sparseclf._kernels import _tables, load
from sparseclf._parallel import MIN_ROWS_PER_THREAD, threads_for

_dwta = load("_dwta")
_simhash = load("_simhash")

# Rows of a dense batch projected at once by BLAS before packing (bounds memory).
_CHUNK_ROWS = 16384
_PRIME = 2147483647


def _threads_for(n_rows, n_threads):
    return threads_for(n_rows, n_threads, MIN_ROWS_PER_THREAD)


def _check_hash_params(dim, n_bits, n_tables, range_pow, code_bits):
    for name, value, low in [
        ("dim", dim, 1),
        ("n_bits", n_bits, 1),
        ("n_tables", n_tables, 1),
        ("range_pow", range_pow, 1),
    ]:
        if not isinstance(value, Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    if range_pow > 30:
        raise ValueError(f"range_pow must be <= 30, got {range_pow}.")
    if n_bits * code_bits > 62:
        raise ValueError(
            f"n_bits * bits per code must be <= 62, got {n_bits} * {code_bits}."
        )


def _as_rows(X, dim):
    """X as a C-contiguous float32 2-D array or a float32 CSR matrix, checked."""
    if sp.issparse(X):
        X = X.tocsr()
        if X.ndim != 2 or X.shape[1] != dim:
            raise ValueError(f"X has shape {X.shape}; expected (n, {dim}).")
        data, indices, indptr = csr_arrays(X)
        if not np.isfinite(data).all():
            raise ValueError("X contains NaN or infinity.")
        if indices.size and (indices.min() < 0 or indices.max() >= dim):
            raise ValueError("X has column indices out of range.")
        return data, indices, indptr
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim == 1:
        X = X.reshape(1, -1)
    if X.ndim != 2 or X.shape[1] != dim:
        raise ValueError(f"X has shape {X.shape}; expected (n, {dim}).")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity.")
    return X


class SimHash:
    """Signed random projections: ``n_bits`` sign bits per table, ``n_tables`` tables.

    Projections are sparse, as in SLIDE: each entry is +1 or -1 with probability
    ``density / 2`` each, else 0 (``density=1`` gives dense Rademacher planes).

    Parameters
    ----------
    dim : int
        Dimension of the hashed vectors.
    n_bits : int
        Sign bits (hashes) per table, K.
    n_tables : int
        Number of tables, L.
    range_pow : int
        Bucket ids lie in ``[0, 2**range_pow)``; codes of more bits are XOR-folded.
    density : float, default=1/3
        Fraction of non-zero projection entries.
    random_state : int, RandomState instance or None, default=None
        Seeds the projections.

    Attributes
    ----------
    planes_t : ndarray of shape (dim, n_bits * n_tables), float32
        The projections, one column per hash.

    Examples
    --------
    >>> import numpy as np
    >>> from sparseclf import SimHash
    >>> X = np.random.RandomState(0).standard_normal((5, 16))
    >>> h = SimHash(16, n_bits=4, n_tables=3, range_pow=4, random_state=0)
    >>> h.hash(X).shape
    (5, 3)
    >>> bool((h.hash(X) == h.hash(2 * X)).all())  # sign bits: scale-free
    True
    """

    code_bits = 1

    def __init__(
        self, dim, n_bits, n_tables, range_pow, *, density=1 / 3, random_state=None
    ):
        _check_hash_params(dim, n_bits, n_tables, range_pow, 1)
        if not 0 < density <= 1:
            raise ValueError(f"density must be in (0, 1], got {density!r}.")
        self.dim, self.n_bits, self.n_tables = dim, n_bits, n_tables
        self.range_pow = range_pow
        rng = check_random_state(random_state)
        shape = (dim, n_bits * n_tables)
        signs = np.where(rng.random_sample(shape) < 0.5, -1.0, 1.0)
        self.planes_t = np.ascontiguousarray(
            signs * (rng.random_sample(shape) < density), dtype=np.float32
        )

    def hash(self, X, n_threads=1):
        """Bucket ids of the rows of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n, dim)
            Dense rows or CSR rows (any index dtype).
        n_threads : int, default=1
            OpenMP threads.

        Returns
        -------
        buckets : ndarray of shape (n, n_tables), int32
            A transposed view of a table-major array: the layout
            :meth:`LSHTables.build` reads without a copy.
        """
        rows = _as_rows(X, self.dim)
        if isinstance(rows, tuple):
            data, indices, indptr = rows
            n = indptr.shape[0] - 1
            return _simhash.simhash_csr(
                data,
                indices,
                indptr,
                self.planes_t,
                self.n_tables,
                self.n_bits,
                self.range_pow,
                _threads_for(n, n_threads),
            ).T
        out = np.empty((self.n_tables, rows.shape[0]), dtype=np.int32)
        for start in range(0, rows.shape[0], _CHUNK_ROWS):
            chunk = rows[start : start + _CHUNK_ROWS]
            proj_t = self.planes_t.T @ chunk.T  # BLAS, (n_hashes, rows) C-ordered
            out[:, start : start + _CHUNK_ROWS] = _simhash.pack_signs(
                # One thread: OpenBLAS workers still spin on the cores after the
                # product, and a second OpenMP thread waiting for a core made this
                # step up to 2x slower (benchmarks/bench_lsh.py).
                proj_t,
                self.n_tables,
                self.n_bits,
                self.range_pow,
                1,
            )
        return out.T


class DWTAHash:
    """Densified winner-take-all hashing (Chen & Shrivastava, 2018).

    Each of the ``n_bits * n_tables`` hashes reads a bin of ``bin_size`` coordinates,
    drawn by concatenated random permutations of ``range(dim)``, and returns the
    position of the largest non-zero value in the bin. Empty bins borrow the code of
    a non-empty bin found by seeded random probing; see :mod:`sparseclf._kernels._dwta`.

    Parameters
    ----------
    dim : int
        Dimension of the hashed vectors.
    n_bits : int
        Hashes per table, K; each contributes ``ceil(log2(bin_size))`` bits.
    n_tables : int
        Number of tables, L.
    range_pow : int
        Bucket ids lie in ``[0, 2**range_pow)``; codes of more bits are XOR-folded.
    bin_size : int, default=8
        Coordinates per bin.
    max_probes : int, default=32
        Random probes tried for an empty bin before the fallback.
    random_state : int, RandomState instance or None, default=None
        Seeds the permutations and the probe hash.

    Attributes
    ----------
    bins : ndarray of shape (n_bits * n_tables, bin_size), int32
        The coordinates each hash reads.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from sparseclf import DWTAHash
    >>> X = np.random.RandomState(0).standard_normal((5, 16))
    >>> h = DWTAHash(16, n_bits=2, n_tables=4, range_pow=6, random_state=0)
    >>> buckets = h.hash(X)
    >>> buckets.shape, int(buckets.max()) < 2**6
    ((5, 4), True)
    >>> bool((h.hash(sp.csr_matrix(X)) == buckets).all())  # dense or CSR alike
    True
    """

    def __init__(
        self,
        dim,
        n_bits,
        n_tables,
        range_pow,
        *,
        bin_size=8,
        max_probes=32,
        random_state=None,
    ):
        if not isinstance(bin_size, Integral) or bin_size < 2:
            raise ValueError(f"bin_size must be an integer >= 2, got {bin_size!r}.")
        self.code_bits = int(bin_size - 1).bit_length()  # ceil(log2(bin_size))
        _check_hash_params(dim, n_bits, n_tables, range_pow, self.code_bits)
        self.dim, self.n_bits, self.n_tables = dim, n_bits, n_tables
        self.range_pow, self.bin_size, self.max_probes = range_pow, bin_size, max_probes
        rng = check_random_state(random_state)
        n_slots = n_bits * n_tables * bin_size
        perms = [rng.permutation(dim) for _ in range(math.ceil(n_slots / dim))]
        self.bins = (
            np.concatenate(perms)[:n_slots].astype(np.int32).reshape(-1, bin_size)
        )
        self.probe_seeds = rng.randint(1, _PRIME, size=3).astype(np.int64)
        # Inverse map for sparse rows: the slots each coordinate fills.
        flat = self.bins.ravel()
        self.slots = np.argsort(flat, kind="stable").astype(np.int64)
        self.slot_ptr = np.searchsorted(flat[self.slots], np.arange(dim + 1)).astype(
            np.int64
        )

    def hash(self, X, n_threads=1):
        """Bucket ids of the rows of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n, dim)
            Dense rows or CSR rows (any index dtype).
        n_threads : int, default=1
            OpenMP threads.

        Returns
        -------
        buckets : ndarray of shape (n, n_tables), int32
            A transposed view of a table-major array: the layout
            :meth:`LSHTables.build` reads without a copy.
        """
        rows = _as_rows(X, self.dim)
        if isinstance(rows, tuple):
            data, indices, indptr = rows
            n = indptr.shape[0] - 1
            return _dwta.dwta_csr(
                data,
                indices,
                indptr,
                self.slot_ptr,
                self.slots,
                self.bin_size,
                self.n_tables,
                self.n_bits,
                self.code_bits,
                self.range_pow,
                self.probe_seeds,
                self.max_probes,
                _threads_for(n, n_threads),
            ).T
        return _dwta.dwta_dense(
            rows,
            self.bins,
            self.n_tables,
            self.n_bits,
            self.code_bits,
            self.range_pow,
            self.probe_seeds,
            self.max_probes,
            _threads_for(rows.shape[0], n_threads),
        ).T


class LSHTables:
    """``n_tables`` hash tables of ``2**range_pow`` buckets of at most ``capacity`` ids.

    Stored flat: the ids of bucket ``k`` of table ``t`` are
    ``ids[t, offsets[t, k]:offsets[t, k + 1]]``.

    Parameters
    ----------
    n_tables : int
        Number of tables, L.
    range_pow : int
        log2 of the number of buckets per table.
    capacity : int, default=128
        Most ids a bucket keeps.
    policy : {"reservoir", "fifo"}, default="reservoir"
        Which ids an overflowing bucket keeps: a uniform random sample, or the last
        ``capacity`` inserted (in increasing id order).
    random_state : int, RandomState instance or None, default=None
        Seeds the reservoir draws of every :meth:`build`.

    Attributes
    ----------
    offsets : ndarray of shape (n_tables, 2**range_pow + 1), int32, or None
        Where each bucket's ids start in ``ids``.
    ids : ndarray of shape (n_tables, n_items), int32, or None
        The ids, bucket after bucket.
    n_items : int
        Number of items (neurons) inserted by the last build; 0 when empty.

    Examples
    --------
    >>> import numpy as np
    >>> from sparseclf import DWTAHash, LSHTables
    >>> W = np.random.RandomState(0).standard_normal((100, 16))
    >>> h = DWTAHash(16, n_bits=2, n_tables=4, range_pow=6, random_state=0)
    >>> tables = LSHTables(4, 6, capacity=100, random_state=0).build(h.hash(W))
    >>> indptr, ids = tables.query(h.hash(W[:2]))
    >>> 0 in ids[indptr[0] : indptr[1]]  # a vector finds itself
    True
    """

    def __init__(
        self,
        n_tables,
        range_pow,
        *,
        capacity=128,
        policy="reservoir",
        random_state=None,
    ):
        if policy not in ("reservoir", "fifo"):
            raise ValueError(f"policy must be 'reservoir' or 'fifo', got {policy!r}.")
        if not isinstance(capacity, Integral) or capacity < 1:
            raise ValueError(f"capacity must be an integer >= 1, got {capacity!r}.")
        _check_hash_params(1, 1, n_tables, range_pow, 1)
        self.n_tables, self.range_pow = n_tables, range_pow
        self.capacity, self.policy = capacity, policy
        self.rng = check_random_state(random_state)
        self.clear()

    def clear(self):
        """Empty every bucket."""
        self.offsets = None
        self.ids = None
        self.n_items = 0

    def _check_buckets(self, buckets):
        buckets = np.asarray(buckets, dtype=np.int32)
        if buckets.ndim != 2 or buckets.shape[1] != self.n_tables:
            raise ValueError(
                f"buckets has shape {buckets.shape}; expected (n, {self.n_tables})."
            )
        if buckets.size and (buckets.min() < 0 or buckets.max() >= 1 << self.range_pow):
            raise ValueError(f"bucket ids must lie in [0, 2**{self.range_pow}).")
        return buckets

    def build(self, buckets, n_threads=1):
        """Insert items ``0..n-1`` into the buckets given, replacing the contents.

        Parameters
        ----------
        buckets : ndarray of shape (n_items, n_tables), int
            Bucket id of each item in each table (from ``SimHash.hash`` or
            ``DWTAHash.hash``).
        n_threads : int, default=1
            OpenMP threads (one table per thread at a time).

        Returns
        -------
        self : LSHTables
        """
        buckets = self._check_buckets(buckets)
        seeds = self.rng.randint(1, _PRIME, size=self.n_tables).astype(np.int64)
        self.offsets, self.ids = _tables.build_tables(
            np.ascontiguousarray(buckets.T),
            1 << self.range_pow,
            self.capacity,
            self.policy == "fifo",
            seeds,
            max(1, min(n_threads, self.n_tables)),
        )
        self.n_items = buckets.shape[0]
        return self

    def query(self, buckets, *, return_counts=False, n_threads=1):
        """Union of each row's buckets over the tables.

        Parameters
        ----------
        buckets : ndarray of shape (n, n_tables), int
            Bucket ids of the query vectors.
        return_counts : bool, default=False
            Also return how many tables hold each id in the row's buckets.
        n_threads : int, default=1
            OpenMP threads.

        Returns
        -------
        indptr : ndarray of shape (n + 1,), int64
        ids : ndarray, int32
            Row ``i``'s ids are ``ids[indptr[i]:indptr[i + 1]]``, without repeats.
        counts : ndarray, int32
            Only with ``return_counts``: hits of each id.
        """
        buckets = self._check_buckets(buckets)
        n = buckets.shape[0]
        if self.ids is None:
            empty = np.empty(0, dtype=np.int32)
            out = (np.zeros(n + 1, dtype=np.int64), empty, empty.copy())
        else:
            out = _tables.query_tables(
                np.ascontiguousarray(buckets.T),
                self.offsets,
                self.ids,
                self.n_items,
                _threads_for(n, n_threads),
            )
        return out if return_counts else out[:2]


def active_sets(
    tables,
    buckets,
    lab_ptr,
    labels,
    pool,
    pool_start,
    m,
    n_out,
    n_threads=1,
    max_cand=None,
):
    """Active neurons per sample, (n, m) int32, and ``n_fixed`` (n,).

    A row holds the sample's labels ``labels[lab_ptr[i]:lab_ptr[i + 1]]``, then
    the ids in its ``buckets`` of ``tables`` (at most ``max_cand``; default: no
    cap but ``m``), then ``pool`` read cyclically from ``pool_start[i]``, then
    the neurons after the pool's last one; ``n_fixed`` counts the labels and
    candidates. ``tables`` and ``buckets`` may be None: no candidates.
    """
    n = pool_start.shape[0]
    if tables is None or tables.ids is None:
        buckets_t = np.empty((0, n), dtype=np.int32)
        offsets = np.zeros((0, 1), dtype=np.int32)
        ids = np.zeros((0, 1), dtype=np.int32)
    else:
        buckets_t = np.ascontiguousarray(buckets.T, dtype=np.int32)
        offsets, ids = tables.offsets, tables.ids
    return _tables.active_sets(
        buckets_t,
        offsets,
        ids,
        np.ascontiguousarray(lab_ptr, dtype=np.int64),
        np.ascontiguousarray(labels, dtype=np.int32),
        np.ascontiguousarray(pool, dtype=np.int64),
        np.ascontiguousarray(pool_start, dtype=np.int64),
        int(m),
        int(m if max_cand is None else max_cand),
        int(n_out),
        threads_for(n * m, n_threads),
    )
