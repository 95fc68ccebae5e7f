# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Targets: class labels or label sets to label lists, and predictions back."""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d


def is_label_lists(y):
    """True for a sequence of label sequences (MultiLabelBinarizer's input).

    A rectangular sequence of 0/1 rows is an indicator matrix, as scikit-learn reads
    it; pass sets to mean label lists in that ambiguous case.
    """
    if sp.issparse(y) or isinstance(y, str) or not hasattr(y, "__len__"):
        return False
    if isinstance(y, np.ndarray) and y.dtype != object:
        return False
    if len(y) == 0 or not all(
        isinstance(e, (list, tuple, set, frozenset, np.ndarray)) for e in y
    ):
        return False
    if any(isinstance(e, (set, frozenset)) for e in y):
        return True
    lengths = {len(e) for e in y}
    if len(lengths) > 1 or lengths == {0}:  # rows of no column: empty label sets
        return True
    try:
        arr = np.asarray(y)
    except ValueError:
        return True
    return not (arr.ndim == 2 and np.isin(arr, (0, 1)).all())


def is_indicator(y):
    """True for a multi-label indicator matrix (dense or sparse)."""
    if is_label_lists(y):
        return False
    try:
        return type_of_target(y) == "multilabel-indicator"
    except ValueError:
        return False


def take_rows(lab_ptr, labels, rows):
    """Rows ``rows`` of the CSR label structure ``(lab_ptr, labels)``."""
    counts = np.diff(lab_ptr)[rows]
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    if labels.size == 0:
        return ptr, labels
    starts = lab_ptr[rows]
    idx = np.repeat(starts - ptr[:-1], counts) + np.arange(ptr[-1])
    return ptr, labels[idx]


