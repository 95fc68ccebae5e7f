# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Prediction latency of TextClassifier, trained on SST-2: one document per
call, and a batch of 1,000 per call.

Trains ``TextClassifier(random_state=0)`` (the defaults) and times
``predict([sentence])`` on 1,000 different SST-2 test sentences, one call
each, after 100 warm-up calls. The calls of every row are interleaved (each
document goes through every row's function in turn, in rotating order), so a
machine shared with other jobs slows them alike. Every TextClassifier call goes
through the whole public path: input check, the features of its hashing
vectorizer (``sparseclf._text_predict``: the analyzer kept, one kernel call,
no scipy matrix), the network without ``validate_data`` and the arg-max. The
"scikit-learn's pieces" rows are the same prediction through the checked
public path, ``classifier_.predict(vectorizer_.transform(X))``, which the
TextClassifier rows replace; the other rows split the path into its stages
(run on their own, so they do not add up exactly). The batch rows predict
1,000 test sentences per call (15 calls, interleaved): documents per second
from the median call. Times are ``time.perf_counter_ns``; p50 and p99 in
milliseconds, printed as a Markdown table.

Run it from anywhere with the package installed::

    python benchmarks/bench_text_latency.py               # about 30 s
    python benchmarks/bench_text_latency.py --calls 200   # quicker
    python benchmarks/bench_text_latency.py --data /path/to/sst2

Timings on a machine shared with other jobs are noisy; the load average is
printed with the table.
"""

import argparse
import os
import platform
import time
from functools import partial
from pathlib import Path

import numpy as np
import sklearn
from sklearn.utils.validation import validate_data

import sparseclf
from sparseclf import TextClassifier
from sparseclf._hashing import check_documents
from sparseclf._parallel import effective_n_threads
from sparseclf._text_predict import hashed_features

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sst2"


def read_sst2(path):
    """Sentences and labels of an SST-2 TSV file (``label<TAB>text``, a header)."""
    labels, texts = [], []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            label, text = line.rstrip("\n").split("\t", 1)
            labels.append(int(label))
            texts.append(text)
    return texts, np.array(labels)


def latencies(funcs, docs, warmup=100):
    """p50 and p99 in ms of each ``func(doc)`` over ``docs``, one call each,
    the functions interleaved (in rotating order) document by document."""
    for doc in docs[:warmup]:
        for func in funcs:
            func(doc)
    times = np.empty((len(funcs), len(docs)))
    order = list(range(len(funcs)))
    for i, doc in enumerate(docs):
        order = order[1:] + order[:1]
        for j in order:
            t0 = time.perf_counter_ns()
            funcs[j](doc)
            times[j, i] = time.perf_counter_ns() - t0
    return [(np.percentile(t, 50) / 1e6, np.percentile(t, 99) / 1e6) for t in times]


def batch_rates(funcs, X, repeats=15):
    """Median ms per call of each ``func(X)`` and documents per second."""
    for func in funcs:
        func(X)
    times = np.empty((len(funcs), repeats))
    for r in range(repeats):
        for j, func in enumerate(funcs):
            t0 = time.perf_counter_ns()
            func(X)
            times[j, r] = time.perf_counter_ns() - t0
    medians = np.median(times, axis=1) / 1e6
    return [(ms, len(X) / ms * 1e3) for ms in medians]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per row")
    parser.add_argument("--data", type=Path, default=DATA, help="SST-2 folder")
    args = parser.parse_args()

    X_train, y_train = read_sst2(args.data / "train.tsv")
    X_test, y_test = read_sst2(args.data / "test.tsv")
    t0 = time.perf_counter()
    clf = TextClassifier(random_state=0).fit(X_train, y_train)
    fit_s = time.perf_counter() - t0
    accuracy = clf.score(X_test, y_test)
    n = min(args.calls, len(X_test))
    # One list per call, as a caller predicting one document would pass it.
    docs = [[text] for text in X_test[:n]]
    vec, net = clf.vectorizer_, clf.classifier_
    features = {id(doc): vec.transform(doc) for doc in docs}

    def on_features(func):
        return lambda doc: func(features[id(doc)])

    def check_features(X):
        # What SparseMLPClassifier.predict checks (and a HashingVectorizer's
        # features skip when they come through TextClassifier).
        return validate_data(
            net, X, reset=False, accept_sparse=["csr", "csc"], dtype=np.float32
        )

    def no_thread_query(doc):
        return effective_n_threads(None)

    def pieces(func):
        return lambda X: func(vec.transform(X))

    rows = [
        ("TextClassifier.predict", clf.predict),
        ("TextClassifier.predict_proba", clf.predict_proba),
        (". input check (check_documents)", check_documents),
        (". features (_text_predict.hashed_features)", partial(hashed_features, clf)),
        ("scikit-learn's pieces: classifier_.predict", pieces(net.predict)),
        (". vectorizer_.transform", vec.transform),
        (". classifier_.predict on its features", on_features(net.predict)),
        (". . its validate_data", on_features(check_features)),
        (". . effective_n_threads(None): threadpoolctl", no_thread_query),
    ]
    results = list(zip([r[0] for r in rows], latencies([r[1] for r in rows], docs)))
    batch = X_test[: min(1000, len(X_test))]
    batch_rows = [
        (f"TextClassifier.predict, {len(batch):,} strings", clf.predict),
        (f"scikit-learn's pieces, {len(batch):,} strings", pieces(net.predict)),
    ]
    batches = batch_rates([r[1] for r in batch_rows], batch)

    print(
        f"sparseclf {sparseclf.__version__}, scikit-learn {sklearn.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"Model: TextClassifier(random_state=0) on SST-2, fit {fit_s:.1f} s, "
        f"{clf.n_iter_} epoch(s), test accuracy {accuracy:.3f}; {n} calls per row, "
        "one document each, interleaved\n"
    )
    print(f"| {'call':<52} | p50 ms | p99 ms |  docs/s |")
    print(f"|{'-' * 54}|-------:|-------:|--------:|")
    for label, (p50, p99) in results:
        print(f"| {label:<52} | {p50:6.3f} | {p99:6.3f} | {1e3 / p50:7,.0f} |")
    for (label, _), (ms, rate) in zip(batch_rows, batches):
        print(f"| {label:<52} | {ms:6.2f} |        | {rate:7,.0f} |")
    print(
        "\ndocs/s: one document per call, 1 / p50; a batch (p50: the median of "
        "15 calls), its size over that median."
    )


if __name__ == "__main__":
    main()
