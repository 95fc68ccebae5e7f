# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""ONNX export: onnxruntime's predictions against the estimator's."""

import importlib
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

pytest.importorskip(
    "skl2onnx", reason='ONNX export needs the "onnx" extra (skl2onnx, onnx)'
)
ort = pytest.importorskip(
    "onnxruntime", reason='running exported models needs the "onnx" extra'
)
import skl2onnx  # noqa: E402
from skl2onnx.common.data_types import StringTensorType  # noqa: E402

from sparseclf import SparseMLPClassifier, TextClassifier  # noqa: E402
from sparseclf.onnx import to_onnx  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
ATOL = 1e-5


def _run(model, X):
    """onnxruntime's outputs of ``model`` on ``X``, by output name."""
    sess = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, {sess.get_inputs()[0].name: X})))


@pytest.fixture(scope="module")
def multiclass():
    X, y = make_classification(
        n_samples=300, n_features=20, n_informative=10, n_classes=4, random_state=0
    )
    return X.astype(np.float32), y


@pytest.mark.parametrize("hidden", [(16,), (24, 16, 8)])
@pytest.mark.parametrize("kind", ["int", "str"])
def test_multiclass_matches_predict(multiclass, hidden, kind):
    X, y = multiclass
    if kind == "str":
        y = np.array(["ant", "bee", "cat", "dog"])[y]
    clf = SparseMLPClassifier(hidden, max_iter=10, random_state=0).fit(X, y)
    out = _run(to_onnx(clf), X)
    assert list(out) == ["label", "probabilities"]
    np.testing.assert_array_equal(out["label"], clf.predict(X))
    assert out["label"].dtype == (np.int64 if kind == "int" else object)
    assert out["probabilities"].dtype == np.float32
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), atol=ATOL)


def test_binary_and_float_classes(multiclass):
    X, y = multiclass
    y = (y > 1).astype(np.float64) * 2  # float classes 0.0 and 2.0
    clf = SparseMLPClassifier((16,), max_iter=10, random_state=0).fit(X, y)
    out = _run(to_onnx(clf), X)
    np.testing.assert_array_equal(out["label"], clf.predict(X))
    assert out["probabilities"].shape == (len(X), 2)
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), atol=ATOL)


@pytest.mark.parametrize("k, opset", [(1, None), (3, 13)])
def test_top_k_matches_predict_topk(multiclass, k, opset):
    X, y = multiclass
    clf = SparseMLPClassifier((16, 8), max_iter=10, random_state=0).fit(X, y)
    out = _run(to_onnx(clf, top_k=k, target_opset=opset), X)
    labels, scores = clf.predict_topk(X, k)
    assert list(out) == ["label", "scores"]
    np.testing.assert_array_equal(out["label"], labels)
    np.testing.assert_allclose(out["scores"], scores, atol=ATOL, rtol=0)


def test_wide_sparse_output_layer(wide_separable):
    # > 1,000 classes: trained on LSH-sampled output neurons; the graph scores
    # them all, as predict does.
    X, y = wide_separable(n_classes=1200, n_samples=2400)
    clf = SparseMLPClassifier((32,), max_iter=2, random_state=0).fit(X, y)
    assert clf.hash_params_ is not None
    Xd = X[:300].toarray()
    out = _run(to_onnx(clf, top_k=5), Xd)
    labels, scores = clf.predict_topk(X[:300], 5)
    np.testing.assert_array_equal(out["label"], labels)
    np.testing.assert_allclose(out["scores"], scores, atol=ATOL, rtol=0)
    out = _run(to_onnx(clf), Xd)
    np.testing.assert_array_equal(out["label"], clf.predict(X[:300]))
    np.testing.assert_allclose(
        out["probabilities"], clf.predict_proba(X[:300]), atol=ATOL
    )


@pytest.fixture(scope="module")
def multilabel():
    X, Y = make_multilabel_classification(
        n_samples=300, n_features=20, n_classes=8, n_labels=3, random_state=0
    )
    return X.astype(np.float32), Y


def test_multilabel_indicator(multilabel):
    X, Y = multilabel
    clf = SparseMLPClassifier((16, 16), max_iter=10, random_state=0).fit(X, Y)
    out = _run(to_onnx(clf), X)
    pred = clf.predict(X)
    assert pred.sum(axis=1).min() > 1  # k > 1 labels a row: more than argmax
    np.testing.assert_array_equal(out["label"], pred)
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), atol=ATOL)


def test_multilabel_label_sets_top_k(multilabel):
    X, Y = multilabel
    names = np.array(list("abcdefgh"))
    sets = [set(names[row.astype(bool)]) for row in Y]
    clf = SparseMLPClassifier((16,), max_iter=10, random_state=0).fit(X, sets)
    out = _run(to_onnx(clf), X)
    # predict gives label sets as scipy CSR; the graph, a dense indicator.
    np.testing.assert_array_equal(out["label"], clf.predict(X).toarray())
    out = _run(to_onnx(clf, top_k=4), X)
    labels, scores = clf.predict_topk(X, 4)
    np.testing.assert_array_equal(out["label"], labels)
    np.testing.assert_allclose(out["scores"], scores, atol=ATOL, rtol=0)


