# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""ONNX export of :class:`~sparseclf.SparseMLPClassifier`'s exact prediction.

Needs the optional extra ``onnx`` (``pip install "sparseclf[onnx]"``):
importing this module registers a converter with skl2onnx, so that
``skl2onnx.to_onnx`` converts a fitted ``SparseMLPClassifier``, alone or at the
end of a :class:`~sklearn.pipeline.Pipeline` of convertible steps.
``import sparseclf`` never imports it.

The graph is built from standard ONNX operators only: MatMul, Add, Relu, Cast,
Softmax, ArgMax, TopK, Gather, ScatterElements, Shape and ConstantOfShape.
"""

from numbers import Integral

import numpy as np

try:
    from onnx import TensorProto, numpy_helper
    from skl2onnx import convert_sklearn, update_registered_converter
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )
except ImportError as exc:  # pragma: no cover - the extra is in the test extra
    raise ImportError(
        "sparseclf.onnx needs skl2onnx and onnx (and onnxruntime to run the "
        'exported models): pip install "sparseclf[onnx]"'
    ) from exc

from sklearn.utils.validation import check_is_fitted

from sparseclf._mlp import SparseMLPClassifier
from sparseclf._text import TextClassifier

__all__ = ["to_onnx"]

# Softmax normalises over one axis from opset 13 (before, over all the axes
# from ``axis`` on; the same for 2-D logits, but one rule is simpler to test).
_MIN_OPSET = 13
_ALIAS = "SparseclfSparseMLPClassifier"

_TEXT_MESSAGE = (
    "A TextClassifier cannot be exported to ONNX: its vectorizer works on raw "
    "strings, and the default HashingVectorizer (a regular-expression "
    "tokenizer, n-grams, and MurmurHash3 of each into n_features buckets) has "
    "no equivalent in the standard ONNX operators. Export the network alone, "
    "sparseclf.onnx.to_onnx(text_clf.classifier_), and feed it the features "
    "computed in Python: text_clf.vectorizer_.transform(docs).toarray()"
    ".astype(numpy.float32)."
)


def to_onnx(estimator, *, top_k=None, target_opset=None, input_name="X"):
    """Export a fitted :class:`~sparseclf.SparseMLPClassifier` to ONNX.

    The graph computes what ``predict`` and ``predict_proba`` compute (or,
    with ``top_k``, what ``predict_topk(X, top_k)`` computes), over all output
    neurons: the first layer in float32, the layers after it in float64, as
    the estimator does. Its outputs, for ``n`` input rows:

    - multi-class (and binary): ``label`` of shape (n,), the classes of
      :meth:`~sparseclf.SparseMLPClassifier.predict` (int64 for integer
      classes, string for string classes, double for float classes), and
      ``probabilities`` of shape (n, n_classes), those of ``predict_proba``;
    - multi-label: ``label``, an int64 indicator of shape (n, n_classes), the
      dense form of ``predict``'s label sets (the ``k`` best labels of each
      row, ``k`` the mean number of labels per training sample, rounded, at
      least 1), and ``probabilities`` as ``predict_proba``: the softmax over
      the labels, whose rows sum to 1 (not independent per-label
      probabilities);
    - with ``top_k=k``: ``label`` of shape (n, k), the classes (or labels) of
      ``predict_topk(X, k)`` best first, and ``scores`` of shape (n, k),
      their logits. No (n, n_classes) output then: for wide output layers.

    ``probabilities`` and ``scores`` have the input's float type (float32
    here), rounded from the float64 the graph computes them in.

    Parameters
    ----------
    estimator : SparseMLPClassifier
        A fitted classifier. A :class:`~sparseclf.TextClassifier` cannot be
        exported (see Notes); export its ``classifier_``.
    top_k : int or None, default=None
        Output the ``top_k`` best classes of each row and their logits
        instead of ``label`` and ``probabilities`` (ONNX TopK).
    target_opset : int or None, default=None
        ONNX opset of the graph, at least 13. None: skl2onnx's default.
    input_name : str, default="X"
        Name of the graph's input.

    Returns
    -------
    model : onnx.ModelProto
        The model; ``model.SerializeToString()`` or ``onnx.save`` writes it.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted.
    TypeError
        If ``estimator`` is not a SparseMLPClassifier (a TextClassifier's
        message says why it cannot be exported and what to do instead).

    See Also
    --------
    skl2onnx.to_onnx : Converts the classifier too (once this module is
        imported), with ``options={SparseMLPClassifier: {"top_k": k}}`` for
        top-k outputs, and pipelines ending in it.

    Notes
    -----
    The input is a dense float32 matrix of shape ``(n, n_features_in_)`` (a
    float64 input, through ``skl2onnx.to_onnx``, is cast to float32 first, as
    the estimator does, and gives float64 outputs). ONNX Runtime takes no
    scipy sparse matrices: densify them (``X.toarray().astype(np.float32)``),
    at 4 bytes per feature and row, 1 MiB a row for a ``TextClassifier``'s
    2**18 hashed features. The graph then multiplies each dense row by the
    whole first layer, where the estimator reads only the rows of the row's
    non-zero features: for wide sparse input it is slower (see the user
    guide). The graph keeps only the columns of the features seen in training
    (whose first-layer rows are not all zero; the others add nothing), so the
    file holds about ``4 * hidden_layer_sizes[0]`` bytes per seen feature
    plus the later layers.

    Through ``skl2onnx.to_onnx``, the option ``zipmap`` (which skl2onnx's
    pipeline parser sets on a final classifier) is accepted and ignored:
    ``probabilities`` is always a tensor.

    What cannot be exported:

    - ``predict_topk(X, k, exact=False)``: it scores only each row's LSH
      candidates, gathered by walking the row's bucket in each of the
      model's hash tables (buckets of different lengths), skipping neurons
      already taken, up to ``max(k, active_size_)`` of them, then completing the
      list with the "hub" neurons. The standard ONNX operators have nothing
      for such an order-dependent, de-duplicating walk; imitating it with
      padded tables, sorts and masks would be a second implementation of the
      LSH to keep identical to the kernels, for a path that is approximate
      by design. The graph scores every output neuron instead: the exact
      prediction, ``exact=True``, which the LSH path approximates.
    - ``TextClassifier``: its vectorizer works on raw strings; the default
      ``HashingVectorizer`` tokenises them with a regular expression, forms
      n-grams and hashes each with MurmurHash3, and the standard ONNX
      operators have no regular-expression tokenizer and no string hash.
      Export its ``classifier_`` and compute the features in Python.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from sklearn.datasets import make_classification
    >>> from sparseclf import SparseMLPClassifier
    >>> from sparseclf.onnx import to_onnx
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> X = X.astype(np.float32)
    >>> clf = SparseMLPClassifier(max_iter=20, random_state=0).fit(X, y)
    >>> sess = ort.InferenceSession(to_onnx(clf).SerializeToString())
    >>> label, proba = sess.run(None, {"X": X})
    >>> bool((label == clf.predict(X)).all())
    True
    >>> bool(np.allclose(proba, clf.predict_proba(X), atol=1e-5))
    True
    """
    _check_exportable(estimator)
    _check_top_k(estimator, top_k)
    if target_opset is not None and target_opset < _MIN_OPSET:
        raise ValueError(
            f"target_opset must be at least {_MIN_OPSET}; got {target_opset}."
        )
    width = estimator.n_features_in_
    return convert_sklearn(
        estimator,
        name=type(estimator).__name__,
        initial_types=[(input_name, FloatTensorType([None, width]))],
        target_opset=target_opset,
        options={id(estimator): {"top_k": top_k}},
        # skl2onnx's clean-up pass (Identity removal) has nothing to remove
        # here, and would copy the weights twice more.
        model_optim=False,
    )


# --------------------------------------------------------------------- checks


def _check_exportable(estimator):
    if isinstance(estimator, TextClassifier):
        raise TypeError(_TEXT_MESSAGE)
    if not isinstance(estimator, SparseMLPClassifier):
        raise TypeError(
            "sparseclf.onnx exports a SparseMLPClassifier; got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator)


def _check_top_k(estimator, top_k):
    n_classes = len(estimator.classes_)
    if top_k is not None and (
        not isinstance(top_k, Integral)
        or isinstance(top_k, bool)
        or not 1 <= top_k <= n_classes
    ):
        raise ValueError(f"top_k must be None or an integer in [1, {n_classes}].")


def _predicted_labels(estimator):
    """``k`` of a multi-label ``predict``: labels per sample, as the estimator
    computes it (``SparseMLPClassifier._labels``)."""
    return max(1, round(estimator._model.targets.mean_labels))


def _label_type(classes):
    """skl2onnx type of ``classes`` as labels, and the classes as stored."""
    if classes.dtype.kind in "iub":
        return Int64TensorType, classes.astype(np.int64)
    if classes.dtype.kind == "f":
        return DoubleTensorType, classes.astype(np.float64)
    if classes.dtype.kind in "US" or all(isinstance(c, str) for c in classes):
        return StringTensorType, [str(c) for c in classes]
    raise TypeError(
        "Classes must be integers, floats or strings to be ONNX labels; got "
        f"{classes.dtype} ({classes[:3].tolist()}...)."
    )


# ----------------------------------------------------- skl2onnx registration


def _parse(scope, model, inputs, custom_parsers=None):
    """skl2onnx parser: declare the converter's two outputs."""
    _check_exportable(model)
    top_k = scope.get_options(model, {"top_k": None})["top_k"]
    _check_top_k(model, top_k)
    operator = scope.declare_local_operator(_ALIAS, model)
    operator.inputs = inputs
    # Placeholder types: the shape calculator sets the final ones.
    label = scope.declare_local_variable("label", Int64TensorType())
    second = "scores" if top_k is not None else "probabilities"
    operator.outputs.append(label)
    operator.outputs.append(scope.declare_local_variable(second, FloatTensorType()))
    return operator.outputs


