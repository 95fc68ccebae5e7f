# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Prediction time of an exported model in onnxruntime against sparseclf's own.

Three fitted ``SparseMLPClassifier`` models, each exported with
``sparseclf.onnx.to_onnx``:

- ``dense``: ``make_classification``, 100 features, 10 classes, hidden (128,);
  ``predict_proba`` against the graph's ``label`` and ``probabilities``.
- ``text``: ``TextClassifier(hidden_layer_sizes=(128,))`` on the bundled SMS
  Spam Collection (4,000 messages), its ``classifier_`` on the hashed
  features (2**18 columns); ``predict_proba`` on the CSR features against the
  graph on the same features densified (the densifying is timed on its own).
- ``xmc``: ``make_extreme_classification``, 2**16 features, 10,000 labels,
  hidden (128,), 1 epoch; ``predict_topk(X, 5)`` against the graph exported
  with ``top_k=5``, CSR against dense input as for ``text``.

For each, a batch (``--batch`` rows) and single rows (``--calls`` calls, one
row each, after 20 warm-up calls): milliseconds per call (median of
``--repeat`` runs for the batch, median and 99th percentile for single
rows). Both run on ``--threads`` threads (sparseclf's ``n_jobs`` and BLAS,
onnxruntime's ``intra_op_num_threads``). Prints the file sizes and a Markdown
table, and the largest difference of the probabilities or scores.

Run it from outside the source tree, with the ``onnx`` extra installed::

    python benchmarks/bench_onnx.py               # about 15 s on 2 cores
    python benchmarks/bench_onnx.py --calls 100   # quicker

Timings on a machine shared with other jobs are noisy; the load average is
printed with the table.
"""

import argparse
import os
import platform
import time
import warnings

import numpy as np
import onnxruntime as ort
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

import sparseclf
from sparseclf import SparseMLPClassifier, TextClassifier
from sparseclf.datasets import load_sms_spam, make_extreme_classification
from sparseclf.onnx import to_onnx


def _ms(func, repeat):
    """Median milliseconds of ``func()`` over ``repeat`` runs (after one)."""
    func()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        func()
        times.append(time.perf_counter_ns() - t0)
    return np.median(times) / 1e6


def _single(func, rows, calls):
    """Median and 99th percentile milliseconds of ``func(row)``, a row a call."""
    for i in range(20):
        func(rows[i % len(rows)])
    times = np.empty(calls)
    for i in range(calls):
        row = rows[i % len(rows)]
        t0 = time.perf_counter_ns()
        func(row)
        times[i] = time.perf_counter_ns() - t0
    return np.median(times) / 1e6, np.percentile(times, 99) / 1e6


def _models(threads):
    """Yield ``(name, fitted classifier, test rows (CSR or dense), top_k)``."""
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = make_classification(
        n_samples=20_000,
        n_features=100,
        n_informative=30,
        n_classes=10,
        random_state=0,
    )
    X = X.astype(np.float32)
    clf = SparseMLPClassifier((128,), max_iter=5, n_jobs=threads, random_state=0)
    yield "dense", clf.fit(X[:10_000], y[:10_000]), X[10_000:], None
    docs, labels = load_sms_spam(return_X_y=True)
    docs = list(docs)
    text = TextClassifier(
        hidden_layer_sizes=(128,), n_jobs=threads, random_state=0
    ).fit(docs[:4000], labels[:4000])
    yield "text", text.classifier_, text.vectorizer_.transform(docs[4000:]), None
    X, Y = make_extreme_classification(12_000, 2**16, 10_000, random_state=0)
    clf = SparseMLPClassifier((128,), max_iter=1, n_jobs=threads, random_state=0)
    yield "xmc", clf.fit(X[:10_000], Y[:10_000]), X[10_000:], 5


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256, help="rows of a batch")
    parser.add_argument("--calls", type=int, default=300, help="single-row calls")
    parser.add_argument("--repeat", type=int, default=5, help="batch repeats")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    rows_out, notes = [], []
    with threadpool_limits(args.threads):
        for name, clf, X, top_k in _models(args.threads):
            model = to_onnx(clf, top_k=top_k).SerializeToString()
            sess = ort.InferenceSession(
                model, options, providers=["CPUExecutionProvider"]
            )
            sparse = hasattr(X, "toarray")
            Xb = X[: args.batch]
            Xd = Xb.toarray().astype(np.float32) if sparse else Xb
            rows = [X[i : i + 1] for i in range(min(len(Xd), args.calls))]
            dense_rows = [r.toarray().astype(np.float32) if sparse else r for r in rows]
            if top_k:
                ours = lambda A: clf.predict_topk(A, top_k)  # noqa: E731
            else:
                ours = clf.predict_proba
            theirs = lambda A: sess.run(None, {"X": A})  # noqa: E731
            ref = ours(Xb)
            got = theirs(Xd)
            ref = ref[1] if top_k else ref
            diff = np.abs(got[1] - ref).max()
            notes.append(
                f"{name}: {clf.n_features_in_} features, {len(clf.classes_)} "
                f"classes, ONNX file {len(model) / 2**20:.1f} MiB, "
                f"max |difference| {diff:.1e}"
            )
            densify = (
                _ms(lambda: Xb.toarray().astype(np.float32), args.repeat)
                if sparse
                else 0.0
            )
            rows_out.append(
                (
                    name,
                    f"batch of {len(Xd)}",
                    _ms(lambda: ours(Xb), args.repeat),
                    _ms(lambda: theirs(Xd), args.repeat),
                    densify,
                    None,
                    None,
                )
            )
            ours_1 = _single(ours, rows, args.calls)
            theirs_1 = _single(theirs, dense_rows, args.calls)
            densify_1 = (
                _single(lambda r: r.toarray().astype(np.float32), rows, args.calls)[0]
                if sparse
                else 0.0
            )
            rows_out.append(
                (
                    name,
                    "1 row",
                    ours_1[0],
                    theirs_1[0],
                    densify_1,
                    ours_1[1],
                    theirs_1[1],
                )
            )
    print(
        f"sparseclf {sparseclf.__version__}, onnxruntime {ort.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, {args.threads} thread(s), "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    for note in notes:
        print(note)
    print()
    print(
        "| model | input | sparseclf ms | onnxruntime ms | densify ms "
        "| sparseclf p99 ms | onnxruntime p99 ms |"
    )
    print("|---|---|--:|--:|--:|--:|--:|")
    for name, what, a, b, d, pa, pb in rows_out:
        p99 = f"{pa:.3f} | {pb:.3f}" if pa is not None else "- | -"
        print(f"| {name} | {what} | {a:.3f} | {b:.3f} | {d:.3f} | {p99} |")


if __name__ == "__main__":
    main()
