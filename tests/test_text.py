# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""TextClassifier: learning on raw strings, API conventions and bad input."""

import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.feature_extraction.text import (
    CountVectorizer,
    HashingVectorizer,
    TfidfVectorizer,
)
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError

from sparseclf import SparseMLPClassifier, TextClassifier, _mlp
from sparseclf._text import _auto_schedule, _n_classes

# FAST fits stop at max_iter epochs, on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TOPICS = {
    "sport": "goal match team coach league score striker referee stadium season",
    "music": "guitar album song band concert melody drums singer chorus lyrics",
    "food": "recipe oven flour butter sauce garlic dinner spicy salad dessert",
}
FILLER = (
    "the a of and to in is it that was for on with as this by at from but "
    "not very really quite some then there here when what which who"
).split()
# Small networks and hash spaces keep each fit well under a second.
FAST = dict(
    n_features=2**12,
    hidden_layer_sizes=(32,),
    learning_rate_init=1e-2,
    batch_size=32,
    max_iter=8,
    random_state=0,
)
# The same without the text parameter, for a vectorizer of one's own.
FAST_NETWORK = {k: v for k, v in FAST.items() if k != "n_features"}


def make_corpus(n=300, seed=0, topics=TOPICS, n_topic_words=3, n_filler=8):
    """Documents of filler words plus a few words of their class's topic."""
    rng = np.random.RandomState(seed)
    names = sorted(topics)
    y = np.array(names)[rng.randint(len(names), size=n)]
    docs = []
    for label in y:
        words = rng.choice(FILLER, n_filler).tolist()
        words += rng.choice(topics[label].split(), n_topic_words).tolist()
        rng.shuffle(words)
        docs.append(" ".join(words))
    return docs, y


@pytest.fixture(scope="module")
def corpus():
    X, y = make_corpus(400, seed=0)
    X_test, y_test = make_corpus(200, seed=1)
    return X, y, X_test, y_test


@pytest.fixture(scope="module")
def fitted(corpus):
    X, y, _, _ = corpus
    return TextClassifier(**FAST).fit(X, y)


def make_noisy_corpus(n, seed):
    """Two words of the class's topic and three of any topic: about 0.75 at best."""
    rng = np.random.RandomState(seed)
    names = sorted(TOPICS)
    any_topic = " ".join(TOPICS.values()).split()
    y = np.array(names)[rng.randint(len(names), size=n)]
    docs = []
    for label in y:
        words = rng.choice(FILLER, 6).tolist() + rng.choice(any_topic, 3).tolist()
        words += rng.choice(TOPICS[label].split(), 2).tolist()
        rng.shuffle(words)
        docs.append(" ".join(words))
    return docs, y


def test_learns_synthetic_topics_with_defaults(corpus):
    X, y, X_test, y_test = corpus
    with warnings.catch_warnings():
        # max_iter="auto" is a budget, not a convergence failure.
        warnings.simplefilter("error", ConvergenceWarning)
        clf = TextClassifier(random_state=0).fit(X, y)
    assert clf.score(X_test, y_test) > 0.9
    np.testing.assert_array_equal(clf.classes_, ["food", "music", "sport"])
    assert isinstance(clf.vectorizer_, HashingVectorizer)
    assert clf.vectorizer_.ngram_range == (1, 2)
    assert isinstance(clf.classifier_, SparseMLPClassifier)
    # 400 documents of 3 classes: see test_auto_schedule.
    assert clf.classifier_.max_iter == _auto_schedule(400, "auto", "auto", 3)[0] == 50
    # The loss stops improving (tol) before the budget runs out.
    assert clf.n_iter_ == clf.classifier_.n_iter_ == len(clf.loss_curve_) <= 50
    assert clf.learning_rate_ == 1e-2
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


