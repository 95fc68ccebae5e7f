# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""SparseMLPClassifier: learning, multi-label, API conventions and bad input."""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler
from sklearn.utils._param_validation import InvalidParameterError

import sparseclf
from sparseclf import SparseMLPClassifier, TextClassifier, _scoring
from sparseclf._lsh import DWTAHash, LSHTables
from sparseclf._network import Network
from sparseclf._sampler import training_sampler
from sparseclf._training import Trainer
from sparseclf.datasets import make_extreme_classification
from sparseclf.metrics import ndcg_at_k, precision_at_k, recall_at_k


def test_wide_multiclass_learns_with_sparse_output(wide_separable):
    X, y = wide_separable()
    clf = SparseMLPClassifier(
        max_iter=15, learning_rate_init=5e-3, output_sampler="lsh", random_state=0
    )
    with pytest.warns(ConvergenceWarning):  # ConvergenceWarning: max_iter reached
        clf.fit(X, y)
    assert clf.active_size_ == 500  # "auto" for 1,500 outputs: sparse training
    assert clf.hash_params_["hash_family"] == "dwta"
    assert clf.n_rebuilds_ >= 2
    assert clf.loss_curve_[-1] < clf.loss_curve_[0] / 4
    assert clf.score(X, y) > 0.95
    labels, scores = clf.predict_topk(X[:100], k=3)
    assert labels.shape == scores.shape == (100, 3)
    assert (np.diff(scores, axis=1) <= 0).all()
    np.testing.assert_array_equal(labels[:, 0], clf.predict(X[:100]))
    lsh_labels, _ = clf.predict_topk(X[:500], k=1, exact=False)
    assert np.mean(lsh_labels[:, 0] == y[:500]) > 0.9


def test_sparse_training_does_not_collapse_onto_frequent_labels():
    # Power-law labels: with uniform negatives the frequent labels' rows, rarely
    # sampled as negatives, drifted toward the mean activation and every sample
    # predicted the most frequent label (measured: P@1 0.2705 = the prior). With
    # hubs and frequency-drawn negatives 0.4495 (a dense output layer: 0.4705).
    n = 20_000
    X, Y = make_extreme_classification(n + 2000, 20_000, 5000, random_state=0)
    clf = SparseMLPClassifier(max_iter=5, n_iter_no_change=6, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X[:n], Y[:n])
    assert clf.active_size_ == 500
    top, _ = clf.predict_topk(X[n:], k=5)
    prior = np.argmax(np.bincount(Y[:n].indices))
    p1_prior = precision_at_k(Y[n:], np.full((2000, 1), prior), k=1)
    p1 = precision_at_k(Y[n:], top, k=1)
    assert p1 > 0.40 and p1 > p1_prior + 0.1
    assert len(np.unique(top[:, 0])) > 3


@pytest.mark.parametrize(
    "n_classes, k, copies",
    [(1500, 1, [10, 11, 1499]), (1500, 7, [10, 11, 1499]), (1500, 150, [10, 11, 1499])]
    + [(5, 1, [0, 4]), (5, 4, [0, 4])],
)
def test_exact_topk_equals_a_full_sort(
    monkeypatch, wide_separable, n_classes, k, copies
):
    # 1500 classes in small score blocks: many column blocks per row block, so
    # the threshold merge, its fall-back to a full partition, and (k=150: wider
    # than a block) the plain merge all run. 5 classes, at most k +
    # _SHORTLIST_EXTRA: every class re-scored in float64 at once. Copies of the
    # best output row make exact ties, which go to the lower class index.
    X, y = wide_separable(n_classes=n_classes, n_samples=max(300, 2 * n_classes))
    clf = SparseMLPClassifier(max_iter=2, random_state=0).fit(X, y)
    W, b = clf.coefs_[-1].T, clf.intercepts_[-1]  # the model's own arrays
    best = np.searchsorted(clf.classes_, clf.predict(X[:1]))[0]
    W[copies] = W[best]
    b[copies] = b[best]
    monkeypatch.setattr("sparseclf._scoring._SCORE_BLOCK", 300 * 100)
    labels, scores = clf.predict_topk(X[:300], k=k)
    Z = clf.decision_function(X[:300])
    cols = np.broadcast_to(np.arange(Z.shape[1]), Z.shape)
    order = np.lexsort((cols, -Z), axis=1)[:, :k]
    np.testing.assert_array_equal(labels, clf.classes_[order])
    np.testing.assert_allclose(scores, np.take_along_axis(Z, order, 1), rtol=1e-12)
    # Sample 0's best class now has copies: the lowest index comes first.
    assert labels[0, 0] == clf.classes_[min(copies[0], best)]
    np.testing.assert_array_equal(clf.predict(X[:300]), labels[:, 0])


