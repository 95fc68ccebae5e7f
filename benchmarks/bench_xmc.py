# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Extreme multi-label classification: sparseclf against a dense PyTorch MLP.

Same data, same epochs, same model shape (input -> 128 ReLU -> n_labels), batch
256, Adam with learning rate 1e-3, for every method. Per method the table gives:

* training samples/s: ``n_train * epochs / train time``; train time is the wall
  time of training only (``fit`` for sparseclf, the epoch loop for torch, with
  per-epoch shuffling in both); data generation or loading is excluded;
* P@1, P@5 (``sparseclf.metrics.precision_at_k``) on the test set after training,
  the number of distinct labels among the test set's top-1 predictions (a model
  that ranks the same few labels first for everyone shows up there), and the
  wall time of predicting the top 5 labels of the whole test set; a reference
  row scores the 5 most frequent training labels, predicted for every sample;
* peak RSS of the process that ran the method (each method runs in its own
  ``spawn`` child: the high-water mark ``VmHWM`` of ``/proc/self/status``, read
  at the end; ``ru_maxrss`` elsewhere), and its RSS just before training (imports
  and data), so that the training increment can be read off.

Configurations (``--config``, default all):

* ``xmc-1k``, ``xmc-10k``, ``xmc-100k``: ``make_extreme_classification`` with
  10^3 / 10^4 / 10^5 labels, 100,000 features, 50 tokens per sample (about 41
  distinct features), 3 labels per sample on average; 100,000 training and
  10,000 test samples, 3 epochs (10^5 labels: 2 epochs).
* ``amazon670k``: the shape of SLIDE's Amazon-670K on synthetic data (135,909
  features, 75 tokens per sample, 670,091 labels, 5 labels per sample); 60,000
  training samples, 1 epoch, 2,000 test samples scored exactly and with
  ``predict_topk(exact=False)``. sparseclf only; the dense torch MLP is timed on
  a few batches (no accuracy).
* ``delicious``, ``bibtex``: the MULAN data sets under ``/work/shared/data``
  (files in the Extreme Classification Repository text format), with omikuji
  (default hyper-parameters, a Parabel / Bonsai-style tree model) as a third
  method; 20 epochs (Delicious) and 30 (Bibtex) for both neural models.
* ``words-10k``, ``words-100k``: predict a held-out word of a real sentence
  from the rest of it (``benchmarks/word_task.py``: 20 Newsgroups, SST-2, TREC,
  TweetEval, SMS; hashed unigrams + bigrams, 2**18 features, the gap marked),
  over the 10^4 most frequent training words / all 97,049 training words (the
  corpora have only 49,498 words seen twice or more); all 235,730 / 236,321
  training samples, 10,000 test samples of unseen sentences; 5 / 3 epochs
  with P@1 and P@5 after every epoch. The dense torch MLP is time-boxed
  (``torch_time_s``: it stops after the batch that crosses it and is scored
  there, with per-epoch scores up to then).

Where sparseclf's output layer is sampled (over 1,000 labels: every
configuration but ``delicious`` and ``bibtex``), ``sparseclf`` (the defaults)
is followed by the same estimator with the other ``output_sampler``:
``sparseclf-withlsh`` (``output_sampler="lsh"``: LSH candidates, tables
rebuilt while training) or ``sparseclf-nolsh`` (``"frequency"``: the labels,
frequency-drawn negatives and hubs, no table built while training), with the
difference of their P@1 and its 95% paired-bootstrap interval over the test
samples. Either can also be named in ``--methods``. After a ``"frequency"``
fit, ``predict_topk(exact=False)`` builds the tables at its first call: that
build is timed apart, on one row.