@pytest.mark.parametrize(
    "n_samples, epochs, rate, epochs_at_fixed_rate",
    [
        # SST-2, 20 Newsgroups and TREC sizes: the held-out choices there.
        (67_349, 1, 3e-3, 1),
        (11_314, 6, 3e-3, 6),
        (5_452, 6, 3e-3 * 65536 / 5452 / 6, 12),
        # The rate would pass 1e-2: more epochs at 1e-2 instead.
        (400, 49, 1e-2, 50),
        (100, 50, 1e-2, 50),
        (10**6, 1, 3e-3, 1),
    ],
)
def test_auto_schedule(n_samples, epochs, rate, epochs_at_fixed_rate):
    got_epochs, got_rate = _auto_schedule(n_samples, "auto", "auto")
    assert got_epochs == epochs
    assert got_rate == pytest.approx(rate, rel=1e-12)
    # A rate set by hand is kept, and "auto" epochs then reach 65,536 documents.
    assert _auto_schedule(n_samples, "auto", 1e-3) == (epochs_at_fixed_rate, 1e-3)
    # Epochs set by hand: the "auto" rate makes up for fewer of them.
    got_epochs, got_rate = _auto_schedule(n_samples, 3, "auto")
    expected = min(1e-2, 3e-3 * max(1, 65536 / n_samples / 3))
    assert got_epochs == 3 and got_rate == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n_samples", [500, 5_452, 11_314, 45_000, 10**6])
def test_auto_schedule_grows_with_the_classes(n_samples):
    # 2 classes and fewer are the base budget; 8 classes see twice the documents.
    assert _auto_schedule(n_samples, "auto", 1e-3, 1) == _auto_schedule(
        n_samples, "auto", 1e-3, 2
    )
    base = min(50, max(1, round(65536 / n_samples)))
    doubled = min(50, max(1, round(2 * 65536 / n_samples)))
    assert _auto_schedule(n_samples, "auto", 1e-3, 8) == (doubled, 1e-3)
    assert _auto_schedule(n_samples, "auto", 1e-3, 2) == (base, 1e-3)
    epochs, rate = _auto_schedule(n_samples, "auto", "auto", 8)
    epochs2, rate2 = _auto_schedule(n_samples, "auto", "auto", 2)
    assert epochs * rate >= epochs2 * rate2  # at least as far
    # Early stopping decides the epochs: "auto" is the cap, at 3e-3.
    assert _auto_schedule(n_samples, "auto", "auto", 8, True) == (50, 3e-3)
    assert _auto_schedule(n_samples, 7, 1e-3, 8, True) == (7, 1e-3)


@pytest.mark.parametrize(
    "y, n_classes",
    [
        (["a", "b", "a"], 2),
        ([1, 2, 3, 4], 4),
        ([["a", "b"], ["c"], []], 3),
        (np.eye(5, dtype=int), 5),
        (sp.csr_matrix(np.eye(6, dtype=int)), 6),
        (["one"], 2),  # at least the binary budget
    ],
)
def test_classes_counted_for_the_schedule(y, n_classes):
    assert _n_classes(y) == n_classes


def test_classes_drive_the_epochs(corpus):
    X, y, _, _ = corpus
    # The same 4,800 documents as 3 classes and as 2: more epochs for 3.
    X, y = X * 12, np.tile(y, 12)
    params = dict(n_features=2**12, learning_rate_init=1e-3, random_state=0)
    three = TextClassifier(**params).fit(X, y)
    two = TextClassifier(**params).fit(X, np.where(y == "food", "a", "b"))
    assert three.classifier_.max_iter == _auto_schedule(4800, "auto", 1e-3, 3)[0]
    assert two.classifier_.max_iter == _auto_schedule(4800, "auto", 1e-3, 2)[0]
    assert three.classifier_.max_iter > two.classifier_.max_iter


def test_learning_rate_attribute(corpus):
    X, y, _, _ = corpus
    clf = TextClassifier(**{**FAST, "learning_rate_init": "auto"}).fit(X, y)
    # 400 documents and 8 epochs: 3e-3 * 65536 / 3200 passes the 1e-2 cap.
    assert clf.learning_rate_ == clf.classifier_.learning_rate_init == 1e-2
    clf.partial_fit(X, y)
    assert clf.learning_rate_ == 3e-3
    clf = TextClassifier(**FAST).fit(X, y)
    assert clf.learning_rate_ == FAST["learning_rate_init"]
    with pytest.raises(InvalidParameterError, match="learning_rate_init"):
        TextClassifier(learning_rate_init="fast").fit(X, y)


def test_prediction_methods_agree(corpus, fitted):
    _, _, X_test, y_test = corpus
    clf = fitted
    assert clf.score(X_test, y_test) > 0.9
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X_test)), proba, rtol=1e-6)
    pred = clf.predict(X_test)
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])
    scores = clf.decision_function(X_test)
    np.testing.assert_array_equal(scores.argmax(axis=1), proba.argmax(axis=1))
    labels, top_scores = clf.predict_topk(X_test, k=2)
    assert labels.shape == top_scores.shape == (len(X_test), 2)
    np.testing.assert_array_equal(labels[:, 0], pred)
    assert clf.predict(["the coach and the striker scored a goal"])[0] == "sport"


