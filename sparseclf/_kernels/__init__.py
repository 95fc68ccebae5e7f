# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pythran kernels. Import them through :mod:`sparseclf._lsh`, which casts and checks."""
