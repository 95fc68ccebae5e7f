# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Multi-label text: TextClassifier on label sets, and the command line on
fastText files with several labels a line."""

import joblib
import numpy as np
import pytest

from sparseclf import TextClassifier
from sparseclf._cli import main
from sparseclf._cli_data import read_data
from sparseclf.metrics import ndcg_at_k, precision_at_k, recall_at_k

# Fits stop at max_iter epochs, on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TOPICS = {
    "sport": "goal match team coach league score striker referee",
    "music": "guitar album song band concert melody drums singer",
    "food": "recipe oven flour butter sauce garlic dinner salad",
    "tech": "laptop phone chip code software cloud kernel compiler",
}
FILLER = "the a of and to in is it that was for on with as this by at".split()
FAST = dict(
    n_features=2**12,
    hidden_layer_sizes=(32,),
    learning_rate_init=1e-2,
    batch_size=32,
    max_iter=10,
    random_state=0,
)
SMALL = ["--hidden", "32", "--n-features", "4096", "--batch-size", "32"]
SMALL += ["--lr", "0.01", "--epochs", "10", "--random-state", "0", "-q"]


def make_documents(n, seed=0, two_every=3):
    """Documents on one topic, or two (every ``two_every``-th, not the first):
    a few words of each topic among filler words; and their label sets."""
    rng = np.random.RandomState(seed)
    names = sorted(TOPICS)
    texts, label_sets = [], []
    for i in range(n):
        size = 2 if i % two_every == two_every - 1 else 1
        labels = rng.choice(names, size, replace=False).tolist()
        words = rng.choice(FILLER, 5).tolist()
        for label in labels:
            words += rng.choice(TOPICS[label].split(), 3).tolist()
        rng.shuffle(words)
        texts.append(" ".join(words))
        label_sets.append(labels)
    return texts, label_sets


def write_fasttext(path, texts, label_sets):
    lines = [
        " ".join(f"__label__{lab}" for lab in labels) + f" {text}\n"
        for text, labels in zip(texts, label_sets)
    ]
    path.write_text("".join(lines))


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def printed(out, name):
    """The number printed after ``name`` (e.g. ``"P@1"``) in ``out``."""
    fields = out.split()
    return float(fields[fields.index(name) + 1])


def test_label_sets_fit_rank_and_score():
    X, Y = make_documents(400)
    clf = TextClassifier(**FAST).fit(X[:300], Y[:300])
    assert clf.target_type_ == "multilabel-indicator"
    np.testing.assert_array_equal(clf.classes_, sorted(TOPICS))
    top, scores = clf.predict_topk(X[300:], k=3)
    assert top.shape == scores.shape == (100, 3)
    assert (np.diff(scores, axis=1) <= 0).all()  # best first
    assert precision_at_k(Y[300:], top, k=1) > 0.9
    # Two-label documents: both labels in the top 2.
    two = [i for i in range(100) if len(Y[300 + i]) == 2]
    assert recall_at_k([Y[300 + i] for i in two], top[two], k=2) > 0.8
    # predict: the round(4/3) = 1 best label of each document.
    pred = clf.predict(X[300:])
    assert pred.shape == (100, 4)
    np.testing.assert_array_equal(pred.sum(axis=1).ravel(), 1)
    np.testing.assert_array_equal(clf.classes_[pred.argmax(axis=1).A1], top[:, 0])


def test_empty_label_sets_train_and_score_zero():
    X, Y = make_documents(300)
    Y = [[] if i % 10 == 0 else labels for i, labels in enumerate(Y)]
    clf = TextClassifier(**FAST).fit(X, Y)
    assert len(clf.classes_) == 4
    top, _ = clf.predict_topk(X, k=2)
    empty = [i for i in range(300) if not Y[i]]
    # A sample without labels can never be hit: it scores 0 in every metric.
    assert precision_at_k([Y[i] for i in empty], top[empty], k=1) == 0
    assert recall_at_k([Y[i] for i in empty], top[empty], k=2) == 0
    assert ndcg_at_k([Y[i] for i in empty], top[empty], k=2) == 0
    others = [i for i in range(300) if Y[i]]
    assert precision_at_k([Y[i] for i in others], top[others], k=1) > 0.9


def test_all_empty_label_sets_raise_a_clear_error():
    X, _ = make_documents(20)
    with pytest.raises(ValueError, match="every label set is empty"):
        TextClassifier(**FAST).fit(X, [[] for _ in X])


def test_metrics_take_one_label_per_sample():
    # A 1-D sequence of labels: one label each, a str not read as characters.
    y_pred = [["ab", "x"], ["a", "b"]]
    assert precision_at_k(["ab", "b"], y_pred, k=1) == 0.5
    assert precision_at_k(np.array(["ab", "b"]), y_pred, k=2) == 0.5
    assert recall_at_k(np.array([3, 4]), [[3, 0], [0, 4]], k=2) == 1.0
    assert precision_at_k([["ab"], {"b"}], y_pred, k=1) == 0.5


def test_fasttext_file_with_some_multilabel_lines(tmp_path):
    X, Y = make_documents(30, two_every=10)  # lines 10, 20, 30: two labels
    write_fasttext(tmp_path / "data.ft", X, Y)
    data = read_data(str(tmp_path / "data.ft"))
    assert isinstance(data.y, list) and data.y == Y
    # Every line with one label: a class per sample (a multi-class model).
    write_fasttext(tmp_path / "one.ft", X, [labels[:1] for labels in Y])
    data = read_data(str(tmp_path / "one.ft"))
    assert isinstance(data.y, np.ndarray) and data.y.tolist() == [y[0] for y in Y]


@pytest.fixture(scope="module")
def multilabel_model(tmp_path_factory):
    """A multi-label model fitted by the CLI, and the test data's file."""
    folder = tmp_path_factory.mktemp("multilabel")
    X, Y = make_documents(400, two_every=2)  # half the documents: two labels
    write_fasttext(folder / "train.txt", X[:300], Y[:300])
    write_fasttext(folder / "test.txt", X[300:], Y[300:])
    model = folder / "model.joblib"
    assert main(["fit", str(folder / "train.txt"), "-o", str(model), *SMALL]) == 0
    return model, folder / "test.txt", X[300:], Y[300:]


