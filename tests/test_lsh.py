# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""SimHash, DWTA and the hash tables against NumPy and plain-Python oracles."""

import pickle
from collections import defaultdict

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sparseclf import DWTAHash, LSHTables, SimHash

# ---------------------------------------------------------------- oracles


def fold(code, n_code_bits, range_pow):
    if n_code_bits <= range_pow:
        return code
    out = 0
    while code:
        out ^= code & ((1 << range_pow) - 1)
        code >>= range_pow
    return out


def pack(codes, n_tables, n_bits, code_bits, range_pow):
    """codes (n, n_tables * n_bits) of small ints -> bucket ids (n, n_tables)."""
    out = np.empty((codes.shape[0], n_tables), dtype=np.int64)
    for i, row in enumerate(codes):
        for t in range(n_tables):
            code = sum(
                int(row[t * n_bits + h]) << (h * code_bits) for h in range(n_bits)
            )
            out[i, t] = fold(code, n_bits * code_bits, range_pow)
    return out


def simhash_oracle(X, h):
    """sign(X @ P.T) by NumPy/SciPy, packed into bucket ids."""
    proj = X @ h.planes_t.astype(np.float64)
    proj = np.asarray(proj.todense() if sp.issparse(proj) else proj)
    return pack(proj > 0, h.n_tables, h.n_bits, 1, h.range_pow)


def dwta_oracle(x, h):
    """DWTA codes of one dense vector, straight from the definition, in plain Python."""
    n_hashes = h.bins.shape[0]
    raw = []
    for b in range(n_hashes):
        best, pos = None, -1
        for s, j in enumerate(h.bins[b]):
            v = float(x[j])
            if v != 0 and (best is None or v > best):
                best, pos = v, s
        raw.append(pos)
    nonempty = [b for b in range(n_hashes) if raw[b] >= 0]
    p = 2147483647
    a1, a2, a3 = (int(a) for a in h.probe_seeds)
    codes = []
    for b in range(n_hashes):
        c = raw[b]
        if c < 0 and not nonempty:
            c = 0
        elif c < 0:
            for probe in range(1, h.max_probes + 1):
                c = raw[(((b + 1) * a1 + probe * a2 + a3) % p) % n_hashes]
                if c >= 0:
                    break
            if c < 0:
                c = raw[nonempty[(((b + 1) * a1 + a3) % p) % len(nonempty)]]
        codes.append(c)
    return codes


def integer_data(rng, n, d, density=0.5):
    """Small-integer data: projections on +-1 planes are exact in float32."""
    X = rng.randint(-3, 4, size=(n, d)).astype(np.float32)
    X[rng.random_sample((n, d)) > density] = 0
    return X


# ---------------------------------------------------------------- SimHash


@pytest.mark.parametrize("n_bits, range_pow", [(4, 10), (6, 6), (12, 5)])
def test_simhash_dense_equals_numpy_sign(n_bits, range_pow):
    rng = np.random.RandomState(0)
    X = integer_data(rng, 300, 33)
    X[:5] = 0  # zero vectors: every projection is 0, every bit 0
    h = SimHash(33, n_bits, 7, range_pow, random_state=1)
    got = h.hash(X)
    np.testing.assert_array_equal(got, simhash_oracle(X, h))
    assert got.dtype == np.int32 and got.shape == (300, 7)
    assert (got[:5] == 0).all()
    assert got.max() < 2**range_pow


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csr_array, sp.csc_matrix])
def test_simhash_sparse_equals_numpy_sign(index_dtype, container):
    rng = np.random.RandomState(0)
    X = integer_data(rng, 120, 500, density=0.02)
    X[[3, 50]] = 0  # empty rows
    Xs = container(X)
    Xs.indices = Xs.indices.astype(index_dtype)
    Xs.indptr = Xs.indptr.astype(index_dtype)
    h = SimHash(500, 5, 9, 12, random_state=2)
    np.testing.assert_array_equal(h.hash(Xs), simhash_oracle(sp.csr_matrix(X), h))
    np.testing.assert_array_equal(h.hash(Xs), h.hash(X))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(0, 40),
    d=st.integers(1, 70),
    n_bits=st.integers(1, 9),
    n_tables=st.integers(1, 5),
    range_pow=st.integers(1, 12),
    seed=st.integers(0, 2**31 - 1),
)
def test_simhash_property_any_shape(n, d, n_bits, n_tables, range_pow, seed):
    rng = np.random.RandomState(seed)
    X = integer_data(rng, n, d)
    h = SimHash(d, n_bits, n_tables, range_pow, random_state=seed)
    want = simhash_oracle(X, h)
    np.testing.assert_array_equal(h.hash(X), want)
    np.testing.assert_array_equal(h.hash(sp.csr_matrix(X)), want)


