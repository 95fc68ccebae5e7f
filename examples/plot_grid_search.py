"""
==============================================
Tuning the hash settings with GridSearchCV
==============================================

:class:`~sparseclf.SparseMLPClassifier` is a scikit-learn estimator, so its
locality-sensitive hashing settings can be cross-validated like any other
parameter. Here :class:`~sklearn.model_selection.GridSearchCV` compares the two
hash families (DWTA and SimHash) and three output sparsities (the fraction of
the 5,000 output neurons each training sample computes) on synthetic
extreme-classification data, scored by precision@1, with the training time of
each setting beside it. The hash tables take part in training only with
``output_sampler="lsh"`` (the default trains without LSH candidates), so the
estimator here sets it.
"""

# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

from sparseclf import SparseMLPClassifier
from sparseclf.datasets import make_extreme_classification
from sparseclf.metrics import precision_at_k

X, Y = make_extreme_classification(6_000, 20_000, 5_000, signal=0.6, random_state=0)


def p_at_1(estimator, X, Y):
    """Precision@1 of the top-ranked label: a scorer for multi-label targets."""
    top, _ = estimator.predict_topk(X, k=1)
    return precision_at_k(Y, top, k=1)


# %%
# The grid: 2 hash families x 3 sparsities, 3 folds, 2 epochs per fit. With
# 5,000 labels, ``output_sparsity="auto"`` computes 500 neurons per sample
# (10%); 0.02 computes 100.
param_grid = {
    "hash_family": ["dwta", "simhash"],
    "output_sparsity": [0.02, 0.05, "auto"],
}
search = GridSearchCV(
    SparseMLPClassifier(
        max_iter=2, learning_rate_init=3e-3, output_sampler="lsh", random_state=0
    ),
    param_grid,
    scoring=p_at_1,
    cv=KFold(3, shuffle=True, random_state=0),
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # 2 epochs, on purpose
    search.fit(X, Y)
print(f"best: {search.best_params_}, P@1 {search.best_score_:.3f}")

# %%
# Precision@1 and training time of each setting: mean and standard deviation
# over the folds.
res = search.cv_results_
sparsities = [str(s) for s in param_grid["output_sparsity"]]
x = np.arange(len(sparsities))
fig, (ax_p1, ax_time) = plt.subplots(1, 2, figsize=(9, 3.5))
for i, family in enumerate(param_grid["hash_family"]):
    rows = np.flatnonzero(res["param_hash_family"] == family)
    shift = (i - 0.5) * 0.35
    ax_p1.bar(
        x + shift,
        res["mean_test_score"][rows],
        0.35,
        yerr=res["std_test_score"][rows],
        label=family,
    )
    ax_time.bar(
        x + shift, res["mean_fit_time"][rows], 0.35, yerr=res["std_fit_time"][rows]
    )
for ax, ylabel in [(ax_p1, "precision@1"), (ax_time, "fit time (s)")]:
    ax.set(xticks=x, xticklabels=sparsities, xlabel="output_sparsity", ylabel=ylabel)
ax_p1.legend(title="hash_family")
fig.tight_layout()
plt.show()
