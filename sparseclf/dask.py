# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data-parallel training on a Dask cluster: :func:`train`.

Needs the optional extra ``dask`` (``pip install "sparseclf[dask]"``);
``import sparseclf`` never imports it.

Each Dask worker holding part of the data gets a replica of the model (a Dask
actor) and trains it on its own blocks with sparseclf's kernels; the blocks
never leave the worker that holds them. Every ``sync_every`` batches the
replicas report what they changed, the driver merges the changes (see
``sparseclf._merge``: rows trained by several replicas are averaged, counts
add up) and every replica takes the merge.
"""

import pickle
import time

import numpy as np

try:
    import dask.array as da
    import dask.bag as db
    from distributed import default_client, futures_of, get_worker, wait
except ImportError as exc:  # pragma: no cover - the extra is in the test extra
    raise ImportError(
        'sparseclf.dask needs dask and distributed: pip install "sparseclf[dask]"'
    ) from exc

import scipy.sparse as sp
from sklearn.base import clone
from sklearn.utils import check_random_state

from sparseclf._merge import Base, _network, apply, first_update, merge
from sparseclf._mlp import SparseMLPClassifier
from sparseclf._text import TextClassifier

__all__ = ["train"]


def train(
    estimator,
    X,
    y=None,
    *,
    classes=None,
    client=None,
    epochs=1,
    sync_every=8,
    combine="sum",
    shuffle=True,
    random_state=None,
    X_val=None,
    y_val=None,
    callback=None,
):
    """Train ``estimator`` on data spread over a Dask cluster, data-parallel.

    Each worker that holds blocks of ``X`` trains a replica of the model on
    them, ``partial_fit`` by ``partial_fit`` on ``sync_every`` batches of the
    estimator's ``batch_size`` rows at a time, with the worker's threads
    (``n_jobs``). Between those rounds the replicas' changes are merged and
    sent back to every replica: the first layer's rows of the features a
    replica trained on (by feature id, since each replica adds rows in its own
    order), the output rows its active sets touched, the hidden layers, with
    their Adam moments, and the label counts of the output sampler (summed).
    A row trained by several replicas gets the sum of their changes (or their
    mean, see ``combine``) and the mean of their moments. A replica whose
    output layer changed in the merge rebuilds its LSH tables. Only changed
    rows travel.

    With one worker and ``shuffle=False`` the model is the one a plain loop of
    ``partial_fit`` calls on the same blocks of ``sync_every * batch_size``
    rows gives, bit for bit (weights, biases, Adam moments, label counts); its
    LSH tables are rebuilt from the final weights at the end.

    Parameters
    ----------
    estimator : SparseMLPClassifier or TextClassifier
        Trained in place: from scratch if unfitted (every replica starts the
        same model from one seed; their first merge averages the first-layer
        rows each drew for the features it saw), else from its current state.
    X : dask array of shape (n_samples, n_features) or (n_samples,), dask \
            bag, or list of str
        Features (dense or scipy.sparse blocks; chunked along rows only), texts
        for a TextClassifier (a 1-D array of str), a bag of ``(text, labels)``
        records for a TextClassifier (``labels`` a label or a list of labels),
        or paths of data files (XMC for a SparseMLPClassifier, fastText for a
        TextClassifier), read on the workers (each file is one worker's
        shard, and must be readable there).
    y : dask array of shape (n_samples,) or (n_samples, n_classes), default=None
        Class labels or a label indicator matrix, chunked as ``X`` along rows.
        A block of ``y`` on another worker than its block of ``X`` is copied
        to it (labels are small); blocks of ``X`` never move. None with bags
        and files.
    classes : array-like, default=None
        Every class label, required for class labels in a dask array (bags'
        and files' labels are collected first; an indicator matrix has its
        columns).
    client : distributed.Client, default=None
        The cluster; None takes the current default client.
    epochs : int, default=1
        Passes over the data.
    sync_every : int, default=8
        Batches each replica trains between merges. Fewer merges cost less
        communication; more keep the replicas closer together (with
        ``combine="sum"``, replicas that train many batches apart can
        overshoot: see ``benchmarks/README.md``).
    combine : {"sum", "mean"}, default="sum"
        How the changes of a weight trained by several replicas combine.
        "sum" applies them all, as if the replicas' steps had been taken one
        after the other: an epoch on ``n`` replicas moves as far as on one.
        "mean" (model averaging) moves as far as one replica's share of the
        data, so it needs about ``n`` times the epochs, but stays stable where
        the sum of many replicas' steps overshoots (many replicas, a large
        ``sync_every`` or a large learning rate).
    shuffle : bool, default=True
        Each replica trains on its rows in a new random order every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the replicas' row orders and their random streams (replicas
        other than the first draw their negatives and dropout from streams of
        their own).
    X_val, y_val : array-like or sparse matrix, default=None
        Validation data, on the driver (texts for a TextClassifier). With
        them, the model is scored after every epoch (accuracy, or precision@1
        for multi-label targets), training stops when the score has not
        improved by the estimator's ``tol`` for ``n_iter_no_change`` epochs,
        and the best epoch's weights are kept: the estimator's
        ``validation_scores_`` and ``best_validation_score_`` record it.
    callback : callable, default=None
        Called after every merge with a dict: ``epoch``, ``round``,
        ``n_samples`` (trained in the round), ``loss`` (their mean),
        ``bytes_gathered`` (the replicas' updates), ``bytes_sent`` (the
        merge, to each replica), and the wall times of the round's parts:
        ``train_seconds`` (the replicas training and reporting their updates),
        ``merge_seconds`` (on the driver) and ``send_seconds`` (the replicas
        taking the merge).

    Returns
    -------
    estimator : SparseMLPClassifier or TextClassifier
        The trained estimator. If a worker fails, the error is raised and the
        estimator is left as it was before the call.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from distributed import Client, LocalCluster
    >>> from sklearn.datasets import make_classification
    >>> from sparseclf import SparseMLPClassifier
    >>> from sparseclf.dask import train
    >>> X_np, y_np = make_classification(2000, 20, n_informative=8, n_classes=4,
    ...                                  random_state=0)
    >>> clf = SparseMLPClassifier(batch_size=32, learning_rate_init=0.003,
    ...                           random_state=0)
    >>> with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
    ...                   dashboard_address=None) as cluster, Client(cluster):
    ...     X, y = da.from_array(X_np, chunks=500), da.from_array(y_np, chunks=500)
    ...     clf = train(clf, X, y, classes=[0, 1, 2, 3], epochs=5, sync_every=4,
    ...                 random_state=0)
    >>> clf.score(X_np, y_np) > 0.8
    True
    """
    if not isinstance(estimator, (SparseMLPClassifier, TextClassifier)):
        raise TypeError(
            "estimator must be a SparseMLPClassifier or a TextClassifier, got "
            f"{type(estimator).__name__}."
        )
    if combine not in ("sum", "mean"):
        raise ValueError(f"combine must be 'sum' or 'mean', got {combine!r}.")
    for name, value in (("epochs", epochs), ("sync_every", sync_every)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    client = client or default_client()
    rng = check_random_state(random_state)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be passed together.")
    fitted = estimator.__sklearn_is_fitted__()
    shards, classes = _shards(client, estimator, X, y, classes)
    start = estimator if fitted else clone(estimator)
    if not fitted and start.random_state is None:
        # The replicas start their models apart: from one seed, the same model.
        start.set_params(random_state=rng.randint(np.iinfo(np.int32).max))
    payload = pickle.dumps(start)
    seeds = rng.randint(np.iinfo(np.int32).max, size=len(shards))
    replicas = [
        client.submit(
            _Replica,
            payload,
            parts,
            kind,
            classes,
            int(seed),
            i,
            workers=[worker],
            actor=True,
            pure=False,
        ).result()
        for i, ((worker, kind, parts), seed) in enumerate(zip(shards, seeds))
    ]
    stopping = None
    if X_val is not None:
        replicas[0].set_validation(X_val, y_val).result()
        stopping = _EarlyStopping(estimator)
    rows = estimator.batch_size * sync_every
    record = _Record(estimator if fitted else None)
    for epoch in range(epochs):
        n_rounds = [r.start_epoch(epoch, rows, shuffle).result() for r in replicas]
        for round_ in range(max(n_rounds)):
            busy = [i for i, n in enumerate(n_rounds) if n > round_]
            t0 = time.perf_counter()
            results = _wait([replicas[i].train_round() for i in busy])
            t1 = time.perf_counter()
            updates = [u for u, _, _ in results]
            merged = merge(updates, combine)
            t2 = time.perf_counter()
            _wait(
                [
                    replica.take(*_share(merged, busy, i))
                    for i, replica in enumerate(replicas)
                ]
            )
            n = sum(n for _, n, _ in results)
            loss = sum(n * loss for _, n, loss in results) / n
            record.add(n, loss)
            if callback is not None:
                callback(
                    {
                        "epoch": epoch,
                        "round": round_,
                        "n_samples": n,
                        "loss": loss,
                        "bytes_gathered": sum(u.nbytes for u in updates),
                        "bytes_sent": merged.nbytes,
                        "train_seconds": t1 - t0,
                        "merge_seconds": t2 - t1,
                        "send_seconds": time.perf_counter() - t2,
                    }
                )
        record.end_epoch()
        if stopping is not None and stopping.stop(replicas[0].validate().result()):
            break
    if stopping is not None:
        replicas[0].restore_best().result()
    # The result: the first replica (its weights are the merges', its Adam
    # moments its own), with the record of every replica's training.
    final = pickle.loads(replicas[0].state().result())
    record.set_on(final, stopping)
    _finish(final, estimator, estimator.random_state)
    return estimator


def _wait(futures):
    return [f.result() for f in futures]


class _Record:
    """The training record of a ``train`` call: samples, epochs, losses."""

    def __init__(self, fitted):
        trainer = _network(fitted).trainer if fitted is not None else None
        self.t = 0 if trainer is None else trainer.t
        self.n_iter = 0 if trainer is None else trainer.n_iter
        self.loss_curve = [] if trainer is None else list(trainer.loss_curve)
        self.n = self.loss_sum = 0

    def add(self, n, loss):
        self.n += n
        self.loss_sum += n * loss

    def end_epoch(self):
        self.t += self.n
        self.n_iter += 1
        self.loss_curve.append(self.loss_sum / max(self.n, 1))
        self.n = self.loss_sum = 0

    def set_on(self, clf, stopping):
        trainer = _network(clf).trainer
        trainer.t, trainer.n_iter = self.t, self.n_iter
        trainer.loss_curve = self.loss_curve
        trainer.loss = self.loss_curve[-1] if self.loss_curve else None
        if stopping is not None:
            trainer.validation_scores = stopping.scores
            trainer.best_validation_score = max(stopping.scores)


class _EarlyStopping:
    """Stops when the validation score has not improved by the estimator's
    ``tol`` for ``n_iter_no_change`` epochs."""

    def __init__(self, estimator):
        self.patience, self.tol = estimator.n_iter_no_change, estimator.tol
        self.scores, self.waited = [], 0

    def stop(self, score):
        if self.scores and score <= max(self.scores) + self.tol:
            self.waited += 1
        else:
            self.waited = 0
        self.scores.append(score)
        return self.waited > self.patience


def _share(merged, busy, i):
    """What replica ``i`` takes of the merge of the ``busy`` replicas'
    updates: nothing if it alone trained (it has it all already), else the
    merge without what only it changed."""
    if i not in busy:
        return merged, False
    if len(busy) == 1:
        return None, True
    return merged.without(busy.index(i)), False


def _finish(final, estimator, random_state):
    """Make the final replica whole and hand its state to ``estimator``."""
    model = _network(final)
    network, sampler = model.network, model.sampler
    sampler.rebuild(network.weights[-1], 1)
    if getattr(sampler, "hub_mean", None) is not None:
        sampler.pick_hubs(network.weights[-1], network.biases[-1])
    _attributes(final)
    n_jobs = estimator.n_jobs
    estimator.__dict__.update(final.__dict__)
    estimator.set_params(n_jobs=n_jobs, random_state=random_state)


def _attributes(driver):
    """Set the fitted attributes of the driver's replica from its model."""
    mlp = getattr(driver, "classifier_", driver)
    mlp.__dict__.update(_network(driver).attributes())
    if isinstance(driver, TextClassifier):
        driver._record(mlp)


