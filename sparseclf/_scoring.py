# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Prediction: logits, and the k best outputs, exact or among LSH candidates.

Samples go through the network in blocks of ``_PREDICT_ROWS`` rows and their
scores in blocks too, so memory does not grow with the number of samples or
outputs.
"""

import numpy as np

from sparseclf._csr import RowBlock

# Exact top-k shortlists this many labels beyond k in float32, then re-ranks
# them in float64 ...
_SHORTLIST_EXTRA = 8
# ... unless the rows to predict have at most this many scores in all: then
# every one is scored in float64 at once (the float32 pass costs more than it
# saves for one document with few classes).
_EXACT_ALL_MAX_SCORES = 1024
# Rows per block: bounds the hidden activations, LSH candidates and their scores
# held at once.
_PREDICT_ROWS = 4096
# Scores, or gathered float64 weights (``rerank``), materialised at once.
_SCORE_BLOCK = 1 << 22


def logit_blocks(network, H64, exact=True):
    """Yield ``(rows, cols, scores)``: the output layer's logits block by block.

    Blocks hold at most ``_SCORE_BLOCK`` scores, so memory stays bounded
    whatever the number of outputs. ``exact``: float64, each block of output
    weights converted once per block of rows; else float32 BLAS, faster but
    rounded differently depending on the block's other rows.
    """
    n, n_out = H64.shape[0], network.n_outputs
    W, b = network.weights[-1], network.biases[-1]
    H = H64 if exact else H64.astype(np.float32)
    row_step = max(1, min(n, 512))
    col_step = max(1, _SCORE_BLOCK // row_step)
    for r0 in range(0, n, row_step):
        rows = slice(r0, min(r0 + row_step, n))
        for c0 in range(0, n_out, col_step):
            cols = slice(c0, min(c0 + col_step, n_out))
            Wc = W[cols].astype(np.float64) if exact else W[cols]
            Z = H[rows] @ Wc.T
            Z += b[cols]
            yield rows, cols, Z


def rescore(network, H64, cand):
    """Exact float64 logits of the candidates ``cand`` (n, c) of each row."""
    Wc = network.weights[-1][cand].astype(np.float64)  # (n, c, hidden)
    return np.einsum("nch,nh->nc", Wc, H64) + network.biases[-1][cand]


def topk(Z, k, base=0, top=None, scores=None):
    """The ``k`` best columns of each row of ``Z``, best first, ties to the lower.

    Columns are numbered from ``base``. With ``top`` and ``scores`` (the best so
    far), merge them in. Returns ``(top, scores)``.
    """
    if k == 1 and top is None and Z.shape[1] > 0:
        # argmax: the first best column; a row with NaN (whose argmax is a NaN)
        # takes the general path, which ranks NaN last.
        best = Z.argmax(axis=1)
        vals = Z[np.arange(Z.shape[0]), best][:, None]
        if not np.isnan(vals).any():
            return best[:, None] + base, vals
    k_here = min(k, Z.shape[1])
    if k_here < Z.shape[1]:
        part = np.argpartition(-Z, k_here - 1, axis=1)[:, :k_here]
    else:
        part = np.broadcast_to(np.arange(Z.shape[1]), Z.shape)
    vals = np.take_along_axis(Z, part, axis=1)
    part = part + base
    if top is not None:
        part = np.concatenate([top, part], axis=1)
        vals = np.concatenate([scores, vals], axis=1)
    order = np.lexsort((part, -vals), axis=1)[:, :k]
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(
        vals, order, axis=1
    )


def _merge_above(Z, base, top, scores):
    """Merge block ``Z`` (columns from ``base``) into the top-k lists, in place.

    Only scores above a row's k-th best can enter, and after the first blocks
    there are few: filtering by that threshold first is much cheaper than a
    partition of the whole block. Same result as :func:`topk` (ties to the lower
    column: an equal score in a later block has a higher column).
    """
    flat = np.flatnonzero(Z > scores[:, -1:])  # cheaper than a 2-D nonzero
    if flat.size == 0:
        return top, scores
    if flat.size > Z.size // 16:
        return topk(Z, top.shape[1], base, top, scores)
    r, c = np.divmod(flat, Z.shape[1])
    k = top.shape[1]
    rows = np.unique(r)
    ridx = np.concatenate([np.repeat(rows, k), r])
    cidx = np.concatenate([top[rows].ravel(), c + base])
    vals = np.concatenate([scores[rows].ravel(), Z[r, c]])
    order = np.lexsort((cidx, -vals, ridx))
    # Every affected row has at least k entries (its current best): its first k
    # in the sorted order are the new best.
    first = np.searchsorted(ridx[order], rows)
    take = order[first[:, None] + np.arange(k)]
    top[rows], scores[rows] = cidx[take], vals[take]  # the caller's own arrays
    return top, scores


def rerank(network, H64, cand, k):
    """The ``k`` best of each row's candidates ``cand`` by exact logits.

    Returns ``(outputs, scores)``, best first, ties to the lower position in
    ``cand``. Rows go in blocks: each candidate's weight row is gathered in
    float64, (n, c, hidden), which for many rows would not fit in memory.
    """
    n, c = cand.shape
    k = min(k, c)
    step = max(1, _SCORE_BLOCK // (c * H64.shape[1]))
    if n <= step:  # one block (one document, say): no copies
        pos, scores = topk(rescore(network, H64, cand), k)
        return cand[np.arange(n)[:, None], pos].astype(np.int64, copy=False), scores
    labels = np.empty((n, k), dtype=np.int64)
    scores = np.empty((n, k))
    for r0 in range(0, n, step):
        rows = slice(r0, min(r0 + step, n))
        pos, scores[rows] = topk(rescore(network, H64[rows], cand[rows]), k)
        labels[rows] = np.take_along_axis(cand[rows], pos, axis=1)
    return labels, scores


def exact_topk(network, H64, k):
    """Exact top-k of the activations ``H64``: a float32 BLAS shortlist,
    re-ranked in float64.

    The shortlist keeps ``_SHORTLIST_EXTRA`` more than ``k``, so only outputs
    tied with the k-th to float32 precision (~1e-6) could be ranked off it;
    the final scores and order are float64 and do not depend on the batch.
    """
    n, n_out = H64.shape[0], network.n_outputs
    k_short = min(n_out, k + _SHORTLIST_EXTRA)
    if k_short == n_out or n * n_out <= _EXACT_ALL_MAX_SCORES:
        # Every output fits on the shortlist, or the rows hold few scores in
        # all: no float32 pass to choose it.
        every = np.empty((n, n_out), dtype=np.int64)
        every[:] = np.arange(n_out)
        return rerank(network, H64, every, k)
    short = np.empty((n, k_short), dtype=np.int64)
    best = None
    for rows, cols, Z in logit_blocks(network, H64, exact=False):
        if cols.start == 0:
            best = (None, None)
        if best[0] is None or best[0].shape[1] < k_short:
            best = topk(Z, k_short, cols.start, *best)
        else:
            best = _merge_above(Z, cols.start, *best)
        if cols.stop == n_out:
            short[rows] = best[0]
    return rerank(network, H64, short, k)


def lsh_topk(network, sampler, H64, k, n_threads):
    """Top-k among each row's LSH candidates (float32 scores)."""
    active = sampler.candidates(H64, network.weights[-1], k, n_threads)
    Z = network.active_logits(H64.astype(np.float32), active, n_threads)
    pos, scores = topk(Z, k)
    return np.take_along_axis(active, pos, axis=1).astype(np.int64), scores


def hidden_blocks(network, X, n_threads):
    """Yield ``(rows, H)``: the last hidden activations of CSR ``X`` (float64)
    by blocks of at most ``_PREDICT_ROWS`` rows."""
    n = X.shape[0]
    if n <= _PREDICT_ROWS:  # one block: X's own arrays
        yield slice(0, n), network.hidden64(X, n_threads)
        return
    for s in range(0, n, _PREDICT_ROWS):
        e = min(s + _PREDICT_ROWS, n)
        yield slice(s, e), network.hidden64(RowBlock(X, s, e), n_threads)


def topk_blocks(network, X, method, n_threads):
    """``method(H)`` over ``X``'s row blocks: ``(outputs, scores)``, each
    (n_samples, k)."""
    tops, scores = zip(*(method(H) for _, H in hidden_blocks(network, X, n_threads)))
    return np.concatenate(tops), np.concatenate(scores)


def logits(network, X, n_threads):
    """Float64 logits of every output, (n_samples, n_outputs)."""
    Z = np.empty((X.shape[0], network.n_outputs))
    for rows, H in hidden_blocks(network, X, n_threads):
        out = Z[rows]  # a view
        for r, cols, block in logit_blocks(network, H):
            out[r, cols] = block
    return Z
