# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pythran kernels: densified winner-take-all (DWTA) bucket ids.

Hash ``b`` looks at the ``bin_size`` coordinates ``bins[b]`` and returns the position
(0..bin_size-1) of the largest non-zero value among them; zeros count as absent, so a
dense vector and the same vector in CSR hash alike, and ties go to the lowest position.
A bin with no non-zero value is *empty* and borrows the code of another bin, found by
probing ``(b + 1) * a1 + probe * a2 + a3 (mod 2**31 - 1)`` for probe = 1..max_probes
(the seeds ``a`` come from Python); if every probe lands on an empty bin, it takes the
code of a non-empty bin chosen by the same hash, and if the vector has no non-zero
value in any bin, every code is 0. Codes never leave [0, bin_size).

Table ``t`` packs codes ``t * n_bits .. t * n_bits + n_bits - 1`` with ``code_bits``
bits each (ceil(log2(bin_size)), not ln), folded into ``range_pow`` bits by XOR.
Outputs are table-major, ``(n_tables, n)``, the layout the table build reads.
"""

import numpy as np

from ._common import PRIME, fold


def _densify_pack(
    raw, out, col, n_tables, n_bits, code_bits, range_pow, probe_seeds, max_probes
):
    """Densify the raw codes of one vector and write its bucket ids to out[:, col]."""
    n_hashes = raw.shape[0]
    nonempty = np.empty(n_hashes, dtype=np.int64)
    n_nonempty = 0
    for b in range(n_hashes):
        if raw[b] >= 0:
            nonempty[n_nonempty] = b
            n_nonempty += 1
    a1 = probe_seeds[0]
    a2 = probe_seeds[1]
    a3 = probe_seeds[2]
    for t in range(n_tables):
        code = 0
        for h in range(n_bits):
            b = t * n_bits + h
            c = int(raw[b])
            if c < 0:
                if n_nonempty == 0:
                    c = 0
                else:
                    base = ((b + 1) * a1) % PRIME
                    probe = 1
                    while c < 0 and probe <= max_probes:
                        j = ((base + (probe * a2) % PRIME + a3) % PRIME) % n_hashes
                        c = int(raw[j])
                        probe += 1
                    if c < 0:
                        j = ((base + a3) % PRIME) % n_nonempty
                        c = int(raw[nonempty[j]])
            code |= c << (h * code_bits)
        out[t, col] = fold(code, n_bits * code_bits, range_pow)


_BLOCK = 64


# pythran export dwta_dense(float32[:, :] order(C), int32[:, :] order(C), int, int, int, int, int64[:], int, int)
def dwta_dense(
    X, bins, n_tables, n_bits, code_bits, range_pow, probe_seeds, max_probes, n_threads
):
    """Bucket ids (n_tables, n) of dense rows; ``bins`` is (n_hashes, bin_size)."""
    n, dim = X.shape[0], X.shape[1]
    n_hashes, bin_size = bins.shape[0], bins.shape[1]
    out = np.empty((n_tables, n), dtype=np.int32)
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    # omp parallel for schedule(dynamic, 16) num_threads(n_threads)
    for blk in range(n_blocks):
        r0 = blk * _BLOCK
        m = min(_BLOCK, n - r0)
        # A block of rows, transposed, so each bin's argmax runs over samples in
        # SIMD lanes without branches (which value wins is a coin flip).
        xt = np.empty((dim, m), dtype=np.float32)
        for r in range(m):
            for j in range(dim):
                xt[j, r] = X[r0 + r, j]
        raw = np.empty((m, n_hashes), dtype=np.int32)
        best = np.empty(m, dtype=np.float32)
        pos = np.empty(m, dtype=np.int32)
        for b in range(n_hashes):
            best[:] = -np.inf
            pos[:] = -1
            for s in range(bin_size):
                col = xt[bins[b, s]]
                for r in range(m):
                    v = col[r]
                    win = (v != 0) & (v > best[r])
                    best[r] = v if win else best[r]
                    pos[r] = s if win else pos[r]
            for r in range(m):
                raw[r, b] = pos[r]
        for r in range(m):
            _densify_pack(
                raw[r],
                out,
                r0 + r,
                n_tables,
                n_bits,
                code_bits,
                range_pow,
                probe_seeds,
                max_probes,
            )
    return out


# pythran export dwta_csr(float32[:], int32[:], int64[:], int64[:], int64[:], int, int, int, int, int, int64[:], int, int)
def dwta_csr(
    data,
    indices,
    indptr,
    slot_ptr,
    slots,
    bin_size,
    n_tables,
    n_bits,
    code_bits,
    range_pow,
    probe_seeds,
    max_probes,
    n_threads,
):
    """Bucket ids (n_tables, n) of CSR rows.

    ``slots[slot_ptr[j]:slot_ptr[j + 1]]`` are the slots ``b * bin_size + s`` that
    feature ``j`` fills.
    """
    n = indptr.shape[0] - 1
    n_hashes = n_tables * n_bits
    out = np.empty((n_tables, n), dtype=np.int32)
    # omp parallel for schedule(dynamic, 64) num_threads(n_threads)
    for i in range(n):
        raw = np.full(n_hashes, -1, dtype=np.int32)
        best = np.zeros(n_hashes, dtype=np.float32)
        for p in range(indptr[i], indptr[i + 1]):
            v = data[p]
            if v != 0:
                j = indices[p]
                for q in range(slot_ptr[j], slot_ptr[j + 1]):
                    b = slots[q] // bin_size
                    s = slots[q] - b * bin_size
                    if raw[b] < 0 or v > best[b] or (v == best[b] and s < raw[b]):
                        best[b] = v
                        raw[b] = s
        _densify_pack(
            raw, out, i, n_tables, n_bits, code_bits, range_pow, probe_seeds, max_probes
        )
    return out
