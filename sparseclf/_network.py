# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The network: weights, Adam's state, and its forward and training passes.

Thin glue around the layer kernels: casts, allocations, and the dense
hidden-to-hidden layers, which run as BLAS products in NumPy. Which output
neurons a training step computes is decided elsewhere (the sampler) and comes
in as arrays.
"""

import math
from collections import namedtuple

import numpy as np
import scipy.sparse as sp

from sparseclf._csr import csr_arrays
from sparseclf._kernels import load
from sparseclf._parallel import threads_for
from sparseclf._persistence import stored_weights, writing_options

_input_layer = load("_input_layer")
_output_layer = load("_output_layer")

_ONE = np.float32(1)
_ROW_CHUNK = 4096  # features per block of drawn first-layer rows

Adam = namedtuple("Adam", ["lr", "beta1", "beta2", "eps"])
Adam.__doc__ = "Adam's settings: step size and constants."


def _row_keys(indices):
    """Sorted ``row << 32 | position`` of a CSR batch's non-zeros (int64).

    The input layer's update groups a batch's non-zeros by weight row with them.
    """
    keys = indices.astype(np.int64) << 32
    keys |= np.arange(indices.shape[0], dtype=np.int64)
    keys.sort()
    return keys


class Network:
    """Weights and Adam moments of a ReLU MLP whose output layer is stored by rows.

    ``weights[0]`` holds a row of h1 weights per feature seen in training, in
    the order they came (``rows`` maps features to rows, see ``add_inputs``;
    ``first_layer()`` is the (n_features, h1) matrix): a sample reads only its
    features' rows. ``weights[k]`` for the hidden-to-hidden layers is
    (h_k, h_k+1). The output layer ``weights[-1]`` is held as
    (n_outputs, h_last), one row per neuron.

    Pickles without the first layer's spare rows and with the Adam moments of
    wide layers stored as their touched rows only (see ``__getstate__``).

    Parameters
    ----------
    n_features : int
        Input width.
    hidden : list of int
        Hidden layer sizes.
    n_outputs : int
        Output neurons.
    rng : RandomState
        Seeds the weights' generator.
    """

    # True: a first-layer row skips the Adam steps of batches without its
    # feature, as PyTorch's SparseAdam; False: it takes them, as dense Adam,
    # when next touched (see ``_input_layer.input_step``). Set by the
    # estimator's ``lazy_adam`` for each fit.
    lazy_adam = True

    def __init__(self, n_features, hidden, n_outputs, rng):
        sizes = [n_features, *hidden, n_outputs]
        self.weights, self.biases = [], []
        # Glorot uniform, as scikit-learn's MLP, drawn in float32 straight into
        # the weights by a Generator seeded from ``rng``: much faster than
        # RandomState's float64 draws.
        self._gen = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
        bounds = [
            math.sqrt(6.0 / (fan_in + fan_out))
            for fan_in, fan_out in zip(sizes[:-1], sizes[1:])
        ]
        # A wide output layer's Glorot bound shrinks with its width (0.0077 for
        # 10**5 outputs of 128 inputs): its logits and the gradients they send
        # back start near zero, and the first epochs learn little. At least
        # 1 / sqrt(fan_in) then, PyTorch's default; the same Glorot bound for
        # up to 5 * fan_in outputs.
        bounds[-1] = max(bounds[-1], 1.0 / math.sqrt(sizes[-2]))
        for k, bound in enumerate(bounds):
            if k > 0:  # the first layer's rows are drawn as features come
                self.weights.append(self._glorot((sizes[k], sizes[k + 1]), bound))
            self.biases.append(self._glorot((sizes[k + 1],), bound))
        self.weights[-1] = np.ascontiguousarray(self.weights[-1].T)
        # The first layer holds a row only for each feature seen in training
        # (``rows`` maps a feature to its row; row 0 is zero and stands for all
        # the others). A hashed text layer has 2**18 features of which a corpus
        # uses a few tens of thousands: memory, drawing and the cache misses of
        # the sparse updates shrink with it.
        self.rows = np.zeros(n_features, dtype=np.int32)
        self.n_rows = 1
        self._bound0 = bounds[0]
        # A feature's row is drawn from its id and this key (``_feature_rows``):
        # replicas of one model draw the same row for it whatever order their
        # data brings features in, so their changes to it can be merged.
        self._row_key = int(self._gen.integers(2**63))
        self.weights.insert(0, np.zeros((1, sizes[1]), dtype=np.float32))
        # np.zeros, not zeros_like: calloc'd pages stay untouched (and cost
        # neither time nor memory) until a row is first updated, and sparse
        # training never updates most rows of the wide layers.
        self.m_w = [np.zeros(w.shape, w.dtype) for w in self.weights]
        self.v_w = [np.zeros(w.shape, w.dtype) for w in self.weights]
        self.m_b = [np.zeros_like(b) for b in self.biases]
        self.v_b = [np.zeros_like(b) for b in self.biases]
        self.step = 0
        # The step at which each first-layer row was last updated (0: never,
        # or only lazily).
        self.last_step = np.zeros(1, dtype=np.int64)
        self._by_feature = None

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

    @property
    def n_outputs(self):
        return self.weights[-1].shape[0]

    def _changed(self):
        """Forget what was derived from the weights (``coefs``)."""
        self._by_feature = None

    # ------------------------------------------------------------ first layer

    def add_inputs(self, features):
        """Give the features among ``features`` that have no row yet one each.

        A feature's row is Glorot uniform (fan-in ``n_features``), drawn from
        the feature's id (see ``_feature_rows``); the storage grows by
        doubling, so adding a few features at a time stays cheap.
        """
        # A mask, not np.unique: O(n_features) instead of sorting every
        # non-zero of a corpus.
        new = np.zeros(self.n_features, dtype=bool)
        new[features] = True
        new &= self.rows == 0
        new = np.flatnonzero(new)
        if new.size == 0:
            return
        self._changed()
        start, stop = self.n_rows, self.n_rows + new.size
        cap = self.weights[0].shape[0]
        if stop > cap:
            cap = min(max(stop, 2 * cap), self.n_features + 1)
            for arrays in (self.weights, self.m_w, self.v_w):
                grown = np.zeros((cap, arrays[0].shape[1]), dtype=np.float32)
                grown[:start] = arrays[0][:start]
                arrays[0] = grown
            grown = np.zeros(cap, dtype=np.int64)
            grown[:start] = self.last_step[:start]
            self.last_step = grown
        self._feature_rows(new, self.weights[0][start:stop])
        self.rows[new] = np.arange(start, stop, dtype=np.int32)
        self.n_rows = stop

    def initial_rows(self, features):
        """The first-layer rows ``add_inputs`` draws for ``features``."""
        out = np.empty((len(features), self.weights[0].shape[1]), dtype=np.float32)
        self._feature_rows(np.asarray(features), out)
        return out

    def _feature_rows(self, features, out):
        """Write the drawn first-layer rows of ``features`` into ``out``.

        Uniform(-bound, bound) float32 from a counter-based generator: the
        SplitMix64 finaliser of ``key + (feature * width + column) * golden``.
        A row depends on the feature's id and the network's key alone.
        """
        width = out.shape[1]
        cols = np.arange(width, dtype=np.uint64)
        scale = np.float32(2 * self._bound0 * 2.0**-24)
        for s in range(0, features.size, _ROW_CHUNK):  # bounded temporaries
            ids = features[s : s + _ROW_CHUNK].astype(np.uint64)
            x = ids[:, None] * np.uint64(width) + cols
            x *= np.uint64(0x9E3779B97F4A7C15)
            x += np.uint64(self._row_key)
            x ^= x >> np.uint64(30)
            x *= np.uint64(0xBF58476D1CE4E5B9)
            x ^= x >> np.uint64(27)
            x *= np.uint64(0x94D049BB133111EB)
            x ^= x >> np.uint64(31)
            block = out[s : s + ids.size]
            np.multiply((x >> np.uint64(40)).astype(np.float32), scale, out=block)
            block -= np.float32(self._bound0)

    def first_layer(self, a=None):
        """A first-layer array by feature, (n_features, h1): a copy.

        ``a`` is ``weights[0]`` (the default) or one of its Adam moments
        ``m_w[0]``, ``v_w[0]``. Features never seen in training get zero rows.
        """
        return (self.weights[0] if a is None else a)[self.rows]

    def coefs(self):
        """Weight matrices (fan_in, fan_out), as scikit-learn's ``coefs_``.

        The first is assembled from the rows by feature once after each change
        of the weights and returned read-only (writing into it could not change
        the network); the others are the trained arrays, the output layer as a
        transposed view.
        """
        if self._by_feature is None:
            self._by_feature = self.first_layer()
            self._by_feature.flags.writeable = False
        return [self._by_feature, *self.weights[1:-1], self.weights[-1].T]

    def to_rows(self, X):
        """CSR ``X`` with its columns replaced by the features' first-layer rows.

        Features without a row get one. Training maps its data once with this
        (``rows=True`` in ``hidden``) rather than each batch.
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
        return data, mapped, indptr

    # ------------------------------------------------------------ persistence

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_by_feature"] = None
        options = writing_options()
        if options is not None and not options["optimizer_state"]:
            # Inference only: no moments (see ``sparseclf.save``).
            for name in ("m_w", "v_w", "m_b", "v_b", "last_step"):
                state[name] = None
        elif state["last_step"] is not None:
            state["last_step"] = state["last_step"][: self.n_rows]
        names = [n for n in ("weights", "m_w", "v_w") if state[n] is not None]
        for name in names:
            state[name] = list(state[name])
            state[name][0] = state[name][0][: self.n_rows]  # not the spare room
        state["weights"] = [stored_weights(w, options) for w in state["weights"]]
        # Adam's moments stay zero on rows training never touched (most rows of
        # an extreme output layer), so a wide layer's moments are saved as their
        # touched rows only; loading rebuilds them exactly.
        state["_touched"] = []
        if state["m_w"] is None:
            return state
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
        # float32 again if saved as float16; contiguous either way.
        state["weights"] = [
            np.ascontiguousarray(w, dtype=np.float32) for w in state["weights"]
        ]
        if state["m_w"] is not None:
            for name in ("m_w", "v_w"):
                state[name][0] = np.ascontiguousarray(state[name][0])
            # Files written before rows kept their last step: none is behind.
            n_rows = state["weights"][0].shape[0]
            if state.get("last_step") is None:
                state["last_step"] = np.full(n_rows, state["step"], dtype=np.int64)
            state["last_step"] = np.ascontiguousarray(state["last_step"])
        # Files written before rows were drawn from feature ids: a fixed key.
        state.setdefault("_row_key", 0)
        self.__dict__.update(state)

    @property
    def trainable(self):
        """Whether Adam's moments are here (not an inference-only model)."""
        return self.m_w is not None

    def snapshot(self):
        """Copies of the weights and biases, for ``restore``."""
        return [w.copy() for w in self.weights], [b.copy() for b in self.biases]

    def restore(self, state):
        """Set the weights and biases to a ``snapshot``."""
        weights, biases = state
        for dst, src in zip(self.weights + self.biases, weights + biases):
            dst[...] = src
        self._changed()

    def is_finite(self):
        """No weight or bias is NaN or infinite.

        Sums, one read per layer with no bool array as large as it: NaN and inf
        propagate through a sum (inf - inf is NaN). Only finite weights above
        ~1e30 could overflow a sum too, and those have diverged anyway.
        """
        return all(math.isfinite(float(p.sum())) for p in self.weights + self.biases)

    # ---------------------------------------------------------------- forward

    def _first_layer(self, X, n_threads, grow=False, rows=False, dropout=0.0, rng=None):
        """ReLU activations of the first (sparse-input) layer, float32.

        With ``dropout``, its masks are hashed from a seed drawn from ``rng``
        (see ``_input_layer.input_forward``).
        """
        data, rows, indptr = self._input_arrays(X, grow=grow, rows=rows)
        cut, scale = _dropout_cut(dropout)
        seed = rng.randint(2**32, dtype=np.uint32) if cut else np.uint32(0)
        return self._input_forward(data, rows, indptr, seed, cut, scale, n_threads)

    def _input_forward(self, data, rows, indptr, seed, cut, scale, n_threads):
        """``_input_layer.input_forward`` on the first layer, CSR over its rows."""
        return _input_layer.input_forward(
            data,
            rows,
            indptr,
            self.weights[0],
            self.biases[0],
            seed,
            cut,
            scale,
            threads_for(data.shape[0], n_threads),
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

    def active_logits(self, H_last, active, n_threads=1):
        """Float32 logits of the neurons ``active`` (n, m) of each row."""
        return _output_layer.active_logits(
            H_last,
            active,
            self.weights[-1],
            self.biases[-1],
            threads_for(active.size, n_threads),
        )

    # --------------------------------------------------------------- training

    def adam_constants(self, adam):
        """Advance the step; return ``lr_t``, ``beta1``, ``beta2``, ``eps_t``
        (float32), the step size and epsilon with Adam's bias corrections."""
        self.step += 1
        self._changed()
        bc1 = 1.0 - adam.beta1**self.step
        bc2 = math.sqrt(1.0 - adam.beta2**self.step)
        return (
            np.float32(adam.lr * bc2 / bc1),
            np.float32(adam.beta1),
            np.float32(adam.beta2),
            np.float32(adam.eps * bc2),
        )

    def train_step(
        self, X, H, own, n_own, n_pos, pool, pool_offset, adam, dropout, n_threads
    ):
        """One step of sampled-softmax training; returns the per-sample losses.

        ``X`` comes from ``to_rows``; ``H`` is ``hidden(X, ..., rows=True)``.
        Sample ``i``'s active output neurons are ``own[i, :n_own[i]]`` (its
        ``n_pos[i]`` labels first, then its LSH candidates) and the ``pool``
        (unique ids) shared by the batch, whose logits get ``pool_offset`` (or
        nothing, None) and whose logits and gradients are BLAS products; see
        ``_output_layer.output_forward``. Only those output rows, and the input rows
        of the batch's features, are read and updated (the first layer's bias
        with them, in ``_input_layer.input_step``); the hidden-to-hidden layers
        get dense Adam.
        """
        # A dropped unit's activation is 0, so ``H[k] > 0`` is the product of
        # the ReLU's and the dropout's masks; the survivors' scale remains
        # (1.0 without dropout: exact).
        scale = _dropout_cut(dropout)[1]
        n = H[0].shape[0]
        constants = self.adam_constants(adam)
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
        threads = threads_for(3 * int(n_own.sum()) + n * pool.shape[0] // 8, n_threads)
        loss, dz, dzp, dH = _output_layer.output_forward(
            Hl, own, n_own, n_pos, pool, Zp, W, b, np.float32(1.0 / n), threads
        )
        dH += dzp @ Wp
        _output_layer.output_update(
            Hl,
            own,
            n_own,
            n_pos,
            dz,
            pool,
            np.ascontiguousarray(dzp.T @ Hl),
            dzp.sum(axis=0),
            *self._layer_state(-1),
            *constants,
            threads,
        )
        for k in range(len(H) - 1, 0, -1):
            dpre = dH * ((H[k] > 0) * scale)
            dH = dpre @ self.weights[k].T
            self._dense_adam(k, H[k - 1].T @ dpre, dpre.sum(axis=0), constants)
        data, X_rows, indptr = csr_arrays(X)
        self._input_step(data, X_rows, indptr, dH, H[0], scale, constants, n_threads)
        return loss

    def dense_step(self, X, lab_ptr, labels, seed, adam, dropout, n_threads):
        """``train_step`` with every output active, three kernels in all.

        For a network with one hidden layer and few outputs: the same step but
        for rounding (the output layer's products are loops in
        ``_output_layer.dense_output``, not BLAS), without the active sets, the
        pool and the NumPy products. ``X`` (a ``RowBlock`` of ``to_rows``
        output) has the labels ``(lab_ptr, labels)``; ``seed`` seeds the
        dropout masks. Returns the per-sample losses.
        """
        constants = self.adam_constants(adam)
        cut, scale = _dropout_cut(dropout)
        data, rows, indptr = csr_arrays(X)
        H = self._input_forward(data, rows, indptr, seed, cut, scale, n_threads)
        work = H.shape[0] * (3 + self.weights[-1].size // 8)
        loss, dH = _output_layer.dense_output(
            H,
            np.ascontiguousarray(lab_ptr, dtype=np.int64),
            np.ascontiguousarray(labels, dtype=np.int32),
            *self._layer_state(-1),
            *constants,
            threads_for(work, n_threads),
        )
        self._input_step(data, rows, indptr, dH, H, scale, constants, n_threads)
        return loss

    @staticmethod
    def dropout_seeds(n_steps, dropout, rng):
        """Seeds of ``dense_step``'s dropout masks for ``n_steps`` steps, drawn
        at once (zeros without dropout: nothing is drawn)."""
        if _dropout_cut(dropout)[0]:
            return rng.randint(2**32, size=n_steps, dtype=np.uint32)
        return np.zeros(n_steps, dtype=np.uint32)

    def _input_step(self, data, rows, indptr, dH, H, scale, constants, n_threads):
        """``_input_layer.input_step`` on the first layer and its bias."""
        _input_layer.input_step(
            data,
            _row_keys(rows),
            indptr,
            dH,
            H,
            scale,
            self.weights[0],
            self.m_w[0],
            self.v_w[0],
            self.last_step,
            0 if self.lazy_adam else self.step,  # step 0: nothing to catch up
            self.biases[0],
            self.m_b[0],
            self.v_b[0],
            *constants,
            threads_for(2 * data.shape[0], n_threads),
        )

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

    def _dense_adam(self, k, grad_w, grad_b, constants):
        _adam(self.weights[k], self.m_w[k], self.v_w[k], grad_w, *constants)
        _adam(self.biases[k], self.m_b[k], self.v_b[k], grad_b, *constants)


def _dropout_cut(p):
    """16-bit threshold of dropout ``p`` and the survivors' scale, float32."""
    if not p:  # prediction
        return 0, _ONE
    cut = min(round(p * 65536), 65535)
    return cut, np.float32(65536 / (65536 - cut))


def _drop(h, p, rng):
    """Inverted dropout of activations ``h`` in place: zero with probability p.

    The uniforms are 16-bit integers from ``rng.bytes``, faster than
    ``random_sample``'s doubles; ``p`` is thus rounded to a multiple of 2**-16,
    and the survivors' scale matches it.
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
