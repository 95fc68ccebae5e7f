# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Which output neurons each training step computes: the output sampler.

A wide output layer trains, per sample, on an *active set*: its labels, the
neurons sharing an LSH bucket with its last hidden activation (with
``output_sampler="lsh"``), and negatives shared by the batch (hub neurons and
neurons drawn by label frequency, their logits corrected by log Q).
:class:`OutputSampler` owns all of it: the active size, the hash functions
and tables and their rebuild schedule, the hubs and the label counts.
:class:`DenseOutputs` is the same interface for an output layer that trains
densely.
"""

import math
from collections import namedtuple

import numpy as np

from sparseclf._lsh import DWTAHash, LSHTables, SimHash, active_sets
from sparseclf._persistence import writing_options

# Outputs up to this size train densely (every neuron active): hashing cannot
# save much there and costs accuracy.
_DENSE_MAX_OUTPUTS = 1000
# The automatic sparsity: BOLT's public description uses about 0.005 for wide
# outputs; below that, at least this many active neurons.
_AUTO_SPARSITY = 0.005
_AUTO_MIN_ACTIVE = 500
_AUTO_TABLES = 24
# With output_sampler="lsh", LSH candidates take at most this fraction of the
# active set (half of that on average); the rest is the batch's drawn
# negatives. Hard negatives alone bias the softmax, and the shared negatives
# are one BLAS product where candidates are gathered row by row
# (benchmarks/README.md has the measurements). The tables are sized for it
# whichever sampler trains: predict_topk(exact=False) reads them.
_MAX_CAND_FRACTION = 0.25
# What output_sampler="auto" trains with (benchmarks/README.md, "output_sampler").
_AUTO_OUTPUT_SAMPLER = "frequency"
# Every batch's negatives include the neurons scoring highest against the mean
# hidden activation, recomputed every _HUB_EVERY batches (one GEMV): such "hub"
# neurons are rarely LSH candidates (DWTA ignores the offset all activations
# share) and, updated only when sampled, took over every prediction.
_N_HUBS = 32
_HUB_EVERY = 16
_HUB_DECAY = 0.9
_PRIME = 2147483647

SamplerSettings = namedtuple(
    "SamplerSettings",
    [
        "output_sparsity",
        "hash_family",
        "n_tables",
        "hashes_per_table",
        "bucket_capacity",
        "rebuild_interval",
        "rebuild_growth",
        "rehash_every",
        "output_sampler",
    ],
)
SamplerSettings.__doc__ = "The estimator's parameters that shape the sampler."

ActiveOutputs = namedtuple(
    "ActiveOutputs", ["own", "n_own", "n_pos", "pool", "pool_offset"]
)
ActiveOutputs.__doc__ = """A batch's active outputs (``Network.train_step``'s input).

Sample ``i``'s own set is ``own[i, :n_own[i]]``: its ``n_pos[i]`` labels, then
its LSH candidates. ``pool`` (unique ids) is shared by the batch; its logits get
``pool_offset`` (None: nothing).
"""


def active_size(output_sparsity, n_outputs):
    """Output neurons computed per training sample."""
    if output_sparsity == "auto":
        if n_outputs <= _DENSE_MAX_OUTPUTS:
            return n_outputs
        m = math.ceil(max(_AUTO_SPARSITY * n_outputs, min(n_outputs, _AUTO_MIN_ACTIVE)))
    else:
        m = max(2, math.ceil(output_sparsity * n_outputs))
    return min(m, n_outputs)


def training_sampler(output_sampler):
    """What ``output_sampler`` trains with: ``"lsh"`` or ``"frequency"``."""
    return _AUTO_OUTPUT_SAMPLER if output_sampler == "auto" else output_sampler


def candidate_fraction(output_sampler):
    """The most of a training active set that LSH candidates may take."""
    return _MAX_CAND_FRACTION if training_sampler(output_sampler) == "lsh" else 0.0


def make_sampler(settings, W, rng, n_threads):
    """The sampler of output layer ``W`` (n_outputs, h_last) for ``settings``:
    an :class:`OutputSampler`, or :class:`DenseOutputs` when every neuron is
    active."""
    m = active_size(settings.output_sparsity, W.shape[0])
    if m >= W.shape[0]:
        return DenseOutputs(W.shape[0])
    return OutputSampler(settings, m, W, rng, n_threads)


def _own_sets(tables, buckets, lab_ptr, labels, m, n_out, n_threads, max_cand):
    """Each sample's labels, then up to ``max_cand`` LSH candidates."""
    return active_sets(
        tables,
        buckets,
        lab_ptr,
        labels,
        np.empty(0, dtype=np.int64),
        np.zeros(lab_ptr.shape[0] - 1, dtype=np.int64),
        m,
        n_out,
        n_threads,
        max_cand=max_cand,
    )


class DenseOutputs:
    """Every output neuron active: each sample's labels, and all the others
    as the batch's pool (no sampling, no correction)."""

    dense = True
    hash_params = None
    n_rebuilds = 0

    def __init__(self, n_outputs):
        self.n_outputs = n_outputs
        self.active_size = n_outputs
        # Only a wide dense layer's products are large enough for BLAS threads
        # to pay; smaller ones run many times slower on two threads when the
        # other core is busy (benchmarks/README.md).
        self.threaded_blas = n_outputs > _DENSE_MAX_OUTPUTS

    def count_labels(self, labels):
        """Nothing to count."""

    def sample(self, H_last, W, b, lab_ptr, labels, rng, n_threads):
        """The batch's :class:`ActiveOutputs`."""
        n_pos = np.diff(lab_ptr)
        m = min(self.n_outputs, max(1, int(n_pos.max(initial=0))))
        own, n_own = _own_sets(
            None, None, lab_ptr, labels, m, self.n_outputs, n_threads, 0
        )
        return ActiveOutputs(own, n_own, n_pos, np.arange(self.n_outputs), None)

    def after_step(self, W, rng, n_threads):
        """Nothing to rebuild."""

    def weights_changed(self, W, n_threads):
        """Nothing to rebuild."""

    @property
    def output_sampler(self):
        """None: nothing is sampled."""
        return None

    def candidates(self, H, W, k, n_threads):
        raise ValueError(
            "exact=False needs a sparse output layer (the model trained "
            "densely: active_size_ == n_classes)."
        )