@pytest.mark.parametrize(
    "params, checks",
    [
        ({}, 0),
        ({"norm": "l1"}, 0),
        ({"norm": None, "binary": True}, 0),
        # The sublinear_tf pipeline and float64 hashed features are computed
        # by sparseclf too (sparseclf/_text_predict.py).
        ({"sublinear_tf": True}, 0),
        ({"vectorizer": HashingVectorizer(n_features=2**12)}, 0),
        ({"vectorizer": TfidfVectorizer()}, 2),
    ],
)
def test_predictions_skip_only_checks_a_hashing_vectorizer_makes_needless(
    monkeypatch, corpus, params, checks
):
    # A HashingVectorizer's float32 features reach the network without its
    # validate_data: the same predictions as the checked path, which the
    # others take.
    X, y, X_test, _ = corpus
    if "vectorizer" in params:
        params = {**params, "n_features": TextClassifier().n_features}
    clf = TextClassifier(**{**FAST, **params}).fit(X, y)
    checked = clf.classifier_.predict_proba(clf.vectorizer_.transform(X_test))
    calls = []
    real = _mlp.validate_data
    monkeypatch.setattr(
        _mlp, "validate_data", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    np.testing.assert_array_equal(clf.predict_proba(X_test), checked)
    np.testing.assert_array_equal(
        clf.predict(X_test), clf.classes_[checked.argmax(axis=1)]
    )
    assert len(calls) == checks


def test_hashed_features_of_the_wrong_width_are_still_checked(corpus):
    # The network skips validate_data for a HashingVectorizer's features only
    # when they have the width it was fitted on: a vectorizer changed after the
    # fit gets the usual error, not rows read out of range.
    X, y, X_test, _ = corpus
    clf = TextClassifier(**FAST).fit(X, y)
    clf.vectorizer_.set_params(n_features=2**12 + 1)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X_test[:2])


def test_input_containers_agree(corpus, fitted):
    _, _, X_test, _ = corpus
    expected = fitted.predict_proba(X_test)
    for container in (np.array(X_test), pd.Series(X_test), tuple(X_test)):
        np.testing.assert_array_equal(fitted.predict_proba(container), expected)
    np.testing.assert_array_equal(fitted.predict_proba(doc for doc in X_test), expected)
    X, y, _, _ = corpus
    from_series = TextClassifier(**FAST).fit(pd.Series(X), pd.Series(y))
    np.testing.assert_array_equal(from_series.predict_proba(X_test), expected)


def test_every_mlp_parameter_is_forwarded(corpus):
    text_params = TextClassifier().get_params()
    mlp_params = SparseMLPClassifier().get_params()
    assert set(mlp_params) <= set(text_params)
    X, y, _, _ = corpus
    clf = TextClassifier(**{**FAST, "hidden_layer_sizes": (7, 5), "beta_1": 0.8})
    clf.fit(X, y)
    inner = clf.classifier_.get_params()
    for name in mlp_params:
        assert inner[name] == clf.get_params()[name], name
    assert [w.shape for w in clf.classifier_.coefs_] == [(2**12, 7), (7, 5), (5, 3)]


def test_clone_and_set_params(corpus, fitted):
    X, y, X_test, y_test = corpus
    twin = clone(fitted)
    assert not hasattr(twin, "classifier_")
    assert twin.get_params() == fitted.get_params()
    twin.set_params(ngram_range=(1, 1), hidden_layer_sizes=(16,), n_features=2**10)
    assert twin.fit(X, y).score(X_test, y_test) > 0.9
    assert twin.vectorizer_.ngram_range == (1, 1)
    assert twin.classifier_.coefs_[0].shape == (2**10, 16)
    # The first model is untouched.
    assert fitted.classifier_.coefs_[0].shape == (2**12, 32)


def test_not_fitted():
    clf = TextClassifier()
    for method in (
        "predict",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
    ):
        with pytest.raises(NotFittedError):
            getattr(clf, method)(["some text"])
    with pytest.raises(NotFittedError):
        clf.predict_topk(["some text"], k=1)
    with pytest.raises(NotFittedError):
        clf.score(["some text"], ["x"])


