# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Fixtures shared by the test modules."""

import numpy as np
import pytest
import scipy.sparse as sp

from sparseclf._network import Network


def _wide_separable(n_classes=1500, n_samples=3000, seed=0):
    """Each class owns 3 of 3 * n_classes features: separable, wide output."""
    rng = np.random.RandomState(seed)
    y = np.arange(n_samples) % n_classes
    rows = np.repeat(np.arange(n_samples), 3)
    cols = (3 * y[:, None] + np.arange(3)).ravel()
    X = sp.csr_matrix(
        (np.ones(rows.size, np.float32), (rows, cols)), shape=(n_samples, 3 * n_classes)
    )
    noise = sp.random(
        n_samples,
        3 * n_classes,
        density=0.001,
        random_state=rng,
        format="csr",
        dtype=np.float32,
    )
    return sp.csr_matrix(X + 0.3 * noise), y


def _tiny_problem(seed=0, n=5, d=7, hidden=(6,), n_out=4, multilabel=False):
    """``(X, lab_ptr, labels, network)``: a few samples, every feature given its
    first-layer row, biases away from 0 so no ReLU sits at its kink."""
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    X[rng.random_sample((n, d)) < 0.3] = 0
    if multilabel:
        Y = (rng.random_sample((n, n_out)) < 0.4).astype(int)
        Y[0] = 0
        Y[0, 1] = 1
        Yc = sp.csr_matrix(Y)
        lab_ptr, labels = Yc.indptr.astype(np.int64), Yc.indices.astype(np.int32)
    else:
        labels = rng.randint(0, n_out, n).astype(np.int32)
        lab_ptr = np.arange(n + 1, dtype=np.int64)
    net = Network(d, list(hidden), n_out, rng)
    net.add_inputs(np.arange(d))
    for b in net.biases:
        b[:] = rng.uniform(0.2, 0.5, b.shape)
    return sp.csr_matrix(X), lab_ptr, labels, net


@pytest.fixture
def wide_separable():
    """A function making a separable problem with a wide output layer."""
    return _wide_separable


@pytest.fixture
def tiny_problem():
    """A function making a small network and its training batch."""
    return _tiny_problem
