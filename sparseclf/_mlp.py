# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""SparseMLPClassifier: an MLP whose wide output layer trains on sampled neurons."""

import functools
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from sparseclf import _scoring
from sparseclf._csr import RowBlock
from sparseclf._parallel import (
    MIN_ROWS_PER_THREAD,
    MIN_WORK_PER_THREAD,
    effective_n_threads,
)
from sparseclf._targets import Targets, is_indicator, is_label_lists
from sparseclf._training import Model, TrainingDiverged


def _checks_X(method):
    """``method(self, X, ...)``, written for checked CSR ``X``, as a public
    method that checks ``X`` first; ``_predict_trusted`` calls the unchecked
    one (``__wrapped__``)."""

    @functools.wraps(method)
    def checked(self, X, *args, **kwargs):
        return method(self, self._check_predict_X(X), *args, **kwargs)

    return checked


class SparseMLPClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron with a sampled sparse output layer (SLIDE/BOLT).

    Input (dense or sparse) -> ReLU hidden layers -> ``n_classes`` outputs. For a
    wide output layer, each training sample computes and updates only an *active
    set* of ``output_sparsity * n_classes`` output neurons: its labels and
    negatives shared by the batch (the "hub" neurons scoring high for the
    average sample, and labels drawn by training frequency, their logits
    corrected by the log of their chance of being drawn, so the softmax over
    the set estimates the full one), and with ``output_sampler="lsh"`` the
    neurons sharing an LSH bucket with its last hidden activation (at most a
    quarter of the set), as SLIDE trains. Only active output rows and the
    input rows of the sample's features are updated (see ``lazy_adam``). Up to
    1,000 classes (with ``"auto"``) train densely.

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
    output_sampler : {"auto", "lsh", "frequency"}, default="auto"
        What fills a sampled output layer's active sets beside the labels.
        ``"lsh"``: up to a quarter of each set are the neurons sharing an LSH
        bucket with the sample's last hidden activation (hard negatives, as in
        SLIDE), the rest the batch's shared negatives; the hash tables are
        rebuilt from the changing weights on the ``rebuild_interval``
        schedule. ``"frequency"``: all of it is the batch's shared negatives;
        no hash table is built or rebuilt while training. Per-sample
        candidates make each batch update many more distinct output rows, so
        ``"lsh"`` trains several times slower per epoch, for a precision gain
        the benchmarks found small. After ``"frequency"`` training,
        ``predict_topk(exact=False)`` builds the tables from the final
        weights at its first call. ``"auto"``: ``"frequency"`` (the
        measurements are in the user guide, "How the sampled output layer
        works"). The sampler in use is ``output_sampler_``. Not used when the
        output layer trains densely.
    hash_family : {"dwta", "simhash"}, default="dwta"
        LSH family of the output layer.
    n_tables : "auto" or int, default="auto"
        Hash tables, L ("auto": 24).
    hashes_per_table : "auto" or int, default="auto"
        Hashes per table, K. "auto" makes the expected candidates from all
        tables an eighth of the active set (DWTA: ``8**K`` buckets a table,
        SimHash ``2**K``).
    bucket_capacity : "auto" or int, default="auto"
        Most neurons a bucket keeps (a uniform sample when more hash there);
        "auto": ``max(16, 4 * ceil(c / n_tables))`` with ``c``, the expected
        candidates, an eighth of the active size.
    rebuild_interval : int, default=50
        Batches before the first rebuild of the hash tables from the current
        output weights (only ``output_sampler="lsh"`` rebuilds them while
        training).
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
    lazy_adam : bool, default=True
        Adam on the first layer's rows as lazy Adam (PyTorch's ``SparseAdam``):
        a row changes only in the steps whose batch holds its feature. False:
        when a row is next touched, it first takes the steps it missed as dense
        Adam would have (its momentum goes on moving it after its feature is
        gone), in closed form, at lazy Adam's cost. That learns more per epoch
        where rare features carry the signal, but moves a rarely seen feature
        up to ``1 / (1 - beta_1 / sqrt(beta_2))`` (about 10) times as far per
        occurrence, and overfits rare n-grams of text; see "The training step"
        in the user guide.
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
    callback : callable or None, default=None
        Called after every training batch with a named tuple ``(epoch,
        n_epochs, batch, n_batches, n_samples, loss)``: the epoch (counted over
        the estimator's life) and the most this call runs, the batch (from 1)
        of the epoch's ``n_batches``, and the samples trained on so far in the
        epoch and their mean loss. For progress reports; its return value is
        ignored. Cloning copies it, as any parameter.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (multi-label: the label of each indicator column).
    target_type_ : {"binary", "multiclass", "multilabel-indicator"}
        The kind of targets the model was fitted on, in the words of
        :func:`~sklearn.utils.multiclass.type_of_target` (label sets count as
        ``"multilabel-indicator"``).
    coefs_ : list of ndarray
        Weight matrices, ``coefs_[k]`` of shape (fan_in, fan_out), as
        :class:`~sklearn.neural_network.MLPClassifier`. The first is assembled
        from the rows of the features seen in training (others' rows are zero)
        once per change of the weights, read-only (writing into it could not
        change the model); the others are the trained arrays themselves.
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
        Input width.
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
    active_size_ : int
        Output neurons computed per training sample.
    hash_params_ : dict or None
        The LSH settings in use (None when training densely).
    output_sampler_ : {"lsh", "frequency"} or None
        What ``output_sampler`` trained the last epochs with (None when
        training densely).
    n_rebuilds_ : int
        Hash table builds in training so far, the first included: 0 when
        training with ``output_sampler="frequency"`` (the build of
        ``predict_topk(exact=False)`` is not counted).

    See Also
    --------
    sklearn.neural_network.MLPClassifier : Dense MLP; the same model when
        ``output_sparsity=1.0``, with other defaults.

    Notes
    -----
    Prediction is exact: all output neurons are scored, in blocks of bounded
    memory. ``predict_topk(X, k, exact=False)`` scores only the LSH candidates,
    whichever sampler trained the model.

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
        "output_sampler": [StrOptions({"auto", "lsh", "frequency"})],
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
        "lazy_adam": ["boolean"],
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
        "callback": [callable, None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(128,),
        *,
        dropout=0.0,
        output_sparsity="auto",
        output_sampler="auto",
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
        lazy_adam=True,
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
        callback=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.output_sparsity = output_sparsity
        self.output_sampler = output_sampler
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
        self.lazy_adam = lazy_adam
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
        self.callback = callback

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, X_val=None, y_val=None):
        """Train on ``X, y`` for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; sparse input (CSR or CSC, int32 or int64 indices) is
            used as it is.
        y : array-like of shape (n_samples,), or (n_samples, n_classes) indicator \
                (dense or sparse), or a list of label sets
            Class labels (multi-class) or label sets (multi-label).
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            Validation data for early stopping, in place of a held-out
            ``validation_fraction`` of ``X``: all of ``X`` is trained on. Needs
            ``early_stopping=True``.
        y_val : array-like, indicator matrix or label sets, default=None
            Targets of ``X_val``, in the form of ``y``; labels must be classes
            of ``y``.

        Returns
        -------
        self : SparseMLPClassifier
            The fitted classifier.
        """
        first = not (self.warm_start and self.__sklearn_is_fitted__())
        return self._fit(
            X, y, classes=None, first=first, epochs=self.max_iter, val=(X_val, y_val)
        )

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
        first = not self.__sklearn_is_fitted__()
        if y is None:
            raise ValueError("partial_fit needs targets y, got None.")
        # Before asking for classes: y may not be targets at all (dask-ml's
        # Incremental passes the key of a 2-D y's block it could not find).
        check_consistent_length(X, y)
        if first and classes is None and not is_indicator(y):
            raise ValueError(
                "classes must be passed on the first call to partial_fit "
                "(all the class labels the model will ever see)."
            )
        return self._fit(X, y, classes=classes, first=first, epochs=1)

    def _fit(self, X, y, classes, first, epochs, val=(None, None)):
        if is_label_lists(y) or sp.issparse(y):
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
        n_threads = effective_n_threads(self.n_jobs)
        params = self.get_params(deep=False)
        if first:
            targets, lab_ptr, labels = Targets.fit(y, classes, X.shape[0])
            model = Model(targets, X.shape[1], params, n_threads)
        else:
            model = self._model
            if not model.network.trainable:
                raise ValueError(
                    "This model was saved for inference only "
                    "(sparseclf.save(..., optimizer_state=False)): it has no "
                    "optimizer state to continue training from. Fit it afresh "
                    "(fit with warm_start=False), or load a file saved with "
                    "optimizer_state=True."
                )
            lab_ptr, labels = model.targets.encode(y, X.shape[0])
        validation = self._validation_set(model, *val)
        try:
            model.train(X, lab_ptr, labels, epochs, params, n_threads, validation)
        except TrainingDiverged:
            self.__dict__.pop("_model", None)
            raise ValueError(
                "Training diverged: the loss became NaN or infinite "
                f"(learning_rate_init={self.learning_rate_init}). The model was "
                "discarded; try a smaller learning_rate_init."
            ) from None
        self._model = model
        self.__dict__.update(model.attributes())
        return self

    def _validation_set(self, model, X_val, y_val):
        """``fit``'s ``X_val, y_val`` as CSR and a label array per sample."""
        if X_val is None and y_val is None:
            return None
        if X_val is None or y_val is None:
            raise ValueError("X_val and y_val must be passed together.")
        if not self.early_stopping:
            raise ValueError(
                "X_val and y_val are for early stopping: set early_stopping=True."
            )
        X_val = self._validate_X(X_val, reset=False)
        try:
            lab_ptr, labels = model.targets.encode(y_val, X_val.shape[0])
        except ValueError as exc:
            raise ValueError(f"y_val: {exc}") from None
        return X_val, np.split(labels, lab_ptr[1:-1])

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

    @property
    def coefs_(self):
        """Weight matrices (fan_in, fan_out): see the class docstring."""
        check_is_fitted(self)
        return self._model.network.coefs()

    @property
    def intercepts_(self):
        """Bias vectors, the trained arrays themselves."""
        check_is_fitted(self)
        return self._model.network.biases

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_model")

    # --------------------------------------------------------------- prediction

    def _check_predict_X(self, X):
        check_is_fitted(self)
        return self._validate_X(X, reset=False)

    def _predict_trusted(self, method, X, *args, **kwargs):
        """Public method ``method`` (e.g. ``"predict"``) on features a
        TextClassifier's HashingVectorizer made.

        Such features are a finite float32 CSR matrix (or ``RowBlock``) by
        construction, so when they have the fitted width scikit-learn's
        validation, which costs more than the network's work for one document,
        is skipped.
        """
        if not self.__sklearn_is_fitted__():
            check_is_fitted(self)  # its error
        if not (
            (
                isinstance(X, RowBlock)
                or (sp.issparse(X) and X.format == "csr" and X.dtype == np.float32)
            )
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
        ):
            X = self._validate_X(X, reset=False)
        return getattr(type(self), method).__wrapped__(self, X, *args, **kwargs)

    def _n_threads(self, X):
        """Threads for predicting on ``X``: ``effective_n_threads(n_jobs)``, or 1
        where every kernel would run on one thread anyway (``threads_for``
        gives one below twice its work per thread): asking threadpoolctl costs
        more than predicting one document."""
        n = X.shape[0]
        small = 2 * MIN_WORK_PER_THREAD
        if (
            self.n_jobs != 0
            and n < 2 * MIN_ROWS_PER_THREAD
            and X.indptr[-1] - X.indptr[0] < small
            and n * self._model.network.n_outputs < small
        ):
            return 1
        return effective_n_threads(self.n_jobs)

    def _topk(self, X, k, exact=True):
        """Best output indices and scores of checked CSR ``X``, (n, k) each."""
        network, sampler = self._model.network, self._model.sampler
        n_threads = self._n_threads(X)
        if exact:
            method = functools.partial(_scoring.exact_topk, network, k=k)
        else:
            method = functools.partial(
                _scoring.lsh_topk, network, sampler, k=k, n_threads=n_threads
            )
        return _scoring.topk_blocks(network, X, method, n_threads)

    def _logits(self, X):
        return _scoring.logits(self._model.network, X, self._n_threads(X))

    def _labels(self, X):
        targets = self._model.targets
        k = max(1, round(targets.mean_labels)) if targets.multilabel else 1
        return targets.predictions(self._topk(X, k)[0])

    @_checks_X
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
        return Z[:, 1] - Z[:, 0] if self.target_type_ == "binary" else Z

    @_checks_X
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

    @_checks_X
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

    @_checks_X
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
        return self._labels(X)

    @_checks_X
    def predict_topk(self, X, k=5, *, exact=True):
        """The ``k`` best classes of each sample and their scores, best first.

        Never materialises a (n_samples, n_classes) array: samples go in blocks
        of 4,096 rows, and their scores in blocks too. With ``exact=False`` only
        the LSH candidates of each sample (the neurons sharing a bucket with its
        hidden activation) are scored, which is faster for very wide outputs but
        may miss classes. Each row scores ``max(k, active_size_)`` neurons: its
        candidates, completed by the hub neurons (those scoring high for the
        mean training activation), then by the lowest-numbered neurons. After
        training with ``output_sampler="frequency"``, the first such call
        builds the hash tables from the output weights.

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
        if not isinstance(k, Integral) or not 1 <= k <= len(self.classes_):
            raise ValueError(f"k must be an integer in [1, {len(self.classes_)}].")
        top, scores = self._topk(X, k, exact)
        return self.classes_[top], scores

    @_checks_X
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
        return self._model.targets.score(self._labels(X), y, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags
