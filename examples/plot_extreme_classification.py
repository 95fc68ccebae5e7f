"""
=================================================
Sparse versus dense output layers as labels grow
=================================================

A dense MLP computes every output neuron for every sample, so its training cost
grows with the number of labels. :class:`~sparseclf.SparseMLPClassifier` computes
a sampled active set instead. Here both train for the same epochs on
synthetic extreme-classification data (power-law label frequencies, sparse
bag-of-words features) with 2,000 to 32,000 labels; the dense model is the same
estimator with ``output_sparsity=1.0``.
"""

# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
import time
import warnings

import matplotlib.pyplot as plt

from sparseclf import SparseMLPClassifier
from sparseclf.datasets import make_extreme_classification
from sparseclf.metrics import precision_at_k

n_train, n_test = 6_000, 1_000
label_counts = [2_000, 8_000, 32_000]
results = {"sparse (auto)": [], "dense": []}
for n_labels in label_counts:
    X, Y = make_extreme_classification(
        n_train + n_test, 20_000, n_labels, signal=0.6, random_state=0
    )
    for name, sparsity in [("sparse (auto)", "auto"), ("dense", 1.0)]:
        clf = SparseMLPClassifier(
            output_sparsity=sparsity,
            max_iter=2,
            learning_rate_init=3e-3,
            random_state=0,
        )
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # max_iter=2 does not converge
            clf.fit(X[:n_train], Y[:n_train])
        speed = 2 * n_train / (time.perf_counter() - t0)
        top, _ = clf.predict_topk(X[n_train:], k=1)
        p1 = precision_at_k(Y[n_train:], top, k=1)
        results[name].append((speed, p1))
        print(
            f"{n_labels:>6} labels  {name:<14} {speed:>8,.0f} samples/s  P@1 {p1:.3f}"
        )

# %%
# Training speed falls with the number of labels for the dense model and stays
# nearly flat for the sparse one; precision@1 stays close.
fig, (ax_speed, ax_p1) = plt.subplots(1, 2, figsize=(9, 3.5))
for name, rows in results.items():
    ax_speed.plot(label_counts, [r[0] for r in rows], "o-", label=name)
    ax_p1.plot(label_counts, [r[1] for r in rows], "o-", label=name)
ax_speed.set(
    xscale="log",
    yscale="log",
    xlabel="labels",
    ylabel="samples / s",
    title="training speed",
)
ax_p1.set(xscale="log", xlabel="labels", ylabel="precision@1", title="accuracy")
ax_speed.legend()
fig.tight_layout()
plt.show()
