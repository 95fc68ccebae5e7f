# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Learning at Amazon-670K's shape with enough samples per label: P@1 by epoch.

``bench_xmc.py``'s ``amazon670k`` configuration trains 60,000 samples for one
epoch: under 0.1 sample per label, so every model stays at the prior. Here the
same shape (135,909 features, 75 tokens per sample, 670,091 labels, 5 labels
per sample, ``make_extreme_classification``) gets ``--n-train`` samples
(1,000,000) and ``--epochs`` epochs (5), one ``partial_fit`` per epoch, with
test P@1 / P@5 (exact top-5 of ``--n-test`` held-out samples), the training
time and the peak RSS after each epoch, beside the prior (the 5 most frequent
training labels for every sample). The network is bench_xmc's: 128 ReLU
units, batch 256, Adam 1e-3, the default sampled output layer.

    python benchmarks/bench_xmc_long.py
    python benchmarks/bench_xmc_long.py --n-train 300000 --epochs 3 --lazy-adam false
"""

import argparse
import os
import time
import warnings

import numpy as np


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return float("nan")


def precision(top, Y, k):
    """Mean over samples of the share of the top ``k`` that are labels."""
    Y = Y.tocsr()
    hits = 0
    for i in range(Y.shape[0]):
        labels = Y.indices[Y.indptr[i] : Y.indptr[i + 1]]
        hits += np.isin(top[i, :k], labels).sum()
    return hits / (k * Y.shape[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=1_000_000)
    parser.add_argument("--n-test", type=int, default=5_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--labels", type=int, default=670_091)
    parser.add_argument("--lazy-adam", default="true", choices=["true", "false"])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from sparseclf import SparseMLPClassifier
    from sparseclf.datasets import make_extreme_classification

    t0 = time.perf_counter()
    X, Y = make_extreme_classification(
        args.n_train + args.n_test,
        135_909,
        args.labels,
        nnz_per_sample=75,
        labels_per_sample=5.0,
        random_state=0,
    )
    X_tr, Y_tr = X[: args.n_train], Y[: args.n_train]
    X_te, Y_te = X[args.n_train :], Y[args.n_train :]
    counts = np.asarray(Y_tr.sum(axis=0)).ravel()
    prior = np.argsort(-counts, kind="stable")[:5]
    top_prior = np.tile(prior, (args.n_test, 1))
    print(
        f"{args.n_train:,} training / {args.n_test:,} test samples, "
        f"{args.labels:,} labels ({np.count_nonzero(counts):,} seen in training, "
        f"{Y_tr.nnz / max(1, np.count_nonzero(counts)):.1f} samples per seen "
        f"label), lazy_adam={args.lazy_adam}, data {time.perf_counter() - t0:.0f} s, "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    print(
        "prior (the 5 most frequent training labels): "
        f"P@1 {precision(top_prior, Y_te, 1):.4f}, "
        f"P@5 {precision(top_prior, Y_te, 5):.4f}\n"
    )
    clf = SparseMLPClassifier(
        hidden_layer_sizes=(128,),
        batch_size=256,
        learning_rate_init=1e-3,
        n_jobs=args.threads,
        random_state=0,
        lazy_adam=args.lazy_adam == "true",
    )
    print(
        "| epoch | train s (total) | samples/s | P@1 | P@5 | distinct top-1 "
        "| peak RSS MiB |"
    )
    print("|--:|--:|--:|--:|--:|--:|--:|")
    train_s = 0.0
    classes = np.arange(args.labels)
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if epoch == 1:
                clf.partial_fit(X_tr, Y_tr, classes=classes)
            else:
                clf.partial_fit(X_tr, Y_tr)
        took = time.perf_counter() - t0
        train_s += took
        top, _ = clf.predict_topk(X_te, 5)
        print(
            f"| {epoch} | {train_s:.0f} | {args.n_train / took:,.0f} | "
            f"{precision(top, Y_te, 1):.4f} | {precision(top, Y_te, 5):.4f} | "
            f"{np.unique(top[:, 0]).size:,} | {peak_rss_mib():,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
