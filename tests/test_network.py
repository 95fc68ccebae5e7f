# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The network: its training steps against finite differences and NumPy."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from sparseclf._csr import RowBlock
from sparseclf._kernels import load
from sparseclf._lsh import active_sets
from sparseclf._network import Adam, Network
from sparseclf._sampler import DenseOutputs

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


def adam(lr):
    return Adam(lr, BETA1, BETA2, EPS)


def by_feature(net, arrays=None):
    """Copies of ``net.weights`` (or of its moments ``arrays``), the first layer
    as the (n_features, h1) matrix the NumPy references multiply by."""
    arrays = net.weights if arrays is None else arrays
    return [net.first_layer(arrays[0]), *(a.copy() for a in arrays[1:])]


def own_labels(lab_ptr, labels, n_out):
    """Each sample's own active set holding just its labels: (own, n_own)."""
    n = lab_ptr.shape[0] - 1
    m = max(1, int(np.diff(lab_ptr).max()))
    return active_sets(
        None,
        None,
        lab_ptr,
        labels,
        np.empty(0, np.int64),
        np.zeros(n, np.int64),
        m,
        n_out,
        max_cand=0,
    )


def step(net, X, own, n_own, n_pos, pool, lr, n_threads=1, dropout=0.0, rng=None):
    """``train_step`` on the features ``X`` (mapped to first-layer rows)."""
    Xr = net.to_rows(X)
    H = net.hidden(Xr, n_threads, dropout, rng, rows=True)
    args = (own, n_own, n_pos, pool, None, adam(lr), dropout, n_threads)
    return net.train_step(Xr, H, *args)


def dense_step(net, X, lab_ptr, labels, lr, n_threads=1, dropout=0.0, rng=None):
    """A training step with every neuron active, the sets made by DenseOutputs."""
    Xr = net.to_rows(X)
    H = net.hidden(Xr, n_threads, dropout, rng, rows=True)
    active = DenseOutputs(net.n_outputs).sample(
        H[-1], None, None, lab_ptr, labels, None, n_threads
    )
    return net.train_step(Xr, H, *active, adam(lr), dropout, n_threads)


def hashed_keep(seed, n, h, cut):
    """The first layer's dropout masks from their definition: unit (i, k) is kept
    when the top 16 bits of lowbias32(seed + i * h + k), in uint32, are >= cut."""
    x = np.uint32(seed) + np.arange(n * h, dtype=np.uint32).reshape(n, h)
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return (x >> np.uint32(16)) >= cut


def numeric_gradient(loss, p, eps=1e-6):
    """Central differences of ``loss()`` in each entry of ``p`` (changed in place
    and restored)."""
    numeric = np.zeros_like(p)
    for idx in np.ndindex(p.shape):
        old = p[idx]
        p[idx] = old + eps
        up = loss()
        p[idx] = old - eps
        down = loss()
        p[idx] = old
        numeric[idx] = (up - down) / (2 * eps)
    return numeric


def numpy_loss(X, lab_ptr, labels, weights, biases, masks=None):
    """Mean softmax cross-entropy of the ReLU MLP, float64, from the definition.

    ``masks``: one array per hidden layer multiplying its activations (dropout).
    """
    H = X.toarray().astype(np.float64)
    for k, (W, b) in enumerate(zip(weights[:-1], biases[:-1])):
        H = np.maximum(H @ W + b, 0)
        if masks is not None:
            H = H * masks[k]
    Z = H @ weights[-1].T + biases[-1]
    Z = Z - Z.max(axis=1, keepdims=True)
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    loss = 0.0
    for i in range(X.shape[0]):
        lab = labels[lab_ptr[i] : lab_ptr[i + 1]]
        if len(lab):
            loss -= logp[i, lab].mean()
    return loss / X.shape[0]