def _shards(client, estimator, X, y, classes):
    """``[(worker, kind, parts)]``: each worker's blocks (or files), and the
    classes."""
    if isinstance(X, (list, tuple)):
        if y is not None:
            raise ValueError("y must be None when X is a list of files.")
        workers = sorted(client.scheduler_info()["workers"])
        kind = "text-files" if isinstance(estimator, TextClassifier) else "xmc-files"
        by_worker = {}
        for i, path in enumerate(X):
            by_worker.setdefault(workers[i % len(workers)], []).append(path)
        if classes is None:
            classes = _file_classes(client, X, kind)
        return [(w, kind, paths) for w, paths in by_worker.items()], classes
    if isinstance(X, db.Bag):
        if y is not None or not isinstance(estimator, TextClassifier):
            raise ValueError(
                "A bag holds (text, labels) records for a TextClassifier, with y=None."
            )
        X = client.persist(X)
        parts = _block_futures(X)
        wait(parts)
        who = client.who_has(parts)
        by_worker = {}
        for part in parts:
            by_worker.setdefault(sorted(who[part.key])[0], []).append(part)
        if classes is None:
            labels = client.gather(client.map(_record_labels, parts, pure=False))
            classes = np.array(sorted(set().union(*labels)))
        return [(w, "records", p) for w, p in by_worker.items()], classes
    if not isinstance(X, da.Array) or not isinstance(y, da.Array):
        raise TypeError(
            "X and y must be dask arrays, or X a dask bag of (x, y) records or "
            "a list of file paths."
        )
    if X.ndim == 2 and X.numblocks[1] != 1:
        raise ValueError("X must be chunked along rows only (one column chunk).")
    if X.chunks[0] != y.chunks[0]:
        raise ValueError(
            f"X and y must have the same row chunks, got {X.chunks[0]} and "
            f"{y.chunks[0]}."
        )
    if classes is None and y.ndim == 1:
        raise ValueError("classes must be given for class labels y.")
    X, y = client.persist([X, y])
    x_parts = _block_futures(X)
    y_parts = _block_futures(y)
    wait(x_parts + y_parts)
    who = client.who_has(x_parts)
    by_worker = {}
    for xf, yf in zip(x_parts, y_parts):
        by_worker.setdefault(sorted(who[xf.key])[0], []).append((xf, yf))
    kind = "text" if X.ndim == 1 else "features"
    return [(w, kind, parts) for w, parts in by_worker.items()], classes


