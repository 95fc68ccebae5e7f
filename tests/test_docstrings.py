# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The examples in the docstrings run and print what they show."""

import doctest
import importlib
import pkgutil

import pytest

import sparseclf
import sparseclf.datasets
import sparseclf.metrics

# The optional extras' modules, where their extra is installed (the test extra
# installs them all).
OPTIONAL = {}
for module, needs in (
    ("sparseclf.onnx", "skl2onnx"),
    ("sparseclf.dask", "distributed"),
):
    try:
        importlib.import_module(needs)
    except ImportError:
        continue
    OPTIONAL[module] = importlib.import_module(module)

# Every module of the installed package but the kernels (compiled) and the
# ``python -m`` entry point. Doctests of the *installed* modules: pytest's
# --doctest-modules would collect the uncompiled source tree instead.
MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(sparseclf.__path__, "sparseclf.")
    if not m.name.startswith("sparseclf._kernels") and m.name != "sparseclf.__main__"
)
PUBLIC = [
    getattr(module, name)
    for module in (sparseclf, sparseclf.datasets, sparseclf.metrics, *OPTIONAL.values())
    for name in module.__all__
    # Constants (TOKEN_PATTERN, __version__) are documented in docs/api.rst.
    if not isinstance(getattr(module, name), str)
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    extra = {"sparseclf._dask_replica": "sparseclf.dask"}.get(name, name)
    if extra in ("sparseclf.onnx", "sparseclf.dask") and extra not in OPTIONAL:
        pytest.skip(f"{name} needs the {extra.split('.')[1]} extra")
    result = doctest.testmod(
        importlib.import_module(name), optionflags=doctest.ELLIPSIS
    )
    assert result.failed == 0


@pytest.mark.parametrize("obj", PUBLIC, ids=lambda obj: obj.__name__)
def test_every_public_object_has_an_example(obj):
    tests = doctest.DocTestFinder().find(obj)
    assert any(t.examples for t in tests if t.name.endswith(obj.__name__))
