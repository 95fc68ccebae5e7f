# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""CSR rows as the arrays the kernels take."""

import numpy as np

_INT32_MAX = np.iinfo(np.int32).max


class RowBlock:
    """Rows ``s:e`` of CSR ``X`` as array views: what a training step reads.

    Cheaper than scipy's row slicing, which builds a new matrix per batch.
    """

    __slots__ = ("data", "indices", "indptr", "shape")

    def __init__(self, X, s, e):
        a, b = X.indptr[s], X.indptr[e]
        self.data, self.indices = X.data[a:b], X.indices[a:b]
        self.indptr = X.indptr[s : e + 1] - a
        self.shape = (e - s, X.shape[1])

    @classmethod
    def of_arrays(cls, data, indices, indptr, shape):
        """CSR rows given as their arrays, without a scipy matrix."""
        rows = cls.__new__(cls)
        rows.data, rows.indices, rows.indptr, rows.shape = data, indices, indptr, shape
        return rows


def csr_arrays(X):
    """CSR ``X`` as ``data, indices, indptr`` in the dtypes the kernels export.

    float32, int32 and int64: no copy when they already have them (an int32
    ``indptr`` of a batch is short).
    """
    if X.shape[1] > _INT32_MAX:
        raise ValueError(f"X has {X.shape[1]} columns; at most 2**31 - 1 work.")
    return (
        np.ascontiguousarray(X.data, dtype=np.float32),
        np.ascontiguousarray(X.indices, dtype=np.int32),
        np.ascontiguousarray(X.indptr, dtype=np.int64),
    )
