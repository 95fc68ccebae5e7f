# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pythran kernels: SimHash (signed random projection) bucket ids.

Hash ``h`` of table ``t`` is bit ``h`` of that table's code: 1 where the projection
``x . planes[t * n_bits + h]`` is > 0. Codes wider than ``range_pow`` bits are folded
into ``range_pow`` bits by XOR of ``range_pow``-bit chunks.
"""

import numpy as np


def _fold(code, n_code_bits, range_pow):
    if n_code_bits <= range_pow:
        return code
    mask = (1 << range_pow) - 1
    out = 0
    while code > 0:
        out ^= code & mask
        code //= mask + 1  # not `>>=`: trips a Pythran 0.19 range-analysis bug
    return out


# pythran export pack_signs(float32[:, :], int, int, int, int)
def pack_signs(proj, n_tables, n_bits, range_pow, n_threads):
    """Bucket ids (n, n_tables) from projections (n, n_tables * n_bits)."""
    n = proj.shape[0]
    out = np.empty((n, n_tables), dtype=np.int32)
    # omp parallel for schedule(static) num_threads(n_threads)
    for i in range(n):
        for t in range(n_tables):
            code = 0
            for h in range(n_bits):
                if proj[i, t * n_bits + h] > 0:
                    code |= 1 << h
            out[i, t] = _fold(code, n_bits, range_pow)
    return out


# pythran export simhash_csr(float32[:], int32[:], int32[:], float32[:, :], int, int, int, int)
# pythran export simhash_csr(float32[:], int64[:], int64[:], float32[:, :], int, int, int, int)
def simhash_csr(data, indices, indptr, planes_t, n_tables, n_bits, range_pow, n_threads):
    """Bucket ids (n, n_tables) of CSR rows; ``planes_t`` is (n_features, n_hashes)."""
    n = indptr.shape[0] - 1
    n_hashes = planes_t.shape[1]
    out = np.empty((n, n_tables), dtype=np.int32)
    # omp parallel for schedule(dynamic, 64) num_threads(n_threads)
    for i in range(n):
        acc = np.zeros(n_hashes, dtype=np.float32)
        for p in range(indptr[i], indptr[i + 1]):
            acc += data[p] * planes_t[indices[p]]
        for t in range(n_tables):
            code = 0
            for h in range(n_bits):
                if acc[t * n_bits + h] > 0:
                    code |= 1 << h
            out[i, t] = _fold(code, n_bits, range_pow)
    return out
