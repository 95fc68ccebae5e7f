# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""``python -m sparseclf``: a short smoke run of the compiled kernels."""

import sys


def main(argv=None):
    import time

    import numpy as np

    from sparseclf import DWTAHash, LSHTables, SimHash
    from sparseclf._kernels import _dwta, _simhash, _tables

    compiled = all(hasattr(m, "__pythran__") for m in (_dwta, _simhash, _tables))
    print(f"kernels compiled by Pythran: {compiled}")
    rng = np.random.RandomState(0)
    W = rng.standard_normal((100_000, 128)).astype(np.float32)
    for family in (
        SimHash(128, 6, 50, 18, random_state=0),
        DWTAHash(128, 6, 50, 18, random_state=0),
    ):
        t0 = time.perf_counter()
        tables = LSHTables(50, 18, random_state=0).build(family.hash(W, 2), 2)
        t1 = time.perf_counter()
        near = W[:256] + 0.1 * rng.standard_normal((256, 128)).astype(np.float32)
        indptr, ids = tables.query(family.hash(near))
        self_hit = np.mean([i in ids[indptr[i] : indptr[i + 1]] for i in range(256)])
        print(
            f"{type(family).__name__}: hashed and tabled 100,000 x 128 in "
            f"{t1 - t0:.2f} s; {np.diff(indptr).mean():.0f} candidates per query; "
            f"a perturbed neuron finds itself {100 * self_hit:.0f}% of the time"
        )
    return 0 if compiled else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