class Targets:
    """What a fit learned of its targets, to encode later ones and decode
    predictions.

    Targets are encoded as a CSR label structure ``(lab_ptr, labels)``: sample
    ``i``'s labels are the column indices ``labels[lab_ptr[i]:lab_ptr[i + 1]]``
    (one per sample for multi-class targets).

    Attributes
    ----------
    classes : ndarray
        The class of each output (multi-label: of each indicator column).
    type : {"binary", "multiclass", "multilabel-indicator"}
        The kind of targets, in the words of
        :func:`~sklearn.utils.multiclass.type_of_target` (label sets count as
        an indicator).
    sparse_output : bool
        Multi-label predictions are scipy CSR (the targets were sparse or
        label sets) rather than dense.
    n_labels, n_samples : int
        Labels and samples seen in training (multi-label), for ``mean_labels``.
    """

    def __init__(self, classes, type_, sparse_output=False):
        self.classes = classes
        self.type = type_
        self.sparse_output = sparse_output
        self.n_labels = 0
        self.n_samples = 0

    @property
    def multilabel(self):
        return self.type == "multilabel-indicator"

    @property
    def mean_labels(self):
        """Mean number of labels per training sample."""
        return self.n_labels / max(1, self.n_samples)

    @classmethod
    def fit(cls, y, classes, n_samples):
        """Targets of a first fit; returns ``(targets, lab_ptr, labels)``.

        ``classes``: every class (multi-class) or label (label sets), or None
        for those present in ``y``.
        """
        if is_label_lists(y):
            _check_length(y, n_samples, "label sets")
            mlb = MultiLabelBinarizer(classes=classes, sparse_output=True)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                Y = mlb.fit_transform(y)
            if classes is not None and caught:
                raise ValueError(f"y has labels not in classes: {caught[0].message}")
            if Y.shape[1] == 0:
                raise ValueError("y holds no label: every label set is empty.")
            targets = cls(mlb.classes_, "multilabel-indicator", sparse_output=True)
            return (targets, *_csr_labels(Y))
        if sp.issparse(y) or is_indicator(y):
            Y = sp.csr_matrix(y)
            _check_length(Y, n_samples, "rows")
            targets = cls(np.arange(Y.shape[1]), "multilabel-indicator", sp.issparse(y))
            return (targets, *_indicator_labels(Y))
        y = _column(y)
        classes = np.unique(y) if classes is None else np.unique(classes)
        if len(classes) < 2:
            raise ValueError(
                "The training data holds one class "
                f"({classes.tolist()}); a classifier needs at least 2."
            )
        targets = cls(classes, "binary" if len(classes) == 2 else "multiclass")
        return (targets, *targets._class_labels(y, n_samples))

    def encode(self, y, n_samples):
        """``(lab_ptr, labels)`` of the targets of a later fit."""
        if is_label_lists(y):
            self._require_multilabel()
            _check_length(y, n_samples, "label sets")
            unseen = {lab for labels in y for lab in labels} - set(
                self.classes.tolist()
            )
            if unseen:
                raise ValueError(f"y has labels unseen at the first fit: {unseen}")
            mlb = MultiLabelBinarizer(classes=self.classes, sparse_output=True)
            return _csr_labels(mlb.fit_transform(y))
        if sp.issparse(y) or is_indicator(y):
            self._require_multilabel()
            Y = sp.csr_matrix(y)
            _check_length(Y, n_samples, "rows")
            if Y.shape[1] != len(self.classes):
                raise ValueError(
                    f"y has {Y.shape[1]} label columns; the model was fitted "
                    f"with {len(self.classes)}."
                )
            return _indicator_labels(Y)
        if self.multilabel:
            raise ValueError("The model was fitted with multi-label targets.")
        return self._class_labels(_column(y), n_samples)

    def count(self, labels, n_samples):
        """Add a fit's labels to the counts behind ``mean_labels``."""
        self.n_labels += labels.size
        self.n_samples += n_samples

    def _class_labels(self, y, n_samples):
        unseen = np.setdiff1d(np.unique(y), self.classes)
        if unseen.size:
            raise ValueError(
                f"y has labels not in classes_: {unseen.tolist()[:10]}. Pass every "
                "label in `classes` on the first call to partial_fit."
            )
        y_idx = np.searchsorted(self.classes, y).astype(np.int32)
        return np.arange(n_samples + 1, dtype=np.int64), y_idx

    def _require_multilabel(self):
        if not self.multilabel:
            raise ValueError("The model was fitted with multi-class targets.")

    def predictions(self, top):
        """``predict``'s output for the best outputs ``top`` (n, k) of each
        sample: classes (k = 1, multi-class) or an indicator of label sets."""
        if not self.multilabel:
            return self.classes[top[:, 0]]
        n, k = top.shape
        Y = sp.csr_matrix(
            (np.ones(top.size, dtype=int), top.ravel(), np.arange(0, n * k + 1, k)),
            shape=(n, len(self.classes)),
        )
        Y.sort_indices()
        return Y if self.sparse_output else Y.toarray()

    def score(self, pred, y, sample_weight=None):
        """Accuracy of ``predict``'s output ``pred`` against ``y``; for
        multi-label targets, subset accuracy (exact label sets)."""
        if not self.multilabel:
            return accuracy_score(y, pred, sample_weight=sample_weight)
        if is_label_lists(y):
            y = MultiLabelBinarizer(
                classes=self.classes, sparse_output=True
            ).fit_transform(y)
        pred, true = sp.csr_matrix(pred), sp.csr_matrix(y)
        if true.shape != pred.shape:
            raise ValueError(f"y has shape {true.shape}; expected {pred.shape}.")
        exact = np.asarray((pred != true).sum(axis=1)).ravel() == 0
        return float(np.average(exact, weights=sample_weight))


def _column(y):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    with warnings.catch_warnings():
        # Many classes for few samples is the normal case of extreme
        # classification (and of every partial_fit batch), not a sign of
        # regression targets; float targets are still refused.
        warnings.filterwarnings("ignore", "The number of unique classes")
        check_classification_targets(y)
    return y


def _check_length(y, n_samples, what):
    n = y.shape[0] if sp.issparse(y) else len(y)
    if n != n_samples:
        raise ValueError(f"y has {n} {what} but X has {n_samples} samples.")


def _csr_labels(Y):
    Y = sp.csr_matrix(Y)
    return Y.indptr.astype(np.int64), Y.indices.astype(np.int32)


def _indicator_labels(Y):
    Y.eliminate_zeros()
    if Y.nnz and not np.isin(Y.data, (0, 1)).all():
        raise ValueError("A multi-label indicator y must hold only 0 and 1.")
    return _csr_labels(Y)
