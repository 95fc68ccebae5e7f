# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data sets: a synthetic extreme-classification generator."""

from sparseclf.datasets._synthetic import make_extreme_classification

__all__ = ["make_extreme_classification"]