def _block_futures(array):
    """The futures of a persisted dask array's blocks (or a bag's
    partitions), in row order."""
    by_key = {f.key: f for f in futures_of(array)}
    keys = array.__dask_keys__()
    while keys and isinstance(keys[0], list) and isinstance(keys[0][0], list):
        keys = [k[0] for k in keys]  # one column chunk
    return [by_key[k[0] if isinstance(k, list) else k] for k in keys]


def _record_labels(records):
    """The labels of a bag partition's ``(x, y)`` records (``y`` a label or a
    list of labels)."""
    labels = set()
    for _, y in records:
        labels.update(y if isinstance(y, (list, tuple, set)) else [y])
    return labels


def _from_records(parts):
    """X (a list) and y (an array, or label lists) of ``(x, y)`` records."""
    records = [r for part in parts for r in part]
    X = [x for x, _ in records]
    y = [y for _, y in records]
    if any(isinstance(t, (list, tuple, set)) for t in y):
        return X, [list(t) if isinstance(t, (list, tuple, set)) else [t] for t in y]
    return X, np.asarray(y)


def _file_classes(client, paths, kind):
    """Every label of the files (read on the workers); None for XMC files."""
    if kind == "xmc-files":
        return None
    label_sets = client.gather(client.map(_file_labels, paths, pure=False))
    return np.array(sorted(set().union(*label_sets)))


