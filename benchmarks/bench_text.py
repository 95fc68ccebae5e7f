# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Text classification: TextClassifier beside fastText and scikit-learn models.

On SST-2, 20 Newsgroups ("bydate", raw messages) and TREC (6 coarse classes),
from ``../shared/data``, each method gets the raw training strings and is timed
from them to a fitted model; then test accuracy and the p50 latency of
predicting one string per call (300 calls, after 20 warm-up calls). Methods:

- ``TextClassifier``: sparseclf's defaults (word 1-2-grams hashed into 2**18
  features, 64 hidden units, dropout 0.6, ``max_iter="auto"``),
  ``random_state`` = the repeat's seed, ``n_jobs=None`` (all cores).
- fastText (``fasttext-numpy2``), ``wordNgrams=2``, ``thread=2``, its other
  defaults (5 epochs, lr 0.1, dim 100); and fastText tuned: epochs in
  {5, 15, 30} x lr in {0.1, 0.5, 1.0}, chosen on a 10% split held out of the
  training set (the selection fits are not in the time; the final fit on all
  the training data is). fastText reads the text tokenized as TextClassifier
  does (lowercase, its default ``token_pattern``), so both see the same words and
  bigrams; the tokenizing and the writing of its input file are in its fit time
  and its latency includes tokenizing the string.
- On tf-idf of word 1-2-grams (``TfidfVectorizer(ngram_range=(1, 2),
  min_df=2, sublinear_tf=True)``, fitted inside the timed fit):
  ``MLPClassifier(hidden_layer_sizes=(128,), early_stopping=True,
  n_iter_no_change=2, max_iter=20)`` (sklearn's adam, lr 1e-3, batch 200;
  it stops when the held-out 10% stops improving),
  ``SGDClassifier(random_state=seed)`` (hinge, defaults) and
  ``LogisticRegression(C=10, max_iter=1000)``.

Every method but MLPClassifier (minutes per fit) and LogisticRegression
(deterministic) is fitted ``--repeats`` times (default 3; seeds 0, 1, ...;
fastText on 2 threads is not repeatable anyway): the table gives the mean test
accuracy with its min-max and the median fit time; latency is the first fit's.
One fit is not enough to rank methods within half a point. Prints a Markdown
table per data set and the issue's targets, computed from numbers measured in
the same run (means and medians): accuracy >= fastText's, fit time <= 2x
fastText's, >= 20x faster than MLPClassifier at >= its accuracy. Each accuracy
difference comes with a 95% interval from a paired bootstrap over the test
documents (each document scored by its share of correct fits): how much of the
difference one test set of that size can show by chance.
SST-2's fits are also scored on its 872 dev sentences (a column and, beside
each fastText target, the difference there): a second held-out set of the
same task, to tell a test-set draw from a real gap.

    python benchmarks/bench_text.py                     # all (about 30 min)
    python benchmarks/bench_text.py --datasets trec     # one
    python benchmarks/bench_text.py --skip-mlp          # without MLPClassifier (10 min)
    python benchmarks/bench_text.py --profile sst2      # cProfile of the fit