def _shape(operator):
    """skl2onnx shape calculator: the outputs' element types and shapes."""
    model = operator.raw_operator
    (x,) = operator.inputs
    if not isinstance(x.type, (FloatTensorType, DoubleTensorType)):
        raise TypeError(
            f"The input must be a float or double tensor; got {x.type}. Cast "
            "the features to float32."
        )
    width = x.type.shape[1] if len(x.type.shape) == 2 else None
    if width is not None and width != model.n_features_in_:
        raise ValueError(
            f"The input has {width} features; the classifier was fitted on "
            f"{model.n_features_in_}."
        )
    n = x.type.shape[0]
    top_k = _options(operator)["top_k"]
    n_classes = len(model.classes_)
    label_type = _label_type(model.classes_)[0]
    if top_k is not None:
        operator.outputs[0].type = label_type([n, top_k])
        operator.outputs[1].type = type(x.type)([n, top_k])
    else:
        if model.target_type_ == "multilabel-indicator":
            operator.outputs[0].type = Int64TensorType([n, n_classes])
        else:
            operator.outputs[0].type = label_type([n])
        operator.outputs[1].type = type(x.type)([n, n_classes])


def _options(operator):
    return operator.scope_inst.get_options(operator.raw_operator, {"top_k": None})


class _Graph:
    """Adds nodes and initializers to a skl2onnx container, with unique names."""

    def __init__(self, scope, container, prefix):
        self.scope, self.container, self.prefix = scope, container, prefix

    def name(self, hint):
        return self.scope.get_unique_variable_name(f"{self.prefix}_{hint}")

    def const(self, hint, array):
        """An initializer holding ``array`` (numeric, or a list of str)."""
        name = self.name(hint)
        if isinstance(array, list):  # strings: from_array's raw data skips them
            self.container.add_initializer(
                name, TensorProto.STRING, [len(array)], array
            )
        else:
            # Appended as it is: add_initializer would copy the tensor twice
            # (once as a key to find duplicates), 256 MiB more at peak for a
            # 2**18 x 128 first layer.
            self.container.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op_type, inputs, hint=None, n_outputs=1, outputs=None, **attrs):
        """Add a node; returns its output name (or names, with ``n_outputs``)."""
        if outputs is None:
            outputs = [self.name(hint or op_type.lower()) for _ in range(n_outputs)]
        self.container.add_node(
            op_type, list(inputs), outputs, name=self.name(op_type), **attrs
        )
        return outputs[0] if len(outputs) == 1 else outputs


