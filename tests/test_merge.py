# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The merge of replicas' changes behind sparseclf.dask, without a cluster."""

import pickle

import numpy as np
import pytest

from sparseclf import SparseMLPClassifier
from sparseclf._merge import Base, _network, add, apply, merge
from sparseclf._network import Network

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def replicas(wide_separable):
    """Two replicas of one model and their bases, each trained on its half."""
    X, y = wide_separable(n_classes=300, n_samples=1200)
    clf = SparseMLPClassifier(
        hidden_layer_sizes=(16, 8), output_sparsity=0.05, random_state=0
    )
    clf.partial_fit(X[:200], y[:200], classes=np.arange(300))
    a, b = clf, pickle.loads(pickle.dumps(clf))
    bases = [Base(a), Base(b)]
    start = pickle.loads(pickle.dumps(clf))
    with bases[0].tracking(a):
        a.partial_fit(X[200:700], y[200:700])
    with bases[1].tracking(b):
        b.partial_fit(X[700:], y[700:])
    return (a, b), bases, start


def _first_layer(clf):
    net = _network(clf).network
    return net.first_layer()


@pytest.mark.parametrize("combine", ["sum", "mean"])
def test_merge_adds_or_averages_changes(replicas, combine):
    (a, b), bases, start = replicas
    updates = [base.update(r) for base, r in zip(bases, (a, b))]
    merged = merge(updates, combine)
    apply(a, merged.without(0), base=bases[0])
    apply(b, merged.without(1), base=bases[1])
    # Both replicas hold the same weights after the merge.
    for wa, wb in zip(_network(a).network.weights[1:], _network(b).network.weights[1:]):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(_first_layer(a), _first_layer(b))
    # Each weight: its start plus the replicas' changes, summed or averaged.
    na, nb = (_network(r).network for r in (a, b))
    w0 = _network(start).network.weights[-1]  # where both replicas started
    da = updates[0].rows["output"]
    db = updates[1].rows["output"]
    both = np.intersect1d(da[0], db[0])
    assert both.size > 0
    change_a = da[1][np.searchsorted(da[0], both)]
    change_b = db[1][np.searchsorted(db[0], both)]
    expected = change_a + change_b if combine == "sum" else (change_a + change_b) / 2
    np.testing.assert_allclose(
        na.weights[-1][both] - w0[both], expected, rtol=1e-5, atol=1e-7
    )
    # Rows one replica alone changed keep its value exactly.
    only_a = np.setdiff1d(da[0], db[0])
    trained_a = w0[only_a] + da[1][np.searchsorted(da[0], only_a)]
    assert np.array_equal(nb.weights[-1][only_a], na.weights[-1][only_a])
    np.testing.assert_allclose(nb.weights[-1][only_a], trained_a, rtol=1e-6)
    # Counts add up.
    counts = [_network(r).sampler.label_counts for r in (a, b)]
    np.testing.assert_array_equal(counts[0], counts[1])
    assert counts[0].sum() == 1200


def test_update_holds_every_changed_row_and_only_those(replicas):
    # The base keeps only the rows training may change; its update is what a
    # comparison of every row with a full copy of the start finds.
    (a, _), bases, start = replicas
    update = bases[0].update(a)
    net, net0 = _network(a).network, _network(start).network
    w, w0 = net.first_layer(), net0.first_layer()
    seen = net0.rows != 0
    moved = np.flatnonzero(seen & (w != w0).any(axis=1))
    new = np.flatnonzero(~seen & (net.rows != 0))
    assert new.size > 0
    features, delta, _ = update.rows["input"]
    np.testing.assert_array_equal(features, np.union1d(moved, new))
    at = np.searchsorted(features, moved)
    np.testing.assert_array_equal(delta[at], w[moved] - w0[moved])
    # A new feature's change is from the row every replica draws for it.
    at = np.searchsorted(features, new)
    np.testing.assert_array_equal(delta[at], w[new] - net.initial_rows(new))
    W, W0 = net.weights[-1], net0.weights[-1]
    moved = np.flatnonzero((W != W0).any(axis=1))
    assert moved.size > 0
    ids, delta, _ = update.rows["output"]
    np.testing.assert_array_equal(ids, moved)
    np.testing.assert_array_equal(delta, W[moved] - W0[moved])
    b, b0 = net.biases[-1], net0.biases[-1]
    ids, delta, _ = update.rows["output_bias"]
    np.testing.assert_array_equal(ids, np.flatnonzero(b != b0))
    np.testing.assert_array_equal(delta, (b - b0)[ids])
    assert "before_step" not in vars(_network(a).trainer)  # the hook is gone


