# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The workers' side of :func:`sparseclf.dask.train`: where the data lies, and
the replicas (Dask actors) that train on it."""

import pickle
import time

import dask.array as da
import dask.bag as db
import numpy as np
import scipy.sparse as sp
from distributed import futures_of, get_worker, wait

from sparseclf._merge import Base, _network, add, apply
from sparseclf._text import TextClassifier


def find_shards(client, estimator, X, y, classes):
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


class Replica:
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

    def train_round(self, dtype="float32"):
        """``partial_fit`` on the next rows; the update (its changes in
        ``dtype``), rows, mean loss and the seconds of the fit and of finding
        the update."""
        take = self.order[self.pos : self.pos + self.rows]
        self.pos += take.size
        X, y = self.X[take], _take(self.y, take)
        t0 = time.perf_counter()
        if self.base is None:  # the round that starts the model
            self.clf.partial_fit(X, y, classes=self.classes)
            self._decorrelate()
            self.base = Base.initial(self.clf)
        else:
            with self.base.tracking(self.clf):
                self.clf.partial_fit(X, y, classes=self.classes)
        t1 = time.perf_counter()
        update = self.base.update(self.clf).astype(dtype)
        seconds = {"fit": t1 - t0, "update": time.perf_counter() - t1}
        return update, take.size, _network(self.clf).trainer.loss, seconds

    def take(self, share, combine):
        """Take the others' changes (``combine="sum"``: added to this
        replica's own) or the merge (``"mean"``: set); None: nothing to take.
        Returns the seconds it took."""
        t0 = time.perf_counter()
        if share is not None:
            take = add if combine == "sum" else apply
            take(self.clf, share, self.base, n_threads=self.clf.n_jobs)
        self.base.reset(self.clf)
        return time.perf_counter() - t0

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
