# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""TextClassifier's prediction path for hashed features (sparseclf/_text_predict.py)
gives exactly what the network gives on ``vectorizer_.transform(X)``."""

import gc
import pickle
import weakref

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import (
    FeatureHasher,
    HashingVectorizer,
    TfidfVectorizer,
)
from sklearn.utils import murmurhash3_32

from sparseclf import TextClassifier, _mlp, _scoring
from sparseclf._hashing import hash_rows
from sparseclf._text_predict import hashed_features

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

WORDS = (
    "goal match team coach guitar album song band recipe oven flour sauce "
    "the a of and to in is it Ünïcödé straße naïve café 日本語 😀 isn't ! ? "
    "DON'T STOP x y z"
).split()
SMALL = dict(
    n_features=2**10,
    hidden_layer_sizes=(8,),
    learning_rate_init=1e-2,
    batch_size=32,
    max_iter=2,
    random_state=0,
)
NETWORK = {k: v for k, v in SMALL.items() if k != "n_features"}


def make_docs(n, seed):
    rng = np.random.RandomState(seed)
    docs = [" ".join(rng.choice(WORDS, rng.randint(0, 14))) for _ in range(n)]
    return docs, rng.randint(3, size=n)


@pytest.fixture(scope="module")
def data():
    X, y = make_docs(200, 0)
    # 600 test documents: more than one chunk of _hashing._CHUNK (512).
    X_test = make_docs(600, 1)[0] + ["", "   ", "!!", "a"]
    return X, y, X_test


def assert_same_as_transform(clf, X_test):
    """Every prediction method equals the network's on ``vectorizer_.transform``,
    for one document, a few and many."""
    net = clf.classifier_
    for X in ([X_test[0]], [X_test[-1]], X_test[:5], X_test):
        Xt = clf.vectorizer_.transform(X)
        np.testing.assert_array_equal(clf.predict_proba(X), net.predict_proba(Xt))
        np.testing.assert_array_equal(
            clf.predict_log_proba(X), net.predict_log_proba(Xt)
        )
        np.testing.assert_array_equal(
            clf.decision_function(X), net.decision_function(Xt)
        )
        got, want = clf.predict(X), net.predict(Xt)
        if sp.issparse(want):
            got, want = got.toarray(), want.toarray()
        np.testing.assert_array_equal(got, want)
        for k in (1, 2):
            for a, b in zip(clf.predict_topk(X, k), net.predict_topk(Xt, k)):
                np.testing.assert_array_equal(a, b)


def assert_same_rows(clf, X):
    """The features of the fast path are vectorizer_.transform's, in float32."""
    rows = hashed_features(clf, X)
    want = sp.csr_matrix(clf.vectorizer_.transform(X), dtype=np.float32)
    assert rows.shape == want.shape
    assert rows.data.dtype == np.float32
    np.testing.assert_array_equal(rows.indptr, want.indptr)
    np.testing.assert_array_equal(rows.indices, want.indices)
    np.testing.assert_array_equal(rows.data, want.data)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"ngram_range": (1, 3)},
        {"ngram_range": (2, 2)},
        {"analyzer": "char", "ngram_range": (2, 4)},
        {"analyzer": "char_wb", "ngram_range": (1, 3)},
        {"binary": True, "n_features": 2**3},  # collisions, signs that cancel
        {"norm": "l1"},
        {"norm": None},
        {"alternate_sign": False, "n_features": 2**4},
        {"sublinear_tf": True},
        {"sublinear_tf": True, "norm": None, "n_features": 2**3},
        {"sublinear_tf": True, "norm": "l1", "binary": True},
        {"stop_words": "english"},
        {"stop_words": ["the", "a", "goal"], "lowercase": False},
        {"strip_accents": "unicode"},
        {"token_pattern": r"\S+"},
        {"token_pattern": r"(\w)\w*"},  # one group: findall returns it
        {"token_pattern": r"(?u)\b\w\w+\b"},  # scikit-learn's
    ],
)
def test_same_predictions_as_vectorizer_transform(data, params):
    X, y, X_test = data
    clf = TextClassifier(**{**SMALL, **params}).fit(X, y)
    assert_same_rows(clf, X_test[:3])
    assert_same_rows(clf, X_test)
    assert_same_as_transform(clf, X_test)
    assert clf.score(X_test[:50], clf.predict(X_test[:50])) == 1.0