def _strip_markup(docs):
    return [doc.replace("<b>", " ").replace("</b>", " ") for doc in docs]


def test_in_pipeline(corpus):
    X, y, X_test, y_test = corpus
    X = [f"<b>{doc}</b>" for doc in X]
    pipe = Pipeline(
        [
            ("strip", FunctionTransformer(_strip_markup)),
            ("clf", TextClassifier(**FAST)),
        ]
    )
    assert pipe.fit(X, y).score(X_test, y_test) > 0.9
    assert pipe.predict_proba(X_test[:5]).shape == (5, 3)


def test_grid_search_on_strings_in_parallel(corpus):
    X, y, _, _ = corpus
    grid = GridSearchCV(
        TextClassifier(**FAST),
        {"ngram_range": [(1, 1), (1, 2)], "hidden_layer_sizes": [(8,), (32,)]},
        cv=2,
        n_jobs=2,
    )
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert grid.best_score_ > 0.9
    assert grid.best_estimator_.vectorizer_.ngram_range in [(1, 1), (1, 2)]
    assert grid.predict(X[:3]).shape == (3,)


def test_joblib_round_trip(tmp_path, corpus, fitted):
    _, _, X_test, _ = corpus
    path = tmp_path / "text.joblib"
    joblib.dump(fitted, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(
        loaded.predict_proba(X_test), fitted.predict_proba(X_test)
    )
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)


def test_empty_strings_and_unicode():
    topics = {
        "café": "crème brûlée naïve café résumé piñata façade",
        "東京": "東京 寿司 電車 桜 富士山 ラーメン",
        "emoji": "😀 🎉 🚀 ❤️ 👍 🔥",
    }
    X, y = make_corpus(300, seed=0, topics=topics)
    X[:10] = [""] * 10  # documents with no token at all
    X_test, y_test = make_corpus(150, seed=1, topics=topics)
    clf = TextClassifier(**{**FAST, "analyzer": "char_wb", "ngram_range": (1, 3)})
    clf.fit(X, y)
    assert clf.score(X_test, y_test) > 0.9
    assert clf.predict(["寿司 と ラーメン"])[0] == "東京"
    # Word n-grams: accented and CJK words are tokens too.
    words = TextClassifier(**FAST).fit(X, y)
    assert words.predict(["la crème brûlée du café"])[0] == "café"
    assert words.predict(["東京 の 寿司"])[0] == "東京"
    pred = clf.predict(["", " "])
    assert pred.shape == (2,) and set(pred) <= set(clf.classes_)
    # An empty document has no features: its prediction comes from the biases
    # alone, so it is the same whatever the (feature-less) text.
    np.testing.assert_array_equal(clf.predict_proba([""]), clf.predict_proba(["     "]))


@pytest.mark.parametrize(
    "bad, error, match",
    [
        ("just one document", ValueError, "single string"),
        (b"just one document", ValueError, "single string"),
        ([1, 2, 3], TypeError, "element 0 is of type int"),
        (["fine", None], TypeError, "element 1 is of type NoneType"),
        (np.arange(6.0).reshape(3, 2), ValueError, r"1-D .* shape \(3, 2\)"),
        (np.arange(3.0), TypeError, "element 0 is of type float"),
        (pd.DataFrame({"text": ["a b", "c d"]}), ValueError, "1-D"),
        (sp.csr_matrix(np.eye(3)), TypeError, "sparse matrix"),
        ([], ValueError, "0 documents"),
        (np.array([], dtype=str), ValueError, "0 documents"),
    ],
)
def test_bad_input_is_named(fitted, bad, error, match):
    with pytest.raises(error, match=match):
        TextClassifier(**FAST).fit(bad, ["x"] * 3)
    with pytest.raises(error, match=match):
        fitted.predict(bad)