def _file_labels(path):
    from sparseclf.datasets import load_fasttext

    return {label for labels in load_fasttext(path)[1] for label in labels}


def _read_files(kind, paths):
    from sparseclf.datasets import load_fasttext, load_xmc

    if kind == "xmc-files":
        parts = [load_xmc(p) for p in paths]
        return sp.vstack([p[0] for p in parts]).tocsr(), sp.vstack(
            [p[1] for p in parts]
        ).tocsr()
    texts, labels = [], []
    for path in paths:
        t, lab = load_fasttext(path)
        texts += t
        labels += lab
    if all(len(lab) == 1 for lab in labels):
        return np.asarray(texts, dtype=object), np.array([lab[0] for lab in labels])
    return np.asarray(texts, dtype=object), labels


class _Replica:
    """A model replica and its shard, living on one worker (a Dask actor)."""

    def __init__(self, payload, parts, kind, classes, seed, index):
        if kind in ("xmc-files", "text-files"):
            self.X, self.y = _read_files(kind, parts)
        elif kind == "records":
            self.X, self.y = _from_records(parts)
            self.X = np.asarray(self.X, dtype=object)
        else:
            xs, ys = [p[0] for p in parts], [p[1] for p in parts]
            self.X = (
                sp.vstack(xs).tocsr()
                if any(sp.issparse(x) for x in xs)
                else np.concatenate(xs)
            )
            self.y = sp.vstack(ys).tocsr() if sp.issparse(ys[0]) else np.concatenate(ys)
        self.n = self.X.shape[0]
        self.classes = classes
        self.index = index
        self.seed = seed
        self.clf = pickle.loads(payload)
        self.clf.set_params(n_jobs=get_worker().state.nthreads)
        self.base = None
        if self.clf.__sklearn_is_fitted__():
            self.base = Base(self.clf)
            self._decorrelate()

    def _decorrelate(self):
        # The first replica keeps the estimator's own random stream (one worker
        # trains as a plain partial_fit loop); the others draw from their own.
        if self.index > 0:
            _network(self.clf).trainer.rng = np.random.RandomState(self.seed)

    def start_epoch(self, epoch, rows, shuffle):
        """Order this epoch's rows; the number of rounds it takes."""
        rng = np.random.RandomState((self.seed + epoch) % 2**32)
        self.order = rng.permutation(self.n) if shuffle else np.arange(self.n)
        self.rows, self.pos = rows, 0
        return -(-self.n // rows)

    def train_round(self):
        """``partial_fit`` on the next rows; the update, rows and mean loss."""
        take = self.order[self.pos : self.pos + self.rows]
        self.pos += take.size
        X, y = self.X[take], _take(self.y, take)
        self.clf.partial_fit(X, y, classes=self.classes)
        loss = _network(self.clf).trainer.loss
        if self.base is None:  # the round that started the model
            self._decorrelate()
            return first_update(self.clf), take.size, loss
        return self.base.update(self.clf), take.size, loss

    def take(self, merged, sole):
        """Set the replica to the merge (``sole``: the merge is this replica's
        own update alone, which it has already)."""
        if not sole:
            apply(self.clf, merged, base=self.base, n_threads=self.clf.n_jobs)
        self.base = Base(self.clf)

    def state(self):
        return pickle.dumps(self.clf)

    def set_validation(self, X, y):
        self.X_val, self.y_val = X, y
        self.best = self.best_state = None

    def validate(self):
        """The validation score (accuracy, or P@1 for multi-label targets);
        the weights are kept when it is the best so far."""
        clf = self.clf
        if clf.target_type_ != "multilabel-indicator":
            score = float(np.mean(clf.predict(self.X_val) == np.asarray(self.y_val)))
        else:
            from sparseclf.metrics import precision_at_k

            top, _ = clf.predict_topk(self.X_val, k=1)
            y = self.y_val
            if sp.issparse(y) or (isinstance(y, np.ndarray) and y.ndim == 2):
                top = np.searchsorted(clf.classes_, top)  # indicator columns
            score = precision_at_k(y, top, k=1)
        if self.best is None or score > self.best:
            self.best, self.best_state = score, _network(clf).network.snapshot()
        return score

    def restore_best(self):
        _network(self.clf).network.restore(self.best_state)


def _take(y, rows):
    if isinstance(y, list):
        return [y[i] for i in rows]
    return y[rows]
