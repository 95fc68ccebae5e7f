# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""``python -m sparseclf``: a short extreme-classification demo.

Trains :class:`~sparseclf.SparseMLPClassifier` on synthetic data with 100,000
labels and prints training speed and precision@k. About half a minute on 2 cores.
"""

import sys
import time


def main(argv=None):
    from sparseclf import SparseMLPClassifier
    from sparseclf._kernels import _backprop, _dwta, _simhash, _tables, load
    from sparseclf.datasets import make_extreme_classification
    from sparseclf.metrics import precision_at_k

    modules = (_backprop, _dwta, _simhash, _tables)
    if not all(hasattr(m, "__pythran__") for m in modules):
        print("error: the kernels are not compiled; reinstall with `pip install .`")
        return 1
    print(f"kernels: Pythran-compiled, {load('_backprop').__name__.split('.')[-1]}")
    n_train, n_test, n_labels = 60_000, 5_000, 100_000
    X, Y = make_extreme_classification(
        n_train + n_test, 100_000, n_labels, random_state=0
    )
    print(
        f"data: {n_train:,} training samples, {X.shape[1]:,} sparse features "
        f"({X.nnz / X.shape[0]:.0f} non-zeros each), {n_labels:,} labels "
        f"({Y.nnz / Y.shape[0]:.1f} per sample, power-law frequencies)"
    )
    clf = SparseMLPClassifier(random_state=0)
    print(f"{'epoch':>5} {'loss':>8} {'samples/s':>10} {'P@1':>6} {'P@5':>6}")
    for epoch in range(1, 4):
        t0 = time.perf_counter()
        clf.partial_fit(X[:n_train], Y[:n_train])
        rate = n_train / (time.perf_counter() - t0)
        top, _ = clf.predict_topk(X[n_train:], k=5)
        p1 = precision_at_k(Y[n_train:], top, k=1)
        p5 = precision_at_k(Y[n_train:], top, k=5)
        print(f"{epoch:>5} {clf.loss_:>8.3f} {rate:>10,.0f} {p1:>6.3f} {p5:>6.3f}")
    print(
        f"active output neurons per sample: {clf.active_size_:,} of {n_labels:,} "
        f"({100 * clf.active_size_ / n_labels:.1f}%), LSH {clf.hash_params_}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
