# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Documents to features for TextClassifier: the input check, its HashingVectorizer,
and that vectorizer's transform with the hashing of the tokens in a kernel."""

import copy
from itertools import chain

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer, normalize
from sklearn.utils.sparsefuncs_fast import (
    inplace_csr_row_normalize_l1,
    inplace_csr_row_normalize_l2,
)

from sparseclf._kernels import _murmur

# Documents analyzed and hashed together: bounds the Python strings held at
# once (a 20 Newsgroups message gives about 600 n-grams).
_CHUNK = 512


def check_documents(X):
    """``X`` as a sequence of documents (str or bytes); clear errors otherwise."""
    if isinstance(X, (str, bytes)):
        raise ValueError(
            "Expected an iterable of documents (one string per sample), got a "
            "single string; wrap it in a list: [text]."
        )
    if sp.issparse(X):
        raise TypeError(
            "Expected an iterable of raw text documents, got a sparse matrix; "
            "pass vectorized features to SparseMLPClassifier instead."
        )
    ndim = getattr(X, "ndim", 1)
    if ndim != 1:
        raise ValueError(
            "Expected a 1-D sequence of text documents (one string per sample), "
            f"got an array of shape {getattr(X, 'shape', None)}."
        )
    if hasattr(X, "to_numpy"):  # pandas Series (or Index)
        X = X.to_numpy()
    elif not hasattr(X, "__len__") or not hasattr(X, "__getitem__"):
        X = list(X)  # a generator or another one-pass iterable
    if len(X) == 0:
        raise ValueError("Found 0 documents; at least 1 is required.")
    if isinstance(X, np.ndarray) and X.dtype.kind in "US":
        return X
    for i, doc in enumerate(X):
        if not isinstance(doc, (str, bytes)):
            raise TypeError(
                "Expected an iterable of text documents (str), but element "
                f"{i} is of type {type(doc).__name__}: {doc!r:.50}."
            )
    return X


def make_hashing_vectorizer(sublinear_tf=False, norm="l2", **params):
    """A float32 HashingVectorizer with ``params``, followed for
    ``sublinear_tf`` by ``sign(x) * (1 + log|x|)`` of its counts and ``norm``.

    Not TfidfTransformer(sublinear_tf=True): it takes the log of the negative
    counts ``alternate_sign`` gives, and returns NaN.
    """
    if not sublinear_tf:
        return HashingVectorizer(norm=norm, dtype=np.float32, **params)
    hasher = HashingVectorizer(norm=None, dtype=np.float32, **params)
    steps = [hasher, FunctionTransformer(_signed_sublinear, accept_sparse=True)]
    if norm is not None:
        steps.append(Normalizer(norm=norm))
    return make_pipeline(*steps)


def _signed_sublinear(X):
    """``sign(x) * (1 + log|x|)`` on the stored values of CSR counts ``X``."""
    X = sp.csr_matrix(X, copy=True)
    X.eliminate_zeros()  # +1 and -1 hashed to one column: log(0) is not wanted
    X.data = signed_log(X.data)
    return X


def signed_log(values):
    """``sign(x) * (1 + log|x|)`` of non-zero ``values``, in their dtype."""
    return np.sign(values) * (1 + np.log(np.abs(values)))


def hashing_analyzer(vectorizer):
    """What ``hashing_transform`` hashes: a function from a document to its
    tokens, and the n-gram lengths ``(min_n, max_n)`` the kernel makes of them.

    For word n-grams, scikit-learn's analyzer steps up to the n-grams (its
    decoder, preprocessor, tokenizer and stop words), which the kernel joins and
    hashes (``_word_ngrams``' ``" ".join`` took a third of the time); otherwise
    the analyzer itself and ``(1, 1)``. Built by the vectorizer, with its checks
    and warnings; a caller predicting many times may keep it.
    """
    analyzer = vectorizer.build_analyzer()  # with its checks and warnings
    if not (vectorizer.analyzer == "word" and vectorizer.ngram_range[0] >= 1):
        return analyzer, (1, 1)
    decode = vectorizer.decode
    preprocess = vectorizer.build_preprocessor()
    tokenize = vectorizer.build_tokenizer()
    stop_words = vectorizer.get_stop_words()
    # decode returns a str as it is when the input is the content, and the
    # default preprocessor without accent stripping only lowercases: the same
    # steps without two Python calls per document.
    plain = vectorizer.input == "content"
    lower = None
    if vectorizer.preprocessor is None and vectorizer.strip_accents is None:
        lower, preprocess = vectorizer.lowercase, None

    def analyze(doc):
        if not (plain and type(doc) is str):
            doc = decode(doc)
        if preprocess is not None:
            doc = preprocess(doc)
        elif lower:
            doc = doc.lower()
        tokens = tokenize(doc)
        if stop_words is None:
            return tokens
        return [w for w in tokens if w not in stop_words]

    return analyze, vectorizer.ngram_range


