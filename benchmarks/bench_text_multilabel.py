# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Multi-label text: TextClassifier on label sets beside fastText's ova and softmax.

Two multi-label tasks built from ``../shared/data``:

- ``20newsgroups`` (the "bydate" raw messages). The label set of a message
  is the newsgroups of its ``Newsgroups:`` header that are among the 20 (and
  its own folder's group). The bydate release drops the Newsgroups, Path and
  Xref headers and keeps one copy of each cross-post: no message has the
  header any more (16 training messages quote one in their body, which is
  text, not a header), so this yields no label set of two groups; the script
  prints the counts. To get a multi-label task out of the same
  messages, a third of the documents (drawn with a fixed seed, the same in
  every run) are a message followed by a second message from another group,
  labelled with both groups, as a cross-post of two topics would be; the
  others are one message. Partners come from the same split (no test
  message in training). The header lines that name groups (``Newsgroups:``,
  ``Path:``, ``Xref:``, ``Followup-To:``, with their continuation lines) are
  removed from every message before the models see it; the other headers
  (From, Subject, Organization, ...) stay, as in ``bench_text.py``.
- ``trec``: each question labelled with its coarse class and its fine class
  (``NUM`` and ``NUM:date``): 6 + 50 labels, two per question, so P@2 and R@2
  are the share of both found.

Methods, all given the same tokenized text (lowercased, the words of
TextClassifier's default ``token_pattern``, joined by spaces; tokenizing is
not timed), each fitted with seeds 0, 1, 2:

- ``TextClassifier``: sparseclf's defaults (``max_iter="auto"``), a list of
  label sets as ``y``, ``random_state`` = the seed; ranked by ``predict_topk``.
- fastText (``fasttext-numpy2``) supervised, ``loss="ova"`` (one sigmoid per
  label) and ``loss="softmax"`` (each update takes one of the line's labels at
  random), both ``wordNgrams=2``, ``thread=2``, ``epoch=10``, ``lr=0.5``,
  ``seed`` = the seed, its other defaults (dim 100, minCount 1); ranked by
  ``predict(k=3, threshold=0)``. Its fit time includes writing its input
  file. On 2 threads fastText is not repeatable whatever the seed.

Prints a Markdown table per task: precision and recall at k
(``sparseclf.metrics``), the mean over the three seeds (P@1 with its
min-max), and the median fit time.

    python benchmarks/bench_text_multilabel.py              # both (6-7 min, 2 cores)
    python benchmarks/bench_text_multilabel.py --datasets trec

Needs ``pip install fasttext-numpy2`` (the ``bench`` extra); without it the
fastText rows are skipped.
"""

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_files

from sparseclf import TextClassifier
from sparseclf.metrics import precision_at_k, recall_at_k

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
TOKEN = re.compile(TextClassifier().token_pattern)
# Header fields that name newsgroups: they would give the labels away.
LEAKING_HEADERS = ("newsgroups", "path", "xref", "followup-to")
PAIR_SHARE = 1 / 3
DATA_SEED = 0
SEEDS = (0, 1, 2)
CUTOFFS = (1, 2, 3)


def tokens(text):
    return " ".join(TOKEN.findall(text.lower()))


# -------------------------------------------------------------------- data


def split_message(message):
    """The message without its group-naming header lines, and the groups its
    ``Newsgroups:`` header names (None without one)."""
    head, sep, body = message.partition("\n\n")
    kept, named, field = [], None, None
    for line in head.split("\n"):
        if not line[:1].isspace():  # a new field; else a continuation line
            field = line.split(":", 1)[0].strip().lower()
        if field in LEAKING_HEADERS:
            if field == "newsgroups":
                named = (named or []) + line.split(":", 1)[-1].replace(",", " ").split()
            continue
        kept.append(line)
    return "\n".join(kept) + sep + body, named


def read_20newsgroups(folder, report):
    """``(texts, label sets)`` of train and test: see the module docstring."""
    rng = np.random.RandomState(DATA_SEED)
    splits = []
    for split in ("train", "test"):
        bunch = load_files(
            folder / "20newsgroups_bydate" / f"20news-bydate-{split}",
            encoding="latin-1",
        )
        groups = set(bunch.target_names)
        texts, label_sets, n_header = [], [], 0
        for message, target in zip(bunch.data, bunch.target):
            text, named = split_message(message)
            n_header += named is not None
            named = [g for g in named or () if g in groups]
            own = bunch.target_names[target]
            texts.append(text)
            label_sets.append(list(dict.fromkeys([own, *named])))
        n = len(texts)
        from_headers = sum(len(s) > 1 for s in label_sets)
        targets = np.asarray(bunch.target)
        paired_texts, paired_sets = [], []
        for i in range(n):
            text, labels = texts[i], label_sets[i]
            if rng.random_sample() < PAIR_SHARE:
                others = np.flatnonzero(targets != targets[i])
                j = others[rng.randint(len(others))]
                text = f"{text}\n\n{texts[j]}"
                labels = list(dict.fromkeys(labels + label_sets[j]))
            paired_texts.append(text)
            paired_sets.append(labels)
        multi = sum(len(s) > 1 for s in paired_sets)
        report(
            f"20newsgroups {split}: {n:,} messages, {n_header} with a Newsgroups "
            f"header, {from_headers} with >1 of the 20 groups from it; with the "
            f"pairs, {multi:,} documents ({multi / n:.1%}) have >1 label, "
            f"{np.mean([len(s) for s in paired_sets]):.2f} labels on average"
        )
        splits.append((paired_texts, paired_sets))
    return splits


def read_trec(folder, report):
    """``(texts, label sets)`` of train and test: coarse and coarse:fine."""
    splits = []
    for name in ("train_5500.label", "TREC_10.label"):
        texts, label_sets = [], []
        with open(folder / "trec" / name, encoding="ascii") as f:
            for line in f:
                label, text = line.rstrip("\n").split(" ", 1)
                label_sets.append([label.split(":")[0], label])
                texts.append(text)
        labels = {lab for s in label_sets for lab in s}
        report(f"trec {name}: {len(texts):,} questions, {len(labels)} labels, 2 each")
        splits.append((texts, label_sets))
    return splits


DATASETS = {"20newsgroups": read_20newsgroups, "trec": read_trec}


# ----------------------------------------------------------------- methods


def fit_textclassifier(X, Y, seed):
    return TextClassifier(random_state=seed).fit(X, Y)


def rank_textclassifier(model, X, k):
    return model.predict_topk(X, k=k)[0]


def fit_fasttext(X, Y, seed, loss):
    import fasttext

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "train.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(
                " ".join(f"__label__{lab}" for lab in labels) + f" {text}\n"
                for text, labels in zip(X, Y)
            )
        return fasttext.train_supervised(
            input=path,
            loss=loss,
            wordNgrams=2,
            thread=2,
            epoch=10,
            lr=0.5,
            seed=seed,
            verbose=0,
        )


def rank_fasttext(model, X, k):
    labels, _ = model.predict(list(X), k=k, threshold=0.0)
    return np.array([[lab.removeprefix("__label__") for lab in row] for row in labels])


def methods(has_fasttext):
    rows = [("TextClassifier", fit_textclassifier, rank_textclassifier)]
    if has_fasttext:
        for loss in ("ova", "softmax"):
            rows.append(
                (
                    f"fastText {loss}",
                    lambda X, Y, seed, loss=loss: fit_fasttext(X, Y, seed, loss),
                    rank_fasttext,
                )
            )
    return rows


# -------------------------------------------------------------------- runs


def run(name, splits, has_fasttext):
    (X_train, Y_train), (X_test, Y_test) = splits
    X_train = [tokens(t) for t in X_train]
    X_test = [tokens(t) for t in X_test]
    k = max(CUTOFFS)
    header = ["method", *(f"P@{c}" for c in CUTOFFS), "R@2", "R@3", "fit s"]
    lines = [
        f"### {name}: {len(X_train):,} train / {len(X_test):,} test, "
        f"{len({lab for s in Y_train for lab in s})} labels",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for label, fit, rank in methods(has_fasttext):
        scores, times = [], []
        for seed in SEEDS:
            t0 = time.perf_counter()
            model = fit(X_train, Y_train, seed)
            times.append(time.perf_counter() - t0)
            top = rank(model, X_test, k)
            scores.append(
                [precision_at_k(Y_test, top, k=c) for c in CUTOFFS]
                + [recall_at_k(Y_test, top, k=c) for c in (2, 3)]
            )
            print(
                f"  {name} {label} seed {seed}: P@1 {scores[-1][0]:.4f}, "
                f"fit {times[-1]:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        scores = np.array(scores)
        mean = scores.mean(axis=0)
        p1 = f"{mean[0]:.3f} ({scores[:, 0].min():.3f}-{scores[:, 0].max():.3f})"
        cells = [p1, *(f"{m:.3f}" for m in mean[1:]), f"{np.median(times):.1f}"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        default=",".join(DATASETS),
        help="comma-separated, of: " + ", ".join(DATASETS),
    )
    parser.add_argument("--data", type=Path, default=DATA, help="../shared/data")
    args = parser.parse_args()
    try:
        import fasttext  # noqa: F401

        has_fasttext = True
    except ImportError:
        has_fasttext = False
        print("fastText is not installed (pip install fasttext-numpy2): skipped")

    def report(line):
        print(line, flush=True)

    start = time.perf_counter()
    tables = []
    for name in args.datasets.split(","):
        splits = DATASETS[name](args.data, report)
        tables += [*run(name, splits, has_fasttext), ""]
    print()
    print("\n".join(tables))
    print(
        f"seeds {', '.join(map(str, SEEDS))}; P@1: mean (min-max); fit: median. "
        f"{time.perf_counter() - start:.0f} s, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
