# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pythran kernels, one concern a module; ``_common.py`` holds the helpers they
share (Pythran inlines them). Import them through the modules that cast and
check their arguments (:mod:`sparseclf._lsh`, :mod:`sparseclf._network`,
:mod:`sparseclf._hashing`).

Some kernels are also built for AVX2 + FMA CPUs (``AVX2_MODULES``); :func:`load`
picks that build when the CPU has both, unless the environment variable
``SPARSECLF_KERNELS=portable`` asks for the portable one.
"""

import importlib
import os

# Every kernel module, and those also built for AVX2 + FMA.
MODULES = ("_dwta", "_input_layer", "_murmur", "_output_layer", "_simhash", "_tables")
AVX2_MODULES = ("_dwta", "_input_layer", "_output_layer", "_simhash")


def cpu_has_avx2_fma():
    """True when the CPU runs AVX2 and FMA code (as NumPy detects it)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # pragma: no cover - NumPy moved its private table
        return False
    return bool(features.get("AVX2") and features.get("FMA3"))


def load(name):
    """The fastest build of kernel module ``name`` that this CPU runs."""
    if (
        name in AVX2_MODULES
        and os.environ.get("SPARSECLF_KERNELS", "auto") != "portable"
        and cpu_has_avx2_fma()
    ):
        try:
            return importlib.import_module(f"sparseclf._kernels.{name}_avx2")
        except ImportError:  # not built: a non-x86 or -Dnative=true build
            pass
    return importlib.import_module(f"sparseclf._kernels.{name}")


def build_info():
    """How the kernels in use were built.

    Returns
    -------
    info : dict
        ``"compiled"``: every kernel module is Pythran-compiled (False for a
        pure-Python build, hundreds of times slower); ``"variant"``:
        ``"avx2"`` when the AVX2 + FMA build is in use, else ``"portable"``.
    """
    modules = [load(name) for name in MODULES]
    return {
        "compiled": all(hasattr(m, "__pythran__") for m in modules),
        "variant": "avx2"
        if any(m.__name__.endswith("_avx2") for m in modules)
        else "portable",
    }
