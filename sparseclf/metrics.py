# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Ranking metrics of extreme classification: precision@k, recall@k and nDCG@k.

Both take the true labels and the *ranked* predictions of each sample (for example
the labels returned by ``SparseMLPClassifier.predict_topk``), so no dense
(n_samples, n_labels) score matrix is ever needed.
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["ndcg_at_k", "precision_at_k", "recall_at_k"]


def _hits(y_true, y_pred, k):
    """(n_samples, k) bool: is the j-th ranked prediction a true label? And |true|."""
    y_pred = np.asarray(y_pred)
    if y_pred.ndim != 2:
        raise ValueError(
            f"y_pred must be 2-D (n_samples, n_ranked), got shape {y_pred.shape}."
        )
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    if y_pred.shape[1] < k:
        raise ValueError(
            f"y_pred ranks {y_pred.shape[1]} labels per sample; k={k} needs k."
        )
    top = y_pred[:, :k]
    if sp.issparse(y_true) or (
        isinstance(y_true, np.ndarray) and y_true.ndim == 2 and y_true.dtype != object
    ):
        Y = sp.csr_matrix(y_true)
        if Y.shape[0] != top.shape[0]:
            raise ValueError(f"y_true has {Y.shape[0]} samples, y_pred {top.shape[0]}.")
        if top.size and (top.min() < 0 or top.max() >= Y.shape[1]):
            raise ValueError(
                "With an indicator y_true, y_pred must hold column indices in "
                f"[0, {Y.shape[1]})."
            )
        Y.eliminate_zeros()
        hits = np.asarray(Y[np.arange(top.shape[0])[:, None], top].todense()) != 0
        return hits, np.diff(Y.indptr)
    sets = [_label_set(labels) for labels in y_true]
    if len(sets) != top.shape[0]:
        raise ValueError(f"y_true has {len(sets)} samples, y_pred {top.shape[0]}.")
    hits = np.array(
        [[p in s for p in row] for s, row in zip(sets, top.tolist())], dtype=bool
    ).reshape(top.shape)
    return hits, np.array([len(s) for s in sets])


def _label_set(labels):
    """A sample's true labels as a set: a lone label (a str, a number) is one
    label, not a sequence of characters."""
    if isinstance(labels, np.generic):
        return {labels.item()}
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__iter__"):
        return {labels}
    return set(labels)


def precision_at_k(y_true, y_pred, k=1):
    """Mean over samples of the fraction of the ``k`` top predictions that are true.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_samples, n_labels), or \
            sequence of label collections
        True labels: an indicator matrix, or each sample's labels (a
        collection, or one label: a 1-D array of class labels works too).
    y_pred : array-like of shape (n_samples, n_ranked)
        Predictions ranked best first: column indices for an indicator
        ``y_true``, labels otherwise. ``n_ranked >= k``.
    k : int, default=1
        Cut-off.

    Returns
    -------
    precision : float

    Examples
    --------
    >>> from sparseclf.metrics import precision_at_k
    >>> precision_at_k([{1, 2}, {0}], [[1, 0], [2, 1]], k=2)
    0.25
    """
    hits, _ = _hits(y_true, y_pred, k)
    return float(hits.sum(axis=1).mean() / k) if hits.shape[0] else 0.0


def recall_at_k(y_true, y_pred, k=5):
    """Mean over samples of the fraction of their true labels in the ``k`` top
    predictions.

    A sample without true labels scores 0.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_samples, n_labels), or \
            sequence of label collections
        True labels: an indicator matrix, or each sample's labels (a
        collection, or one label: a 1-D array of class labels works too).
    y_pred : array-like of shape (n_samples, n_ranked)
        Predictions ranked best first, ``n_ranked >= k``.
    k : int, default=5
        Cut-off.

    Returns
    -------
    recall : float

    Examples
    --------
    >>> from sparseclf.metrics import recall_at_k
    >>> recall_at_k([{1, 2}, {0}], [[1, 0], [2, 1]], k=2)
    0.25
    """
    hits, n_true = _hits(y_true, y_pred, k)
    if not hits.shape[0]:
        return 0.0
    found = hits.sum(axis=1)
    return float(np.mean(np.where(n_true > 0, found / np.maximum(n_true, 1), 0.0)))


def ndcg_at_k(y_true, y_pred, k=5):
    """Mean normalised discounted cumulative gain at ``k``, binary relevance.

    A hit at rank ``r`` (1-based) gains ``1 / log2(r + 1)``; a sample's gain is
    divided by the best possible for its ``min(k, n_true)`` labels, as in the
    Extreme Classification Repository. A sample without true labels scores 0.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_samples, n_labels), or \
            sequence of label collections
        True labels: an indicator matrix, or each sample's labels (a
        collection, or one label: a 1-D array of class labels works too).
    y_pred : array-like of shape (n_samples, n_ranked)
        Predictions ranked best first, ``n_ranked >= k``.
    k : int, default=5
        Cut-off.

    Returns
    -------
    ndcg : float

    Examples
    --------
    >>> from sparseclf.metrics import ndcg_at_k
    >>> ndcg_at_k([{1}], [[0, 1]], k=2)  # the one true label ranked second
    0.630...
    """
    hits, n_true = _hits(y_true, y_pred, k)
    if not hits.shape[0]:
        return 0.0
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = hits @ discount
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(n_true, k)]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1), 0.0)
    return float(ratio.mean())
