# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pythran kernels: LSH tables stored flat, built from bucket ids and queried.

Table ``t`` keeps the ids of bucket ``k`` in ``ids[t, offsets[t, k]:offsets[t, k + 1]]``,
at most ``capacity`` of them. A bucket that receives more keeps a uniform random
sample of ``capacity`` ids (what reservoir sampling keeps), drawn with a Park-Miller
generator seeded per table from Python, or, with ``fifo``, the last ``capacity`` ids
inserted (ids are inserted in increasing order). ``active_sets`` reads the
tables to make a training batch's active sets.
"""

import numpy as np

from ._common import PRIME


# pythran export build_tables(int32[:, :] order(C), int, int, bool, int64[:], int)
def build_tables(buckets_t, n_buckets, capacity, fifo, seeds, n_threads):
    """Return ``offsets`` (n_tables, n_buckets + 1) and ``ids`` (n_tables, n), int32.

    ``buckets_t`` is table-major, (n_tables, n): each table reads one contiguous row.
    """
    n_tables, n = buckets_t.shape[0], buckets_t.shape[1]
    offsets = np.zeros((n_tables, n_buckets + 1), dtype=np.int32)
    ids = np.empty((n_tables, n), dtype=np.int32)
    # omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for t in range(n_tables):
        off = offsets[t]
        row = ids[t]
        bt = buckets_t[t]
        # Counting sort of the ids by bucket, stable, so ids stay in insertion order.
        for i in range(n):
            off[bt[i] + 1] += 1
        overflow = False
        for k in range(n_buckets):
            if off[k + 1] > capacity:
                overflow = True
            off[k + 1] += off[k]
        fill = off[:-1].copy()
        for i in range(n):
            k = bt[i]
            row[fill[k]] = i
            fill[k] += 1
        if overflow:
            state = seeds[t]
            write = 0
            for k in range(n_buckets):
                start = off[k]
                count = off[k + 1] - start
                keep = count
                if count > capacity:
                    keep = capacity
                    if fifo:
                        start = off[k + 1] - capacity
                    else:
                        # Partial Fisher-Yates: a uniform sample of `capacity` ids.
                        for s in range(capacity):
                            state = (state * 48271) % PRIME
                            r = s + state % (count - s)
                            tmp = row[start + s]
                            row[start + s] = row[start + r]
                            row[start + r] = tmp
                off[k] = write
                for s in range(keep):
                    row[write + s] = row[start + s]
                write += keep
            off[n_buckets] = write
    return offsets, ids


# pythran export query_tables(int32[:, :] order(C), int32[:, :] order(C), int32[:, :] order(C), int, int)
def query_tables(buckets_t, offsets, ids, n_items, n_threads):
    """Union of the queried buckets' ids per row, as CSR, with hit counts.

    ``buckets_t`` is table-major, (n_tables, n). Returns ``indptr`` (n + 1,) int64,
    ``found`` int32 and ``counts`` int32; within a row, ids appear in the order first
    met (table 0's bucket first).
    """
    n_tables, n = buckets_t.shape[0], buckets_t.shape[1]
    bound = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        total = 0
        for t in range(n_tables):
            k = buckets_t[t, i]
            total += offsets[t, k + 1] - offsets[t, k]
        bound[i + 1] = bound[i] + total
    tmp_ids = np.empty(bound[n], dtype=np.int32)
    tmp_cnt = np.empty(bound[n], dtype=np.int32)
    sizes = np.zeros(n, dtype=np.int64)
    n_chunks = min(n_threads, n) if n > 0 else 1
    # omp parallel for schedule(static, 1) num_threads(n_threads)
    for c in range(n_chunks):
        hits = np.zeros(n_items, dtype=np.int32)
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            start = bound[i]
            m = 0
            for t in range(n_tables):
                k = buckets_t[t, i]
                for p in range(offsets[t, k], offsets[t, k + 1]):
                    j = ids[t, p]
                    if hits[j] == 0:
                        tmp_ids[start + m] = j
                        m += 1
                    hits[j] += 1
            for q in range(start, start + m):
                j = tmp_ids[q]
                tmp_cnt[q] = hits[j]
                hits[j] = 0
            sizes[i] = m
    indptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        indptr[i + 1] = indptr[i] + sizes[i]
    found = np.empty(indptr[n], dtype=np.int32)
    counts = np.empty(indptr[n], dtype=np.int32)
    for i in range(n):
        found[indptr[i] : indptr[i + 1]] = tmp_ids[bound[i] : bound[i] + sizes[i]]
        counts[indptr[i] : indptr[i + 1]] = tmp_cnt[bound[i] : bound[i] + sizes[i]]
    return indptr, found, counts


# pythran export active_sets(int32[:, :] order(C), int32[:, :] order(C), int32[:, :] order(C), int64[:], int32[:], int64[:], int64[:], int, int, int, int)
def active_sets(
    buckets_t,
    offsets,
    ids,
    lab_ptr,
    labels,
    pool,
    pool_start,
    m,
    max_cand,
    n_out,
    n_threads,
):
    """Active output neurons per sample, (n, m) int32, no repeats within a row.

    A row holds the sample's labels first, then the LSH candidates from its buckets
    (``buckets_t`` is table-major, (n_tables, n); ``n_tables`` may be 0) in the order
    met, at most ``max_cand`` of them (and ``m`` entries in all). The rest is filled
    from ``pool`` (random neurons drawn
    in Python for the whole batch), read cyclically from ``pool_start[i]``, then,
    if the pool runs out, with the neurons after the pool's last one cyclically.
    A pool shared by the batch keeps the rows touched by the update few. Also
    returns ``n_fixed``: per row, the number of labels and candidates (the rest
    are random).
    """
    n_tables, n = buckets_t.shape[0], buckets_t.shape[1]
    n_pool = pool.shape[0]
    out = np.empty((n, m), dtype=np.int32)
    n_fixed = np.empty(n, dtype=np.int64)
    n_chunks = max(1, min(n_threads, n))
    # omp parallel for schedule(static, 1) num_threads(n_threads)
    for c in range(n_chunks):
        seen = np.zeros(n_out, dtype=np.bool_)
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            row = out[i]
            k = 0
            for p in range(lab_ptr[i], lab_ptr[i + 1]):
                j = labels[p]
                if not seen[j]:
                    seen[j] = True
                    row[k] = j
                    k += 1
            k_cand = min(m, k + max_cand)
            for t in range(n_tables):
                bkt = buckets_t[t, i]
                for p in range(offsets[t, bkt], offsets[t, bkt + 1]):
                    if k < k_cand:
                        j = ids[t, p]
                        if not seen[j]:
                            seen[j] = True
                            row[k] = j
                            k += 1
            n_fixed[i] = k
            q = 0
            while k < m and q < n_pool:
                j = pool[(pool_start[i] + q) % n_pool]
                if not seen[j]:
                    seen[j] = True
                    row[k] = j
                    k += 1
                q += 1
            j = pool[n_pool - 1] if n_pool > 0 else n_out - 1
            while k < m:
                j += 1
                if j >= n_out:
                    j = 0
                if not seen[j]:
                    seen[j] = True
                    row[k] = j
                    k += 1
            for q in range(m):
                seen[row[q]] = False
    return out, n_fixed
