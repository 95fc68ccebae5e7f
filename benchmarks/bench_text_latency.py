# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Single-document prediction latency of TextClassifier, trained on SST-2.

Trains ``TextClassifier(random_state=0)`` (the defaults: 1 epoch on SST-2's
67,349 training phrases) and times ``predict([sentence])`` on 1,000 different
SST-2 test sentences, one call each, after 100 warm-up calls. Every call goes
through the whole public path: input check, hashing (rows normalised by
scikit-learn's ``inplace_csr_row_normalize_l2``, without ``normalize``'s
``check_array``), the network (its ``validate_data`` skipped for a
HashingVectorizer's features) and the arg-max. The other rows split that path
into its stages (run on their own, so they do not add up exactly), time the
checks it skips, and show the effect of ``n_jobs=1``; they use public
methods and module functions only, never the estimators' private attributes,
so the network's own time is estimated as ``classifier_.predict`` less its
``validate_data``. Times are ``time.perf_counter_ns`` per call; p50 and p99 in
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
from pathlib import Path

import numpy as np
import sklearn
from sklearn import config_context
from sklearn.utils.validation import validate_data

import sparseclf
from sparseclf import TextClassifier
from sparseclf._hashing import check_documents
from sparseclf._parallel import effective_n_threads

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


def latency(func, docs, warmup=100):
    """p50 and p99 in ms of ``func(doc)`` over ``docs``, one call each."""
    for doc in docs[:warmup]:
        func(doc)
    times = np.empty(len(docs))
    for i, doc in enumerate(docs):
        t0 = time.perf_counter_ns()
        func(doc)
        times[i] = time.perf_counter_ns() - t0
    return np.percentile(times, 50) / 1e6, np.percentile(times, 99) / 1e6


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

    # (label, function of one document, run inside TextClassifier's prediction
    # config: assume_finite=True, skip_parameter_validation=True)
    rows = [
        ("TextClassifier.predict (n_jobs=None, the default)", clf.predict, False),
        ("TextClassifier.predict_proba", clf.predict_proba, False),
        (". input check (check_documents)", check_documents, False),
        (". vectorizer_.transform (normalize's checks)", vec.transform, True),
        (". . the same, default sklearn config", vec.transform, False),
        (". classifier_.predict, a direct call", on_features(net.predict), True),
        (
            ". . its validate_data, skipped for hashed text",
            on_features(check_features),
            True,
        ),
        (". . effective_n_threads(None): threadpoolctl", no_thread_query, True),
    ]
    results = []
    for label, func, in_config in rows:
        with config_context(
            assume_finite=in_config, skip_parameter_validation=in_config
        ):
            results.append((label, latency(func, docs)))
    # The same model, its kernels told to use one thread: no threadpoolctl query.
    net.set_params(n_jobs=1)
    for label, func in [
        ("TextClassifier.predict, classifier_.n_jobs=1", clf.predict),
        ("TextClassifier.predict_proba, classifier_.n_jobs=1", clf.predict_proba),
    ]:
        results.append((label, latency(func, docs)))
    net.set_params(n_jobs=None)

    print(
        f"sparseclf {sparseclf.__version__}, scikit-learn {sklearn.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"Model: TextClassifier(random_state=0) on SST-2, fit {fit_s:.1f} s, "
        f"{clf.n_iter_} epoch(s), test accuracy {accuracy:.3f}; {n} calls per row, "
        "one document each\n"
    )
    print(f"| {'call':<52} | p50 ms | p99 ms |")
    print(f"|{'-' * 54}|-------:|-------:|")
    for label, (p50, p99) in results:
        print(f"| {label:<52} | {p50:6.3f} | {p99:6.3f} |")
    times = dict(results)
    direct = times[". classifier_.predict, a direct call"][0]
    checks = times[". . its validate_data, skipped for hashed text"][0]
    print(f"\nThe network and its top-1 alone: about {direct - checks:.3f} ms (p50).")


if __name__ == "__main__":
    main()
