# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The examples in the public docstrings run and print what they show."""

import doctest
import importlib

import pytest

MODULES = [
    "sparseclf._mlp",
    "sparseclf.metrics",
    "sparseclf.datasets._synthetic",
    "sparseclf.datasets._xmc",
    "sparseclf.datasets._fasttext",
    "sparseclf.datasets._sms_spam",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    # Doctests of the *installed* modules: pytest's --doctest-modules would
    # collect the uncompiled source tree instead.
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
