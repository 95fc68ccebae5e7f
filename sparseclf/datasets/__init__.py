# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data sets: a synthetic generator, an embedded demo set and file readers."""

from sparseclf.datasets._fasttext import iter_fasttext, load_fasttext
from sparseclf.datasets._sms_spam import load_sms_spam
from sparseclf.datasets._synthetic import make_extreme_classification
from sparseclf.datasets._xmc import dump_xmc, iter_xmc, load_xmc

__all__ = [
    "dump_xmc",
    "iter_fasttext",
    "iter_xmc",
    "load_fasttext",
    "load_sms_spam",
    "load_xmc",
    "make_extreme_classification",
]