def test_simhash_collision_rate_follows_angle():
    # One bit per table, 4,000 tables: each pair gives 4,000 bit comparisons and 20
    # pairs per angle give 80,000, so the rate's standard error is <= 0.0018. For
    # Gaussian planes the collision probability is exactly 1 - angle/pi; SLIDE's
    # sparse +-1 planes approximate it (measured here: within 0.002 at d=128).
    # Tolerance 0.015 = 8 standard errors, leaving room for that approximation.
    rng = np.random.RandomState(0)
    d = 128
    h = SimHash(d, 1, 4000, 1, random_state=1)
    for angle in (np.pi / 6, np.pi / 3, np.pi / 2, 2 * np.pi / 3):
        rates = []
        for _ in range(20):
            x = rng.standard_normal(d)
            u = rng.standard_normal(d)
            u -= (u @ x) / (x @ x) * x
            u *= np.linalg.norm(x) / np.linalg.norm(u)
            y = np.cos(angle) * x + np.sin(angle) * u
            b = h.hash(np.vstack([x, y]))
            rates.append(np.mean(b[0] == b[1]))
        assert abs(np.mean(rates) - (1 - angle / np.pi)) < 0.015, angle


@pytest.mark.parametrize("family", [SimHash, DWTAHash])
def test_near_vectors_collide_more_than_far(family):
    rng = np.random.RandomState(0)
    d, n = 64, 200
    X = rng.standard_normal((n, d)).astype(np.float32)
    near = X + 0.2 * rng.standard_normal((n, d)).astype(np.float32)
    far = rng.standard_normal((n, d)).astype(np.float32)
    h = family(d, 3, 20, 12, random_state=0)
    b = h.hash(X)
    near_rate = np.mean(b == h.hash(near))
    far_rate = np.mean(b == h.hash(far))
    # Measured about 0.6 vs 0.1 (SimHash) and 0.4 vs 0.002 (DWTA).
    assert near_rate > far_rate + 0.2, (near_rate, far_rate)


# ---------------------------------------------------------------- DWTA


@pytest.mark.parametrize("density", [1.0, 0.3, 0.05])
def test_dwta_equals_python_reference(density):
    rng = np.random.RandomState(0)
    d, n_bits, n_tables = 24, 3, 4
    X = rng.standard_normal((40, d)).astype(np.float32)
    X[rng.random_sample(X.shape) > density] = 0
    X[0] = 0  # no non-zero at all: every code 0
    X[1, 1:] = 0  # one non-zero: most bins densified from one bin
    X[2] = np.round(X[2])  # ties between equal values
    h = DWTAHash(d, n_bits, n_tables, 9, bin_size=8, max_probes=4, random_state=3)
    codes = np.array([dwta_oracle(x, h) for x in X])
    want = pack(codes, n_tables, n_bits, 3, 9)
    np.testing.assert_array_equal(h.hash(X), want)
    np.testing.assert_array_equal(h.hash(sp.csr_matrix(X)), want)
    assert (codes >= 0).all() and (codes < 8).all()
    assert (want[0] == 0).all()


