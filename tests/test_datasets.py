# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data-set loaders and readers: the embedded SMS Spam Collection, XMC, fastText."""

import gzip
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

import sparseclf.datasets
from sparseclf.datasets import load_sms_spam

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