The dense torch MLP: ``nn.EmbeddingBag(d, 128, mode="sum")`` fed with the CSR
values as ``per_sample_weights``, plus a bias, ReLU, ``nn.Linear(128,
n_labels)``; full softmax cross-entropy against soft targets (a sample's target
mass spread evenly over its labels, as sparseclf trains); weights initialised
Glorot-uniform as in sparseclf (the output layer's bound at least
``1 / sqrt(128)``, as sparseclf's since 466024a). Four optimiser set-ups are
timed on a few batches and the fastest trains: ``Adam(fused=True)`` or
``Adam(foreach=True)`` over all parameters (dense embedding gradient), or
``SparseAdam`` for a ``sparse=True`` embedding plus fused / foreach ``Adam``
for the rest (lazy Adam on the embedding, as sparseclf does).

Run it from outside the source tree, with sparseclf, torch (a CPU build is
enough) and, optionally, omikuji installed::

    python benchmarks/bench_xmc.py                   # everything, ~35 min, 2 cores
    python benchmarks/bench_xmc.py --quick           # small sizes, ~5 min
    python benchmarks/bench_xmc.py --config xmc-10k --config bibtex
    python benchmarks/bench_xmc.py --config words-10k --config words-100k
    python benchmarks/bench_xmc.py --threads 4 --data-dir /path/to/data
    python benchmarks/bench_xmc.py --save-json benchmarks/results/xmc.json

``--save-json PATH`` also writes the tables' rows, the command, the date and the
machine to ``PATH`` as JSON (the documentation's benchmark page plots them).

``--model-seed N`` sets sparseclf's ``random_state`` (weights, negatives,
hash functions, shuffles; the data keep seed 0), to see how much a P@1
moves with the seed alone.

``--threads`` sets sparseclf's ``n_jobs`` and ``torch.set_num_threads``. Timings on
a machine shared with other jobs are noisy; the load average is printed.
"""

import argparse
import contextlib
import datetime
import io
import json
import os
import platform
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from multiprocessing import get_context

import numpy as np
import scipy.sparse as sp

HIDDEN = 128
BATCH = 256
LR = 1e-3
SEED = 0
TOPK = 5
DEFAULT_DATA_DIR = "/work/shared/data"
TORCH_VARIANTS = (
    "adam-fused",
    "adam-foreach",
    "sparseadam+adam-fused",
    "sparseadam+adam-foreach",
)
# Fixed torch set-up for the amazon670k timing: lazy Adam on the 135,909 x 128
# embedding, fused Adam on the rest (at 10^5 labels within noise of the fastest).
AMAZON_TORCH_VARIANT = "sparseadam+adam-fused"

CONFIGS = {
    "xmc-1k": dict(
        kind="synthetic",
        n_features=100_000,
        n_labels=1_000,
        nnz=50,
        labels_per_sample=3.0,
        n_train=100_000,
        n_test=10_000,
        epochs=3,
        probe_batches=15,
    ),
    "xmc-10k": dict(
        kind="synthetic",
        n_features=100_000,
        n_labels=10_000,
        nnz=50,
        labels_per_sample=3.0,
        n_train=100_000,
        n_test=10_000,
        epochs=3,
        probe_batches=15,
    ),
    "xmc-100k": dict(
        kind="synthetic",
        n_features=100_000,
        n_labels=100_000,
        nnz=50,
        labels_per_sample=3.0,
        n_train=100_000,
        n_test=10_000,
        epochs=2,
        probe_batches=8,
    ),
    "amazon670k": dict(
        kind="synthetic",
        n_features=135_909,
        n_labels=670_091,
        nnz=75,
        labels_per_sample=5.0,
        n_train=60_000,
        n_test=2_000,
        epochs=1,
        torch_batches=12,
    ),
    "delicious": dict(
        kind="xmc-file",
        train="mulan_delicious/delicious_train_xmc.txt",
        test="mulan_delicious/delicious_test_xmc.txt",
        epochs=20,
        probe_batches=15,
        omikuji=True,
    ),
    "bibtex": dict(
        kind="xmc-file",
        train="mulan_bibtex/bibtex_train_xmc.txt",
        test="mulan_bibtex/bibtex_test_xmc.txt",
        epochs=30,
        probe_batches=15,
        omikuji=True,
    ),
    "words-10k": dict(
        kind="words",
        n_words=10_000,
        n_train=None,
        n_test=10_000,
        epochs=5,
        probe_batches=8,
        curve=True,
        torch_time_s=120,
    ),
    "words-100k": dict(
        kind="words",
        n_words=100_000,
        n_train=None,
        n_test=10_000,
        epochs=3,
        probe_batches=3,
        curve=True,
        torch_time_s=80,
    ),
}
QUICK = {
    "xmc-1k": dict(n_train=5_000, n_test=1_000, epochs=1, probe_batches=4),
    "xmc-10k": dict(n_train=5_000, n_test=1_000, epochs=1, probe_batches=4),
    "xmc-100k": dict(n_train=5_000, n_test=1_000, epochs=1, probe_batches=3),
    "amazon670k": dict(n_train=3_000, n_test=300, torch_batches=1),
    "delicious": dict(epochs=2, probe_batches=4),
    "bibtex": dict(epochs=2, probe_batches=4),
    "words-10k": dict(n_train=20_000, n_test=2_000, epochs=2, torch_time_s=10),
    "words-100k": dict(n_train=20_000, n_test=2_000, epochs=2, torch_time_s=10),
}


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def read_xmc(path):
    """Read a file in the Extreme Classification Repository text format.

    First line ``n_samples n_features n_labels``; then one sample per line,
    ``l1,l2,... f:v f:v ...`` with 0-based ids (a sample without labels starts
    with a space). Returns CSR ``X`` (float32) and CSR indicator ``Y`` (int8).
    """
    with open(path) as f:
        n, d, n_labels = (int(t) for t in f.readline().split())
        x_ptr, x_idx, x_val, y_ptr, y_idx = [0], [], [], [0], []
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() and len(x_ptr) > n:
                continue
            tokens = line.split(" ")
            if tokens[0] and ":" not in tokens[0]:
                y_idx.extend(int(lab) for lab in tokens[0].split(","))
            for tok in tokens[1:] if ":" not in tokens[0] else tokens:
                if tok:
                    feat, val = tok.split(":")
                    x_idx.append(int(feat))
                    x_val.append(float(val))
            x_ptr.append(len(x_idx))
            y_ptr.append(len(y_idx))
    if len(x_ptr) - 1 != n:
        raise ValueError(f"{path}: header says {n} samples, read {len(x_ptr) - 1}.")
    X = sp.csr_matrix(
        (np.asarray(x_val, np.float32), np.asarray(x_idx, np.int32), x_ptr),
        shape=(n, d),
    )
    Y = sp.csr_matrix(
        (np.ones(len(y_idx), np.int8), np.asarray(y_idx, np.int32), y_ptr),
        shape=(n, n_labels),
    )
    X.sum_duplicates()
    Y.sum_duplicates()
    Y.data[:] = 1
    return X, Y


def _indicator(y, n_labels):
    """One label per row as a CSR indicator matrix (int8)."""
    n = y.shape[0]
    return sp.csr_matrix(
        (np.ones(n, np.int8), y.astype(np.int32), np.arange(n + 1)),
        shape=(n, n_labels),
    )


def build_words(cfg, data_dir, sents=None):
    """The word task of a ``words`` configuration, and its sizes (a dict)."""
    from word_task import make_word_task

    X_tr, y_tr, X_te, y_te, words, info = make_word_task(
        cfg["n_words"],
        n_train=cfg["n_train"],
        n_test=cfg["n_test"],
        seed=SEED,
        data_dir=data_dir,
        sents=sents,
    )
    n_labels = len(words)
    return (X_tr, _indicator(y_tr, n_labels), X_te, _indicator(y_te, n_labels)), info


def save_words(path, data):
    """Save a word task's matrices to ``path`` (.npz) for the children."""
    arrays = {}
    for name, M in zip(("X_tr", "Y_tr", "X_te", "Y_te"), data):
        for part in ("data", "indices", "indptr", "shape"):
            arrays[f"{name}_{part}"] = np.asarray(getattr(M, part))
    np.savez(path, **arrays)


def load_words(path):
    with np.load(path) as f:
        return tuple(
            sp.csr_matrix(
                (f[f"{n}_data"], f[f"{n}_indices"], f[f"{n}_indptr"]),
                shape=tuple(f[f"{n}_shape"]),
            )
            for n in ("X_tr", "Y_tr", "X_te", "Y_te")
        )


def load_data(cfg, data_dir):
    """``(X_train, Y_train, X_test, Y_test)`` of a configuration."""
    if cfg["kind"] == "words":
        if cfg.get("cache"):  # built once by the parent
            return load_words(cfg["cache"])
        return build_words(cfg, data_dir)[0]
    if cfg["kind"] == "synthetic":
        from sparseclf.datasets import make_extreme_classification

        n_train = cfg["n_train"]
        # One call, then a split: train and test share the label prototypes.
        X, Y = make_extreme_classification(
            n_train + cfg["n_test"],
            cfg["n_features"],
            cfg["n_labels"],
            nnz_per_sample=cfg["nnz"],
            labels_per_sample=cfg["labels_per_sample"],
            random_state=SEED,
        )
        return X[:n_train], Y[:n_train], X[n_train:], Y[n_train:]
    X_tr, Y_tr = read_xmc(os.path.join(data_dir, cfg["train"]))
    X_te, Y_te = read_xmc(os.path.join(data_dir, cfg["test"]))
    return X_tr, Y_tr, X_te, Y_te


# --------------------------------------------------------------------------
# Measuring, in the child processes
# --------------------------------------------------------------------------


def _status_mib(field):
    """``VmHWM`` / ``VmRSS`` of this process in MiB (None off Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mib():
    hwm = _status_mib("VmHWM")
    if hwm is not None:
        return hwm
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def current_rss_mib():
    return _status_mib("VmRSS")


def ranking_scores(Y_test, top, suffix=""):
    """P@1, P@5 and the number of distinct top-1 labels of ranked predictions."""
    from sparseclf.metrics import precision_at_k

    return {
        "p1" + suffix: precision_at_k(Y_test, top, k=1),
        "p5" + suffix: precision_at_k(Y_test, top, k=TOPK),
        "distinct" + suffix: int(np.unique(top[:, 0]).size),
    }


# sparseclf's methods pinning ``output_sampler``, by the sampler they pin.
PINNED_SAMPLERS = {"lsh": "sparseclf-withlsh", "frequency": "sparseclf-nolsh"}


def run_method(method, cfg, data_dir, threads):
    """Train and evaluate one method on one configuration; a dict of results."""
    t0 = time.perf_counter()
    data = load_data(cfg, data_dir)
    load_s = time.perf_counter() - t0
    pinned = {m: s for s, m in PINNED_SAMPLERS.items()}
    if method == "sparseclf":
        out = _run_sparseclf(cfg, threads, *data)
    elif method in pinned:
        out = _run_sparseclf(cfg, threads, *data, output_sampler=pinned[method])
    elif method == "sparseclf-catchup":
        out = _run_sparseclf(cfg, threads, *data, catch_up=True)
    elif method == "torch":
        out = _run_torch(cfg, threads, *data)
    elif method == "torch-probe":
        out = _probe_torch(cfg, threads, *data)
    elif method == "omikuji":
        out = _run_omikuji(cfg, data_dir, threads, *data)
    else:
        raise ValueError(method)
    out["load_s"] = load_s
    out["peak_rss_mib"] = peak_rss_mib()
    out["n_train"], out["n_labels"] = data[1].shape
    out["n_test"] = data[2].shape[0]
    return out


def _run_sparseclf(
    cfg, threads, X_tr, Y_tr, X_te, Y_te, output_sampler="auto", catch_up=False
):
    """sparseclf's default estimator, with ``output_sampler`` given;
    ``catch_up=True``: ``lazy_adam=False`` (first-layer rows take the Adam
    steps they missed when next touched, as dense Adam, where the default
    skips them, as lazy Adam, PyTorch's SparseAdam, does).

    With ``cfg["curve"]``, one ``partial_fit`` per epoch, scored on the test
    set after each (scoring not counted in train time).
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from sparseclf import SparseMLPClassifier

    epochs = cfg["epochs"]
    clf = SparseMLPClassifier(
        hidden_layer_sizes=(HIDDEN,),
        batch_size=BATCH,
        learning_rate_init=LR,
        max_iter=epochs,
        n_iter_no_change=epochs + 1,  # run every epoch
        n_jobs=threads,
        random_state=cfg.get("model_seed", SEED),
        verbose=1,
        output_sampler=output_sampler,
        lazy_adam=not catch_up,
    )
    rss_before = current_rss_mib()
    log = io.StringIO()
    curve = []
    with warnings.catch_warnings(), contextlib.redirect_stdout(log):
        warnings.simplefilter("ignore", ConvergenceWarning)
        if cfg.get("curve"):
            train_s = 0.0
            for epoch in range(1, epochs + 1):
                t0 = time.perf_counter()
                clf.partial_fit(X_tr, Y_tr)
                train_s += time.perf_counter() - t0
                top, _ = clf.predict_topk(X_te, TOPK)
                curve.append(
                    dict(epoch=epoch, train_s=train_s, **ranking_scores(Y_te, top))
                )
            n_epochs = epochs
        else:
            t0 = time.perf_counter()
            clf.fit(X_tr, Y_tr)
            train_s = time.perf_counter() - t0
            n_epochs = clf.n_iter_
    note = (
        f"output_sampler_={clf.output_sampler_!r}, n_rebuilds_={clf.n_rebuilds_}, "
        f"active_size_={clf.active_size_}, hash_params_={clf.hash_params_}"
    )
    out = dict(
        train_s=train_s,
        samples_per_s=X_tr.shape[0] * n_epochs / train_s,
        epochs=n_epochs,
        rss_before_mib=rss_before,
        log=log.getvalue().splitlines(),
        note=note,
        output_sampler=clf.output_sampler_,
    )
    if curve:
        out["curve"] = curve
    t0 = time.perf_counter()
    top, _ = clf.predict_topk(X_te, TOPK)
    out["predict_s"] = time.perf_counter() - t0
    out.update(ranking_scores(Y_te, top))
    out["hits1"] = _top1_hits(Y_te, top)
    # Reference: the TOPK most frequent training labels for every test sample.
    freq = np.bincount(Y_tr.indices, minlength=Y_tr.shape[1])
    prior = np.argsort(-freq, kind="stable")[:TOPK]
    out.update(ranking_scores(Y_te, np.tile(prior, (X_te.shape[0], 1)), "_prior"))
    if clf.hash_params_ is not None:
        if clf.output_sampler_ == "frequency":
            # The first exact=False call builds the tables: timed on one row.
            t0 = time.perf_counter()
            clf.predict_topk(X_te[:1], TOPK, exact=False)
            out["tables_build_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        top, _ = clf.predict_topk(X_te, TOPK, exact=False)
        out["predict_lsh_s"] = time.perf_counter() - t0
        out.update(ranking_scores(Y_te, top, "_lsh"))
    return out


def _top1_hits(Y_test, top):
    """Whether each test sample's first prediction is one of its labels."""
    Y = sp.csr_matrix(Y_test)
    return np.asarray(Y[np.arange(Y.shape[0]), top[:, 0]]).ravel() > 0


def paired_interval(hits_a, hits_b, n_boot=2000, seed=0):
    """P@1 of ``b`` minus ``a`` on the same samples, and its 95% paired
    bootstrap interval (the samples resampled together)."""
    diff = hits_b.astype(float) - hits_a.astype(float)
    rng = np.random.RandomState(seed)
    means = [diff[rng.randint(diff.size, size=diff.size)].mean() for _ in range(n_boot)]
    return diff.mean(), *np.percentile(means, [2.5, 97.5])


# ----------------------------------------------------------------- torch


def _torch_model(n_features, n_labels, sparse):
    import torch
    from torch import nn

    class DenseMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.EmbeddingBag(n_features, HIDDEN, mode="sum", sparse=sparse)
            self.bias = nn.Parameter(torch.empty(HIDDEN))
            self.out = nn.Linear(HIDDEN, n_labels)
            # Glorot uniform weights and biases, as sparseclf initialises (its
            # output layer's bound at least 1 / sqrt(fan_in)).
            for w, b, fan_in, fan_out in [
                (self.emb.weight, self.bias, n_features, HIDDEN),
                (self.out.weight, self.out.bias, HIDDEN, n_labels),
            ]:
                bound = (6.0 / (fan_in + fan_out)) ** 0.5
                if fan_out == n_labels:
                    bound = max(bound, fan_in**-0.5)
                nn.init.uniform_(w, -bound, bound)
                nn.init.uniform_(b, -bound, bound)

        def forward(self, idx, offsets, weights):
            h = self.emb(idx, offsets, per_sample_weights=weights) + self.bias
            return self.out(torch.relu(h))

    return DenseMLP()


def _torch_optimizers(model, variant):
    import torch

    kind, _, rest = variant.partition("+")
    if kind == "sparseadam":
        impl = rest.split("-")[1]
        return [
            torch.optim.SparseAdam(list(model.emb.parameters()), lr=LR),
            torch.optim.Adam(
                [model.bias, *model.out.parameters()], lr=LR, **{impl: True}
            ),
        ]
    impl = variant.split("-")[1]
    return [torch.optim.Adam(model.parameters(), lr=LR, **{impl: True})]


def _torch_train(
    model,
    opts,
    X,
    Y,
    epochs,
    rng,
    max_batches=None,
    warmup=0,
    batch_times=None,
    time_limit=None,
):
    """Train; returns (seconds, samples) of the timed part (after ``warmup``).

    With a list ``batch_times``, append the wall time of each timed batch to it.
    With ``time_limit`` (seconds), stop after the batch that reaches it.
    """
    import torch
    import torch.nn.functional as F

    n, n_labels = Y.shape
    start = None
    n_batches = samples = 0
    for _ in range(epochs):
        if warmup == 0 and start is None:
            start = time.perf_counter()
        order = rng.permutation(n)
        Xe, Ye = X[order], Y[order]
        x_ptr = Xe.indptr.astype(np.int64)
        x_idx = torch.from_numpy(Xe.indices.astype(np.int64))
        x_val = torch.from_numpy(Xe.data)
        y_cols = torch.from_numpy(Ye.indices.astype(np.int64))
        counts = np.diff(Ye.indptr)
        y_rows = np.repeat(np.arange(n), counts)
        y_vals = torch.from_numpy(
            (1.0 / np.maximum(counts, 1))[y_rows].astype(np.float32)
        )
        y_rows = torch.from_numpy(y_rows)
        for s in range(0, n, BATCH):
            if n_batches == warmup and start is None:
                start = time.perf_counter()
            t_batch = time.perf_counter()
            e = min(s + BATCH, n)
            a, b = x_ptr[s], x_ptr[e]
            offsets = torch.from_numpy(x_ptr[s:e] - a)
            logits = model(x_idx[a:b], offsets, x_val[a:b])
            ya, yb = Ye.indptr[s], Ye.indptr[e]
            target = torch.zeros(e - s, n_labels)
            target[y_rows[ya:yb] - s, y_cols[ya:yb]] = y_vals[ya:yb]
            loss = F.cross_entropy(logits, target)
            for opt in opts:
                opt.zero_grad(set_to_none=True)
            loss.backward()
            for opt in opts:
                opt.step()
            n_batches += 1
            if n_batches > warmup:
                samples += e - s
                if batch_times is not None:
                    batch_times.append(time.perf_counter() - t_batch)
            if max_batches is not None and n_batches >= warmup + max_batches:
                return time.perf_counter() - start, samples
            if time_limit is not None and time.perf_counter() - start >= time_limit:
                return time.perf_counter() - start, samples
    return time.perf_counter() - start, samples


def _torch_topk(model, X):
    import torch

    n_labels = model.out.out_features
    step = max(1, min(4096, (1 << 24) // n_labels))
    tops = []
    with torch.no_grad():
        for s in range(0, X.shape[0], step):
            Xb = X[s : s + step]
            logits = model(
                torch.from_numpy(Xb.indices.astype(np.int64)),
                torch.from_numpy(Xb.indptr[:-1].astype(np.int64)),
                torch.from_numpy(Xb.data),
            )
            tops.append(torch.topk(logits, TOPK, dim=1).indices.numpy())
    return np.concatenate(tops)


def _probe_torch(cfg, threads, X_tr, Y_tr, X_te, Y_te):
    """samples/s of each optimiser set-up: a full batch over its median time.

    The median of a few batches (after 3 warm-up ones) is robust to a batch slowed
    down by another process on the machine.
    """
    import torch

    torch.set_num_threads(threads)
    n_labels = Y_tr.shape[1]
    n_batches = cfg["probe_batches"]
    rates = {}
    for variant in TORCH_VARIANTS:
        torch.manual_seed(SEED)
        model = _torch_model(X_tr.shape[1], n_labels, variant.startswith("sparse"))
        opts = _torch_optimizers(model, variant)
        times = []
        _torch_train(
            model,
            opts,
            X_tr,
            Y_tr,
            1,
            np.random.RandomState(SEED),
            max_batches=n_batches,
            warmup=3,
            batch_times=times,
        )
        rates[variant] = BATCH / float(np.median(times))
    return dict(rates=rates, probe_batches=n_batches)


def _torch_curve(model, opts, cfg, rng, X_tr, Y_tr, X_te, Y_te):
    """Up to ``cfg["epochs"]`` epochs within ``cfg["torch_time_s"]`` seconds of
    training, scored after each (and where the time ran out);
    ``(train seconds, samples, curve)``."""
    n = X_tr.shape[0]
    limit = cfg.get("torch_time_s")
    train_s, samples, curve = 0.0, 0, []
    for _ in range(cfg["epochs"]):
        left = None if limit is None else limit - train_s
        if left is not None and left <= 0:
            break
        seconds, done = _torch_train(model, opts, X_tr, Y_tr, 1, rng, time_limit=left)
        train_s += seconds
        samples += done
        top = _torch_topk(model, X_te)
        curve.append(
            dict(
                epoch=round(samples / n, 2),
                train_s=train_s,
                **ranking_scores(Y_te, top),
            )
        )
    return train_s, samples, curve


def _run_torch(cfg, threads, X_tr, Y_tr, X_te, Y_te):
    import torch

    torch.set_num_threads(threads)
    variant = cfg["torch_variant"]
    torch.manual_seed(SEED)
    n_labels = Y_tr.shape[1]
    model = _torch_model(X_tr.shape[1], n_labels, variant.startswith("sparse"))
    opts = _torch_optimizers(model, variant)
    rng = np.random.RandomState(SEED)
    rss_before = current_rss_mib()
    if cfg.get("torch_batches"):  # timing only
        train_s, samples = _torch_train(
            model, opts, X_tr, Y_tr, 1, rng, max_batches=cfg["torch_batches"], warmup=1
        )
        return dict(
            train_s=train_s,
            samples_per_s=samples / train_s,
            rss_before_mib=rss_before,
            note=f"{variant}; timed {cfg['torch_batches']} batches after 1 warm-up, "
            "no accuracy",
            timing_only=True,
        )
    if cfg.get("curve"):  # one epoch at a time, scored after each
        train_s, samples, curve = _torch_curve(
            model, opts, cfg, rng, X_tr, Y_tr, X_te, Y_te
        )
        n = X_tr.shape[0]
        out = dict(
            train_s=train_s,
            samples_per_s=samples / train_s,
            epochs=round(samples / n, 2),
            rss_before_mib=rss_before,
            curve=curve,
            note=f"{variant}; {samples / n:.2f} epochs"
            + (
                f", time-boxed at {cfg['torch_time_s']} s"
                if samples < cfg["epochs"] * n
                else ""
            ),
        )
    else:
        train_s, samples = _torch_train(model, opts, X_tr, Y_tr, cfg["epochs"], rng)
        out = dict(
            train_s=train_s,
            samples_per_s=samples / train_s,
            epochs=cfg["epochs"],
            rss_before_mib=rss_before,
            note=variant,
        )
    t0 = time.perf_counter()
    top = _torch_topk(model, X_te)
    out["predict_s"] = time.perf_counter() - t0
    out.update(ranking_scores(Y_te, top))
    return out


# --------------------------------------------------------------- omikuji


@contextlib.contextmanager
def _quiet_fds():
    """Silence the process's stdout / stderr (omikuji's progress bars) in a block."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in [*saved, devnull]:
            os.close(fd)


def _run_omikuji(cfg, data_dir, threads, X_tr, Y_tr, X_te, Y_te):
    import omikuji

    rss_before = current_rss_mib()
    path = os.path.join(data_dir, cfg["train"])
    with _quiet_fds():
        t0 = time.perf_counter()
        model = omikuji.Model.train_on_data(
            path, omikuji.Model.default_hyper_param(), n_threads=threads
        )
        train_s = time.perf_counter() - t0
    model.init_prediction_thread_pool(1)
    n_labels = Y_te.shape[1]
    top = np.empty((X_te.shape[0], TOPK), dtype=np.int64)
    t0 = time.perf_counter()
    with _quiet_fds():
        for i in range(X_te.shape[0]):
            a, b = X_te.indptr[i], X_te.indptr[i + 1]
            pairs = list(zip(X_te.indices[a:b].tolist(), X_te.data[a:b].tolist()))
            top[i] = _pad([lab for lab, _ in model.predict(pairs, top_k=TOPK)])
    predict_s = time.perf_counter() - t0
    for i in np.flatnonzero(top[:, -1] < 0):  # fewer than k predicted: misses
        true = set(Y_te.indices[Y_te.indptr[i] : Y_te.indptr[i + 1]].tolist())
        fill = (j for j in range(n_labels) if j not in true and j not in top[i])
        top[i, top[i] < 0] = [next(fill) for _ in range(int((top[i] < 0).sum()))]
    out = dict(
        train_s=train_s,
        samples_per_s=None,
        rss_before_mib=rss_before,
        predict_s=predict_s,
        note="default hyper-parameters; train time includes parsing the file; "
        "predict: one Python call per sample, 1 thread",
    )
    out.update(ranking_scores(Y_te, top))
    return out


def _pad(labels):
    return (list(labels) + [-1] * TOPK)[:TOPK]


# --------------------------------------------------------------------------
# The parent: one child per method, tables
# --------------------------------------------------------------------------


def in_child(method, cfg, data_dir, threads):
    """Run ``method`` in a fresh spawn process, so its peak RSS is its own."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(run_method, method, cfg, data_dir, threads).result()


def fmt(value, spec, missing="-"):
    return missing if value is None else format(value, spec)


def fmt_s(seconds):
    return "-" if seconds is None else f"{seconds:.1f} s"


def row(name, r, suffix=""):
    """A table row; with ``suffix`` ("_lsh", "_prior") only its scores."""
    scores = (
        f"{fmt(r.get('p1' + suffix), '.4f')} | {fmt(r.get('p5' + suffix), '.4f')} | "
        f"{fmt(r.get('distinct' + suffix), ',d')}"
    )
    if suffix:
        return (
            f"| {name} | - | - | {scores} | {fmt_s(r.get('predict' + suffix + '_s'))} "
            "| - | - |"
        )
    return (
        f"| {name} | {fmt(r['samples_per_s'], ',.0f')} | {fmt_s(r['train_s'])} | "
        f"{scores} | {fmt_s(r.get('predict_s'))} | "
        f"{fmt(r['peak_rss_mib'], ',.0f')} | {fmt(r['rss_before_mib'], ',.0f')} |"
    )


def describe(name, cfg, data_dir):
    if cfg["kind"] == "words":
        info = cfg.get("info", {})
        sizes = (
            f"{info['n_words']:,} words (the rarest seen {info['min_count']} "
            f"time(s) in training; {info['labels_in_train']:,} of them are a "
            f"training target), {info['train_sentences']:,} / "
            f"{info['test_sentences']:,} distinct train / unseen test sentences "
            f"giving {info['train_samples_all']:,} / {info['test_samples_all']:,} "
            "samples, "
            if info
            else ""
        )
        n_train = "all" if cfg["n_train"] is None else f"{cfg['n_train']:,}"
        return (
            "held-out word of a sentence (`benchmarks/word_task.py`, "
            f"random_state={SEED}): the {cfg['n_words']:,} most frequent training "
            f"words: {sizes}{n_train} training / {cfg['n_test']:,} test samples "
            f"used, 2**18 hashed unigram + bigram features; {cfg['epochs']} "
            f"epoch(s), torch time-boxed at {cfg.get('torch_time_s')} s of training"
        )
    if cfg["kind"] == "synthetic":
        return (
            f"synthetic `make_extreme_classification`: {cfg['n_train']:,} train / "
            f"{cfg['n_test']:,} test samples, {cfg['n_features']:,} features, "
            f"{cfg['nnz']} tokens per sample, {cfg['n_labels']:,} labels, "
            f"{cfg['labels_per_sample']} labels per sample (mean), "
            f"random_state={SEED}; {cfg['epochs']} epoch(s)"
        )
    return (
        f"`{os.path.join(data_dir, cfg['train'])}` / `{cfg['test']}` "
        f"(XMC text format); {cfg['epochs']} epochs"
    )


def losses(ours, other, name):
    """Where sparseclf (``ours``) does worse than ``other``, as phrases."""
    out = []
    if ours["samples_per_s"] and other.get("samples_per_s"):
        if ours["samples_per_s"] < other["samples_per_s"]:
            ratio = other["samples_per_s"] / ours["samples_per_s"]
            out.append(f"trains {ratio:.2f}x slower than {name}")
    elif other.get("train_s") and ours["train_s"] > other["train_s"]:
        ratio = ours["train_s"] / other["train_s"]
        out.append(f"trains {ratio:.2f}x longer than {name}")
    for key, label in [("p1", "P@1"), ("p5", "P@5")]:
        if other.get(key) is not None and ours[key] < other[key] - 0.005:
            out.append(f"{label} {ours[key]:.4f} < {name}'s {other[key]:.4f}")
    if other.get("predict_s") and ours["predict_s"] > 1.2 * other["predict_s"]:
        out.append(
            f"exact top-{TOPK} prediction {ours['predict_s'] / other['predict_s']:.1f}"
            f"x slower than {name}"
        )
    if ours["peak_rss_mib"] > 1.1 * other["peak_rss_mib"]:
        out.append(f"peak RSS higher than {name}")
    return out


def print_curves(results, names):
    """P@1 / P@5 and cumulative train time after each epoch, per method."""
    print("| method | epoch | train time | P@1 | P@5 | distinct top-1 |")
    print("|---|--:|--:|--:|--:|--:|")
    for method, r in results.items():
        for c in r.get("curve", []):
            print(
                f"| {names[method]} | {c['epoch']:g} | {fmt_s(c['train_s'])} | "
                f"{c['p1']:.4f} | {c['p5']:.4f} | {c['distinct']:,d} |"
            )
    print()


def run_config(name, cfg, data_dir, threads, methods):
    """Run and print one configuration.

    Returns ``(results, probe_rates)``: each method's results, and torch's
    samples/s by optimiser set-up (None when not probed).
    """
    print(f"\n### {name}\n")
    print(describe(name, cfg, data_dir) + ".\n", flush=True)
    results = {}
    probe_rates = None
    methods = list(methods)
    if "torch" in methods:
        if cfg.get("torch_batches"):
            cfg = dict(cfg, torch_variant=AMAZON_TORCH_VARIANT)
        else:
            probe = in_child("torch-probe", cfg, data_dir, threads)
            rates = probe["rates"]
            best = max(rates, key=rates.get)
            cfg = dict(cfg, torch_variant=best)
            probe_rates = rates
            print(
                f"torch optimiser set-ups, samples/s (median of {cfg['probe_batches']} "
                "batches): "
                + ", ".join(f"{v} {r:,.0f}" for v, r in rates.items())
                + f" -> {best}\n",
                flush=True,
            )
    i = 0
    while i < len(methods):
        method = methods[i]
        i += 1
        if method == "omikuji" and not cfg.get("omikuji"):
            continue
        t0 = time.perf_counter()
        try:
            results[method] = in_child(method, cfg, data_dir, threads)
        except Exception as exc:  # report and go on with the other methods
            print(f"{method} failed: {type(exc).__name__}: {exc}\n", flush=True)
            continue
        r = results[method]
        print(
            f"{method}: done in {time.perf_counter() - t0:.0f} s "
            f"(data {r['load_s']:.1f} s); {r.get('note', '')}",
            flush=True,
        )
        for line in r.get("log", []):
            print(f"    {line}")
        # The defaults' sampled layer, then the same with the other sampler.
        other = {"lsh": "frequency", "frequency": "lsh"}.get(r.get("output_sampler"))
        if method == "sparseclf" and other and PINNED_SAMPLERS[other] not in methods:
            methods.insert(i, PINNED_SAMPLERS[other])
    print(
        "\n| method | train samples/s | train time | P@1 | P@5 | distinct top-1 | "
        "predict top-5 (test) | peak RSS MiB | RSS before training MiB |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    names = {
        "sparseclf": "sparseclf",
        "sparseclf-withlsh": 'sparseclf, output_sampler="lsh"',
        "sparseclf-nolsh": 'sparseclf, output_sampler="frequency" (no LSH)',
        "sparseclf-catchup": "sparseclf, first-layer rows catch up (no lazy Adam)",
        "torch": "torch dense MLP",
        "omikuji": "omikuji",
    }
    for method, r in results.items():
        label = names[method]
        if method == "torch":
            label += f" ({r['note'].split(';')[0]})"
        if method == "sparseclf" and r.get("output_sampler"):
            label += f" (output_sampler_={r['output_sampler']!r})"
        print(row(label, r))
        if "p1_lsh" in r:
            build = r.get("tables_build_s")
            build = f", first call's table build {build:.2f} s" if build else ""
            print(row(f"{label}, `predict_topk(exact=False)`{build}", r, "_lsh"))
    if "sparseclf" in results:
        print(
            row(
                f"reference: the {TOPK} most frequent training labels for all",
                results["sparseclf"],
                "_prior",
            )
        )
    print()
    if any("curve" in r for r in results.values()):
        print_curves(results, names)
    ours = results.get("sparseclf")
    if ours is None:
        return results, probe_rates
    print_sampler_pair(results)
    other = results.get("torch")
    if other is not None:
        print(
            f"Speed ratio sparseclf / torch (training samples/s): "
            f"{ours['samples_per_s'] / other['samples_per_s']:.2f}"
        )
    lost = [
        f"{label} {ours[key]:.4f} below the most-frequent-labels reference "
        f"{ours[key + '_prior']:.4f}"
        for key, label in [("p1", "P@1"), ("p5", "P@5")]
        if ours[key] < ours[key + "_prior"]
    ]
    others = ("sparseclf-withlsh", "sparseclf-nolsh", "sparseclf-catchup", "torch")
    for method in (*others, "omikuji"):
        if method in results and method != ours_pinned(ours):
            lost += losses(ours, results[method], names[method])
    print(
        "Where sparseclf loses: " + ("; ".join(lost) if lost else "nowhere here") + "."
    )
    return results, probe_rates


def ours_pinned(ours):
    """The pinned method that trains as the defaults did (None: dense)."""
    return PINNED_SAMPLERS.get(ours.get("output_sampler"))


def print_sampler_pair(results):
    """The two output samplers side by side: P@1 difference (95% paired
    bootstrap interval over the test samples) and training time ratio."""
    pair = {s: results.get(m) for s, m in PINNED_SAMPLERS.items()}
    default = results["sparseclf"].get("output_sampler")
    if default in pair and pair[default] is None:
        pair[default] = results["sparseclf"]
    lsh, freq = pair["lsh"], pair["frequency"]
    if lsh is None or freq is None:
        return
    diff, lo, hi = paired_interval(freq["hits1"], lsh["hits1"])
    print(
        f'output_sampler "lsh" against "frequency": P@1 {lsh["p1"]:.4f} / '
        f"{freq['p1']:.4f}, difference {diff:+.4f} (95% paired bootstrap "
        f"interval {lo:+.4f} to {hi:+.4f}); P@5 {lsh['p5']:.4f} / "
        f"{freq['p5']:.4f}; training {lsh['train_s'] / freq['train_s']:.2f}x "
        "the time."
    )


def machine(threads):
    """The CPU, the threads used and the packages' versions, as a dict."""
    try:
        with open("/proc/cpuinfo") as f:
            model = next(
                (
                    ln.split(":", 1)[1].strip()
                    for ln in f
                    if ln.startswith("model name")
                ),
                platform.processor(),
            )
    except OSError:
        model = platform.processor()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    versions = {}
    for pkg in ("sparseclf", "torch", "numpy", "scipy", "scikit-learn", "omikuji"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return dict(
        cpu=model,
        usable_cpus=usable,
        cpu_count=os.cpu_count(),
        threads=threads,
        python=platform.python_version(),
        versions=versions,
        load_average=[round(x, 2) for x in os.getloadavg()],
    )


def machine_info(threads):
    m = machine(threads)
    versions = [
        f"{pkg} {v}" if v else f"{pkg} (not installed)"
        for pkg, v in m["versions"].items()
    ]
    load = ", ".join(f"{x:.2f}" for x in m["load_average"])
    return (
        f"{m['cpu']}, {m['usable_cpus']} usable CPUs (of {m['cpu_count']}), "
        f"{threads} threads used; Python {m['python']}; " + ", ".join(versions) + "; "
        f"load average {load}"
    )


# Result keys saved by --save-json, for a method's row and for the score-only
# rows ("_lsh": ``predict_topk(exact=False)``; "_prior": the reference).
ROW_KEYS = (
    "samples_per_s",
    "train_s",
    "epochs",
    "p1",
    "p5",
    "distinct",
    "predict_s",
    "peak_rss_mib",
    "rss_before_mib",
    "timing_only",
    "note",
    "curve",
)
SCORE_KEYS = ("p1", "p5", "distinct", "predict_s")


def json_rows(results):
    """The rows of a configuration's table, as plain dicts.

    sparseclf's score-only rows are named ``"sparseclf-lsh"`` and ``"prior"``.
    """
    rows = []
    for method, r in results.items():
        rows.append(dict(method=method, **{k: r.get(k) for k in ROW_KEYS}))
        if method != "sparseclf":
            continue
        for suffix, name in (("_lsh", "sparseclf-lsh"), ("_prior", "prior")):
            if "p1" + suffix in r:
                # Stored as "p1_lsh", ..., "predict_lsh_s".
                keys = {k: k + suffix for k in SCORE_KEYS[:-1]}
                keys["predict_s"] = "predict" + suffix + "_s"
                rows.append(dict(method=name, **{k: r.get(v) for k, v in keys.items()}))
    return rows


def git_commit():
    """The commit of the checkout holding this script (None outside git)."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=os.path.dirname(os.path.abspath(__file__)),
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def save_json(path, record):
    """Write ``record`` to ``path`` (its folder is created)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        # NumPy scalars as Python numbers.
        json.dump(record, f, indent=1, default=lambda x: x.item())
        f.write("\n")
    print(f"Saved the results to {path}.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config",
        action="append",
        choices=list(CONFIGS),
        help="configuration to run (repeatable; default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--model-seed",
        type=int,
        default=SEED,
        help=f"random_state of the sparseclf models (default {SEED}; data: {SEED})",
    )
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    parser.add_argument(
        "--methods",
        default="sparseclf,torch,omikuji",
        help="comma-separated subset of sparseclf,sparseclf-withlsh,"
        "sparseclf-nolsh,sparseclf-catchup,torch,omikuji (a sampled output layer "
        "adds, after sparseclf, the one with the other output_sampler)",
    )
    parser.add_argument(
        "--save-json",
        metavar="PATH",
        help="also write the tables' rows, command, date and machine as JSON",
    )
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    if "omikuji" in methods:
        try:
            metadata.version("omikuji")
        except metadata.PackageNotFoundError:
            print("omikuji is not installed: skipped.")
            methods.remove("omikuji")
    names = args.config or list(CONFIGS)
    cmd = " ".join([sys.executable, *sys.argv])
    print(f"# sparseclf XMC benchmark\n\n`{cmd}`\n")
    print(f"Machine: {machine_info(args.threads)}.")
    print(
        f"All neural models: {HIDDEN} hidden ReLU units, batch {BATCH}, Adam lr {LR}, "
        "same epochs; each method in its own process."
    )
    record = dict(
        benchmark="bench_xmc",
        command=" ".join(
            ["python", f"benchmarks/{os.path.basename(sys.argv[0])}", *sys.argv[1:]]
        ),
        date=datetime.date.today().isoformat(),
        commit=git_commit(),
        machine=machine(args.threads),
        settings=dict(
            hidden=HIDDEN,
            batch=BATCH,
            lr=LR,
            seed=SEED,
            model_seed=args.model_seed,
            quick=args.quick,
        ),
        configs={},
    )
    start = time.perf_counter()
    cache = tempfile.TemporaryDirectory(prefix="bench_xmc_")
    sents = None
    for name in names:
        cfg = dict(CONFIGS[name], **(QUICK[name] if args.quick else {}))
        cfg["model_seed"] = args.model_seed
        if cfg["kind"] == "words":
            # Built once here (not excluded from the total wall time), loaded
            # by each method's process from a file.
            from word_task import read_sentences

            t0 = time.perf_counter()
            if sents is None:
                sents = read_sentences(args.data_dir, SEED)
            data, info = build_words(cfg, args.data_dir, sents)
            cfg["cache"] = os.path.join(cache.name, f"{name}.npz")
            save_words(cfg["cache"], data)
            cfg["info"] = info
            del data
            print(f"\n({name}: data built in {time.perf_counter() - t0:.0f} s)")
        if cfg["kind"] == "xmc-file" and not os.path.exists(
            os.path.join(args.data_dir, cfg["train"])
        ):
            print(f"\n### {name}\n\nskipped: no {cfg['train']} in {args.data_dir}.")
            continue
        if cfg["kind"] == "words" and not os.path.isdir(
            os.path.join(args.data_dir, "20newsgroups_bydate")
        ):
            print(f"\n### {name}\n\nskipped: no text corpora in {args.data_dir}.")
            continue
        results, probe_rates = run_config(
            name, cfg, args.data_dir, args.threads, methods
        )
        first = next(iter(results.values()), {})
        record["configs"][name] = dict(
            description=describe(name, cfg, args.data_dir),
            epochs=cfg["epochs"],
            n_train=first.get("n_train"),
            n_test=first.get("n_test"),
            n_labels=first.get("n_labels"),
            torch_probe_samples_per_s=probe_rates,
            rows=json_rows(results),
        )
    cache.cleanup()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    total = time.perf_counter() - start
    print(f"\nTotal wall time {total:.0f} s; load average at the end {load}.")
    if args.save_json:
        record["total_wall_s"] = round(total, 1)
        record["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        save_json(args.save_json, record)


if __name__ == "__main__":
    main()
