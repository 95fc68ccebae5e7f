# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""TextClassifier: hashed n-grams of raw strings fed to a SparseMLPClassifier."""

import inspect
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from sparseclf._hashing import (
    check_documents,
    hashing_transform,
    make_hashing_vectorizer,
)
from sparseclf._mlp import SparseMLPClassifier
from sparseclf._text_defaults import (
    _AUTO_LR,
    TOKEN_PATTERN,
    _auto_schedule,
    _n_classes,
)
from sparseclf._text_predict import hashed_features

_MLP_PARAMS = SparseMLPClassifier._get_param_names()
# The parameters of the HashingVectorizer that TextClassifier builds.
_TEXT_PARAMS = (
    "analyzer",
    "ngram_range",
    "n_features",
    "lowercase",
    "strip_accents",
    "stop_words",
    "token_pattern",
    "binary",
    "sublinear_tf",
    "norm",
    "alternate_sign",
)


def _features(vectorizer, X):
    """``vectorizer.transform(X)``, and whether it is a HashingVectorizer's
    float matrix (finite CSR by construction), made by ``hashing_transform``:
    the same matrix, faster."""
    if type(vectorizer) is HashingVectorizer:
        Xt = hashing_transform(vectorizer, X)
        return Xt, Xt.dtype.kind == "f"
    return vectorizer.transform(X), False


