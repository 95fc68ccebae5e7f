# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""A synthetic extreme multi-label classification generator."""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state


def make_extreme_classification(
    n_samples=10_000,
    n_features=100_000,
    n_labels=10_000,
    *,
    nnz_per_sample=50,
    labels_per_sample=3.0,
    label_power=1.0,
    signal=0.35,
    prototype_size=20,
    cluster_size=10,
    shared_fraction=0.5,
    label_noise=0.1,
    random_state=None,
):
    """Sparse bag-of-words samples with many labels of power-law frequency.

    Each label has a *prototype*: ``prototype_size`` feature ids, of which a
    ``shared_fraction`` is shared by the ``cluster_size`` labels of its cluster (so
    neighbouring labels are confusable) and the rest are its own. Label
    frequencies follow a Zipf law, ``P(label l) ~ (l + 1) ** -label_power``, so a few
    labels are frequent and most are rare, as in real extreme classification.

    A sample draws ``1 + Poisson(labels_per_sample - 1)`` distinct labels; of its
    ``nnz_per_sample`` word tokens, a fraction ``signal`` comes from its labels'
    prototypes and the rest from a Zipf background over all features. Counts become
    ``log1p`` weights, rows are L2-normalised. Finally each of a sample's labels is
    replaced by a random label with probability ``label_noise``.

    The defaults leave headroom: a strong method reaches a precision@1 well below 1
    (about 0.3-0.7 with enough data; see the benchmark), so methods can be told
    apart.

    Parameters
    ----------
    n_samples : int, default=10_000
        Samples.
    n_features : int, default=100_000
        Vocabulary size.
    n_labels : int, default=10_000
        Labels.
    nnz_per_sample : int, default=50
        Word tokens per sample (distinct features are a little fewer).
    labels_per_sample : float, default=3.0
        Mean labels per sample, >= 1.
    label_power : float, default=1.0
        Zipf exponent of label frequencies (0 gives uniform labels).
    signal : float, default=0.35
        Fraction of tokens drawn from the labels' prototypes.
    prototype_size : int, default=20
        Features per label prototype.
    cluster_size : int, default=10
        Labels sharing part of their prototype.
    shared_fraction : float, default=0.5
        Part of a prototype shared with the cluster.
    label_noise : float, default=0.1
        Probability that a label is replaced by a random one.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features), float32
        Features.
    Y : scipy.sparse.csr_matrix of shape (n_samples, n_labels), int8
        Label indicator matrix.

    Examples
    --------
    >>> from sparseclf.datasets import make_extreme_classification
    >>> X, Y = make_extreme_classification(100, 1000, 50, random_state=0)
    >>> X.shape, Y.shape
    ((100, 1000), (100, 50))
    """
    for name, value in [
        ("n_samples", n_samples),
        ("n_features", n_features),
        ("n_labels", n_labels),
        ("nnz_per_sample", nnz_per_sample),
        ("prototype_size", prototype_size),
        ("cluster_size", cluster_size),
    ]:
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if labels_per_sample < 1:
        raise ValueError(f"labels_per_sample must be >= 1, got {labels_per_sample}.")
    for name, value in [
        ("signal", signal),
        ("shared_fraction", shared_fraction),
        ("label_noise", label_noise),
    ]:
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be in [0, 1], got {value}.")
    rng = check_random_state(random_state)

    # Zipf background over the vocabulary; prototypes drawn from the same law, so
    # frequent words are in many prototypes, as in text.
    word_p = 1.0 / np.arange(1, n_features + 1)
    word_p /= word_p.sum()
    word_cdf = np.cumsum(word_p)
    words = np.arange(n_features)
    rng.shuffle(words)  # frequent words are not the low ids

    def draw_words(size):
        return words[
            np.minimum(
                np.searchsorted(word_cdf, rng.random_sample(size)), n_features - 1
            )
        ]

    n_shared = int(round(shared_fraction * prototype_size))
    n_clusters = -(-n_labels // cluster_size)
    cluster_words = draw_words((n_clusters, n_shared))
    own_words = draw_words((n_labels, prototype_size - n_shared))
    prototypes = np.concatenate(
        [cluster_words[np.arange(n_labels) // cluster_size], own_words], axis=1
    )
    label_order = rng.permutation(n_labels)  # frequent labels are not the low ids
    label_p = (np.arange(1, n_labels + 1, dtype=float)) ** -float(label_power)
    label_cdf = np.cumsum(label_p / label_p.sum())

    # Labels: 1 + Poisson, distinct within a sample.
    n_lab = np.minimum(1 + rng.poisson(labels_per_sample - 1, n_samples), n_labels)
    lab_ptr = np.concatenate([[0], np.cumsum(n_lab)])
    raw = label_order[
        np.minimum(
            np.searchsorted(label_cdf, rng.random_sample(lab_ptr[-1])), n_labels - 1
        )
    ]
    Y = sp.csr_matrix(
        (np.ones(raw.size, dtype=np.int8), raw, lab_ptr), shape=(n_samples, n_labels)
    )
    Y.sum_duplicates()
    Y.data[:] = 1
    true_ptr, true_labels = Y.indptr, Y.indices
    n_true = np.diff(true_ptr)

    # Tokens: signal ones from a random true label's prototype, the rest background.
    n_signal = rng.binomial(nnz_per_sample, signal, n_samples)
    sample_of = np.repeat(np.arange(n_samples), n_signal)
    pick = true_ptr[sample_of] + (
        rng.random_sample(sample_of.size) * n_true[sample_of]
    ).astype(np.int64)
    sig_words = prototypes[
        true_labels[pick], rng.randint(0, prototype_size, size=sample_of.size)
    ]
    n_background = nnz_per_sample - n_signal
    bg_rows = np.repeat(np.arange(n_samples), n_background)
    rows = np.concatenate([sample_of, bg_rows])
    cols = np.concatenate([sig_words, draw_words(bg_rows.size)])
    X = sp.csr_matrix(
        (np.ones(rows.size, dtype=np.float32), (rows, cols)),
        shape=(n_samples, n_features),
    )
    X.sum_duplicates()
    X.data = np.log1p(X.data)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ X, dtype=np.float32)

    # Label noise: replace labels at random (features stay those of the old ones).
    if label_noise > 0:
        flip = rng.random_sample(Y.nnz) < label_noise
        Y.indices[flip] = rng.randint(0, n_labels, size=int(flip.sum()))
        Y = sp.csr_matrix(
            (np.ones(Y.nnz, dtype=np.int8), Y.indices, Y.indptr),
            shape=(n_samples, n_labels),
        )
        Y.sum_duplicates()
        Y.data[:] = 1
        Y.sort_indices()
    return X, Y
