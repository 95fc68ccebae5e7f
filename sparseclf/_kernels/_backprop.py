# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pythran kernels: sparse forward, backward and lazy Adam of the network's ends.

Every kernel is race-free, so results do not depend on the number of threads: the
per-sample phase writes only its own sample's rows, and the update phase gives each
weight row to one thread, which sums that row's gradient over the batch (the
batch's pairs grouped by row: a counting sort over the output neurons, a NumPy sort
of (row, position) keys for the input layer) and applies Adam to it at once.
Only the rows touched by the batch are read or written ("lazy" Adam, as PyTorch's
SparseAdam: bias correction uses the global step).
"""

import numpy as np


def _mix32(x):
    """A 32-bit integer hash ("lowbias32", C. Wellons): counter -> uniform bits."""
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return x


# pythran export input_forward(float32[:], int32[:], int32[:], float32[:, :], float32[:], uint32, int, float32, int)
# pythran export input_forward(float32[:], int64[:], int64[:], float32[:, :], float32[:], uint32, int, float32, int)
def input_forward(data, indices, indptr, W, b, seed, cut, scale, n_threads):
    """ReLU(X @ W + b) for CSR ``X``: only the rows of each sample's features are read.

    With ``cut > 0``, inverted dropout too: unit ``k`` of sample ``i`` is kept
    when the top 16 bits of ``_mix32(seed + i * hidden + k)`` (uint32
    arithmetic) are ``>= cut``, and then scaled by ``scale``. A hash of the
    unit's index, not a random stream, so the masks do not depend on the
    number of threads; 3x faster than drawing them with NumPy.
    """
    n = indptr.shape[0] - 1
    hidden = W.shape[1]
    out = np.empty((n, hidden), dtype=np.float32)
    # omp parallel for schedule(dynamic, 16) num_threads(n_threads)
    for i in range(n):
        o = out[i]
        o[:] = b
        for p in range(indptr[i], indptr[i + 1]):
            o += data[p] * W[indices[p]]
        if cut > 0:
            # Local copies: inside an OpenMP loop, gcc vectorises no loop that
            # reads the arguments (references the stores could alias).
            base = np.uint32(seed) + np.uint32(i * hidden)
            c = np.uint32(cut)
            sc = np.float32(scale)
            for k in range(hidden):
                keep = (_mix32(base + np.uint32(k)) >> np.uint32(16)) >= c
                o[k] = max(o[k], np.float32(0)) * sc if keep else np.float32(0)
        else:
            o[:] = np.maximum(o, 0)
    return out


def _adam_row(w, m, v, g, lr_t, beta1, beta2, eps_t):
    # One loop, which gcc vectorises: Pythran computes "/" on float32 in double
    # (and never with SIMD on arrays) where np.reciprocal stays float32, and
    # inside an OpenMP loop the scalars must be local copies (the arguments are
    # references that the stores could alias). A TREC first-layer row of 64:
    # 170 -> 100 ns.
    b1 = np.float32(beta1)
    b2 = np.float32(beta2)
    lr = np.float32(lr_t)
    ep = np.float32(eps_t)
    c1 = np.float32(1) - b1
    c2 = np.float32(1) - b2
    for k in range(w.shape[0]):
        gk = g[k]
        mk = b1 * m[k] + c1 * gk
        vk = b2 * v[k] + c2 * (gk * gk)
        m[k] = mk
        v[k] = vk
        w[k] -= (lr * mk) * np.reciprocal(np.sqrt(vk) + ep)


def _adam_scalar(w, m, v, j, g, lr_t, beta1, beta2, eps_t):
    m[j] = beta1 * m[j] + (1 - beta1) * g
    v[j] = beta2 * v[j] + (1 - beta2) * g * g
    w[j] -= lr_t * m[j] / (np.sqrt(v[j]) + eps_t)


# pythran export input_step(float32[:], int64[:], int32[:], float32[:, :], float32[:, :], float32, float32[:, :], float32[:, :], float32[:, :], float32[:], float32[:], float32[:], float32, float32, float32, float32, int)
# pythran export input_step(float32[:], int64[:], int64[:], float32[:, :], float32[:, :], float32, float32[:, :], float32[:, :], float32[:, :], float32[:], float32[:], float32[:], float32, float32, float32, float32, int)
def input_step(
    data,
    keys,
    indptr,
    dH,
    H,
    scale,
    W,
    mW,
    vW,
    b,
    mb,
    vb,
    lr_t,
    beta1,
    beta2,
    eps_t,
    n_threads,
):
    """Adam on the input-layer rows of the batch's features.

    ``keys`` holds the batch's non-zeros as sorted int64 ``row << 32 |
    position`` (``sparseclf._engine._row_keys``; a feature's row of ``W``):
    sorting them grouped by row is done by NumPy, whose SIMD sort took 0.02 ms for a TREC
    batch's 4,600 keys where Pythran's took 0.14 ms. ``dH`` (n, hidden) is
    the loss gradient at the first layer's activations ``H`` (after ReLU and
    dropout, whose survivors were scaled by ``scale``), so ``dpre = dH * scale``
    where ``H > 0``, else 0, is the gradient at its pre-activation: row ``j`` of
    ``W`` gets gradient ``sum_i X[i, j] * dpre[i]``, the bias ``b`` gets
    ``sum_i dpre[i]`` (Adam on it too). ``lr_t`` and ``eps_t`` carry
    Adam's bias corrections, as PyTorch applies them: ``lr * sqrt(1 -
    beta2**t) / (1 - beta1**t)`` and ``eps * sqrt(1 - beta2**t)``.

    Returns a sum of the weights read ahead, a value of no use but to keep the
    compiler from dropping those reads.
    """
    n = indptr.shape[0] - 1
    nnz = keys.shape[0]
    rows = np.empty(nnz, dtype=np.int64)
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            rows[p] = i
    touched = np.empty(nnz, dtype=np.int64)
    start = np.empty(nnz + 1, dtype=np.int64)
    n_touched = 0
    prev = -1
    for q in range(nnz):
        j = keys[q] >> 32
        if j != prev:
            touched[n_touched] = j
            start[n_touched] = q
            n_touched += 1
            prev = j
    start[n_touched] = nnz
    hidden = W.shape[1]
    dpre = np.empty((n, hidden), dtype=np.float32)
    gb = np.zeros(hidden, dtype=np.float32)
    for i in range(n):
        for k in range(hidden):
            d = dH[i, k] * scale if H[i, k] > 0 else np.float32(0)
            dpre[i, k] = d
            gb[k] += d
    _adam_row(b, mb, vb, gb, lr_t, beta1, beta2, eps_t)
    # The rows are scattered over arrays of up to hundreds of MB: before a block
    # of rows is updated, one read per cache line of the next block's rows
    # starts those loads early and side by side. 1.4x faster together with the
    # NumPy sort (TREC batches, 2**16 to 2**18 rows), bit-identical.
    block = 64
    n_blocks = (n_touched + block - 1) // block
    ahead = np.zeros(n_blocks, dtype=np.float32)
    # omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for b in range(n_blocks):
        lo = b * block
        hi = min(lo + block, n_touched)
        s = np.float32(0)
        for u in range(hi, min(hi + block, n_touched)):
            j = touched[u]
            for k in range(0, hidden, 16):
                s += W[j, k] + mW[j, k] + vW[j, k]
        ahead[b] = s
        # The row's gradient by scalar loops over the hidden units (vectorised
        # by gcc) into one buffer per block, not row expressions into np.zeros.
        g = np.empty(hidden, dtype=np.float32)
        for t in range(lo, hi):
            j = touched[t]
            p = keys[start[t]] & 0xFFFFFFFF
            x = data[p]
            r = rows[p]
            for k in range(hidden):
                g[k] = x * dpre[r, k]
            for q in range(start[t] + 1, start[t + 1]):
                p = keys[q] & 0xFFFFFFFF
                x = data[p]
                r = rows[p]
                for k in range(hidden):
                    g[k] += x * dpre[r, k]
            _adam_row(W[j], mW[j], vW[j], g, lr_t, beta1, beta2, eps_t)
    return np.sum(ahead)


# pythran export dense_output(float32[:, :], int64[:], int32[:], float32[:, :], float32[:], float32[:, :], float32[:, :], float32[:], float32[:], float32, float32, float32, float32, int)
def dense_output(
    H, lab_ptr, labels, W, b, mW, vW, mb, vb, lr_t, beta1, beta2, eps_t, n_threads
):
    """A training step's softmax over every output, and Adam on every output row.

    ``H`` (n, hidden) holds the last hidden activations of a batch whose
    labels are ``labels[lab_ptr[i]:lab_ptr[i + 1]]`` (each with target ``1 /
    n_labels``; a sample without labels contributes nothing); ``W`` holds the
    output layer by rows. The same step as ``output_forward`` and
    ``output_update`` with every neuron active, in one call. Returns the
    per-sample losses and ``dH``, the gradient of the mean loss at ``H`` (with
    the weights before the update).
    """
    n, hidden = H.shape[0], H.shape[1]
    n_out = W.shape[0]
    inv_n = np.float32(1.0 / n)
    loss = np.zeros(n, dtype=np.float64)
    D = np.zeros((n, n_out), dtype=np.float32)
    dH = np.zeros((n, hidden), dtype=np.float32)
    # omp parallel for schedule(static) num_threads(n_threads)
    for i in range(n):
        a0 = lab_ptr[i]
        a1 = lab_ptr[i + 1]
        if a1 > a0:
            h = H[i]
            z = D[i]
            for j in range(n_out):
                z[j] = np.sum(W[j] * h) + b[j]
            zmax = np.max(z)
            target = np.float32(1.0 / (a1 - a0))
            lsum = 0.0
            for a in range(a0, a1):
                lsum += target * (z[labels[a]] - zmax)
            total = np.float32(0)
            for j in range(n_out):
                z[j] = np.exp(z[j] - zmax)
                total += z[j]
            loss[i] = np.log(total) - lsum
            c = inv_n / total
            for j in range(n_out):
                z[j] *= c
            for a in range(a0, a1):
                z[labels[a]] -= target * inv_n
            g = dH[i]
            for j in range(n_out):
                g += z[j] * W[j]
    # omp parallel for schedule(static) num_threads(n_threads)
    for j in range(n_out):
        g = np.zeros(hidden, dtype=np.float32)
        gb = 0.0
        for i in range(n):
            d = D[i, j]
            g += d * H[i]
            gb += d
        _adam_row(W[j], mW[j], vW[j], g, lr_t, beta1, beta2, eps_t)
        _adam_scalar(b, mb, vb, j, gb, lr_t, beta1, beta2, eps_t)
    return loss, dH


# pythran export active_sets(int32[:, :], int32[:, :], int32[:, :], int64[:], int32[:], int64[:], int64[:], int, int, int, int)
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


# pythran export output_forward(float32[:, :], int32[:, :], int64[:], int64[:], int64[:], float32[:, :], float32[:, :], float32[:], float32, int)
def output_forward(H, own, n_own, n_pos, pool, Zp, W, b, scale, n_threads):
    """Softmax over each sample's active set and its gradient at the logits.

    Sample ``i``'s active set is ``own[i, :n_own[i]]`` (its ``n_pos[i]`` labels
    first, each with target ``1 / n_pos[i]``, then its LSH candidates), whose
    logits are computed here, and the random ``pool`` shared by the batch (unique
    ids), whose logits ``Zp`` (n, n_pool) come from one BLAS product. Pool entries
    that are also in the sample's own set are masked out. Each remaining pool
    entry stands for ``(n_out - n_own) / (n_pool - n_masked)`` neurons, so its
    logit gets the log of that (the "logQ" correction of sampled softmax) and the
    softmax over the active set estimates the full one. A sample without labels
    contributes nothing. Returns the losses (n,), ``dz`` (n, m_own) and ``dzp``
    (n, n_pool): the gradients at the logits times ``scale``, and ``dH`` (n,
    hidden): the own part of the gradient at the hidden activations (the pool
    part is ``dzp @ W[pool]``, a BLAS product).
    """
    n, m = own.shape[0], own.shape[1]
    n_pool = pool.shape[0]
    n_out = W.shape[0]
    loss = np.zeros(n, dtype=np.float64)
    dz = np.zeros((n, m), dtype=np.float32)
    dzp = np.zeros((n, n_pool), dtype=np.float32)
    dH = np.zeros((n, H.shape[1]), dtype=np.float32)
    n_chunks = max(1, min(n_threads, n))
    # omp parallel for schedule(static, 1) num_threads(n_threads)
    for c in range(n_chunks):
        seen = np.zeros(n_out, dtype=np.bool_)
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            k = n_own[i]
            if n_pos[i] == 0:
                continue
            h = H[i]
            z = np.empty(k, dtype=np.float32)
            for a in range(k):
                j = own[i, a]
                seen[j] = True
                z[a] = np.sum(W[j] * h) + b[j]
            zp = Zp[i].copy()
            n_masked = 0
            for q in range(n_pool):
                if seen[pool[q]]:
                    n_masked += 1
            zmax = np.max(z)
            if n_pool > n_masked:
                zp += np.log((n_out - k) / (n_pool - n_masked))
                for q in range(n_pool):
                    if not seen[pool[q]] and zp[q] > zmax:
                        zmax = zp[q]
            p = np.exp(z - zmax)
            pp = np.exp(zp - zmax)
            for q in range(n_pool):
                if seen[pool[q]]:
                    pp[q] = 0.0
            total = np.sum(p) + np.sum(pp)
            log_total = np.log(total)
            target = 1.0 / n_pos[i]
            lo = 0.0
            for a in range(n_pos[i]):
                lo -= target * (z[a] - zmax - log_total)
            loss[i] = lo
            row = dz[i]
            row[:k] = p * (scale / total)
            for a in range(n_pos[i]):
                row[a] -= target * scale
            dzp[i] = pp * (scale / total)
            g = dH[i]
            for a in range(k):
                g += row[a] * W[own[i, a]]
            for a in range(k):
                seen[own[i, a]] = False
    return loss, dz, dzp, dH


# pythran export output_update(float32[:, :], int32[:, :], int64[:], int64[:], float32[:, :], int64[:], float32[:, :], float32[:], float32[:, :], float32[:], float32[:, :], float32[:, :], float32[:], float32[:], float32, float32, float32, float32, int)
def output_update(
    H,
    own,
    n_own,
    n_pos,
    dz,
    pool,
    Gp,
    gbp,
    W,
    b,
    mW,
    vW,
    mb,
    vb,
    lr_t,
    beta1,
    beta2,
    eps_t,
    n_threads,
):
    """Adam on every output row the batch touched: its own sets and the pool.

    Row ``j`` gets the gradient ``sum dz[i, a] * H[i]`` over the (sample, slot)
    pairs where ``own[i, a] == j`` (found by a counting sort), plus, if ``j`` is
    ``pool[q]``, the pool gradient ``Gp[q]`` (computed by BLAS); biases alike.
    """
    n, m = own.shape[0], own.shape[1]
    hidden = H.shape[1]
    n_out = W.shape[0]
    n_pool = pool.shape[0]
    start = np.zeros(n_out + 1, dtype=np.int64)
    touched = np.empty(n * m + n_pool, dtype=np.int64)
    n_touched = 0
    for i in range(n):
        if n_pos[i] > 0:
            for a in range(n_own[i]):
                j = own[i, a]
                if start[j + 1] == 0:
                    touched[n_touched] = j
                    n_touched += 1
                start[j + 1] += 1
    pool_pos = np.full(n_out, -1, dtype=np.int64)
    for q in range(n_pool):
        j = pool[q]
        pool_pos[j] = q
        if start[j + 1] == 0:
            touched[n_touched] = j
            n_touched += 1
    for j in range(n_out):
        start[j + 1] += start[j]
    fill = start[:-1].copy()
    pairs = np.empty(start[n_out], dtype=np.int64)
    for i in range(n):
        if n_pos[i] > 0:
            for a in range(n_own[i]):
                j = own[i, a]
                pairs[fill[j]] = (np.int64(i) << 32) | np.int64(a)  # no // below
                fill[j] += 1
    # omp parallel for schedule(dynamic, 64) num_threads(n_threads)
    for q in range(n_touched):
        j = touched[q]
        g = np.zeros(hidden, dtype=np.float32)
        gb = 0.0
        if pool_pos[j] >= 0:
            g += Gp[pool_pos[j]]
            gb += gbp[pool_pos[j]]
        for p in range(start[j], start[j + 1]):
            i = pairs[p] >> 32
            d = dz[i, pairs[p] & 0xFFFFFFFF]
            g += d * H[i]
            gb += d
        _adam_row(W[j], mW[j], vW[j], g, lr_t, beta1, beta2, eps_t)
        _adam_scalar(b, mb, vb, j, gb, lr_t, beta1, beta2, eps_t)
    return n_touched


# pythran export active_logits(float32[:, :], int32[:, :], float32[:, :], float32[:], int)
def active_logits(H, active, W, b, n_threads):
    """Logits ``H[i] . W[active[i, a]] + b[active[i, a]]``, (n, m) float32."""
    n, m = active.shape[0], active.shape[1]
    out = np.empty((n, m), dtype=np.float32)
    # omp parallel for schedule(dynamic, 4) num_threads(n_threads)
    for i in range(n):
        h = H[i]
        for a in range(m):
            j = active[i, a]
            out[i, a] = np.sum(W[j] * h) + b[j]
    return out
