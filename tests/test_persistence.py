# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""sparseclf.save / sparseclf.load: nothing lost, nothing untrusted loaded."""

import io
import pickle
import zipfile

import numpy as np
import pytest
import skops.io as sio
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MaxAbsScaler

import sparseclf
from sparseclf import SparseMLPClassifier, TextClassifier
from sparseclf._persistence import TRUSTED_TYPES

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TEXTS = [
    "free prize claim now",
    "win cash today",
    "lunch at noon?",
    "see you at the meeting",
    "cheap loans, call now!!",
    "are we still on for dinner",
] * 5
LABELS = ["spam", "spam", "ham", "ham", "spam", "ham"] * 5


def _roundtrip(model, **options):
    buffer = io.BytesIO()
    sparseclf.save(model, buffer, **options)
    return sparseclf.load(io.BytesIO(buffer.getvalue())), len(buffer.getvalue())


def _sparse_model(wide_separable, **params):
    X, y = wide_separable(n_classes=300, n_samples=900)
    defaults = dict(max_iter=2, random_state=0, output_sparsity=0.05)
    clf = SparseMLPClassifier(**{**defaults, **params}).fit(X, y)
    return clf, X, y


def _multilabel_model(wide_separable):
    X, y = wide_separable(n_classes=300, n_samples=900)
    label_sets = [[a, (a + 1) % 300] for a in y]
    clf = SparseMLPClassifier(max_iter=2, random_state=0, output_sparsity=0.05)
    return clf.fit(X, label_sets), X, label_sets


def _identity(X):  # a function skops does not trust and sparseclf does not own
    return X


def _predictions(clf, X):
    labels, scores = clf.predict_topk(X, k=3)
    return [clf.predict(X), clf.predict_proba(X), labels, scores]


