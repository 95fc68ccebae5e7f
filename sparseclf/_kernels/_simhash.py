# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pythran kernels: SimHash (signed random projection) bucket ids.

Hash ``h`` of table ``t`` is bit ``h`` of that table's code: 1 where the projection
``x . planes[t * n_bits + h]`` is > 0. Codes wider than ``range_pow`` bits are folded
into ``range_pow`` bits by XOR of ``range_pow``-bit chunks. Outputs are table-major,
``(n_tables, n)``, the layout the table build reads.
"""

import numpy as np

from ._common import fold


# pythran export pack_signs(float32[:, :] order(C), int, int, int, int)
def pack_signs(proj_t, n_tables, n_bits, range_pow, n_threads):
    """Bucket ids (n_tables, n) from projections ``proj_t`` (n_tables * n_bits, n)."""
    n = proj_t.shape[1]
    out = np.empty((n_tables, n), dtype=np.int32)
    # omp parallel for schedule(static) num_threads(n_threads)
    for t in range(n_tables):
        code = out[t]
        code[:] = 0
        for h in range(n_bits):
            p = proj_t[t * n_bits + h]
            # Branch-free, vectorised over samples: the sign is a coin flip.
            for i in range(n):
                code[i] |= (p[i] > 0) << h
        if n_bits > range_pow:
            for i in range(n):
                code[i] = fold(code[i], n_bits, range_pow)
    return out


# pythran export simhash_csr(float32[:], int32[:], int64[:], float32[:, :] order(C), int, int, int, int)
def simhash_csr(
    data, indices, indptr, planes_t, n_tables, n_bits, range_pow, n_threads
):
    """Bucket ids (n_tables, n) of CSR rows; ``planes_t`` is (n_features, n_hashes)."""
    n = indptr.shape[0] - 1
    n_hashes = planes_t.shape[1]
    out = np.empty((n_tables, n), dtype=np.int32)
    # omp parallel for schedule(dynamic, 64) num_threads(n_threads)
    for i in range(n):
        acc = np.zeros(n_hashes, dtype=np.float32)
        for p in range(indptr[i], indptr[i + 1]):
            acc += data[p] * planes_t[indices[p]]
        for t in range(n_tables):
            code = 0
            for h in range(n_bits):
                code |= int(acc[t * n_bits + h] > 0) << h
            out[t, i] = fold(code, n_bits, range_pow)
    return out
