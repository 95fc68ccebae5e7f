# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Does each kernel module's AVX2 + FMA build pay? Replayed calls, both builds.

Records the arguments of every kernel module's calls during a 10^5-label
SparseMLPClassifier fit (DWTA), an LSH prediction, a SimHash fit and a TREC
TextClassifier fit (from ``../shared/data/trec``), then replays them with the
portable and the AVX2 build of the module, alternating, and prints the median
replay times. Needs a build with the AVX2 copy of every module listed (set
``avx2_sources = kernel_sources`` in ``sparseclf/_kernels/meson.build``);
modules without one are reported as such. ``meson.build`` then keeps the AVX2
copy only where it is faster::

    python benchmarks/bench_kernels_avx2.py            # about a minute
"""

import importlib
import time
import warnings
from pathlib import Path

import numpy as np

from sparseclf import SparseMLPClassifier, TextClassifier, _hashing, _lsh, _network
from sparseclf._kernels import MODULES
from sparseclf.datasets import make_extreme_classification

TREC = Path(__file__).resolve().parents[2] / "shared" / "data" / "trec"
# Where each kernel module is used from.
OWNERS = {
    "_input_layer": _network,
    "_output_layer": _network,
    "_tables": _lsh,
    "_dwta": _lsh,
    "_simhash": _lsh,
    "_murmur": _hashing,
}
MAX_CALLS = 4000


class Recorder:
    """Stands for a kernel module and records the arguments of its calls."""

    def __init__(self, module, calls):
        self.module, self.calls = module, calls

    def __getattr__(self, name):
        real = getattr(self.module, name)

        def call(*args):
            if len(self.calls) < MAX_CALLS:
                copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
                self.calls.append((name, copies))
            return real(*args)

        return call


def record():
    calls = {name: [] for name in MODULES}
    for name in MODULES:
        portable = importlib.import_module(f"sparseclf._kernels.{name}")
        setattr(OWNERS[name], name, Recorder(portable, calls[name]))
    X, Y = make_extreme_classification(12_000, 100_000, 100_000, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = SparseMLPClassifier(max_iter=1, random_state=0, n_jobs=2)
        clf.fit(X[:10_000], Y[:10_000]).predict_topk(X[10_000:], 5, exact=False)
        SparseMLPClassifier(
            max_iter=1, random_state=0, n_jobs=2, hash_family="simhash"
        ).fit(X[:3000], Y[:3000])
        lines = (TREC / "train_5500.label").read_text(encoding="latin-1").splitlines()
        docs = [line.split(" ", 1)[1] for line in lines]
        labels = [line.split(":")[0] for line in lines]
        TextClassifier(random_state=0, n_jobs=2).fit(docs, labels)
    return calls


def main():
    calls = record()
    print("| module | calls | portable ms | AVX2 ms | portable / AVX2 |")
    print("|---|--:|--:|--:|--:|")
    for name, recorded in calls.items():
        try:
            avx2 = importlib.import_module(f"sparseclf._kernels.{name}_avx2")
        except ImportError:
            print(f"| `{name}` | {len(recorded)} | no AVX2 build | | |")
            continue
        builds = {"portable": importlib.import_module(f"sparseclf._kernels.{name}")}
        builds["avx2"] = avx2
        times = {key: [] for key in builds}
        for rep in range(6):
            for key in ("portable", "avx2") if rep % 2 else ("avx2", "portable"):
                module = builds[key]
                t0 = time.perf_counter()
                for fn, args in recorded:
                    getattr(module, fn)(*args)
                times[key].append(time.perf_counter() - t0)
        med = {key: np.median(t[1:]) for key, t in times.items()}
        print(
            f"| `{name}` | {len(recorded)} | {med['portable'] * 1e3:.1f} | "
            f"{med['avx2'] * 1e3:.1f} | {med['portable'] / med['avx2']:.2f} |"
        )


if __name__ == "__main__":
    main()
