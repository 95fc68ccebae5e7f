# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Model files: size, write time, load + first prediction, and what float16 costs.

For a default TextClassifier on 20 Newsgroups and SST-2 (from ``../shared/data``;
skipped with a note where absent) and a SparseMLPClassifier with 10,000 labels
(100,000 features) on synthetic data, writes the model with ``sparseclf.save``
in each mode (full; ``optimizer_state=False``; and ``dtype="float16"``; and
``compress=True``) and prints a table: file size, write time, the time a fresh
process takes to load the file and predict one sample (after ``import
sparseclf``, timed separately), the score of the loaded model, and how its
predictions compare with the model's in memory. The load time includes importing
skops, which ``import sparseclf`` leaves to the first ``save`` or ``load``.

    python benchmarks/bench_persistence.py [--skip-text] [--skip-xmc]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import sparseclf
from sparseclf.datasets import make_extreme_classification
from sparseclf.metrics import precision_at_k

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MODES = [
    ("full", {}),
    ("optimizer_state=False", {"optimizer_state": False}),
    ("+ dtype=float16", {"optimizer_state": False, "dtype": "float16"}),
    ("+ compress=True", {"optimizer_state": False, "compress": True}),
]
# A fresh interpreter: import time, then load + the first prediction.
_PROBE = """
import sys, time
t0 = time.perf_counter()
import numpy as np, sparseclf
t1 = time.perf_counter()
model = sparseclf.load(sys.argv[1])
if isinstance(model, sparseclf.TextClassifier):
    model.predict(["a first document"])
else:
    model.predict_topk(np.zeros((1, model.n_features_in_), np.float32), k=5)
t2 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f}")
"""


def text_models():
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_text import read_20newsgroups, read_sst2

    for name, read in (("20 Newsgroups", read_20newsgroups), ("SST-2", read_sst2)):
        try:
            X, y, X_test, y_test = read(DATA)
        except OSError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        clf = sparseclf.TextClassifier(random_state=0).fit(X, y)

        def score(model, X_test=X_test, y_test=y_test):
            pred = model.predict(X_test)
            return np.mean(pred == y_test), pred, model.predict_proba(X_test)

        yield f"TextClassifier, {name}", clf, score, "accuracy"


def xmc_model():
    X, Y = make_extreme_classification(
        62_000, n_features=100_000, n_labels=10_000, random_state=0
    )
    clf = sparseclf.SparseMLPClassifier(max_iter=1, random_state=0)
    for _ in range(3):
        clf.partial_fit(X[:60_000], Y[:60_000])
    X_test, Y_test = X[60_000:], Y[60_000:]

    def score(model):
        top, scores = model.predict_topk(X_test, k=5)
        return precision_at_k(Y_test, top, k=1), top[:, 0], scores

    yield "SparseMLPClassifier, 10,000 labels", clf, score, "P@1"


def run(title, clf, score, metric, folder):
    base, base_pred, base_scores = score(clf)
    print(f"\n{title}: {metric} in memory {base:.4f}")
    print(
        f"| file | MiB | write s | import s | load + 1st prediction s | {metric} "
        "| same top-1 | max score diff |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    for name, options in MODES:
        path = os.path.join(folder, "model.skops")
        t0 = time.perf_counter()
        sparseclf.save(clf, path, **options)
        write = time.perf_counter() - t0
        probe = subprocess.run(
            [sys.executable, "-c", _PROBE, path],
            capture_output=True,
            text=True,
            check=True,
        )
        import_s, load_s = probe.stdout.split()
        value, pred, scores = score(sparseclf.load(path))
        print(
            f"| {name} | {os.path.getsize(path) / 2**20:.1f} | {write:.2f} | "
            f"{import_s} | {load_s} | {value:.4f} | {np.mean(pred == base_pred):.5f}"
            f" | {np.abs(scores - base_scores).max():.1e} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-text", action="store_true")
    parser.add_argument("--skip-xmc", action="store_true")
    args = parser.parse_args()
    models = []
    if not args.skip_text:
        models.append(text_models())
    if not args.skip_xmc:
        models.append(xmc_model())
    with tempfile.TemporaryDirectory() as folder:
        for group in models:
            for title, clf, score, metric in group:
                run(title, clf, score, metric, folder)


if __name__ == "__main__":
    main()
