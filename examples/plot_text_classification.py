"""
=================================================
Topic classification of 20 Newsgroups messages
=================================================

:class:`~sparseclf.TextClassifier` takes raw strings: it hashes word unigrams
and bigrams into 2**18 features and trains a sparse MLP on them. Here it learns
the 20 topics of the 20 Newsgroups "bydate" split (11,314 training and 7,532
test messages, headers included) beside two scikit-learn models on tf-idf
features of the same n-grams: a linear :class:`~sklearn.linear_model.SGDClassifier`
and a dense :class:`~sklearn.neural_network.MLPClassifier`.

To keep this example under a minute on 2 cores, the MLPClassifier gets a smaller
problem than the others: the 20,000 most frequent n-grams only, 64 hidden units
and 2 epochs (it does not converge; more features and epochs raise its accuracy
and multiply its time, see ``benchmarks/bench_text.py`` for a full comparison).
The data are read from ``../shared/data/20newsgroups_bydate`` beside the project
folder; no download happens.
"""

# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Loading the messages
# --------------------
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
from sklearn.datasets import load_files
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline

from sparseclf import TextClassifier

try:
    ROOT = Path(__file__).resolve().parents[1]
except NameError:  # run by sphinx-gallery from the examples folder
    ROOT = Path.cwd().parent
DATA = ROOT.parent / "shared" / "data" / "20newsgroups_bydate"
if not DATA.is_dir():
    raise SystemExit(
        f"20 Newsgroups not found at {DATA}: this example reads the copy in "
        "shared/data beside the project folder (no download)."
    )
train = load_files(DATA / "20news-bydate-train", encoding="latin-1")
test = load_files(DATA / "20news-bydate-test", encoding="latin-1")
print(f"{len(train.data):,} training, {len(test.data):,} test messages")

# %%
# Training the three models
# -------------------------
# Each model is timed from raw strings to a fitted model, so the tf-idf fits
# count in the scikit-learn models' times as the hashing counts in
# TextClassifier's.
models = {
    "TextClassifier": TextClassifier(random_state=0),
    "tf-idf + SGDClassifier": make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        SGDClassifier(random_state=0),
    ),
    "tf-idf (20k) + MLPClassifier": make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), max_features=20_000, sublinear_tf=True),
        MLPClassifier(hidden_layer_sizes=(64,), max_iter=2, random_state=0),
    ),
}
results = {}
for name, model in models.items():
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 2 MLP epochs
        model.fit(train.data, train.target)
    fit_s = time.perf_counter() - t0
    accuracy = model.score(test.data, test.target)
    results[name] = (fit_s, accuracy)
    print(f"{name:<30} accuracy {accuracy:.3f}  fit {fit_s:5.1f} s")

# %%
# Accuracy against training time
# ------------------------------
# Further up is more accurate, further left is faster to train.
fig, ax = plt.subplots(figsize=(6, 4))
for name, (fit_s, accuracy) in results.items():
    ax.scatter(fit_s, accuracy, s=60)
    ax.annotate(name, (fit_s, accuracy), textcoords="offset points", xytext=(6, 4))
ax.set(
    xscale="log",
    xlabel="training time (s, log scale)",
    ylabel="test accuracy",
    title="20 Newsgroups, 20 topics",
)
ax.margins(x=0.6, y=0.15)
fig.tight_layout()
plt.show()
