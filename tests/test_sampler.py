# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The output sampler: active sets, negatives and their correction, tables."""

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from sparseclf import SparseMLPClassifier
from sparseclf._lsh import DWTAHash, LSHTables, active_sets
from sparseclf._merge import Base, apply, merge
from sparseclf._sampler import (
    DenseOutputs,
    OutputSampler,
    SamplerSettings,
    active_size,
    candidate_fraction,
    make_sampler,
    training_sampler,
)

DEFAULTS = {
    name: SparseMLPClassifier().get_params()[name] for name in SamplerSettings._fields
}


def sampler_and_layer(n_out=1500, dim=16, seed=0, **settings):
    """A sampler over a random output layer ``(W, b)`` with these settings."""
    rng = np.random.RandomState(seed)
    W = rng.standard_normal((n_out, dim)).astype(np.float32)
    b = rng.standard_normal(n_out).astype(np.float32)
    sampler = make_sampler(SamplerSettings(**{**DEFAULTS, **settings}), W, rng, 1)
    return sampler, W, b


def one_label_each(labels):
    return np.arange(len(labels) + 1, dtype=np.int64), labels.astype(np.int32)


@pytest.mark.parametrize(
    "sparsity, n_out, want",
    [
        ("auto", 1000, 1000),  # up to 1,000 outputs: dense
        ("auto", 1001, 500),
        ("auto", 10**5, 500),
        ("auto", 10**6, 5000),
        (0.1, 50, 5),
        (1e-6, 50, 2),
        (1.0, 50, 50),
    ],
)
def test_active_size_rule(sparsity, n_out, want):
    assert active_size(sparsity, n_out) == want


def test_dense_outputs_hold_labels_then_everything():
    sampler, W, b = sampler_and_layer(n_out=40, output_sparsity=1.0)
    assert isinstance(sampler, DenseOutputs) and sampler.dense
    lab_ptr = np.array([0, 2, 2, 3], dtype=np.int64)
    labels = np.array([5, 9, 39], dtype=np.int32)
    H = np.ones((3, 16), np.float32)
    own, n_own, n_pos, pool, offset = sampler.sample(H, W, b, lab_ptr, labels, None, 1)
    assert own[0, :2].tolist() == [5, 9] and own[2, 0] == 39
    assert n_own.tolist() == [2, 0, 1] and n_pos.tolist() == [2, 0, 1]
    np.testing.assert_array_equal(pool, np.arange(40))
    assert offset is None
    with pytest.raises(ValueError, match="exact=False"):
        sampler.candidates(H, W, 1, 1)


def test_negatives_hold_hubs_and_estimate_the_full_sum():
    n_out = 1500
    sampler, W, b = sampler_and_layer(n_out=n_out, output_sparsity=0.2)
    assert isinstance(sampler, OutputSampler) and sampler.active_size == 300
    rng = np.random.RandomState(0)
    H = np.abs(rng.standard_normal((8, 16))).astype(np.float32)
    lab_ptr, labels = one_label_each(rng.randint(n_out, size=8))
    sampler.count_labels(labels)
    # Hubs: the top scores against the mean activation, always in, Q = 1.
    pool, offset = sampler.sample(H, W, b, lab_ptr, labels, rng, 1)[3:]
    hubs = np.argsort(-(W @ H.mean(axis=0) + b))[:32]
    assert np.isin(hubs, pool).all() and (np.diff(pool) > 0).all()
    np.testing.assert_allclose(
        offset[np.isin(pool, hubs)], -np.log(n_out / pool.size), rtol=1e-6
    )
    # Horvitz-Thompson: with weights exp(offset) * n_out / n_pool = 1 / Q_j, the
    # pool's weighted sum estimates the sum over all neurons without bias, for
    # skewed label counts too.
    sampler.count_labels(
        np.repeat(np.arange(n_out), rng.zipf(1.5, n_out).clip(max=10**4))
    )
    w = rng.lognormal(size=n_out)
    est = []
    for _ in range(6000):
        pool, offset = sampler.sample(H, W, b, lab_ptr, labels, rng, 1)[3:]
        est.append(np.sum(w[pool] * np.exp(offset.astype(float)) * n_out / pool.size))
    est = np.asarray(est)
    se = est.std() / np.sqrt(est.size)
    assert abs(est.mean() - w.sum()) < 4 * se
    assert 4 * se < 0.05 * w.sum()  # so a bias of 5% would be caught