def test_base_keeps_only_the_rows_a_step_may_change(wide_separable):
    X, y = wide_separable(n_classes=300, n_samples=220)
    clf = SparseMLPClassifier(output_sparsity=0.05, batch_size=20, random_state=0)
    clf.partial_fit(X[:200], y[:200], classes=np.arange(300))
    base = Base(clf)
    with base.tracking(clf):
        clf.partial_fit(X[200:], y[200:])  # one step
    net = _network(clf).network
    rows = np.unique(net.rows[X[200:].indices])
    np.testing.assert_array_equal(np.sort(base.inputs.ids()), rows[rows < base.n_rows])
    # Its labels, the drawn negatives and the hubs: not the whole layer.
    assert np.isin(y[200:], base.outputs.ids()).all()
    assert base.outputs.count < 300 // 2


def test_reset_base_tracks_as_a_new_base(replicas, wide_separable):
    (a, b), bases, _ = replicas
    updates = [base.update(r) for base, r in zip(bases, (a, b))]
    share = merge(updates, "sum").without(0)
    apply(a, share, base=bases[0])
    bases[0].reset(a)
    copy = pickle.loads(pickle.dumps(a))
    fresh = Base(copy)
    for x, y in zip(bases[0].weights + bases[0].biases, fresh.weights + fresh.biases):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(bases[0].label_counts, fresh.label_counts)
    assert (bases[0].step, bases[0].n_rows) == (fresh.step, fresh.n_rows)
    assert bases[0].outputs.count == bases[0].inputs.count == 0
    X, y = wide_separable(n_classes=300, n_samples=400)
    for base, clf in ((bases[0], a), (fresh, copy)):
        with base.tracking(clf):
            clf.partial_fit(X, y)
    again, expected = bases[0].update(a), fresh.update(copy)
    for name, (keys, values, _) in expected.rows.items():
        np.testing.assert_array_equal(again.rows[name][0], keys)
        np.testing.assert_array_equal(again.rows[name][1], values)


def test_untracked_steps_are_refused(wide_separable):
    X, y = wide_separable(n_classes=300, n_samples=200)
    clf = SparseMLPClassifier(output_sparsity=0.05, random_state=0)
    clf.partial_fit(X, y, classes=np.arange(300))
    base = Base(clf)
    clf.partial_fit(X, y)  # the base saw none of these steps
    with pytest.raises(RuntimeError, match="train within Base.tracking"):
        base.update(clf)


def test_first_rounds_merge_as_changes_from_one_start(wide_separable, monkeypatch):
    # Two replicas of an unfitted model each train a first round on their
    # half. Base.initial draws their start again from the seed: it must be the
    # model before its first step, recorded here by the step hook.
    X, y = wide_separable(n_classes=300, n_samples=800)
    params = dict(hidden_layer_sizes=(16, 8), output_sparsity=0.05, random_state=3)
    starts, original = {}, Network.train_step

    def train_step(net, *args, **kwargs):
        starts.setdefault(id(net), ([w.copy() for w in net.weights], net.rows.copy()))
        return original(net, *args, **kwargs)

    monkeypatch.setattr(Network, "train_step", train_step)
    a, b = SparseMLPClassifier(**params), SparseMLPClassifier(**params)
    a.partial_fit(X[:400], y[:400], classes=np.arange(300))
    b.partial_fit(X[400:], y[400:], classes=np.arange(300))
    monkeypatch.undo()
    bases = [Base.initial(a), Base.initial(b)]
    for base, clf in zip(bases, (a, b)):
        net = _network(clf).network
        weights, rows = starts[id(net)]
        for k in range(1, len(weights) - 1):
            np.testing.assert_array_equal(base.weights[k - 1], weights[k])
        n_out = net.n_outputs
        np.testing.assert_array_equal(
            base.outputs.at(net.weights[-1], np.arange(n_out)), weights[-1]
        )
        features = np.flatnonzero(rows)
        np.testing.assert_array_equal(
            base.input_rows(net, features), weights[0][rows[features]]
        )
    updates = [base.update(r) for base, r in zip(bases, (a, b))]
    (ka, da, _), (kb, db, _) = (u.rows["input"] for u in updates)
    both = np.intersect1d(ka, kb)
    assert both.size > 0
    merged = merge(updates, "sum")
    apply(a, merged.without(0), bases[0])
    apply(b, merged.without(1), bases[1])
    # A feature both replicas met: its drawn row plus both changes.
    start = _network(a).network.initial_rows(both)
    expected = start + da[np.searchsorted(ka, both)] + db[np.searchsorted(kb, both)]
    for clf in (a, b):
        np.testing.assert_allclose(
            _first_layer(clf)[both], expected, rtol=1e-5, atol=1e-7
        )
    # Rounding aside (a row one replica alone trained is its start plus its
    # change on the other), both hold one model; counts add up.
    np.testing.assert_allclose(_first_layer(a), _first_layer(b), rtol=1e-5, atol=1e-7)
    for wa, wb in zip(_network(a).network.weights[1:], _network(b).network.weights[1:]):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-7)
    counts = [_network(r).sampler.label_counts for r in (a, b)]
    np.testing.assert_array_equal(counts[0], counts[1])
    assert counts[0].sum() == 800


