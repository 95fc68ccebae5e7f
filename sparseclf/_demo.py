# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""``python -m sparseclf demo``: spam filtering, then 100,000-label classification."""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sparseclf._cli_data import CLIError

# (SMS messages used, their epochs, latency calls, XMC train, XMC test, labels,
# features, epochs)
_FULL = (None, "auto", 1000, 60_000, 2_000, 100_000, 100_000, 3)
# --quick, for the test suite: a second or two.
_QUICK = (1500, 5, 50, 2_000, 500, 2_000, 5_000, 1)


def run_demo(quick=False):
    """Run the demo and print its report.

    Parameters
    ----------
    quick : bool, default=False
        Small sizes (a few seconds), for tests.

    Returns
    -------
    status : int
        0.

    Raises
    ------
    CLIError
        If the kernels are not the compiled ones.
    """
    from sparseclf._kernels import build_info

    build = build_info()
    if not build["compiled"]:
        # A pure-Python build runs, but hundreds of times slower: the numbers
        # below would mislead.
        raise CLIError("the kernels are not compiled; reinstall with `pip install .`")
    print(f"sparseclf demo (kernels: Pythran-compiled, {build['variant']})")
    n_sms, sms_epochs, n_calls, n_train, n_test, n_labels, n_features, epochs = (
        _QUICK if quick else _FULL
    )
    start = time.perf_counter()
    _spam(n_sms, sms_epochs, n_calls)
    _extreme(n_train, n_test, n_labels, n_features, epochs)
    print(f"\ndemo done in {time.perf_counter() - start:.0f} s")
    return 0


def _spam(n_sms, epochs, n_calls):
    from sklearn.model_selection import train_test_split

    from sparseclf import TextClassifier
    from sparseclf.datasets import load_sms_spam

    texts, labels = load_sms_spam(return_X_y=True)
    texts, labels = texts[:n_sms], labels[:n_sms]
    X_train, X_test, y_train, y_test = train_test_split(
        texts, labels, test_size=0.25, stratify=labels, random_state=0
    )
    clf = TextClassifier(max_iter=epochs, random_state=0)
    print(
        f"\n1. Spam filter: TextClassifier on the SMS Spam Collection (shipped, "
        f"CC BY 4.0): {len(X_train):,} training and {len(X_test):,} test messages, "
        f"word 1-2-grams hashed into {clf.n_features:,} features, "
        f"{clf.hidden_layer_sizes[0]} hidden units"
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        # --quick's few epochs do not converge, on purpose.
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    fit_s = time.perf_counter() - t0
    accuracy = clf.score(X_test, y_test)
    majority = np.mean(np.asarray(y_test) == "ham")
    print(
        f"   trained in {fit_s:.1f} s ({clf.n_iter_} epochs); test accuracy "
        f"{accuracy:.4f} (always 'ham': {majority:.4f})"
    )
    # One message per call, as a service filtering messages as they come.
    docs = [[X_test[i % len(X_test)]] for i in range(n_calls)]
    for doc in docs[:20]:
        clf.predict(doc)
    times = np.empty(n_calls)
    for i, doc in enumerate(docs):
        t0 = time.perf_counter_ns()
        clf.predict(doc)
        times[i] = time.perf_counter_ns() - t0
    p50, p99 = np.percentile(times, [50, 99]) / 1e6
    print(
        f"   predict one message: p50 {p50:.3f} ms, p99 {p99:.3f} ms over "
        f"{n_calls:,} calls"
    )
    for text in ["Are we still on for lunch tomorrow?", "WINNER! Claim your prize"]:
        print(f"   {text!r} -> {clf.predict([text])[0]}")


def _extreme(n_train, n_test, n_labels, n_features, epochs):
    from sparseclf import SparseMLPClassifier
    from sparseclf.datasets import make_extreme_classification
    from sparseclf.metrics import precision_at_k

    t0 = time.perf_counter()
    X, Y = make_extreme_classification(
        n_train + n_test, n_features, n_labels, random_state=0
    )
    print(
        f"\n2. Extreme classification: SparseMLPClassifier on synthetic data "
        f"({time.perf_counter() - t0:.1f} s to make): {n_train:,} training samples, "
        f"{n_features:,} sparse features, {n_labels:,} labels "
        f"({Y.nnz / Y.shape[0]:.1f} per sample, power-law frequencies)"
    )
    # 1e-2 rather than the default 1e-3: three epochs reach a much higher P@1
    # on these data (benchmarks/README.md).
    clf = SparseMLPClassifier(learning_rate_init=1e-2, random_state=0)
    print(f"   {'epoch':>5} {'loss':>8} {'samples/s':>10} {'P@1':>6} {'P@5':>6}")
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        clf.partial_fit(X[:n_train], Y[:n_train])
        rate = n_train / (time.perf_counter() - t0)
        top, _ = clf.predict_topk(X[n_train:], k=5)
        p1 = precision_at_k(Y[n_train:], top, k=1)
        p5 = precision_at_k(Y[n_train:], top, k=5)
        print(f"   {epoch:>5} {clf.loss_:>8.3f} {rate:>10,.0f} {p1:>6.3f} {p5:>6.3f}")
    print(
        f"   active output neurons per sample: {clf.active_size_:,} of "
        f"{n_labels:,} ({100 * clf.active_size_ / n_labels:.1f}%)"
    )