def test_bad_parameters_and_targets(corpus):
    X, y, _, _ = corpus
    with pytest.raises(InvalidParameterError, match="analyzer"):
        TextClassifier(analyzer="sentence").fit(X, y)
    with pytest.raises(InvalidParameterError, match="hidden_layer_sizes"):
        TextClassifier(hidden_layer_sizes=0).fit(X, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        TextClassifier(**FAST).fit(X, y[:-1])


def test_multilabel_with_label_lists():
    rng = np.random.RandomState(0)
    names = sorted(TOPICS)
    X, Y = [], []
    for _ in range(400):
        labels = set(rng.choice(names, rng.randint(1, 3), replace=False).tolist())
        words = rng.choice(FILLER, 6).tolist()
        for label in labels:
            words += rng.choice(TOPICS[label].split(), 3).tolist()
        rng.shuffle(words)
        X.append(" ".join(words))
        Y.append(labels)
    clf = TextClassifier(**{**FAST, "max_iter": 15}).fit(X[:300], Y[:300])
    np.testing.assert_array_equal(clf.classes_, names)
    top, _ = clf.predict_topk(X[300:], k=2)
    hits = [top[i, 0] in Y[300 + i] for i in range(100)]
    assert np.mean(hits) > 0.9
    # Two-label documents: both labels ranked on top.
    both = [set(top[i]) == Y[300 + i] for i in range(100) if len(Y[300 + i]) == 2]
    assert np.mean(both) > 0.8
    pred = clf.predict(X[300:])
    assert pred.shape == (100, 3)
    pred_sets = [set(clf.classes_[row.indices]) for row in sp.csr_matrix(pred)]
    subset_accuracy = np.mean([p == t for p, t in zip(pred_sets, Y[300:])])
    assert clf.score(X[300:], Y[300:]) == pytest.approx(subset_accuracy)
    # predict gives round(1.49) = 1 label: only the 42 one-label documents can match.
    assert subset_accuracy > 0.35


def test_vectorizer_parameter_with_tfidf(corpus):
    X, y, X_test, y_test = corpus
    tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    params = FAST_NETWORK
    # Text parameters beside a vectorizer would be ignored: an error names them.
    with pytest.raises(ValueError, match="n_features, binary would be ignored"):
        TextClassifier(vectorizer=tfidf, n_features=2**3, binary=True, **params).fit(
            X, y
        )
    clf = TextClassifier(vectorizer=tfidf, **params).fit(X, y)
    assert clf.score(X_test, y_test) > 0.9
    assert clf.vectorizer_ is not tfidf
    assert not hasattr(tfidf, "vocabulary_")  # the user's object is not fitted
    vocabulary = clf.vectorizer_.vocabulary_
    assert "coach" in vocabulary and "the coach" in vocabulary
    # The vocabulary sets the input width.
    assert clf.classifier_.coefs_[0].shape == (len(vocabulary), 32)


@pytest.mark.parametrize("vectorizer", [None, TfidfVectorizer()])
def test_early_stopping_on_given_validation_documents(vectorizer):
    X, y = make_noisy_corpus(400, seed=0)
    X_val, y_val = make_noisy_corpus(150, seed=1)
    params = {**FAST_NETWORK, "max_iter": 30, "n_iter_no_change": 2}
    if vectorizer is None:
        params["n_features"] = FAST["n_features"]
    clf = TextClassifier(vectorizer=vectorizer, early_stopping=True, **params)
    clf.fit(X, y, X_val=X_val, y_val=y_val)
    network = clf.classifier_
    assert network.t_ == len(X) * clf.n_iter_
    assert clf.score(X_val, y_val) == network.best_validation_score_
    with pytest.raises(ValueError, match="set early_stopping=True"):
        clf.set_params(early_stopping=False).fit(X, y, X_val=X_val, y_val=y_val)


def test_sparse_mlp_after_tfidf_in_a_plain_pipeline():
    # A task where the best accuracy is about 0.75, so "as well" means something.
    X, y = make_noisy_corpus(600, seed=0)
    X_test, y_test = make_noisy_corpus(400, seed=1)
    mlp = FAST_NETWORK
    pipe = make_pipeline(TfidfVectorizer(), SparseMLPClassifier(**mlp)).fit(X, y)
    text = TextClassifier(**{**FAST, "ngram_range": (1, 1)}).fit(X, y)
    pipe_score, text_score = pipe.score(X_test, y_test), text.score(X_test, y_test)
    assert pipe_score > 0.65 and text_score > 0.65  # chance: 0.33
    assert abs(pipe_score - text_score) < 0.05


def test_partial_fit(corpus):
    X, y, X_test, y_test = corpus
    clf = TextClassifier(**FAST)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X[:100], y[:100])
    assert not hasattr(clf, "classifier_")
    for epoch in range(6):
        for s in range(0, len(X), 100):
            clf.partial_fit(X[s : s + 100], y[s : s + 100], classes=np.unique(y))
    assert clf.n_iter_ == 24
    assert clf.score(X_test, y_test) > 0.9
    # A stateful vectorizer is fitted on the first call only.
    counted = TextClassifier(vectorizer=CountVectorizer(), **FAST_NETWORK)
    counted.partial_fit(["goal match", "guitar album"], ["a", "b"], classes=["a", "b"])
    counted.partial_fit(["unseen words here"], ["a"])
    assert sorted(counted.vectorizer_.vocabulary_) == [
        "album",
        "goal",
        "guitar",
        "match",
    ]