def test_a_start_drawn_again_needs_an_integer_seed(wide_separable):
    X, y = wide_separable(n_classes=30, n_samples=100)
    clf = SparseMLPClassifier(random_state=np.random.RandomState(0))
    clf.partial_fit(X, y, classes=np.arange(30))
    with pytest.raises(ValueError, match="random_state must be an int"):
        Base.initial(clf)


def test_float16_changes_merge_in_float32(replicas):
    # Changes may travel as float16: the merge adds them up in float32, and a
    # replica's weights move by the merge to float16's rounding of each change.
    (a, b), bases, _ = replicas
    updates = [base.update(r) for base, r in zip(bases, (a, b))]
    half = [u.astype(np.float16) for u in updates]
    assert half[0].nbytes < 0.6 * updates[0].nbytes
    assert half[0].rows["input"][1].dtype == np.float16
    exact, merged = merge(updates, "sum"), merge(half, "sum")
    for name, (keys, values, owner) in exact.rows.items():
        got_keys, got, got_owner = merged.rows[name]
        np.testing.assert_array_equal(got_keys, keys)
        np.testing.assert_array_equal(got_owner, owner)
        assert got.dtype == np.float32
        # Each change rounded to 2**-11 of itself; a sum of changes that
        # cancel keeps their rounding.
        bound = 2**-10 * np.abs(values).max()
        np.testing.assert_allclose(got, values, rtol=2e-3, atol=bound)
    copy = pickle.loads(pickle.dumps(a))
    apply(a, exact.without(0), bases[0])
    apply(copy, merged.without(0).astype(np.float16), bases[0])
    for w, w16 in zip(_network(a).network.weights, _network(copy).network.weights):
        assert w16.dtype == np.float32
        np.testing.assert_allclose(w16, w, rtol=1e-3, atol=1e-5)


def test_adding_the_others_changes_is_setting_the_sum(replicas):
    # combine="sum": a replica adds the others' changes to its own instead of
    # being set to its base plus the merge; the same weights, to rounding.
    (a, b), bases, _ = replicas
    updates = [base.update(r) for base, r in zip(bases, (a, b))]
    merged = merge(updates, "sum")
    for i, clf in enumerate((a, b)):
        copy = pickle.loads(pickle.dumps(clf))
        apply(clf, merged.without(i), bases[i])
        add(copy, updates[1 - i], bases[i])
        net, net_add = _network(clf).network, _network(copy).network
        np.testing.assert_allclose(
            net_add.first_layer(), net.first_layer(), rtol=1e-5, atol=1e-7
        )
        for w, w_add in zip(
            net.weights[1:] + net.biases, net_add.weights[1:] + net_add.biases
        ):
            np.testing.assert_allclose(w_add, w, rtol=1e-5, atol=1e-7)
        assert net_add.step == net.step
        for model in (_network(clf), _network(copy)):
            assert model.sampler.label_counts.sum() == 1200
        assert _network(copy).targets.n_samples == _network(clf).targets.n_samples


def test_others_is_the_merge_of_the_other_updates(wide_separable):
    # Of three replicas, each adds the sum of all less its own.
    X, y = wide_separable(n_classes=300, n_samples=1500)
    clf = SparseMLPClassifier(
        hidden_layer_sizes=(16, 8), output_sparsity=0.05, random_state=0
    )
    clf.partial_fit(X[:300], y[:300], classes=np.arange(300))
    updates = []
    for part in np.array_split(np.arange(300, 1500), 3):
        copy = pickle.loads(pickle.dumps(clf))
        base = Base(copy)
        with base.tracking(copy):
            copy.partial_fit(X[part], y[part])
        updates.append(base.update(copy))
    total = merge(updates, "sum")
    for i in range(3):
        got = total.others(updates[i], i)
        expected = merge([u for j, u in enumerate(updates) if j != i], "sum")
        for name, (keys, values, _) in expected.rows.items():
            np.testing.assert_array_equal(got.rows[name][0], keys)
            np.testing.assert_allclose(got.rows[name][1], values, rtol=1e-5, atol=1e-6)
        for g, e in zip(got.dense + got.biases, expected.dense + expected.biases):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(
            got.label_counts[1][got.label_counts[1] != 0],
            expected.label_counts[1],
        )
        assert (got.n_samples, got.n_labels) == (expected.n_samples, expected.n_labels)
