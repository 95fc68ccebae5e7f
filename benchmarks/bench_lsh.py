# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Benchmark the LSH layer of sparseclf against plain NumPy / SciPy baselines.

What is measured (each time is the median of a few repeats of
``time.perf_counter``; the result is printed as a Markdown table):

1. SimHash of dense 128-dim float32 vectors (K=6 bits per table, L=50 tables),
   against ``(X @ planes_t > 0)`` packed with ``@ (1 << arange(K))``.
2. DWTA hashing (bin size 8) of the same vectors, against a vectorised NumPy
   argmax over ``X[:, bins]`` (no densification in the baseline).
3. SimHash and DWTA of CSR rows (135,909 features, about 75 non-zeros per row),
   against ``X @ planes_t`` (SciPy sparse times dense) and against densified
   chunks of 1,000 rows followed by the argmax of row 2.
4. A full table rebuild (hash every neuron's 128-dim weight row, then build the L
   tables) for 10^5 and 670,091 neurons, DWTA and SimHash, split into hash and
   build times; the NumPy build is a stable ``argsort`` per table plus
   ``bincount`` / ``cumsum`` offsets (no bucket capacity).
5. One query batch of 256 vectors against the 670,091-neuron DWTA tables: hash
   the batch and take, per row, the union of its L buckets with hit counts; the
   NumPy baseline loops over rows with ``np.unique(np.concatenate(...),
   return_counts=True)`` on the argsort-built tables.

Run it from anywhere with the package installed::

    python benchmarks/bench_lsh.py             # full run, a few minutes at most
    python benchmarks/bench_lsh.py --quick     # smaller sizes, seconds
    python benchmarks/bench_lsh.py --threads 4 # OpenMP threads for sparseclf