def test_dwta_packs_with_log2_of_bin_size():
    # Bins of 8 give codes 0..7 packed 3 bits apart (log2 8), not 2 (floor(ln 8)):
    # with K=2 and range_pow=6 all 64 combinations must be reachable and decodable.
    rng = np.random.RandomState(0)
    h = DWTAHash(16, 2, 1, 6, random_state=0)
    X = rng.standard_normal((5000, 16)).astype(np.float32)
    b = h.hash(X)[:, 0]
    assert set(np.unique(b)) == set(range(64))
    codes = np.array([dwta_oracle(x, h) for x in X[:50]])
    np.testing.assert_array_equal(b[:50], codes[:, 0] + 8 * codes[:, 1])
    assert DWTAHash(16, 2, 1, 6, bin_size=5, random_state=0).code_bits == 3
    assert DWTAHash(16, 2, 1, 6, bin_size=4, random_state=0).code_bits == 2


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_dwta_sparse_high_dim_never_out_of_range(index_dtype):
    # 5,000 features and 10 nnz per row: nearly every bin is empty, and rows 0-9 are
    # empty, so densification and its fallback both run.
    rng = np.random.RandomState(0)
    X = sp.random(
        200, 5000, density=0.002, format="csr", random_state=rng, dtype=np.float32
    )
    X = X.toarray()
    X[:10] = 0
    X = sp.csr_matrix(X)
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    h = DWTAHash(5000, 6, 10, 18, max_probes=2, random_state=0)
    b = h.hash(X)
    assert b.min() >= 0 and b.max() < 2**18
    assert (b[:10] == 0).all()
    codes = np.array([dwta_oracle(x, h) for x in X[10:40].toarray()])
    np.testing.assert_array_equal(b[10:40], pack(codes, 10, 6, 3, 18))


def test_same_seed_same_hashes_and_pickle():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((50, 20)).astype(np.float32)
    for family in (SimHash, DWTAHash):
        a, b = (
            family(20, 4, 5, 10, random_state=7),
            family(20, 4, 5, 10, random_state=7),
        )
        np.testing.assert_array_equal(a.hash(X), b.hash(X))
        assert not np.array_equal(
            a.hash(X), family(20, 4, 5, 10, random_state=8).hash(X)
        )
        c = pickle.loads(pickle.dumps(a))
        np.testing.assert_array_equal(a.hash(X), c.hash(X))


@pytest.mark.parametrize("family", [SimHash, DWTAHash])
def test_hash_rejects_bad_input(family):
    h = family(10, 2, 3, 8, random_state=0)
    with pytest.raises(ValueError, match="NaN"):
        h.hash(np.full((2, 10), np.nan))
    with pytest.raises(ValueError, match="NaN"):
        h.hash(sp.csr_matrix(np.array([[np.inf] + [0] * 9])))
    with pytest.raises(ValueError, match="shape"):
        h.hash(np.ones((2, 11)))
    with pytest.raises(ValueError, match="range_pow"):
        family(10, 2, 3, 31)
    with pytest.raises(ValueError, match="n_bits"):
        family(10, 0, 3, 8)


def test_threads_do_not_change_results():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((3000, 32)).astype(np.float32)
    for h in (
        SimHash(32, 5, 8, 12, random_state=0),
        DWTAHash(32, 5, 8, 12, random_state=0),
    ):
        np.testing.assert_array_equal(h.hash(X, n_threads=1), h.hash(X, n_threads=2))
        Xs = sp.csr_matrix(X * (X > 1))
        np.testing.assert_array_equal(h.hash(Xs, n_threads=1), h.hash(Xs, n_threads=2))


# ---------------------------------------------------------------- tables


def dict_tables(buckets):
    """Oracle: per table, a dict bucket -> list of ids, in insertion order."""
    tables = [defaultdict(list) for _ in range(buckets.shape[1])]
    for i, row in enumerate(buckets):
        for t, k in enumerate(row):
            tables[t][int(k)].append(i)
    return tables


def test_table_query_equals_dict_oracle():
    rng = np.random.RandomState(0)
    buckets = rng.randint(0, 16, size=(500, 4))
    tables = LSHTables(4, 4, capacity=10_000, random_state=0).build(buckets)
    oracle = dict_tables(buckets)
    queries = rng.randint(0, 16, size=(30, 4))
    indptr, ids, counts = tables.query(queries, return_counts=True)
    assert indptr.shape == (31,) and indptr[0] == 0
    for i, q in enumerate(queries):
        row = ids[indptr[i] : indptr[i + 1]]
        hits = defaultdict(int)
        for t, k in enumerate(q):
            for j in oracle[t][int(k)]:
                hits[j] += 1
        assert len(set(row)) == len(row)  # no repeats
        assert set(row) == set(hits)
        assert (
            dict(zip(row.tolist(), counts[indptr[i] : indptr[i + 1]].tolist())) == hits
        )
    # Without overflow each bucket holds exactly its ids, in insertion order.
    for t in range(4):
        for k in range(16):
            held = tables.ids[t, tables.offsets[t, k] : tables.offsets[t, k + 1]]
            assert held.tolist() == oracle[t][k]


