# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The training loop: epochs, batches, early stopping, divergence, progress."""

import functools
import math
import time
import warnings
from collections import namedtuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from sparseclf._csr import RowBlock
from sparseclf._network import Adam, Network
from sparseclf._parallel import limit_blas
from sparseclf._sampler import SamplerSettings, make_sampler
from sparseclf._scoring import exact_topk, topk_blocks
from sparseclf._targets import take_rows

# One-hidden-layer networks with at most this many outputs (all active) train
# through ``Network.dense_step``: three kernels a step, the output layer's
# products as loops, faster than BLAS products for so few outputs.
_FUSED_MAX_OUTPUTS = 32


class TrainingSettings(
    namedtuple(
        "TrainingSettings",
        [
            "batch_size",
            "learning_rate_init",
            "beta_1",
            "beta_2",
            "epsilon",
            "dropout",
            "shuffle",
            "tol",
            "n_iter_no_change",
            "early_stopping",
            "validation_fraction",
            "verbose",
            "callback",
        ],
    )
):
    """The estimator's parameters that shape its training."""

    @property
    def adam(self):
        return Adam(self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)


Progress = namedtuple(
    "Progress", ["epoch", "n_epochs", "batch", "n_batches", "n_samples", "loss"]
)
Progress.__doc__ = """What a ``callback`` learns after each training batch.

epoch : int
    The epoch, counted over the estimator's life (``n_iter_`` once it ends).
n_epochs : int
    The most epochs this call of ``fit`` (``max_iter``) or ``partial_fit`` (1)
    runs.
batch, n_batches : int
    The batch just trained (from 1) and the epoch's number of batches.
n_samples : int
    Samples trained on in this epoch so far.
loss : float
    Their mean training loss.
"""


class TrainingDiverged(ArithmeticError):
    """The training loss became NaN or infinite."""


def _settings(cls, params):
    """The fields of namedtuple ``cls`` from the estimator's ``params``."""
    return cls(**{name: params[name] for name in cls._fields})


class Model:
    """What a fitted SparseMLPClassifier holds: its targets, network, output
    sampler and trainer, made at the first fit from the estimator's
    parameters.

    Parameters
    ----------
    targets : Targets
        The first fit's targets.
    n_features : int
        Input width.
    params : dict
        The estimator's parameters.
    n_threads : int
        Threads of the first table build.
    """

    def __init__(self, targets, n_features, params, n_threads):
        hidden = np.atleast_1d(params["hidden_layer_sizes"]).astype(int).tolist()
        if not hidden or any(h < 1 for h in hidden):
            raise ValueError(
                f"hidden_layer_sizes must hold one or more sizes >= 1, got {hidden}."
            )
        rng = check_random_state(params["random_state"])
        self.targets = targets
        self.network = Network(n_features, hidden, len(targets.classes), rng)
        W = self.network.weights[-1]
        self.sampler = make_sampler(
            _settings(SamplerSettings, params), W, rng, n_threads
        )
        self.trainer = Trainer(rng, params["early_stopping"])

    def train(self, X, lab_ptr, labels, epochs, params, n_threads, validation=None):
        """Up to ``epochs`` epochs on CSR ``X`` labelled ``(lab_ptr, labels)``,
        with the estimator's current ``params``; see ``Trainer.run``."""
        targets, sampler = self.targets, self.sampler
        if targets.multilabel:
            targets.count(labels, X.shape[0])
        sampler.settings = _settings(SamplerSettings, params)
        self.network.lazy_adam = params["lazy_adam"]
        with limit_blas(not sampler.threaded_blas):
            self.trainer.run(
                self.network,
                sampler,
                X,
                lab_ptr,
                labels,
                epochs,
                _settings(TrainingSettings, params),
                n_threads,
                stratify=None if targets.multilabel else labels,
                validation=validation,
            )

    def attributes(self):
        """The estimator's fitted attributes that describe this model."""
        targets, sampler, trainer = self.targets, self.sampler, self.trainer
        return {
            "classes_": targets.classes,
            "target_type_": targets.type,
            "active_size_": sampler.active_size,
            "hash_params_": sampler.hash_params,
            "output_sampler_": sampler.output_sampler,
            "n_rebuilds_": sampler.n_rebuilds,
            "n_iter_": trainer.n_iter,
            "t_": trainer.t,
            "loss_": trainer.loss,
            "loss_curve_": trainer.loss_curve,
            "best_loss_": trainer.best_loss,
            "validation_scores_": trainer.validation_scores,
            "best_validation_score_": trainer.best_validation_score,
        }