@pytest.mark.parametrize("hidden", [(6,), (6, 5)])
@pytest.mark.parametrize("multilabel", [False, True])
def test_gradients_match_finite_differences(tiny_problem, hidden, multilabel):
    X, lab_ptr, labels, net = tiny_problem(hidden=hidden, multilabel=multilabel)
    w64 = [w.astype(np.float64) for w in by_feature(net)]
    b64 = [b.astype(np.float64) for b in net.biases]
    loss = dense_step(net, X, lab_ptr, labels, 1e-3)
    assert loss.sum() / X.shape[0] == pytest.approx(
        numpy_loss(X, lab_ptr, labels, w64, b64), rel=1e-5
    )
    # After one step from zero moments, m = (1 - beta1) * gradient.
    for params, moments in ((w64, by_feature(net, net.m_w)), (b64, net.m_b)):
        for p, m in zip(params, moments):
            grad = m / (1 - BETA1)
            numeric = numeric_gradient(
                lambda: numpy_loss(X, lab_ptr, labels, w64, b64), p
            )
            np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("hidden", [(6,), (6, 5)])
def test_dropout_gradients_match_finite_differences(tiny_problem, hidden):
    # The masks are drawn as the engine draws them from the same RandomState:
    # the first layer's hashed from a 32-bit seed, then a 16-bit uniform per
    # unit of each later layer; survivors are scaled by 1/(1-p), p rounded to a
    # multiple of 2**-16.
    p = 0.4
    X, lab_ptr, labels, net = tiny_problem(hidden=hidden, n=8)
    draws = np.random.RandomState(3)
    cut = round(p * 65536)
    scale = 65536 / (65536 - cut)
    masks = [hashed_keep(draws.randint(2**32, dtype=np.uint32), 8, hidden[0], cut)]
    masks += [
        np.frombuffer(draws.bytes(16 * h), np.uint16).reshape(8, h) >= cut
        for h in hidden[1:]
    ]
    masks = [m * scale for m in masks]
    assert all(0 < (m > 0).mean() < 1 for m in masks)
    w64 = [w.astype(np.float64) for w in by_feature(net)]
    b64 = [b.astype(np.float64) for b in net.biases]
    loss = dense_step(
        net, X, lab_ptr, labels, 1e-3, dropout=p, rng=np.random.RandomState(3)
    )
    args = (X, lab_ptr, labels, w64, b64)
    assert loss.sum() / X.shape[0] == pytest.approx(numpy_loss(*args, masks), rel=1e-5)
    assert loss.sum() / X.shape[0] != pytest.approx(numpy_loss(*args), rel=1e-3)
    for params, moments in ((w64, by_feature(net, net.m_w)), (b64, net.m_b)):
        for q, m in zip(params, moments):
            numeric = numeric_gradient(lambda: numpy_loss(*args, masks), q)
            np.testing.assert_allclose(m / (1 - BETA1), numeric, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("p", [0.1, 0.6])
def test_first_layer_dropout_masks_are_hashed_per_unit(p):
    rng = np.random.RandomState(0)
    n, d, h = 4000, 100, 24  # 80k non-zeros: enough work for 2 threads
    net = Network(d, [h], 3, rng)
    X = sp.random(n, d, density=0.2, format="csr", random_state=rng, dtype=np.float32)
    full = net.hidden(X)[0]
    assert (full > 0).mean() > 0.3
    cut = round(p * 65536)
    runs = []
    for n_threads in (1, 2):
        draws = np.random.RandomState(5)
        H = net.hidden(X, n_threads, p, draws)[0]
        keep = hashed_keep(
            np.random.RandomState(5).randint(2**32, dtype=np.uint32), n, h, cut
        )
        np.testing.assert_array_equal(H[~keep], 0)
        np.testing.assert_allclose(
            H[keep], full[keep] * 65536 / (65536 - cut), rtol=1e-6
        )
        runs.append(H)
    np.testing.assert_array_equal(runs[0], runs[1])
    # About a fraction p of the units dropped, and another seed, other masks.
    assert abs((~keep).mean() - p) < 0.01
    other = hashed_keep(
        np.random.RandomState(6).randint(2**32, dtype=np.uint32), n, h, cut
    )
    assert (other != keep).mean() > p * (1 - p)


def fused_epoch(net, X, lab_ptr, labels, size, lr, n_threads, dropout, rng):
    """``dense_step`` over consecutive batches of ``X``, as the trainer runs it."""
    Xr = net.to_rows(X)
    n = X.shape[0]
    seeds = Network.dropout_seeds(-(-n // size), dropout, rng)
    losses = []
    for t, s in enumerate(range(0, n, size)):
        e = min(s + size, n)
        ptr, lab = lab_ptr[s : e + 1] - lab_ptr[s], labels[lab_ptr[s] : lab_ptr[e]]
        Xb = RowBlock(Xr, s, e)
        losses.append(
            net.dense_step(Xb, ptr, lab, seeds[t], adam(lr), dropout, n_threads)
        )
    return np.concatenate(losses)


@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("p", [0.0, 0.4])
def test_dense_steps_equal_train_steps(tiny_problem, multilabel, p):
    # dense_step (three kernels) against train_step with every output active,
    # batch by batch, from the same weights and RandomState: 50 samples in
    # batches of 16 (the last of 2).
    X, lab_ptr, labels, net = tiny_problem(
        n=50, d=30, hidden=(16,), n_out=7, multilabel=multilabel
    )
    if multilabel:
        assert (np.diff(lab_ptr) == 0).any()  # a sample without labels, too
    steps = pickle.loads(pickle.dumps(net))
    before = [w.copy() for w in net.weights + net.biases]
    loss = fused_epoch(
        net, X, lab_ptr, labels, 16, 1e-2, 1, p, np.random.RandomState(4)
    )
    draws = np.random.RandomState(4)
    want = []
    for s in range(0, 50, 16):
        e = min(s + 16, 50)
        want.append(
            dense_step(
                steps,
                X[s:e],
                lab_ptr[s : e + 1] - lab_ptr[s],
                labels[lab_ptr[s] : lab_ptr[e]],
                1e-2,
                dropout=p,
                rng=draws,
            )
        )
    assert net.step == steps.step == 4
    np.testing.assert_allclose(loss, np.concatenate(want), rtol=1e-5)
    for got, ref in zip(
        net.weights + net.biases + net.m_w + net.v_w,
        steps.weights + steps.biases + steps.m_w + steps.v_w,
    ):
        # The output layer's products are loops here, BLAS there: rounding.
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-6)
    assert not any(np.array_equal(a, b) for a, b in zip(before, net.weights))


def test_dense_steps_give_identical_results_on_1_and_2_threads():
    results = []
    for n_threads in (1, 2):
        rng = np.random.RandomState(0)
        n, d = 3000, 400
        net = Network(d, [32], 20, rng)
        # 80k non-zeros a batch of 1,000 and 20 x 32 outputs: 2 threads run.
        X = sp.random(
            n, d, density=0.2, format="csr", random_state=rng, dtype=np.float32
        )
        labels = rng.randint(0, 20, n).astype(np.int32)
        lab_ptr = np.arange(n + 1, dtype=np.int64)
        loss = fused_epoch(net, X, lab_ptr, labels, 1000, 1e-3, n_threads, 0.5, rng)
        results.append([loss, *net.weights, *net.biases])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_is_finite_finds_one_bad_weight(tiny_problem):
    _, _, _, net = tiny_problem(hidden=(6, 5))
    assert net.is_finite()
    for layer, where, bad in ((0, (3, 2), np.nan), (1, (0, 0), np.inf)):
        old = net.weights[layer][where]
        net.weights[layer][where] = bad
        assert not net.is_finite()
        net.weights[layer][where] = old
    net.weights[0][0, 0], net.weights[0][1, 0] = np.inf, -np.inf  # sum is NaN
    assert not net.is_finite()
    net.weights[0][:2, 0] = 0
    net.biases[-1][1] = -np.inf
    assert not net.is_finite()


def test_first_layer_holds_rows_of_seen_features_only():
    rng = np.random.RandomState(0)
    d, h = 1000, 8
    net = Network(d, [h], 3, rng)
    X = sp.random(20, d, density=0.01, format="csr", random_state=rng, dtype=np.float32)
    H = net.hidden(X)[0]
    seen = np.unique(X.indices)
    assert net.n_rows == 1 + seen.size
    assert sorted(net.rows[seen]) == list(range(1, net.n_rows))
    assert (net.rows[np.setdiff1d(np.arange(d), seen)] == 0).all()
    W = net.first_layer()
    bound = np.sqrt(6 / (d + h))
    assert (W[seen] != 0).all() and (np.abs(W[seen]) <= bound).all()
    np.testing.assert_allclose(
        H, np.maximum(X.toarray() @ W + net.biases[0], 0), rtol=1e-5, atol=1e-7
    )
    # Prediction: a feature training never saw adds nothing, and gets no row.
    unseen = np.setdiff1d(np.arange(d), seen)[:5]
    X2 = X.toarray()
    X2[:, unseen] = 1.0
    np.testing.assert_array_equal(
        net.hidden64(sp.csr_matrix(X2)), net.hidden64(X).astype(np.float64)
    )
    assert net.n_rows == 1 + seen.size
    # Adding features in pieces keeps every row, moment and mapping.
    before = [net.first_layer(a) for a in (net.weights[0], net.m_w[0], net.v_w[0])]
    net.m_w[0][1:] = 0.5
    before[1][seen] = 0.5
    for piece in np.array_split(unseen, 3):
        net.add_inputs(piece)
    assert net.weights[0].shape[0] >= net.n_rows == 1 + seen.size + unseen.size
    for was, a in zip(before, (net.weights[0], net.m_w[0], net.v_w[0])):
        np.testing.assert_array_equal(net.first_layer(a)[seen], was[seen])
    assert (net.first_layer()[unseen] != 0).all()


def test_hidden_on_rows_equals_hidden_on_features(tiny_problem):
    # Training maps its data to first-layer rows once (to_rows) and reads it
    # with rows=True: the same activations as from the features.
    X, _, _, net = tiny_problem(n=30, d=40)
    Xr = net.to_rows(X)
    assert Xr.shape == (30, net.weights[0].shape[0])
    for a, b in zip(net.hidden(X), net.hidden(Xr, rows=True)):
        np.testing.assert_array_equal(a, b)


def test_coefs_are_assembled_once_per_change_and_read_only(tiny_problem):
    X, lab_ptr, labels, net = tiny_problem(n=20, d=30, hidden=(8, 6))
    coefs = net.coefs()
    assert coefs[0] is net.coefs()[0]  # no copy on a second access
    np.testing.assert_array_equal(coefs[0], net.first_layer())
    assert coefs[1] is net.weights[1] and coefs[2].base is net.weights[-1]
    with pytest.raises(ValueError, match="read-only"):
        coefs[0][0, 0] = 1.0
    dense_step(net, X, lab_ptr, labels, 1e-2)
    after = net.coefs()[0]
    assert after is not coefs[0] and not np.array_equal(after, coefs[0])
    np.testing.assert_array_equal(after, net.first_layer())
    state = net.snapshot()
    dense_step(net, X, lab_ptr, labels, 1e-2)
    moved = net.coefs()[0]
    net.restore(state)
    assert net.coefs()[0] is not moved
    np.testing.assert_array_equal(net.coefs()[0], after)
    assert pickle.loads(pickle.dumps(net))._by_feature is None


def test_pickle_keeps_trained_rows_and_training_goes_on_alike():
    rng = np.random.RandomState(0)
    n_out, d, n = 2000, 4096, 64
    net = Network(d, [16], n_out, rng)
    net.lazy_adam = False  # rows keep their last steps, which must survive
    X = sp.random(n, d, density=0.002, format="csr", random_state=rng, dtype=np.float32)
    labels = rng.randint(0, n_out, n).astype(np.int32)
    lab_ptr = np.arange(n + 1, dtype=np.int64)
    own, n_own = own_labels(lab_ptr, labels, n_out)
    pool = np.unique(rng.randint(n_out, size=30))

    def train(net, X):
        return step(net, X, own, n_own, np.ones(n, np.int64), pool, 1e-3)

    train(net, X)
    net.add_inputs(np.arange(d - 3, d))  # the storage doubles: spare rows
    assert net.weights[0].shape[0] > net.n_rows
    out_rows = np.union1d(labels, pool)
    assert 7 not in out_rows
    net.m_w[-1][7, 3] = 1e-30  # a tiny moment counts as touched
    blob = pickle.dumps(net)
    # The first layer's used rows, the output weights, the touched output
    # moments, the biases and the feature map; no spare rows, no untouched
    # moments.
    kept = 3 * net.n_rows * 16 * 4 + net.weights[-1].nbytes + net.rows.nbytes
    kept += 2 * (out_rows.size + 1) * 16 * 4
    kept += sum(b.nbytes for b in net.biases + net.m_b + net.v_b)
    assert (
        len(blob)
        < kept + 16384
        < sum(a.nbytes for a in net.weights + net.m_w + net.v_w)
    )
    back = pickle.loads(blob)
    assert back.weights[0].shape[0] == back.n_rows == net.n_rows
    for a, b in zip(
        by_feature(net) + by_feature(net, net.m_w) + by_feature(net, net.v_w),
        by_feature(back) + by_feature(back, back.m_w) + by_feature(back, back.v_w),
    ):
        np.testing.assert_array_equal(a, b)
        assert b.flags.c_contiguous and b.dtype == np.float32
    assert back.step == net.step and not hasattr(back, "_touched")
    assert net.last_step[: net.n_rows].max() == net.step  # rows were updated
    np.testing.assert_array_equal(back.last_step, net.last_step[: net.n_rows])
    assert back.lazy_adam is False
    # The same next step, new features (drawn from the pickled generator) too.
    X2 = sp.random(n, d, density=0.004, format="csr", random_state=rng)
    X2 = X2.astype(np.float32)
    np.testing.assert_array_equal(train(net, X2), train(back, X2))
    for a, b in zip(by_feature(net) + net.biases, by_feature(back) + back.biases):
        np.testing.assert_array_equal(a, b)


def test_pickle_without_last_steps_loads_with_no_row_behind():
    # Files written before rows kept their last step: no catch-up is invented.
    rng = np.random.RandomState(0)
    net = Network(50, [4], 30, rng)
    X = sp.random(8, 50, density=0.1, format="csr", random_state=rng, dtype=np.float32)
    lab_ptr = np.arange(9, dtype=np.int64)
    labels = rng.randint(0, 30, 8).astype(np.int32)
    for _ in range(3):
        dense_step(net, X, lab_ptr, labels, 1e-2)
    state = net.__getstate__()
    del state["last_step"]
    back = Network.__new__(Network)
    back.__setstate__(state)
    assert back.last_step.shape == (net.n_rows,)
    assert (back.last_step == net.step).all()


def numpy_sampled_loss(X, lab_ptr, labels, weights, biases, pool):
    """Mean loss of the softmax over labels + pool, the pool logQ-corrected."""
    H = X.toarray().astype(np.float64)
    for W, b in zip(weights[:-1], biases[:-1]):
        H = np.maximum(H @ W + b, 0)
    n_out = weights[-1].shape[0]
    loss = 0.0
    for i in range(X.shape[0]):
        lab = labels[lab_ptr[i] : lab_ptr[i + 1]]
        rest = np.setdiff1d(pool, lab)
        z_lab = weights[-1][lab] @ H[i] + biases[-1][lab]
        z_rest = weights[-1][rest] @ H[i] + biases[-1][rest]
        z_rest += np.log((n_out - len(lab)) / len(rest))
        z = np.concatenate([z_lab, z_rest])
        logp = z - z.max() - np.log(np.exp(z - z.max()).sum())
        loss -= logp[: len(lab)].mean()
    return loss / X.shape[0]


def test_sampled_gradients_match_finite_differences(tiny_problem):
    # Each sample: its label and a pool of 5 random neurons shared by the batch
    # (masked where it holds the label), whose logits carry the logQ correction
    # log((12 - 1) / (5 - masked)).
    X, lab_ptr, labels, net = tiny_problem(n_out=12)
    n = X.shape[0]
    pool = np.array([0, 2, 3, 7, 11])
    assert np.isin(labels, pool).any() and not np.isin(labels, pool).all()
    own, n_own = own_labels(lab_ptr, labels, 12)
    w64 = [w.astype(np.float64) for w in by_feature(net)]
    b64 = [b.astype(np.float64) for b in net.biases]
    args = (X, lab_ptr, labels, w64, b64, pool)
    loss = step(net, X, own, n_own, np.diff(lab_ptr), pool, 1e-3)
    assert loss.sum() / n == pytest.approx(numpy_sampled_loss(*args), rel=1e-5)
    for params, moments in ((w64, net.m_w), (b64, net.m_b)):
        p, m = params[-1], moments[-1]
        numeric = numeric_gradient(lambda: numpy_sampled_loss(*args), p)
        np.testing.assert_allclose(m / (1 - BETA1), numeric, rtol=1e-3, atol=1e-6)
    inactive = np.setdiff1d(np.arange(12), np.union1d(pool, labels))
    assert (numeric[inactive] == 0).all() and (net.m_w[-1][inactive] == 0).all()


def numpy_dense_step(X, y, weights, biases, lr):
    """One Adam step of a dense ReLU MLP with full softmax, in plain NumPy.

    ``weights[-1]`` is (n_out, hidden), as the engine stores it.
    """
    n = X.shape[0]
    Hs = [X]
    for W, b in zip(weights[:-1], biases[:-1]):
        Hs.append(np.maximum(Hs[-1] @ W + b, 0))
    Z = Hs[-1] @ weights[-1].T + biases[-1]
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    dZ = P.copy()
    dZ[np.arange(n), y] -= 1
    dZ /= n
    grads_w = [None] * len(weights)
    grads_b = [None] * len(weights)
    grads_w[-1] = dZ.T @ Hs[-1]
    grads_b[-1] = dZ.sum(axis=0)
    dH = dZ @ weights[-1]
    for k in range(len(weights) - 2, -1, -1):
        dpre = dH * (Hs[k + 1] > 0)
        grads_w[k] = Hs[k].T @ dpre
        grads_b[k] = dpre.sum(axis=0)
        dH = dpre @ weights[k].T
    lr_t = lr * np.sqrt(1 - BETA2) / (1 - BETA1)
    eps_t = EPS * np.sqrt(1 - BETA2)
    new = []
    for p, g in zip(weights + biases, grads_w + grads_b):
        m = (1 - BETA1) * g
        v = (1 - BETA2) * g * g
        new.append(p - lr_t * m / (np.sqrt(v) + eps_t))
    return new[: len(weights)], new[len(weights) :]


@pytest.mark.parametrize("hidden", [(16,), (16, 12)])
def test_dense_step_equals_numpy_reference(hidden):
    rng = np.random.RandomState(1)
    n, d, n_out = 32, 20, 10
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.randint(0, n_out, n)
    net = Network(d, list(hidden), n_out, rng)
    net.add_inputs(np.arange(d))
    w0 = by_feature(net)
    b0 = [b.copy() for b in net.biases]
    lab_ptr = np.arange(n + 1, dtype=np.int64)
    dense_step(net, sp.csr_matrix(X), lab_ptr, y.astype(np.int32), 1e-2, 2)
    want_w, want_b = numpy_dense_step(X, y, w0, b0, 1e-2)
    got_w = by_feature(net)
    for got, want, before in zip(got_w + net.biases, want_w + want_b, w0 + b0):
        assert not np.array_equal(got, before)  # the step moved every layer
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_sparse_adam_touches_only_active_rows():
    rng = np.random.RandomState(0)
    n_out, d, n = 500, 300, 8
    net = Network(d, [12], n_out, rng)
    net.add_inputs(np.arange(d))
    X = sp.random(n, d, density=0.02, format="csr", random_state=rng, dtype=np.float32)
    w0 = by_feature(net)
    b_out0 = net.biases[-1].copy()
    labels = rng.randint(0, n_out, n).astype(np.int32)
    lab_ptr = np.arange(n + 1, dtype=np.int64)
    own, n_own = own_labels(lab_ptr, labels, n_out)
    pool = np.unique(rng.randint(n_out, size=20))
    step(net, X, own, n_own, np.ones(n, np.int64), pool, 1e-2)
    touched_out = np.zeros(n_out, bool)
    touched_out[labels] = True
    touched_out[pool] = True
    changed = (net.weights[-1] != w0[-1]).any(axis=1)
    assert (changed == touched_out).all()
    assert ((net.biases[-1] != b_out0) == touched_out).all()
    assert (net.m_w[-1][~touched_out] == 0).all() and (
        net.v_w[-1][~touched_out] == 0
    ).all()
    features = np.zeros(d, bool)
    features[X.indices] = True
    changed_in = (net.first_layer() != w0[0]).any(axis=1)
    assert not changed_in[~features].any()
    assert changed_in[features].any()
    assert (net.first_layer(net.m_w[0])[~features] == 0).all()


def test_threads_give_identical_steps():
    results = []
    for n_threads in (1, 2):
        rng = np.random.RandomState(0)
        n_out, d, n = 4000, 500, 256
        net = Network(d, [32], n_out, rng)
        X = sp.random(
            n, d, density=0.1, format="csr", random_state=rng, dtype=np.float32
        )
        labels = rng.randint(0, n_out, n).astype(np.int32)
        lab_ptr = np.arange(n + 1, dtype=np.int64)
        # Own sets of a label and 200 neurons, and a pool of 300: OpenMP runs
        # the kernels on 2 threads here.
        own, n_own = active_sets(
            None,
            None,
            lab_ptr,
            labels,
            rng.randint(n_out, size=200),
            rng.randint(200, size=n),
            201,
            n_out,
            n_threads,
        )
        n_own[:] = 201
        pool = np.unique(rng.randint(n_out, size=300))
        loss = step(net, X, own, n_own, np.ones(n, np.int64), pool, 1e-3, n_threads)
        results.append((loss, net.weights, net.biases))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    for a, b in zip(results[0][1] + results[0][2], results[1][1] + results[1][2]):
        np.testing.assert_array_equal(a, b)


def dense_adam_constants(t, lr, beta1=BETA1, beta2=BETA2, eps=EPS):
    bc1, bc2 = 1 - beta1**t, np.sqrt(1 - beta2**t)
    return lr * bc2 / bc1, eps * bc2


@pytest.mark.parametrize("skipped", [1, 7, 300])
def test_first_layer_rows_catch_up_the_steps_they_missed(skipped):
    # A row last updated at step t0 and touched again at t0 + skipped + 1 ends
    # where dense Adam puts it: ``skipped`` zero-gradient steps, then the step
    # with its gradient (float64 NumPy, each step with its own constants).
    rng = np.random.RandomState(0)
    hidden, lr, t0 = 8, 1e-2, 5000
    step_now = t0 + skipped + 1
    W = rng.standard_normal((2, hidden)).astype(np.float32)
    m = (rng.standard_normal((2, hidden)) * 1e-2).astype(np.float32)
    v = (rng.random_sample((2, hidden)) * 1e-4 + 1e-6).astype(np.float32)
    want_w, want_m, want_v = (a[1].astype(np.float64) for a in (W, m, v))
    g = np.zeros(hidden)
    for t in range(t0 + 1, step_now + 1):
        if t == step_now:
            g = rng.standard_normal(hidden) * 1e-2
        lr_t, eps_t = dense_adam_constants(t, lr)
        want_m = BETA1 * want_m + (1 - BETA1) * g
        want_v = BETA2 * want_v + (1 - BETA2) * g * g
        want_w = want_w - lr_t * want_m / (np.sqrt(want_v) + eps_t)
    # One sample with feature (row) 1 at value 1 and pre-activation gradient g.
    data = np.ones(1, np.float32)
    keys = np.array([1 << 32], dtype=np.int64)
    indptr = np.array([0, 1], dtype=np.int64)
    dH = g.astype(np.float32)[None, :]
    H = np.ones((1, hidden), np.float32)
    last = np.array([0, t0], dtype=np.int64)
    b, mb, vb = (np.zeros(hidden, np.float32) for _ in range(3))
    lr_t, eps_t = dense_adam_constants(step_now, lr)
    constants = (np.float32(c) for c in (lr_t, BETA1, BETA2, eps_t))
    w_before = W.copy()
    load("_input_layer").input_step(
        data, keys, indptr, dH, H, np.float32(1), W, m, v, last, step_now,
        b, mb, vb, *constants, 1,
    )  # fmt: skip
    assert last[1] == step_now and last[0] == 0
    np.testing.assert_array_equal(W[0], w_before[0])  # untouched row
    moved = want_w - w_before[1]
    np.testing.assert_allclose(W[1] - w_before[1], moved, rtol=2e-3, atol=1e-7)
    np.testing.assert_allclose(m[1], want_m, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(v[1], want_v, rtol=1e-4, atol=1e-12)


def test_catch_up_stays_bounded_when_beta1_squared_exceeds_beta2():
    # With beta1**2 >= beta2 the geometric sum of beta1 / sqrt(beta2) diverges;
    # the catch-up then leaves the v decay out and moves at most
    # lr_t * m / (sqrt(v) + eps) * beta1 / (1 - beta1).
    hidden = 4
    W = np.zeros((2, hidden), np.float32)
    m = np.full((2, hidden), 1e-2, np.float32)
    v = np.full((2, hidden), 1e-4, np.float32)
    last = np.array([0, 1], dtype=np.int64)
    zeros = np.zeros((1, hidden), np.float32)
    load("_input_layer").input_step(
        np.ones(1, np.float32), np.array([1 << 32], dtype=np.int64),
        np.array([0, 1], dtype=np.int64), zeros, zeros, np.float32(1), W, m, v,
        last, 10**6, *(np.zeros(hidden, np.float32) for _ in range(3)),
        np.float32(1e-3), np.float32(0.9), np.float32(0.5), np.float32(1e-8), 1,
    )  # fmt: skip
    assert np.isfinite(W).all()
    bound = 1e-3 * 1e-2 / 1e-2 * 0.9 / 0.1
    assert 0 < -W[1, 0] <= bound * 1.001


def test_first_layer_rows_are_drawn_from_feature_ids():
    # Replicas add features in their own orders and must agree on each row.
    d, h = 5000, 24
    one = Network(d, [h], 10, np.random.RandomState(7))
    one.add_inputs(np.arange(d))
    other = Network(d, [h], 10, np.random.RandomState(7))
    for piece in np.array_split(np.random.RandomState(0).permutation(d), 7):
        other.add_inputs(piece)
    np.testing.assert_array_equal(one.first_layer(), other.first_layer())
    np.testing.assert_array_equal(one.initial_rows([3, 9]), one.first_layer()[[3, 9]])
    # Glorot uniform: within the bound, mean 0, variance bound**2 / 3, and no
    # correlation between neighbouring features or units.
    W, bound = one.first_layer()[1:], one._bound0
    assert np.abs(W).max() <= bound
    assert abs(W.mean()) < 0.01 * bound
    assert W.var() == pytest.approx(bound**2 / 3, rel=0.02)
    for a, b in ((W[:-1], W[1:]), (W[:, :-1], W[:, 1:])):
        assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.02
    # Another seed draws other rows.
    third = Network(d, [h], 10, np.random.RandomState(8))
    third.add_inputs(np.arange(d))
    assert abs(np.corrcoef(W.ravel(), third.first_layer()[1:].ravel())[0, 1]) < 0.02
