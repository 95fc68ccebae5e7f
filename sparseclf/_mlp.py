# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""SparseMLPClassifier: an MLP whose wide output layer trains on LSH-sampled neurons."""

import contextlib
import contextvars
import math
import time
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from sparseclf._engine import Network, RowBlock, active_sets, topk
from sparseclf._lsh import (
    DWTAHash,
    LSHTables,
    SimHash,
    effective_n_threads,
    threadpool_controller,
)

# Outputs up to this size train densely (every neuron active): hashing cannot save
# much there and costs accuracy.
_DENSE_MAX_OUTPUTS = 1000
# One-hidden-layer networks with at most this many outputs (all active) train
# through ``Network.dense_epoch``: three kernels a step, the output layer's
# products as loops. Measured, a fit: TREC (6 classes) 0.17 -> 0.15 s, 20
# outputs the same, 200 outputs 1.2x and 1,000 1.7x slower than BLAS products.
_FUSED_MAX_OUTPUTS = 32
# The automatic sparsity: BOLT's public description uses about 0.005 for wide
# outputs; below that, at least this many active neurons.
_AUTO_SPARSITY = 0.005
_AUTO_MIN_ACTIVE = 500
_AUTO_TABLES = 24
# LSH candidates take at most this fraction of the active set (half of that on
# average); the rest is the batch's drawn negatives. Hard negatives alone bias
# the softmax (measured: P@1 0.01 vs 0.28 dense at 2,000 labels). Per-sample
# candidates are gathered row by row while the shared negatives are one BLAS
# product, so fewer candidates train faster. Measured, 3 epochs, 10^5 / 10^4
# labels, P@1 and samples/s: 0.5: 0.511 / 0.623 at 6.8k / 8.4k; 0.25: 0.515 /
# 0.628 at 8.3k / 11.4k; 0.1: 0.509 / 0.625 at 15.2k / 19.6k; no candidates:
# 0.506 / 0.621 at 18.7k / 29.3k.
_MAX_CAND_FRACTION = 0.25
# Every batch's negatives include the neurons scoring highest against the mean
# hidden activation, recomputed every _HUB_EVERY batches (one GEMV): such "hub"
# neurons are rarely LSH candidates (DWTA ignores the offset all activations
# share) and, updated only when sampled, took over every prediction. Measured at
# 10^5 labels, 2 epochs, P@1: uniform negatives 0.135, with 128 hubs 0.426;
# frequency-drawn negatives 0.445, with 32 hubs 0.454; torch dense 0.442.
_N_HUBS = 32
_HUB_EVERY = 16
_HUB_DECAY = 0.9
# Exact prediction shortlists this many labels beyond k in float32, then re-ranks
# them in float64.
_SHORTLIST_EXTRA = 8
# ... unless the rows to predict have at most this many scores in all: then every
# one is scored in float64 at once (predicting one 20 Newsgroups message: 40-60 us
# of the shortlist's float32 pass and top-k saved, 0.45 -> 0.41 ms).
_EXACT_ALL_MAX_SCORES = 1024
# Prediction goes through the samples in blocks of this many rows, so its memory
# (hidden activations, LSH candidates and their scores) does not grow with
# n_samples: predict_topk(exact=False) on 200,000 rows peaked at 1.3 GB at once.
_PREDICT_ROWS = 4096
_PRIME = 2147483647
# True while TextClassifier passes the features its HashingVectorizer made (CSR,
# finite by construction) to the network's predict methods: those skip
# scikit-learn's check_array, 0.1 ms a call in scikit-learn 1.9 (it inspects the
# input for a dataframe), twice the network's own time for one document. A
# context variable, so concurrent calls from other threads are not affected.
_TRUSTED_FEATURES = contextvars.ContextVar("_TRUSTED_FEATURES", default=False)


@contextlib.contextmanager
def trusted_features(trusted=True):
    """Within, predict methods take ``_TRUSTED_FEATURES`` to be ``trusted``."""
    token = _TRUSTED_FEATURES.set(trusted)
    try:
        yield
    finally:
        _TRUSTED_FEATURES.reset(token)


def _is_label_lists(y):
    """True for a sequence of label sequences (MultiLabelBinarizer's input).

    A rectangular sequence of 0/1 rows is an indicator matrix, as scikit-learn reads
    it; pass sets to mean label lists in that ambiguous case.
    """
    if sp.issparse(y) or isinstance(y, str) or not hasattr(y, "__len__"):
        return False
    if isinstance(y, np.ndarray) and y.dtype != object:
        return False
    if len(y) == 0 or not all(
        isinstance(e, (list, tuple, set, frozenset, np.ndarray)) for e in y
    ):
        return False
    if any(isinstance(e, (set, frozenset)) for e in y):
        return True
    lengths = {len(e) for e in y}
    if len(lengths) > 1:
        return True
    try:
        arr = np.asarray(y)
    except ValueError:
        return True
    return not (arr.ndim == 2 and np.isin(arr, (0, 1)).all())


class SparseMLPClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron with an LSH-sampled sparse output layer (SLIDE/BOLT).

    Input (dense or sparse) -> ReLU hidden layers -> ``n_classes`` outputs. For a
    wide output layer, each training sample computes and updates only an *active
    set* of output neurons: the sample's labels, the neurons that share an LSH
    bucket with its last hidden activation (DWTA or SimHash over the neurons'
    weight rows; at most a quarter of the set), and negatives shared by the batch
    to make up ``output_sparsity * n_classes``: a few "hub" neurons that score
    high for the average sample, and neurons drawn in proportion to how often
    each label was seen in training (frequent labels are the negatives most
    samples need). The softmax runs over that set, the drawn negatives' logits
    corrected by the log of their chance of being drawn, so it estimates the full
    softmax; only active output rows and the rows of the sample's non-zero input
    features are updated (lazy Adam). Small output layers (up to 1,000 classes
    with the default ``"auto"``) train densely.

    Multi-class targets are 1-D; multi-label targets are a 2-D indicator matrix
    (dense or scipy sparse) or a list of label sets. Multi-label training spreads
    the target mass evenly over a sample's labels, as SLIDE does.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers,), default=(128,)
        Sizes of the ReLU hidden layers. The first reads the (sparse) input rows of
        each sample's features; later ones are dense.
    dropout : float in [0, 1), default=0.0
        Fraction of each hidden layer's units zeroed at random in every
        training step (inverted dropout: the rest are scaled by
        ``1 / (1 - dropout)``, so prediction uses the whole network as it is).
        A regulariser for small or redundant training sets.
    output_sparsity : "auto" or float in (0, 1], default="auto"
        Fraction of output neurons active per training sample. ``"auto"``: 1.0 up
        to 1,000 outputs; above, ``max(0.005 * n, min(n, 500)) / n``.
    hash_family : {"dwta", "simhash"}, default="dwta"
        LSH family of the output layer.
    n_tables : "auto" or int, default="auto"
        Hash tables, L ("auto": 24).
    hashes_per_table : "auto" or int, default="auto"
        Hashes per table, K. "auto" makes the expected candidates from all tables
        an eighth of the active set: DWTA gives each table ``8**K`` buckets,
        SimHash ``2**K``. Candidates fill at most a quarter of the active set;
        the rest are drawn negatives.
    bucket_capacity : "auto" or int, default="auto"
        Most neurons a bucket keeps (a uniform sample when more hash there);
        "auto": ``max(16, active_size / n_tables)``.
    rebuild_interval : int, default=50
        Batches before the first rebuild of the hash tables from the current
        output weights.
    rebuild_growth : float, default=1.1
        Each rebuild multiplies the interval to the next by this factor (SLIDE's
        exponentially decaying schedule).
    rehash_every : int or None, default=10
        Draw fresh hash functions every this many rebuilds (None: never).
    batch_size : int, default=256
        Samples per step.
    learning_rate_init : float, default=1e-3
        Adam's step size.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's constants.
    max_iter : int, default=200
        Epochs (passes over the data) of ``fit``.
    tol : float, default=1e-4
        Improvement of the training loss (or validation score with early stopping)
        below which an epoch counts as no improvement.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when its score
        (accuracy; precision@1 for multi-label) stops improving; the best weights
        are kept.
    validation_fraction : float, default=0.1
        Held-out fraction with early stopping.
    shuffle : bool, default=True
        Shuffle samples every epoch.
    n_jobs : int or None, default=None
        Threads of the kernels. None: all CPUs (or the OpenMP limit set with
        threadpoolctl); -1 too. Results do not depend on it: the kernels are
        race-free.
    random_state : int, RandomState instance or None, default=None
        Seeds weights, hash functions, shuffles and the drawn negatives.
        With an int, two fits are bit-identical.
    warm_start : bool, default=False
        Reuse the previous fit's weights and optimizer state.
    verbose : int, default=0
        Print one line per epoch (loss, samples/s).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (multi-label: the label of each indicator column).
    coefs_ : list of ndarray
        Weight matrices, ``coefs_[k]`` of shape (fan_in, fan_out), as
        :class:`~sklearn.neural_network.MLPClassifier`. The first is assembled
        (a copy) from the rows of the features seen in training: the others'
        rows are zero, so a feature training never saw adds nothing to a
        prediction. The last is a transposed view of the row-major output layer.
    intercepts_ : list of ndarray
        Bias vectors.
    loss_ : float
        Mean sampled-softmax loss of the last epoch (the softmax over each
        sample's active set, not over all outputs).
    loss_curve_ : list of float
        ``loss_`` of each epoch.
    best_loss_ : float
        Lowest epoch loss (None with early stopping).
    validation_scores_ : list of float or None
        Held-out score of each epoch, with early stopping.
    best_validation_score_ : float or None
        Best of ``validation_scores_``.
    n_iter_ : int
        Epochs run.
    t_ : int
        Samples seen.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
    active_size_ : int
        Output neurons computed per training sample.
    hash_params_ : dict or None
        The LSH settings in use (None when training densely).
    n_rebuilds_ : int
        Hash table rebuilds so far.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : Dense MLP; the same model when
        ``output_sparsity=1.0``, with other defaults.

    Notes
    -----
    Prediction is exact: all output neurons are scored, in blocks of bounded
    memory. ``predict_topk(X, k, exact=False)`` scores only the LSH candidates.

    References
    ----------
    B. Chen et al., "SLIDE: In Defense of Smart Algorithms over Hardware
    Acceleration for Large-Scale Deep Learning Systems", MLSys 2020.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sparseclf import SparseMLPClassifier
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = SparseMLPClassifier(max_iter=30, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "output_sparsity": [
            StrOptions({"auto"}),
            Interval(Real, 0, 1, closed="right"),
        ],
        "hash_family": [StrOptions({"dwta", "simhash"})],
        "n_tables": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "hashes_per_table": [
            StrOptions({"auto"}),
            Interval(Integral, 1, 20, closed="both"),
        ],
        "bucket_capacity": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "rebuild_interval": [Interval(Integral, 1, None, closed="left")],
        "rebuild_growth": [Interval(Real, 1, None, closed="left")],
        "rehash_every": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(128,),
        *,
        dropout=0.0,
        output_sparsity="auto",
        hash_family="dwta",
        n_tables="auto",
        hashes_per_table="auto",
        bucket_capacity="auto",
        rebuild_interval=50,
        rebuild_growth=1.1,
        rehash_every=10,
        batch_size=256,
        learning_rate_init=1e-3,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        n_jobs=None,
        random_state=None,
        warm_start=False,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.output_sparsity = output_sparsity
        self.hash_family = hash_family
        self.n_tables = n_tables
        self.hashes_per_table = hashes_per_table
        self.bucket_capacity = bucket_capacity
        self.rebuild_interval = rebuild_interval
        self.rebuild_growth = rebuild_growth
        self.rehash_every = rehash_every
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train on ``X, y`` for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; sparse input (CSR or CSC, int32 or int64 indices) is
            used as it is.
        y : array-like of shape (n_samples,), or (n_samples, n_classes) indicator \
                (dense or sparse), or a list of label sets
            Class labels (multi-class) or label sets (multi-label).

        Returns
        -------
        self : SparseMLPClassifier
            The fitted classifier.
        """
        first = not (self.warm_start and hasattr(self, "_net"))
        return self._fit(X, y, classes=None, first=first, epochs=self.max_iter)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """One epoch over ``X, y``, keeping the weights of earlier calls.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,), indicator matrix or label sets
            Targets.
        classes : array-like of shape (n_classes,), default=None
            All classes, required on the first call for multi-class targets (and
            for label sets); ignored after.

        Returns
        -------
        self : SparseMLPClassifier
            The updated classifier.
        """
        first = not hasattr(self, "_net")
        if first and classes is None and not self._is_indicator(y):
            raise ValueError(
                "classes must be passed on the first call to partial_fit "
                "(all the class labels the model will ever see)."
            )
        return self._fit(X, y, classes=classes, first=first, epochs=1)

    @staticmethod
    def _is_indicator(y):
        if _is_label_lists(y):
            return False
        try:
            return type_of_target(y) == "multilabel-indicator"
        except ValueError:
            return False

    def _encode_targets(self, y, classes, first, n_samples):
        """Targets as a CSR label structure ``(lab_ptr, labels)`` over columns."""
        if _is_label_lists(y):
            if len(y) != n_samples:
                raise ValueError(
                    f"y has {len(y)} label sets but X has {n_samples} samples."
                )
            if first:
                mlb = MultiLabelBinarizer(classes=classes, sparse_output=True)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    Y = mlb.fit_transform(y)
                if classes is not None and caught:
                    raise ValueError(
                        f"y has labels not in classes: {caught[0].message}"
                    )
                self.classes_ = mlb.classes_
                self._multilabel = True
                self._sparse_output = True
            else:
                self._require_multilabel()
                known = set(self.classes_.tolist())
                unseen = {lab for labels in y for lab in labels} - known
                if unseen:
                    raise ValueError(f"y has labels unseen at the first fit: {unseen}")
                Y = MultiLabelBinarizer(
                    classes=self.classes_, sparse_output=True
                ).fit_transform(y)
            Y = sp.csr_matrix(Y)
            return Y.indptr.astype(np.int64), Y.indices.astype(np.int32)

        if sp.issparse(y) or self._is_indicator(y):
            Y = sp.csr_matrix(y)
            if Y.shape[0] != n_samples:
                raise ValueError(
                    f"y has {Y.shape[0]} rows but X has {n_samples} samples."
                )
            if first:
                self.classes_ = np.arange(Y.shape[1])
                self._multilabel = True
                self._sparse_output = sp.issparse(y)
            else:
                self._require_multilabel()
                if Y.shape[1] != len(self.classes_):
                    raise ValueError(
                        f"y has {Y.shape[1]} label columns; the model was fitted "
                        f"with {len(self.classes_)}."
                    )
            Y.eliminate_zeros()
            if Y.nnz and not np.isin(Y.data, (0, 1)).all():
                raise ValueError("A multi-label indicator y must hold only 0 and 1.")
            return Y.indptr.astype(np.int64), Y.indices.astype(np.int32)

        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first:
            self.classes_ = np.unique(y) if classes is None else np.unique(classes)
            self._multilabel = False
            if len(self.classes_) < 2:
                raise ValueError(
                    "The training data holds one class "
                    f"({self.classes_.tolist()}); a classifier needs at least 2."
                )
        elif self._multilabel:
            raise ValueError("The model was fitted with multi-label targets.")
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(
                f"y has labels not in classes_: {unseen.tolist()[:10]}. Pass every "
                "label in `classes` on the first call to partial_fit."
            )
        y_idx = np.searchsorted(self.classes_, y).astype(np.int32)
        return np.arange(n_samples + 1, dtype=np.int64), y_idx

    def _require_multilabel(self):
        if not self._multilabel:
            raise ValueError("The model was fitted with multi-class targets.")

    def _validate_X(self, X, reset):
        X = validate_data(
            self,
            X,
            reset=reset,
            accept_sparse=["csr", "csc"],
            dtype=np.float32,
            accept_large_sparse=True,
        )
        return sp.csr_matrix(X) if not sp.issparse(X) else X.tocsr()

    def _fit(self, X, y, classes, first, epochs):
        # A sparse step's BLAS products are small (batch x pool x hidden): on 2
        # threads OpenBLAS was 30x slower than on one when the other core was busy
        # (23.6 vs 0.73 ms per step). A dense output layer (output_sparsity=1.0)
        # keeps BLAS's threads for its large products.
        dense = self.output_sparsity == 1.0
        limits = None if dense else 1
        with threadpool_controller().limit(limits=limits, user_api="blas"):
            return self._fit_epochs(X, y, classes, first, epochs)

    def _fit_epochs(self, X, y, classes, first, epochs):
        if _is_label_lists(y) or sp.issparse(y):
            X = self._validate_X(X, reset=first)
        else:
            X, y = validate_data(
                self,
                X,
                y,
                reset=first,
                accept_sparse=["csr", "csc"],
                dtype=np.float32,
                multi_output=True,
                accept_large_sparse=True,
            )
            X = sp.csr_matrix(X) if not sp.issparse(X) else X.tocsr()
        lab_ptr, labels = self._encode_targets(y, classes, first, X.shape[0])
        n_threads = effective_n_threads(self.n_jobs)
        if first:
            self._rng = check_random_state(self.random_state)
            self._initialize(X.shape[1])
        rng = self._rng

        if self._multilabel:
            self._label_count = getattr(self, "_label_count", 0) + labels.size
            self._sample_count = getattr(self, "_sample_count", 0) + X.shape[0]
        if first:
            self.loss_curve_ = []
            self.best_loss_ = None if self.early_stopping else np.inf
            self.validation_scores_ = [] if self.early_stopping else None
            self.best_validation_score_ = None
            self.n_iter_ = 0
            self.t_ = 0
            self._no_improvement = 0
        X_val = y_val = None
        if self.early_stopping and epochs > 1:
            tr, va = train_test_split(
                np.arange(X.shape[0]),
                test_size=self.validation_fraction,
                random_state=rng,
                stratify=None if self._multilabel else labels,
            )
            X_val = X[va]
            y_val = [labels[lab_ptr[i] : lab_ptr[i + 1]] for i in va]
            lab_ptr, labels = _take_rows(lab_ptr, labels, tr)
            X = X[tr]
        # All the new features' first-layer rows at once, before the steps (and
        # not for the validation part: a feature only it holds stays at zero).
        X = self._net.to_rows(X)
        self._count_labels(labels)
        best_state = None
        n = X.shape[0]
        for _ in range(epochs):
            t0 = time.perf_counter()
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            Xe = X[order] if self.shuffle else X
            pe, le = _take_rows(lab_ptr, labels, order)
            net = self._net
            if (
                self._tables is None
                and len(net.weights) == 2
                and net.n_outputs <= _FUSED_MAX_OUTPUTS
            ):
                total = self._dense_epoch(Xe, pe, le, rng, n_threads)
            else:
                total = 0.0
                for s in range(0, n, self.batch_size):
                    e = min(s + self.batch_size, n)
                    total += self._step(
                        RowBlock(Xe, s, e),
                        pe[s : e + 1] - pe[s],
                        le[pe[s] : pe[e]],
                        rng,
                        n_threads,
                    )
            self.n_iter_ += 1
            self.t_ += n
            self.loss_ = total / n
            self.loss_curve_.append(self.loss_)
            if self.verbose:
                rate = n / (time.perf_counter() - t0)
                print(
                    f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}, "
                    f"{rate:,.0f} samples/s"
                )
            if epochs == 1:
                break
            if X_val is not None:
                score = self._validation_score(X_val, y_val)
                self.validation_scores_.append(score)
                best = self.best_validation_score_
                if best is None or score > best:
                    best_state = self._snapshot()
                    self.best_validation_score_ = score
                if best is not None and score <= best + self.tol:
                    self._no_improvement += 1
                else:
                    self._no_improvement = 0
            else:
                if self.loss_ > self.best_loss_ - self.tol:
                    self._no_improvement += 1
                else:
                    self._no_improvement = 0
                self.best_loss_ = min(self.best_loss_, self.loss_)
            if self._no_improvement > self.n_iter_no_change:
                if self.verbose:
                    print(f"No improvement over {self.n_iter_no_change} epochs: stop.")
                break
        else:
            if epochs > 1:
                warnings.warn(
                    f"Stopped after max_iter={self.max_iter} epochs without "
                    "converging; raise max_iter.",
                    ConvergenceWarning,
                )
        # Once per call, not per epoch (a read of every weight: 10-18 ms for a
        # 2**18 x 64 layer); the step's loss check catches divergence as it
        # happens, as a NaN or infinite weight reaches the loss.
        if not self._net.is_finite():
            self._diverged()
        if best_state is not None:
            self._restore(best_state)
        return self

    def _initialize(self, n_features):
        hidden = np.atleast_1d(self.hidden_layer_sizes).astype(int).tolist()
        if not hidden or any(h < 1 for h in hidden):
            raise ValueError(
                f"hidden_layer_sizes must hold one or more sizes >= 1, got {hidden}."
            )
        n_out = len(self.classes_)
        self._net = Network(n_features, hidden, n_out, self._rng)
        if self.output_sparsity == "auto":
            if n_out <= _DENSE_MAX_OUTPUTS:
                m = n_out
            else:
                m = math.ceil(max(_AUTO_SPARSITY * n_out, min(n_out, _AUTO_MIN_ACTIVE)))
        else:
            m = max(2, math.ceil(self.output_sparsity * n_out))
        self.active_size_ = min(m, n_out)
        self.n_rebuilds_ = 0
        self._family = self._tables = None
        self.hash_params_ = None
        if self.active_size_ < n_out:
            self.hash_params_ = self._auto_hash_params(n_out, hidden[-1])
            self._new_hash_functions()
            self._rebuild()
            self._next_rebuild = self.rebuild_interval
            self._interval = float(self.rebuild_interval)
            self._label_counts = np.zeros(n_out)
            self._hub_mean, self._hub_wait = None, 0

    def _auto_hash_params(self, n_out, dim):
        L = _AUTO_TABLES if self.n_tables == "auto" else self.n_tables
        m = self.active_size_
        base = 8 if self.hash_family == "dwta" else 2
        # LSH candidates fill about an eighth of the active set (at most a quarter:
        # the rest is the drawn negatives the logQ correction needs).
        c = max(1, round(m * _MAX_CAND_FRACTION / 2))
        if self.hashes_per_table == "auto":
            # Expected candidates ~ L * n_out / base**K: pick K to make that ~c.
            K = max(1, round(math.log(max(L * n_out / c, 1.0)) / math.log(base)))
            K = min(K, 20 if base == 2 else 10)
        else:
            K = self.hashes_per_table
        code_bits = 3 if base == 8 else 1
        range_pow = min(K * code_bits, 20)
        capacity = (
            max(16, 4 * math.ceil(c / L))
            if self.bucket_capacity == "auto"
            else self.bucket_capacity
        )
        return {
            "hash_family": self.hash_family,
            "n_tables": L,
            "hashes_per_table": K,
            "range_pow": range_pow,
            "bucket_capacity": capacity,
        }

    def _new_hash_functions(self):
        p = self.hash_params_
        dim = self._net.weights[-1].shape[1]
        seed = self._rng.randint(_PRIME)
        cls = DWTAHash if p["hash_family"] == "dwta" else SimHash
        self._family = cls(
            dim, p["hashes_per_table"], p["n_tables"], p["range_pow"], random_state=seed
        )
        self._tables = LSHTables(
            p["n_tables"],
            p["range_pow"],
            capacity=p["bucket_capacity"],
            random_state=self._rng.randint(_PRIME),
        )

    def _rebuild(self):
        n_threads = effective_n_threads(self.n_jobs)
        buckets = self._family.hash(self._net.weights[-1], n_threads)
        self._tables.build(buckets, n_threads)
        self.n_rebuilds_ += 1

    def _dense_epoch(self, X, lab_ptr, labels, rng, n_threads):
        """An epoch through ``Network.dense_epoch``; returns the summed loss.

        For one hidden layer and few outputs (``_step`` otherwise). The loss is
        checked once the epoch is done, not after each step.
        """
        loss = self._net.dense_epoch(
            X,
            lab_ptr,
            labels,
            self.batch_size,
            self.learning_rate_init,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            n_threads,
            dropout=self.dropout,
            rng=rng,
        )
        total = float(loss.sum())
        if not math.isfinite(total):
            self._diverged()
        return total

    def _step(self, Xb, lab_ptr, labels, rng, n_threads):
        net = self._net
        n_out = net.n_outputs
        n = Xb.shape[0]
        H = net.hidden(Xb, n_threads, self.dropout, rng, rows=True)
        n_pos = np.diff(lab_ptr)
        max_pos = int(n_pos.max(initial=0))
        if self._tables is None:
            # Dense: the labels, and every other neuron through the pool.
            max_cand, pool, pool_offset = 0, np.arange(n_out), None
        else:
            # Negatives from one pool for the whole batch (as TensorFlow's
            # sampled softmax shares its samples): their logits and gradients are
            # BLAS products, and far fewer rows are updated than with draws per
            # sample.
            max_cand = int(self.active_size_ * _MAX_CAND_FRACTION)
            # Room for a negative beside every sample's labels.
            size = min(n_out, max(self.active_size_ - max_cand, max_pos + 1))
            pool, pool_offset = self._negatives(H[-1], size, rng)
        buckets = None
        if self._tables is not None and max_cand > 0:
            buckets = self._family.hash(H[-1], n_threads)
        m_own = min(n_out, max(1, max_pos + max_cand))
        own, n_own = active_sets(
            self._tables if max_cand > 0 else None,
            buckets,
            lab_ptr,
            labels,
            np.empty(0, dtype=np.int64),
            np.zeros(n, dtype=np.int64),
            m_own,
            n_out,
            n_threads,
            max_cand=max_cand,
        )
        loss = net.train_step(
            Xb,
            own,
            n_own,
            n_pos,
            pool,
            self.learning_rate_init,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            n_threads,
            H=H,
            pool_offset=pool_offset,
            dropout=self.dropout,
            rows=True,
        )
        total = float(loss.sum())
        if not math.isfinite(total):
            self._diverged()
        if self._tables is not None:
            self._next_rebuild -= 1
            if self._next_rebuild <= 0:
                if self.rehash_every and self.n_rebuilds_ % self.rehash_every == 0:
                    self._new_hash_functions()
                self._rebuild()
                self._interval *= self.rebuild_growth
                self._next_rebuild = max(1, round(self._interval))
        return total

    def _negatives(self, H_last, size, rng):
        """The batch's shared negatives (unique ids) and their logit offsets.

        ``size`` draws, with replacement, from the label frequencies seen so far
        (plus one, so unseen labels are drawn too), the popularity sampler of
        sampled softmax: a frequent label is the negative most samples need.
        Measured at 10^5 labels, 2 epochs: P@1 0.454 against 0.426 with uniform
        draws (torch dense: 0.442). The hubs (see ``_N_HUBS``) are always in.
        ``offset_j = -log Q_j - log(n_out / n_pool)`` where ``Q_j`` is the chance
        that ``j`` is in the pool: with the kernel's own uniform correction
        ``log(n_out / n_pool)`` each logit gets ``-log Q_j``, as sampled softmax
        needs.
        """
        n_out = self._net.n_outputs
        mean = H_last.mean(axis=0)
        self._hub_mean = (
            mean
            if self._hub_mean is None
            else _HUB_DECAY * self._hub_mean + (1 - _HUB_DECAY) * mean
        )
        self._hub_wait -= 1
        if self._hub_wait <= 0:
            scores = self._net.weights[-1] @ self._hub_mean + self._net.biases[-1]
            n_hubs = min(_N_HUBS, n_out - 1)
            self._hubs = np.argpartition(-scores, n_hubs)[:n_hubs]
            self._hub_wait = _HUB_EVERY
        cdf = self._negative_cdf
        draw = np.minimum(np.searchsorted(cdf, rng.random_sample(size)), n_out - 1)
        pool = np.union1d(draw, self._hubs)
        p = self._negative_p(pool)
        q = -np.expm1(size * np.log1p(-p))
        q[np.isin(pool, self._hubs, assume_unique=True)] = 1.0
        offset = -np.log(q) - math.log(n_out / pool.shape[0])
        return pool, offset.astype(np.float32)

    def _negative_p(self, ids):
        """Each draw's chance of picking ``ids``."""
        cdf = self._negative_cdf
        return cdf[ids] - np.where(ids > 0, cdf[ids - 1], 0.0)

    def _count_labels(self, labels):
        """Add a fit's labels to the counts negatives are drawn from."""
        if self._tables is None:
            return
        self._label_counts += np.bincount(labels, minlength=self._net.n_outputs)
        cdf = np.cumsum(self._label_counts + 1.0)
        self._negative_cdf = cdf / cdf[-1]

    def _diverged(self):
        for name in ("_net", "_family", "_tables"):
            if hasattr(self, name):
                delattr(self, name)
        raise ValueError(
            "Training diverged: the loss became NaN or infinite "
            f"(learning_rate_init={self.learning_rate_init}). The model was "
            "discarded; try a smaller learning_rate_init."
        )

    @property
    def coefs_(self):
        """Weight matrices (fan_in, fan_out); the first is a copy, the rest views."""
        check_is_fitted(self, "_net")
        net = self._net
        return [net.first_layer(), *net.weights[1:-1], net.weights[-1].T]

    @property
    def intercepts_(self):
        """Bias vectors, the trained arrays themselves."""
        check_is_fitted(self, "_net")
        return self._net.biases

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_net")

    def _snapshot(self):
        return [w.copy() for w in self._net.weights], [
            b.copy() for b in self._net.biases
        ]

    def _restore(self, state):
        weights, biases = state
        for dst, src in zip(self._net.weights + self._net.biases, weights + biases):
            dst[...] = src
        if self._tables is not None:
            self._rebuild()

    def _validation_score(self, X_val, y_val):
        top = self._topk_blocks(X_val, 1, self._topk_exact)[0][:, 0]
        return float(np.mean([t in labels for t, labels in zip(top, y_val)]))

    # --------------------------------------------------------------- prediction

    def _hidden(self, X):
        return self._net.hidden64(X, effective_n_threads(self.n_jobs))

    def _hidden_blocks(self, X):
        """Yield ``(rows, H)``: the last hidden activations of CSR ``X`` (float64)
        by blocks of at most ``_PREDICT_ROWS`` rows."""
        n = X.shape[0]
        for s in range(0, n, _PREDICT_ROWS):
            e = min(s + _PREDICT_ROWS, n)
            yield slice(s, e), self._hidden(RowBlock(X, s, e))

    def _topk_blocks(self, X, k, method):
        """``method(H, k)`` (``_topk_exact`` or ``_topk_lsh``) over ``X``'s row
        blocks: ``(labels, scores)``, each (n_samples, k)."""
        tops, scores = zip(*(method(H, k) for _, H in self._hidden_blocks(X)))
        return np.concatenate(tops), np.concatenate(scores)

    def _check_predict_X(self, X):
        check_is_fitted(self, "_net")
        if (
            _TRUSTED_FEATURES.get()
            and sp.issparse(X)
            and X.format == "csr"
            and X.dtype == np.float32
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
        ):
            return X
        return self._validate_X(X, reset=False)

    def _logits(self, X):
        """Float64 logits of every class, (n_samples, n_classes)."""
        X = self._check_predict_X(X)
        Z = np.empty((X.shape[0], self._net.n_outputs))
        for rows, H in self._hidden_blocks(X):
            Z[rows] = self._net.logits(H)
        return Z

    def decision_function(self, X):
        """Scores (logits) of every output neuron.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), or (n_samples,) for two
            classes (the second class's score minus the first's)
        """
        Z = self._logits(X)
        if not self._multilabel and Z.shape[1] == 2:
            return Z[:, 1] - Z[:, 0]
        return Z

    def predict_proba(self, X):
        """Softmax probabilities over all classes.

        For multi-label targets, column ``j`` estimates the share of the sample's
        label mass that falls on label ``j`` (rows sum to 1), as trained.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return softmax(self._logits(X), axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return log_softmax(self._logits(X), axis=1)

    def predict(self, X):
        """Predicted class, or label set for multi-label targets.

        Multi-label: the ``k`` best labels of each sample, ``k`` the mean number
        of labels per training sample, rounded (at least 1); returned as an
        indicator matrix, scipy CSR if ``y`` was sparse or label sets. Use
        :meth:`predict_topk` to choose ``k``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y : ndarray of shape (n_samples,), or indicator of shape \
                (n_samples, n_classes)
        """
        X = self._check_predict_X(X)
        if not self._multilabel:
            top = self._topk_blocks(X, 1, self._topk_exact)[0][:, 0]
            return self.classes_[top]
        k = max(1, round(self._mean_labels))
        top = self._topk_blocks(X, k, self._topk_exact)[0]
        n = X.shape[0]
        Y = sp.csr_matrix(
            (np.ones(top.size, dtype=int), top.ravel(), np.arange(0, n * k + 1, k)),
            shape=(n, len(self.classes_)),
        )
        Y.sort_indices()
        return Y if self._sparse_output else Y.toarray()

    def predict_topk(self, X, k=5, *, exact=True):
        """The ``k`` best classes of each sample and their scores, best first.

        Never materialises a (n_samples, n_classes) array: samples go in blocks
        of 4,096 rows, and their scores in blocks too. With ``exact=False`` only
        the LSH candidates of each sample (the neurons sharing a bucket with its
        hidden activation) are scored, which is faster for very wide outputs but
        may miss classes; rows with fewer than ``k`` candidates are completed
        with other neurons.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.
        k : int, default=5
            Labels per sample, at most ``n_classes``.
        exact : bool, default=True
            Score all classes (True) or only the LSH candidates (False; needs a
            model trained with a sparse output layer).

        Returns
        -------
        labels : ndarray of shape (n_samples, k)
            Class labels (``classes_`` entries), best first.
        scores : ndarray of shape (n_samples, k)
            Their logits.
        """
        X = self._check_predict_X(X)
        if not isinstance(k, Integral) or not 1 <= k <= len(self.classes_):
            raise ValueError(f"k must be an integer in [1, {len(self.classes_)}].")
        if not exact and self._tables is None:
            raise ValueError(
                "exact=False needs a sparse output layer (the model trained "
                "densely: active_size_ == n_classes)."
            )
        method = self._topk_exact if exact else self._topk_lsh
        top, scores = self._topk_blocks(X, k, method)
        return self.classes_[top], scores

    def _topk_exact(self, H, k):
        """Exact top-k: a float32 BLAS shortlist, re-ranked in float64.

        The shortlist keeps ``_SHORTLIST_EXTRA`` more than ``k``, so only labels
        tied with the k-th to float32 precision (~1e-6) could be ranked off it;
        the final scores and order are float64 and do not depend on the batch.
        """
        n, n_out = H.shape[0], self._net.n_outputs
        k_short = min(n_out, k + _SHORTLIST_EXTRA)
        if k_short == n_out or n * n_out <= _EXACT_ALL_MAX_SCORES:
            # Every output fits on the shortlist, or the rows hold few scores in
            # all: no float32 pass to choose it (half the time of predicting
            # one document with few classes).
            return self._net.rerank(H, np.broadcast_to(np.arange(n_out), (n, n_out)), k)
        short = np.empty((n, k_short), dtype=np.int64)
        best = None
        for rows, cols, Z in self._net.logit_blocks(H, exact=False):
            if cols.start == 0:
                best = (None, None)
            if best[0] is None or best[0].shape[1] < k_short:
                best = topk(Z, k_short, cols.start, *best)
            else:
                best = _merge_above(Z, cols.start, *best)
            if cols.stop == n_out:
                short[rows] = best[0]
        return self._net.rerank(H, short, k)

    def _topk_lsh(self, H, k):
        n_threads = effective_n_threads(self.n_jobs)
        n_out = self._net.n_outputs
        buckets = self._family.hash(H, n_threads)
        empty = np.zeros(H.shape[0] + 1, dtype=np.int64)
        m = max(k, self.active_size_)
        # Deterministic completion: predict draws no random numbers.
        # Rows short of candidates are completed with the hubs, then in order.
        fill = np.concatenate([self._hubs, np.setdiff1d(np.arange(m), self._hubs)])
        active, _ = active_sets(
            self._tables,
            buckets,
            empty,
            np.empty(0, np.int32),
            fill,
            np.zeros(H.shape[0], dtype=np.int64),
            m,
            n_out,
            n_threads,
        )
        Z = self._net.active_logits(H.astype(np.float32), active, n_threads)
        pos, scores = topk(Z, k)
        return np.take_along_axis(active, pos, axis=1).astype(np.int64), scores

    def score(self, X, y, sample_weight=None):
        """Accuracy; for multi-label targets, subset accuracy (exact label sets).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.
        y : array-like of shape (n_samples,), indicator matrix or label sets
            True targets, in any form ``fit`` takes.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the mean.

        Returns
        -------
        score : float
        """
        check_is_fitted(self, "_net")
        if not self._multilabel:
            return super().score(X, y, sample_weight=sample_weight)
        if _is_label_lists(y):
            y = MultiLabelBinarizer(
                classes=self.classes_, sparse_output=True
            ).fit_transform(y)
        pred = sp.csr_matrix(self.predict(X))
        true = sp.csr_matrix(y)
        if true.shape != pred.shape:
            raise ValueError(f"y has shape {true.shape}; expected {pred.shape}.")
        exact = np.asarray((pred != true).sum(axis=1)).ravel() == 0
        return float(np.average(exact, weights=sample_weight))

    @property
    def _mean_labels(self):
        return self._label_count / max(1, self._sample_count)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags


def _merge_above(Z, base, top, scores):
    """Merge block ``Z`` (columns from ``base``) into the top-k lists, in place.

    Only scores above a row's k-th best can enter, and after the first blocks
    there are few: filtering by that threshold first is ~10x cheaper than a
    partition of the whole block. Same result as :func:`topk` (ties to the lower
    column: an equal score in a later block has a higher column).
    """
    flat = np.flatnonzero(Z > scores[:, -1:])  # cheaper than a 2-D nonzero
    if flat.size == 0:
        return top, scores
    if flat.size > Z.size // 16:
        return topk(Z, top.shape[1], base, top, scores)
    r, c = np.divmod(flat, Z.shape[1])
    k = top.shape[1]
    rows = np.unique(r)
    ridx = np.concatenate([np.repeat(rows, k), r])
    cidx = np.concatenate([top[rows].ravel(), c + base])
    vals = np.concatenate([scores[rows].ravel(), Z[r, c]])
    order = np.lexsort((cidx, -vals, ridx))
    # Every affected row has at least k entries (its current best): its first k
    # in the sorted order are the new best.
    first = np.searchsorted(ridx[order], rows)
    take = order[first[:, None] + np.arange(k)]
    top[rows], scores[rows] = cidx[take], vals[take]  # the caller's own arrays
    return top, scores


def _take_rows(lab_ptr, labels, rows):
    """Rows ``rows`` of the CSR label structure ``(lab_ptr, labels)``."""
    counts = np.diff(lab_ptr)[rows]
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    if labels.size == 0:
        return ptr, labels
    starts = lab_ptr[rows]
    idx = np.repeat(starts - ptr[:-1], counts) + np.arange(ptr[-1])
    return ptr, labels[idx]