class OutputSampler:
    """Active sets of a sparse output layer: labels, LSH candidates, negatives.

    Parameters
    ----------
    settings : SamplerSettings
        The estimator's parameters; the schedule fields are read at each rebuild.
    active_size : int
        Output neurons per training sample.
    W : ndarray of shape (n_outputs, h_last)
        The output layer, hashed into the first tables.
    rng : RandomState
        Draws the hash functions.
    n_threads : int
        Threads of the first build.
    """

    dense = False
    # A sparse step's BLAS products are small (batch x pool x hidden).
    threaded_blas = False

    def __init__(self, settings, active_size, W, rng, n_threads):
        self.settings = settings
        self.n_outputs = W.shape[0]
        self.active_size = active_size
        self.hash_params = self._hash_params(settings, active_size, W.shape[0])
        self.n_rebuilds = 0
        # The hash functions are drawn whichever sampler trains, so the random
        # stream after them is the same, and prediction never draws.
        self._new_hash_functions(W.shape[1], rng)
        self.stale = True  # the tables do not hold the current weights
        if self.max_candidates():
            self.rebuild(W, n_threads)
        self.next_rebuild = settings.rebuild_interval
        self.interval = float(settings.rebuild_interval)
        self.label_counts = np.zeros(self.n_outputs)
        self.negative_cdf = None
        self.hub_mean, self.hub_wait = None, 0
        self.hubs = np.empty(0, dtype=np.int64)

    @staticmethod
    def _hash_params(settings, m, n_out):
        L = _AUTO_TABLES if settings.n_tables == "auto" else settings.n_tables
        base = 8 if settings.hash_family == "dwta" else 2
        # LSH candidates fill about an eighth of the active set (at most a quarter:
        # the rest is the drawn negatives the logQ correction needs). The same
        # tables serve predict_topk(exact=False) after any sampler's training.
        c = max(1, round(m * _MAX_CAND_FRACTION / 2))
        if settings.hashes_per_table == "auto":
            # Expected candidates ~ L * n_out / base**K: pick K to make that ~c.
            K = max(1, round(math.log(max(L * n_out / c, 1.0)) / math.log(base)))
            K = min(K, 20 if base == 2 else 10)
        else:
            K = settings.hashes_per_table
        code_bits = 3 if base == 8 else 1
        capacity = (
            max(16, 4 * math.ceil(c / L))
            if settings.bucket_capacity == "auto"
            else settings.bucket_capacity
        )
        return {
            "hash_family": settings.hash_family,
            "n_tables": L,
            "hashes_per_table": K,
            "range_pow": min(K * code_bits, 20),
            "bucket_capacity": capacity,
        }

    def _new_hash_functions(self, dim, rng):
        p = self.hash_params
        cls = DWTAHash if p["hash_family"] == "dwta" else SimHash
        self.family = cls(
            dim,
            p["hashes_per_table"],
            p["n_tables"],
            p["range_pow"],
            random_state=rng.randint(_PRIME),
        )
        self.tables_seed = rng.randint(_PRIME)
        self.tables = self._empty_tables()

    def _empty_tables(self):
        p = self.hash_params
        return LSHTables(
            p["n_tables"],
            p["range_pow"],
            capacity=p["bucket_capacity"],
            random_state=self.tables_seed,
        )

    @property
    def output_sampler(self):
        """What trains the layer now: ``"lsh"`` or ``"frequency"``."""
        return training_sampler(self.settings.output_sampler)

    def max_candidates(self):
        """The most LSH candidates of a training sample's active set."""
        return int(self.active_size * candidate_fraction(self.settings.output_sampler))

    def rebuild(self, W, n_threads):
        """Rebuild the tables from the output layer ``W`` (a training build,
        counted in ``n_rebuilds``)."""
        self.tables.build(self.family.hash(W, n_threads), n_threads)
        self.n_rebuilds += 1
        self.stale = False

    def weights_changed(self, W, n_threads):
        """The output layer ``W`` changed outside the training steps (best
        weights restored, a merge): the tables follow it now if training reads
        them, else when prediction first needs them."""
        if self.max_candidates():
            self.rebuild(W, n_threads)
        else:
            self.stale = True

    def after_step(self, W, rng, n_threads):
        """Count a step; rebuild the tables when the schedule says so (every
        ``rehash_every`` rebuilds with new hash functions), each interval
        ``rebuild_growth`` times the last. Without LSH candidates the tables
        are not touched, only marked out of date."""
        if not self.max_candidates():
            self.stale = True
            return
        self.next_rebuild -= 1
        if self.next_rebuild > 0:
            return
        every = self.settings.rehash_every
        if every and self.n_rebuilds % every == 0:
            self._new_hash_functions(W.shape[1], rng)
        self.rebuild(W, n_threads)
        self.interval *= self.settings.rebuild_growth
        self.next_rebuild = max(1, round(self.interval))

    def __getstate__(self):
        state = self.__dict__.copy()
        options = writing_options()
        if options is not None and not options["optimizer_state"]:
            # Inference only (see ``sparseclf.save``): prediction reads the
            # hash functions, tables and hubs, not what draws the negatives.
            state.update(label_counts=None, negative_cdf=None, hub_mean=None)
        return state

    def count_labels(self, labels):
        """Add a fit's labels to the counts negatives are drawn from."""
        self.label_counts += np.bincount(labels, minlength=self.n_outputs)
        cdf = np.cumsum(self.label_counts + 1.0)
        self.negative_cdf = cdf / cdf[-1]

    def sample(self, H_last, W, b, lab_ptr, labels, rng, n_threads):
        """The batch's :class:`ActiveOutputs`.

        Negatives come from one pool for the whole batch (as TensorFlow's
        sampled softmax shares its samples): their logits and gradients are
        BLAS products, and far fewer rows are updated than with draws per
        sample.
        """
        n_out = self.n_outputs
        n_pos = np.diff(lab_ptr)
        max_pos = int(n_pos.max(initial=0))
        max_cand = self.max_candidates()
        # Room for a negative beside every sample's labels.
        size = min(n_out, max(self.active_size - max_cand, max_pos + 1))
        pool, pool_offset = self._negatives(H_last, W, b, size, rng)
        tables = buckets = None
        if max_cand > 0:
            if self.stale:  # trained without candidates until now
                self.rebuild(W, n_threads)
            tables, buckets = self.tables, self.family.hash(H_last, n_threads)
        m = min(n_out, max(1, max_pos + max_cand))
        own, n_own = _own_sets(
            tables, buckets, lab_ptr, labels, m, n_out, n_threads, max_cand
        )
        return ActiveOutputs(own, n_own, n_pos, pool, pool_offset)

    def _negatives(self, H_last, W, b, size, rng):
        """The batch's shared negatives (unique ids) and their logit offsets.

        ``size`` draws, with replacement, from the label frequencies seen so far
        (plus one, so unseen labels are drawn too), the popularity sampler of
        sampled softmax: a frequent label is the negative most samples need.
        The hubs are always in. ``offset_j = -log Q_j - log(n_out / n_pool)``
        where ``Q_j`` is the chance that ``j`` is in the pool: with the
        kernel's own uniform correction ``log(n_out / n_pool)`` each logit gets
        ``-log Q_j``, as sampled softmax needs.
        """
        n_out = self.n_outputs
        mean = H_last.mean(axis=0)
        self.hub_mean = (
            mean
            if self.hub_mean is None
            else _HUB_DECAY * self.hub_mean + (1 - _HUB_DECAY) * mean
        )
        self.hub_wait -= 1
        if self.hub_wait <= 0:
            self.pick_hubs(W, b)
        cdf = self.negative_cdf
        draw = np.minimum(np.searchsorted(cdf, rng.random_sample(size)), n_out - 1)
        pool = np.union1d(draw, self.hubs)
        p = self.negative_p(pool)
        q = -np.expm1(size * np.log1p(-p))
        q[np.isin(pool, self.hubs, assume_unique=True)] = 1.0
        offset = -np.log(q) - math.log(n_out / pool.shape[0])
        return pool, offset.astype(np.float32)

    def pick_hubs(self, W, b):
        """The hubs: the outputs of the highest logits for ``hub_mean``, the
        running mean of the last hidden layer."""
        n_hubs = min(_N_HUBS, self.n_outputs - 1)
        scores = W @ self.hub_mean + b
        self.hubs = np.argpartition(-scores, n_hubs)[:n_hubs]
        self.hub_wait = _HUB_EVERY

    def negative_p(self, ids):
        """Each draw's chance of picking ``ids``."""
        cdf = self.negative_cdf
        return cdf[ids] - np.where(ids > 0, cdf[ids - 1], 0.0)

    def candidates(self, H, W, k, n_threads):
        """Each row's LSH candidates in the tables of output layer ``W``,
        (n, max(k, active_size)) int32.

        Rows short of candidates are completed with the hubs, then in order:
        prediction draws no random numbers.
        """
        tables = self._prediction_tables(W, n_threads)
        buckets = self.family.hash(H, n_threads)
        n = H.shape[0]
        m = max(k, self.active_size)
        fill = np.concatenate([self.hubs, np.setdiff1d(np.arange(m), self.hubs)])
        active, _ = active_sets(
            tables,
            buckets,
            np.zeros(n + 1, dtype=np.int64),
            np.empty(0, np.int32),
            fill,
            np.zeros(n, dtype=np.int64),
            m,
            self.n_outputs,
            n_threads,
        )
        return active

    def _prediction_tables(self, W, n_threads):
        """The tables, built from ``W`` first if they are out of date (after
        training without LSH candidates).

        The build is not counted in ``n_rebuilds``, draws from the tables' own
        seed (the same tables for the same weights, however often built), and
        fills a new object that replaces the old one in one assignment: a
        prediction running beside it in another thread reads whole tables.
        """
        if not self.stale:
            return self.tables
        tables = self._empty_tables().build(self.family.hash(W, n_threads), n_threads)
        self.tables = tables
        self.stale = False
        return tables