class Trainer:
    """Runs the epochs of ``fit`` and ``partial_fit`` and keeps their record.

    The record is what the estimator publishes: ``n_iter``, ``t``, ``loss``,
    ``loss_curve``, ``best_loss``, ``validation_scores`` and
    ``best_validation_score``. The trainer also holds the estimator's random
    state, which every draw after initialisation comes from.

    Parameters
    ----------
    rng : RandomState
        Shuffles, dropout masks, drawn negatives, hash functions.
    early_stopping : bool
        Whether epochs are judged by a held-out score (else by the loss).
    """

    # Called before each training step with the first-layer rows of the batch
    # (after ``Network.to_rows``) and its ``ActiveOutputs`` (None: every
    # output is active): the rows the step may change. Data-parallel training
    # keeps their values from before it (``sparseclf._merge.Base``). Set for
    # a call and cleared after it, never pickled.
    before_step = None

    def __init__(self, rng, early_stopping):
        self.rng = rng
        self.n_iter = 0
        self.t = 0
        self.loss = None
        self.loss_curve = []
        self.best_loss = None if early_stopping else np.inf
        self.validation_scores = [] if early_stopping else None
        self.best_validation_score = None
        self.no_improvement = 0

    def run(
        self,
        network,
        sampler,
        X,
        lab_ptr,
        labels,
        epochs,
        settings,
        n_threads,
        stratify,
        validation=None,
    ):
        """Train on CSR ``X`` with labels ``(lab_ptr, labels)`` for up to ``epochs``.

        One epoch (``partial_fit``) just trains; more stop when the loss, or
        with early stopping the score on a held-out ``validation_fraction``
        (split with ``stratify`` labels, or at random when None), has not
        improved by ``tol`` for ``n_iter_no_change`` epochs; the best weights
        are then restored. ``validation``, a CSR matrix and each row's label
        array, replaces the held-out fraction. Raises :class:`TrainingDiverged`
        if the loss or a weight is NaN or infinite.
        """
        if epochs == 1:
            validation = None
        elif settings.early_stopping and validation is None:
            tr, va = train_test_split(
                np.arange(X.shape[0]),
                test_size=settings.validation_fraction,
                random_state=self.rng,
                stratify=stratify,
            )
            validation = X[va], [labels[lab_ptr[i] : lab_ptr[i + 1]] for i in va]
            lab_ptr, labels = take_rows(lab_ptr, labels, tr)
            X = X[tr]
        # All the new features' first-layer rows at once, before the steps (and
        # not for the validation part: a feature only it holds stays at zero).
        X = network.to_rows(X)
        sampler.count_labels(labels)
        best_state = None
        for _ in range(epochs):
            t0 = time.perf_counter()
            self._epoch(
                network, sampler, X, lab_ptr, labels, epochs, settings, n_threads
            )
            if settings.verbose:
                rate = X.shape[0] / (time.perf_counter() - t0)
                print(
                    f"Iteration {self.n_iter}, loss = {self.loss:.8f}, "
                    f"{rate:,.0f} samples/s"
                )
            if epochs == 1:
                break
            if validation is not None:
                if self._validate(network, *validation, n_threads, settings.tol):
                    best_state = network.snapshot()
            else:
                self._judge_loss(settings.tol)
            if self.no_improvement > settings.n_iter_no_change:
                if settings.verbose:
                    print(
                        f"No improvement over {settings.n_iter_no_change} epochs: stop."
                    )
                break
        else:
            if epochs > 1:
                warnings.warn(
                    f"Stopped after max_iter={epochs} epochs without converging; "
                    "raise max_iter.",
                    ConvergenceWarning,
                )
        # Once per call, not per epoch (a read of every weight); each step's
        # loss check catches divergence as it happens, as a NaN or infinite
        # weight reaches the loss.
        if not network.is_finite():
            raise TrainingDiverged
        if best_state is not None:
            network.restore(best_state)
            sampler.weights_changed(network.weights[-1], n_threads)

    def _epoch(self, network, sampler, X, lab_ptr, labels, epochs, settings, n_threads):
        rng = self.rng
        n = X.shape[0]
        order = rng.permutation(n) if settings.shuffle else np.arange(n)
        Xe = X[order] if settings.shuffle else X
        pe, le = take_rows(lab_ptr, labels, order)
        size = settings.batch_size
        n_batches = -(-n // size)
        fused = (
            sampler.dense
            and len(network.weights) == 2
            and network.n_outputs <= _FUSED_MAX_OUTPUTS
        )
        if fused:
            seeds = network.dropout_seeds(n_batches, settings.dropout, rng)
        total = 0.0
        for t, s in enumerate(range(0, n, size)):
            e = min(s + size, n)
            Xb = RowBlock(Xe, s, e)
            ptr, lab = pe[s : e + 1] - pe[s], le[pe[s] : pe[e]]
            if fused:
                if self.before_step is not None:
                    self.before_step(Xb.indices, None)
                loss = network.dense_step(
                    Xb, ptr, lab, seeds[t], settings.adam, settings.dropout, n_threads
                )
            else:
                H = network.hidden(Xb, n_threads, settings.dropout, rng, rows=True)
                W, b = network.weights[-1], network.biases[-1]
                active = sampler.sample(H[-1], W, b, ptr, lab, rng, n_threads)
                if self.before_step is not None:
                    self.before_step(Xb.indices, active)
                loss = network.train_step(
                    Xb, H, *active, settings.adam, settings.dropout, n_threads
                )
            total += float(loss.sum())
            if not math.isfinite(total):
                raise TrainingDiverged
            sampler.after_step(network.weights[-1], rng, n_threads)
            if settings.callback is not None:
                settings.callback(
                    Progress(self.n_iter + 1, epochs, t + 1, n_batches, e, total / e)
                )
        self.n_iter += 1
        self.t += n
        self.loss = total / n
        self.loss_curve.append(self.loss)

    def _validate(self, network, X_val, y_val, n_threads, tol):
        """Score the held-out data; True when it is the best so far."""
        top = topk_blocks(
            network, X_val, functools.partial(exact_topk, network, k=1), n_threads
        )
        score = float(np.mean([t in y for t, y in zip(top[0][:, 0], y_val)]))
        if self.validation_scores is None:  # early_stopping set after a fit
            self.validation_scores = []
        self.validation_scores.append(score)
        best = self.best_validation_score
        if best is not None and score <= best + tol:
            self.no_improvement += 1
        else:
            self.no_improvement = 0
        if best is None or score > best:
            self.best_validation_score = score
            return True
        return False

    def _judge_loss(self, tol):
        best = np.inf if self.best_loss is None else self.best_loss
        if self.loss > best - tol:
            self.no_improvement += 1
        else:
            self.no_improvement = 0
        self.best_loss = min(best, self.loss)
