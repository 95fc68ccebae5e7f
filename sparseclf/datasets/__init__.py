# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data sets: a synthetic generator and an embedded demo set."""

from sparseclf.datasets._sms_spam import load_sms_spam
from sparseclf.datasets._synthetic import make_extreme_classification

__all__ = ["load_sms_spam", "make_extreme_classification"]