def test_exact_topk_of_few_scores_skips_the_shortlist(monkeypatch, wide_separable):
    # One row of 20 classes is 20 scores: all scored in float64 at once, without
    # the float32 pass (logit_blocks); the same labels as in a batch of 60 rows,
    # which shortlists k + 8 classes first, and as a full sort.
    X, y = wide_separable(n_classes=20, n_samples=300)
    clf = SparseMLPClassifier(max_iter=2, random_state=0).fit(X, y)
    batch_labels, batch_scores = clf.predict_topk(X[:60], k=3)
    calls = []
    blocks = _scoring.logit_blocks
    monkeypatch.setattr(
        _scoring,
        "logit_blocks",
        lambda net, H, exact=True: calls.append(exact) or blocks(net, H, exact),
    )
    for i in range(60):
        labels, scores = clf.predict_topk(X[i : i + 1], k=3)
        np.testing.assert_array_equal(labels[0], batch_labels[i])
        np.testing.assert_allclose(scores[0], batch_scores[i], rtol=1e-12)
        assert clf.predict(X[i : i + 1])[0] == batch_labels[i, 0]
    assert False not in calls  # no float32 shortlist pass for one row
    Z = clf.decision_function(X[:60])
    cols = np.broadcast_to(np.arange(20), Z.shape)
    order = np.lexsort((cols, -Z), axis=1)[:, :3]
    np.testing.assert_array_equal(batch_labels, clf.classes_[order])


def test_prediction_in_row_blocks_equals_the_whole_batch(monkeypatch):
    # Blocks of 7 rows (the last one partial): every prediction method gives
    # what one block of all rows gives, and never sees more than 7 rows at once.
    # Labels are equal; scores to float64 BLAS rounding, which depends on the
    # number of rows in a product.
    X, Y = make_extreme_classification(
        600, 500, 300, nnz_per_sample=20, signal=0.8, random_state=0
    )
    clf = SparseMLPClassifier(
        hidden_layer_sizes=(32, 16), max_iter=2, output_sparsity=0.2, random_state=0
    ).fit(X, Y)
    assert clf.hash_params_ is not None  # a sparse output layer: exact=False works

    def predictions():
        return [
            clf.predict(X[:60]).toarray(),
            clf.predict_proba(X[:60]),
            clf.decision_function(X[:60]),
            *clf.predict_topk(X[:60], 4),
            *clf.predict_topk(X[:60], 4, exact=False),
        ]

    whole = predictions()
    seen = []
    hidden64 = Network.hidden64

    def spy(self, X, n_threads=1):
        seen.append(X.shape[0])
        return hidden64(self, X, n_threads)

    monkeypatch.setattr(Network, "hidden64", spy)
    monkeypatch.setattr("sparseclf._scoring._PREDICT_ROWS", 7)
    for a, b in zip(predictions(), whole):
        assert a.dtype == b.dtype
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)
        else:
            np.testing.assert_array_equal(a, b)
    assert seen == ([7] * 8 + [4]) * 5


