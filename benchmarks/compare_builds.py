# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Are two builds' fits the same? Save one build's results, then compare.

Fits with fixed seeds: a 10^4-label sparse fit with table rebuilds, a
multi-label SimHash fit with two hidden layers, dropout and early stopping, a
dense ``partial_fit`` and a TREC ``TextClassifier`` fit (read from
``../shared/data/trec``). Saves their ``predict_proba``, top-k labels and scores
(exact and LSH), loss curves and first-layer weights; ``compare`` says, array by
array, whether two saved runs are identical to the bit::

    python benchmarks/compare_builds.py save before.npz   # with one build
    python benchmarks/compare_builds.py save after.npz    # with the other
    python benchmarks/compare_builds.py compare before.npz after.npz

Run it from outside the source tree, so that the installed build is imported.
"""

import argparse
import warnings
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "trec"


def read_trec(path):
    lines = path.read_text(encoding="latin-1").splitlines()
    return [line.split(" ", 1)[1] for line in lines], [
        line.split(":")[0] for line in lines
    ]


def fits(data):
    from sparseclf import SparseMLPClassifier, TextClassifier
    from sparseclf.datasets import make_extreme_classification

    out = {}
    X, Y = make_extreme_classification(22_000, 20_000, 10_000, random_state=0)
    clf = SparseMLPClassifier(max_iter=2, random_state=0).fit(X[:20_000], Y[:20_000])
    X_test = X[20_000:]
    out["xmc_proba"] = clf.predict_proba(X_test[:300])
    out["xmc_top"], out["xmc_scores"] = clf.predict_topk(X_test, 5)
    out["xmc_lsh"], out["xmc_lsh_scores"] = clf.predict_topk(X_test, 5, exact=False)
    out["xmc_loss"] = np.array(clf.loss_curve_)
    out["xmc_W1"] = clf.coefs_[0]
    out["xmc_rebuilds"] = clf.n_rebuilds_
    X2, Y2 = make_extreme_classification(
        6000, 3000, 2000, nnz_per_sample=30, random_state=1
    )
    c2 = SparseMLPClassifier(
        hidden_layer_sizes=(48, 32),
        dropout=0.2,
        output_sparsity=0.3,
        early_stopping=True,
        n_iter_no_change=2,
        max_iter=8,
        hash_family="simhash",
        learning_rate_init=3e-3,
        random_state=2,
    ).fit(X2[:5000], Y2[:5000])
    out["multilabel_proba"] = c2.predict_proba(X2[5000:5300])
    out["multilabel_pred"] = c2.predict(X2[5000:]).toarray()
    out["multilabel_validation"] = np.array(c2.validation_scores_)
    out["multilabel_loss"] = np.array(c2.loss_curve_)
    y3 = np.asarray(Y2[:5000].argmax(axis=1)).ravel() % 100
    c3 = SparseMLPClassifier(hidden_layer_sizes=(32,), random_state=3, batch_size=128)
    for _ in range(3):
        c3.partial_fit(X2[:5000], y3, classes=np.arange(100))
    out["dense_proba"] = c3.predict_proba(X2[5000:5300])
    docs, labels = read_trec(data / "train_5500.label")
    test_docs, _ = read_trec(data / "TREC_10.label")
    text = TextClassifier(random_state=0).fit(docs, labels)
    out["trec_proba"] = text.predict_proba(test_docs)
    out["trec_loss"] = np.array(text.loss_curve_)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    save = sub.add_parser("save")
    save.add_argument("path")
    save.add_argument("--data", type=Path, default=DATA, help="the TREC folder")
    compare = sub.add_parser("compare")
    compare.add_argument("a")
    compare.add_argument("b")
    args = parser.parse_args()
    if args.command == "save":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the short fits do not converge
            np.savez(args.path, **fits(args.data))
        print(f"saved {args.path}")
        return
    a, b = np.load(args.a), np.load(args.b)
    same = 0
    for name in a.files:
        x, y = a[name], b[name]
        if x.shape == y.shape and np.array_equal(x, y):
            same += 1
            print(f"{name:24s} identical")
        elif x.shape == y.shape and x.dtype.kind == "f":
            print(f"{name:24s} DIFFERENT, max abs diff {np.max(np.abs(x - y)):.3g}")
        else:
            print(f"{name:24s} DIFFERENT")
    print(f"{same} of {len(a.files)} identical")


if __name__ == "__main__":
    main()