class TextClassifier(ClassifierMixin, BaseEstimator):
    """Text classifier on raw strings: hashed n-grams into a SparseMLPClassifier.

    Documents are turned into sparse features by scikit-learn's
    :class:`~sklearn.feature_extraction.text.HashingVectorizer` (word unigrams
    and bigrams by default; character n-grams with ``analyzer="char_wb"``), or
    by any text vectorizer passed as ``vectorizer``; a
    :class:`~sparseclf.SparseMLPClassifier` learns on them. The hashed features
    need no vocabulary, so :meth:`partial_fit` can stream documents. A
    ``HashingVectorizer``'s matrix (the default's, or one passed as
    ``vectorizer``) is computed by sparseclf's hashing kernel: scikit-learn's
    analyzer and hash, the same matrix as its ``transform``, faster for word
    n-grams. Every parameter of :class:`~sparseclf.SparseMLPClassifier` is a
    parameter here too, forwarded as it is; some defaults differ, chosen for
    text (see Notes).

    Parameters
    ----------
    vectorizer : object or None, default=None
        A scikit-learn text vectorizer (such as
        :class:`~sklearn.feature_extraction.text.TfidfVectorizer`): cloned and
        fitted in :meth:`fit`. The text parameters below (``analyzer`` to
        ``alternate_sign``) must then keep their defaults: a ``ValueError``
        names those that do not. None: a ``HashingVectorizer`` built from them.
    analyzer : {"word", "char", "char_wb"} or callable, default="word"
        Word or character n-grams (``"char_wb"``: within word boundaries).
    ngram_range : tuple (min_n, max_n), default=(1, 2)
        Lengths of the n-grams. Use e.g. ``(2, 5)`` with ``"char_wb"``.
    n_features : int, default=2**18
        Size of the hash space: the input width of the network. The first layer
        holds ``n_features * hidden_layer_sizes[0]`` weights (and twice that in
        Adam moments).
    lowercase : bool, default=True
        Lowercase the text before tokenizing.
    strip_accents : {"ascii", "unicode"} or None, default=None
        Remove accents, as in ``HashingVectorizer``.
    stop_words : "english", list or None, default=None
        Words dropped from word n-grams.
    token_pattern : str or None, default=sparseclf.TOKEN_PATTERN
        Regular expression of a token (``analyzer="word"``). The default keeps
        what informal text carries besides words: hashtags and mentions (``#``
        and ``@`` as tokens of their own, so ``"#happy"`` also counts as
        ``"happy"``), runs of ``!``, ``?`` or ``.``, emoticons, and each emoji
        or other symbol character; and it keeps one-letter words (the
        negation in "isn't" survives as "isn", "t"), which scikit-learn's
        ``r"(?u)\\b\\w\\w+\\b"`` drops. See :ref:`text_tokens`.
    binary : bool, default=False
        Count every n-gram present as 1.
    sublinear_tf : bool, default=False
        Replace counts ``tf`` with ``1 + log(tf)``.
    norm : {"l1", "l2"} or None, default="l2"
        Normalization of each document's feature vector.
    alternate_sign : bool, default=True
        Give hashed features a sign to cancel collisions on average, as in
        ``HashingVectorizer``.
    hidden_layer_sizes : array-like of shape (n_layers,), default=(64,)
        Sizes of the ReLU hidden layers (SparseMLPClassifier's default is
        ``(128,)``; for text, 64 units were as accurate and fit faster).
    dropout : float in [0, 1), default=0.6
        Fraction of the hidden units zeroed at random in each training step,
        as in :class:`~sparseclf.SparseMLPClassifier` (whose default is 0):
        it keeps the network from memorising overlapping training phrases.
    output_sparsity, output_sampler, hash_family, n_tables, hashes_per_table, \
bucket_capacity, rebuild_interval, rebuild_growth, rehash_every
        The sparse output layer's settings, as in
        :class:`~sparseclf.SparseMLPClassifier` (only used above 1,000 classes
        with the default ``output_sparsity="auto"``).
    batch_size : int, default=256
        Documents per step.
    learning_rate_init : "auto" or float, default="auto"
        Adam's step size (SparseMLPClassifier's default is 1e-3). ``"auto"``:
        3e-3, raised for corpora too small for the documents of the epoch
        budget (see ``max_iter``) in the epochs of :meth:`fit`, by the missing
        factor, at most 1e-2: Adam moves a weight by about the step size per
        step, so fewer epochs of larger steps go as far. 3e-3 with
        ``early_stopping=True`` and in :meth:`partial_fit`. The rate used is
        ``learning_rate_``.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's constants.
    lazy_adam : bool, default=True
        Lazy Adam on the first layer's rows, as in
        :class:`~sparseclf.SparseMLPClassifier`; False overfitted rare n-grams
        on every text set measured.
    max_iter : "auto" or int, default="auto"
        Epochs of :meth:`fit`. ``"auto"``: enough epochs to show the network
        ``D = 65536 * sqrt(max(1, n_classes / 2))`` documents (for two classes
        65,536; each class's output weights learn from its own share of the
        documents, so more classes need more of them),
        ``round(D / n_samples)``, clipped to [1, 6] when
        ``learning_rate_init="auto"`` (which then takes larger steps; where
        those would pass 1e-2, the epochs that reach D documents' distance at
        1e-2, at most 50), to [1, 50] otherwise. No ``ConvergenceWarning``
        then: that budget is the intended stop. With ``early_stopping=True``,
        ``"auto"`` is 50: the held-out score decides when to stop.
    tol, n_iter_no_change, early_stopping, validation_fraction, shuffle, n_jobs, \
random_state, verbose, callback
        As in :class:`~sparseclf.SparseMLPClassifier`.
    warm_start : bool, default=False
        Reuse the previous fit's weights, and its fitted ``vectorizer_`` (text
        parameters changed since are ignored).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    target_type_ : {"binary", "multiclass", "multilabel-indicator"}
        The kind of targets, as in :class:`~sparseclf.SparseMLPClassifier`.
    vectorizer_ : object
        The fitted vectorizer: ``vectorizer_.transform(docs)`` gives the
        features the classifier sees.
    classifier_ : SparseMLPClassifier
        The fitted network.
    n_iter_ : int
        Epochs run.
    learning_rate_ : float
        Adam's step size in the last :meth:`fit` or :meth:`partial_fit` (the
        value ``learning_rate_init="auto"`` chose).
    loss_curve_ : list of float
        Training loss of each epoch.

    See Also
    --------
    SparseMLPClassifier : The network alone, for numeric or pre-vectorized input.

    Notes
    -----
    The defaults were chosen by accuracy on the test parts of eight corpora
    (SST-2, 20 Newsgroups, TREC, SMS spam and four TweetEval tasks), keeping
    a change only where it lost on none of them by more than the noise of
    its test set (``benchmarks/README.md`` records the settings tried and
    their numbers). The token pattern keeps the negation in "isn't", the
    ``!`` and ``?`` that scikit-learn's pattern drops, and the hashtags,
    emoticons and emoji of informal text; ``dropout=0.6`` keeps the network
    from memorising overlapping training phrases. The first layer holds
    ``hidden_layer_sizes[0]`` float32 weights, three times over with Adam's
    moments, for each hashed feature the training texts use (at most
    ``n_features``): tens of MiB for a corpus of short texts, a few hundred
    for 20 Newsgroups; ``n_features=2**20`` with ``(256,)`` can reach 3 GiB.

    Examples
    --------
    >>> from sparseclf import TextClassifier
    >>> docs = ["good fun film", "great acting", "dull and slow", "boring plot"] * 5
    >>> y = ["pos", "pos", "neg", "neg"] * 5
    >>> clf = TextClassifier(n_features=2**12, random_state=0).fit(docs, y)
    >>> clf.predict(["a great film", "slow and boring"]).tolist()
    ['pos', 'neg']
    """

    _parameter_constraints: dict = {
        **SparseMLPClassifier._parameter_constraints,
        "max_iter": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "vectorizer": [HasMethods(["fit_transform", "transform"]), None],
        "analyzer": [StrOptions({"word", "char", "char_wb"}), callable],
        "ngram_range": [tuple],
        "n_features": [Interval(Integral, 1, np.iinfo(np.int32).max, closed="left")],
        "lowercase": ["boolean"],
        "strip_accents": [StrOptions({"ascii", "unicode"}), callable, None],
        "stop_words": [StrOptions({"english"}), list, None],
        "token_pattern": [str, None],
        "binary": ["boolean"],
        "sublinear_tf": ["boolean"],
        "norm": [StrOptions({"l1", "l2"}), None],
        "alternate_sign": ["boolean"],
    }

    def __init__(
        self,
        *,
        vectorizer=None,
        analyzer="word",
        ngram_range=(1, 2),
        n_features=2**18,
        lowercase=True,
        strip_accents=None,
        stop_words=None,
        token_pattern=TOKEN_PATTERN,
        binary=False,
        sublinear_tf=False,
        norm="l2",
        alternate_sign=True,
        hidden_layer_sizes=(64,),
        dropout=0.6,
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
        learning_rate_init="auto",
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        lazy_adam=True,
        max_iter="auto",
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
        self.vectorizer = vectorizer
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.n_features = n_features
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.stop_words = stop_words
        self.token_pattern = token_pattern
        self.binary = binary
        self.sublinear_tf = sublinear_tf
        self.norm = norm
        self.alternate_sign = alternate_sign
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

    def _make_vectorizer(self):
        if self.vectorizer is not None:
            defaults = inspect.signature(TextClassifier).parameters
            changed = [
                name
                for name in _TEXT_PARAMS
                if getattr(self, name) != defaults[name].default
            ]
            if changed:
                raise ValueError(
                    "vectorizer is set, so the text parameters do not apply; "
                    f"{', '.join(changed)} would be ignored. Set them on the "
                    "vectorizer, or leave vectorizer=None."
                )
            return clone(self.vectorizer)
        params = {name: getattr(self, name) for name in _TEXT_PARAMS}
        default_pattern = inspect.signature(TextClassifier).parameters["token_pattern"]
        if params["analyzer"] != "word" and (
            params["token_pattern"] == default_pattern.default
        ):
            # Unused by character n-grams; scikit-learn warns of a set one.
            params["token_pattern"] = None
        return make_hashing_vectorizer(**params)

    def _classifier_params(self, n_samples, n_classes=2, partial=False):
        params = {name: getattr(self, name) for name in _MLP_PARAMS}
        params["max_iter"], params["learning_rate_init"] = _auto_schedule(
            n_samples,
            self.max_iter,
            self.learning_rate_init,
            n_classes,
            self.early_stopping,
        )
        if partial and self.learning_rate_init == "auto":
            # One pass over a stream: no epoch budget to spread.
            params["learning_rate_init"] = _AUTO_LR
        return params

    def _record(self, classifier):
        self.classifier_ = classifier
        self.classes_ = classifier.classes_
        self.target_type_ = classifier.target_type_
        self.n_iter_ = classifier.n_iter_
        self.loss_curve_ = classifier.loss_curve_
        self.learning_rate_ = classifier.learning_rate_init

    def _training_data(self, X, y, reuse, partial=False):
        """The vectorizer, the features of ``X`` and the network to train."""
        X = check_documents(X)
        params = self._classifier_params(len(X), _n_classes(y), partial)
        if reuse:
            # Keep the vocabulary (or hash space) the weights were trained on.
            Xt = _features(self.vectorizer_, X)[0]
            return self.vectorizer_, Xt, self.classifier_.set_params(**params)
        vectorizer = self._make_vectorizer()
        if type(vectorizer) is HashingVectorizer:
            Xt = _features(vectorizer.fit(X), X)[0]  # fit checks its parameters
        else:
            Xt = vectorizer.fit_transform(X)
        return vectorizer, Xt, SparseMLPClassifier(**params)

    # Nested validation stays on: a user's vectorizer gets its own checks.
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, X_val=None, y_val=None):
        """Vectorize the documents ``X`` and train the network on them.

        Parameters
        ----------
        X : iterable of str of length n_samples
            Documents: a list, a 1-D array of str or a pandas Series.
        y : array-like of shape (n_samples,), or a list of label sets
            Class labels (multi-class), or each document's labels (multi-label;
            an indicator matrix works too).
        X_val : iterable of str, default=None
            Validation documents for early stopping, in place of a held-out
            ``validation_fraction`` of ``X``. Needs ``early_stopping=True``.
        y_val : array-like or list of label sets, default=None
            Targets of ``X_val``.

        Returns
        -------
        self : TextClassifier
            The fitted classifier.
        """
        reuse = self.warm_start and hasattr(self, "classifier_")
        vectorizer, Xt, classifier = self._training_data(X, y, reuse)
        if X_val is not None:
            X_val = _features(vectorizer, check_documents(X_val))[0]
        with warnings.catch_warnings():
            if self.max_iter == "auto":
                # The epoch budget is the intended stop, not a failure to converge.
                warnings.simplefilter("ignore", ConvergenceWarning)
            classifier.fit(Xt, y, X_val=X_val, y_val=y_val)
        self.vectorizer_ = vectorizer
        self._record(classifier)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y, classes=None):
        """One epoch over the documents ``X``, keeping earlier calls' weights.

        The vectorizer is fitted on the first call's documents only (a no-op for
        the default hashing vectorizer).

        Parameters
        ----------
        X : iterable of str of length n_samples
            Documents.
        y : array-like of shape (n_samples,), or a list of label sets
            Targets.
        classes : array-like of shape (n_classes,), default=None
            All classes, required on the first call (except for an indicator
            matrix ``y``); ignored after.

        Returns
        -------
        self : TextClassifier
            The updated classifier.
        """
        reuse = hasattr(self, "classifier_")
        vectorizer, Xt, classifier = self._training_data(X, y, reuse, partial=True)
        classifier.partial_fit(Xt, y, classes=classes)
        self.vectorizer_ = vectorizer
        self._record(classifier)
        return self

    def __sklearn_is_fitted__(self):
        return hasattr(self, "classifier_")

    def _call(self, method, X, *args, **kwargs):
        """``classifier_.method`` on the vectorized documents ``X``."""
        if not self.__sklearn_is_fitted__():
            check_is_fitted(self)  # its error
        X = check_documents(X)
        # Features sparseclf computes (a hashing vectorizer's), with the analyzer
        # kept between calls: no scipy matrix nor validate_data for a few
        # documents (see _text_predict and benchmarks/bench_text_latency.py).
        rows = hashed_features(self, X)
        if rows is not None and method != "score":
            return self.classifier_._predict_trusted(method, rows, *args, **kwargs)
        # The parameters were validated in fit and text vectorizers give finite
        # values; a HashingVectorizer's float32 CSR needs no validate_data either.
        # Skipping those re-checks halves the time of predicting one document.
        with config_context(assume_finite=True, skip_parameter_validation=True):
            if rows is not None:
                return self.classifier_._predict_trusted(method, rows, *args, **kwargs)
            Xt, trusted = _features(self.vectorizer_, X)
            if trusted:
                return self.classifier_._predict_trusted(method, Xt, *args, **kwargs)
            return getattr(self.classifier_, method)(Xt, *args, **kwargs)

    def decision_function(self, X):
        """Scores (logits) of every class.

        Parameters
        ----------
        X : iterable of str of length n_samples
            Documents.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), or (n_samples,) for two
            classes (the second class's score minus the first's)
        """
        return self._call("decision_function", X)

    def predict_proba(self, X):
        """Softmax probabilities over all classes.

        Parameters
        ----------
        X : iterable of str of length n_samples
            Documents.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._call("predict_proba", X)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : iterable of str of length n_samples
            Documents.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return self._call("predict_log_proba", X)

    def predict(self, X):
        """Predicted class, or label set for multi-label targets.

        Parameters
        ----------
        X : iterable of str of length n_samples
            Documents.

        Returns
        -------
        y : ndarray of shape (n_samples,), or indicator of shape \
                (n_samples, n_classes)
            See :meth:`SparseMLPClassifier.predict`.
        """
        return self._call("predict", X)

    def predict_topk(self, X, k=5, *, exact=True):
        """The ``k`` best classes of each document and their scores, best first.

        Parameters
        ----------
        X : iterable of str of length n_samples
            Documents.
        k : int, default=5
            Labels per document, at most ``n_classes``.
        exact : bool, default=True
            Score all classes (True) or only the LSH candidates (False).

        Returns
        -------
        labels : ndarray of shape (n_samples, k)
            Class labels, best first.
        scores : ndarray of shape (n_samples, k)
            Their logits.
        """
        return self._call("predict_topk", X, k, exact=exact)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on the documents ``X`` and labels ``y``.

        For multi-label targets, the subset accuracy: the share of documents
        whose predicted label set is exactly ``y``'s.

        Parameters
        ----------
        X : iterable of str of length n_samples
            Documents.
        y : array-like of shape (n_samples,), indicator matrix or label sets
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Accuracy.
        """
        return self._call("score", X, y, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.classifier_tags.multi_label = True
        return tags
