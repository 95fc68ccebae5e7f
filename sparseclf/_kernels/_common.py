# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Helpers shared by the kernel modules: Pythran inlines them where imported.

Not a kernel module itself: nothing here is exported, and it is compiled only
as part of the modules that import it.
"""

import numpy as np

# 2**31 - 1: the modulus of the seeded hashes and Park-Miller draws.
PRIME = 2147483647


def fold(code, n_code_bits, range_pow):
    """``code`` of ``n_code_bits`` bits folded into ``range_pow`` bits by XOR of
    its ``range_pow``-bit chunks."""
    if n_code_bits <= range_pow:
        return code
    mask = (1 << range_pow) - 1
    out = 0
    while code > 0:
        out ^= code & mask
        code //= mask + 1  # not `>>=`: trips a Pythran 0.19 range-analysis bug
    return out


def mix32(x):
    """A 32-bit integer hash ("lowbias32", C. Wellons): counter -> uniform bits."""
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return x


def adam_row(w, m, v, g, lr_t, beta1, beta2, eps_t):
    """Adam on the row ``w`` with moments ``m``, ``v`` and gradient ``g``.

    ``lr_t`` and ``eps_t`` carry Adam's bias corrections, as PyTorch applies
    them: ``lr * sqrt(1 - beta2**t) / (1 - beta1**t)`` and ``eps * sqrt(1 -
    beta2**t)``. One loop, which gcc vectorises: Pythran computes "/" on
    float32 in double (and never with SIMD on arrays) where np.reciprocal
    stays float32, and inside an OpenMP loop the scalars must be local copies
    (the arguments are references that the stores could alias).
    """
    b1 = np.float32(beta1)
    b2 = np.float32(beta2)
    lr = np.float32(lr_t)
    ep = np.float32(eps_t)
    c1 = np.float32(1) - b1
    c2 = np.float32(1) - b2
    for k in range(w.shape[0]):
        gk = g[k]
        mk = b1 * m[k] + c1 * gk
        vk = b2 * v[k] + c2 * (gk * gk)
        m[k] = mk
        v[k] = vk
        w[k] -= (lr * mk) * np.reciprocal(np.sqrt(vk) + ep)


def adam_scalar(w, m, v, j, g, lr_t, beta1, beta2, eps_t):
    """Adam on the entry ``w[j]`` (a bias) with gradient ``g``."""
    m[j] = beta1 * m[j] + (1 - beta1) * g
    v[j] = beta2 * v[j] + (1 - beta2) * g * g
    w[j] -= lr_t * m[j] / (np.sqrt(v[j]) + eps_t)
