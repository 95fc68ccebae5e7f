# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The kernels that run are the Pythran-compiled ones, and they compute what
their Python source computes: every exported function, compiled against the
source run by Python, and the AVX2 builds against the portable ones."""

import importlib
import importlib.util
import pathlib
import re
import sys
import types

import numpy as np
import pytest

from sparseclf._kernels import (
    AVX2_MODULES,
    MODULES,
    build_info,
    cpu_has_avx2_fma,
    load,
)
from sparseclf._lsh import DWTAHash

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[1] / "sparseclf" / "_kernels"
AVX2 = cpu_has_avx2_fma()


def compiled(name):
    return importlib.import_module(f"sparseclf._kernels.{name}")


def source(name):
    """The kernel module ``name`` run by Python, from the source tree."""
    path = SOURCE_DIR / f"{name}.py"
    if not path.exists():
        pytest.skip(f"kernel source {path} not present (installed without the tree)")
    if "_kernel_sources" not in sys.modules:
        # A package for the sources, so that `from ._common import ...` works.
        package = types.ModuleType("_kernel_sources")
        package.__path__ = [str(SOURCE_DIR)]
        sys.modules["_kernel_sources"] = package
    spec = importlib.util.spec_from_file_location(f"_kernel_sources.{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exports(name):
    """The functions module ``name`` exports, from its ``# pythran export`` lines."""
    text = (SOURCE_DIR / f"{name}.py").read_text()
    return set(re.findall(r"^# pythran export (\w+)\(", text, flags=re.M))


# ------------------------------------------------------------------ inputs


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def csr(rng, n, d, density=0.3):
    """A random CSR batch as (data, indices int32, indptr int64)."""
    mask = rng.random_sample((n, d)) < density
    rows, cols = np.nonzero(mask)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return f32(rng, rows.size), cols.astype(np.int32), indptr


def labels_csr(rng, n, n_out, most=3):
    counts = rng.randint(0, most + 1, n)
    lab_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    labels = np.concatenate(
        [rng.choice(n_out, c, replace=False) for c in counts]
    ).astype(np.int32)
    return lab_ptr, labels


def adam_state(rng, rows, hidden):
    """Weights, bias and Adam moments of a layer, in kernel order."""
    return (
        f32(rng, rows, hidden),
        f32(rng, rows),
        np.abs(f32(rng, rows, hidden)) * 0.01,
        np.abs(f32(rng, rows, hidden)) * 0.01,
        np.abs(f32(rng, rows)) * 0.01,
        np.abs(f32(rng, rows)) * 0.01,
    )


ADAM = (np.float32(1e-2), np.float32(0.9), np.float32(0.999), np.float32(1e-8))


def dwta_dense_args(rng):
    X = f32(rng, 40, 16)
    X[X < 0.5] = 0  # empty bins: densification runs
    bins = rng.randint(0, 16, size=(12, 4)).astype(np.int32)
    return X, bins, 4, 3, 2, 5, np.array([12345, 678910, 111213]), 3, 1


def dwta_csr_args(rng):
    h = DWTAHash(30, 3, 4, 7, bin_size=4, max_probes=3, random_state=0)
    data, indices, indptr = csr(rng, 40, 30, density=0.1)
    return (
        *(data, indices, indptr),
        *(h.slot_ptr, h.slots, h.bin_size, h.n_tables, h.n_bits, h.code_bits),
        *(h.range_pow, h.probe_seeds, h.max_probes, 1),
    )


def tables_args(rng, n_tables=3, n=200, n_buckets=8):
    buckets_t = rng.randint(0, n_buckets, size=(n_tables, n)).astype(np.int32)
    return buckets_t, n_buckets, 10, False, np.array([5, 6, 7]), 1


def built_tables(rng):
    from sparseclf._kernels import _tables

    buckets_t, n_buckets, capacity, fifo, seeds, _ = tables_args(rng)
    return _tables.build_tables(buckets_t, n_buckets, capacity, fifo, seeds, 1)


def query_args(rng):
    offsets, ids = built_tables(rng)
    return rng.randint(0, 8, size=(3, 50)).astype(np.int32), offsets, ids, 200, 1