def hashing_transform(vectorizer, X, norm=True, analyzer=None):
    """``vectorizer.transform(X)`` for a :class:`HashingVectorizer`: the same matrix.

    scikit-learn's analyzer makes the tokens (for word n-grams: its decoder,
    preprocessor, tokenizer and stop words); ``_kernels._murmur`` then hashes
    every n-gram of a chunk of documents in one call, with scikit-learn's hash
    (``sklearn.utils.murmurhash3_32``, seed 0) of the same bytes, mapped to
    columns and signs as ``FeatureHasher`` maps them, where scikit-learn builds
    each n-gram as a Python string and hashes them one per Python-level step.

    Parameters
    ----------
    vectorizer : HashingVectorizer
        Its parameters are assumed valid (it was fitted, or checked by ``fit``).
    X : sequence of str or bytes
        Documents, sliceable (a list or a 1-D array).
    norm : bool, default=True
        Normalize the rows by ``vectorizer.norm``; False leaves the (signed)
        counts, for a caller that normalizes in place.
    analyzer : tuple, default=None
        ``hashing_analyzer(vectorizer)``, kept by the caller; None builds it.

    Returns
    -------
    Xt : scipy.sparse.csr_matrix of shape (n_samples, vectorizer.n_features)
        The same values, indices and index dtypes as ``vectorizer.transform``.
    """
    if type(vectorizer) is not HashingVectorizer:
        raise TypeError(f"Expected a HashingVectorizer, got {type(vectorizer)}.")
    n = len(X)
    if n == 0:
        raise ValueError("Cannot vectorize empty sequence.")
    counts = hashed_counts(analyzer or hashing_analyzer(vectorizer), vectorizer, X)
    if counts is None:
        # Tokens other than str (a callable analyzer's bytes, or a first
        # document analyzed into one string): scikit-learn's own path, with
        # its own checks and errors.
        if not norm:
            vectorizer = copy.copy(vectorizer)  # stateless
            vectorizer.norm = None
        return vectorizer.transform(X)
    indices, sums, indptr = index_dtypes(*counts)
    Xt = sp.csr_matrix(
        (sums.astype(vectorizer.dtype), indices, indptr),
        shape=(n, vectorizer.n_features),
        dtype=vectorizer.dtype,
    )
    if vectorizer.binary:
        Xt.data.fill(1)
    if not norm or vectorizer.norm is None:
        return Xt
    if Xt.dtype.kind != "f":
        return normalize(Xt, norm=vectorizer.norm, copy=False)
    # What normalize does, without its check_array: the matrix is a finite CSR
    # by construction, and the check costs as much as hashing a short document.
    if vectorizer.norm == "l2":
        inplace_csr_row_normalize_l2(Xt)
    else:
        inplace_csr_row_normalize_l1(Xt)
    return Xt


def hashed_counts(analyzer, vectorizer, X):
    """``(indices, sums, indptr)`` of the hashed n-gram counts of documents
    ``X`` (see :func:`hash_rows`), chunk by chunk; None where the analyzer's
    tokens are not str.

    ``analyzer`` is ``hashing_analyzer(vectorizer)``.
    """
    analyze, ngrams = analyzer
    n_features, sign = vectorizer.n_features, vectorizer.alternate_sign
    parts = []
    for s in range(0, len(X), _CHUNK):
        docs = [analyze(doc) for doc in X[s : s + _CHUNK]]
        part = hash_rows(docs, n_features, *ngrams, sign)
        if part is None:
            return None
        parts.append(part)
    if len(parts) == 1:
        return parts[0]
    offsets = np.cumsum([0] + [p[2][-1] for p in parts[:-1]])
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([[0]] + [p[2][1:] + o for p, o in zip(parts, offsets)]),
    )


def index_dtypes(indices, data, indptr):
    """The arrays with ``FeatureHasher``'s index dtypes: int32 while the
    non-zeros fit, else int64 indices (scikit-learn's in-place normalizations
    take indices and indptr of one dtype)."""
    if indptr[-1] <= np.iinfo(np.int32).max:
        return indices, data, indptr.astype(np.int32)
    return indices.astype(np.int64), data, indptr


def hash_rows(docs, n_features, min_n, max_n, alternate_sign):
    """The rows ``FeatureHasher`` and ``sum_duplicates`` make of the ``min_n``-
    to ``max_n``-grams of the token lists ``docs``: sorted columns (int32),
    their summed signs (int64, zeros kept) and ``indptr`` (int64).

    None when a document is a string rather than a list of tokens, or a token is
    not a str.
    """
    tokens = _kernel_tokens(docs)
    if tokens is None:
        return None
    return _murmur.hashed_rows(*tokens, min_n, max_n, n_features, bool(alternate_sign))


def _kernel_tokens(docs):
    """The token lists ``docs`` as the murmur kernels take them: the tokens
    joined by spaces in UTF-8, their lengths, each document's count; or None."""
    if docs and isinstance(docs[0], str):
        return None
    counts = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    tokens = list(chain.from_iterable(docs))
    try:
        text = " ".join(tokens)
    except TypeError:
        return None
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8), lengths, counts