def test_warm_start_keeps_vectorizer(corpus):
    X, y, _, _ = corpus
    counted = TextClassifier(
        vectorizer=CountVectorizer(), warm_start=True, **{**FAST_NETWORK, "max_iter": 2}
    )
    with pytest.warns(ConvergenceWarning):  # ConvergenceWarning: 2 epochs
        counted.fit(X, y)
    vectorizer = counted.vectorizer_
    with pytest.warns(ConvergenceWarning):
        counted.fit(["entirely new words"] * 4, y[:4])
    assert counted.vectorizer_ is vectorizer
    assert counted.n_iter_ == 4


@pytest.mark.parametrize("alternate_sign", [False, True])
def test_sublinear_tf(alternate_sign):
    # With alternate_sign, hashed counts may be negative: the log applies to
    # their size and keeps their sign (TfidfTransformer gave NaN there).
    clf = TextClassifier(
        sublinear_tf=True, ngram_range=(1, 1), alternate_sign=alternate_sign, **FAST
    )
    clf.fit(["aa aa aa bb", "cc dd"], [0, 1])
    row = clf.vectorizer_.transform(["aa aa aa bb"])
    plain = clf.vectorizer_[0].transform(["aa aa aa bb"])
    np.testing.assert_array_equal(row.indices, plain.indices)
    np.testing.assert_array_equal(np.sign(row.data), np.sign(plain.data))
    values = np.sort(np.abs(row.data))
    np.testing.assert_allclose(values[1] / values[0], 1 + np.log(3), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(values), 1.0, rtol=1e-6)
    if not alternate_sign:
        assert (plain.data > 0).all()


def test_tags():
    tags = TextClassifier().__sklearn_tags__()
    assert tags.input_tags.string
    assert not tags.input_tags.two_d_array
    assert not tags.input_tags.sparse


def test_character_ngrams_without_a_token_pattern_warning(corpus):
    X, y, X_test, y_test = corpus
    clf = TextClassifier(analyzer="char_wb", ngram_range=(3, 4), **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # sklearn's "unused" warning
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X_test, y_test) > 0.9
    # A pattern set by the user with character n-grams is still warned about.
    clf.set_params(token_pattern=r"\w+")
    with pytest.warns(UserWarning, match="token_pattern"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)


@pytest.mark.parametrize(
    "text, tokens",
    [
        (
            "@user LOL!!! this is #SoGood :) :-( <3 ... 😂😂👍",
            "@ user lol !!! this is # sogood :) :-( <3 ... 😂 😂 👍",
        ),
        (
            "Is it? Costs $5.99 at 10:30, “really”!",
            "is it ? costs 5 99 at 10 30 really !",
        ),
        (
            "From: me@host.edu\nSubject: Re: http://a.b/c :-)\n> quoted -- text",
            "from me host edu subject re http a b c :-) quoted text",
        ),
        ("isn't n't", "isn t n t"),
    ],
)
def test_default_tokens(text, tokens):
    analyzer = TextClassifier().fit(["a", "b"], [0, 1]).vectorizer_.build_tokenizer()
    assert analyzer(text.lower()) == tokens.split()


def test_default_tokens_reach_the_features():
    # Hashtags, emoticons and emoji are features: texts that differ only there
    # are told apart, with scikit-learn's own hashing of the same tokens.
    X = ["so #blessed :)", "so blessed :(", "so blessed 😂", "so blessed"] * 10
    y = [0, 1, 2, 3] * 10
    clf = TextClassifier(n_features=2**12, random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0
    Xt = clf.vectorizer_.transform(X[:4])
    assert len({tuple(row.indices) for row in Xt}) == 4