``--save-json PATH`` also writes every table's rows, the command, the date and
the machine to ``PATH`` as JSON (the documentation's benchmark page plots them)::

    python benchmarks/bench_text.py --datasets trec --save-json text.json

Needs ``pip install fasttext-numpy2`` (the ``bench`` extra); without it the
fastText rows are skipped. Timings on a shared machine are noisy: the load
average is printed.
"""

import argparse
import cProfile
import datetime
import functools
import json
import os
import platform
import pstats
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.base import clone
from sklearn.datasets import load_files
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline

import sparseclf
from sparseclf import TextClassifier
from sparseclf._text import _auto_schedule

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
TOKEN = re.compile(TextClassifier().token_pattern)
PREVIOUS = "TextClassifier, previous defaults"
FASTTEXT_USERS = "fastText, epoch 10, lr 0.5"
FASTTEXTS = ("fastText, defaults", FASTTEXT_USERS, "fastText, tuned")
LATENCY_CALLS, WARMUP = 300, 20


# -------------------------------------------------------------------- data


def _read_sst2_tsv(folder, name):
    """Texts and int labels of one of SST-2's ``label<TAB>text`` files."""
    with open(folder / "sst2" / name, encoding="utf-8") as f:
        next(f)  # header
        rows = [line.rstrip("\n").split("\t", 1) for line in f]
    return [text for _, text in rows], np.array([int(lab) for lab, _ in rows])


def read_sst2(folder):
    return _read_sst2_tsv(folder, "train.tsv") + _read_sst2_tsv(folder, "test.tsv")


def read_sst2_dev(folder):
    """SST-2's 872 dev sentences: a second held-out set to score every fit on."""
    return _read_sst2_tsv(folder, "dev.tsv")


def read_20newsgroups(folder):
    root = folder / "20newsgroups_bydate"
    train = load_files(root / "20news-bydate-train", encoding="latin-1")
    test = load_files(root / "20news-bydate-test", encoding="latin-1")
    return train.data, train.target, test.data, test.target


def read_trec(folder):
    def read(name):
        texts, labels = [], []
        with open(folder / "trec" / name, encoding="ascii") as f:
            for line in f:
                label, text = line.rstrip("\n").split(" ", 1)
                labels.append(label.split(":")[0])  # the coarse class
                texts.append(text)
        return texts, np.array(labels)

    return read("train_5500.label") + read("TREC_10.label")


def read_sms(folder):
    """The SMS Spam Collection, split as the demo splits it (75/25, stratified)."""
    texts, labels = [], []
    with open(folder / "sms_spam" / "SMSSpamCollection", encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            label, text = line.rstrip("\n").split("\t", 1)
            labels.append(label)
            texts.append(text)
    X_train, X_test, y_train, y_test = train_test_split(
        texts, np.array(labels), test_size=0.25, stratify=labels, random_state=0
    )
    return X_train, y_train, X_test, y_test


def read_tweeteval(folder, task):
    """A TweetEval task's training and test tweets (its validation split unused)."""

    def read(split):
        with open(folder / f"tweeteval_{task}" / f"{split}_labels.txt") as f:
            labels = [int(line) for line in f if line.strip()]
        with open(
            folder / f"tweeteval_{task}" / f"{split}_text.txt", encoding="utf-8"
        ) as f:
            texts = [line.rstrip("\n") for line in f][: len(labels)]
        return texts, np.array(labels)

    return read("train") + read("test")


DATASETS = {
    "sst2": read_sst2,
    "20newsgroups": read_20newsgroups,
    "trec": read_trec,
    "sms": read_sms,
    **{
        f"tweet_{task}": functools.partial(read_tweeteval, task=task)
        for task in ("offensive", "hate", "emotion", "irony")
    },
}
# Data sets with a published dev split: every fit is scored on it too.
DEV_SETS = {"sst2": read_sst2_dev}


# ----------------------------------------------------------------- methods


def tokens(text):
    return " ".join(TOKEN.findall(text.lower()))


class FastText:
    """fastText's supervised model behind fit / predict on raw strings."""

    def __init__(self, **params):
        self.params = params

    def fit(self, texts, y):
        import fasttext

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "train.txt")
            with open(path, "w", encoding="utf-8") as f:
                f.writelines(
                    f"__label__{lab} {tokens(t)}\n" for t, lab in zip(texts, y)
                )
            self.model_ = fasttext.train_supervised(
                input=path, wordNgrams=2, thread=2, verbose=0, **self.params
            )
        self.dtype_ = np.asarray(y).dtype
        return self

    def predict(self, texts):
        labels, _ = self.model_.predict([tokens(t) for t in texts])
        return np.array([lab[0].removeprefix("__label__") for lab in labels]).astype(
            self.dtype_
        )

    def score(self, texts, y):
        return float(np.mean(self.predict(texts) == np.asarray(y)))


def tuned_fasttext(X, y, seed=0):
    """fastText with the epochs and lr that score best on a held-out 10%."""
    X_fit, X_val, y_fit, y_val = train_test_split(
        X, y, test_size=0.1, random_state=seed, stratify=y
    )
    scores = {}
    for epoch in (5, 10, 15, 30):
        for lr in (0.1, 0.5, 1.0):
            model = FastText(epoch=epoch, lr=lr).fit(X_fit, y_fit)
            scores[epoch, lr] = model.score(X_val, y_val)
    epoch, lr = max(scores, key=scores.get)
    return FastText(epoch=epoch, lr=lr), f"epoch={epoch}, lr={lr}"


def previous_defaults(n_samples):
    """TextClassifier as its defaults were before the eight-set suite: the
    token pattern ``(?u)\\b\\w+\\b|[!?]`` and the epoch budget of two
    classes (65,536 documents) whatever the number of classes."""
    epochs, rate = _auto_schedule(n_samples, "auto", "auto", n_classes=2)
    return TextClassifier(
        token_pattern=r"(?u)\b\w+\b|[!?]",
        max_iter=epochs,
        learning_rate_init=rate,
        random_state=0,
    )


def tfidf():
    return TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)