def test_multilabel_learns_and_representations_agree():
    X, Y = make_extreme_classification(
        3000, 2000, 1500, nnz_per_sample=30, signal=0.8, label_noise=0.0, random_state=0
    )
    clf = SparseMLPClassifier(
        max_iter=10, learning_rate_init=1e-2, random_state=0, output_sparsity=0.2
    )
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, Y)
    top, _ = clf.predict_topk(X, k=5)
    p1 = precision_at_k(Y, top, k=1)
    # Measured 0.83 (a dense output layer: 0.84 with lr 5e-3); chance is ~0.01.
    assert p1 > 0.75
    pred = clf.predict(X[:50])
    assert sp.issparse(pred) and pred.shape == (50, 1500)
    k = round(Y.nnz / Y.shape[0])
    assert (np.diff(pred.indptr) == k).all()
    # The same targets as a dense indicator and as label lists train the same model.
    lists = [set(row.indices.tolist()) for row in Y[:400]]
    a = SparseMLPClassifier(max_iter=2, random_state=0).fit(X[:400], Y[:400].toarray())
    b = SparseMLPClassifier(max_iter=2, random_state=0).fit(X[:400], Y[:400])
    c = SparseMLPClassifier(max_iter=2, random_state=0).fit(X[:400], lists)
    assert isinstance(a.predict(X[:5]), np.ndarray)
    np.testing.assert_array_equal(a.coefs_[-1], b.coefs_[-1])
    # Label lists know only the labels present, so their classes_ may be fewer.
    np.testing.assert_array_equal(c.classes_, np.unique(Y[:400].indices))
    assert ndcg_at_k(lists, c.predict_topk(X[:400], 5)[0], k=5) > 0.0
    # score takes label sets too: subset accuracy against predict's label sets.
    pred = c.predict(X[:400])
    pred_sets = [set(c.classes_[row.indices].tolist()) for row in pred]
    want = np.mean([p == t for p, t in zip(pred_sets, lists)])
    assert c.score(X[:400], lists) == want
    assert a.score(X[:400], Y[:400].toarray()) == b.score(X[:400], Y[:400])


def test_metrics_against_hand_computed():
    Y = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]))
    top = np.array([[1, 2, 0], [0, 1, 2], [3, 2, 1]])
    assert precision_at_k(Y, top, k=1) == pytest.approx(1 / 3)
    assert precision_at_k(Y, top, k=3) == pytest.approx((2 / 3 + 0 + 0) / 3)
    # Sample 0: hits at ranks 1 and 3, 2 true labels.
    d = 1 / np.log2(np.arange(2, 5))
    want0 = (d[0] + d[2]) / (d[0] + d[1])
    assert ndcg_at_k(Y, top, k=3) == pytest.approx(want0 / 3)
    # Sample 0 finds 1 of 2 labels at k=1 and both at k=3; sample 1 none; the
    # sample without labels scores 0.
    assert recall_at_k(Y, top, k=1) == pytest.approx(0.5 / 3)
    assert recall_at_k(Y, top, k=3) == pytest.approx(1 / 3)
    lists = [{"a", "b"}, {"d"}, set()]
    named = np.array([["b", "c", "a"], ["a", "b", "c"], ["d", "c", "b"]])
    assert precision_at_k(lists, named, k=3) == precision_at_k(Y, top, k=3)
    assert recall_at_k(lists, named, k=3) == recall_at_k(Y, top, k=3)
    with pytest.raises(ValueError, match="k="):
        precision_at_k(Y, top, k=4)
    with pytest.raises(ValueError, match="column indices"):
        precision_at_k(Y, top + 5, k=1)


def test_fit_is_deterministic_and_thread_count_free():
    X, y = make_classification(600, 30, n_informative=10, n_classes=4, random_state=0)
    fits = [
        SparseMLPClassifier(
            max_iter=5, random_state=3, n_jobs=j, output_sparsity=0.5, batch_size=64
        ).fit(X, y)
        for j in (1, 1, 2)
    ]
    for other in fits[1:]:
        for a, b in zip(
            fits[0].coefs_ + fits[0].intercepts_, other.coefs_ + other.intercepts_
        ):
            np.testing.assert_array_equal(a, b)
        assert fits[0].loss_curve_ == other.loss_curve_