def test_own_sets_hold_labels_then_lsh_candidates():
    sampler, W, b = sampler_and_layer(
        n_out=1500, output_sparsity=0.2, output_sampler="lsh"
    )
    rng = np.random.RandomState(1)
    H = np.abs(rng.standard_normal((50, 16))).astype(np.float32)
    lab_ptr, labels = one_label_each(rng.randint(1500, size=50))
    sampler.count_labels(labels)
    own, n_own, n_pos, pool, _ = sampler.sample(H, W, b, lab_ptr, labels, rng, 1)
    assert (own[:, 0] == labels).all() and (n_pos == 1).all()
    indptr, found = sampler.tables.query(sampler.family.hash(H))
    max_cand = own.shape[1] - 1
    for i in range(50):
        cand = [j for j in found[indptr[i] : indptr[i + 1]] if j != labels[i]]
        assert own[i, 1 : n_own[i]].tolist() == cand[:max_cand]
    assert (n_own > 1).any() and (n_own <= own.shape[1]).all()


def test_tables_rebuild_on_a_growing_schedule_and_rehash():
    sampler, W, b = sampler_and_layer(
        output_sparsity=0.2,
        rebuild_interval=2,
        rebuild_growth=2.0,
        rehash_every=2,
        bucket_capacity=1500,
        output_sampler="lsh",
    )
    rng = np.random.RandomState(0)
    assert sampler.n_rebuilds == 1
    rebuilt, families = [], [sampler.family]
    for t in range(1, 40):
        W += 0.1  # the tables must follow the weights
        before = sampler.n_rebuilds
        sampler.after_step(W, rng, 1)
        if sampler.n_rebuilds > before:
            rebuilt.append(t)
            families.append(sampler.family)
    # Intervals 2, 4, 8, 16; new hash functions before every second rebuild.
    assert rebuilt == [2, 6, 14, 30]
    assert [f is families[0] for f in families] == [True, True, False, False, False]
    assert families[2] is families[3] and families[4] is not families[3]
    # Each neuron is found in its own buckets (no bucket overflows here).
    indptr, found = sampler.tables.query(sampler.family.hash(W))
    assert all(j in found[indptr[j] : indptr[j + 1]] for j in range(0, 1500, 7))


def test_prediction_candidates_are_deterministic_and_filled():
    sampler, W, b = sampler_and_layer(output_sparsity=0.2, output_sampler="lsh")
    rng = np.random.RandomState(2)
    H = np.abs(rng.standard_normal((30, 16)))
    lab_ptr, labels = one_label_each(rng.randint(1500, size=30))
    sampler.count_labels(labels)
    sampler.sample(H.astype(np.float32), W, b, lab_ptr, labels, rng, 1)  # the hubs
    cand = sampler.candidates(H, W, 5, 1)
    assert cand.shape == (30, sampler.active_size)
    np.testing.assert_array_equal(cand, sampler.candidates(H, W, 5, 1))
    indptr, found = sampler.tables.query(sampler.family.hash(H))
    for i in range(30):
        lsh = found[indptr[i] : indptr[i + 1]][: cand.shape[1]]
        assert cand[i, : len(lsh)].tolist() == lsh.tolist()
        assert len(set(cand[i].tolist())) == cand.shape[1]
        rest = cand[i, len(lsh) :]
        # Completed with the hubs first.
        hubs = [h for h in sampler.hubs if h not in set(lsh.tolist())]
        assert rest[: len(hubs)].tolist() == hubs
    assert sampler.candidates(H, W, 400, 1).shape == (30, 400)