def methods(X_train, y_train, skip_mlp, has_fasttext):
    """(name, unfitted model, note, repeated) of each method, in table order.

    ``repeated``: fitted once per seed (``--repeats``); MLPClassifier (minutes per
    fit) and LogisticRegression (deterministic) are fitted once.
    """
    rows = [("TextClassifier (sparseclf)", TextClassifier(random_state=0), "", True)]
    rows.append((PREVIOUS, previous_defaults(len(X_train)), "", True))
    if has_fasttext:
        rows.append(("fastText, defaults", FastText(), "epoch=5, lr=0.1", True))
        rows.append(
            (FASTTEXT_USERS, FastText(epoch=10, lr=0.5), "epoch=10, lr=0.5", True)
        )
        model, note = tuned_fasttext(X_train, y_train)
        rows.append(("fastText, tuned", model, note, True))
    if not skip_mlp:
        mlp = MLPClassifier(
            hidden_layer_sizes=(128,),
            early_stopping=True,
            n_iter_no_change=2,
            max_iter=20,
            random_state=0,
        )
        rows.append(("tf-idf + MLPClassifier", make_pipeline(tfidf(), mlp), "", False))
    sgd = make_pipeline(tfidf(), SGDClassifier(random_state=0))
    rows.append(("tf-idf + SGDClassifier", sgd, "", True))
    logreg = LogisticRegression(C=10, max_iter=1000)
    rows.append(
        ("tf-idf + LogisticRegression", make_pipeline(tfidf(), logreg), "", False)
    )
    return rows


def seeded(model, seed):
    """A fresh unfitted copy of ``model`` for the fit with seed ``seed``."""
    if isinstance(model, FastText):
        return FastText(**model.params)  # 2 threads: not repeatable anyway
    model = clone(model)
    if isinstance(model, TextClassifier):
        return model.set_params(random_state=seed)
    return model.set_params(sgdclassifier__random_state=seed)


def latency_p50(model, texts):
    calls = [[texts[i % len(texts)]] for i in range(LATENCY_CALLS + WARMUP)]
    for doc in calls[:WARMUP]:
        model.predict(doc)
    times = []
    for doc in calls[WARMUP:]:
        t0 = time.perf_counter_ns()
        model.predict(doc)
        times.append(time.perf_counter_ns() - t0)
    return np.percentile(times, 50) / 1e6


def note_of(name, model, note):
    if isinstance(model, TextClassifier):
        return f"{model.n_iter_} epoch{'s' if model.n_iter_ > 1 else ''}"
    if name.startswith("tf-idf + MLP"):
        return f"{model[-1].n_iter_} epochs"
    return note


def run(name, data, skip_mlp, has_fasttext, repeats, dev=None):
    """Fit and score every method on one data set; print its table.

    Returns the table as a dict: the data set's sizes and one dict per row.
    """
    X_train, y_train, X_test, y_test = data
    print(
        f"\n### {name}: {len(X_train):,} training / {len(X_test):,} test documents, "
        f"{len(np.unique(y_train))} classes (load average {os.getloadavg()[0]:.1f})\n"
    )
    results, correct, correct_dev = {}, {}, {}
    for label, proto, note, repeated in methods(
        X_train, y_train, skip_mlp, has_fasttext
    ):
        times, hits, hits_dev = [], [], []
        for seed in range(repeats if repeated else 1):
            model = seeded(proto, seed) if repeated else proto
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                t0 = time.perf_counter()
                model.fit(X_train, y_train)
                times.append(time.perf_counter() - t0)
            hits.append(model.predict(X_test) == y_test)
            if dev is not None:
                hits_dev.append(model.predict(dev[0]) == dev[1])
            if seed == 0:
                p50 = latency_p50(model, X_test)
                note = note_of(label, model, note)
        hits = np.array(hits)  # (fits, test documents)
        accuracies = hits.mean(axis=1)
        results[label] = (
            float(accuracies.mean()),
            float(np.median(times)),
            p50,
            note,
            (accuracies.min(), accuracies.max(), len(accuracies)),
        )
        correct[label] = hits.mean(axis=0)  # each document's share of fits
        if dev is not None:
            correct_dev[label] = np.mean(hits_dev, axis=0)
    dev_head = " dev accuracy (mean) |" if dev is not None else ""
    print(
        "| method | accuracy (mean) | min-max, fits |" + dev_head + " fit s (median) "
        "| predict p50 ms | notes |"
    )
    print("|---|--:|--:|" + ("--:|" if dev is not None else "") + "--:|--:|---|")
    for label, (accuracy, fit_s, p50, note, (lo, hi, k)) in results.items():
        spread = f"{lo:.4f}-{hi:.4f}, {k}" if k > 1 else "1 fit"
        dev_cell = f" {correct_dev[label].mean():.4f} |" if dev is not None else ""
        print(
            f"| {label} | {accuracy:.4f} | {spread} |{dev_cell} {fit_s:.3g} "
            f"| {p50:.3f} | {note} |"
        )
    print()
    targets(results, correct, correct_dev)
    rows = []
    for label, (accuracy, fit_s, p50, note, (lo, hi, k)) in results.items():
        dev_acc = float(correct_dev[label].mean()) if dev is not None else None
        rows.append(
            dict(
                method=label,
                accuracy=accuracy,
                accuracy_min=float(lo),
                accuracy_max=float(hi),
                fits=k,
                dev_accuracy=dev_acc,
                fit_s=fit_s,
                predict_p50_ms=float(p50),
                note=note,
            )
        )
    return dict(
        n_train=len(X_train),
        n_test=len(X_test),
        n_classes=int(len(np.unique(y_train))),
        rows=rows,
    )


