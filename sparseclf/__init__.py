# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Wide neural classifiers trained fast on CPUs with LSH-sampled sparse layers."""

from sparseclf._lsh import DWTAHash, LSHTables, SimHash
from sparseclf._mlp import SparseMLPClassifier
from sparseclf._persistence import load, save
from sparseclf._text import TextClassifier
from sparseclf._text_defaults import TOKEN_PATTERN

__version__ = "0.1.0.dev0"

__all__ = [
    "DWTAHash",
    "LSHTables",
    "SimHash",
    "SparseMLPClassifier",
    "TOKEN_PATTERN",
    "TextClassifier",
    "__version__",
    "load",
    "save",
]