@pytest.mark.parametrize(
    "vectorizer, fast",
    [
        (HashingVectorizer(n_features=2**10), True),  # float64 features
        (
            HashingVectorizer(
                n_features=2**10, input="content", decode_error="replace"
            ),
            True,
        ),
        (
            HashingVectorizer(
                n_features=2**10, analyzer="char_wb", ngram_range=(2, 3), norm=None
            ),
            True,
        ),
        (HashingVectorizer(n_features=2**10, dtype=np.int64), False),
        (HashingVectorizer(n_features=2**10, analyzer=str.split), True),
        # A callable analyzer giving bytes: scikit-learn's own transform.
        (
            HashingVectorizer(
                n_features=2**10, analyzer=lambda d: [w.encode() for w in d.split()]
            ),
            False,
        ),
        (TfidfVectorizer(), False),
    ],
)
def test_vectorizer_of_ones_own(data, vectorizer, fast):
    X, y, X_test = data
    clf = TextClassifier(vectorizer=vectorizer, **NETWORK).fit(X, y)
    assert (hashed_features(clf, X_test[:2]) is not None) == fast
    # Decided once: a vectorizer whose tokens are not str is not tried again.
    assert (hashed_features(clf, X_test[:2]) is not None) == fast
    assert_same_as_transform(clf, X_test)


def test_bytes_documents(data):
    X, y, X_test = data
    clf = TextClassifier(**SMALL).fit(X, y)
    encoded = [doc.encode("utf-8") for doc in X_test[:20]]
    np.testing.assert_array_equal(
        clf.predict_proba(encoded), clf.predict_proba(X_test[:20])
    )
    with pytest.raises(UnicodeDecodeError):
        clf.predict([b"bad \xff bytes"])


def test_multilabel(data):
    X, _, X_test = data
    rng = np.random.RandomState(0)
    Y = [set(rng.choice(list("abcd"), rng.randint(1, 3), replace=False)) for _ in X]
    clf = TextClassifier(**SMALL).fit(X, Y)
    assert_same_as_transform(clf, X_test)
    Y_ind = (rng.random_sample((len(X), 5)) < 0.4).astype(int)
    Y_ind[:, 0] = 1
    clf = TextClassifier(**SMALL).fit(X, sp.csr_matrix(Y_ind))
    assert sp.issparse(clf.predict(X_test[:1]))
    assert_same_as_transform(clf, X_test)


def test_many_classes_and_lsh_candidates(data):
    X, _, X_test = data
    y = np.arange(len(X)) % 40
    clf = TextClassifier(**{**SMALL, "output_sparsity": 0.2}).fit(X, y)
    assert_same_as_transform(clf, X_test)
    for X in ([X_test[0]], X_test):
        Xt = clf.vectorizer_.transform(X)
        for a, b in zip(
            clf.predict_topk(X, 3, exact=False),
            clf.classifier_.predict_topk(Xt, 3, exact=False),
        ):
            np.testing.assert_array_equal(a, b)


def test_cache_follows_the_fitted_vectorizer(data):
    X, y, X_test = data
    clf = TextClassifier(**SMALL).fit(X, y)
    before = dict(vars(clf))
    clf.predict(X_test[:1])
    # Nothing is stored on the estimator (nor pickled).
    assert vars(clf).keys() == before.keys()
    assert all(vars(clf)[k] is v for k, v in before.items())
    assert b"_text_predict" not in pickle.dumps(clf)
    assert_same_as_transform(pickle.loads(pickle.dumps(clf)), X_test)
    # The fitted vectorizer's parameters changed, or a list of them changed in
    # place: the next call uses the new ones.
    clf.vectorizer_.set_params(ngram_range=(1, 1), stop_words=["the"])
    assert_same_as_transform(clf, X_test)
    clf.vectorizer_.stop_words.append("coach")
    assert_same_as_transform(clf, X_test)
    # A new fit, a new vectorizer.
    clf.set_params(analyzer="char_wb", ngram_range=(2, 3)).fit(X, y)
    assert_same_as_transform(clf, X_test)
    # The cache holds the classifier weakly.
    ref = weakref.ref(clf)
    del clf
    gc.collect()
    assert ref() is None


