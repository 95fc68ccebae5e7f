# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The training engine: one SLIDE-style step, and exact or LSH scoring.

Thin glue between the estimator and :mod:`sparseclf._kernels._backprop`: casts,
allocations and the dense hidden-to-hidden layers, which run as BLAS products in
NumPy. The network is held in :class:`Network`, plain NumPy arrays only, so it
pickles as it is.
"""

import math

import numpy as np
import scipy.sparse as sp

from sparseclf._kernels import load
from sparseclf._lsh import csr_arrays

_backprop = load("_backprop")

# Work is counted in row operations (one weight row of ~128 floats read or updated,
# some 30 ns). Below this many per thread a kernel runs on one thread: waking a
# second OpenMP thread costs about a millisecond when the other core is busy
# (measured: a 0.12 ms kernel took 1.06 ms on 2 threads), see NOTES-pythran.
_MIN_WORK_PER_THREAD = 32768
# Scores of at most this many floats are materialised at once when predicting.
_SCORE_BLOCK = 1 << 22


def _row_keys(indices):
    """Sorted ``row << 32 | position`` of a CSR batch's non-zeros (int64).

    The input layer's update groups a batch's non-zeros by weight row with them.
    """
    keys = indices.astype(np.int64) << 32
    keys |= np.arange(indices.shape[0], dtype=np.int64)
    keys.sort()
    return keys


def _threads(work, n_threads):
    return max(1, min(n_threads, work // _MIN_WORK_PER_THREAD))


class RowBlock:
    """Rows ``s:e`` of CSR ``X`` as array views: what a training step reads.

    scipy's row slicing took 31 us a batch, 4 ms of TREC's 0.2 s fit.
    """

    __slots__ = ("data", "indices", "indptr", "shape")

    def __init__(self, X, s, e):
        a, b = X.indptr[s], X.indptr[e]
        self.data, self.indices = X.data[a:b], X.indices[a:b]
        self.indptr = X.indptr[s : e + 1] - a
        self.shape = (e - s, X.shape[1])


class Network:
    """Weights and Adam moments of a ReLU MLP whose output layer is stored by rows.

    ``weights[0]`` holds a row of h1 weights per feature seen in training, in
    the order they came (``rows`` maps features to rows, see ``add_inputs``;
    ``first_layer()`` is the (n_features, h1) matrix): a sample reads only its
    features' rows. ``weights[k]`` for the hidden-to-hidden layers is
    (h_k, h_k+1). The output layer ``weights[-1]`` is held as
    (n_outputs, h_last), one row per neuron.
    """

    def __init__(self, n_features, hidden, n_outputs, rng):
        sizes = [n_features, *hidden, n_outputs]
        self.weights, self.biases = [], []
        # Glorot uniform, as scikit-learn's MLP, drawn in float32 straight into
        # the weights by a Generator seeded from ``rng``: 10x faster than
        # RandomState's float64 draws (0.46 s -> 0.04 s for 2**18 x 64).
        self._gen = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
        bounds = [
            math.sqrt(6.0 / (fan_in + fan_out))
            for fan_in, fan_out in zip(sizes[:-1], sizes[1:])
        ]
        for k, bound in enumerate(bounds):
            if k > 0:  # the first layer's rows are drawn as features come
                self.weights.append(self._glorot((sizes[k], sizes[k + 1]), bound))
            self.biases.append(self._glorot((sizes[k + 1],), bound))
        self.weights[-1] = np.ascontiguousarray(self.weights[-1].T)
        # The first layer holds a row only for each feature seen in training
        # (``rows`` maps a feature to its row; row 0 is zero and stands for all
        # the others). A hashed text layer has 2**18 features of which a corpus
        # uses a few tens of thousands (TREC: 34k): memory, drawing and the
        # cache misses of the sparse updates shrink with it.
        self.rows = np.zeros(n_features, dtype=np.int32)
        self.n_rows = 1
        self._bound0 = bounds[0]
        self.weights.insert(0, np.zeros((1, sizes[1]), dtype=np.float32))
        # np.zeros, not zeros_like: calloc'd pages stay untouched (and cost
        # neither time nor memory) until a row is first updated, and sparse
        # training never updates most rows of the wide layers.
        self.m_w = [np.zeros(w.shape, w.dtype) for w in self.weights]
        self.v_w = [np.zeros(w.shape, w.dtype) for w in self.weights]
        self.m_b = [np.zeros_like(b) for b in self.biases]
        self.v_b = [np.zeros_like(b) for b in self.biases]
        self.step = 0

    def _glorot(self, shape, bound, out=None):
        """Uniform(-bound, bound) float32 from the network's generator, into
        ``out`` when given."""
        out = self._gen.random(shape, dtype=np.float32, out=out)
        out *= np.float32(2 * bound)
        out -= np.float32(bound)
        return out

    @property
    def n_features(self):
        return self.rows.shape[0]

    def add_inputs(self, features):
        """Give the features among ``features`` that have no row yet one each.

        Rows are drawn (Glorot uniform, fan-in ``n_features``) in the order of
        the features' ids; the storage grows by doubling, so adding a few
        features at a time stays cheap.
        """
        # A mask, not np.unique: O(n_features) instead of sorting every
        # non-zero of a corpus (0.15 s for 20 Newsgroups' 3M).
        new = np.zeros(self.n_features, dtype=bool)
        new[features] = True
        new &= self.rows == 0
        new = np.flatnonzero(new)
        if new.size == 0:
            return
        start, stop = self.n_rows, self.n_rows + new.size
        cap = self.weights[0].shape[0]
        if stop > cap:
            cap = min(max(stop, 2 * cap), self.n_features + 1)
            for arrays in (self.weights, self.m_w, self.v_w):
                grown = np.zeros((cap, arrays[0].shape[1]), dtype=np.float32)
                grown[:start] = arrays[0][:start]
                arrays[0] = grown
        W = self.weights[0][start:stop]
        self._glorot(W.shape, self._bound0, out=W)
        self.rows[new] = np.arange(start, stop, dtype=np.int32)
        self.n_rows = stop

    def first_layer(self, a=None):
        """A first-layer array by feature, (n_features, h1): a copy.

        ``a`` is ``weights[0]`` (the default) or one of its Adam moments
        ``m_w[0]``, ``v_w[0]``. Features never seen in training get zero rows.
        """
        return (self.weights[0] if a is None else a)[self.rows]

    def to_rows(self, X):
        """CSR ``X`` with its columns replaced by the features' first-layer rows.

        Features without a row get one. Training maps its data once with this
        (``rows=True`` in ``hidden`` and ``train_step``) rather than each batch:
        0.3 s less on 20 Newsgroups.
        """
        self.add_inputs(X.indices)
        data, rows, indptr = self._input_arrays(X, grow=False)
        shape = (X.shape[0], self.weights[0].shape[0])
        return sp.csr_matrix((data, rows, indptr), shape=shape)

    def _input_arrays(self, X, grow, rows=False):
        """CSR ``X``'s arrays with its features replaced by their rows.

        ``grow``: features without a row get one (training); otherwise they read
        the zero row 0 (prediction: a feature training never saw adds nothing).
        ``rows``: ``X`` comes from ``to_rows`` and is used as it is.
        """
        if rows:
            return csr_arrays(X)
        data, indices, indptr = csr_arrays(X)
        mapped = self.rows[indices]
        if grow and not mapped.all():
            self.add_inputs(indices)
            mapped = self.rows[indices]
        return data, mapped.astype(indptr.dtype, copy=False), indptr

    def __getstate__(self):
        state = self.__dict__.copy()
        for name in ("weights", "m_w", "v_w"):
            state[name] = list(state[name])
            state[name][0] = state[name][0][: self.n_rows]  # not the spare room
        # Adam's moments stay zero on rows training never touched (most rows of
        # an extreme output layer), so a wide layer's moments are saved as their
        # touched rows only; loading rebuilds them exactly.
        state["_touched"] = []
        for k, (m, v) in enumerate(zip(state["m_w"], state["v_w"])):
            rows = np.flatnonzero((m != 0).any(axis=1) | (v != 0).any(axis=1))
            if rows.size > m.shape[0] // 2:
                continue
            state["_touched"].append((k, m.shape, rows))
            state["m_w"][k], state["v_w"][k] = m[rows], v[rows]
        return state

    def __setstate__(self, state):
        for k, shape, rows in state.pop("_touched", []):
            for name in ("m_w", "v_w"):
                full = np.zeros(shape, dtype=np.float32)
                full[rows] = state[name][k]
                state[name][k] = full
        for name in ("weights", "m_w", "v_w"):
            state[name][0] = np.ascontiguousarray(state[name][0])
        self.__dict__.update(state)

    @property
    def n_outputs(self):
        return self.weights[-1].shape[0]

    def _first_layer(self, X, n_threads, grow=False, rows=False, dropout=0.0, rng=None):
        """ReLU activations of the first (sparse-input) layer, float32.

        With ``dropout``, its masks are hashed from a seed drawn from ``rng``
        (see ``_backprop.input_forward``).
        """
        data, rows, indptr = self._input_arrays(X, grow=grow, rows=rows)
        cut, scale = _dropout_cut(dropout)
        seed = rng.randint(2**32, dtype=np.uint32) if cut else np.uint32(0)
        return self._input_forward(data, rows, indptr, seed, cut, scale, n_threads)

    def _input_forward(self, data, rows, indptr, seed, cut, scale, n_threads):
        """``_backprop.input_forward`` on the first layer, CSR over its rows."""
        return _backprop.input_forward(
            data,
            rows,
            indptr,
            self.weights[0],
            self.biases[0],
            seed,
            cut,
            scale,
            _threads(data.shape[0], n_threads),
        )

    def _input_step(self, data, keys, indptr, dH, H, scale, adam, n_threads):
        """``_backprop.input_step`` on the first layer and its bias.

        ``adam`` is ``(lr_t, beta1, beta2, eps_t)``, float32.
        """
        _backprop.input_step(
            data,
            keys,
            indptr,
            dH,
            H,
            scale,
            self.weights[0],
            self.m_w[0],
            self.v_w[0],
            self.biases[0],
            self.m_b[0],
            self.v_b[0],
            *adam,
            _threads(2 * data.shape[0], n_threads),
        )

    def hidden(self, X, n_threads=1, dropout=0.0, rng=None, rows=False):
        """Activations of every hidden layer for CSR ``X``, a list of (n, h_k).

        With ``dropout > 0`` (training), each layer's units are zeroed with that
        probability (the first layer's masks hashed from a seed drawn from
        ``rng``, the others' drawn from it), and the survivors scaled by
        ``1 / (1 - dropout)`` (inverted dropout: prediction needs no rescaling).
        Later layers read the dropped activations. Features without a
        first-layer row get one (this is the training pass); with ``rows``,
        ``X`` comes from ``to_rows``.
        """
        first = self._first_layer(
            X, n_threads, grow=True, rows=rows, dropout=dropout, rng=rng
        )
        H = [first]
        for W, b in zip(self.weights[1:-1], self.biases[1:-1]):
            H.append(_drop(np.maximum(H[-1] @ W + b, 0), dropout, rng))
        return H

    def hidden64(self, X, n_threads=1):
        """Last hidden activations for prediction, (n, h_last) float64.

        Layers after the first run in float64: float32 BLAS rounds a row
        differently depending on the other rows of the product, and a prediction
        must not depend on what else is in the batch.
        """
        H = self._first_layer(X, n_threads).astype(np.float64)
        for W, b in zip(self.weights[1:-1], self.biases[1:-1]):
            H = np.maximum(H @ W.astype(np.float64) + b, 0)
        return H

    def logit_blocks(self, H64, exact=True):
        """Yield ``(rows, cols, scores)``: logits block by block.

        Blocks hold at most ``_SCORE_BLOCK`` scores, so memory stays bounded
        whatever the number of outputs. ``exact``: float64, each block of output
        weights converted once per block of rows; else float32 BLAS, about 4x
        faster but rounded differently depending on the block's other rows.
        """
        n, n_out = H64.shape[0], self.n_outputs
        W, b = self.weights[-1], self.biases[-1]
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

    def rescore(self, H64, cand):
        """Exact float64 logits of the candidates ``cand`` (n, c) of each row."""
        Wc = self.weights[-1][cand].astype(np.float64)  # (n, c, hidden)
        return np.einsum("nch,nh->nc", Wc, H64) + self.biases[-1][cand]

    def rerank(self, H64, cand, k):
        """The ``k`` best of each row's candidates ``cand`` by exact logits.

        Returns ``(labels, scores)``, best first, ties to the lower position in
        ``cand``. Rows go in blocks of at most ``_SCORE_BLOCK`` gathered weights:
        ``rescore`` copies each candidate's weight row, (n, c, hidden) float64,
        11 GB at once for 100,000 rows, 108 candidates and 128 units.
        """
        n, c = cand.shape
        k = min(k, c)
        labels = np.empty((n, k), dtype=np.int64)
        scores = np.empty((n, k))
        step = max(1, _SCORE_BLOCK // (c * H64.shape[1]))
        for r0 in range(0, n, step):
            rows = slice(r0, min(r0 + step, n))
            pos, scores[rows] = topk(self.rescore(H64[rows], cand[rows]), k)
            labels[rows] = np.take_along_axis(cand[rows], pos, axis=1)
        return labels, scores

    def logits(self, H64):
        """Scores of all output neurons, (n, n_outputs) float64."""
        out = np.empty((H64.shape[0], self.n_outputs))
        for rows, cols, Z in self.logit_blocks(H64):
            out[rows, cols] = Z
        return out

    def adam_constants(self, lr, beta1, beta2, eps):
        """Advance the step; return ``lr_t`` and ``eps_t`` with bias corrections."""
        self.step += 1
        bc1 = 1.0 - beta1**self.step
        bc2 = math.sqrt(1.0 - beta2**self.step)
        return np.float32(lr * bc2 / bc1), np.float32(eps * bc2)

    def train_step(
        self,
        X,
        own,
        n_own,
        n_pos,
        pool,
        lr,
        beta1,
        beta2,
        eps,
        n_threads,
        H=None,
        pool_offset=None,
        dropout=0.0,
        rng=None,
        rows=False,
    ):
        """One step of sampled-softmax training; returns the per-sample losses.

        Sample ``i``'s active output neurons are ``own[i, :n_own[i]]`` (its
        ``n_pos[i]`` labels first, then its LSH candidates) and the random
        ``pool`` (unique ids) shared by the batch, whose logits and gradients are
        BLAS products; see ``_backprop.output_forward``. Only those output rows,
        and the input rows of the batch's features, are read and updated (the
        first layer's bias with them, in ``_backprop.input_step``); the
        hidden-to-hidden layers get dense Adam.
        ``H``, when given, is ``self.hidden(X, n_threads, dropout, rng, rows)``;
        ``rows``: ``X`` comes from ``to_rows``.
        """
        if H is None:
            H = self.hidden(X, n_threads, dropout, rng, rows)
        # A dropped unit's activation is 0, so ``H[k] > 0`` is the product of
        # the ReLU's and the dropout's masks; the survivors' scale remains
        # (1.0 without dropout: exact).
        scale = _dropout_cut(dropout)[1]
        n = H[0].shape[0]
        lr_t, eps_t = self.adam_constants(lr, beta1, beta2, eps)
        b1, b2 = np.float32(beta1), np.float32(beta2)
        W, b = self.weights[-1], self.biases[-1]
        Hl = H[-1]
        pool = np.ascontiguousarray(pool, dtype=np.int64)
        n_own = np.ascontiguousarray(n_own, dtype=np.int64)
        n_pos = np.ascontiguousarray(n_pos, dtype=np.int64)
        Wp = W[pool]
        Zp = Hl @ Wp.T
        Zp += b[pool]
        if pool_offset is not None:
            Zp += pool_offset
        work = 3 * int(n_own.sum()) + n * pool.shape[0] // 8
        loss, dz, dzp, dH = _backprop.output_forward(
            Hl,
            own,
            n_own,
            n_pos,
            pool,
            Zp,
            W,
            b,
            np.float32(1.0 / n),
            _threads(work, n_threads),
        )
        dH += dzp @ Wp
        _backprop.output_update(
            Hl,
            own,
            n_own,
            n_pos,
            dz,
            pool,
            np.ascontiguousarray(dzp.T @ Hl),
            dzp.sum(axis=0),
            *self._layer_state(-1),
            lr_t,
            b1,
            b2,
            eps_t,
            _threads(work, n_threads),
        )
        for k in range(len(H) - 1, 0, -1):
            dpre = dH * ((H[k] > 0) * scale)
            dH = dpre @ self.weights[k].T
            self._dense_adam(
                k, H[k - 1].T @ dpre, dpre.sum(axis=0), lr_t, b1, b2, eps_t
            )
        data, X_rows, indptr = self._input_arrays(X, grow=True, rows=rows)
        self._input_step(
            data,
            _row_keys(X_rows),
            indptr,
            dH,
            H[0],
            scale,
            (lr_t, b1, b2, eps_t),
            n_threads,
        )
        return loss

    def dense_epoch(
        self,
        X,
        lab_ptr,
        labels,
        batch_size,
        lr,
        beta1,
        beta2,
        eps,
        n_threads,
        dropout=0.0,
        rng=None,
    ):
        """``train_step`` over consecutive batches of ``X``, three kernels a step.

        For a network with one hidden layer and few outputs, all active (see
        ``_mlp._FUSED_MAX_OUTPUTS``): the same steps but for rounding (the
        output layer's products are loops in ``_backprop.dense_output``, not
        BLAS), without ``train_step``'s active sets, pool and NumPy products:
        0.03 s of TREC's 0.12 s of steps. ``X`` comes from ``to_rows``;
        ``(lab_ptr, labels)`` are its labels. Returns the per-sample losses.
        """
        lab_ptr = np.ascontiguousarray(lab_ptr, dtype=np.int64)
        labels = np.ascontiguousarray(labels, dtype=np.int32)
        n = X.shape[0]
        cut, scale = _dropout_cut(dropout)
        n_steps = -(-n // batch_size)
        seeds = (
            rng.randint(2**32, size=n_steps, dtype=np.uint32)
            if cut
            else np.zeros(n_steps, dtype=np.uint32)
        )
        b1, b2 = np.float32(beta1), np.float32(beta2)
        out_threads = _threads(batch_size * (3 + self.weights[-1].size // 8), n_threads)
        loss = np.empty(n)
        for t, s in enumerate(range(0, n, batch_size)):
            e = min(s + batch_size, n)
            lr_t, eps_t = self.adam_constants(lr, beta1, beta2, eps)
            data, rows, indptr = csr_arrays(RowBlock(X, s, e))
            H = self._input_forward(data, rows, indptr, seeds[t], cut, scale, n_threads)
            loss[s:e], dH = _backprop.dense_output(
                H,
                lab_ptr[s : e + 1] - lab_ptr[s],
                labels[lab_ptr[s] : lab_ptr[e]],
                *self._layer_state(-1),
                lr_t,
                b1,
                b2,
                eps_t,
                out_threads,
            )
            self._input_step(
                data,
                _row_keys(rows),
                indptr,
                dH,
                H,
                scale,
                (lr_t, b1, b2, eps_t),
                n_threads,
            )
        return loss

    def _layer_state(self, k):
        """Layer ``k``'s weights, bias and their Adam moments, in kernel order."""
        return (
            self.weights[k],
            self.biases[k],
            self.m_w[k],
            self.v_w[k],
            self.m_b[k],
            self.v_b[k],
        )

    def _dense_adam(self, k, grad_w, grad_b, lr_t, beta1, beta2, eps_t):
        _adam(
            self.weights[k], self.m_w[k], self.v_w[k], grad_w, lr_t, beta1, beta2, eps_t
        )
        self._adam_bias(k, grad_b, lr_t, beta1, beta2, eps_t)

    def _adam_bias(self, k, g, lr_t, beta1, beta2, eps_t):
        _adam(self.biases[k], self.m_b[k], self.v_b[k], g, lr_t, beta1, beta2, eps_t)

    def is_finite(self):
        """No weight or bias is NaN or infinite.

        Sums, one read per layer with no bool array as large as it: NaN and inf
        propagate through a sum (inf - inf is NaN). Only finite weights above
        ~1e30 could overflow a sum too, and those have diverged anyway.
        """
        return all(math.isfinite(float(p.sum())) for p in self.weights + self.biases)

    def active_logits(self, H_last, active, n_threads=1):
        return _backprop.active_logits(
            H_last,
            active,
            self.weights[-1],
            self.biases[-1],
            _threads(active.size, n_threads),
        )