def test_registered_with_skl2onnx(multiclass):
    X, y = multiclass
    clf = SparseMLPClassifier((16,), max_iter=10, random_state=0).fit(X, y)
    out = _run(skl2onnx.to_onnx(clf, X[:1]), X)
    np.testing.assert_array_equal(out["label"], clf.predict(X))
    out = _run(
        skl2onnx.to_onnx(clf, X[:1], options={SparseMLPClassifier: {"top_k": 2}}), X
    )
    np.testing.assert_array_equal(out["label"], clf.predict_topk(X, 2)[0])
    # float64 input: cast to float32 as the estimator does; float64 outputs.
    out = _run(skl2onnx.to_onnx(clf, X[:1].astype(np.float64)), X.astype(np.float64))
    assert out["probabilities"].dtype == np.float64
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), atol=ATOL)


def test_pipeline(multiclass):
    X, y = multiclass
    pipe = make_pipeline(
        StandardScaler(), SparseMLPClassifier((16,), max_iter=10, random_state=0)
    ).fit(X, y)
    out = _run(skl2onnx.to_onnx(pipe, X[:1]), X)
    np.testing.assert_array_equal(out["label"], pipe.predict(X))
    np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(X), atol=ATOL)


def test_unseen_features_are_dropped():
    # Features 0-49 only are ever non-zero in training: the graph keeps their
    # first-layer rows and ignores the other columns, as the estimator does.
    rng = np.random.RandomState(0)
    X = sp.random(200, 50, density=0.2, dtype=np.float32, random_state=rng)
    X = sp.hstack([X, sp.csr_matrix((200, 950), dtype=np.float32)], format="csr")
    y = rng.randint(0, 3, 200)
    clf = SparseMLPClassifier((16,), max_iter=5, random_state=0).fit(X, y)
    model = to_onnx(clf)
    sizes = {tuple(t.dims) for t in model.graph.initializer}
    n_seen = np.count_nonzero(clf.coefs_[0].any(axis=1))
    assert n_seen <= 50 and (n_seen, 16) in sizes and (1000, 16) not in sizes
    Xt = rng.uniform(0, 1, (20, 1000)).astype(np.float32)  # unseen ones too
    out = _run(model, Xt)
    np.testing.assert_array_equal(out["label"], clf.predict(Xt))
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(Xt), atol=ATOL)


def test_not_fitted():
    with pytest.raises(NotFittedError):
        to_onnx(SparseMLPClassifier())
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(SparseMLPClassifier(), np.zeros((1, 3), np.float32))


def test_text_classifier_is_refused():
    docs = ["good film", "bad film", "great plot", "awful plot"] * 5
    y = [1, 0, 1, 0] * 5
    text = TextClassifier(n_features=2**10, max_iter=3, random_state=0).fit(docs, y)
    with pytest.raises(TypeError, match="HashingVectorizer.*classifier_"):
        to_onnx(text)
    with pytest.raises(TypeError, match="HashingVectorizer"):
        skl2onnx.to_onnx(text, initial_types=[("X", StringTensorType([None]))])
    # The documented way: the network alone, on features computed in Python.
    features = text.vectorizer_.transform(docs).toarray().astype(np.float32)
    out = _run(to_onnx(text.classifier_), features)
    np.testing.assert_array_equal(out["label"], text.predict(docs))


def test_bad_arguments(multiclass):
    X, y = multiclass
    clf = SparseMLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    for k in (0, 5, 2.0, True):
        with pytest.raises(ValueError, match="top_k"):
            to_onnx(clf, top_k=k)
    with pytest.raises(ValueError, match="target_opset"):
        to_onnx(clf, target_opset=12)
    with pytest.raises(ValueError, match="target_opset"):
        skl2onnx.to_onnx(clf, X[:1], target_opset=12)
    with pytest.raises(ValueError, match="fitted on 20"):
        skl2onnx.to_onnx(clf, X[:1, :5])
    with pytest.raises(TypeError, match="exports a SparseMLPClassifier"):
        to_onnx(StandardScaler().fit(X))


def test_optional_import(monkeypatch):
    # Without the extra, importing sparseclf.onnx says how to get it ...
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    monkeypatch.delitem(sys.modules, "sparseclf.onnx")
    with pytest.raises(ImportError, match=r'pip install "sparseclf\[onnx\]"'):
        importlib.import_module("sparseclf.onnx")


def test_import_sparseclf_does_not_import_onnx():
    # ... and ``import sparseclf`` never imports it.
    code = (
        "import sys, sparseclf; print(sorted(m for m in sys.modules if m == "
        "'sparseclf.onnx' or m.split('.')[0] in ('onnx', 'onnxruntime', 'skl2onnx')))"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert res.stdout.strip() == "[]"
