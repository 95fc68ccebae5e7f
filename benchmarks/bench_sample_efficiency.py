# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""How much each epoch learns: sparseclf beside dense PyTorch, epoch by epoch.

Data: a topic generator unlike ``make_extreme_classification``. Each label owns
``--topic-words`` feature ids (drawn at random) with Zipf-skewed weights
(exponent 1); label frequencies follow Zipf ``--label-zipf`` (0.9); a sample
of its label has 8 to 25 words, each from the label's topic words with
probability ``--topic-share`` (0.5), else a noise word drawn by Zipf 1.1 over
the 100,000 features; rows are L2-normalised counts. 65,000 samples: the first 60,000
train, the last 5,000 test (labels unseen in training count as misses).

Methods, each in its own process, one after the other, the same network
(128 ReLU units, softmax over the training labels), batch 256, Adam at
``--lr`` (1e-3), shuffled epochs; test P@1 and the training time after each
epoch:

- ``sparseclf``: ``SparseMLPClassifier`` defaults (sampled output layer above
  1,000 labels), one ``partial_fit`` per epoch;
- ``sparseclf-dense``: the same with ``output_sparsity=1.0`` (every output
  neuron active: no sampling, dense Adam on the output layer);
- ``sparseclf-catchup``: the defaults with ``lazy_adam=False`` (a first-layer
  row takes the Adam steps it missed when next touched, as dense Adam);
- ``torch``: ``torch.nn.Linear`` layers, the first multiplied by a sparse
  batch, ``torch.optim.Adam`` on everything (dense Adam: a first-layer row
  keeps moving with its momentum after its feature is gone);
