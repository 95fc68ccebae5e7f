# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pythran kernels. Import them through :mod:`sparseclf._lsh` and
:mod:`sparseclf._engine`, which cast and check.

The hot kernels are also built for AVX2 + FMA CPUs (``_backprop_avx2``, ...);
:func:`load` picks that build when the CPU has both, unless the environment
variable ``SPARSECLF_KERNELS=portable`` asks for the portable one.
"""

import importlib
import os


def cpu_has_avx2_fma():
    """True when the CPU runs AVX2 and FMA code (as NumPy detects it)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # pragma: no cover - NumPy moved its private table
        return False
    return bool(features.get("AVX2") and features.get("FMA3"))


def load(name):
    """The fastest build of kernel module ``name`` that this CPU runs."""
    if os.environ.get("SPARSECLF_KERNELS", "auto") != "portable" and (
        cpu_has_avx2_fma()
    ):
        try:
            return importlib.import_module(f"sparseclf._kernels.{name}_avx2")
        except ImportError:  # not built: a non-x86 or -Dnative=true build
            pass
    return importlib.import_module(f"sparseclf._kernels.{name}")