def test_table_overflow_keeps_capacity_and_members():
    rng = np.random.RandomState(0)
    buckets = rng.randint(0, 4, size=(1000, 3))
    oracle = dict_tables(buckets)
    for policy in ("reservoir", "fifo"):
        tables = LSHTables(3, 2, capacity=50, policy=policy, random_state=0)
        tables.build(buckets)
        for t in range(3):
            for k in range(4):
                held = tables.ids[t, tables.offsets[t, k] : tables.offsets[t, k + 1]]
                assert len(held) == min(50, len(oracle[t][k]))
                assert set(held) <= set(oracle[t][k])
                if policy == "fifo":
                    assert held.tolist() == oracle[t][k][-50:]


def test_reservoir_sample_is_uniform():
    # 100 ids in one bucket of capacity 10: each id is kept with probability 0.1.
    # Over 400 builds an id's keep count is Binomial(400, 0.1): mean 40, sd 6; the
    # 100 counts' chi-square statistic has 99 degrees of freedom (mean 99, sd 14),
    # so it stays below 160 unless the sample is biased (p < 1e-4).
    tables = LSHTables(2, 1, capacity=10, random_state=0)
    buckets = np.zeros((100, 2), dtype=np.int32)
    kept = np.zeros((2, 100))
    for _ in range(400):
        tables.build(buckets)
        for t in range(2):
            kept[t, tables.ids[t, : tables.offsets[t, 1]]] += 1
    assert (kept.sum(axis=1) == 4000).all()
    chi2 = ((kept - 40) ** 2 / (40 * 0.9)).sum(axis=1)
    assert (chi2 < 160).all(), chi2
    # The two tables draw independently: their keep counts are uncorrelated.
    assert abs(np.corrcoef(kept)[0, 1]) < 0.4


def test_tables_seeded_clear_and_pickle():
    rng = np.random.RandomState(0)
    buckets = rng.randint(0, 8, size=(500, 5))
    a = LSHTables(5, 3, capacity=20, random_state=3).build(buckets)
    b = LSHTables(5, 3, capacity=20, random_state=3).build(buckets)
    np.testing.assert_array_equal(a.ids, b.ids)
    c = LSHTables(5, 3, capacity=20, random_state=4).build(buckets)
    assert not np.array_equal(a.ids, c.ids)
    d = pickle.loads(pickle.dumps(a))
    q = rng.randint(0, 8, size=(10, 5))
    for x, y in zip(a.query(q, return_counts=True), d.query(q, return_counts=True)):
        np.testing.assert_array_equal(x, y)
    a.clear()
    indptr, ids = a.query(q)
    assert ids.size == 0 and (indptr == 0).all()


def test_tables_reject_bad_buckets():
    tables = LSHTables(3, 4)
    with pytest.raises(ValueError, match="shape"):
        tables.build(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="bucket ids"):
        tables.build(np.full((5, 3), 16))
    with pytest.raises(ValueError, match="policy"):
        LSHTables(3, 4, policy="lifo")


def test_hash_then_query_finds_near_neurons():
    # End to end: neurons' weight rows in the tables; a slightly perturbed copy of a
    # neuron's weights retrieves that neuron among its candidates.
    rng = np.random.RandomState(0)
    W = rng.standard_normal((5000, 32)).astype(np.float32)
    for h in (
        SimHash(32, 8, 16, 8, random_state=0),
        DWTAHash(32, 3, 16, 9, random_state=0),
    ):
        tables = LSHTables(16, h.range_pow, random_state=0).build(h.hash(W))
        q = W[:100] + 0.05 * rng.standard_normal((100, 32)).astype(np.float32)
        indptr, ids = tables.query(h.hash(q), n_threads=2)
        found = [i in ids[indptr[i] : indptr[i + 1]] for i in range(100)]
        assert np.mean(found) > 0.95
        assert np.diff(indptr).mean() < 2500  # a candidate set, not everything