def active_sets_args(rng):
    offsets, ids = built_tables(rng)
    lab_ptr, labels = labels_csr(rng, 30, 200)
    buckets_t = rng.randint(0, 8, size=(3, 30)).astype(np.int32)
    pool = rng.randint(0, 200, size=12).astype(np.int64)
    pool_start = rng.randint(0, 12, size=30).astype(np.int64)
    return buckets_t, offsets, ids, lab_ptr, labels, pool, pool_start, 16, 6, 200, 1


def input_forward_args(rng, cut):
    data, indices, indptr = csr(rng, 12, 20)
    W, b = f32(rng, 20, 8), f32(rng, 8)
    return data, indices, indptr, W, b, np.uint32(7), cut, np.float32(1.5), 1


def input_step_args(rng):
    data, indices, indptr = csr(rng, 12, 20)
    keys = np.sort((indices.astype(np.int64) << 32) | np.arange(indices.size))
    dH, H = f32(rng, 12, 8), f32(rng, 12, 8)
    W, _, mW, vW, _, _ = adam_state(rng, 20, 8)
    b, _, mb, vb, _, _ = adam_state(rng, 8, 1)  # the bias: one per hidden unit
    b, mb, vb = b[:, 0].copy(), mb[:, 0].copy(), vb[:, 0].copy()
    # Rows never updated (0), updated at the last step (9), and behind.
    last = rng.choice([0, 1, 5, 9], size=20).astype(np.int64)
    return (data, keys, indptr, dH, H, np.float32(1.25), W, mW, vW, last, 10, b, mb, vb)


def own_sets(rng, n, m, n_out, pool):
    """Own sets without repeats or pool members, (own, n_own, n_pos)."""
    rest = np.setdiff1d(np.arange(n_out), pool)
    own = np.stack([rng.choice(rest, m, replace=False) for _ in range(n)])
    n_own = rng.randint(1, m + 1, n).astype(np.int64)
    n_pos = np.minimum(n_own, rng.randint(0, 3, n)).astype(np.int64)
    return own.astype(np.int32), n_own, n_pos


def output_forward_args(rng):
    n, m, n_out, hidden = 6, 5, 30, 8
    pool = np.array([1, 4, 9, 20], dtype=np.int64)
    own, n_own, n_pos = own_sets(rng, n, m, n_out, pool)
    own[0, 1] = 9  # a pool member in an own set: masked out of the pool
    H, W, b = np.abs(f32(rng, n, hidden)), f32(rng, n_out, hidden), f32(rng, n_out)
    Zp = f32(rng, n, pool.size)
    return H, own, n_own, n_pos, pool, Zp, W, b, np.float32(1 / n), 1


def output_update_args(rng):
    n, m, n_out, hidden = 6, 5, 30, 8
    pool = np.array([1, 4, 9, 20], dtype=np.int64)
    own, n_own, n_pos = own_sets(rng, n, m, n_out, pool)
    H, dz = f32(rng, n, hidden), f32(rng, n, m)
    Gp, gbp = f32(rng, pool.size, hidden), f32(rng, pool.size)
    return (H, own, n_own, n_pos, dz, pool, Gp, gbp, *adam_state(rng, n_out, hidden))


def dense_output_args(rng):
    lab_ptr, labels = labels_csr(rng, 10, 7)
    return (np.abs(f32(rng, 10, 8)), lab_ptr, labels, *adam_state(rng, 7, 8))


def active_logits_args(rng):
    active = np.stack([rng.choice(30, 5, replace=False) for _ in range(6)])
    return f32(rng, 6, 8), active.astype(np.int32), f32(rng, 30, 8), f32(rng, 30), 1


def ngram_args(rng):
    tokens = ["", "a", "ab", "abc", "abcd", "naïve", "日本", "😀x", "hello"]
    text = np.frombuffer(" ".join(tokens).encode("utf-8"), dtype=np.uint8)
    lengths = np.array([len(t) for t in tokens], dtype=np.int64)
    return text, lengths, np.array([4, 0, 5], dtype=np.int64), 1, 3


