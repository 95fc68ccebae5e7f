# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data-parallel training's bookkeeping: what replicas changed, and their merge.

Replicas of one model train on different shards; every few batches each
replica reports what it changed since the last merge (an ``Update``), the
updates are merged, and every replica takes the merge. Only changed weights
travel, as changes from the last merge: the first layer's rows of the features
a replica trained on (keyed by feature id, since each replica numbers its rows
in its own order; a feature new to the model comes as its row), the output
rows its active sets touched, the small hidden layers whole. Each replica keeps
its own Adam moments (a row's moments describe the gradients that replica
saw), so a merge moves a third of what the weights and both moments would.

The changes several replicas made to a weight add up, or are averaged (see
:func:`merge`); counts add up: the output sampler's label counts and the
targets' label and sample counts.
"""

from dataclasses import dataclass, field

import numpy as np

from sparseclf._sampler import OutputSampler


def _network(clf):
    """The SparseMLPClassifier model inside ``clf`` (or a TextClassifier's)."""
    return getattr(clf, "classifier_", clf)._model


@dataclass
class Update:
    """What a replica changed since its last ``Base`` (or a merge of those).

    ``rows`` maps a part's name to ``(keys, values, owner)``: the keys (feature
    ids for the first layer's ``"input"`` and ``"input_new"``, output ids for
    ``"output"`` and ``"output_bias"``), their changes (new rows' values for
    ``"input_new"``), and in a merge, for each key, the update that alone
    changed it (-1: several). ``dense`` holds the changes of the hidden layers'
    weights and ``biases`` of the hidden biases, whole (None where unchanged),
    with ``dense_owner`` / ``biases_owner`` likewise. An ``absolute`` update
    holds values, not changes: a replica's first round, from no common start.
    """

    rows: dict = field(default_factory=dict)
    dense: list = field(default_factory=list)
    biases: list = field(default_factory=list)
    dense_owner: list = field(default_factory=list)
    biases_owner: list = field(default_factory=list)
    absolute: bool = False
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

    def without(self, owner):
        """This merge without what only update ``owner`` changed (its replica
        has those values already)."""
        out = Update(
            absolute=self.absolute,
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
    """A replica's state at the last merge, to find what it changed since."""

    def __init__(self, clf):
        model = _network(clf)
        net = model.network
        self.w0 = net.weights[0][: net.n_rows].copy()
        self.weights = [w.copy() for w in net.weights[1:]]
        self._counts(model)

    def _counts(self, model):
        net = model.network
        self.n_rows = net.n_rows
        self.step = net.step
        self.biases = [b.copy() for b in net.biases]
        counts = getattr(model.sampler, "label_counts", None)
        self.label_counts = None if counts is None else counts.copy()
        self.n_labels = model.targets.n_labels
        self.n_samples = model.targets.n_samples

    def refresh(self, clf, *updates):
        """Catch up with ``clf`` when ``updates`` (its own, and the merge it
        took) hold every row that changed since: copies only those rows of
        the wide layers instead of the whole model."""
        model = _network(clf)
        net = model.network
        w = net.weights[0]
        if net.n_rows > self.w0.shape[0]:
            grown = np.empty(
                (max(net.n_rows, 2 * self.w0.shape[0]), w.shape[1]), w.dtype
            )
            grown[: self.n_rows] = self.w0[: self.n_rows]
            self.w0 = grown
        features = [u.rows[n][0] for u in updates for n in ("input", "input_new")]
        rows = net.rows[np.concatenate(features)]
        self.w0[rows] = w[rows]
        for k, w in enumerate(net.weights[1:-1]):
            self.weights[k][...] = w
        ids = np.concatenate([u.rows["output"][0] for u in updates])
        self.weights[-1][ids] = net.weights[-1][ids]
        self._counts(model)

    def update(self, clf):
        """The :class:`Update` of ``clf`` since this base."""
        model = _network(clf)
        net = model.network
        out = Update(steps=net.step - self.step)
        w = net.weights[0][: net.n_rows]
        changed = np.ones(net.n_rows, dtype=bool)
        changed[: self.n_rows] = (w[: self.n_rows] != self.w0[: self.n_rows]).any(
            axis=1
        )
        changed[0] = False  # the shared zero row of unseen features
        features = _features_of_rows(net.rows, changed)
        rows = net.rows[features]
        new = rows >= self.n_rows
        old = ~new
        out.rows["input"] = _part(features[old], w[rows[old]] - self.w0[rows[old]])
        out.rows["input_new"] = _part(features[new], w[rows[new]])
        last = len(net.weights) - 1
        for k in range(1, last):
            change = net.weights[k] - self.weights[k - 1]
            out.dense.append(change if change.any() else None)
        W, W0 = net.weights[last], self.weights[-1]
        ids = np.flatnonzero((W != W0).any(axis=1))
        out.rows["output"] = _part(ids, W[ids] - W0[ids])
        for k in range(last):
            change = net.biases[k] - self.biases[k]
            out.biases.append(change if change.any() else None)
        b, b0 = net.biases[last], self.biases[-1]
        ids = np.flatnonzero(b != b0)
        out.rows["output_bias"] = _part(ids, b[ids] - b0[ids])
        _counts(out, model, self)
        return out


def first_update(clf):
    """The absolute :class:`Update` of a replica's first round: every row it
    has, as values (replicas started from the same seed, but their first-layer
    rows were drawn in their own orders)."""
    model = _network(clf)
    net = model.network
    out = Update(absolute=True, steps=net.step)
    features = np.flatnonzero(net.rows).astype(np.int64)
    out.rows["input"] = _part(features[:0], net.weights[0][:0])
    out.rows["input_new"] = _part(features, net.weights[0][net.rows[features]])
    last = len(net.weights) - 1
    out.dense = [w.copy() for w in net.weights[1:last]]
    ids = np.arange(net.n_outputs)
    out.rows["output"] = _part(ids, net.weights[last])
    out.biases = [b.copy() for b in net.biases[:last]]
    out.rows["output_bias"] = _part(ids, net.biases[last])
    _counts(out, model, None)
    return out


def _counts(out, model, base):
    """The label counts, hub mean and targets' counts an update adds."""
    counts = getattr(model.sampler, "label_counts", None)
    if counts is not None:
        added = counts if base is None else counts - base.label_counts
        ids = np.flatnonzero(added)
        out.label_counts = (ids, added[ids])
        out.hub_mean = model.sampler.hub_mean
    targets = model.targets
    out.n_labels = targets.n_labels - (0 if base is None else base.n_labels)
    out.n_samples = targets.n_samples - (0 if base is None else base.n_samples)


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
    one). New first-layer rows, and absolute updates (a first round), have no
    common start and get the mean of their values. A weight only one update
    changed gets its change unchanged. Counts add up; the step count becomes
    the largest update's.
    """
    updates = [u for u in updates if u is not None]
    absolute = updates[0].absolute
    mean = absolute or combine == "mean"
    out = Update(absolute=absolute)
    for name in updates[0].rows:
        parts = [u.rows[name] for u in updates]
        out.rows[name] = _merge_rows(parts, mean or name == "input_new")
    for attr in ("dense", "biases"):
        merged = [
            _merge_whole(g, mean) for g in zip(*(getattr(u, attr) for u in updates))
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


def _merge_rows(parts, mean):
    """Merge ``(keys, values, _)`` parts by key: sums (or means) of each key's
    values. A part holds each key once; the sum of one value is that value."""
    unique = np.unique(np.concatenate([keys for keys, _, _ in parts]))
    values = parts[0][1]
    total = np.zeros((unique.size, *values.shape[1:]), dtype=values.dtype)
    counts = np.zeros(unique.size, dtype=np.int32)
    owner = np.full(unique.size, -1, dtype=np.int32)
    for i, (keys, values, _) in enumerate(parts):
        at = np.searchsorted(unique, keys)
        total[at] += values
        counts[at] += 1
        owner[at] = np.where(counts[at] == 1, i, -1)
    if mean:
        total /= counts.reshape((-1,) + (1,) * (total.ndim - 1)).astype(total.dtype)
    return unique, total, owner


def _merge_whole(group, mean):
    """Merge whole arrays (None: unchanged) as :func:`merge` merges rows;
    returns the merge (None: unchanged) and the lone update changing it."""
    changed = [(i, a) for i, a in enumerate(group) if a is not None]
    if not changed:
        return None, -1
    if len(changed) == 1:
        return changed[0][1], changed[0][0]
    total = np.sum([a for _, a in changed], axis=0)
    return (total / len(changed) if mean else total).astype(total.dtype), -1


def apply(clf, merged, base=None, n_threads=1):
    """Set replica ``clf`` to the merge ``merged`` of changes from ``base``,
    its state at the last merge (None for an absolute merge: a first round).

    The output sampler's tables follow the merged layer (rebuilt now if its
    training reads them, else marked out of date: see
    ``OutputSampler.weights_changed``). The replica's Adam moments stay its
    own.
    """
    model = _network(clf)
    net, sampler, targets = model.network, model.sampler, model.targets
    absolute = merged.absolute
    features, delta, _ = merged.rows["input"]
    if features.size:  # none in an absolute merge
        rows = net.rows[features]
        net.weights[0][rows] = base.w0[rows] + delta
    features, values, _ = merged.rows["input_new"]
    if features.size:
        net.add_inputs(features)
        net.weights[0][net.rows[features]] = values
    last = len(net.weights) - 1
    for k, change in enumerate(merged.dense, start=1):
        if change is not None:
            net.weights[k][...] = change if absolute else base.weights[k - 1] + change
    ids, change, _ = merged.rows["output"]
    net.weights[last][ids] = change if absolute else base.weights[-1][ids] + change
    for k, change in enumerate(merged.biases):
        if change is not None:
            net.biases[k][...] = change if absolute else base.biases[k] + change
    ids, change, _ = merged.rows["output_bias"]
    net.biases[last][ids] = change if absolute else base.biases[-1][ids] + change
    net.step = merged.steps + (0 if absolute else base.step)
    net._changed()
    targets.n_labels = merged.n_labels + (0 if absolute else base.n_labels)
    targets.n_samples = merged.n_samples + (0 if absolute else base.n_samples)
    if isinstance(sampler, OutputSampler):
        counts = (
            np.zeros_like(sampler.label_counts)
            if absolute
            else base.label_counts.copy()
        )
        if merged.label_counts is not None:
            ids, added = merged.label_counts
            counts[ids] += added
        sampler.label_counts = counts
        cdf = np.cumsum(counts + 1.0)
        sampler.negative_cdf = cdf / cdf[-1]
        sampler.hub_mean = merged.hub_mean
        sampler.hub_wait = 0  # pick the hubs of the merged layer at the next step
        sampler.weights_changed(net.weights[-1], n_threads)
