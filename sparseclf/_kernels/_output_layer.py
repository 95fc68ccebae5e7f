# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pythran kernels of the output layer: sampled softmax, its gradient, lazy Adam.

The output layer is stored by rows, one per neuron. Every kernel is race-free,
so results do not depend on the number of threads: the per-sample phase writes
only its own sample's rows, and the update phase gives each touched weight row
to one thread, which sums that row's gradient over the batch (the batch's
(sample, slot) pairs grouped by row with a counting sort) and applies Adam to
it at once. Only the rows the batch touches are read or written.
"""

import numpy as np

from ._common import adam_row, adam_scalar


# pythran export output_forward(float32[:, :] order(C), int32[:, :] order(C), int64[:], int64[:], int64[:], float32[:, :] order(C), float32[:, :] order(C), float32[:], float32, int)
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


# pythran export output_update(float32[:, :] order(C), int32[:, :] order(C), int64[:], int64[:], float32[:, :] order(C), int64[:], float32[:, :] order(C), float32[:], float32[:, :] order(C), float32[:], float32[:, :] order(C), float32[:, :] order(C), float32[:], float32[:], float32, float32, float32, float32, int)
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
        adam_row(W[j], mW[j], vW[j], g, lr_t, beta1, beta2, eps_t)
        adam_scalar(b, mb, vb, j, gb, lr_t, beta1, beta2, eps_t)
    return n_touched


# pythran export dense_output(float32[:, :] order(C), int64[:], int32[:], float32[:, :] order(C), float32[:], float32[:, :] order(C), float32[:, :] order(C), float32[:], float32[:], float32, float32, float32, float32, int)
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
        adam_row(W[j], mW[j], vW[j], g, lr_t, beta1, beta2, eps_t)
        adam_scalar(b, mb, vb, j, gb, lr_t, beta1, beta2, eps_t)
    return loss, dH


# pythran export active_logits(float32[:, :] order(C), int32[:, :] order(C), float32[:, :] order(C), float32[:], int)
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
