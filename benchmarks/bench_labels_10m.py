# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""A fit at 10**7 output labels on one machine: its memory, speed and top-k.

Data: a cheap generator that needs no table per label (``make_extreme_classification``
keeps prototypes per label). Label ranks are log-uniform over ``--labels``
(P(rank r) ~ 1/r), mapped to label ids by a multiplicative hash; a sample has
30 tokens over 135,909 features, each with probability 0.6 one of its label's
8 topic features (hashed from the label id), else uniform noise. One
``partial_fit`` on the first batch (``classes`` = every label: the whole output
layer is allocated), then one on the rest; then exact ``predict_topk`` of
2,000 held-out samples. Prints the resident memory (current, peak) after each
stage. The network: 128 ReLU units, batch 256, Adam 1e-3, the defaults.

    python benchmarks/bench_labels_10m.py                      # 10**7 labels
    python benchmarks/bench_labels_10m.py --labels 1000000 --samples 50000
"""

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp

N_FEATURES = 135_909


def rss_mib():
    """``(VmRSS, VmHWM)`` of this process in MiB."""
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return tuple(int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))


def make(n, n_labels, seed):
    rng = np.random.default_rng(seed)
    ranks = np.exp(rng.random(n) * np.log(n_labels)).astype(np.int64)
    y = (np.minimum(ranks, n_labels - 1) * 2654435761 + 12345) % n_labels
    k = 30
    row = np.repeat(np.arange(n), k)
    j = np.tile(np.arange(k), n)
    topic = rng.random(row.size) < 0.6
    col = np.where(
        topic,
        (y[row] * 40503 + (j % 8) * 9973) % N_FEATURES,
        rng.integers(0, N_FEATURES, row.size),
    )
    X = sp.csr_matrix(
        (np.ones(row.size, np.float32), (row, col)), shape=(n, N_FEATURES)
    )
    X.sum_duplicates()
    return X, y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=50_000)
    args = parser.parse_args()

    from sparseclf import SparseMLPClassifier

    X, y = make(args.samples, args.labels, 0)
    X_te, y_te = make(2000, args.labels, 1)
    print(f"{args.labels:,} labels, {args.samples:,} training samples")
    print(f"data: RSS {rss_mib()[0]:,.0f} MiB")
    clf = SparseMLPClassifier(
        hidden_layer_sizes=(128,), batch_size=256, learning_rate_init=1e-3,
        random_state=0,
    )  # fmt: skip
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X[:256], y[:256], classes=np.arange(args.labels))
        t1 = time.perf_counter()
        print(
            f"first batch (allocating the model): {t1 - t0:.1f} s, "
            f"RSS {rss_mib()[0]:,.0f} MiB, active_size_ {clf.active_size_:,}"
        )
        clf.partial_fit(X[256:], y[256:])
    t2 = time.perf_counter()
    n = args.samples - 256
    print(f"training: {n / (t2 - t1):,.0f} samples/s, RSS {rss_mib()[0]:,.0f} MiB")
    top, _ = clf.predict_topk(X_te, 5)
    t3 = time.perf_counter()
    print(
        f"exact predict_topk, 2,000 samples, k=5: {t3 - t2:.1f} s, "
        f"P@1 {np.mean(top[:, 0] == y_te):.4f}"
    )
    print(f"peak RSS {rss_mib()[1]:,.0f} MiB")


if __name__ == "__main__":
    main()