# (module, function) -> a function of a RandomState making its arguments.
CASES = {
    ("_dwta", "dwta_dense"): dwta_dense_args,
    ("_dwta", "dwta_csr"): dwta_csr_args,
    ("_simhash", "pack_signs"): lambda rng: (f32(rng, 12, 37), 3, 4, 2, 1),
    ("_simhash", "simhash_csr"): lambda rng: (
        *csr(rng, 40, 20),
        *(f32(rng, 20, 12), 3, 4, 3, 1),
    ),
    ("_tables", "build_tables"): tables_args,
    ("_tables", "query_tables"): query_args,
    ("_tables", "active_sets"): active_sets_args,
    ("_input_layer", "input_forward"): lambda rng: input_forward_args(rng, 0),
    ("_input_layer", "input_step"): lambda rng: (*input_step_args(rng), *ADAM, 1),
    ("_output_layer", "output_forward"): output_forward_args,
    ("_output_layer", "output_update"): lambda rng: (
        *output_update_args(rng),
        *(*ADAM, 1),
    ),
    ("_output_layer", "dense_output"): lambda rng: (*dense_output_args(rng), *ADAM, 1),
    ("_output_layer", "active_logits"): active_logits_args,
    ("_murmur", "ngram_hashes"): ngram_args,
    ("_murmur", "hashed_rows"): lambda rng: (*ngram_args(rng), 7, True),
}
# Dropout masks in input_forward too (a second case for one function).
EXTRA = [("_input_layer", "input_forward", lambda rng: input_forward_args(rng, 20000))]


def run_both(module_a, module_b, fn, make):
    """Outputs and argument arrays after calling ``fn`` of each module on equal
    fresh arguments: ``[(a, b), ...]``."""
    args_a = make(np.random.RandomState(0))
    args_b = make(np.random.RandomState(0))
    out_a = getattr(module_a, fn)(*args_a)
    with np.errstate(over="ignore"):  # NumPy warns on uint32 wrap-around
        out_b = getattr(module_b, fn)(*args_b)
    if not isinstance(out_a, tuple):
        out_a, out_b = (out_a,), (out_b,)
    pairs = list(zip(out_a, out_b))
    pairs += [(a, b) for a, b in zip(args_a, args_b) if isinstance(a, np.ndarray)]
    return [(np.asarray(a), np.asarray(b)) for a, b in pairs]


def assert_same(pairs, rtol):
    for a, b in pairs:
        assert a.shape == b.shape
        if a.dtype.kind == "f" and rtol:
            # Float sums in other orders (SIMD lanes, FMA): rounding. Adam's
            # step m / sqrt(v) does not shrink with the gradient, so a rounding
            # difference moves a weight by up to ~1e-3 of the step (lr 1e-2).
            np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-5)
        else:
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "module",
    [*MODULES, *(f"{m}_avx2" for m in AVX2_MODULES if AVX2)],
)
def test_kernels_are_compiled(module):
    # A pure-Python fallback (a `-Duse-pythran=false` build, or the source folder on
    # sys.path) has no `__pythran__` and is a .py file: CI must fail on it. On an
    # x86-64 CPU with AVX2 an ImportError of the AVX2 builds fails it too.
    m = compiled(module)
    assert hasattr(m, "__pythran__"), f"{m.__name__} is not compiled"
    assert not m.__file__.endswith(".py"), m.__file__


def test_fastest_build_is_loaded(monkeypatch):
    want = "_avx2" if AVX2 else ""
    for name in MODULES:
        suffix = want if name in AVX2_MODULES else ""
        assert load(name).__name__.endswith(name + suffix)
    assert build_info() == {"compiled": True, "variant": "avx2" if AVX2 else "portable"}
    monkeypatch.setenv("SPARSECLF_KERNELS", "portable")
    for name in MODULES:
        assert load(name) is compiled(name)


@pytest.mark.parametrize("module", MODULES)
def test_every_exported_function_has_a_case(module):
    assert exports(module) == {fn for m, fn in CASES if m == module}


@pytest.mark.parametrize(
    "module, fn, make",
    [(m, fn, make) for (m, fn), make in CASES.items()] + EXTRA,
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_compiled_matches_source(module, fn, make):
    assert_same(run_both(compiled(module), source(module), fn, make), rtol=1e-5)


@pytest.mark.parametrize(
    "module, fn, make",
    [(m, fn, make) for (m, fn), make in CASES.items() if m in AVX2_MODULES],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_avx2_build_matches_portable(module, fn, make):
    if not AVX2:
        pytest.skip("this CPU has no AVX2/FMA: only the portable kernels run here")
    pairs = run_both(compiled(f"{module}_avx2"), compiled(module), fn, make)
    assert_same(pairs, rtol=1e-5)
