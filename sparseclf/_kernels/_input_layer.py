# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pythran kernels of the first layer: its sparse forward pass and lazy Adam.

The first layer reads a CSR batch whose column indices are the features'
weight rows. Both kernels are race-free, so results do not depend on the number
of threads: the forward pass writes only its own sample's row, and the update
gives each touched weight row to one thread, which sums that row's gradient
over the batch and applies Adam to it at once. Only the rows the batch touches
are read or written: "lazy" Adam, as PyTorch's SparseAdam, or, when the
update is given the step count, a row that missed steps first takes them as
dense Adam would have, with a zero gradient (``catch_up_row``).
"""

import numpy as np

from ._common import adam_row, catch_up_row, mix32


# pythran export input_forward(float32[:], int32[:], int64[:], float32[:, :] order(C), float32[:], uint32, int, float32, int)
def input_forward(data, indices, indptr, W, b, seed, cut, scale, n_threads):
    """ReLU(X @ W + b) for CSR ``X``: only the rows of each sample's features are read.

    With ``cut > 0``, inverted dropout too: unit ``k`` of sample ``i`` is kept
    when the top 16 bits of ``mix32(seed + i * hidden + k)`` (uint32
    arithmetic) are ``>= cut``, and then scaled by ``scale``. A hash of the
    unit's index, not a random stream, so the masks do not depend on the
    number of threads, and cheaper than drawing them with NumPy.
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
                keep = (mix32(base + np.uint32(k)) >> np.uint32(16)) >= c
                o[k] = max(o[k], np.float32(0)) * sc if keep else np.float32(0)
        else:
            o[:] = np.maximum(o, 0)
    return out


# pythran export input_step(float32[:], int64[:], int64[:], float32[:, :] order(C), float32[:, :] order(C), float32, float32[:, :] order(C), float32[:, :] order(C), float32[:, :] order(C), int64[:], int64, float32[:], float32[:], float32[:], float32, float32, float32, float32, int)
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
    last,
    step,
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
    position`` (a feature's row of ``W``), grouped by row: NumPy's SIMD sort
    makes them faster than a sort here. ``dH`` (n, hidden) is the loss
    gradient at the first layer's activations ``H`` (after ReLU and dropout,
    whose survivors were scaled by ``scale``), so ``dpre = dH * scale`` where
    ``H > 0``, else 0, is the gradient at its pre-activation: row ``j`` of
    ``W`` gets gradient ``sum_i X[i, j] * dpre[i]``, the bias ``b`` gets
    ``sum_i dpre[i]`` (Adam on it too; see ``adam_row`` for ``lr_t`` and
    ``eps_t``). ``last[j]`` is the step at which row ``j`` was last updated
    (0: never, or lazily), set to ``step`` here; the steps in between are
    caught up. ``step`` 0 catches nothing up: lazy Adam.

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
    adam_row(b, mb, vb, gb, lr_t, beta1, beta2, eps_t)
    # The rows are scattered over arrays of up to hundreds of MB: before a block
    # of rows is updated, one read per cache line of the next block's rows
    # starts those loads early and side by side.
    block = 64
    n_blocks = (n_touched + block - 1) // block
    ahead = np.zeros(n_blocks, dtype=np.float32)
    # omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for blk in range(n_blocks):
        lo = blk * block
        hi = min(lo + block, n_touched)
        s = np.float32(0)
        for u in range(hi, min(hi + block, n_touched)):
            j = touched[u]
            for k in range(0, hidden, 16):
                s += W[j, k] + mW[j, k] + vW[j, k]
        ahead[blk] = s
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
            skipped = step - last[j] - 1
            if skipped > 0 and last[j] > 0:
                catch_up_row(W[j], mW[j], vW[j], skipped, lr_t, beta1, beta2, eps_t)
            last[j] = step
            adam_row(W[j], mW[j], vW[j], g, lr_t, beta1, beta2, eps_t)
    return np.sum(ahead)
