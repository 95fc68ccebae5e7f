# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data-parallel training on a Dask cluster: :func:`train`.

Needs the optional extra ``dask`` (``pip install "sparseclf[dask]"``);
``import sparseclf`` never imports it.

Each Dask worker holding part of the data gets a replica of the model (a Dask
actor, ``sparseclf._dask_replica``) and trains it on its own blocks with
sparseclf's kernels; the blocks never leave the worker that holds them. Every
``sync_every`` batches the replicas report what they changed, and each replica
adds the others' changes to its own (or, with ``combine="mean"``, is set to
their merge; ``sparseclf._merge``).
"""

import pickle
import time

import numpy as np

try:
    from distributed import default_client

    from sparseclf._dask_replica import Replica, find_shards
except ImportError as exc:  # pragma: no cover - the extra is in the test extra
    raise ImportError(
        'sparseclf.dask needs dask and distributed: pip install "sparseclf[dask]"'
    ) from exc

from sklearn.base import clone
from sklearn.utils import check_random_state

from sparseclf._merge import _network, merge
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
    transfer_dtype="float32",
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
    (``n_jobs``). Between those rounds each replica gets the other replicas'
    changes (or their merge, see ``combine``): the first layer's rows of the
    features a replica trained on (by feature id, since each replica adds rows
    in its own order), the output rows its active sets touched, the hidden
    layers, and the label counts of the output sampler (summed). A row
    trained by several replicas gets the sum of their changes (or their mean,
    see ``combine``); each replica keeps its own Adam moments. A replica whose
    output layer changed rebuilds its LSH tables if it trains with them
    (``output_sampler="lsh"``). Only changed rows travel.

    With one worker and ``shuffle=False`` the model is the one a plain loop of
    ``partial_fit`` calls on the same blocks of ``sync_every * batch_size``
    rows gives, bit for bit (weights, biases, Adam moments, label counts); its
    LSH tables are rebuilt from the final weights at the end (with
    ``output_sampler="frequency"``, at the first
    ``predict_topk(exact=False)``).

    Parameters
    ----------
    estimator : SparseMLPClassifier or TextClassifier
        Trained in place: from scratch if unfitted (every replica starts the
        same model from one integer seed, its ``random_state`` or one drawn
        from it or from ``random_state`` here; a feature's first-layer row is
        drawn from its id, so every replica starts it alike), else from its
        current state.
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
    transfer_dtype : {"float32", "float16"}, default="float32"
        The type the changes travel in, to the driver and back; merges add
        them up in float32. "float16" halves the bytes of every merge, and
        keeps about three significant digits of each change.
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
        ``bytes_gathered`` (the replicas' updates), ``bytes_sent`` (what
        each replica gets of the merge, on average), and the wall times of
        the round's parts: ``train_seconds`` (the replicas training and
        reporting their updates),
        ``merge_seconds`` (on the driver) and ``send_seconds`` (the replicas
        taking the merge); and inside those, on the slowest replica:
        ``fit_seconds`` (its ``partial_fit``), ``update_seconds`` (finding
        what it changed) and ``apply_seconds`` (setting the merge).

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
    if transfer_dtype not in ("float32", "float16"):
        raise ValueError(
            f"transfer_dtype must be 'float32' or 'float16', got {transfer_dtype!r}."
        )
    for name, value in (("epochs", epochs), ("sync_every", sync_every)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    client = client or default_client()
    rng = check_random_state(random_state)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be passed together.")
    fitted = estimator.__sklearn_is_fitted__()
    shards, classes = find_shards(client, estimator, X, y, classes)
    start = estimator if fitted else clone(estimator)
    if not fitted and not isinstance(start.random_state, (int, np.integer)):
        # One integer seed: the replicas start the same model, and each draws
        # that start again to find its first round's changes.
        source = rng if start.random_state is None else start.random_state
        seed = check_random_state(source).randint(np.iinfo(np.int32).max)
        start.set_params(random_state=int(seed))
    payload = pickle.dumps(start)
    seeds = rng.randint(np.iinfo(np.int32).max, size=len(shards))
    # All replicas start at once: each imports sparseclf and reads its shard.
    replicas = _wait(
        [
            client.submit(
                Replica,
                payload,
                parts,
                kind,
                classes,
                int(seed),
                i,
                workers=[worker],
                actor=True,
                pure=False,
            )
            for i, ((worker, kind, parts), seed) in enumerate(zip(shards, seeds))
        ]
    )
    stopping = None
    if X_val is not None:
        replicas[0].set_validation(X_val, y_val).result()
        stopping = _EarlyStopping(estimator)
    rows = estimator.batch_size * sync_every
    record = _Record(estimator if fitted else None)
    for epoch in range(epochs):
        n_rounds = _wait([r.start_epoch(epoch, rows, shuffle) for r in replicas])
        for round_ in range(max(n_rounds)):
            busy = [i for i, n in enumerate(n_rounds) if n > round_]
            t0 = time.perf_counter()
            results = _wait([replicas[i].train_round(transfer_dtype) for i in busy])
            t1 = time.perf_counter()
            updates = [u for u, _, _, _ in results]
            shares = [
                None if share is None else share.astype(transfer_dtype)
                for share in _shares(updates, busy, len(replicas), combine)
            ]
            t2 = time.perf_counter()
            applied = _wait(
                [r.take(share, combine) for r, share in zip(replicas, shares)]
            )
            n = sum(n for _, n, _, _ in results)
            loss = sum(n * loss for _, n, loss, _ in results) / n
            record.add(n, loss)
            if callback is not None:
                callback(
                    {
                        "epoch": epoch,
                        "round": round_,
                        "n_samples": n,
                        "loss": loss,
                        "bytes_gathered": sum(u.nbytes for u in updates),
                        "bytes_sent": np.mean(
                            [0 if m is None else m.nbytes for m in shares]
                        ),
                        "train_seconds": t1 - t0,
                        "merge_seconds": t2 - t1,
                        "send_seconds": time.perf_counter() - t2,
                        "fit_seconds": max(s["fit"] for *_, s in results),
                        "update_seconds": max(s["update"] for *_, s in results),
                        "apply_seconds": max(applied),
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


def _shares(updates, busy, n, combine):
    """What each of the ``n`` replicas takes of the ``busy`` replicas'
    ``updates`` (None: nothing, it has them all).

    With ``combine="sum"`` a replica adds the others' changes to its own: of
    two replicas, each gets the other's update as it is; of more, the sum of
    all less its own. With ``"mean"`` it is set to the merge, without the rows
    it alone changed.
    """
    total = None
    if combine == "mean" or len(busy) > 2 or len(busy) < n:  # not two forwarded
        total = updates[0] if len(busy) == 1 else merge(updates, combine)
    shares = []
    for i in range(n):
        if i not in busy:
            shares.append(total)
        elif len(busy) == 1:
            shares.append(None)
        elif combine == "mean":
            shares.append(total.without(busy.index(i)))
        elif len(busy) == 2:
            shares.append(updates[1 - busy.index(i)])
        else:
            shares.append(total.others(updates[busy.index(i)], busy.index(i)))
    return shares


def _finish(final, estimator, random_state):
    """Make the final replica whole and hand its state to ``estimator``."""
    model = _network(final)
    network, sampler = model.network, model.sampler
    sampler.weights_changed(network.weights[-1], 1)
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
