# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data-set loaders and readers: the embedded SMS Spam Collection, XMC, fastText."""

import gzip
import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import sparseclf.datasets
from sparseclf.datasets import dump_xmc, load_fasttext, load_sms_spam, load_xmc

SHARED_DATA = Path(__file__).parents[1].parent / "shared" / "data"
SMS_DATA = Path(sparseclf.datasets.__file__).parent / "data"


def read_source_txt(folder):
    """The SOURCE.txt of a shared data folder: its JSON counts and sha256 sums."""
    path = SHARED_DATA / folder / "SOURCE.txt"
    if not path.exists():
        pytest.skip(f"shared data not available: {path} is absent")
    text = path.read_text(encoding="utf-8")
    counts, _ = json.JSONDecoder().raw_decode(text[text.index("\n{") + 1 :])
    sha256 = dict(re.findall(r"^\s+(\S+)\s+[\d,]+ bytes\s+sha256=(\w+)", text, re.M))
    return counts, sha256


def test_public_api():
    assert set(sparseclf.datasets.__all__) == {
        "dump_xmc",
        "iter_fasttext",
        "iter_xmc",
        "load_fasttext",
        "load_sms_spam",
        "load_xmc",
        "make_extreme_classification",
    }
    for name in sparseclf.datasets.__all__:
        assert callable(getattr(sparseclf.datasets, name))


# SMS Spam Collection ----------------------------------------------------------


def test_load_sms_spam():
    sms = load_sms_spam()
    assert set(sms) == {"data", "target", "target_names", "DESCR"}
    assert isinstance(sms.data, list) and len(sms.data) == 5574
    assert all(isinstance(text, str) and text for text in sms.data)
    assert sms.target.shape == (5574,) and sms.target.dtype.kind == "U"
    assert sms.target_names.tolist() == ["ham", "spam"]
    names, counts = np.unique(sms.target, return_counts=True)
    assert dict(zip(names.tolist(), counts.tolist())) == {"ham": 4827, "spam": 747}
    # The header line is skipped; the first rows are the original's first rows.
    assert sms.data[0].startswith("Go until jurong point")
    assert sms.target[:3].tolist() == ["ham", "ham", "spam"]
    # A message that ends in a space keeps it: texts are not stripped.
    assert any(text.endswith(" ") for text in sms.data)


def test_sms_spam_attribution():
    # CC BY 4.0: creators, source, licence and the changes made travel with it.
    sms = load_sms_spam()
    assert sms.DESCR == (SMS_DATA / "sms_spam.rst").read_text(encoding="utf-8")
    creators = ["Tiago A. Almeida", "José María Gómez Hidalgo"]
    source = ["https://archive.ics.uci.edu/dataset/228", "CC BY 4.0"]
    for needed in (
        creators
        + source
        + [
            "https://creativecommons.org/licenses/by/4.0/",
            "Changes:",
        ]
    ):
        assert needed in sms.DESCR
    docstring = " ".join(load_sms_spam.__doc__.split())
    for needed in creators + source:
        assert needed in docstring


def test_load_sms_spam_return_X_y():
    sms = load_sms_spam()
    data, target = load_sms_spam(return_X_y=True)
    assert data == sms.data
    np.testing.assert_array_equal(target, sms.target)


def test_load_sms_spam_as_frame():
    pd = pytest.importorskip("pandas")
    sms = load_sms_spam()
    frame_sms = load_sms_spam(as_frame=True)
    assert isinstance(frame_sms.frame, pd.DataFrame)
    assert frame_sms.frame.shape == (5574, 2)
    assert list(frame_sms.frame.columns) == ["text", "label"]
    assert isinstance(frame_sms.data, pd.Series) and frame_sms.data.name == "text"
    assert frame_sms.data.tolist() == sms.data
    assert frame_sms.target.tolist() == sms.target.tolist()
    data, target = load_sms_spam(return_X_y=True, as_frame=True)
    assert isinstance(data, pd.Series) and isinstance(target, pd.Series)
    assert target.name == "label" and len(data) == 5574