def _dropout_cut(p):
    """16-bit threshold of dropout ``p`` and the survivors' scale, float32."""
    cut = min(round(p * 65536), 65535)
    return cut, np.float32(65536 / (65536 - cut))


def _drop(h, p, rng):
    """Inverted dropout of activations ``h`` in place: zero with probability p.

    The uniforms are 16-bit integers from ``rng.bytes``, 3x faster than
    ``random_sample``'s doubles (0.07 vs 0.2 ms for 256 x 64); ``p`` is thus
    rounded to a multiple of 2**-16, and the survivors' scale matches it.
    """
    if p:
        cut, scale = _dropout_cut(p)
        u = np.frombuffer(rng.bytes(2 * h.size), dtype=np.uint16).reshape(h.shape)
        h *= (u >= cut) * scale
    return h


def _adam(p, m, v, g, lr_t, beta1, beta2, eps_t):
    """Dense Adam in place: the kernels' lazy update, the same to rounding.

    The kernels multiply by the reciprocal of the denominator where this divides.
    """
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    p -= lr_t * m / (np.sqrt(v) + eps_t)


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

    See ``_backprop.active_sets``.

    ``tables`` (an :class:`~sparseclf._lsh.LSHTables`) and ``buckets`` may be None:
    then rows hold the labels and the pool. ``max_cand`` caps the LSH candidates
    per row (default: no cap but ``m``).
    """
    n = pool_start.shape[0]
    if tables is None or tables.ids is None:
        buckets_t = np.empty((0, n), dtype=np.int32)
        offsets = np.zeros((0, 1), dtype=np.int32)
        ids = np.zeros((0, 1), dtype=np.int32)
    else:
        buckets_t = np.ascontiguousarray(buckets.T, dtype=np.int32)
        offsets, ids = tables.offsets, tables.ids
    return _backprop.active_sets(
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
        _threads(n * m, n_threads),
    )


def topk(Z, k, base=0, top=None, scores=None):
    """The ``k`` best columns of each row of ``Z``, best first, ties to the lower.

    Columns are numbered from ``base``. With ``top`` and ``scores`` (the best so
    far), merge them in. Returns ``(top, scores)``.
    """
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
