# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The command line, ``python -m sparseclf``, run through ``main(argv)``."""

import io
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

import sparseclf
from sparseclf import SparseMLPClassifier, TextClassifier, _cli_fit
from sparseclf._cli import main
from sparseclf._cli_data import CLIError, detect_format, read_data
from sparseclf.datasets import dump_xmc, make_extreme_classification
from sparseclf.metrics import ndcg_at_k, precision_at_k, recall_at_k

# Small networks and hash spaces keep each fit well under a second.
SMALL = ["--hidden", "16", "--n-features", "4096", "--batch-size", "16"]
SMALL += ["--lr", "0.03", "--random-state", "0"]
WORDS = {
    "sport": "match goal team score league coach",
    "food": "pizza pasta bread cheese salad soup",
    "tech": "laptop phone chip code software cloud",
}


def _documents(n, seed=0):
    rng = np.random.RandomState(seed)
    labels = list(WORDS)
    y = [labels[i % 3] for i in range(n)]
    texts = [" ".join(rng.choice(WORDS[label].split(), size=4)) for label in y]
    return texts, y


def _write_fasttext(path, n=60, seed=0):
    texts, y = _documents(n, seed)
    path.write_text("".join(f"__label__{lab} {t}\n" for t, lab in zip(texts, y)))
    return texts, y


