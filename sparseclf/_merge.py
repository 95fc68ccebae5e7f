# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data-parallel training's bookkeeping: what replicas changed, and their merge.

Replicas of one model train on different shards; every few batches each
replica reports what it changed since the last merge (an ``Update``), the
updates are merged, and every replica takes the merge. Only what changed
travels: the first layer's rows of the features a replica trained on (keyed by
feature id, since each replica numbers its rows in its own order), the output
rows its active sets touched, the small hidden layers whole.

A row changed by several replicas gets its common start plus the sum of their
changes, and the mean of their Adam moments (see :func:`merge`); a row one
replica changed keeps that replica's value. Counts add up: the output
sampler's label counts and the targets' label and sample counts.
"""

from dataclasses import dataclass, field

import numpy as np

from sparseclf._sampler import OutputSampler


def _network(clf):
    """The SparseMLPClassifier model inside ``clf`` (or a TextClassifier's)."""
    return getattr(clf, "classifier_", clf)._model


@dataclass
class Update:
    """What a replica changed since its last ``Base``, as new values.

    ``rows`` maps a part's name to ``(keys, arrays)``: the keys (feature ids
    for the first layer, output ids for the output layer and its bias) and,
    for each key, the new weight row and its two Adam moments.
    """

    rows: dict = field(default_factory=dict)
    dense: list = field(default_factory=list)  # (w, m, v) of hidden layers 1..
    biases: list = field(default_factory=list)  # (b, m, v) of hidden layers
    steps: int = 0
    label_counts: tuple = None  # (ids, added counts) of the output sampler
    hub_mean: np.ndarray = None
    n_labels: int = 0  # the targets' counts behind mean_labels
    n_samples: int = 0

    @property
    def nbytes(self):
        """Bytes of the arrays an update carries."""
        arrays = [a for keys, values in self.rows.values() for a in (keys, *values)]
        arrays += [a for part in self.dense + self.biases for a in part]
        if self.label_counts is not None:
            arrays += list(self.label_counts)
        return sum(a.nbytes for a in arrays)


class Base:
    """A replica's state at the last merge, to find what it changed since."""

    def __init__(self, clf):
        model = _network(clf)
        net = model.network
        self.n_rows = net.n_rows
        self.step = net.step
        self.w0 = net.weights[0][: net.n_rows].copy()
        self.m0 = net.m_w[0][: net.n_rows].copy()
        self.weights = [w.copy() for w in net.weights[1:]]
        self.m_w = [m.copy() for m in net.m_w[1:]]
        self.biases = [b.copy() for b in net.biases]
        self.m_b = [m.copy() for m in net.m_b]
        sampler = model.sampler
        self.label_counts = getattr(sampler, "label_counts", None)
        if self.label_counts is not None:
            self.label_counts = self.label_counts.copy()
        self.n_labels = model.targets.n_labels
        self.n_samples = model.targets.n_samples

    def update(self, clf):
        """The :class:`Update` of ``clf`` since this base."""
        model = _network(clf)
        net = model.network
        out = Update(steps=net.step - self.step)
        # First layer: the features whose row is new or changed, by feature id.
        w, m, v = (a[: net.n_rows] for a in (net.weights[0], net.m_w[0], net.v_w[0]))
        changed = np.zeros(net.n_rows, dtype=bool)
        changed[self.n_rows :] = True
        changed[: self.n_rows] = _rows_changed(
            (w[: self.n_rows], self.w0), (m[: self.n_rows], self.m0)
        )
        changed[0] = False  # the shared zero row of unseen features
        features = _features_of_rows(net.rows, np.flatnonzero(changed))
        r = net.rows[features]
        out.rows["input"] = (features, (w[r], m[r], v[r]))
        # Hidden-to-hidden layers whole (small); the output layer by rows.
        last = len(net.weights) - 1
        for k in range(1, last):
            out.dense.append((net.weights[k], net.m_w[k], net.v_w[k]))
        rows = np.flatnonzero(
            _rows_changed(
                (net.weights[last], self.weights[-1]), (net.m_w[last], self.m_w[-1])
            )
        )
        out.rows["output"] = (
            rows,
            (net.weights[last][rows], net.m_w[last][rows], net.v_w[last][rows]),
        )
        for k in range(last):
            out.biases.append((net.biases[k], net.m_b[k], net.v_b[k]))
        b, mb, vb = net.biases[last], net.m_b[last], net.v_b[last]
        ids = np.flatnonzero((b != self.biases[-1]) | (mb != self.m_b[-1]))
        out.rows["output_bias"] = (ids, (b[ids], mb[ids], vb[ids]))
        sampler = model.sampler
        if self.label_counts is not None:
            added = sampler.label_counts - self.label_counts
            ids = np.flatnonzero(added)
            out.label_counts = (ids, added[ids])
            out.hub_mean = sampler.hub_mean
        out.n_labels = model.targets.n_labels - self.n_labels
        out.n_samples = model.targets.n_samples - self.n_samples
        return out


def _rows_changed(*pairs):
    """Rows where any of the (new, old) array pairs differ."""
    changed = None
    for new, old in pairs:
        diff = (new != old).any(axis=1)
        changed = diff if changed is None else changed | diff
    return changed


def _features_of_rows(rows_of_features, rows):
    """The feature ids whose first-layer row is among ``rows``."""
    mask = np.zeros(max(int(rows_of_features.max(initial=0)) + 1, 1), dtype=bool)
    mask[rows] = True
    return np.flatnonzero(mask[rows_of_features]).astype(np.int64)


def _merge_by_key(parts, reference):
    """Merge ``(keys, (weights, m, v))`` parts by key (see :func:`merge`).

    ``reference(keys)``: the common starting value of the keys' weight rows
    and whether each key had one. Returns ``(keys, arrays)``, keys sorted.
    """
    parts = [p for p in parts if p[0].size]
    if not parts:
        return None
    keys = np.concatenate([k for k, _ in parts])
    order = np.argsort(keys, kind="stable")
    if len(parts) == 1:
        return keys[order], [a[order] for a in parts[0][1]]
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    shape = (-1, *([1] * (parts[0][1][0].ndim - 1)))
    merged = []
    for j in range(len(parts[0][1])):
        values = np.concatenate([a[j] for _, a in parts])
        total = np.zeros((unique.size, *values.shape[1:]), dtype=np.float64)
        np.add.at(total, inverse, values)
        mean = total / counts.reshape(shape)
        if j == 0 and reference is not None:
            # Weights: the start plus every replica's change (a mean where
            # there is no common start: a first-layer row new to them all).
            start, known = reference(unique)
            summed = total - (counts - 1).reshape(shape) * start
            mean = np.where(known.reshape(shape), summed, mean)
        # A key only one part holds keeps its value exactly.
        lone = np.flatnonzero(counts == 1)
        first = np.empty(unique.size, dtype=np.int64)
        first[inverse[::-1]] = np.arange(keys.size)[::-1]
        mean[lone] = values[first[lone]]
        merged.append(mean.astype(values.dtype))
    return unique, merged


def _references(clf):
    """For each row part, ``keys -> (start rows, had a row)`` of replica
    ``clf``, the state all the merged updates started from."""
    net = _network(clf).network

    def first_layer(features):
        rows = net.rows[features]
        return net.weights[0][rows], rows != 0

    def rows_of(array):
        return lambda ids: (array[ids], np.ones(ids.size, dtype=bool))

    return {
        "input": first_layer,
        "output": rows_of(net.weights[-1]),
        "output_bias": rows_of(net.biases[-1]),
        "dense": net.weights[1:-1],
        "biases": net.biases,
    }


def merge(updates, reference=None):
    """One :class:`Update` holding the merge of ``updates``.

    Adam's moments are averaged over the updates that changed them. Weights
    too without ``reference``; with it (a replica in the state every update
    started from), a weight becomes its start plus the sum of the updates'
    changes: each replica's steps count, as if taken one after the other,
    where averaging would make ``n`` replicas' steps count as one. Values only
    one update changed come out unchanged (bit for bit), so that a lone
    replica trains exactly as the model would alone. Counts add up; the step
    count becomes the largest update's.
    """
    updates = [u for u in updates if u is not None]
    refs = _references(reference) if reference is not None else {}
    out = Update()
    for name in updates[0].rows:
        merged = _merge_by_key([u.rows[name] for u in updates], refs.get(name))
        if merged is not None:
            out.rows[name] = merged
    for attr in ("dense", "biases"):
        parts = list(zip(*(getattr(u, attr) for u in updates)))
        starts = refs.get(attr, [None] * len(parts))
        setattr(out, attr, [_merge_whole(g, w) for g, w in zip(parts, starts)])
    out.steps = max(u.steps for u in updates)
    counted = [u.label_counts for u in updates if u.label_counts is not None]
    if counted:
        ids = np.concatenate([c[0] for c in counted])
        added = np.concatenate([c[1] for c in counted])
        unique, inverse = np.unique(ids, return_inverse=True)
        out.label_counts = (unique, np.bincount(inverse, weights=added))
        hubs = [(u.hub_mean,) for u in updates if u.hub_mean is not None]
        out.hub_mean = _merge_whole(hubs, None)[0] if hubs else None
    out.n_labels = sum(u.n_labels for u in updates)
    out.n_samples = sum(u.n_samples for u in updates)
    return out


def _merge_whole(group, start):
    """Merge whole arrays ``(weights, m, v)`` as :func:`merge` merges rows."""
    if len(group) == 1:
        return group[0]
    out = []
    for j in range(len(group[0])):
        total = np.sum([g[j] for g in group], axis=0, dtype=np.float64)
        if j == 0 and start is not None:
            merged = total - (len(group) - 1) * start
        else:
            merged = total / len(group)
        out.append(merged.astype(group[0][j].dtype))
    return tuple(out)


def apply(clf, merged, base=None, rebuild=True, n_threads=1):
    """Set replica ``clf`` to the merge ``merged``.

    ``base``: the replica's state at the last merge, when it trained since
    (its counts then restart from there; None: it has not changed since).
    ``rebuild``: rebuild the output sampler's tables from the merged layer.
    """
    model = _network(clf)
    net, sampler, targets = model.network, model.sampler, model.targets
    if "input" in merged.rows:
        features, (w, m, v) = merged.rows["input"]
        net.add_inputs(features)
        r = net.rows[features]
        net.weights[0][r], net.m_w[0][r], net.v_w[0][r] = w, m, v
    last = len(net.weights) - 1
    for k, (w, m, v) in enumerate(merged.dense, start=1):
        net.weights[k][...], net.m_w[k][...], net.v_w[k][...] = w, m, v
    if "output" in merged.rows:
        rows, (w, m, v) = merged.rows["output"]
        net.weights[last][rows], net.m_w[last][rows], net.v_w[last][rows] = w, m, v
    for k, (b, mb, vb) in enumerate(merged.biases):
        net.biases[k][...], net.m_b[k][...], net.v_b[k][...] = b, mb, vb
    if "output_bias" in merged.rows:
        ids, (b, mb, vb) = merged.rows["output_bias"]
        net.biases[last][ids], net.m_b[last][ids], net.v_b[last][ids] = b, mb, vb
    net.step = (net.step if base is None else base.step) + merged.steps
    net._changed()
    targets.n_labels = (
        targets.n_labels if base is None else base.n_labels
    ) + merged.n_labels
    targets.n_samples = (
        targets.n_samples if base is None else base.n_samples
    ) + merged.n_samples
    if isinstance(sampler, OutputSampler):
        counts = (sampler.label_counts if base is None else base.label_counts).copy()
        if merged.label_counts is not None:
            ids, added = merged.label_counts
            counts[ids] += added
        sampler.label_counts = counts
        cdf = np.cumsum(counts + 1.0)
        sampler.negative_cdf = cdf / cdf[-1]
        sampler.hub_mean = merged.hub_mean
        sampler.hub_wait = 0  # pick the hubs of the merged layer at the next step
        if rebuild:
            sampler.rebuild(net.weights[-1], n_threads)