@pytest.mark.parametrize(
    "n_classes, output_sparsity, threaded",
    [(3, 0.5, False), (3, 1.0, False), (3, "auto", False), (1200, 1.0, True)],
)
def test_fit_limits_blas_threads_unless_wide_and_dense(
    monkeypatch, n_classes, output_sparsity, threaded
):
    # A training step's small BLAS products run on one thread; only a wide
    # dense output layer keeps the user's limit. The rule follows the resolved
    # output layer ("auto" with 3 classes is dense and narrow), and the limit
    # is restored after.
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    if not blas_threads():
        pytest.skip("threadpoolctl finds no BLAS library to limit")
    seen = []
    run = Trainer.run

    def spy(self, *args, **kwargs):
        seen.append(blas_threads())
        return run(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "run", spy)
    rng = np.random.RandomState(0)
    X = rng.standard_normal((n_classes + 100, 20))
    y = np.arange(X.shape[0]) % n_classes
    clf = SparseMLPClassifier(max_iter=2, output_sparsity=output_sparsity)
    with threadpool_limits(limits=2, user_api="blas"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
            clf.partial_fit(X, y)
        assert blas_threads() == {2}
    assert seen == ([{2}, {2}] if threaded else [{1}, {1}])


@pytest.mark.parametrize("multilabel", [False, True])
def test_few_outputs_train_alike_in_dense_steps_and_train_steps(
    monkeypatch, multilabel
):
    # One hidden layer and few outputs take Network.dense_step (the output
    # layer's products as loops); forced off, the same fit runs train_step.
    from sparseclf import _training

    X, y = make_classification(500, 40, n_informative=10, n_classes=4, random_state=0)
    if multilabel:
        y = [[c, (c + 1) % 4] if i % 3 else [] for i, c in enumerate(y)]
    kw = dict(
        max_iter=4, random_state=0, batch_size=64, dropout=0.3, learning_rate_init=3e-3
    )
    calls = []
    real = Network.dense_step
    monkeypatch.setattr(
        Network,
        "dense_step",
        lambda self, *a, **k: calls.append(1) or real(self, *a, **k),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fused = SparseMLPClassifier(**kw).fit(X, y)
        assert len(calls) == 4 * 8  # 4 epochs of 8 batches
        monkeypatch.setattr(_training, "_FUSED_MAX_OUTPUTS", 0)
        steps = SparseMLPClassifier(**kw).fit(X, y)
    assert len(calls) == 4 * 8
    np.testing.assert_allclose(fused.loss_curve_, steps.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(
        fused.predict_proba(X), steps.predict_proba(X), atol=1e-4
    )
    assert fused.loss_curve_[-1] < 0.75 * fused.loss_curve_[0]  # it learns


@pytest.mark.parametrize("output_sparsity", [1.0, 0.5])
def test_callback_reports_every_batch(output_sparsity):
    X, y = make_classification(300, 20, n_classes=3, n_informative=6, random_state=0)
    seen = []

    def record(progress):
        seen.append(progress)

    clf = SparseMLPClassifier(
        max_iter=3,
        batch_size=128,
        output_sparsity=output_sparsity,
        callback=record,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    # 3 epochs of batches of 128, 128 and 44 samples.
    assert [(p.epoch, p.batch) for p in seen] == [
        (e, b) for e in (1, 2, 3) for b in (1, 2, 3)
    ]
    assert {(p.n_epochs, p.n_batches) for p in seen} == {(3, 3)}
    assert [p.n_samples for p in seen[:3]] == [128, 256, 300]
    ends = [p.loss for p in seen if p.batch == 3]
    np.testing.assert_allclose(ends, clf.loss_curve_, rtol=1e-12)
    clf.partial_fit(X, y)
    assert seen[-1].epoch == 4 and seen[-1].n_epochs == 1
    # The callback is a parameter like any other: clone keeps it.
    assert clone(clf).get_params()["callback"] is record


def test_fitted_attributes_describe_the_targets():
    X, y = make_classification(200, 10, n_classes=3, n_informative=5, random_state=0)
    kw = dict(max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert SparseMLPClassifier(**kw).fit(X, y).target_type_ == "multiclass"
        binary = SparseMLPClassifier(**kw).fit(X, y % 2)
        assert binary.target_type_ == "binary"
        assert binary.decision_function(X).shape == (200,)
        Y = np.stack([y == 0, y == 1, y > 0], axis=1).astype(int)
        multi = SparseMLPClassifier(**kw).fit(X, Y)
    assert multi.target_type_ == "multilabel-indicator"
    assert multi.decision_function(X).shape == (200, 3)


def test_coefs_are_not_copied_on_every_access():
    X, y = make_classification(200, 30, n_classes=3, n_informative=6, random_state=0)
    clf = SparseMLPClassifier(hidden_layer_sizes=(16, 8), max_iter=1, random_state=0)
    clf.fit(X, y)
    first = clf.coefs_[0]
    assert clf.coefs_[0] is first and first.shape == (30, 16)
    assert not first.flags.writeable  # a copy: writing could not change the model
    assert clf.coefs_[1] is clf.coefs_[1] and clf.coefs_[1].flags.writeable
    clf.partial_fit(X, y)
    assert clf.coefs_[0] is not first and not np.array_equal(clf.coefs_[0], first)


def test_dropout_regularises_training_only():
    # More features than samples: the plain network drives its training loss
    # to ~0; dropout keeps it well above (it cannot memorise through any one
    # unit), yet the dropped network still learns and predicts deterministically.
    X, y = make_classification(300, 200, n_informative=10, flip_y=0.3, random_state=0)
    kw = dict(max_iter=30, random_state=0, batch_size=32, learning_rate_init=3e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = SparseMLPClassifier(**kw).fit(X, y)
        dropped = SparseMLPClassifier(dropout=0.5, **kw).fit(X, y)
        again = SparseMLPClassifier(dropout=0.5, **kw).fit(X, y)
    np.testing.assert_array_equal(dropped.coefs_[0], again.coefs_[0])
    assert dropped.loss_curve_[-1] > 3 * plain.loss_curve_[-1]
    assert dropped.loss_curve_[-1] < dropped.loss_curve_[0] / 10
    np.testing.assert_array_equal(dropped.predict_proba(X), dropped.predict_proba(X))
    with pytest.raises(ValueError, match="dropout"):
        SparseMLPClassifier(dropout=1.0).fit(X, y)


def test_partial_fit_and_warm_start():
    X, y = make_classification(400, 10, n_classes=3, n_informative=5, random_state=0)
    clf = SparseMLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:200], y[:200], classes=[0, 1, 2, 7])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2, 7])
    losses = []
    for _ in range(20):
        clf.partial_fit(X, y)
        losses.append(clf.loss_)
    assert clf.n_iter_ == 21 and losses[-1] < losses[0]
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X[:5], np.array([0, 1, 2, 3, 9]))
    warm = SparseMLPClassifier(max_iter=3, warm_start=True, random_state=0)
    with pytest.warns(ConvergenceWarning):
        warm.fit(X, y)
    first = warm.coefs_[0].copy()
    with pytest.warns(ConvergenceWarning):
        warm.fit(X, y)
    assert warm.n_iter_ == 6 and not np.array_equal(first, warm.coefs_[0])


def test_warm_start_may_switch_early_stopping():
    X, y = make_classification(300, 10, n_classes=3, n_informative=5, random_state=0)
    clf = SparseMLPClassifier(max_iter=3, warm_start=True, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert clf.validation_scores_ is None and clf.best_loss_ < np.inf
    with pytest.warns(ConvergenceWarning):
        clf.set_params(early_stopping=True).fit(X, y)
    assert len(clf.validation_scores_) == 3 and clf.n_iter_ == 6
    with pytest.warns(ConvergenceWarning):
        clf.set_params(early_stopping=False).fit(X, y)
    assert clf.n_iter_ == 9 and np.isfinite(clf.best_loss_)


def test_early_stopping_keeps_best():
    X, y = make_classification(1000, 20, n_classes=3, n_informative=8, random_state=0)
    clf = SparseMLPClassifier(
        early_stopping=True, n_iter_no_change=3, max_iter=100, random_state=0
    ).fit(X, y)
    assert clf.n_iter_ < 100
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None


def test_partial_fit_without_targets_says_so():
    X = np.eye(3, dtype=np.float32)
    with pytest.raises(ValueError, match="partial_fit needs targets y, got None"):
        SparseMLPClassifier().partial_fit(X, None)
    # What dask-ml's Incremental passes for a 2-D y: a block's key, not targets.
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SparseMLPClassifier().partial_fit(X, ("array-1b79", 0))


def test_early_stopping_on_given_validation_set():
    X, y = make_classification(1000, 20, n_classes=3, n_informative=8, random_state=0)
    X_val, y_val = X[800:], y[800:]
    clf = SparseMLPClassifier(
        early_stopping=True, n_iter_no_change=3, max_iter=100, random_state=0
    ).fit(X[:800], y[:800], X_val=X_val, y_val=y_val)
    assert clf.t_ == 800 * clf.n_iter_  # every training sample, every epoch
    assert len(clf.validation_scores_) == clf.n_iter_ < 100
    # The best epoch's weights are the ones kept, scored on X_val.
    assert clf.score(X_val, y_val) == clf.best_validation_score_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    label_sets = [[a, (a + 1) % 3] for a in y]
    multi = SparseMLPClassifier(early_stopping=True, max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        multi.fit(X[:800], label_sets[:800], X_val=X_val, y_val=label_sets[800:])
    assert len(multi.validation_scores_) == 3


@pytest.mark.parametrize(
    "params, val, message",
    [
        ({"early_stopping": False}, "both", "set early_stopping=True"),
        ({"early_stopping": True}, "X only", "passed together"),
        ({"early_stopping": True}, "unseen", r"y_val: .*not in classes_: \[7\]"),
        ({"early_stopping": True}, "narrow", "has 4 features"),
    ],
)
def test_validation_set_errors(params, val, message):
    X, y = make_classification(200, 10, n_classes=3, n_informative=5, random_state=0)
    kwargs = {
        "both": {"X_val": X, "y_val": y},
        "X only": {"X_val": X},
        "unseen": {"X_val": X[:5], "y_val": [0, 1, 2, 7, 0]},
        "narrow": {"X_val": X[:5, :4], "y_val": y[:5]},
    }[val]
    clf = SparseMLPClassifier(max_iter=2, random_state=0, **params)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y, **kwargs)


def test_sklearn_tools_pickle_and_clone():
    X, y = make_classification(300, 15, n_classes=3, n_informative=6, random_state=0)
    Xs = sp.csr_matrix(X)
    pipe = make_pipeline(
        MaxAbsScaler(),
        SparseMLPClassifier(max_iter=20, learning_rate_init=1e-2, random_state=0),
    )
    with pytest.warns(ConvergenceWarning):
        pipe.fit(Xs, y)
    assert pipe.score(Xs, y) > 0.8
    grid = GridSearchCV(
        SparseMLPClassifier(max_iter=10, random_state=0),
        {"hidden_layer_sizes": [(8,), (32,)], "learning_rate_init": [1e-3, 1e-2]},
        cv=2,
        n_jobs=2,
        error_score="raise",
    )
    with pytest.warns(ConvergenceWarning):
        grid.fit(X, y)
    assert grid.best_params_["learning_rate_init"] == 1e-2
    clf = grid.best_estimator_
    other = clone(clf)
    assert other.get_params() == clf.get_params() and not hasattr(other, "classes_")
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_joblib_round_trip_keeps_everything(tmp_path, wide_separable):
    X, y = wide_separable(n_classes=1500, n_samples=3000)
    clf = SparseMLPClassifier(max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    restored = joblib.load(path)
    np.testing.assert_array_equal(
        restored.predict_proba(X[:50]), clf.predict_proba(X[:50])
    )
    for a, b in zip(
        restored.predict_topk(X[:50], 3, exact=False),
        clf.predict_topk(X[:50], 3, exact=False),
    ):
        np.testing.assert_array_equal(a, b)
    # Optimizer state and tables survive: training on continues identically.
    clf.partial_fit(X[:512], y[:512])
    restored.partial_fit(X[:512], y[:512])
    for a, b in zip(restored.coefs_, clf.coefs_):
        np.testing.assert_array_equal(a, b)


def test_bad_input_raises_clear_errors():
    X, y = make_classification(100, 5, random_state=0)
    clf = SparseMLPClassifier(max_iter=2, random_state=0)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    Xnan = X.copy()
    Xnan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(Xnan, y)
    with pytest.raises(ValueError, match="one class"):
        clf.fit(X, np.zeros(100))
    with pytest.raises(ValueError, match="0 sample"):
        clf.fit(X[:0], y[:0])
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :4])
    with pytest.raises(ValueError, match="k must be"):
        clf.predict_topk(X, k=3)
    with pytest.raises(ValueError, match="exact=False"):
        clf.predict_topk(X, k=1, exact=False)
    with pytest.raises(ValueError, match="multi-class targets"):
        clf.partial_fit(X, np.ones((100, 2), dtype=int))
    for sizes in ((), (8, 0)):
        with pytest.raises(ValueError, match="hidden_layer_sizes must hold"):
            SparseMLPClassifier(hidden_layer_sizes=sizes).fit(X, y)


def test_divergence_raises_and_leaves_no_model():
    X, y = make_classification(300, 20, n_classes=3, n_informative=6, random_state=0)
    clf = SparseMLPClassifier(learning_rate_init=1e38, max_iter=20, random_state=0)
    with pytest.raises(ValueError, match="smaller learning_rate_init"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)


def _spy(monkeypatch, owner, name, record):
    """Call ``record(*args)`` before each call of ``owner.name``."""
    func = getattr(owner, name)

    def spy(*args, **kwargs):
        record(*args)
        return func(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)


@pytest.mark.parametrize("output_sampler", ["auto", "lsh", "frequency"])
def test_each_output_sampler_learns_and_predicts(wide_separable, output_sampler):
    X, y = wide_separable(n_classes=1200, n_samples=2400)
    clf = SparseMLPClassifier(
        max_iter=6,
        learning_rate_init=1e-2,
        output_sampler=output_sampler,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert clf.output_sampler_ == training_sampler(output_sampler)
    assert (clf.n_rebuilds_ > 0) == (clf.output_sampler_ == "lsh")
    assert clf.hash_params_ is not None  # the tables exact=False reads
    assert clf.score(X, y) > 0.95
    exact, _ = clf.predict_topk(X[:500], k=1)
    approx, _ = clf.predict_topk(X[:500], k=1, exact=False)
    assert np.mean(approx[:, 0] == y[:500]) > 0.9
    assert np.mean(approx[:, 0] == exact[:, 0]) > 0.9


def test_frequency_sampler_trains_without_hash_tables(monkeypatch, wide_separable):
    X, y = wide_separable()
    builds, hashes, candidates = [], [], []
    _spy(monkeypatch, LSHTables, "build", lambda tables, b, *a: builds.append(b))
    _spy(monkeypatch, DWTAHash, "hash", lambda family, M, *a: hashes.append(M))
    _spy(
        monkeypatch,
        Network,
        "train_step",
        lambda net, Xb, H, own, n_own, n_pos, *a: candidates.append(n_own - n_pos),
    )
    params = dict(max_iter=2, rebuild_interval=1, random_state=0)
    with pytest.warns(ConvergenceWarning):
        lsh = SparseMLPClassifier(output_sampler="lsh", **params).fit(X, y)
    # The same spies see LSH training hash, build and take candidates.
    assert len(builds) == lsh.n_rebuilds_ > 2 and len(hashes) > len(builds)
    assert max(c.max() for c in candidates) > 0
    builds.clear(), hashes.clear(), candidates.clear()
    with pytest.warns(ConvergenceWarning):
        freq = SparseMLPClassifier(output_sampler="frequency", **params).fit(X, y)
    assert builds == hashes == [] and freq.n_rebuilds_ == 0
    assert len(candidates) == 24 and all((c == 0).all() for c in candidates)
    # The first exact=False call builds the tables from the output layer, once.
    first = freq.predict_topk(X[:50], k=3, exact=False)
    assert [b.shape[0] for b in builds] == [1500]
    for a, b in zip(freq.predict_topk(X[:50], k=3, exact=False), first):
        np.testing.assert_array_equal(a, b)
    assert len(builds) == 1 and freq.n_rebuilds_ == 0


def test_output_sampler_leaves_a_dense_layer_alone():
    X, y = make_classification(300, 20, n_classes=3, n_informative=6, random_state=0)
    fits = [
        SparseMLPClassifier(max_iter=3, output_sampler=s, random_state=0).fit(X, y)
        for s in ("lsh", "frequency")
    ]
    for clf in fits:
        assert clf.output_sampler_ is None and clf.hash_params_ is None
    for a, b in zip(fits[0].coefs_, fits[1].coefs_):
        np.testing.assert_array_equal(a, b)


def test_output_sampler_is_validated():
    X, y = make_classification(50, 5, random_state=0)
    for clf in (SparseMLPClassifier, TextClassifier):
        with pytest.raises(InvalidParameterError, match="output_sampler"):
            clf(output_sampler="slide").fit(
                X if clf is SparseMLPClassifier else ["a b"] * 50, y
            )


def test_switching_output_sampler_between_fits(monkeypatch, wide_separable):
    X, y = wide_separable(n_classes=1500, n_samples=3000)
    clf = SparseMLPClassifier(
        output_sampler="frequency", rebuild_interval=4, random_state=0
    )
    clf.partial_fit(X, y, classes=np.arange(1500))
    assert clf.output_sampler_ == "frequency" and clf.n_rebuilds_ == 0
    # The first LSH step builds the tables it needs, then they follow the schedule.
    clf.set_params(output_sampler="lsh").partial_fit(X, y)
    assert clf.output_sampler_ == "lsh" and clf.n_rebuilds_ >= 2
    rebuilds = clf.n_rebuilds_
    clf.set_params(output_sampler="frequency").partial_fit(X, y)
    assert clf.n_rebuilds_ == rebuilds
    # The tables are out of date: exact=False builds them from the final weights.
    builds = []
    _spy(monkeypatch, LSHTables, "build", lambda tables, b, *a: builds.append(b))
    approx, _ = clf.predict_topk(X[:300], k=1, exact=False)
    assert [b.shape[0] for b in builds] == [1500]
    assert np.mean(approx[:, 0] == clf.predict(X[:300])) > 0.8


@pytest.mark.parametrize("predict_first", [False, True])
def test_frequency_model_round_trips(monkeypatch, wide_separable, predict_first):
    X, y = wide_separable(n_classes=1500, n_samples=3000)
    clf = SparseMLPClassifier(max_iter=2, output_sampler="frequency", random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    if predict_first:  # the tables built before saving
        clf.predict_topk(X[:1], k=3, exact=False)
    copies = []
    for options in ({}, {"optimizer_state": False}):
        buffer = io.BytesIO()
        sparseclf.save(clf, buffer, **options)
        copies.append(sparseclf.load(io.BytesIO(buffer.getvalue())))
    copies.append(pickle.loads(pickle.dumps(clf)))
    builds = []
    _spy(monkeypatch, LSHTables, "build", lambda tables, b, *a: builds.append(b))
    expected = clf.predict_topk(X[:50], k=3, exact=False)
    for restored in copies:
        assert restored.output_sampler_ == "frequency" and restored.n_rebuilds_ == 0
        for a, b in zip(restored.predict_topk(X[:50], k=3, exact=False), expected):
            np.testing.assert_array_equal(a, b)
    # Built tables were saved with the model; else each builds its own, once.
    assert len(builds) == (0 if predict_first else 4)
    # Training goes on identically (the full save and the pickle).
    clf.partial_fit(X[:512], y[:512])
    for restored in (copies[0], copies[2]):
        restored.partial_fit(X[:512], y[:512])
        for a, b in zip(restored.coefs_, clf.coefs_):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("output_sampler", ["lsh", "frequency"])
def test_text_classifier_forwards_output_sampler(output_sampler):
    words = "apple pear sky coal snow fire rain sand".split()
    docs, y = [f"the {w} is here" for w in words] * 5, words * 5
    clf = TextClassifier(
        output_sampler=output_sampler,
        output_sparsity=0.5,  # 4 of 8 outputs: a sampled layer, one candidate
        n_features=2**10,
        max_iter=2,
        random_state=0,
    ).fit(docs, y)
    mlp = clf.classifier_
    assert mlp.output_sampler == mlp.output_sampler_ == output_sampler
    assert (mlp.n_rebuilds_ > 0) == (output_sampler == "lsh")


def test_lazy_adam_false_catches_up_rows_that_skipped_steps():
    # Feature 0 is in the first and the last of 8 batches only: lazily it is
    # updated twice; with lazy_adam=False its row also takes the 6 steps in
    # between (see test_network for the arithmetic against dense Adam).
    rng = np.random.RandomState(0)
    X = sp.random(64, 30, density=0.3, format="csr", random_state=rng)
    X = X.astype(np.float32).tolil()
    X[:, 0] = 0
    X[0, 0] = X[63, 0] = 1.0
    X = X.tocsr()
    y = rng.randint(0, 3, 64)
    fits = {}
    for lazy in (True, False):
        clf = SparseMLPClassifier(
            hidden_layer_sizes=(8,), batch_size=8, shuffle=False, lazy_adam=lazy,
            random_state=0,
        )  # fmt: skip
        clf.partial_fit(X, y, classes=[0, 1, 2])
        net = clf._model.network
        fits[lazy] = (net.last_step[net.rows[0]], clf.coefs_[0][0].copy())
    assert fits[True][0] == 0 and fits[False][0] == 8
    assert not np.allclose(fits[True][1], fits[False][1])


def test_text_classifier_forwards_lazy_adam():
    docs = ["good fun film", "great acting", "dull and slow", "boring plot"] * 5
    y = ["pos", "pos", "neg", "neg"] * 5
    clf = TextClassifier(n_features=2**10, lazy_adam=False, random_state=0)
    clf.fit(docs, y)
    assert clf.classifier_.lazy_adam is False
    assert clf.classifier_._model.network.lazy_adam is False