@pytest.mark.parametrize("k", [1, 3, 4])
def test_cli_evaluate_prints_ranking_metrics(capsys, multilabel_model, k):
    model, test, X, Y = multilabel_model
    status, out, err = run(capsys, "evaluate", model, test, "-k", k)
    assert status == 0, err
    cutoffs = sorted({c for c in (1, 3) if c < k} | {k})
    top, _ = joblib.load(model).predict_topk(X, k=k)
    metrics = {"P": precision_at_k, "R": recall_at_k, "nDCG": ndcg_at_k}
    for c in cutoffs:
        for name, function in metrics.items():
            expected = function(Y, top, k=c)
            assert printed(out, f"{name}@{c}") == pytest.approx(expected, abs=5e-5)
    assert "accuracy" not in out and "note:" not in out
    if k == 1:
        assert printed(out, "P@1") > 0.9
    if k == 3:
        assert printed(out, "R@3") > 0.9
    status, _, err = run(capsys, "evaluate", model, test, "-k", 5)
    assert status == 1 and "-k 5: the model has 4 classes" in err


def test_cli_predict_multilabel(tmp_path, capsys, multilabel_model):
    model, test, X, Y = multilabel_model
    clf = joblib.load(model)
    top, _ = clf.predict_topk(X, k=4)
    proba = clf.predict_proba(X)
    # Without options: the round(1.5) = 2 best labels, tab-separated (predict
    # returns them in class order).
    status, out, _ = run(capsys, "predict", model, test)
    assert status == 0
    rows = [line.split("\t") for line in out.splitlines()]
    assert [sorted(r) for r in rows] == [sorted(t[:2]) for t in top.tolist()]
    assert np.mean([set(r) == set(y) for r, y in zip(rows, Y)]) > 0.35
    # --top-k: labels, best first, each with its probability.
    status, out, _ = run(capsys, "predict", model, test, "--top-k", 3)
    rows = [line.split("\t") for line in out.splitlines()]
    assert all(len(r) == 6 for r in rows)
    assert [r[::2] for r in rows] == top[:, :3].tolist()
    probs = np.array([[float(p) for p in r[1::2]] for r in rows])
    expected = -np.sort(-proba, axis=1)[:, :3]
    np.testing.assert_allclose(probs, expected, rtol=1e-3)
    # --threshold: only the labels of probability >= P (all labels may pass).
    status, out, _ = run(capsys, "predict", model, test, "--threshold", 0.3)
    rows = [line.split("\t") if line else [] for line in out.split("\n")[:-1]]
    assert len(rows) == len(X)
    assert [r[::2] for r in rows] == [
        [c for c in t if proba[i, clf.classes_.tolist().index(c)] >= 0.3]
        for i, t in enumerate(top.tolist())
    ]
    assert any(len(r) == 4 for r in rows)  # two labels pass on some lines
    status, out, _ = run(capsys, "predict", model, test, "-k", 1, "--threshold", 0.3)
    assert all(len(line.split("\t")) <= 2 for line in out.splitlines())
    # A threshold no label reaches: an empty line per sample, as fastText.
    status, out, _ = run(capsys, "predict", model, test, "--threshold", 1)
    assert status == 0 and out == "\n" * len(X)
    status, _, err = run(capsys, "predict", model, test, "--threshold", 1.5)
    assert status == 1 and "expected a number in [0, 1]" in err


