# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data-parallel training on Dask against one process, on the same 2 cores.

``sparseclf.dask.train`` on ``LocalCluster(n_workers=2, threads_per_worker=1)``
(worker processes) against one process training with ``n_jobs=2``: the same
data, the same model, the same epochs. The single process trains with one
``partial_fit`` call per epoch over all its data (shuffled); the cluster holds
the data as a dask array of 4 blocks, two on each worker, persisted before the
clock starts.

Per configuration the table gives samples/s (training samples times epochs over
the wall time of training), P@1 on held-out samples (accuracy for text), and
for the cluster the merges ("syncs"), the bytes each sync moves (the replicas'
updates to the driver, and the merge back to each replica) and where a sync's
time goes (training on the workers, merging on the driver, the replicas taking
the merge). From those, a projection to 8 and 64 machines: each machine trains
its share at the measured per-worker rate, and a sync costs the measured merge
time scaled by the number of updates plus the bytes over a 10 Gbit/s link.

Configurations (``--config``, default all): ``xmc-1k``, ``xmc-10k``,
``xmc-100k`` (``make_extreme_classification``, 100,000 features, 60,000
training samples or ``--n-train``, 5,000 test samples, 5 epochs), ``trec``
(TextClassifier on TREC's 5,452 training questions from ``../shared/data``, 6
epochs; skipped where absent).