def _convert(scope, operator, container):
    """skl2onnx converter: the exact forward pass and prediction."""
    model = operator.raw_operator
    if container.target_opset is not None and container.target_opset < _MIN_OPSET:
        raise ValueError(
            f"target_opset must be at least {_MIN_OPSET}; got {container.target_opset}."
        )
    top_k = _options(operator)["top_k"]
    g = _Graph(scope, container, "sparseclf")
    x = operator.inputs[0]
    out_float = (
        TensorProto.DOUBLE
        if isinstance(x.type, DoubleTensorType)
        else TensorProto.FLOAT
    )
    coefs, intercepts = model.coefs_, model.intercepts_

    # First layer, float32 as in the estimator (which casts X to float32).
    h = x.full_name
    if out_float == TensorProto.DOUBLE:
        h = g.node("Cast", [h], "x32", to=TensorProto.FLOAT)
    W0 = coefs[0]
    seen = np.flatnonzero(W0.any(axis=1))
    if seen.size == 0:  # a graph needs a column: any (zero) row will do
        seen = np.zeros(1, dtype=np.int64)
    # Drop the columns of features never seen in training (their rows are
    # zero) when the index costs less than the rows it saves: a hashed text
    # layer has 2**18 columns of which a corpus uses a fraction.
    if seen.size * 8 < (W0.shape[0] - seen.size) * W0.shape[1] * 4:
        h = g.node("Gather", [h, g.const("seen", seen.astype(np.int64))], axis=1)
        W0 = W0[seen]
    h = g.node("MatMul", [h, g.const("W0", W0)])
    h = g.node("Add", [h, g.const("b0", intercepts[0])])
    h = g.node("Relu", [h])

    # Later layers in float64 (``Network.hidden64``): the weights are stored
    # as float32 and cast in the graph, exactly, at half the file size.
    h = g.node("Cast", [h], "h64", to=TensorProto.DOUBLE)
    last = len(coefs) - 1
    for k in range(1, len(coefs)):
        W = g.node("Cast", [g.const(f"W{k}", coefs[k])], to=TensorProto.DOUBLE)
        b = g.node("Cast", [g.const(f"b{k}", intercepts[k])], to=TensorProto.DOUBLE)
        h = g.node("Add", [g.node("MatMul", [h, W]), b])
        if k < last:
            h = g.node("Relu", [h])
    logits = h

    label_out, second_out = (v.full_name for v in operator.outputs)
    classes = _label_type(model.classes_)[1]
    if top_k is not None:
        k = g.const("k", np.array([top_k], dtype=np.int64))
        vals, idx = g.node("TopK", [logits, k], n_outputs=2, axis=1)
        g.node("Gather", [g.const("classes", classes), idx], outputs=[label_out])
        g.node("Cast", [vals], outputs=[second_out], to=out_float)
        return
    proba = g.node("Softmax", [logits], axis=1)
    g.node("Cast", [proba], outputs=[second_out], to=out_float)
    if model.target_type_ != "multilabel-indicator":
        # ArgMax keeps the first of equal maxima, as predict does.
        best = g.node("ArgMax", [logits], axis=1, keepdims=0)
        g.node("Gather", [g.const("classes", classes), best], outputs=[label_out])
        return
    # Multi-label: an indicator of each row's k best labels.
    k = g.const("k", np.array([_predicted_labels(model)], dtype=np.int64))
    _, idx = g.node("TopK", [logits, k], n_outputs=2, axis=1)
    zero = numpy_helper.from_array(np.zeros(1, dtype=np.int64))
    one = numpy_helper.from_array(np.ones(1, dtype=np.int64))
    zeros = g.node("ConstantOfShape", [g.node("Shape", [logits])], value=zero)
    ones = g.node("ConstantOfShape", [g.node("Shape", [idx])], value=one)
    g.node("ScatterElements", [zeros, idx, ones], outputs=[label_out], axis=1)


def _refuse_text(scope, model, inputs, custom_parsers=None):
    """skl2onnx parser for TextClassifier: say why it cannot be converted."""
    raise TypeError(_TEXT_MESSAGE)


def _refuse_text_shape(operator):  # pragma: no cover - the parser raises first
    raise TypeError(_TEXT_MESSAGE)


def _refuse_text_convert(scope, operator, container):  # pragma: no cover - idem
    raise TypeError(_TEXT_MESSAGE)


update_registered_converter(
    SparseMLPClassifier,
    _ALIAS,
    _shape,
    _convert,
    parser=_parse,
    # skl2onnx's pipeline parser sets "zipmap" on a final classifier: accepted
    # and ignored, the probabilities are a tensor.
    options={"top_k": None, "zipmap": None},
)
update_registered_converter(
    TextClassifier,
    "SparseclfTextClassifier",
    _refuse_text_shape,
    _refuse_text_convert,
    parser=_refuse_text,
)