def test_cli_evaluate_notes_unseen_labels(tmp_path, capsys, multilabel_model):
    model, test, X, Y = multilabel_model
    Y = [list(labels) for labels in Y]
    Y[0] = Y[0] + ["weather"]
    Y[1] = ["travel"]
    write_fasttext(tmp_path / "unseen.ft", X, Y)
    status, out, err = run(capsys, "evaluate", model, tmp_path / "unseen.ft", "-k", 3)
    assert status == 0, err
    assert (
        "note: labels the model was not trained on (2: 'travel', 'weather'), in 2 "
        "of 100 samples, count as misses" in out
    )
    top, _ = joblib.load(model).predict_topk(X, k=3)
    assert printed(out, "R@3") == pytest.approx(recall_at_k(Y, top, k=3), abs=5e-5)


def test_cli_multiclass_model_on_multilabel_files(tmp_path, capsys):
    X, Y = make_documents(200, two_every=4)
    write_fasttext(tmp_path / "one.ft", X, [labels[:1] for labels in Y])
    write_fasttext(tmp_path / "two.ft", X, Y)
    model = tmp_path / "m.joblib"
    assert main(["fit", str(tmp_path / "one.ft"), "-o", str(model), *SMALL]) == 0
    capsys.readouterr()
    status, _, err = run(capsys, "evaluate", model, tmp_path / "two.ft")
    assert status == 1
    assert "is a multi-class model, but samples of" in err
    write_fasttext(tmp_path / "new.ft", X[:10], [["food"]] * 9 + [["travel"]])
    status, out, _ = run(capsys, "evaluate", model, tmp_path / "new.ft")
    assert status == 0
    assert "(1: 'travel'), in 1 of 10 samples, count as misses" in out
    assert printed(out, "accuracy") <= 0.9


def test_cli_evaluate_model_with_integer_labels(tmp_path, capsys):
    # Fitted in Python on integer label sets; a file's labels are strings.
    X, Y = make_documents(200, two_every=2)
    ids = {name: i for i, name in enumerate(sorted(TOPICS))}
    Y_int = [[ids[label] for label in labels] for labels in Y]
    clf = TextClassifier(**FAST).fit(X, Y_int)
    joblib.dump(clf, tmp_path / "m.joblib")
    write_fasttext(tmp_path / "test.ft", X, Y_int)
    status, out, err = run(
        capsys, "evaluate", tmp_path / "m.joblib", tmp_path / "test.ft"
    )
    assert status == 0, err
    top, _ = clf.predict_topk(X, k=4)
    assert printed(out, "P@1") == pytest.approx(precision_at_k(Y_int, top), abs=5e-5)
    assert printed(out, "P@1") > 0.9 and "note:" not in out


def test_user_guide_example_runs():
    # The Python example of docs/user_guide/text.rst's multi-label section.
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "user_guide" / "text.rst"
    if not page.is_file():
        pytest.skip("no docs/ beside the tests: not a source checkout")
    section = page.read_text().split("Several labels per document")[1]
    block = section.split(".. code-block:: python\n")[1].split("\n\n``")[0]
    code = "\n".join(line[4:] for line in block.splitlines())
    namespace = {}
    exec(compile(code, str(page), "exec"), namespace)
    assert sorted(namespace["labels"][0]) == ["sport", "tech"]
    top, tags = namespace["top"], namespace["tags"]
    assert precision_at_k(tags, top, k=1) == 1.0
    assert recall_at_k(tags, top, k=2) == 1.0
