# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""hashing_transform gives exactly HashingVectorizer.transform's matrix."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

import sparseclf._hashing as hashing
import sparseclf._text as text
from sparseclf import TextClassifier
from sparseclf._hashing import hashing_transform
from sparseclf._kernels import _murmur

# Code points of 1, 2, 3 and 4 UTF-8 bytes.
ALPHABET = list("abcxyz019 ") + ["é", "ß", "я", "€", "日", "本", "😀", "𝄞"]


def _random_tokens(rng, n, max_len=13):
    return [
        "".join(rng.choice(ALPHABET, size=rng.integers(0, max_len + 1)))
        for _ in range(n)
    ]


def _ngram_hashes(docs, min_n, max_n):
    tokens = [t for doc in docs for t in doc]
    text = np.frombuffer(" ".join(tokens).encode("utf-8"), dtype=np.uint8)
    lengths = np.array([len(t) for t in tokens], dtype=np.int64)
    counts = np.array([len(doc) for doc in docs], dtype=np.int64)
    h, per_doc = _murmur.ngram_hashes(text, lengths, counts, min_n, max_n)
    return h.view(np.int32), per_doc


def test_murmur_kernel_matches_sklearn_murmurhash3_32():
    # Every length mod 4 (the tail's 0-3 bytes), empty tokens and multi-byte
    # characters: scikit-learn's hash of each token's UTF-8 bytes.
    rng = np.random.default_rng(0)
    tokens = _random_tokens(rng, 3000) + ["", "a", "ab", "abc", "abcd", " "]
    got, per_doc = _ngram_hashes([tokens[:1000], [], tokens[1000:]], 1, 1)
    want = [murmurhash3_32(t.encode("utf-8"), seed=0) for t in tokens]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(per_doc, [1000, 0, len(tokens) - 1000])
    assert _ngram_hashes([], 1, 1)[0].shape == (0,)


@pytest.mark.parametrize("ngram_range", [(1, 2), (2, 3), (1, 4), (3, 3)])
def test_murmur_kernel_hashes_ngrams_joined_by_spaces(ngram_range):
    rng = np.random.default_rng(1)
    docs = [_random_tokens(rng, size, 6) for size in (0, 1, 2, 3, 7, 40)]
    got, per_doc = _ngram_hashes(docs, *ngram_range)
    want, counts = [], []
    for doc in docs:  # by length, then position, as scikit-learn's _word_ngrams
        grams = [
            " ".join(doc[i : i + n])
            for n in range(ngram_range[0], ngram_range[1] + 1)
            for i in range(len(doc) - n + 1)
        ]
        want += [murmurhash3_32(g.encode("utf-8"), seed=0) for g in grams]
        counts.append(len(grams))
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(per_doc, counts)


def _assert_same_matrix(got, want):
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    assert got.indices.dtype == want.indices.dtype
    assert got.indptr.dtype == want.indptr.dtype
    np.testing.assert_array_equal(got.indptr, want.indptr)
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_array_equal(got.data, want.data)