def _assert_same(a, b):
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"hash_family": "simhash"},
        {"output_sparsity": 1.0},
        {"hidden_layer_sizes": (16, 8)},
    ],
)
def test_full_save_continues_training_exactly(wide_separable, params):
    clf, X, y = _sparse_model(wide_separable, **params)
    loaded, _ = _roundtrip(clf)
    _assert_same(_predictions(loaded, X), _predictions(clf, X))
    if clf.active_size_ < len(clf.classes_):
        _assert_same(
            loaded.predict_topk(X, k=3, exact=False),
            clf.predict_topk(X, k=3, exact=False),
        )
    # Adam's moments, step count, sampler and random state all came back: one
    # more epoch gives the same weights as one more epoch of the original.
    clf.partial_fit(X, y)
    loaded.partial_fit(X, y)
    for a, b in zip(loaded.coefs_ + loaded.intercepts_, clf.coefs_ + clf.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert loaded.loss_curve_ == clf.loss_curve_


def test_inference_only_predicts_identically_and_refuses_to_continue(wide_separable):
    clf, X, y = _sparse_model(wide_separable)
    full, full_size = _roundtrip(clf)
    compact, compact_size = _roundtrip(clf, optimizer_state=False)
    assert compact_size < 0.6 * full_size
    _assert_same(_predictions(compact, X), _predictions(clf, X))
    _assert_same(
        compact.predict_topk(X, k=3, exact=False),
        clf.predict_topk(X, k=3, exact=False),
    )
    assert compact.n_iter_ == clf.n_iter_ and compact.loss_curve_ == clf.loss_curve_
    repickled = pickle.loads(pickle.dumps(compact))
    _assert_same(_predictions(repickled, X), _predictions(clf, X))
    with pytest.raises(ValueError, match="inference only"):
        compact.partial_fit(X, y)
    compact.set_params(warm_start=True)
    with pytest.raises(ValueError, match="optimizer_state=True"):
        compact.fit(X, y)
    # A fresh fit needs no saved state: the same model as a fresh estimator's.
    refit = compact.set_params(warm_start=False).fit(X, y)
    again = SparseMLPClassifier(**clf.get_params()).fit(X, y)
    np.testing.assert_array_equal(refit.coefs_[-1], again.coefs_[-1])
    # Saving leaves the saved model whole: it still trains.
    clf.partial_fit(X, y)


def test_multilabel_and_pipeline(wide_separable):
    clf, X, label_sets = _multilabel_model(wide_separable)
    pipe = make_pipeline(MaxAbsScaler(), clf).fit(X, label_sets)
    loaded, _ = _roundtrip(pipe, optimizer_state=False)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    _assert_same(loaded[-1].predict_topk(X, k=2), pipe[-1].predict_topk(X, k=2))
    with pytest.raises(ValueError, match="inference only"):
        loaded[-1].partial_fit(X, label_sets)


@pytest.mark.parametrize("sublinear_tf", [False, True])
def test_text_classifier(sublinear_tf):
    clf = TextClassifier(max_iter=3, random_state=0, sublinear_tf=sublinear_tf)
    clf.fit(TEXTS, LABELS)
    full, full_size = _roundtrip(clf)
    compact, compact_size = _roundtrip(clf, optimizer_state=False)
    # Two moments per weight are gone (the rest is mostly the feature-to-row map).
    weights = sum(w.nbytes for w in clf.classifier_.coefs_[1:])
    assert full_size - compact_size > 1.5 * weights
    for model in (full, compact):
        _assert_same(
            [model.predict(TEXTS), model.predict_proba(TEXTS)],
            [clf.predict(TEXTS), clf.predict_proba(TEXTS)],
        )
    full.partial_fit(TEXTS, LABELS)
    with pytest.raises(ValueError, match="inference only"):
        compact.partial_fit(TEXTS, LABELS)


def test_float16_weights(wide_separable):
    clf, X, _ = _sparse_model(wide_separable)
    with pytest.raises(ValueError, match="optimizer_state=False"):
        sparseclf.save(clf, io.BytesIO(), dtype="float16")
    with pytest.raises(ValueError, match="dtype must be one of"):
        sparseclf.save(clf, io.BytesIO(), optimizer_state=False, dtype="int8")
    half, half_size = _roundtrip(clf, optimizer_state=False, dtype="float16")
    _, single_size = _roundtrip(clf, optimizer_state=False)
    assert single_size - half_size > 0.4 * sum(w.nbytes for w in clf.coefs_)
    for w, w0 in zip(half.coefs_, clf.coefs_):
        assert w.dtype == np.float32
        np.testing.assert_array_equal(w, w0.astype(np.float16).astype(np.float32))
    proba, proba0 = half.predict_proba(X), clf.predict_proba(X)
    assert not np.array_equal(proba, proba0)  # rounded, as documented
    np.testing.assert_allclose(proba, proba0, atol=1e-3)
    assert (half.predict(X) == clf.predict(X)).mean() > 0.99


def test_every_type_a_fitted_model_holds_is_trusted(wide_separable):
    models = [
        _sparse_model(wide_separable)[0],
        _sparse_model(
            wide_separable,
            hash_family="simhash",
            early_stopping=True,
            validation_fraction=0.4,
        )[0],
        _sparse_model(wide_separable, output_sparsity=1.0)[0],
        _multilabel_model(wide_separable)[0],
        TextClassifier(max_iter=2, sublinear_tf=True).fit(TEXTS, LABELS),
    ]
    for model in models:
        buffer = io.BytesIO()
        sparseclf.save(model, buffer)
        found = sio.get_untrusted_types(data=buffer.getvalue())
        assert set(found) <= set(TRUSTED_TYPES), set(found) - set(TRUSTED_TYPES)


def test_refuses_types_it_does_not_own(tmp_path):
    path = tmp_path / "m.skops"
    clf = SparseMLPClassifier(max_iter=1, random_state=0)
    pipe = make_pipeline(FunctionTransformer(_identity), clf)
    pipe.fit(np.eye(3, dtype=np.float32), [0, 1, 2])
    sparseclf.save(pipe, path)
    with pytest.raises(ValueError, match=r"test_persistence._identity"):
        sparseclf.load(path)
    # The same file loads where the user names the type they trust.
    trusted = sio.get_untrusted_types(file=path)
    assert sio.load(path, trusted=trusted)[-1].classes_.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    "content, message",
    [(b"not a model at all", "not a model file"), (b"", "not a model file")],
)
def test_malformed_files(tmp_path, content, message):
    path = tmp_path / "m.skops"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        sparseclf.load(path)


def test_truncated_archive(tmp_path):
    path = tmp_path / "m.skops"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("other.txt", "hello")
    with pytest.raises(ValueError, match="not a complete"):
        sparseclf.load(path)
