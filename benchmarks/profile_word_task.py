# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Where a sparse training epoch goes on the word task, with and without LSH.

Two ``SparseMLPClassifier`` models (the defaults, batch 256, Adam 1e-3, hidden
128, ``random_state=0``) train on ``bench_xmc.py``'s ``words-10k`` or
``words-100k`` data (``word_task.py``), one ``partial_fit`` epoch each in
turn, in one process, so that both see the same machine load: ``lsh``
(``output_sampler="lsh"``), and ``no-lsh`` (``output_sampler="frequency"``:
without LSH candidates, frequency-drawn negatives and hubs only, and no table
built or rebuilt while training). The library's methods are wrapped with
timers (wall time, 2 threads); per epoch and model it prints the epoch's wall
time and its parts:

* ``hidden``: the hidden layer of the batch (``Network.hidden``);
* ``negatives``: the batch's shared negatives and hubs
  (``OutputSampler._negatives``);
* ``hash batch``: DWTA codes of the batch's hidden vectors;
* ``query+merge``: each sample's labels and LSH candidates from the tables
  (``_sampler._own_sets``);
* ``train step``: forward, backward and lazy Adam over the active outputs
  and the input rows (``Network.train_step``);
* ``rebuild``: hashing the output layer and rebuilding the tables;

then P@1 on the 10,000 test samples after the epoch, and, averaged over every
8th batch: the LSH candidates per sample, the shared pool of negatives and
hubs, and the distinct output rows a batch computes and updates. ::

    python benchmarks/profile_word_task.py                  # words-10k, 5 epochs
    python benchmarks/profile_word_task.py --config words-100k --epochs 3
"""

import argparse
import collections
import functools
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_xmc  # noqa: E402

STAGES = (
    ("hidden", "hidden"),
    ("negatives", "negatives"),
    ("hash", "hash batch"),
    ("query", "query+merge"),
    ("step", "train step"),
    ("rebuild", "rebuild"),
)


def instrument(timers, stats):
    """Wrap the library's stages with timers adding to ``timers``; ``stats``
    sums, every 8th batch, the mean LSH candidates per sample, the distinct
    output rows of the batch's active sets and the size of its shared pool."""
    from sparseclf import _network, _sampler

    def wrap(owner, name, key):
        func = getattr(owner, name)

        @functools.wraps(func)
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                timers[key] += time.perf_counter() - t0

        setattr(owner, name, timed)
        return func

    wrap(_network.Network, "hidden", "hidden")
    wrap(_network.Network, "train_step", "step")
    wrap(_sampler.OutputSampler, "_negatives", "negatives")
    wrap(_sampler, "_own_sets", "query")
    wrap(_sampler.OutputSampler, "rebuild", "rebuild")

    def sample(self, H_last, *args, **kwargs):
        # The batch's hash, timed apart from the rebuilds' (which hash W).
        family = self.family
        hash_ = family.hash

        def timed_hash(M, n_threads):
            t0 = time.perf_counter()
            try:
                return hash_(M, n_threads)
            finally:
                timers["hash"] += time.perf_counter() - t0

        family.hash = timed_hash
        try:
            active = original_sample(self, H_last, *args, **kwargs)
        finally:
            del family.hash
        stats["batches"] += 1
        if stats["batches"] % 8 == 0:  # every 8th batch, in "rest"
            cand = active.n_own - active.n_pos
            rows = [active.own[i, : active.n_own[i]] for i in range(len(cand))]
            stats["candidates"] += float(cand.mean())
            stats["rows"] += np.union1d(np.concatenate(rows), active.pool).size
            stats["pool"] += active.pool.size
            stats["measured"] += 1
        return active

    original_sample = _sampler.OutputSampler.sample
    _sampler.OutputSampler.sample = sample


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", default="words-10k", choices=["words-10k", "words-100k"]
    )
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default=bench_xmc.DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)

    from sparseclf import SparseMLPClassifier
    from sparseclf.metrics import precision_at_k

    cfg = bench_xmc.CONFIGS[args.config]
    t0 = time.perf_counter()
    (X_tr, Y_tr, X_te, Y_te), info = bench_xmc.build_words(cfg, args.data_dir)
    print(
        f"{args.config}: {X_tr.shape[0]:,} train / {X_te.shape[0]:,} test samples, "
        f"{Y_tr.shape[1]:,} labels (data {time.perf_counter() - t0:.0f} s); "
        f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    timers = collections.defaultdict(float)
    stats = collections.defaultdict(float)
    instrument(timers, stats)
    common = dict(batch_size=bench_xmc.BATCH, n_jobs=args.threads, random_state=0)
    models = {
        name: SparseMLPClassifier(**common, output_sampler=sampler)
        for name, sampler in (("lsh", "lsh"), ("no-lsh", "frequency"))
    }
    print(
        "\n| epoch | model | epoch wall | "
        + " | ".join(label for _, label in STAGES)
        + " | rest | P@1 | LSH candidates / sample | pool | distinct rows / batch |"
    )
    print("|--:|---|" + "--:|" * (len(STAGES) + 6))
    for epoch in range(1, args.epochs + 1):
        for name, clf in models.items():
            timers.clear()
            stats.clear()
            t0 = time.perf_counter()
            clf.partial_fit(X_tr, Y_tr)
            wall = time.perf_counter() - t0
            parts = [timers[k] for k, _ in STAGES]
            top, _ = clf.predict_topk(X_te, 1)
            p1 = precision_at_k(Y_te, top, k=1)
            print(
                f"| {epoch} | {name} | {wall:.1f} s | "
                + " | ".join(f"{t:.1f}" for t in parts)
                + f" | {wall - sum(parts):.1f} | {p1:.4f} | "
                + " | ".join(
                    f"{stats[k] / max(stats['measured'], 1):,.0f}"
                    for k in ("candidates", "pool", "rows")
                )
                + " |",
                flush=True,
            )
    print(f"\nload average at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