DOCS = [
    "The cat sat on the mat. The cat!",
    "",
    "   ",
    "Ünïcödé straße, naïve café — 日本語のテキスト 😀 and 𝄞 music",
    "is n't it? yes! no... a b c d e f g",
    "x",
    "word " * 50,
    "Tab\tand\nnewline separated\r\nwords",
]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"ngram_range": (1, 2), "token_pattern": r"(?u)\b\w+\b|[!?]"},
        {"ngram_range": (2, 3), "alternate_sign": False},
        {"n_features": 7, "binary": True},  # collisions, and signs that cancel
        {"n_features": 16, "norm": None},
        {"norm": "l1", "dtype": np.float32},
        {"norm": None, "dtype": np.int64, "alternate_sign": False},
        {"stop_words": "english", "lowercase": False, "ngram_range": (1, 2)},
        {"strip_accents": "unicode", "ngram_range": (2, 2)},
        {"stop_words": ["the", "cat", "and"], "ngram_range": (1, 3)},
        {"ngram_range": (0, 2)},  # 0-grams: scikit-learn's analyzer, as it is
        {"tokenizer": str.split, "token_pattern": None, "ngram_range": (1, 2)},
        {"preprocessor": str.upper, "ngram_range": (1, 2)},
        {"analyzer": "char", "ngram_range": (1, 3)},
        {"analyzer": "char_wb", "ngram_range": (2, 5), "n_features": 2**10},
    ],
)
@pytest.mark.parametrize("chunk", [3, 512])
def test_same_matrix_as_hashing_vectorizer(monkeypatch, params, chunk):
    monkeypatch.setattr(hashing, "_CHUNK", chunk)  # 3: documents span chunks
    rng = np.random.default_rng(1)
    docs = DOCS + [" ".join(_random_tokens(rng, 12, 6)) for _ in range(20)]
    vec = HashingVectorizer(**params)
    _assert_same_matrix(hashing_transform(vec, docs), vec.transform(docs))
    # As a 1-D array of str and of bytes (decoded by the vectorizer).
    _assert_same_matrix(
        hashing_transform(vec, np.array(docs)), vec.transform(np.array(docs))
    )
    encoded = [d.encode("utf-8") for d in docs]
    _assert_same_matrix(hashing_transform(vec, encoded), vec.transform(encoded))


def test_without_norm_gives_the_counts():
    vec = HashingVectorizer(n_features=64)
    raw = HashingVectorizer(n_features=64, norm=None)
    _assert_same_matrix(hashing_transform(vec, DOCS, norm=False), raw.transform(DOCS))


def test_other_tokens_go_through_scikit_learn():
    # A callable analyzer may give bytes (FeatureHasher takes them as they are),
    # or a first document as one string (FeatureHasher refuses it): the same
    # result, or the same error, as scikit-learn's transform.
    as_bytes = HashingVectorizer(analyzer=lambda d: [w.encode() for w in d.split()])
    _assert_same_matrix(hashing_transform(as_bytes, DOCS), as_bytes.transform(DOCS))
    raw = HashingVectorizer(analyzer=as_bytes.analyzer, norm=None)
    _assert_same_matrix(
        hashing_transform(as_bytes, DOCS, norm=False), raw.transform(DOCS)
    )
    one_string = HashingVectorizer(analyzer=lambda d: d)
    with pytest.raises(ValueError, match="single string"):
        one_string.transform(DOCS)
    with pytest.raises(ValueError, match="single string"):
        hashing_transform(one_string, DOCS)
    with pytest.raises(ValueError, match="empty sequence"):
        hashing_transform(HashingVectorizer(), [])
    with pytest.raises(TypeError, match="HashingVectorizer"):
        hashing_transform(HashingVectorizer, DOCS)


def test_lone_surrogate_fails_as_in_scikit_learn():
    vec = HashingVectorizer(analyzer="char")  # the surrogate is a token
    with pytest.raises(UnicodeEncodeError):
        vec.transform(["bad \ud800 text"])
    with pytest.raises(UnicodeEncodeError):
        hashing_transform(vec, ["bad \ud800 text"])


def test_text_classifier_fits_and_predicts_as_with_sklearn_transform(monkeypatch):
    # The model trained and its probabilities are exactly those of a
    # TextClassifier whose features come from HashingVectorizer.transform.
    rng = np.random.default_rng(2)
    docs = [" ".join(_random_tokens(rng, 8, 5)) for _ in range(300)]
    y = rng.integers(0, 3, size=300)
    params = dict(n_features=2**12, hidden_layer_sizes=(16,), max_iter=2)
    fast = TextClassifier(**params, random_state=0).fit(docs, y)
    expected = fast.predict_proba(docs)
    calls = []
    monkeypatch.setattr(
        text, "hashing_transform", lambda v, X, norm=True: calls.append(1)
    )
    monkeypatch.setattr(text, "_features", lambda v, X: (v.transform(X), False))
    slow = TextClassifier(**params, random_state=0).fit(docs, y)
    assert calls == []
    np.testing.assert_array_equal(
        slow.classifier_.predict_proba(slow.vectorizer_.transform(docs)), expected
    )