def test_shipped_sms_spam_is_the_source_file():
    counts, sha256 = read_source_txt("sms_spam")
    raw = gzip.decompress((SMS_DATA / "sms_spam.tsv.gz").read_bytes())
    assert hashlib.sha256(raw).hexdigest() == sha256["SMSSpamCollection"]
    sms = load_sms_spam()
    assert len(sms.data) == counts["rows"]
    for label, n in counts["classes"].items():
        assert int((sms.target == label).sum()) == n


# XMC format -------------------------------------------------------------------


def random_xmc_problem(n_features, n_labels, seed=0):
    """40 samples with ids spread over the whole range, incl. empty rows."""
    rng = np.random.RandomState(seed)
    n = 40

    def sparse_rows(n_cols, max_nnz, empty_rows):
        rows = [
            np.unique(rng.randint(0, n_cols, rng.randint(1, max_nnz), dtype=np.int64))
            for _ in range(n)
        ]
        rows[0] = np.array([0, n_cols - 1])  # the extreme ids
        for i in empty_rows:
            rows[i] = np.array([], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
        return np.concatenate(rows), indptr

    x_ind, x_ptr = sparse_rows(n_features, 12, empty_rows=[1, 2, 4])
    # float32 values of all magnitudes and signs, incl. subnormals and extremes.
    values = rng.standard_normal(len(x_ind)) * 10.0 ** rng.randint(-40, 38, len(x_ind))
    values = values.astype(np.float32)
    values[:3] = [np.finfo(np.float32).max, -np.finfo(np.float32).tiny, 0.1]
    X = sp.csr_matrix((values, x_ind, x_ptr), shape=(n, n_features))
    # Row 3 has features and no label, rows 1 and 2 neither, row 4 labels only.
    y_ind, y_ptr = sparse_rows(n_labels, 5, empty_rows=[1, 2, 3])
    Y = sp.csr_matrix((np.ones(len(y_ind), np.int8), y_ind, y_ptr), shape=(n, n_labels))
    return X, Y


def assert_same_csr(A, B, dtype):
    assert sp.issparse(A) and A.format == "csr" and A.dtype == dtype
    assert A.shape == B.shape
    B = B.tocsr()
    B.sort_indices()
    assert A.has_sorted_indices
    np.testing.assert_array_equal(A.indptr, B.indptr)
    np.testing.assert_array_equal(A.indices, B.indices)
    np.testing.assert_array_equal(A.data, B.data.astype(dtype))


@pytest.mark.parametrize(
    "n_features, n_labels",
    [(1000, 30), (2**40, 2**33 + 5)],
    ids=["int32-ids", "int64-ids"],
)
@pytest.mark.parametrize("target", ["path", "gz-path", "text-file", "binary-file"])
def test_xmc_round_trip(tmp_path, n_features, n_labels, target):
    X, Y = random_xmc_problem(n_features, n_labels)
    assert np.diff(Y.indptr).min() == 0  # there are samples without labels
    if target in ("path", "gz-path"):
        f = tmp_path / ("data.txt" if target == "path" else "data.txt.gz")
        dump_xmc(X, Y, f)
        if target == "gz-path":
            assert gzip.open(f, "rt").readline() == f"40 {n_features} {n_labels}\n"
        X2, Y2 = load_xmc(str(f))
    else:
        f = io.StringIO() if target == "text-file" else io.BytesIO()
        dump_xmc(X, Y, f)
        f.seek(0)
        X2, Y2 = load_xmc(f)
        assert not f.closed
    assert_same_csr(X2, X, np.float32)
    assert_same_csr(Y2, Y, np.int8)
    if n_features > 2**31:
        assert X2.indices.dtype == np.int64 and Y2.indices.dtype == np.int64
        assert X2.indices.max() == n_features - 1


def test_dump_xmc_layout():
    X = np.array([[0, 0.5, 0], [1, 0, 3], [0, 0, 0], [0, 0, 0]], dtype=np.float32)
    Y = np.array([[1, 0], [0, 0], [0, 0], [1, 1]], dtype=bool)
    f = io.StringIO()
    dump_xmc(sp.csr_array(X), Y, f)
    # No labels: the line starts with a space. Labels only: no trailing space.
    assert f.getvalue() == "4 3 2\n0 1:0.5\n 0:1 2:3\n \n0,1\n"


def test_dump_xmc_validates():
    X, Y = np.ones((3, 2)), np.eye(3, dtype=int)
    with pytest.raises(ValueError, match="zeros and ones"):
        dump_xmc(X, 2 * Y, io.StringIO())
    with pytest.raises(ValueError, match="different numbers of rows"):
        dump_xmc(X, Y[:2], io.StringIO())
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        dump_xmc(X, Y, io.StringIO())
    with pytest.raises(ValueError, match="non-finite"):
        dump_xmc(np.full((3, 2), 1e300), Y, io.StringIO())  # beyond float32


@pytest.mark.parametrize("name", ["bibtex_train", "bibtex_test"])
def test_load_real_bibtex_xmc(name):
    counts, sha256 = read_source_txt("mulan_bibtex")
    expected = counts[name.split("_")[1]]["xmc"]
    path = SHARED_DATA / "mulan_bibtex" / f"{name}_xmc.txt"
    X, Y = load_xmc(path)
    n = expected["points"]
    assert X.shape == (n, expected["features"])
    assert Y.shape == (n, expected["labels"])
    assert X.dtype == np.float32 and Y.dtype == np.int8
    assert int((Y.getnnz(axis=0) > 0).sum()) == expected["labels_used"]
    assert round(Y.nnz / n, 2) == expected["avg_labels_per_point"]
    assert round(X.nnz / n, 1) == expected["avg_nnz_per_point"]
    # Writing it back reproduces the file byte for byte.
    f = io.StringIO()
    dump_xmc(X, Y, f)
    digest = hashlib.sha256(f.getvalue().encode()).hexdigest()
    assert digest == sha256[f"{name}_xmc.txt"]


MALFORMED = {
    # name: (file text, expected message); the problem is on line 3.
    "bad-value": ("3 4 2\n0 1:1\n1 2:x\n1 0:1\n", "bad feature token '2:x'"),
    "no-colon": ("3 4 2\n0 1:1\n1 2\n1 0:1\n", "bad feature token '2'"),
    "two-colons": ("3 4 2\n0 1:1\n1 2:1:1\n1 0:1\n", "bad feature token '2:1:1'"),
    "bad-id": ("3 4 2\n0 1:1\n1 a:1\n1 0:1\n", "bad feature token 'a:1'"),
    "feature-range": ("3 4 2\n0 1:1\n1 4:1\n1 0:1\n", "feature id 4 out of range"),
    "negative-id": ("3 4 2\n0 1:1\n1 -1:1\n1 0:1\n", "feature id -1 out of range"),
    "huge-id": (f"3 4 2\n0 1:1\n1 {2**70}:1\n1 0:1\n", "out of range"),
    "label-range": ("3 4 2\n0 1:1\n0,2 1:1\n1 0:1\n", "label id 2 out of range"),
    "huge-label": (f"3 4 2\n0 1:1\n{2**70} 1:1\n1 0:1\n", "out of range"),
    "bad-label": ("3 4 2\n0 1:1\nx 1:1\n1 0:1\n", "bad label list 'x'"),
    "trailing-comma": ("3 4 2\n0 1:1\n0, 1:1\n1 0:1\n", "bad label list '0,'"),
    "no-leading-space": ("3 4 2\n0 1:1\n1:1 2:1\n1 0:1\n", "starts with a space"),
    "nan": ("3 4 2\n0 1:1\n1 2:nan\n1 0:1\n", "non-finite value nan"),
    "inf": ("3 4 2\n0 1:1\n1 2:-inf\n1 0:1\n", "non-finite value -inf"),
    "beyond-float32": ("3 4 2\n0 1:1\n1 2:1e39\n1 0:1\n", "beyond float32"),
    "repeated-feature": ("3 4 2\n0 1:1\n1 2:1 0:1 2:3\n1 0:1\n", "feature id 2 repe"),
    "repeated-label": ("3 4 2\n0 1:1\n1,0,1 2:1\n1 0:1\n", "label id 1 repeated"),
    # The earliest problem is reported, whichever check finds it.
    "earliest": ("3 4 2\n0 1:1\n1 2:1 2:1\n1 9:nan\n", "feature id 2 repeated"),
    "too-many-lines": ("1 4 2\n0 1:1\n1 0:1\n", "more sample lines than n_samples=1"),
    "too-few-lines": ("3 4 2\n0 1:1\n", "file ends after 1 sample lines"),
    "blank-extra-line": ("1 4 2\n0 1:1\n\n", "more sample lines"),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_load_xmc_malformed(case):
    text, problem = MALFORMED[case]
    with pytest.raises(ValueError, match="^line 3: ") as excinfo:
        load_xmc(io.StringIO(text))
    assert problem in str(excinfo.value)


@pytest.mark.parametrize(
    "header", ["", "3 4\n", "3 4 2 1\n", "3 4 -2\n", "a b c\n", f"3 {2**63} 2\n"]
)
def test_load_xmc_bad_header(header):
    with pytest.raises(ValueError, match="^line 1: expected the header"):
        load_xmc(io.StringIO(header + "0 1:1\n"))


def test_load_xmc_lenient_spacing():
    # CRLF line ends, runs of spaces or tabs between pairs, and an empty line
    # (a sample with neither labels nor features) are accepted.
    X, Y = load_xmc(io.StringIO("3 3 2\r\n1 0:1  2:2\t1:3\r\n\n 1:4 \n"))
    np.testing.assert_array_equal(X.toarray(), [[1, 3, 2], [0, 0, 0], [0, 4, 0]])
    np.testing.assert_array_equal(Y.toarray(), [[0, 1], [0, 0], [0, 0]])


# fastText format --------------------------------------------------------------


def test_load_fasttext(tmp_path):
    lines = [
        "__label__spam __label__ads  Win a FREE prize now!",
        "",
        "   ",
        "__label__négatif Ça ne marche pas\tdu tout 👎\r",
        "__label__日本 東京は 大きい",
        "__label__a __label__b __label__a no\u00a0break space",
        "text first __label__late",
    ]
    path = tmp_path / "train.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    texts, labels = load_fasttext(path)
    assert texts == [
        "Win a FREE prize now!",
        "Ça ne marche pas du tout 👎",
        "東京は 大きい",
        "no\u00a0break space",  # U+00A0 is not a fastText separator
        "text first",
    ]
    assert labels == [["spam", "ads"], ["négatif"], ["日本"], ["a", "b"], ["late"]]
    # The same from a gzip file and from binary and text file objects.
    gz = tmp_path / "train.txt.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert load_fasttext(gz) == (texts, labels)
    with open(path, "rb") as f:
        assert load_fasttext(f) == (texts, labels)
    with open(path, encoding="utf-8", newline="") as f:
        assert load_fasttext(f) == (texts, labels)


def test_load_fasttext_unlabeled():
    text = "__label__x one\n\nno label here\n__label__y two\n"
    with pytest.raises(ValueError, match="line 3: no label"):
        load_fasttext(io.StringIO(text))
    texts, labels = load_fasttext(io.StringIO(text), allow_unlabeled=True)
    assert texts == ["one", "no label here", "two"]
    assert labels == [["x"], [], ["y"]]


def test_load_fasttext_label_prefix():
    text = "#pos #neg __label__x good\n#neg bad\n"
    texts, labels = load_fasttext(io.StringIO(text), label_prefix="#")
    assert texts == ["__label__x good", "bad"]
    assert labels == [["pos", "neg"], ["neg"]]
    with pytest.raises(ValueError, match="label_prefix must be a non-empty str"):
        load_fasttext(io.StringIO(text), label_prefix="")


def test_load_fasttext_empty_label():
    with pytest.raises(ValueError, match="line 2: empty label '__label__'"):
        load_fasttext(io.StringIO("__label__a x\n__label__ y\n"))


def test_load_fasttext_splits_as_fasttext_on_every_ascii_character():
    # fastText splits on NUL but not on \x1c-\x1f, which str.split() splits on;
    # plain ASCII lines take a faster path that must agree.
    text = "".join(f"__label__a x{chr(c)}y\n" for c in range(1, 128) if c != 10)
    text += "__label__b x\x00y\n__label__c x\x1fy\u00a0z\n"
    texts, labels = load_fasttext(io.StringIO(text))
    fasttext_spaces = " \t\v\f\r"
    expected = [
        "x y" if chr(c) in fasttext_spaces else f"x{chr(c)}y"
        for c in range(1, 128)
        if c != 10
    ]
    assert texts == [*expected, "x y", "x\x1fy\u00a0z"]
    assert labels[-2:] == [["b"], ["c"]]