def test_active_sets_hold_labels_first_and_no_repeats():
    rng = np.random.RandomState(0)
    n_out, dim, n = 3000, 16, 200
    W = rng.standard_normal((n_out, dim)).astype(np.float32)
    h = DWTAHash(dim, 2, 6, 6, random_state=0)
    tables = LSHTables(6, 6, capacity=40, random_state=0).build(h.hash(W))
    H = rng.standard_normal((n, dim)).astype(np.float32)
    n_lab = rng.randint(0, 5, n)
    lab_ptr = np.concatenate([[0], np.cumsum(n_lab)]).astype(np.int64)
    labels = np.concatenate(
        [rng.choice(n_out, k, replace=False) for k in n_lab]
    ).astype(np.int32)
    m = 100
    pool = rng.randint(n_out, size=m)
    act, n_fixed = active_sets(
        tables,
        h.hash(H),
        lab_ptr,
        labels,
        pool,
        rng.randint(m, size=n),
        m,
        n_out,
        n_threads=2,
    )
    assert act.shape == (n, m)
    indptr, cand = tables.query(h.hash(H))
    for i in range(n):
        row = act[i]
        lab = labels[lab_ptr[i] : lab_ptr[i + 1]]
        assert len(set(row.tolist())) == m
        assert row[: len(lab)].tolist() == lab.tolist()
        # Then candidates in the order met, as many as fit.
        c = [j for j in cand[indptr[i] : indptr[i + 1]] if j not in set(lab)]
        assert row[len(lab) : len(lab) + len(c)].tolist() == c[: m - len(lab)]
        assert n_fixed[i] == min(m, len(lab) + len(c))
        # The rest comes from the batch's pool while it lasts.
        rest = row[len(lab) + len(c) :]
        n_from_pool = len(set(pool.tolist()) - set(lab.tolist()) - set(c))
        assert set(rest[:n_from_pool].tolist()) <= set(pool.tolist())
    assert act.min() >= 0 and act.max() < n_out
    # Capped candidates: the rest of each row comes from the pool.
    capped, n_fixed = active_sets(
        tables,
        h.hash(H),
        lab_ptr,
        labels,
        pool,
        rng.randint(m, size=n),
        m,
        n_out,
        max_cand=10,
    )
    assert (n_fixed <= np.diff(lab_ptr) + 10).all() and (n_fixed > 0).any()
    np.testing.assert_array_equal(capped[:, 0], act[:, 0])


def test_active_sets_fill_when_pool_runs_out():
    n_out, m = 50, 30
    lab_ptr = np.array([0, 1, 2], dtype=np.int64)
    labels = np.array([7, 49], dtype=np.int32)
    pool = np.array([3, 3, 3])  # repeats: a single usable neuron
    act, n_fixed = active_sets(
        None, None, lab_ptr, labels, pool, np.array([0, 2]), m, n_out
    )
    assert n_fixed.tolist() == [1, 1]
    for row, lab in zip(act, labels):
        assert row[0] == lab and row[1] == 3
        assert len(set(row.tolist())) == m and row.max() < n_out
    # After the pool: the neurons after its last one, cyclically, skipping labels.
    assert act[0, 2:6].tolist() == [4, 5, 6, 8]


