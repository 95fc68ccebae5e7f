# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Helpers shared by the kernel modules: Pythran inlines them where imported.

Not a kernel module itself: nothing here is exported, and it is compiled only
as part of the modules that import it.
"""

import math

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


def catch_up_row(w, m, v, skipped, lr_t, beta1, beta2, eps_t):
    """Apply to the row ``w`` the ``skipped`` Adam steps it missed with a zero
    gradient, as dense Adam takes them: the moments decay (``m`` by
    ``beta1**skipped``, ``v`` by ``beta2**skipped``) and the momentum keeps
    moving the weights.

    Step ``s`` after the row's last update moves it by ``lr_t * beta1**s * m /
    (beta2**(s/2) * sqrt(v) + eps_t)``; with ``eps_t`` taken as scaling like
    ``sqrt(v)`` and the current step's bias corrections, the sum over the
    skipped steps is ``lr_t * m / (sqrt(v) + eps_t)`` times the geometric sum
    of ``r = beta1 / sqrt(beta2)``. For ``r >= 1`` (``beta1**2 >= beta2``)
    that sum grows without bound where the true one (``eps_t`` then weighs in)
    does not: the ``v`` decay is left out of it then.
    """
    b1 = float(beta1)
    b2 = float(beta2)
    r = b1 / math.sqrt(b2) if b2 > 0 else 2.0
    if r >= 1.0:
        r = b1
    total = r * (1.0 - r**skipped) / (1.0 - r) if r > 0 else 0.0
    s = np.float32(float(lr_t) * total)
    d1 = np.float32(b1**skipped)
    d2 = np.float32(b2**skipped)
    ep = np.float32(eps_t)
    for k in range(w.shape[0]):
        mk = m[k]
        vk = v[k]
        w[k] -= (s * mk) * np.reciprocal(np.sqrt(vk) + ep)
        m[k] = mk * d1
        v[k] = vk * d2


def adam_scalar(w, m, v, j, g, lr_t, beta1, beta2, eps_t):
    """Adam on the entry ``w[j]`` (a bias) with gradient ``g``."""
    m[j] = beta1 * m[j] + (1 - beta1) * g
    v[j] = beta2 * v[j] + (1 - beta2) * g * g
    w[j] -= lr_t * m[j] / (np.sqrt(v[j]) + eps_t)