def test_wrong_width_still_raises(data):
    X, y, X_test = data
    clf = TextClassifier(**SMALL).fit(X, y)
    clf.predict(X_test[:1])
    clf.vectorizer_.set_params(n_features=2**10 + 1)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X_test[:1])


@pytest.mark.parametrize(
    "bad, error, match",
    [
        ("just one document", ValueError, "single string"),
        ([], ValueError, "0 documents"),
        (["fine", 3], TypeError, "element 1 is of type int"),
        ([None], TypeError, "element 0 is of type NoneType"),
    ],
)
def test_bad_input_after_fast_calls(data, bad, error, match):
    X, y, X_test = data
    clf = TextClassifier(**SMALL).fit(X, y)
    clf.predict(X_test[:1])
    for method in ("predict", "predict_proba", "decision_function", "predict_topk"):
        with pytest.raises(error, match=match):
            getattr(clf, method)(bad)


def test_not_fitted():
    with pytest.raises(NotFittedError):
        TextClassifier().predict(["text"])


def test_threads_of_a_small_batch(data):
    # One document needs no thread count from threadpoolctl: every kernel
    # would run on one thread; a large batch asks for it.
    X, y, X_test = data
    clf = TextClassifier(**SMALL).fit(X, y)
    net = clf.classifier_
    assert net._n_threads(hashed_features(clf, X_test[:1])) == 1
    big = sp.csr_matrix(np.ones((2048, net.n_features_in_), dtype=np.float32))
    assert net._n_threads(big) == _mlp.effective_n_threads(net.n_jobs)
    net.set_params(n_jobs=0)
    with pytest.raises(ValueError, match="n_jobs == 0"):
        clf.predict(X_test[:1])


def test_hash_rows_is_feature_hashers_matrix():
    rng = np.random.default_rng(0)
    alphabet = list("abc xyz") + ["é", "日", "😀"]
    tokens = ["".join(rng.choice(alphabet, rng.integers(0, 6))) for _ in range(400)]
    docs = [list(rng.choice(tokens, rng.integers(0, 30))) for _ in range(50)] + [[]]
    for n_features in (1, 3, 2**10, 2**31 - 1):
        for alternate_sign in (True, False):
            indices, sums, indptr = hash_rows(docs, n_features, 1, 2, alternate_sign)
            grams = [
                doc + [" ".join(doc[i : i + 2]) for i in range(len(doc) - 1)]
                for doc in docs
            ]
            hasher = FeatureHasher(
                n_features, input_type="string", alternate_sign=alternate_sign
            )
            want = hasher.transform(grams)  # sorted, duplicates summed
            np.testing.assert_array_equal(indptr, want.indptr)
            np.testing.assert_array_equal(indices, want.indices)
            np.testing.assert_array_equal(sums, want.data)
    # The kernel's column of a negative hash, against sklearn's.
    h = murmurhash3_32("a", seed=0)
    assert hash_rows([["a"]], 7, 1, 1, True)[0][0] == abs(h) % 7
    assert hash_rows([["a"]], 7, 1, 1, False)[1][0] == 1
    assert hash_rows([[b"bytes"]], 7, 1, 1, True) is None


def test_top1_takes_ties_to_the_lower_column_and_nan_last():
    rng = np.random.default_rng(0)
    Z = rng.integers(0, 3, size=(50, 6)).astype(float)  # many ties
    for base in (0, 10):
        top, scores = _scoring.topk(Z, 1, base)
        np.testing.assert_array_equal(top[:, 0], Z.argmax(axis=1) + base)
        np.testing.assert_array_equal(scores[:, 0], Z.max(axis=1))
    Z[3, 2] = np.nan
    Z[4] = np.nan
    Z[4, 5] = -1.0
    top, scores = _scoring.topk(Z, 1)
    assert top[3, 0] != 2 and scores[3, 0] == np.nanmax(Z[3])
    assert top[4, 0] == 5 and scores[4, 0] == -1.0
