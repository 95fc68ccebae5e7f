"""
==================================================
Data-parallel training on a Dask cluster
==================================================

:func:`sparseclf.dask.train` trains one model on data spread over the workers
of a Dask cluster: every worker holding blocks of the data trains a replica of
the model on them, and every few batches the replicas' changes are merged and
sent back to all of them. The blocks never leave the worker that holds them.

Here a local cluster of two worker processes trains a 5,000-label classifier
on synthetic data, beside the same model trained in this process, and the
merges' sizes are plotted from the ``callback``'s reports. A
:class:`~sklearn.model_selection.GridSearchCV` then runs its fits on the same
cluster through joblib's Dask backend.
"""

# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
import warnings

import dask.array as da
import joblib
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sparseclf import SparseMLPClassifier
from sparseclf.dask import train
from sparseclf.datasets import make_extreme_classification
from sparseclf.metrics import precision_at_k

warnings.simplefilter("ignore", ConvergenceWarning)  # one-epoch partial_fit calls
X, Y = make_extreme_classification(
    12_000, 20_000, 5_000, nnz_per_sample=30, signal=0.8, random_state=0
)
X_train, Y_train, X_test, Y_test = X[:10_000], Y[:10_000], X[10_000:], Y[10_000:]
params = dict(learning_rate_init=0.01, batch_size=64, random_state=0)


def p_at_1(model):
    top, _ = model.predict_topk(X_test, k=1)
    return precision_at_k(Y_test, top, k=1)


# %%
# One process: three epochs of ``partial_fit`` over all the training data.
alone = SparseMLPClassifier(**params)
for _ in range(3):
    alone.partial_fit(X_train, Y_train)

# %%
# Two workers: the data as a dask array of four blocks, two on each worker.
# ``sync_every=8``: each replica trains 8 batches between merges.
if __name__ == "__main__":  # worker processes import this file too
    syncs = []
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        X_dask = da.from_array(X_train, chunks=(2_500, X.shape[1]), asarray=False)
        Y_dask = da.from_array(Y_train, chunks=(2_500, Y.shape[1]), asarray=False)
        together = train(
            SparseMLPClassifier(**params),
            X_dask,
            Y_dask,
            epochs=3,
            sync_every=8,
            random_state=0,
            callback=syncs.append,
        )
        # Any scikit-learn tool that parallelises with joblib can run its
        # fits on the cluster: here 2 settings x 2 folds.
        grid = GridSearchCV(
            SparseMLPClassifier(max_iter=2, **params),
            {"output_sparsity": [0.02, 0.1]},
            cv=2,
            scoring=lambda model, X, Y: precision_at_k(
                Y, model.predict_topk(X, k=1)[0], k=1
            ),
        )
        with joblib.parallel_backend("dask"):
            grid.fit(X_train, Y_train)

    print(f"P@1, one process: {p_at_1(alone):.3f}; two workers: {p_at_1(together):.3f}")
    print(f"grid search on the cluster: best {grid.best_params_}")

    # %%
    # Each merge moves the rows the replicas changed: their updates to the
    # driver, and the merge back to each replica (without the rows it alone
    # changed, which it has already).
    fig, ax = plt.subplots(figsize=(6, 3.5))
    merges = np.arange(1, len(syncs) + 1)
    ax.plot(merges, [s["bytes_gathered"] / 2**20 for s in syncs], label="gathered")
    ax.plot(merges, [s["bytes_sent"] / 2**20 for s in syncs], label="merge sent")
    ax.set_xlabel("merge")
    ax.set_ylabel("MiB")
    ax.set_title("What each merge moves (5,000 labels, 128 hidden units)")
    ax.legend()
    fig.tight_layout()
    plt.show()
