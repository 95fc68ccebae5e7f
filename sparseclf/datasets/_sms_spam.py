# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The SMS Spam Collection, shipped inside the package."""

import gzip
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

_DATA_DIR = Path(__file__).parent / "data"
_DATA_FILE = "sms_spam.tsv.gz"
_DESCR_FILE = "sms_spam.rst"
_HEADER = "Label\tSMS"
_TARGET_NAMES = ("ham", "spam")


def load_sms_spam(*, return_X_y=False, as_frame=False):
    """Load the SMS Spam Collection (binary text classification).

    5,574 English SMS messages, each labelled ``"ham"`` (legitimate, 4,827) or
    ``"spam"`` (747). The data ship inside the package (a 207 kB gzip file); no
    download is needed.

    ================= ==============
    Classes                        2
    Samples total              5,574
    Samples per class   4,827 / 747
    Features           text (str)
    ================= ==============

    The SMS Spam Collection is by Tiago A. Almeida and José María Gómez Hidalgo
    (UCI Machine Learning Repository, https://archive.ics.uci.edu/dataset/228),
    licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/).
    ``DESCR`` holds the full attribution and the changes made (header line added,
    gzip compression).

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, ``data`` is a pandas Series of str named ``"text"``, ``target`` a
        pandas Series of str named ``"label"``, and ``frame`` a DataFrame with
        both columns. Needs pandas. ``data`` is a Series, not a one-column
        DataFrame, so that it can be fed to a text vectorizer directly.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : list of str of length 5574, or pandas Series
            The messages, in file order.
        target : ndarray of str of shape (5574,), or pandas Series
            ``"ham"`` or ``"spam"``.
        target_names : ndarray of str of shape (2,)
            ``["ham", "spam"]``.
        frame : pandas DataFrame of shape (5574, 2)
            Only with ``as_frame=True``: columns ``"text"`` and ``"label"``.
        DESCR : str
            Description of the data set, with its licence and attribution.

    (data, target) : tuple if ``return_X_y`` is True
        ``data`` and ``target`` as described above.

    References
    ----------
    .. [1] Almeida, T.A., Gómez Hidalgo, J.M., Yamakami, A. Contributions to the
       Study of SMS Spam Filtering: New Collection and Results. Proceedings of
       the 2011 ACM Symposium on Document Engineering (DocEng'11), 2011.

    Examples
    --------
    >>> from sparseclf.datasets import load_sms_spam
    >>> sms = load_sms_spam()
    >>> len(sms.data), sms.target.shape
    (5574, (5574,))
    >>> sms.target_names
    array(['ham', 'spam'], dtype='<U4')
    >>> int((sms.target == "spam").sum())
    747
    """
    texts, labels = _read_sms_tsv(_DATA_DIR / _DATA_FILE)
    target = np.asarray(labels, dtype=str)
    target_names = np.asarray(_TARGET_NAMES, dtype=str)
    descr = (_DATA_DIR / _DESCR_FILE).read_text(encoding="utf-8")

    frame = None
    if as_frame:
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is a test dependency
            raise ImportError("load_sms_spam(as_frame=True) needs pandas") from exc
        frame = pd.DataFrame({"text": texts, "label": target})
        texts, target = frame["text"], frame["label"]

    if return_X_y:
        return texts, target
    bunch = Bunch(data=texts, target=target, target_names=target_names, DESCR=descr)
    if as_frame:
        bunch.frame = frame
    return bunch


def _read_sms_tsv(path):
    """Read ``label<TAB>text`` lines (after an optional header) from a gzip file."""
    texts, labels = [], []
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.removesuffix("\n").removesuffix("\r")
            if lineno == 1 and line == _HEADER:
                continue
            label, sep, text = line.partition("\t")
            if not sep or label not in _TARGET_NAMES:
                raise ValueError(
                    f"{path}, line {lineno}: expected 'ham<TAB>text' or "
                    f"'spam<TAB>text', got {line[:40]!r}"
                )
            labels.append(label)
            texts.append(text)
    return texts, labels
