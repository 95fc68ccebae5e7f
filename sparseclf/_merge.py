# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data-parallel training's bookkeeping: what replicas changed, and their merge.

Replicas of one model train on different shards; every few batches each
replica reports what it changed since the last merge (an ``Update``), and
each replica adds the others' changes to its own (:func:`add`) or is set to
the merge of all (:func:`apply`). Only changed weights travel, as changes
from the last merge: the first layer's rows of the features a replica trained
on (keyed by feature id, since each replica numbers its rows in its own
order; a feature's row starts where every replica draws it, from the
feature's id), the output rows its active sets touched, the small hidden
layers whole. Each replica keeps its own Adam moments (a row's moments
describe the gradients that replica saw), so a merge moves a third of what
the weights and both moments would.

The changes several replicas made to a weight add up, or are averaged (see
:func:`merge`); counts add up: the output sampler's label counts and the
targets' label and sample counts.
"""

import functools
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.utils import check_random_state

from sparseclf._network import Network
from sparseclf._sampler import OutputSampler


def _network(clf):
    """The SparseMLPClassifier model inside ``clf`` (or a TextClassifier's)."""
    return getattr(clf, "classifier_", clf)._model


@dataclass
class Update:
    """What a replica changed since its last ``Base`` (or a merge of those).

    ``rows`` maps a part's name to ``(keys, values, owner)``: the keys (feature
    ids for the first layer's ``"input"``, output ids for ``"output"`` and
    ``"output_bias"``), their changes, and in a merge, for each key, the update
    that alone changed it (-1: several). ``dense`` holds the changes of the
    hidden layers' weights and ``biases`` of the hidden biases, whole (None
    where unchanged), with ``dense_owner`` / ``biases_owner`` likewise.
    """

    rows: dict = field(default_factory=dict)
    dense: list = field(default_factory=list)
    biases: list = field(default_factory=list)
    dense_owner: list = field(default_factory=list)
    biases_owner: list = field(default_factory=list)
    steps: int = 0
    label_counts: tuple = None  # (ids, added counts) of the output sampler
    hub_mean: np.ndarray = None
    n_labels: int = 0  # the targets' counts behind mean_labels
    n_samples: int = 0

    @property
    def nbytes(self):
        """Bytes of the arrays the update carries."""
        arrays = [a for keys, values, _ in self.rows.values() for a in (keys, values)]
        arrays += [a for a in self.dense + self.biases if a is not None]
        if self.label_counts is not None:
            arrays += list(self.label_counts)
        return sum(a.nbytes for a in arrays)

    def astype(self, dtype):
        """This update with its changes in ``dtype`` (float16 halves the
        bytes that travel; merges add them up in float32)."""

        def cast(arrays):
            return [None if a is None else a.astype(dtype, copy=False) for a in arrays]

        rows = {
            name: (keys, values.astype(dtype, copy=False), owner)
            for name, (keys, values, owner) in self.rows.items()
        }
        return replace(
            self, rows=rows, dense=cast(self.dense), biases=cast(self.biases)
        )

    def others(self, update, index):
        """This sum of updates less ``update``, the one merged as ``index``:
        what the other replicas changed, for :func:`add`."""
        out = Update(
            steps=self.steps,
            hub_mean=self.hub_mean,
            n_labels=self.n_labels - update.n_labels,
            n_samples=self.n_samples - update.n_samples,
        )
        for name, (keys, values, owners) in self.rows.items():
            own_keys, own, _ = update.rows[name]
            values = values.copy()
            values[np.searchsorted(keys, own_keys)] -= own
            keep = owners != index
            out.rows[name] = (keys[keep], values[keep], owners[keep])
        for attr in ("dense", "biases"):
            totals, owners = getattr(self, attr), getattr(self, f"{attr}_owner")
            mine = getattr(update, attr)
            setattr(
                out,
                attr,
                [
                    None if o == index else t if m is None else t - m
                    for t, o, m in zip(totals, owners, mine)
                ],
            )
        if self.label_counts is not None:
            ids, added = self.label_counts
            added = added.copy()
            if update.label_counts is not None:
                own_ids, own = update.label_counts
                added[np.searchsorted(ids, own_ids)] -= own
            out.label_counts = (ids, added)
        return out

    def without(self, owner):
        """This merge without what only update ``owner`` changed (its replica
        has those values already)."""
        out = Update(
            steps=self.steps,
            label_counts=self.label_counts,
            hub_mean=self.hub_mean,
            n_labels=self.n_labels,
            n_samples=self.n_samples,
        )
        for name, (keys, values, owners) in self.rows.items():
            keep = owners != owner
            out.rows[name] = (keys[keep], values[keep], owners[keep])
        for attr in ("dense", "biases"):
            arrays, owners = getattr(self, attr), getattr(self, f"{attr}_owner")
            setattr(
                out, attr, [None if o == owner else a for a, o in zip(arrays, owners)]
            )
        return out


class Base:
    """A replica's state at the last merge, to find what it changed since.

    The wide layers are not copied: training tells the base, before each
    step, the first-layer rows and output rows the step may change (see
    :meth:`tracking`), and the base keeps those rows' values the first time
    (copy on write). Its update holds the kept rows that changed; rows it
    never kept are as they were; a first-layer row added since the base was
    where the network draws it (``Network.initial_rows``). The small layers,
    biases and counts are copied whole.
    """

    def __init__(self, clf):
        model = _network(clf)
        net = model.network
        self.inputs = _KeptRows(net.weights[0].shape[1])
        self.outputs = _KeptRows(net.weights[-1].shape[1])
        self.reset(clf)

    @classmethod
    def initial(cls, clf):
        """The base of ``clf``'s first training: its model before any step.

        Replicas that started one model from one integer seed share this
        start (their first-layer rows are drawn from the features' ids), so
        their first rounds merge as changes, as any other. The start is drawn
        again from the seed and checked against the model; its output layer
        is kept whole, so the first update needs no tracking.
        """
        model = _network(clf)
        net = model.network
        seed = getattr(clf, "classifier_", clf).random_state
        if not isinstance(seed, (int, np.integer)):
            raise ValueError(
                "A replica's start is drawn again from its seed: random_state "
                f"must be an int, got {seed!r}."
            )
        hidden = [w.shape[1] for w in net.weights[:-1]]
        start = Network(net.n_features, hidden, net.n_outputs, check_random_state(seed))
        if start._row_key != net._row_key:
            raise RuntimeError("The replica's model did not start from its seed.")
        base = cls.__new__(cls)
        base.inputs = _KeptRows(hidden[0])
        base.inputs.clear(1)  # no first-layer row yet: each is where it is drawn
        base.outputs = _KeptRows(hidden[-1])
        base.outputs.clear(net.n_outputs)
        base.outputs.keep(start.weights[-1], np.arange(net.n_outputs))
        base.weights = start.weights[1:-1]
        base.n_rows = 1
        base.step = base.n_seen = 0
        base.complete = True
        base.biases = start.biases
        counts = getattr(model.sampler, "label_counts", None)
        base.label_counts = None if counts is None else np.zeros_like(counts)
        base.n_labels = base.n_samples = 0
        return base

    def reset(self, clf):
        """Make ``clf``'s current state the base (after it took a merge)."""
        model = _network(clf)
        net = model.network
        self.complete = False  # the wide layers' rows are kept as steps come
        self.inputs.clear(net.n_rows)
        self.outputs.clear(net.n_outputs)
        self.weights = [w.copy() for w in net.weights[1:-1]]
        self.n_rows = net.n_rows
        self.step = net.step
        self.n_seen = 0
        self.biases = [b.copy() for b in net.biases]
        counts = getattr(model.sampler, "label_counts", None)
        self.label_counts = None if counts is None else counts.copy()
        self.n_labels = model.targets.n_labels
        self.n_samples = model.targets.n_samples

    @contextmanager
    def tracking(self, clf):
        """Within it, ``clf``'s training steps report the rows they may change
        to this base, which keeps their values first."""
        trainer = _network(clf).trainer
        net = _network(clf).network
        trainer.before_step = functools.partial(self._keep, net)
        try:
            yield self
        finally:
            del trainer.before_step  # the class's None again: not pickled

    def _keep(self, net, rows, active):
        self.n_seen += 1
        self.inputs.keep(net.weights[0], rows)
        W = net.weights[-1]
        if active is None:  # every output
            self.outputs.keep(W, np.arange(W.shape[0]))
            return
        own, n_own = active.own, np.asarray(active.n_own)
        valid = np.arange(own.shape[1]) < n_own[:, None]
        self.outputs.keep(W, np.concatenate([own[valid], active.pool]))

    def input_rows(self, net, features):
        """The first-layer rows of ``features`` at the base: kept, else as
        they are in ``net``, or where they are drawn if new since the base
        (or absent from ``net``)."""
        rows = net.rows[features]
        new = (rows >= self.n_rows) | (rows == 0)
        out = np.empty((features.size, net.weights[0].shape[1]), dtype=np.float32)
        out[~new] = self.inputs.at(net.weights[0], rows[~new])
        out[new] = net.initial_rows(features[new])
        return out

    def update(self, clf):
        """The :class:`Update` of ``clf`` since this base."""
        model = _network(clf)
        net = model.network
        if not self.complete and self.n_seen != net.step - self.step:
            raise RuntimeError(
                f"{net.step - self.step} steps since the base, {self.n_seen} of "
                "them tracked: train within Base.tracking."
            )
        out = Update(steps=net.step - self.step)
        w = net.weights[0]
        kept = self.inputs.ids()
        delta = w[kept] - self.inputs.values()  # row kept[i]'s change is delta[i]
        changed = np.zeros(net.n_rows, dtype=bool)
        changed[kept[delta.any(axis=1)]] = True
        changed[self.n_rows :] = True  # rows new since the base
        changed[0] = False  # the shared zero row of unseen features
        features = _features_of_rows(net.rows, changed)
        rows = net.rows[features]
        new = rows >= self.n_rows
        change = np.empty((features.size, w.shape[1]), dtype=w.dtype)
        change[~new] = delta[self.inputs.slot[rows[~new]]]
        change[new] = w[rows[new]] - net.initial_rows(features[new])
        out.rows["input"] = _part(features, change)
        last = len(net.weights) - 1
        for k in range(1, last):
            change = net.weights[k] - self.weights[k - 1]
            out.dense.append(change if change.any() else None)
        W = net.weights[last]
        ids = self.outputs.ids()
        change = W[ids] - self.outputs.values()
        moved = np.flatnonzero(change.any(axis=1))
        moved = moved[np.argsort(ids[moved])]  # by output id
        out.rows["output"] = _part(ids[moved], change[moved])
        for k in range(last):
            change = net.biases[k] - self.biases[k]
            out.biases.append(change if change.any() else None)
        b, b0 = net.biases[last], self.biases[-1]
        ids = np.sort(ids)
        ids = ids[b[ids] != b0[ids]]  # an output bias changes with its row
        out.rows["output_bias"] = _part(ids, b[ids] - b0[ids])
        _counts(out, model, self)
        return out


class _KeptRows:
    """The values some rows of a layer had at the last merge, kept the first
    time a training step may change them."""

    def __init__(self, width):
        self.width = width
        self.slot = np.full(0, -1, dtype=np.int64)  # row -> place in _values
        self._ids = np.empty(0, dtype=np.int64)
        self._values = np.empty((0, width), dtype=np.float32)
        self.count = 0

    def clear(self, n_rows):
        """Forget the kept rows; rows from ``n_rows`` on are new (not kept)."""
        self.slot[self._ids[: self.count]] = -1
        if n_rows > self.slot.size:
            grown = np.full(n_rows, -1, dtype=np.int64)
            grown[: self.slot.size] = self.slot
            self.slot = grown
        self.n_rows = n_rows
        self.count = 0

    def keep(self, W, rows):
        """Keep the values in ``W`` of ``rows`` not kept yet."""
        rows = np.asarray(rows)
        if rows.size and rows.max() >= self.n_rows:
            rows = rows[rows < self.n_rows]
        rows = rows[self.slot[rows] < 0]
        if rows.size == 0:
            return
        # Each row once, without a sort: of a row's places in ``rows``, the
        # last written into ``slot`` is the one read back.
        places = np.arange(rows.size)
        self.slot[rows] = places
        rows = rows[self.slot[rows] == places]
        start, stop = self.count, self.count + rows.size
        if stop > self._ids.size:
            cap = max(stop, 2 * self._ids.size)
            for name in ("_ids", "_values"):
                old = getattr(self, name)
                grown = np.empty((cap, *old.shape[1:]), dtype=old.dtype)
                grown[:start] = old[:start]
                setattr(self, name, grown)
        self._ids[start:stop] = rows
        self._values[start:stop] = W[rows]
        self.slot[rows] = np.arange(start, stop)
        self.count = stop

    def ids(self):
        """The kept rows."""
        return self._ids[: self.count]

    def values(self):
        """Their kept values, in the order of :meth:`ids`."""
        return self._values[: self.count]

    def at(self, W, rows):
        """The values of ``rows`` at the last merge: kept, else still in ``W``
        (rows below ``n_rows`` only)."""
        out = W[rows]
        slot = self.slot[rows]
        kept = slot >= 0
        out[kept] = self._values[slot[kept]]
        return out


def _counts(out, model, base):
    """The label counts, hub mean and targets' counts an update adds."""
    counts = getattr(model.sampler, "label_counts", None)
    if counts is not None:
        added = counts - base.label_counts
        ids = np.flatnonzero(added)
        out.label_counts = (ids, added[ids])
        out.hub_mean = model.sampler.hub_mean
    targets = model.targets
    out.n_labels = targets.n_labels - base.n_labels
    out.n_samples = targets.n_samples - base.n_samples


def _part(keys, values):
    return keys, values, np.full(keys.size, -1, dtype=np.int32)


def _features_of_rows(rows_of_features, changed_rows):
    """The feature ids (sorted) whose first-layer row is flagged in
    ``changed_rows``."""
    return np.flatnonzero(changed_rows[rows_of_features]).astype(np.int64)


def merge(updates, combine="sum"):
    """One :class:`Update` holding the merge of ``updates``.

    ``combine="sum"``: a weight several updates changed takes all their
    changes, as if the replicas' steps had been taken one after the other;
    ``"mean"``: their mean (model averaging: ``n`` replicas' steps count as
    one). A weight only one update changed gets its change unchanged. Counts
    add up; the step count becomes the largest update's.
    """
    updates = [u for u in updates if u is not None]
    power = _POWER[combine]
    out = Update()
    for name in updates[0].rows:
        out.rows[name] = _merge_rows([u.rows[name] for u in updates], power)
    for attr in ("dense", "biases"):
        merged = [
            _merge_whole(g, power) for g in zip(*(getattr(u, attr) for u in updates))
        ]
        setattr(out, attr, [m for m, _ in merged])
        setattr(out, f"{attr}_owner", [o for _, o in merged])
    out.steps = max(u.steps for u in updates)
    counted = [u.label_counts for u in updates if u.label_counts is not None]
    if counted:
        ids = np.concatenate([c[0] for c in counted])
        added = np.concatenate([c[1] for c in counted])
        unique, inverse = np.unique(ids, return_inverse=True)
        out.label_counts = (unique, np.bincount(inverse, weights=added))
        hubs = [u.hub_mean for u in updates if u.hub_mean is not None]
        out.hub_mean = np.mean(hubs, axis=0) if hubs else None
    out.n_labels = sum(u.n_labels for u in updates)
    out.n_samples = sum(u.n_samples for u in updates)
    return out


# How merges scale a weight's summed changes: by k ** -power for the k updates
# that changed it.
_POWER = {"sum": 0.0, "mean": 1.0}


def _merge_rows(parts, power):
    """Merge ``(keys, values, _)`` parts by key: the sum of each key's ``k``
    values over ``k ** power`` (1: their mean). A part holds each key once;
    one value merges to itself."""

    unique, total, counts, owner = _by_key(parts)
    if power:
        scale = counts.astype(total.dtype) ** np.float32(power)
        total /= scale.reshape((-1,) + (1,) * (total.ndim - 1))
    return unique, total, owner


def _by_key(parts):
    """Sum ``(keys, values, _)`` parts by key. Returns the sorted keys, the
    sums, how many parts held each key, and the lone part holding it (-1:
    several)."""
    unique = np.unique(np.concatenate([keys for keys, _, _ in parts]))
    values = parts[0][1]
    dtype = np.promote_types(values.dtype, np.float32)
    total = np.zeros((unique.size, *values.shape[1:]), dtype=dtype)
    counts = np.zeros(unique.size, dtype=np.int32)
    owner = np.full(unique.size, -1, dtype=np.int32)
    for i, (keys, values, _) in enumerate(parts):
        at = np.searchsorted(unique, keys)
        total[at] += values
        counts[at] += 1
        owner[at] = np.where(counts[at] == 1, i, -1)
    return unique, total, counts, owner


def _merge_whole(group, power):
    """Merge whole arrays (None: unchanged) as :func:`merge` merges rows;
    returns the merge (None: unchanged) and the lone update changing it."""
    changed = [(i, a) for i, a in enumerate(group) if a is not None]
    if not changed:
        return None, -1
    if len(changed) == 1:
        return changed[0][1], changed[0][0]
    total = np.sum([a for _, a in changed], axis=0, dtype=np.float32)
    return (total / len(changed) ** power).astype(total.dtype), -1


def add(clf, others, base, n_threads=1):
    """Add the other replicas' changes ``others`` to replica ``clf``, which
    holds its own since ``base`` (``combine="sum"``): each weight becomes its
    value at the base plus every replica's change, without reading the base's
    rows. A feature new to ``clf`` starts where every replica draws it."""
    model = _network(clf)
    net, sampler, targets = model.network, model.sampler, model.targets
    features, delta, _ = others.rows["input"]
    if features.size:
        net.add_inputs(features)
        net.weights[0][net.rows[features]] += delta  # one row per feature
    last = len(net.weights) - 1
    for k, change in enumerate(others.dense, start=1):
        if change is not None:
            net.weights[k] += change
    ids, change, _ = others.rows["output"]
    net.weights[last][ids] += change
    for k, change in enumerate(others.biases):
        if change is not None:
            net.biases[k] += change
    ids, change, _ = others.rows["output_bias"]
    net.biases[last][ids] += change
    net.step = max(net.step, base.step + others.steps)
    net._changed()
    targets.n_labels += others.n_labels
    targets.n_samples += others.n_samples
    if isinstance(sampler, OutputSampler):
        if others.label_counts is not None:
            ids, added = others.label_counts
            sampler.label_counts[ids] += added
        cdf = np.cumsum(sampler.label_counts + 1.0)
        sampler.negative_cdf = cdf / cdf[-1]
        if others.hub_mean is not None and sampler.hub_mean is not None:
            sampler.hub_mean = (sampler.hub_mean + others.hub_mean) / 2
        sampler.weights_changed(net.weights[-1], n_threads)


def apply(clf, merged, base, n_threads=1):
    """Set replica ``clf`` to the merge ``merged`` of changes from ``base``,
    its state at the last merge (or its start: ``Base.initial``).

    The output sampler's tables follow the merged layer (rebuilt now if its
    training reads them, else marked out of date: see
    ``OutputSampler.weights_changed``). The replica's Adam moments stay its
    own.
    """
    model = _network(clf)
    net, sampler, targets = model.network, model.sampler, model.targets
    features, delta, _ = merged.rows["input"]
    if features.size:
        start = base.input_rows(net, features)
        net.add_inputs(features)  # the features other replicas brought
        net.weights[0][net.rows[features]] = start + delta
    last = len(net.weights) - 1
    for k, change in enumerate(merged.dense, start=1):
        if change is not None:
            net.weights[k][...] = base.weights[k - 1] + change
    ids, change, _ = merged.rows["output"]
    W = net.weights[last]
    W[ids] = base.outputs.at(W, ids) + change
    for k, change in enumerate(merged.biases):
        if change is not None:
            net.biases[k][...] = base.biases[k] + change
    ids, change, _ = merged.rows["output_bias"]
    net.biases[last][ids] = base.biases[-1][ids] + change
    net.step = merged.steps + base.step
    net._changed()
    targets.n_labels = merged.n_labels + base.n_labels
    targets.n_samples = merged.n_samples + base.n_samples
    if isinstance(sampler, OutputSampler):
        counts = base.label_counts.copy()
        if merged.label_counts is not None:
            ids, added = merged.label_counts
            counts[ids] += added
        sampler.label_counts = counts
        cdf = np.cumsum(counts + 1.0)
        sampler.negative_cdf = cdf / cdf[-1]
        # The hubs are picked again on the sampler's own schedule (every
        # _HUB_EVERY steps), from the merged layer by then: a pick reads the
        # whole output layer, and forcing one after every merge doubled them.
        sampler.hub_mean = merged.hub_mean
        sampler.weights_changed(net.weights[-1], n_threads)