- ``torch-lazy``: the first layer as an ``EmbeddingBag(sparse=True)`` under
  ``torch.optim.SparseAdam`` (lazy Adam, as sparseclf's first layer), the
  rest under Adam.

    python benchmarks/bench_sample_efficiency.py    # 10**4 labels, 3 epochs
    python benchmarks/bench_sample_efficiency.py --labels 100000 --methods sparseclf

Needs torch for the torch rows (the ``bench`` extra). Prints a Markdown table.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp

N_TRAIN, N_TEST, N_FEATURES, HIDDEN, BATCH = 60_000, 5_000, 100_000, 128, 256


def make_topics(
    n_samples, n_labels, *, topic_words=20, label_zipf=0.9, topic_share=0.5, seed=0
):
    """``(X, y)``: L2-normalised CSR word counts and one label per sample."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_labels + 1) ** label_zipf
    label_of_rank = rng.permutation(n_labels)
    words = rng.integers(0, N_FEATURES, size=(n_labels, topic_words))
    weights = 1.0 / np.arange(1, topic_words + 1)
    noise = 1.0 / np.arange(1, N_FEATURES + 1) ** 1.1
    noise_of_rank = rng.permutation(N_FEATURES)
    y = label_of_rank[rng.choice(n_labels, size=n_samples, p=p / p.sum())]
    lengths = rng.integers(8, 26, size=n_samples)
    row = np.repeat(np.arange(n_samples), lengths)
    topic = rng.random(row.size) < topic_share
    col = np.empty(row.size, dtype=np.int64)
    which = rng.choice(topic_words, size=topic.sum(), p=weights / weights.sum())
    col[topic] = words[y[row[topic]], which]
    col[~topic] = noise_of_rank[
        rng.choice(N_FEATURES, size=(~topic).sum(), p=noise / noise.sum())
    ]
    X = sp.csr_matrix(
        (np.ones(row.size, np.float32), (row, col)), shape=(n_samples, N_FEATURES)
    )
    X.sum_duplicates()
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    return (sp.diags(1 / norms) @ X).tocsr().astype(np.float32), y


def run_sparseclf(data, epochs, lr, dense, catch_up=False):
    from sparseclf import SparseMLPClassifier

    X_tr, y_tr, X_te, y_te = data
    clf = SparseMLPClassifier(
        hidden_layer_sizes=(HIDDEN,),
        batch_size=BATCH,
        learning_rate_init=lr,
        output_sparsity=1.0 if dense else "auto",
        lazy_adam=not catch_up,
        random_state=0,
    )
    classes, curve, train_s = np.unique(y_tr), [], 0.0
    for _ in range(epochs):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(X_tr, y_tr, classes=classes)
        train_s += time.perf_counter() - t0
        curve.append((float(np.mean(clf.predict(X_te) == y_te)), train_s))
    return curve


def run_torch(data, epochs, lr, lazy):
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    X_tr, y_tr, X_te, y_te = data
    labels = np.unique(y_tr)
    target = torch.from_numpy(np.searchsorted(labels, y_tr))
    first = torch.nn.Linear(N_FEATURES, HIDDEN)
    out = torch.nn.Linear(HIDDEN, labels.size)
    if lazy:
        bag = torch.nn.EmbeddingBag(N_FEATURES, HIDDEN, mode="sum", sparse=True)
        with torch.no_grad():
            bag.weight.copy_(first.weight.T)
        optimizers = [
            torch.optim.Adam([first.bias, *out.parameters()], lr=lr),
            torch.optim.SparseAdam(list(bag.parameters()), lr=lr),
        ]
    else:
        optimizers = [torch.optim.Adam([*first.parameters(), *out.parameters()], lr=lr)]

    def hidden(Xb):
        if lazy:
            return (
                bag(
                    torch.from_numpy(Xb.indices.astype(np.int64)),
                    torch.from_numpy(Xb.indptr[:-1].astype(np.int64)),
                    per_sample_weights=torch.from_numpy(Xb.data),
                )
                + first.bias
            )
        c = Xb.tocoo()
        Xt = torch.sparse_coo_tensor(np.vstack([c.row, c.col]), c.data, Xb.shape)
        return torch.sparse.mm(Xt.float(), first.weight.T) + first.bias

    rng, curve, train_s = np.random.default_rng(0), [], 0.0
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = rng.permutation(X_tr.shape[0])
        for s in range(0, order.size, BATCH):
            idx = order[s : s + BATCH]
            logits = out(torch.relu(hidden(X_tr[idx])))
            loss = torch.nn.functional.cross_entropy(logits, target[idx])
            for opt in optimizers:
                opt.zero_grad()
            loss.backward()
            for opt in optimizers:
                opt.step()
        train_s += time.perf_counter() - t0
        with torch.no_grad():
            pred = labels[out(torch.relu(hidden(X_te))).argmax(1).numpy()]
        curve.append((float(np.mean(pred == y_te)), train_s))
    return curve


def child(method, args):
    X, y = make_topics(
        N_TRAIN + N_TEST,
        args.labels,
        topic_words=args.topic_words,
        label_zipf=args.label_zipf,
        topic_share=args.topic_share,
    )
    data = X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]
    epochs, lr = args.epochs, args.lr
    if method.startswith("sparseclf"):
        return run_sparseclf(
            data,
            epochs,
            lr,
            dense=method == "sparseclf-dense",
            catch_up=method == "sparseclf-catchup",
        )
    return run_torch(data, epochs, lr, lazy=method == "torch-lazy")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--topic-words", type=int, default=20)
    parser.add_argument("--label-zipf", type=float, default=0.9)
    parser.add_argument("--topic-share", type=float, default=0.5)
    parser.add_argument(
        "--methods",
        default="sparseclf,sparseclf-catchup,sparseclf-dense,torch,torch-lazy",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        curve = child(args.child, args)
        print(json.dumps(curve))
        return
    print(
        f"{args.labels:,} labels, {N_TRAIN:,} training / {N_TEST:,} test samples, "
        f"lr {args.lr:g}, {args.topic_words} topic words, label Zipf "
        f"{args.label_zipf:g}, topic share {args.topic_share:g}, "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    head = " | ".join(f"epoch {e + 1}: P@1, train s" for e in range(args.epochs))
    print(f"| method | {head} |")
    print("|---|" + "--:|" * args.epochs)
    for method in args.methods.split(","):
        cmd = [
            sys.executable,
            __file__,
            "--child",
            method,
            "--labels",
            str(args.labels),
            "--epochs",
            str(args.epochs),
            "--lr",
            str(args.lr),
            "--topic-words",
            str(args.topic_words),
            "--label-zipf",
            str(args.label_zipf),
            "--topic-share",
            str(args.topic_share),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        curve = json.loads(proc.stdout.strip().splitlines()[-1])
        cells = " | ".join(f"{p1:.4f}, {s:.1f}" for p1, s in curve)
        print(f"| {method} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
