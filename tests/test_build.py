# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The kernels that run are the Pythran-compiled ones, and they match their source."""

import importlib.util
import pathlib

import numpy as np
import pytest

from sparseclf._kernels import (
    _backprop,
    _dwta,
    _murmur,
    _simhash,
    _tables,
    cpu_has_avx2_fma,
    load,
)

KERNELS = [_backprop, _dwta, _murmur, _simhash, _tables]
if cpu_has_avx2_fma():
    # Built for every x86-64 install; an ImportError here fails the suite.
    from sparseclf._kernels import _backprop_avx2, _dwta_avx2

    KERNELS += [_backprop_avx2, _dwta_avx2]
SOURCE_DIR = pathlib.Path(__file__).resolve().parents[1] / "sparseclf" / "_kernels"


@pytest.mark.parametrize("module", KERNELS, ids=lambda m: m.__name__)
def test_kernels_are_compiled(module):
    # A pure-Python fallback (a `-Duse-pythran=false` build, or the source folder on
    # sys.path) has no `__pythran__` and is a .py file: CI must fail on it.
    assert hasattr(module, "__pythran__"), f"{module.__name__} is not compiled"
    assert not module.__file__.endswith(".py"), module.__file__


def test_fastest_build_is_loaded(monkeypatch):
    want = "_avx2" if cpu_has_avx2_fma() else ""
    assert load("_backprop").__name__.endswith("_backprop" + want)
    monkeypatch.setenv("SPARSECLF_KERNELS", "portable")
    assert load("_backprop") is _backprop


def test_avx2_build_matches_portable():
    if not cpu_has_avx2_fma():
        pytest.skip("this CPU has no AVX2/FMA: only the portable kernels run here")
    from sparseclf._kernels import _dwta_avx2

    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 32)).astype(np.float32)
    X[X < 0] = 0
    bins = rng.randint(0, 32, size=(24, 8)).astype(np.int32)
    seeds = np.array([3, 5, 7], dtype=np.int64)
    args = (bins, 6, 4, 3, 12, seeds, 8, 1)
    np.testing.assert_array_equal(
        _dwta_avx2.dwta_dense(X, *args), _dwta.dwta_dense(X, *args)
    )


def _load_source(name):
    path = SOURCE_DIR / f"{name}.py"
    if not path.exists():
        pytest.skip(f"kernel source {path} not present (installed without the tree)")
    spec = importlib.util.spec_from_file_location(f"_src_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compiled_simhash_matches_source():
    src = _load_source("_simhash")
    rng = np.random.RandomState(0)
    proj = rng.standard_normal((12, 37)).astype(np.float32)
    for range_pow in (2, 8):
        np.testing.assert_array_equal(
            _simhash.pack_signs(proj, 3, 4, range_pow, 1),
            src.pack_signs(proj, 3, 4, range_pow, 1),
        )


def test_compiled_dwta_matches_source():
    src = _load_source("_dwta")
    rng = np.random.RandomState(0)
    X = rng.standard_normal((70, 16)).astype(np.float32)
    X[X < 0.5] = 0  # leaves empty bins, so densification runs
    bins = rng.randint(0, 16, size=(12, 4)).astype(np.int32)
    seeds = np.array([12345, 678910, 111213], dtype=np.int64)
    args = (bins, 4, 3, 2, 5, seeds, 3, 1)
    np.testing.assert_array_equal(_dwta.dwta_dense(X, *args), src.dwta_dense(X, *args))


def test_compiled_tables_match_source():
    src = _load_source("_tables")
    rng = np.random.RandomState(0)
    buckets_t = rng.randint(0, 8, size=(3, 200)).astype(np.int32)
    seeds = np.array([5, 6, 7], dtype=np.int64)
    for fifo in (False, True):
        got = _tables.build_tables(buckets_t, 8, 10, fifo, seeds, 1)
        want = src.build_tables(buckets_t, 8, 10, fifo, seeds, 1)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_compiled_murmur_matches_source():
    src = _load_source("_murmur")
    tokens = ["", "a", "ab", "abc", "abcd", "naïve", "日本", "😀x", "hello"]
    text = np.frombuffer(" ".join(tokens).encode("utf-8"), dtype=np.uint8)
    lengths = np.array([len(t) for t in tokens], dtype=np.int64)
    counts = np.array([4, 0, 5], dtype=np.int64)
    with np.errstate(over="ignore"):  # NumPy warns on uint32 wrap-around
        want = src.ngram_hashes(text, lengths, counts, 1, 3)
    for got, expected in zip(_murmur.ngram_hashes(text, lengths, counts, 1, 3), want):
        np.testing.assert_array_equal(got, expected)
