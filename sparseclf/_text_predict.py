# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""TextClassifier's features for prediction, made without per-call set-up.

For the vectorizers whose features sparseclf computes itself (a
``HashingVectorizer``, built by TextClassifier or passed as ``vectorizer``, and
the ``sublinear_tf`` pipeline of ``make_hashing_vectorizer``),
:func:`hashed_features` gives the rows ``vectorizer_.transform`` gives, as the
float32 CSR arrays the network reads, without what costs more than the work for
a few documents:

- the analyzer (preprocessor, compiled token pattern, stop words) is built once
  per fitted vectorizer and kept while that vectorizer's attributes stay the
  same, in a cache weakly keyed on the classifier: nothing is added to the
  estimator's ``__dict__``, so nothing of it is pickled or cloned;
- one kernel call hashes a chunk of documents and sums each row's duplicate
  columns (``_murmur.hashed_rows``): no scipy matrix, no ``sum_duplicates``;
- the values come from the same functions as the vectorizer's (scikit-learn's
  in-place row normalizations, ``signed_log``) in the same order: the same
  numbers, and the network skips ``validate_data``.
"""

import weakref

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer
from sklearn.utils.sparsefuncs_fast import (
    inplace_csr_row_normalize_l1,
    inplace_csr_row_normalize_l2,
)

from sparseclf._csr import RowBlock
from sparseclf._hashing import (
    _signed_sublinear,
    hashed_counts,
    hashing_analyzer,
    index_dtypes,
    signed_log,
)

_NORMALIZE = {"l1": inplace_csr_row_normalize_l1, "l2": inplace_csr_row_normalize_l2}
# TextClassifier -> _Entry; an entry holds the vectorizer, never the classifier.
_CACHE = weakref.WeakKeyDictionary()


def hashed_features(clf, X):
    """Features of documents ``X`` (a checked sequence) for ``clf.classifier_``:
    a float32 ``RowBlock``, or None where ``clf.vectorizer_`` is not one whose
    features sparseclf computes (the caller then calls its ``transform``)."""
    vectorizer = clf.vectorizer_
    try:
        entry = _CACHE.get(clf)
    except TypeError:  # a subclass that is not hashable: no cache
        entry = None
    if entry is None or not entry.holds(vectorizer):
        entry = _Entry(vectorizer, clf.classifier_.n_features_in_)
        try:
            _CACHE[clf] = entry
        except TypeError:
            pass
    if entry.hasher is None:
        return None
    rows = entry.rows(X)
    if rows is None:
        entry.hasher = None  # tokens other than str: the vectorizer's own path
    return rows


def _parts(vectorizer):
    """``(hasher, sublinear, norm)`` of a vectorizer sparseclf computes, else None."""
    if type(vectorizer) is HashingVectorizer:
        hasher, sublinear, norm = vectorizer, False, vectorizer.norm
    elif type(vectorizer) is Pipeline and 2 <= len(vectorizer.steps) <= 3:
        # make_hashing_vectorizer's sublinear_tf pipeline, exactly.
        steps = [step for _, step in vectorizer.steps]
        hasher, log = steps[:2]
        if not (
            type(hasher) is HashingVectorizer
            and hasher.norm is None
            and type(log) is FunctionTransformer
            and log.func is _signed_sublinear
            and log.kw_args is None
            and not log.validate
        ):
            return None
        norm = None
        if len(steps) == 3:
            if type(steps[2]) is not Normalizer:
                return None
            norm = steps[2].norm
        sublinear = True
    else:
        return None
    if norm not in _NORMALIZE and norm is not None:
        return None
    if np.dtype(hasher.dtype).kind != "f":
        return None
    return hasher, sublinear, norm


def _state(obj):
    """The attributes of ``obj``, lists as tuples (a list changed in place
    compares unequal)."""
    return {k: tuple(v) if type(v) is list else v for k, v in vars(obj).items()}


class _Entry:
    """The analyzer of a fitted vectorizer and the steps after the hashing.

    ``hasher`` is None when the vectorizer is not one sparseclf computes, or
    its features do not have the network's width (the vectorizer's own path
    then raises the usual error).
    """

    def __init__(self, vectorizer, n_features_in):
        self.vectorizer = vectorizer
        parts = _parts(vectorizer)
        self.hasher = None
        if parts is not None and parts[0].n_features == n_features_in:
            self.hasher, self.sublinear, self.norm = parts
            # Built now, with the vectorizer's checks and warnings (it may
            # record what it checked: the state is read after).
            self.analyzer = hashing_analyzer(self.hasher)
            self.dtype = np.dtype(self.hasher.dtype)
        self.state = self._state()

    def _state(self):
        vectorizer = self.vectorizer
        if type(vectorizer) is Pipeline:
            return _state(vectorizer), [_state(s) for _, s in vectorizer.steps]
        return _state(vectorizer)

    def holds(self, vectorizer):
        """Whether this entry is still that of ``vectorizer``."""
        if vectorizer is not self.vectorizer:
            return False
        try:
            return bool(self._state() == self.state)
        except (TypeError, ValueError):  # an attribute without a plain ==
            return False

    def rows(self, X):
        """The features of documents ``X``: a float32 ``RowBlock``, or None
        where the analyzer's tokens are not str."""
        hasher = self.hasher
        counts = hashed_counts(self.analyzer, hasher, X)
        if counts is None:
            return None
        indices, data, indptr = counts
        # The values of HashingVectorizer.transform: counts in its dtype, then
        # binary, the sublinear_tf pipeline's steps and the norm, by the same
        # functions.
        data = data.astype(self.dtype)
        if hasher.binary:
            data.fill(1)
        if self.sublinear:
            nonzero = data != 0  # _signed_sublinear's eliminate_zeros
            if not nonzero.all():
                data, indices = data[nonzero], indices[nonzero]
                indptr = np.concatenate([[0], np.cumsum(nonzero)])[indptr]
            data = signed_log(data)
        indices, data, indptr = index_dtypes(indices, data, indptr)
        rows = RowBlock.of_arrays(data, indices, indptr, (len(X), hasher.n_features))
        if self.norm is not None:
            _NORMALIZE[self.norm](rows)
        if data.dtype != np.float32:
            rows.data = data.astype(np.float32)
        return rows