def count_calls(monkeypatch, owner, name):
    """Record the first dimension of the first argument of every call of
    ``owner.name`` (a table build: the items hashed in)."""
    calls = []
    func = getattr(owner, name)

    def spy(self, M, *args, **kwargs):
        calls.append(M.shape[0])
        return func(self, M, *args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return calls


def test_auto_is_one_of_the_samplers_and_only_lsh_takes_candidates():
    assert training_sampler("auto") == "frequency"  # benchmarks/README.md
    assert training_sampler("lsh") == "lsh"
    assert training_sampler("frequency") == "frequency"
    assert candidate_fraction("lsh") == 0.25
    assert candidate_fraction("frequency") == 0.0
    assert candidate_fraction("auto") == candidate_fraction(training_sampler("auto"))


@pytest.mark.parametrize("output_sampler", ["lsh", "frequency"])
def test_frequency_sampler_trains_without_candidates_or_tables(
    monkeypatch, output_sampler
):
    builds = count_calls(monkeypatch, LSHTables, "build")
    hashed = count_calls(monkeypatch, DWTAHash, "hash")
    sampler, W, b = sampler_and_layer(
        output_sparsity=0.2, rebuild_interval=1, output_sampler=output_sampler
    )
    rng = np.random.RandomState(1)
    H = np.abs(rng.standard_normal((50, 16))).astype(np.float32)
    lab_ptr, labels = one_label_each(rng.randint(1500, size=50))
    sampler.count_labels(labels)
    n_cand = []
    for _ in range(4):
        own, n_own, n_pos, pool, _ = sampler.sample(H, W, b, lab_ptr, labels, rng, 1)
        n_cand.append(int((n_own - n_pos).sum()))
        W += 0.1
        sampler.after_step(W, rng, 1)
    assert (own[:, 0] == labels).all() and sampler.output_sampler == output_sampler
    if output_sampler == "lsh":
        # Built at the start and after each step (rebuild_interval=1).
        assert builds == [1500] * 5 and sampler.n_rebuilds == 5
        assert min(n_cand) > 0 and own.shape[1] == 1 + 75
        assert len(hashed) == 9  # the layer 5 times, 4 batches
    else:
        # Own sets hold the labels alone; nothing is hashed or built.
        assert n_cand == [0] * 4 and own.shape[1] == 1
        assert builds == hashed == [] and sampler.n_rebuilds == 0
        assert sampler.stale


def test_frequency_tables_are_built_at_the_first_prediction(monkeypatch):
    lsh, W, _ = sampler_and_layer(output_sparsity=0.2, output_sampler="lsh")
    freq, W_freq, _ = sampler_and_layer(output_sparsity=0.2, output_sampler="frequency")
    np.testing.assert_array_equal(W, W_freq)
    builds = count_calls(monkeypatch, LSHTables, "build")
    H = np.abs(np.random.RandomState(3).standard_normal((30, 16)))
    cand = freq.candidates(H, W, 5, 1)
    assert builds == [1500] and freq.n_rebuilds == 0 and not freq.stale
    # The tables an "lsh" sampler of the same seed built from the same weights.
    np.testing.assert_array_equal(cand, lsh.candidates(H, W, 5, 1))
    np.testing.assert_array_equal(freq.tables.ids, lsh.tables.ids)
    np.testing.assert_array_equal(freq.candidates(H, W, 5, 1), cand)
    assert len(builds) == 1  # built once
    # Training moves the weights: the next prediction builds again, from them,
    # the tables any build from those weights gives.
    W_new = W[::-1].copy()
    freq.after_step(W_new, np.random.RandomState(0), 1)
    assert freq.stale
    moved = freq.candidates(H, W_new, 5, 1)
    assert len(builds) == 2 and not np.array_equal(moved, cand)
    fresh = sampler_and_layer(output_sparsity=0.2, output_sampler="frequency")[0]
    np.testing.assert_array_equal(fresh.candidates(H, W_new, 5, 1), moved)
    # The state pickles: built tables are not built again.
    restored = pickle.loads(pickle.dumps(freq))
    np.testing.assert_array_equal(restored.candidates(H, W_new, 5, 1), moved)
    assert len(builds) == 3 and builds[-1] == 1500  # ``fresh``'s


def test_concurrent_first_predictions_read_whole_tables():
    sampler, W, _ = sampler_and_layer(output_sparsity=0.2, output_sampler="frequency")
    H = np.abs(np.random.RandomState(4).standard_normal((200, 16)))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: sampler.candidates(H, W, 5, 2), range(8)))
    twin = sampler_and_layer(output_sparsity=0.2, output_sampler="frequency")[0]
    expected = twin.candidates(H, W, 5, 1)
    for result in results:
        np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("output_sampler", ["lsh", "frequency"])
def test_weights_changed_rebuilds_only_tables_training_reads(
    monkeypatch, output_sampler
):
    sampler, W, _ = sampler_and_layer(
        output_sparsity=0.2, output_sampler=output_sampler
    )
    builds = count_calls(monkeypatch, LSHTables, "build")
    before = sampler.n_rebuilds
    sampler.weights_changed(W, 1)
    if output_sampler == "lsh":
        assert builds == [1500] and sampler.n_rebuilds == before + 1
    else:
        assert builds == [] and sampler.stale and sampler.n_rebuilds == 0


@pytest.mark.parametrize("output_sampler", ["lsh", "frequency"])
def test_merge_rebuilds_tables_only_for_lsh_training(
    monkeypatch, wide_separable, output_sampler
):
    X, y = wide_separable(n_classes=300, n_samples=900)
    clf = SparseMLPClassifier(
        hidden_layer_sizes=(16,),
        output_sparsity=0.05,
        output_sampler=output_sampler,
        random_state=0,
    )
    clf.partial_fit(X[:300], y[:300], classes=np.arange(300))
    a, b = clf, pickle.loads(pickle.dumps(clf))
    bases = [Base(a), Base(b)]
    with bases[0].tracking(a):
        a.partial_fit(X[300:600], y[300:600])
    with bases[1].tracking(b):
        b.partial_fit(X[600:], y[600:])
    merged = merge([base.update(r) for base, r in zip(bases, (a, b))])
    builds = count_calls(monkeypatch, LSHTables, "build")
    apply(a, merged.without(0), base=bases[0])
    apply(b, merged.without(1), base=bases[1])
    assert builds == ([300, 300] if output_sampler == "lsh" else [])
    for r in (a, b):
        assert r._model.sampler.stale == (output_sampler == "frequency")
