# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Threads: ``n_jobs`` to a thread count, per-kernel thread counts, BLAS limits."""

import contextlib
import functools
import os

from threadpoolctl import ThreadpoolController

# Work is counted in row operations (one weight row of ~128 floats read or
# updated, some 30 ns). Below this many per thread a kernel runs on one thread:
# waking a second OpenMP thread costs about a millisecond when the other core is
# busy, more than small kernels take in all.
MIN_WORK_PER_THREAD = 32768
# The same rule for the hashing kernels, counted in rows hashed.
MIN_ROWS_PER_THREAD = 512


@functools.cache
def threadpool_controller():
    """threadpoolctl's view of the thread pools loaded, inspected once.

    A new ``ThreadpoolController`` (as each ``threadpool_info()`` or
    ``threadpool_limits()`` call makes) re-scans the loaded libraries, which
    takes longer than predicting one sample. NumPy's BLAS and the kernels'
    OpenMP are loaded before the first call.
    """
    return ThreadpoolController()


def effective_n_threads(n_jobs=None):
    """Number of threads for ``n_jobs``, as scikit-learn counts them.

    ``None`` means the OpenMP limit that threadpoolctl reports (so
    ``threadpool_limits`` is honoured), else the CPUs this process may use; a
    negative value ``-k`` means all CPUs but ``k - 1``.
    """
    n_cpus = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else (os.cpu_count() or 1)
    )
    if n_jobs is None:
        openmp = threadpool_controller().select(user_api="openmp")
        limits = [info["num_threads"] for info in openmp.info()]
        return max(1, min([n_cpus, *limits]))
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive or -1.")
    if n_jobs < 0:
        return max(1, n_cpus + 1 + n_jobs)
    return int(n_jobs)


def threads_for(work, n_threads, per_thread=MIN_WORK_PER_THREAD):
    """Threads for a kernel call doing ``work``: at most ``n_threads``, and one
    per ``per_thread`` units of work."""
    return max(1, min(n_threads, work // per_thread))


def limit_blas(single_thread):
    """A context in which BLAS runs on one thread if ``single_thread``.

    For small products (a training step's, unless its output layer is wide and
    dense): on two threads they ran several times slower than on one when the
    other core was busy.
    """
    if not single_thread:
        return contextlib.nullcontext()
    return threadpool_controller().limit(limits=1, user_api="blas")
