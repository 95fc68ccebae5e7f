# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The merge of replicas' changes behind sparseclf.dask, without a cluster."""

import pickle

import numpy as np
import pytest

from sparseclf import SparseMLPClassifier
from sparseclf._merge import Base, _network, apply, merge

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
    a.partial_fit(X[200:700], y[200:700])
    b.partial_fit(X[700:], y[700:])
    return (a, b), bases


def _first_layer(clf):
    net = _network(clf).network
    return net.first_layer()


@pytest.mark.parametrize("combine", ["sum", "mean"])
def test_merge_adds_or_averages_changes(replicas, combine):
    (a, b), bases = replicas
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
    w0 = bases[0].weights[-1]  # the output layer both replicas started from
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


def test_refreshed_base_equals_a_new_base(replicas):
    (a, b), bases = replicas
    updates = [base.update(r) for base, r in zip(bases, (a, b))]
    merged = merge(updates, "sum")
    share = merged.without(0)
    apply(a, share, base=bases[0])
    bases[0].refresh(a, updates[0], share)
    fresh = Base(a)
    n = fresh.n_rows
    np.testing.assert_array_equal(bases[0].w0[:n], fresh.w0)
    for x, y in zip(bases[0].weights + bases[0].biases, fresh.weights + fresh.biases):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(bases[0].label_counts, fresh.label_counts)
    assert (bases[0].step, bases[0].n_rows) == (fresh.step, fresh.n_rows)