def _run(capsys, *argv):
    """Exit status, stdout and stderr of ``main(argv)``."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def load_test_X(path):
    from sparseclf.datasets import load_xmc

    return load_xmc(path)[0]


@pytest.fixture
def xmc_files(tmp_path):
    X, Y = make_extreme_classification(
        500, 300, 40, nnz_per_sample=20, signal=0.8, random_state=0
    )
    dump_xmc(X[:400], Y[:400], tmp_path / "train.txt")
    dump_xmc(X[400:], Y[400:], tmp_path / "test.txt")
    return tmp_path / "train.txt", tmp_path / "test.txt", Y[400:]


def test_fasttext_fit_evaluate_predict(tmp_path, capsys):
    _write_fasttext(tmp_path / "train.ft")
    texts, y = _write_fasttext(tmp_path / "test.ft", n=30, seed=1)
    model = tmp_path / "model.skops"

    status, out, _ = _run(
        capsys, "fit", tmp_path / "train.ft", "-o", model, "--epochs", 4, *SMALL
    )
    assert status == 0
    assert "epoch   4/4" in out and "samples/s" in out and "ETA" in out
    assert isinstance(sparseclf.load(model), TextClassifier)  # a skops file

    status, out, _ = _run(capsys, "evaluate", model, tmp_path / "test.ft", "-k", 2)
    assert status == 0
    accuracy = float(out.split("accuracy ")[1].split()[0])
    assert accuracy >= 0.9
    top2 = float(out.split("top-2 accuracy ")[1].split()[0])
    assert top2 >= accuracy
    # The per-class table: one row per class with precision, recall, F1, support.
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[3:] if line}
    assert set(WORDS) <= set(rows) and sum(int(rows[c][3]) for c in WORDS) == 30

    status, out, _ = _run(capsys, "predict", model, tmp_path / "test.ft")
    assert status == 0
    predicted = out.splitlines()
    assert len(predicted) == len(texts)
    assert np.mean(np.array(predicted) == np.array(y)) == accuracy

    status, out, _ = _run(capsys, "predict", model, tmp_path / "test.ft", "-k", 2)
    rows = [line.split("\t") for line in out.splitlines()]
    assert all(len(row) == 4 for row in rows)
    assert [row[0] for row in rows] == predicted
    probs = np.array([[float(row[1]), float(row[3])] for row in rows])
    assert (probs[:, 0] >= probs[:, 1]).all() and (probs.sum(axis=1) <= 1.0001).all()


def test_csv_columns_and_stdin(tmp_path, capsys, monkeypatch):
    texts, y = _documents(60)
    lines = ["id;topic;body"] + [
        f'{i};{lab};"{t}; more"' for i, (t, lab) in enumerate(zip(texts, y))
    ]
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n")
    model = tmp_path / "model.joblib"
    columns = ["--sep", ";", "--text-column", "body", "--label-column", "topic"]
    argv = ["fit", tmp_path / "train.csv", "-o", model, "--epochs", 4, "-q"]
    status, out, _ = _run(capsys, *argv, *SMALL, *columns)
    assert status == 0 and "ETA" not in out  # --quiet: no progress lines
    assert joblib.load(model).classes_.tolist() == ["food", "sport", "tech"]

    status, out, _ = _run(capsys, "evaluate", model, tmp_path / "train.csv", *columns)
    assert float(out.split("accuracy ")[1].split()[0]) >= 0.9

    monkeypatch.setattr("sys.stdin", io.StringIO("pizza and pasta\nlaptop code\n"))
    status, out, _ = _run(capsys, "predict", model, "--output", tmp_path / "p.txt")
    assert status == 0 and out == ""
    assert (tmp_path / "p.txt").read_text() == "food\ntech\n"


def test_tsv_two_columns_found_by_name(tmp_path):
    (tmp_path / "d.tsv").write_text('Label\tSMS\nham\tsee you "soon"\nspam\tWIN\n')
    data = read_data(str(tmp_path / "d.tsv"))
    assert data.X == ['see you "soon"', "WIN"]  # quotes are text in TSV
    assert data.y.tolist() == ["ham", "spam"]


def test_xmc_fit_evaluate_predict(xmc_files, tmp_path, capsys):
    train, test, Y_test = xmc_files
    model = tmp_path / "xmc.joblib"
    argv = ["fit", train, "-o", model, "--epochs", 5, "--lr", "0.01"]
    argv += ["--batch-size", 32, "--hidden", "32", "--random-state", "0"]
    status, out, _ = _run(capsys, *argv)
    assert status == 0 and "epoch   5/5" in out
    assert isinstance(joblib.load(model), SparseMLPClassifier)

    status, out, _ = _run(capsys, "evaluate", model, test, "-k", 4)
    assert status == 0
    fields = out.split()
    p1 = float(fields[fields.index("P@1") + 1])
    # Cut-offs 1, 3 and K; each line's numbers are the metrics' own.
    assert [f for f in fields if f.startswith("P@")] == ["P@1", "P@3", "P@4"]
    top, _ = joblib.load(model).predict_topk(sp.csr_matrix(load_test_X(test)), k=4)
    for k, metric in [(3, "P"), (4, "R"), (4, "nDCG")]:
        function = {"P": precision_at_k, "R": recall_at_k, "nDCG": ndcg_at_k}[metric]
        printed = float(fields[fields.index(f"{metric}@{k}") + 1])
        assert printed == pytest.approx(function(Y_test, top, k=k), abs=5e-5)
    # Zipf-skewed labels: the best constant top-1 is right for ~half the test
    # samples; the model must beat it (it scores 0.60-0.67 over 6 seeds).
    best_constant = Y_test.mean(axis=0).max()
    assert p1 > best_constant + 0.08

    out_file = tmp_path / "pred.tsv"
    status, _, _ = _run(capsys, "predict", model, test, "-k", 3, "--output", out_file)
    rows = [line.split("\t") for line in out_file.read_text().splitlines()]
    assert len(rows) == Y_test.shape[0] and all(len(r) == 6 for r in rows)
    top1 = np.array([int(r[0]) for r in rows])
    hits = np.asarray(Y_test[np.arange(len(top1)), top1]).ravel()
    assert hits.mean() == pytest.approx(p1, abs=1e-4)


def test_multilabel_fasttext(tmp_path, capsys):
    texts, y = _documents(90)
    lines = [
        f"__label__{lab} " + (f"__label__{lab}-x " if i % 2 else "") + f"{t}\n"
        for i, (t, lab) in enumerate(zip(texts, y))
    ]
    (tmp_path / "ml.txt").write_text("".join(lines))  # detected by its first line
    model = tmp_path / "m.joblib"
    status, _, _ = _run(capsys, "fit", tmp_path / "ml.txt", "-o", model, *SMALL)
    assert status == 0
    assert len(joblib.load(model).classes_) == 6
    status, out, _ = _run(capsys, "evaluate", model, tmp_path / "ml.txt")
    fields = out.split()
    assert float(fields[fields.index("P@1") + 1]) >= 0.9


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("missing.ft", None, "no such file"),
        ("bad.ft", "__label__a fine\nno label here\n", "line 2: no label"),
        ("bad.xmc", "2 5 3\n0 1:1\n0 7:1\n", "line 3: feature id 7 out of range"),
        ("bad.csv", "label,text\na,one\nb,two,three\n", "line 3: 3 fields"),
        ("bad.csv", "label,words,id\na,one,1\n", "no text column 'text'"),
        ("data.json", '{"a": 1}\n', "cannot tell the format"),
        ("latin1.ft", "__label__a caf\xe9\n".encode("latin-1"), "not UTF-8"),
        ("empty.ft", "", "empty"),
    ],
)
def test_bad_data_file_is_one_error_line(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        path.write_bytes(content)
    status, out, err = _run(capsys, "fit", path, "-o", tmp_path / "m.joblib")
    assert status == 1
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert message in err
    assert not (tmp_path / "m.joblib").exists()


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    texts, y = _documents(30)
    clf = TextClassifier(n_features=2**10, hidden_layer_sizes=(8,), max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 2 epochs suffice
        clf.fit(texts, y)
    path = folder / "text.joblib"
    joblib.dump(clf, path)
    return path


@pytest.mark.parametrize(
    "model_bytes, message",
    [
        (None, "no such model file"),
        (b"not a pickle at all", "is not a model file"),
        ("dict", "holds a dict, not a sparseclf"),
    ],
)
def test_bad_model_file_is_one_error_line(tmp_path, capsys, model_bytes, message):
    _write_fasttext(tmp_path / "test.ft", n=6)
    model = tmp_path / "model.joblib"
    if model_bytes == "dict":
        joblib.dump({"weights": [1, 2]}, model)
    elif model_bytes is not None:
        model.write_bytes(model_bytes)
    for command in ("evaluate", "predict"):
        status, out, err = _run(capsys, command, model, tmp_path / "test.ft")
        assert status == 1 and out == ""
        assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_model_and_data_kinds_must_match(text_model, xmc_files, capsys):
    status, _, err = _run(capsys, "evaluate", text_model, xmc_files[1])
    assert status == 1
    assert "TextClassifier, which takes texts" in err and err.count("\n") == 1


def test_predict_top_k_beyond_classes(text_model, tmp_path, capsys):
    _write_fasttext(tmp_path / "t.ft", n=3)
    status, _, err = _run(capsys, "predict", text_model, tmp_path / "t.ft", "-k", 4)
    assert status == 1 and "the model has 3 classes" in err


def test_unwritable_model_path_fails_before_fitting(tmp_path, capsys):
    _write_fasttext(tmp_path / "train.ft")
    target = tmp_path / "no" / "such" / "m.joblib"
    status, out, err = _run(capsys, "fit", tmp_path / "train.ft", "-o", target)
    assert status == 1 and "cannot write the model" in err and "epoch" not in out


def test_invalid_parameter_is_one_error_line(tmp_path, capsys):
    _write_fasttext(tmp_path / "train.ft")
    argv = ["fit", tmp_path / "train.ft", "-o", tmp_path / "m.joblib", "--lr", "-1"]
    status, _, err = _run(capsys, *argv)
    assert status == 1 and "learning_rate_init" in err and err.count("\n") == 1


def test_dropout_option(tmp_path, capsys):
    _write_fasttext(tmp_path / "train.ft")
    fit = ["fit", tmp_path / "train.ft", "--epochs", 1, *SMALL, "-q"]
    for extra, expected in (([], 0.6), (["--dropout", "0.25"], 0.25)):
        status, _, _ = _run(capsys, *fit, "-o", tmp_path / "m.joblib", *extra)
        assert status == 0
        assert joblib.load(tmp_path / "m.joblib").dropout == expected
    status, _, err = _run(capsys, *fit, "-o", tmp_path / "x.joblib", "--dropout", 1)
    assert status == 1 and err.count("\n") == 1 and err.startswith("error: ")
    assert "expected a number in [0, 1)" in err and "sparseclf fit --help" in err


def test_traceback_option_raises(tmp_path):
    with pytest.raises(CLIError, match="no such model file"):
        main(["--traceback", "predict", str(tmp_path / "none.joblib")])


@pytest.mark.parametrize(
    "name, first_line, expected",
    [
        ("a.csv.gz", "", "csv"),
        ("a.TSV", "", "tsv"),
        ("a.ft", "", "fasttext"),
        ("bibtex_train_xmc.txt", "4880 1836 159\n", "xmc"),
        ("train.txt", "__label__x words\n", "fasttext"),
    ],
)
def test_detect_format(tmp_path, name, first_line, expected):
    path = tmp_path / name
    path.write_text(first_line)  # not read when the extension tells
    assert detect_format(path) == expected


def test_demo_quick(capsys):
    status, out, _ = _run(capsys, "demo", "--quick")
    assert status == 0
    accuracy = float(out.split("test accuracy ")[1].split()[0])
    assert accuracy > 0.9  # the majority class alone gets about 0.87
    assert "p50" in out and "p99" in out
    assert "P@1" in out and "2,000 labels" in out
    assert "demo done" in out


def test_no_command_runs_the_demo(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "sparseclf._demo.run_demo", lambda quick: calls.append(quick) or 0
    )
    assert main([]) == 0
    assert calls == [False]


def test_main_module_skips_uncompiled_sources(monkeypatch):
    import importlib.util
    import os
    import sys

    from sparseclf import __main__ as entry

    # Installed (or editable) here: the compiled kernels are found.
    assert not entry._shadowed_by_sources()
    # `python -m sparseclf` in a source folder after `pip install .`: the
    # working folder comes first and its kernels are plain .py files.
    source = os.path.dirname(os.path.dirname(os.path.abspath(entry.__file__)))
    monkeypatch.setattr(sys, "path", [source, *sys.path])
    spec = importlib.util.spec_from_file_location("k", __file__)  # a .py origin
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    assert entry._shadowed_by_sources()


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"sparseclf {sparseclf.__version__}"


def test_console_script(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    # pip installs the script beside the interpreter of the environment.
    script = Path(sys.executable).parent / "sparseclf"
    assert script.exists(), "the sparseclf console script is not installed"
    done = subprocess.run(
        [script, "fit", tmp_path / "none.ft", "-o", tmp_path / "m.skops"],
        capture_output=True,
        text=True,
    )
    assert (
        done.returncode == 1
        and done.stderr == "error: no such file: " + str(tmp_path / "none.ft") + "\n"
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit"], "the following arguments are required: data, -o/--model"),
        (["fit", "a.ft", "-o", "m", "--nope"], "unrecognized arguments: --nope"),
        (["fit", "a.ft", "-o", "m", "--epochs", "0"], "expected a positive integer"),
        (["fti"], "invalid choice: 'fti'"),
        (["evaluate", "m", "d", "-k", "x"], "invalid _positive_int value"),
    ],
)
def test_bad_flags_are_one_error_line(capsys, argv, message):
    status, out, err = _run(capsys, *argv)
    assert status == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_evaluate_reads_standard_input(tmp_path, capsys, monkeypatch, text_model):
    texts, y = _documents(12, seed=3)
    lines = "".join(f"__label__{lab} {t}\n" for t, lab in zip(texts, y))
    (tmp_path / "t.ft").write_text(lines)
    status, from_file, _ = _run(capsys, "evaluate", text_model, tmp_path / "t.ft")
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    status, from_stdin, _ = _run(capsys, "evaluate", text_model)
    assert status == 0
    assert from_stdin.splitlines()[1:] == from_file.splitlines()[1:]
    monkeypatch.setattr("sys.stdin", io.StringIO("no labels here\n"))
    status, _, err = _run(capsys, "evaluate", text_model)
    assert status == 1 and "cannot tell the format of standard input" in err


def test_fit_with_validation_file_keeps_the_best_epoch(tmp_path, capsys):
    _write_fasttext(tmp_path / "train.ft", n=90)
    _write_fasttext(tmp_path / "valid.ft", n=45, seed=2)
    model = tmp_path / "m.skops"
    argv = ["fit", tmp_path / "train.ft", "-o", model, "--epochs", 12, *SMALL]
    argv += ["--validation", tmp_path / "valid.ft", "--patience", 2]
    status, out, _ = _run(capsys, *argv)
    assert status == 0
    best = float(out.split("best validation score (accuracy, or P@1) ")[1].split()[0])
    status, out, _ = _run(capsys, "evaluate", model, tmp_path / "valid.ft")
    assert float(out.split("accuracy ")[1].split()[0]) == pytest.approx(best)
    clf = sparseclf.load(model)
    assert clf.early_stopping and clf.n_iter_no_change == 2
    assert clf.classifier_.t_ == 90 * clf.n_iter_  # all of the training file

    argv = ["fit", tmp_path / "train.ft", "-o", model, "--epochs", 3, *SMALL]
    status, out, _ = _run(capsys, *argv, "--validation-fraction", 0.3)
    assert status == 0 and "best validation score" in out
    assert sparseclf.load(model).validation_fraction == 0.3
    status, _, err = _run(
        capsys,
        *argv,
        "--validation",
        tmp_path / "valid.ft",
        "--validation-fraction",
        0.3,
    )
    assert status == 1 and "not allowed with argument" in err


def test_text_feature_flags(tmp_path, capsys):
    _write_fasttext(tmp_path / "train.ft")
    fit = ["fit", tmp_path / "train.ft", "-o", tmp_path / "m.skops", "--epochs", 1]
    fit += [*SMALL, "-q"]
    for extra, analyzer, ngram_range in [
        ([], "word", (1, 2)),
        (["--ngrams", 3], "word", (1, 3)),
        (["--analyzer", "char_wb"], "char_wb", (3, 5)),
        (["--analyzer", "char", "--min-n", 2, "--max-n", 4], "char", (2, 4)),
    ]:
        status, _, err = _run(capsys, *fit, *extra)
        assert status == 0, err
        clf = sparseclf.load(tmp_path / "m.skops")
        assert (clf.analyzer, clf.ngram_range) == (analyzer, ngram_range)
    for extra, message in [
        (["--min-n", 2], "--min-n and --max-n are for --analyzer char"),
        (["--analyzer", "char_wb", "--ngrams", 2], "--ngrams is for --analyzer word"),
        (["--analyzer", "char", "--min-n", 4, "--max-n", 3], "below --min-n 4"),
    ]:
        status, _, err = _run(capsys, *fit, *extra)
        assert status == 1 and message in err


def test_text_flags_on_xmc_data(xmc_files, tmp_path, capsys):
    argv = ["fit", xmc_files[0], "-o", tmp_path / "m.skops", "--ngrams", 3]
    status, _, err = _run(capsys, *argv)
    assert status == 1 and "--ngrams: text options, but the data are XMC" in err


def test_progress_bar_on_a_terminal(tmp_path, capsys, monkeypatch):
    _write_fasttext(tmp_path / "train.ft")
    argv = ["fit", tmp_path / "train.ft", "-o", tmp_path / "m.skops", "--epochs", 2]
    monkeypatch.setattr(_cli_fit, "_on_terminal", lambda: True)
    status, out, err = _run(capsys, *argv, *SMALL)
    assert status == 0
    # A bar per epoch on standard error (4 batches of 16), the epoch lines on
    # standard output.
    assert "epoch 1/2" in err and "epoch 2/2" in err and "4/4" in err
    assert "loss" in err and "epoch   2/2" in out
    monkeypatch.setattr(_cli_fit, "_on_terminal", lambda: False)
    status, out, err = _run(capsys, *argv, *SMALL)
    assert status == 0 and err == ""


def test_export_compact(tmp_path, capsys, xmc_files):
    train, test, _ = xmc_files
    full = tmp_path / "full.joblib"
    argv = ["fit", train, "-o", full, "--epochs", 2, "--hidden", 32, "-q"]
    assert _run(capsys, *argv, "--random-state", 0)[0] == 0
    compact = tmp_path / "compact.skops"
    status, out, _ = _run(capsys, "export", full, compact, "--compact")
    assert status == 0 and "inference-only SparseMLPClassifier" in out
    assert _run(capsys, "export", full, tmp_path / "full.skops")[0] == 0
    # Adam's two moments per weight are gone.
    weights = sum(w.nbytes for w in joblib.load(full).coefs_)
    saved = (tmp_path / "full.skops").stat().st_size - compact.stat().st_size
    assert saved > 1.5 * weights
    predictions = [
        _run(capsys, "predict", model, test, "-k", 3)[1] for model in (full, compact)
    ]
    assert predictions[0] == predictions[1] and predictions[0]
    with pytest.raises(ValueError, match="inference only"):
        sparseclf.load(compact).partial_fit(*load_xmc_pair(train))
    status, _, err = _run(capsys, "export", full, tmp_path / "c.joblib", "--compact")
    assert status == 1 and "written as skops files" in err
    status, _, err = _run(capsys, "export", full, tmp_path / "h.skops", "--float16")
    assert status == 1 and "pass optimizer_state=False" in err
    assert _run(capsys, "export", full, full)[0] == 1


def load_xmc_pair(path):
    from sparseclf.datasets import load_xmc

    return load_xmc(path)


def _double(X):  # a function of the test's, which sparseclf.load does not trust
    return 2 * X


def test_untrusted_model_file_is_one_error_line(tmp_path, capsys):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    _write_fasttext(tmp_path / "t.ft", n=6)
    pipe = make_pipeline(FunctionTransformer(_double), TextClassifier(max_iter=1))
    model = tmp_path / "m.skops"
    sparseclf.save(pipe, model)  # never fitted: refused before that matters
    status, out, err = _run(capsys, "predict", model, tmp_path / "t.ft")
    assert status == 1 and out == "" and err.count("\n") == 1
    assert "holds types sparseclf does not load" in err and "_double" in err


# fit --stream: files larger than memory ----------------------------------------


def _write_sorted_fasttext(path, n=240, seed=0):
    """A fastText file sorted by label: a stream that needs its shuffle buffer."""
    texts, y = _documents(n, seed)
    rows = sorted(zip(y, texts))
    path.write_text("".join(f"__label__{lab} {t}\n" for lab, t in rows))


@pytest.fixture
def partial_fit_calls(monkeypatch):
    """The number of samples of each ``partial_fit`` call, by class; ``fit`` and
    reading a training file whole fail the test (only the validation file,
    valid.* or test.*, is read whole)."""
    from sparseclf import _cli_data

    calls = {"TextClassifier": [], "SparseMLPClassifier": [], "classes": []}

    def recorder(cls):
        original = cls.partial_fit

        def partial_fit(self, X, y, classes=None):
            n = X.shape[0] if hasattr(X, "shape") else len(X)
            calls[cls.__name__].append(n)
            if cls is TextClassifier and isinstance(y, np.ndarray):
                calls["classes"].append(len(set(y.tolist())))
            return original(self, X, y, classes=classes)

        return partial_fit

    def refuse(*args, **kwargs):
        raise AssertionError("fit was called")

    def whole(reader):
        def read(path, *args, **kwargs):
            assert "train" not in str(path), "the training file was read whole"
            return reader(path, *args, **kwargs)

        return read

    for cls in (TextClassifier, SparseMLPClassifier):
        monkeypatch.setattr(cls, "partial_fit", recorder(cls))
        monkeypatch.setattr(cls, "fit", refuse)
    for name in ("load_fasttext", "load_xmc", "_read_delimited"):
        monkeypatch.setattr(_cli_data, name, whole(getattr(_cli_data, name)))
    return calls


def test_fit_stream_fasttext_sorted_by_label(tmp_path, capsys, partial_fit_calls):
    _write_sorted_fasttext(tmp_path / "train.ft")
    _write_fasttext(tmp_path / "test.ft", n=60, seed=1)
    model = tmp_path / "m.joblib"
    argv = ["fit", tmp_path / "train.ft", "-o", model, "--epochs", 6, *SMALL]
    argv += ["--stream", "--chunk-size", 32, "--buffer-size", 96]
    status, out, err = _run(capsys, *argv)
    assert status == 0, err
    assert "scanned 240 samples, 3 classes" in out and "epoch   6/6" in out
    assert "chunks of 32 from a shuffle buffer of 96" in out
    # Every step saw at most a chunk; all of the file, every epoch.
    calls = partial_fit_calls["TextClassifier"]
    assert max(calls) <= 32 and sum(calls) == 6 * 240
    # The shuffle buffer mixes the sorted file: the first step sees 2 classes
    # (the buffer's first 96 rows hold 80 of one, 16 of the next).
    assert partial_fit_calls["classes"][0] == 2
    clf = joblib.load(model)
    assert clf.classes_.tolist() == ["food", "sport", "tech"]
    assert clf.get_params()["callback"] is None
    status, out, _ = _run(capsys, "evaluate", model, tmp_path / "test.ft")
    assert float(out.split("accuracy ")[1].split()[0]) >= 0.9


def test_fit_stream_xmc_with_validation_keeps_the_best_epoch(
    xmc_files, tmp_path, capsys, partial_fit_calls
):
    train, test, Y_test = xmc_files
    model = tmp_path / "xmc.joblib"
    argv = ["fit", train, "-o", model, "--epochs", 6, "--lr", "0.01"]
    argv += ["--batch-size", 32, "--hidden", "32", "--random-state", "0"]
    argv += ["--stream", "--chunk-size", 100, "--validation", test, "--patience", 2]
    status, out, err = _run(capsys, *argv)
    assert status == 0, err
    assert "streaming 400 samples (the header's count), 40 labels" in out
    calls = partial_fit_calls["SparseMLPClassifier"]
    assert max(calls) <= 100 and sum(calls) % 400 == 0 and calls
    scores = [
        float(line.split("validation ")[1])
        for line in out.splitlines()
        if line.startswith("epoch")
    ]
    best = float(out.split("best validation score (accuracy, or P@1) ")[1].split()[0])
    assert best == max(scores)
    status, out, _ = _run(capsys, "evaluate", model, test)
    fields = out.split()
    p1 = float(fields[fields.index("P@1") + 1])
    assert p1 == pytest.approx(best, abs=1e-4)  # the kept epoch's model
    assert p1 > Y_test.mean(axis=0).max() + 0.08  # beats the best constant


def test_fit_stream_csv_and_multilabel(tmp_path, capsys, partial_fit_calls):
    for name, seed in (("train.csv.gz", 0), ("test.csv.gz", 1)):
        texts, y = _documents(90, seed)
        rows = [f'{lab},"{t}, more"\n' for t, lab in zip(texts, y)]
        _write_text(tmp_path / name, "label,text\n" + "".join(rows))
    argv = ["fit", tmp_path / "train.csv.gz", "-o", tmp_path / "m.joblib", "-q"]
    status, out, err = _run(capsys, *argv, "--epochs", 5, *SMALL, "--stream")
    assert status == 0, err
    assert out.startswith("trained in")  # -q: no progress lines
    test = tmp_path / "test.csv.gz"
    status, out, _ = _run(capsys, "evaluate", tmp_path / "m.joblib", test)
    assert float(out.split("accuracy ")[1].split()[0]) >= 0.9

    lines = [
        f"__label__{lab} " + (f"__label__{lab}-x " if i % 2 else "") + f"{t}\n"
        for i, (t, lab) in enumerate(zip(texts, y))
    ]
    (tmp_path / "ml_train.ft").write_text("".join(lines))
    (tmp_path / "ml_test.ft").write_text("".join(lines))
    argv = ["fit", tmp_path / "ml_train.ft", "-o", tmp_path / "ml.joblib", *SMALL]
    status, out, err = _run(capsys, *argv, "--stream", "--chunk-size", 20)
    assert status == 0, err
    assert "scanned 90 samples, 6 classes" in out
    assert len(joblib.load(tmp_path / "ml.joblib").classes_) == 6
    test = tmp_path / "ml_test.ft"
    status, out, _ = _run(capsys, "evaluate", tmp_path / "ml.joblib", test)
    fields = out.split()
    assert float(fields[fields.index("P@1") + 1]) >= 0.9


def _write_text(path, text):
    import gzip

    path.write_bytes(gzip.compress(text.encode()))


def test_fit_streams_large_files_by_itself(tmp_path, capsys, monkeypatch):
    _write_fasttext(tmp_path / "train.ft")
    argv = ["fit", tmp_path / "train.ft", "-o", tmp_path / "m.joblib", "--epochs", 2]
    status, out, _ = _run(capsys, *argv, *SMALL)
    assert status == 0 and "streaming" not in out and "read 60 samples" in out
    size = (tmp_path / "train.ft").stat().st_size
    monkeypatch.setattr(_cli_fit, "STREAM_BYTES", size - 1)
    status, out, _ = _run(capsys, *argv, *SMALL)
    assert status == 0
    assert f"streaming {tmp_path / 'train.ft'}: " in out and "--no-stream" in out
    assert "scanned 60 samples" in out and "read 60 samples" not in out
    status, out, _ = _run(capsys, *argv, *SMALL, "--no-stream")
    assert status == 0 and "streaming" not in out and "read 60 samples" in out
    # Compressed files count as 4 times their size.
    _write_text(tmp_path / "train.ft.gz", (tmp_path / "train.ft").read_text())
    gz_size = (tmp_path / "train.ft.gz").stat().st_size
    monkeypatch.setattr(_cli_fit, "STREAM_BYTES", 4 * gz_size - 1)
    argv[1] = tmp_path / "train.ft.gz"
    status, out, _ = _run(capsys, *argv, *SMALL)
    assert status == 0 and "(an estimate: 4 x" in out
    limit, available = _cli_fit.stream_threshold()
    if available is not None:  # Linux: MemAvailable
        assert limit == min(4 * gz_size - 1, available // 16)


@pytest.mark.parametrize(
    "content, extra, message",
    [
        ("__label__a x\n" * 5 + "no label\n", [], "line 6: no label"),
        ("4 5 3\n0 1:1\n0 1:1\n1 2:1\n1 9:1\n", [], "line 5: feature id 9"),
        ("__label__a x\n__label__b y\n", ["--validation-fraction", 0.2], "--valid"),
        ("__label__a x\n", [], "holds one class"),
        ("", [], "is empty"),
        ("0 5 3\n", [], "holds no samples"),
    ],
)
def test_fit_stream_errors_are_one_line(tmp_path, capsys, content, extra, message):
    (tmp_path / "data.txt").write_text(content)
    argv = ["fit", tmp_path / "data.txt", "-o", tmp_path / "m.joblib", "--stream"]
    status, out, err = _run(capsys, *argv, "--chunk-size", 2, *extra)
    assert status == 1 and err.count("\n") == 1 and err.startswith("error: ")
    assert message in err
    assert not (tmp_path / "m.joblib").exists()


def test_fit_stream_refuses_standard_input(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("__label__a x\n__label__b y\n"))
    status, _, err = _run(capsys, "fit", "-", "-o", tmp_path / "m.joblib", "--stream")
    assert status == 1 and "give a file, not standard input" in err


def test_fit_stream_progress_bar_on_a_terminal(tmp_path, capsys, monkeypatch):
    _write_fasttext(tmp_path / "train.ft")
    argv = ["fit", tmp_path / "train.ft", "-o", tmp_path / "m.joblib", "--epochs", 2]
    monkeypatch.setattr(_cli_fit, "_on_terminal", lambda: True)
    status, out, err = _run(capsys, *argv, *SMALL, "--stream", "--chunk-size", 16)
    assert status == 0
    assert "epoch 1/2" in err and "epoch 2/2" in err and "60/60" in err
    assert "epoch   2/2" in out