def paired_interval(a, b, n_boot=2000, seed=0):
    """95% interval of ``mean(a - b)``, a paired bootstrap over the documents.

    ``a`` and ``b`` hold each test document's share of correct fits for two
    methods: the interval says how far the test set's sampling alone moves the
    difference of their accuracies.
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = [d[rng.integers(0, d.size, d.size)].mean() for _ in range(n_boot)]
    return np.percentile(means, [2.5, 97.5])


def targets(results, correct, correct_dev=None):
    ours = "TextClassifier (sparseclf)"
    ours_acc, ours_s = results[ours][:2]

    def gap(label, acc):
        lo, hi = paired_interval(correct[ours], correct[label])
        return f"accuracy {ours_acc - acc:+.4f} (95% interval {lo:+.4f} to {hi:+.4f})"

    def dev_gap(label):
        # The targets are judged on the test set; the dev set is a second look.
        if not correct_dev:
            return ""
        a, b = correct_dev[ours], correct_dev[label]
        lo, hi = paired_interval(a, b)
        return (
            f"; on the dev set {a.mean() - b.mean():+.4f} "
            f"(95% interval {lo:+.4f} to {hi:+.4f})"
        )

    for label in FASTTEXTS:
        if label in results:
            acc, fit_s = results[label][:2]
            print(
                f"- vs {label}: {gap(label, acc)} "
                f"({'met' if ours_acc >= acc else 'MISSED'}: >= fastText), fit "
                f"time x{ours_s / fit_s:.2f} "
                f"({'met' if ours_s <= fit_s else 'MISSED'}: <= 1x)"
                f"{dev_gap(label)}"
            )
    if PREVIOUS in results:
        acc = results[PREVIOUS][0]
        print(
            f"- vs {PREVIOUS}: {gap(PREVIOUS, acc)} "
            f"({'met' if ours_acc >= acc - 0.005 else 'MISSED'}: >= -0.005)"
        )
    label = "tf-idf + MLPClassifier"
    if label in results:
        acc, fit_s = results[label][:2]
        met = fit_s >= 20 * ours_s and ours_acc >= acc
        print(
            f"- vs {label}: {fit_s / ours_s:.1f}x faster, {gap(label, acc)} "
            f"({'met' if met else 'MISSED'}: >= 20x faster at >= its accuracy)"
        )


def summary(tables):
    """One row per data set: TextClassifier beside the best fastText (of its
    rows, by mean accuracy), the previous defaults and LogisticRegression; and
    the means over the data sets."""
    print(
        "\n### Summary\n\n| data set | TextClassifier | fit s | best fastText "
        "| fit s | which | previous defaults | tf-idf + LogisticRegression |"
    )
    print("|---|--:|--:|--:|--:|---|--:|--:|")

    def cell(x, fmt=".4f"):
        return "--" if x is None else format(x, fmt)

    columns = []
    for name, table in tables.items():
        rows = {row["method"]: row for row in table["rows"]}
        ours = rows["TextClassifier (sparseclf)"]
        fasttexts = [rows[label] for label in FASTTEXTS if label in rows]
        best = max(fasttexts, key=lambda r: r["accuracy"]) if fasttexts else None
        prev = rows.get(PREVIOUS)
        logreg = rows.get("tf-idf + LogisticRegression")
        columns.append(
            [
                ours["accuracy"],
                ours["fit_s"],
                best and best["accuracy"],
                best and best["fit_s"],
                prev and prev["accuracy"],
                logreg and logreg["accuracy"],
            ]
        )

        which = best["method"].removeprefix("fastText, ") if best else "--"
        a, t, b, bt, p, lr = columns[-1]
        print(
            f"| {name} | {cell(a)} | {cell(t, '.2f')} | {cell(b)} | {cell(bt, '.2f')} "
            f"| {which} | {cell(p)} | {cell(lr)} |"
        )
    means = [
        None if any(c[i] is None for c in columns) else np.mean([c[i] for c in columns])
        for i in range(6)
    ]
    a, t, b, bt, p, lr = means
    print(
        f"| mean | {cell(a)} | {cell(t, '.2f')} | {cell(b)} | {cell(bt, '.2f')} | "
        f"| {cell(p)} | {cell(lr)} |"
    )
    if b is not None:
        print(
            f"\n- mean accuracy vs the best fastText: {a - b:+.4f} "
            f"({'met' if a - b >= 0.01 else 'MISSED'}: >= +0.01)"
        )


def profile(data, n=25):
    X_train, y_train = data[:2]
    profiler = cProfile.Profile()
    profiler.enable()
    TextClassifier(random_state=0).fit(X_train, y_train)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(n)


def machine():
    """The CPU, the packages' versions and the load average, as a dict."""
    from importlib import metadata

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            names = (ln.split(":", 1)[1] for ln in f if ln.startswith("model name"))
            cpu = next(names, cpu).strip()
    except OSError:
        pass
    versions = {}
    for pkg in ("sparseclf", "scikit-learn", "numpy", "scipy", "fasttext-numpy2"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return dict(
        cpu=cpu,
        cpu_count=os.cpu_count(),
        python=platform.python_version(),
        versions=versions,
        load_average=[round(x, 2) for x in os.getloadavg()],
    )


def git_commit():
    """The commit of the checkout holding this script (None outside git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="shared/data folder")
    parser.add_argument(
        "--datasets", default=",".join(DATASETS), help="comma-separated subset"
    )
    parser.add_argument("--skip-mlp", action="store_true")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="fits (seeds 0, 1, ...) of each method but MLPClassifier and "
        "LogisticRegression; accuracies are averaged, times are medians",
    )
    parser.add_argument(
        "--profile", choices=DATASETS, help="profile TextClassifier.fit; no table"
    )
    parser.add_argument(
        "--save-json",
        metavar="PATH",
        help="also write the tables' rows, command, date and machine as JSON",
    )
    args = parser.parse_args()
    if args.profile:
        profile(DATASETS[args.profile](args.data))
        return
    try:
        import fasttext  # noqa: F401

        has_fasttext = True
    except ImportError:
        has_fasttext = False
        print("fastText is not installed (pip install fasttext-numpy2): skipped")
    print(
        f"sparseclf {sparseclf.__version__}, scikit-learn {sklearn.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    record = dict(
        benchmark="bench_text",
        command=" ".join(
            ["python", f"benchmarks/{os.path.basename(sys.argv[0])}", *sys.argv[1:]]
        ),
        date=datetime.date.today().isoformat(),
        commit=git_commit(),
        machine=machine(),
        repeats=args.repeats,
        datasets={},
    )
    start = time.perf_counter()
    for name in args.datasets.split(","):
        dev = DEV_SETS[name](args.data) if name in DEV_SETS else None
        record["datasets"][name] = run(
            name,
            DATASETS[name](args.data),
            args.skip_mlp,
            has_fasttext,
            args.repeats,
            dev,
        )
    total = time.perf_counter() - start
    summary(record["datasets"])
    print(f"\ntotal {total:.0f} s, load average {os.getloadavg()[0]:.1f}")
    if args.save_json:
        record["total_wall_s"] = round(total, 1)
        record["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        path = Path(args.save_json)
        path.parent.mkdir(parents=True, exist_ok=True)
        # NumPy scalars as Python numbers.
        text = json.dumps(record, indent=1, default=lambda x: x.item())
        path.write_text(text + "\n", encoding="utf-8")
        print(f"Saved the results to {path}.")


if __name__ == "__main__":
    main()