The workers start without the ``MALLOC_TRIM_THRESHOLD_`` Dask's nannies set
(``--malloc-trim`` keeps it; see the user guide's Dask page).

    python benchmarks/bench_dask.py [--config xmc-100k] [--sync-every 8]
        [--combine sum] [--n-train 60000] [--epochs E] [--model-seed 0]
        [--transfer-dtype float32] [--malloc-trim]
"""

import argparse
import datetime
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LINK = 10e9 / 8  # bytes/s of the projected network
CONFIGS = {
    "xmc-1k": dict(n_labels=1_000, epochs=5),
    "xmc-10k": dict(n_labels=10_000, epochs=5),
    "xmc-100k": dict(n_labels=100_000, epochs=5),
    "trec": dict(epochs=6),
}


def xmc_data(n_labels, n_train):
    from sparseclf.datasets import make_extreme_classification

    X, Y = make_extreme_classification(
        n_train + 5_000,
        n_features=100_000,
        n_labels=n_labels,
        nnz_per_sample=50,
        random_state=0,
    )
    return X[:n_train], Y[:n_train], X[n_train:], Y[n_train:]


def trec_data():
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_text import read_trec

    X, y, X_test, y_test = read_trec(DATA)
    return np.asarray(X, dtype=object), np.asarray(y), X_test, np.asarray(y_test)


def score(clf, X_test, y_test):
    if y_test.ndim == 1:
        return float(np.mean(clf.predict(X_test) == y_test))
    top, _ = clf.predict_topk(X_test, k=1)
    return float(np.asarray(y_test[np.arange(top.shape[0]), top[:, 0]]).mean())


def model(config, seed):
    from sparseclf import SparseMLPClassifier, TextClassifier

    if config == "trec":
        return TextClassifier(random_state=seed, max_iter=1)
    return SparseMLPClassifier(random_state=seed)


def single(config, X, y, X_test, y_test, epochs, seed):
    clf = model(config, seed).set_params(n_jobs=2)
    classes = np.unique(y) if y.ndim == 1 else None
    t0 = time.perf_counter()
    for _ in range(epochs):
        clf.partial_fit(X, y, classes=classes)
    seconds = time.perf_counter() - t0
    return X.shape[0] * epochs / seconds, score(clf, X_test, y_test)


def cluster(
    config, X, y, X_test, y_test, epochs, sync_every, combine, seed, malloc_trim, dtype
):
    import dask
    import dask.array as da
    from distributed import Client, LocalCluster, futures_of, wait

    from sparseclf.dask import train

    n_blocks = 4
    rows = -(-X.shape[0] // n_blocks)
    log = []
    # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, which
    # fixes glibc's mmap threshold at 128 KiB: every large temporary of a
    # training step is then mapped and unmapped anew (page faults each time).
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    if not malloc_trim:
        environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    print(f"worker environment: {environ}")
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": environ}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        Client(local) as client,
    ):
        chunks_X = (rows,) if X.ndim == 1 else (rows, X.shape[1])
        Xd = da.from_array(X, chunks=chunks_X, asarray=False)
        yd = da.from_array(y, chunks=(rows,) + y.shape[1:], asarray=False)
        # Half the blocks on each worker: the scheduler alone may place them
        # 3 + 1, and one replica then idles for a third of every epoch.
        workers = sorted(client.scheduler_info()["workers"])
        half = n_blocks // 2 * rows
        halves = [
            client.persist([Xd[part], yd[part]], workers=[worker])
            for part, worker in zip((slice(0, half), slice(half, None)), workers)
        ]
        Xd = da.concatenate([Xh for Xh, _ in halves])
        yd = da.concatenate([yh for _, yh in halves])
        Xd, yd = client.persist([Xd, yd])
        wait([Xd, yd])
        where = client.who_has(futures_of(Xd))
        placed = sorted(sum(w in ws for ws in where.values()) for w in workers)
        print(f"blocks per worker: {' + '.join(map(str, placed))}")
        classes = np.unique(y) if y.ndim == 1 else None
        t0 = time.perf_counter()
        clf = train(
            model(config, seed),
            Xd,
            yd,
            classes=classes,
            epochs=epochs,
            sync_every=sync_every,
            combine=combine,
            transfer_dtype=dtype,
            random_state=0,
            callback=lambda entry: log.append({**entry, "at": time.perf_counter()}),
        )
        seconds = time.perf_counter() - t0
    # Before the first merge's round began, and after the last merge.
    first = log[0]
    round_ = first["train_seconds"] + first["merge_seconds"] + first["send_seconds"]
    log[0]["start_seconds"] = first["at"] - t0 - round_
    log[-1]["finish_seconds"] = t0 + seconds - log[-1]["at"]
    return X.shape[0] * epochs / seconds, score(clf, X_test, y_test), log, seconds


def projection(log, rate_per_worker, n_machines):
    """Speed-up over one machine of ``n_machines`` from the measured syncs."""
    syncs = [e for e in log if e["n_samples"] > 0]
    rows = np.mean([e["n_samples"] for e in syncs]) / 2  # per worker per sync
    merge_per_update = np.mean([e["merge_seconds"] for e in syncs]) / 2
    update = np.mean([e["bytes_gathered"] for e in syncs]) / 2
    sent = np.mean([e["bytes_sent"] for e in syncs])
    compute = rows / rate_per_worker
    # The driver receives n updates and sends the merge to n replicas; the
    # merge may grow with n (more distinct rows): bounded by n times one update.
    comm = n_machines * (update + min(sent, n_machines * update)) / LINK
    sync = compute + n_machines * merge_per_update + comm
    return n_machines * compute / sync


def run(config, sync_every, combine, n_train, epochs, seed, malloc_trim, dtype):
    epochs = epochs or CONFIGS[config]["epochs"]
    print(
        f"\n## {config} (sync_every={sync_every}, combine={combine}, "
        f"{epochs} epochs, model seed {seed}, transfer_dtype={dtype})",
        flush=True,
    )
    if config == "trec":
        try:
            X, y, X_test, y_test = trec_data()
        except OSError as exc:
            print(f"skipped: {exc}")
            return
    else:
        X, y, X_test, y_test = xmc_data(CONFIGS[config]["n_labels"], n_train)
    print(f"{X.shape[0]:,} training samples")
    rate1, p1_single = single(config, X, y, X_test, y_test, epochs, seed)
    rate2, p1_dask, log, seconds = cluster(
        config,
        X,
        y,
        X_test,
        y_test,
        epochs,
        sync_every,
        combine,
        seed,
        malloc_trim,
        dtype,
    )
    metric = "accuracy" if config == "trec" else "P@1"
    print(f"| training | samples/s | {metric} |")
    print("|---|--:|--:|")
    print(f"| one process, n_jobs=2 | {rate1:,.0f} | {p1_single:.4f} |")
    print(f"| 2 workers x 1 thread | {rate2:,.0f} | {p1_dask:.4f} |")
    print(
        f"\nratios, 2 workers / one process: samples/s {rate2 / rate1:.2f} (target "
        f">= 0.8), {metric} {p1_dask / p1_single:.3f} (target >= 0.97)"
    )
    syncs = [e for e in log if e["n_samples"] > 0]
    gathered = np.mean([e["bytes_gathered"] for e in syncs])
    sent = np.mean([e["bytes_sent"] for e in syncs])
    names = ("train", "merge", "send", "fit", "update", "apply")
    # (nan: a callback without the replicas' own times, before 2026-12-03)
    parts = {k: sum(e.get(f"{k}_seconds", np.nan) for e in syncs) for k in names}
    print(
        f"{len(syncs)} syncs of {np.mean([e['n_samples'] for e in syncs]):,.0f} "
        f"samples; per sync {gathered / 2**20:.2f} MiB gathered (both updates), "
        f"{sent / 2**20:.2f} MiB sent to each replica. Wall {seconds:.1f} s: "
        f"train {parts['train']:.1f} s (the slowest replica's partial_fit "
        f"{parts['fit']:.1f} s, finding its update {parts['update']:.1f} s, the "
        f"rest sending it), merge {parts['merge']:.1f} s, send {parts['send']:.1f} "
        f"s (the slowest replica setting it {parts['apply']:.1f} s), outside the "
        f"syncs {seconds - parts['train'] - parts['merge'] - parts['send']:.1f} s "
        f"(start {log[0]['start_seconds']:.1f} s, finish "
        f"{log[-1]['finish_seconds']:.1f} s); the first sync "
        f"{log[0]['train_seconds'] + log[0]['merge_seconds']:.1f} + "
        f"{log[0]['send_seconds']:.1f} s"
    )
    per_worker = sum(e["n_samples"] for e in syncs) / parts["train"] / 2
    print(
        "projected speed-up over one machine (10 Gbit/s, measured merge time): "
        + ", ".join(
            f"{n} machines {projection(log, per_worker, n):.1f}x" for n in (8, 64)
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", action="append", choices=sorted(CONFIGS))
    parser.add_argument("--sync-every", type=int, default=8)
    parser.add_argument("--combine", choices=("sum", "mean"), default="sum")
    parser.add_argument(
        "--n-train", type=int, default=60_000, help="training samples (xmc)"
    )
    parser.add_argument("--epochs", type=int, help="default: the config's")
    parser.add_argument("--model-seed", type=int, default=0)
    parser.add_argument(
        "--transfer-dtype", choices=("float32", "float16"), default="float32"
    )
    parser.add_argument(
        "--malloc-trim",
        action="store_true",
        help="keep Dask's MALLOC_TRIM_THRESHOLD_=65536 for the workers",
    )
    args = parser.parse_args()
    import sparseclf

    print(
        f"sparseclf {sparseclf.__version__}, {datetime.date.today()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    warnings.simplefilter("ignore")  # ConvergenceWarning of one-epoch calls
    for config in args.config or list(CONFIGS):
        run(
            config,
            args.sync_every,
            args.combine,
            args.n_train,
            args.epochs,
            args.model_seed,
            args.malloc_trim,
            args.transfer_dtype,
        )


if __name__ == "__main__":
    main()