``--threads`` is passed to sparseclf's kernels; NumPy's BLAS keeps its own
default thread count (printed on the machine line).
"""

import argparse
import os
import time
from collections import namedtuple

import numpy as np
import scipy
import scipy.sparse as sp
from threadpoolctl import threadpool_info, threadpool_limits

import sparseclf
from sparseclf import DWTAHash, LSHTables, SimHash

DIM = 128
N_BITS = 6  # K
N_TABLES = 50  # L
RANGE_POW = 18
BIN_SIZE = 8
CSR_FEATURES = 135_909
CSR_NNZ = 75
N_NEURONS_BIG = 670_091
QUERY_BATCH = 256
CHUNK = 16_384  # rows per NumPy chunk for dense inputs (bounds memory)
CSR_CHUNK = 1_000  # rows per densified chunk in the DWTA CSR baseline

Repeats = namedtuple("Repeats", ["ours", "numpy", "query"])


# --------------------------------------------------------------------------
# Timing helpers
# --------------------------------------------------------------------------


def timed(fn, repeats):
    """Median wall time of ``repeats`` calls of ``fn`` and the last result."""
    times = []
    out = None
    for _ in range(repeats):
        out = None  # free the previous result before the next call
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def fmt_time(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


def fmt_rate(count, seconds, unit):
    rate = count / seconds
    for scale, suffix in [(1e9, "G"), (1e6, "M"), (1e3, "k")]:
        if rate >= scale:
            return f"{rate / scale:.2f} {suffix}{unit}/s"
    return f"{rate:.1f} {unit}/s"


class Table:
    def __init__(self):
        self.rows = []

    def add(self, what, t_ours, t_numpy, count, unit):
        ratio = f"{t_numpy / t_ours:.2f}x" if t_numpy is not None else ""
        self.rows.append(
            [
                what,
                fmt_time(t_ours),
                fmt_time(t_numpy) if t_numpy is not None else "",
                ratio,
                fmt_rate(count, t_ours, unit),
            ]
        )
        print("  ...", " | ".join(self.rows[-1]), flush=True)

    def render(self):
        header = [
            "what",
            "sparseclf time",
            "NumPy time",
            "ratio (numpy/sparseclf)",
            "throughput (sparseclf)",
        ]
        lines = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join(["---", "---:", "---:", "---:", "---:"]) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


# --------------------------------------------------------------------------
# NumPy / SciPy baselines
# --------------------------------------------------------------------------


def _pack_weights(n_bits, code_bits):
    return (1 << (code_bits * np.arange(n_bits))).astype(np.int64)


def np_simhash(X, planes_t, n_bits):
    """``(X @ planes_t > 0)`` reshaped to (n, L, K) and packed; dense or CSR X."""
    n = X.shape[0]
    n_tables = planes_t.shape[1] // n_bits
    weights = _pack_weights(n_bits, 1)
    out = np.empty((n, n_tables), dtype=np.int32)
    for start in range(0, n, CHUNK):
        proj = X[start : start + CHUNK] @ planes_t
        bits = np.asarray(proj > 0).reshape(-1, n_tables, n_bits)
        out[start : start + CHUNK] = bits @ weights
    return out


def _np_dwta_block(dense, bins, n_bits, code_bits, weights):
    vals = np.take(dense, bins, axis=1)  # dense[:, bins], (rows, n_hashes, bin_size)
    vals[vals == 0] = -np.inf
    codes = vals.argmax(axis=2)  # lowest position wins ties
    return codes.reshape(dense.shape[0], -1, n_bits) @ weights


def np_dwta(X, bins, n_bits, code_bits, chunk=2048):
    """Vectorised DWTA without densification; dense X, or CSR X densified per chunk."""
    n = X.shape[0]
    n_tables = bins.shape[0] // n_bits
    weights = _pack_weights(n_bits, code_bits)
    out = np.empty((n, n_tables), dtype=np.int32)
    for start in range(0, n, chunk):
        block = X[start : start + chunk]
        if sp.issparse(block):
            block = block.toarray()
        out[start : start + chunk] = _np_dwta_block(
            block, bins, n_bits, code_bits, weights
        )
    return out


def np_build(buckets, range_pow):
    """CSR-style tables: stable argsort per table, bincount + cumsum offsets."""
    n, n_tables = buckets.shape
    n_buckets = 1 << range_pow
    offsets = np.zeros((n_tables, n_buckets + 1), dtype=np.int32)
    ids = np.empty((n_tables, n), dtype=np.int32)
    for t in range(n_tables):
        col = buckets[:, t]
        ids[t] = np.argsort(col, kind="stable")
        np.cumsum(np.bincount(col, minlength=n_buckets), out=offsets[t, 1:])
    return offsets, ids


def np_query(buckets, offsets, ids):
    """Per row, ``np.unique`` of the concatenated ids of its L buckets."""
    n, n_tables = buckets.shape
    tables = range(n_tables)
    indptr = np.zeros(n + 1, dtype=np.int64)
    found, counts = [], []
    for i in range(n):
        row = buckets[i]
        parts = [ids[t, offsets[t, row[t]] : offsets[t, row[t] + 1]] for t in tables]
        uniq, cnt = np.unique(np.concatenate(parts), return_counts=True)
        found.append(uniq)
        counts.append(cnt)
        indptr[i + 1] = indptr[i] + uniq.shape[0]
    return indptr, np.concatenate(found), np.concatenate(counts)


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def dense_rows(rng, n, dim=DIM):
    return rng.standard_normal((n, dim), dtype=np.float32)


def csr_rows(rng, n, n_features=CSR_FEATURES, nnz=CSR_NNZ):
    """``n`` CSR rows with ``nnz`` random columns each (rare repeats merged)."""
    cols = rng.integers(0, n_features, size=(n, nnz), dtype=np.int64)
    rows = np.repeat(np.arange(n), nnz)
    vals = 1.0 - rng.random(n * nnz, dtype=np.float32)  # in (0, 1], never 0
    X = sp.csr_matrix(
        (vals, (rows, cols.ravel())), shape=(n, n_features), dtype=np.float32
    )
    X.sum_duplicates()
    X.sort_indices()
    return X


def machine_line(threads):
    if hasattr(os, "sched_getaffinity"):
        n_cpus = len(os.sched_getaffinity(0))
    else:
        n_cpus = os.cpu_count()
    pools = []
    for info in threadpool_info():
        details = [info.get("prefix"), f"{info.get('num_threads')} threads"]
        details += [info[k] for k in ("threading_layer", "architecture") if k in info]
        version = f" {info['version']}" if info.get("version") else ""
        pools.append(f"{info['internal_api']}{version} ({', '.join(details)})")
    return (
        f"Machine: {n_cpus} CPUs | numpy {np.__version__} | scipy {scipy.__version__}"
        f" | sparseclf {sparseclf.__version__} (--threads {threads}) | "
        + "; ".join(pools)
    )


# --------------------------------------------------------------------------
# Benchmarks
# --------------------------------------------------------------------------


def bench_dense_hash(table, notes, n, threads, repeats, rng):
    X = dense_rows(rng, n)
    simhash = SimHash(DIM, N_BITS, N_TABLES, RANGE_POW, random_state=0)
    t_ours, ours = timed(lambda: simhash.hash(X, threads), repeats.ours)
    t_np, ref = timed(lambda: np_simhash(X, simhash.planes_t, N_BITS), repeats.numpy)
    table.add(f"SimHash, {n:,} dense x {DIM}", t_ours, t_np, n, "vec")
    notes.append(
        f"SimHash dense: {np.mean(ours == ref):.4%} of bucket ids equal "
        "the NumPy ones (float rounding of projections near 0 may differ)."
    )

    dwta = DWTAHash(DIM, N_BITS, N_TABLES, RANGE_POW, bin_size=BIN_SIZE, random_state=0)
    t_ours, ours = timed(lambda: dwta.hash(X, threads), repeats.ours)
    t_np, ref = timed(
        lambda: np_dwta(X, dwta.bins, N_BITS, dwta.code_bits), repeats.numpy
    )
    table.add(f"DWTA, {n:,} dense x {DIM}", t_ours, t_np, n, "vec")
    notes.append(
        f"DWTA dense: {np.mean(ours == ref):.4%} of bucket ids equal the NumPy ones."
    )


def bench_csr_hash(table, notes, n, threads, repeats, rng):
    X = csr_rows(rng, n)
    nnz = X.nnz / n
    simhash = SimHash(CSR_FEATURES, N_BITS, N_TABLES, RANGE_POW, random_state=0)
    t_ours, ours = timed(lambda: simhash.hash(X, threads), repeats.ours)
    t_np, ref = timed(lambda: np_simhash(X, simhash.planes_t, N_BITS), repeats.numpy)
    table.add(
        f"SimHash, {n:,} CSR x {CSR_FEATURES:,} ({nnz:.1f} nnz/row)",
        t_ours,
        t_np,
        n,
        "vec",
    )
    notes.append(
        f"SimHash CSR: {np.mean(ours == ref):.4%} of bucket ids equal the SciPy ones."
    )

    dwta = DWTAHash(
        CSR_FEATURES, N_BITS, N_TABLES, RANGE_POW, bin_size=BIN_SIZE, random_state=0
    )
    t_ours, ours = timed(lambda: dwta.hash(X, threads), repeats.ours)
    t_np, ref = timed(
        lambda: np_dwta(X, dwta.bins, N_BITS, dwta.code_bits, chunk=CSR_CHUNK),
        repeats.numpy,
    )
    table.add(
        f"DWTA, {n:,} CSR x {CSR_FEATURES:,} ({nnz:.1f} nnz/row)",
        t_ours,
        t_np,
        n,
        "vec",
    )
    covered = np.zeros(CSR_FEATURES, dtype=bool)
    covered[dwta.bins.ravel()] = True
    in_bins = np.diff(np.concatenate([[0], np.cumsum(covered[X.indices])])[X.indptr])
    in_bins = in_bins.mean()
    notes.append(
        f"DWTA CSR: the {dwta.bins.size:,} binned coordinates hold on average "
        f"{in_bins:.2f} of a row's non-zeros, so nearly every bin is empty and "
        "sparseclf densifies it by random probing, which the baseline skips (its "
        f"codes are not comparable: {np.mean(ours == ref):.2%} equal)."
    )


def _rebuild_one(table, label, hasher, np_hash, W, threads, repeats):
    n = W.shape[0]
    tables = LSHTables(N_TABLES, RANGE_POW, random_state=0)
    t_hash, buckets = timed(lambda: hasher.hash(W, threads), repeats.ours)
    t_build, _ = timed(lambda: tables.build(buckets, threads), repeats.ours)
    t_np_hash, _ = timed(np_hash, repeats.numpy)
    t_np_build, np_tables = timed(lambda: np_build(buckets, RANGE_POW), repeats.numpy)
    table.add(f"{label}: hash", t_hash, t_np_hash, n, "neuron")
    table.add(f"{label}: build", t_build, t_np_build, n, "neuron")
    total, np_total = t_hash + t_build, t_np_hash + t_np_build
    table.add(f"{label}: total", total, np_total, n, "neuron")
    return tables, np_tables


def bench_rebuild(table, n, threads, repeats, rng):
    """Hash + build for DWTA and SimHash; returns the DWTA hasher and tables."""
    W = dense_rows(rng, n)
    dwta = DWTAHash(DIM, N_BITS, N_TABLES, RANGE_POW, bin_size=BIN_SIZE, random_state=0)
    simhash = SimHash(DIM, N_BITS, N_TABLES, RANGE_POW, random_state=0)
    tables, np_tables = _rebuild_one(
        table,
        f"rebuild DWTA, {n:,} neurons",
        dwta,
        lambda: np_dwta(W, dwta.bins, N_BITS, dwta.code_bits),
        W,
        threads,
        repeats,
    )
    _rebuild_one(
        table,
        f"rebuild SimHash, {n:,} neurons",
        simhash,
        lambda: np_simhash(W, simhash.planes_t, N_BITS),
        W,
        threads,
        repeats,
    )
    return dwta, tables, np_tables


def bench_query(table, notes, kept, n_items, threads, repeats, rng):
    hasher, tables, (np_offsets, np_ids) = kept
    Q = dense_rows(rng, QUERY_BATCH)

    def baseline():
        return np_query(
            np_dwta(Q, hasher.bins, N_BITS, hasher.code_bits), np_offsets, np_ids
        )

    t_np, (np_indptr, _, np_counts) = timed(baseline, repeats.query)
    # Also on one thread: a batch this small is where thread start-up shows.
    for n_threads in dict.fromkeys([threads, 1]):

        def ours(n_threads=n_threads):
            buckets = hasher.hash(Q, n_threads)
            return tables.query(buckets, return_counts=True, n_threads=n_threads)

        t_ours, (indptr, _, counts) = timed(ours, repeats.query)
        table.add(
            f"query DWTA, batch of {QUERY_BATCH} vs {n_items:,} neurons "
            f"(hash + union, n_threads={n_threads})",
            t_ours,
            t_np,
            QUERY_BATCH,
            "query",
        )
    notes.append(
        f"Query vs {n_items:,} neurons: mean candidates per query "
        f"{np.diff(indptr).mean():.1f} (sparseclf, bucket capacity "
        f"{tables.capacity}) / {np.diff(np_indptr).mean():.1f} (NumPy, uncapped); "
        f"mean hits per candidate {counts.mean():.2f} / {np_counts.mean():.2f}."
    )


def warm_up(threads):
    """Start the OpenMP pool and touch every kernel once, untimed."""
    rng = np.random.default_rng(0)
    X = dense_rows(rng, 2048)
    for hasher in (
        SimHash(DIM, N_BITS, N_TABLES, RANGE_POW, random_state=0),
        DWTAHash(DIM, N_BITS, N_TABLES, RANGE_POW, random_state=0),
    ):
        buckets = hasher.hash(X, threads)
        hasher.hash(sp.csr_matrix(X), threads)
        LSHTables(N_TABLES, RANGE_POW).build(buckets, threads).query(
            buckets, return_counts=True, n_threads=threads
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smaller inputs (a run of seconds)"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="OpenMP threads for sparseclf (2)"
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="limit BLAS threads with threadpoolctl (default: BLAS's own)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="repeats of every measurement (default: 5 for sparseclf, 3 for "
        "NumPy, 7 for the query row)",
    )
    args = parser.parse_args(argv)
    if args.repeats is None:
        repeats = Repeats(ours=5, numpy=3, query=7)
    else:
        repeats = Repeats(args.repeats, args.repeats, args.repeats)
    if args.blas_threads is not None:
        threadpool_limits(limits=args.blas_threads, user_api="blas")
    if args.quick:
        n_dense, n_csr, rebuild_sizes = 20_000, 5_000, [10_000, 50_000]
    else:
        n_dense, n_csr, rebuild_sizes = 100_000, 20_000, [100_000, N_NEURONS_BIG]
    threads = args.threads

    warm_up(threads)
    print(machine_line(threads), flush=True)
    rng = np.random.default_rng(42)
    table, notes = Table(), []
    start = time.perf_counter()

    bench_dense_hash(table, notes, n_dense, threads, repeats, rng)
    bench_csr_hash(table, notes, n_csr, threads, repeats, rng)
    kept = None
    for n in rebuild_sizes:
        kept = None  # free the previous size's tables first
        kept = bench_rebuild(table, n, threads, repeats, rng)
    bench_query(table, notes, kept, rebuild_sizes[-1], threads, repeats, rng)

    print()
    print(
        f"K={N_BITS}, L={N_TABLES}, range_pow={RANGE_POW}, DWTA bin size "
        f"{BIN_SIZE}; median of {repeats.ours} (sparseclf) / {repeats.numpy} (NumPy) "
        f"repeats, {repeats.query} for the query row; sparseclf on {threads} "
        "OpenMP thread(s)."
    )
    print()
    print(table.render())
    print()
    notes += [
        "The NumPy DWTA baseline does not densify empty bins (its code for an "
        "all-zero bin is 0); for dense Gaussian vectors no bin is empty, so the "
        "codes agree there.",
        "The NumPy table build keeps every id (no capacity); sparseclf caps "
        "buckets at 128 ids (reservoir sample). With SimHash K=6 only 64 of the "
        "2**18 buckets are used, so its sparseclf build also pays for the sampling.",
        "sparseclf's dense SimHash alternates a BLAS product and an OpenMP packing "
        "kernel per 16,384-row chunk; on few cores the idle (spinning) workers of "
        "one runtime slow the other, so compare with --blas-threads 1.",
    ]
    for note in notes:
        print(f"- {note}")
    print(f"\nTotal benchmark time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
