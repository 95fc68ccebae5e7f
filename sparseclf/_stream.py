# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""A shuffle buffer: batches for ``partial_fit`` from a stream of chunks."""

import itertools

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state


def shuffled_batches(chunks, batch_size, buffer_size, random_state=None):
    """Yield the rows of ``chunks`` in batches drawn at random from a buffer.

    The buffer fills with the chunks until it holds ``buffer_size`` rows, is
    shuffled, and gives batches of ``batch_size`` rows until half of it is
    left; those rows stay to mix with the next chunks. At the end the buffer is
    emptied in the same way (the last batch may be smaller). So a row comes out
    at most about ``buffer_size`` rows after it went in, or later (a row can
    stay several rounds), and a stream sorted by label comes out mixed: the
    first batch is drawn from the first ``buffer_size`` rows. Every row comes
    out exactly once.

    Memory holds the buffer, the chunk coming in and one copy of them while
    they are shuffled: ``O(buffer_size + chunk rows)`` rows, never the stream.

    Parameters
    ----------
    chunks : iterable of tuple
        Chunks of rows: each a tuple of parts with the same number of rows, a
        part being a scipy sparse matrix or array (rows), a numpy array (first
        axis) or a list. Every chunk has the same kinds of parts.
    batch_size : int
        Rows per batch.
    buffer_size : int
        Rows shuffled together (at least ``batch_size`` are).
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffles.

    Yields
    ------
    batch : tuple
        A tuple of parts, as the chunks', of ``batch_size`` rows (the last
        batch may have fewer).
    """
    rng = check_random_state(random_state)
    capacity = max(buffer_size, batch_size)
    pieces, held = [], 0
    for chunk in chunks:
        n = _n_rows(chunk[0])
        if n == 0:
            continue
        pieces.append(tuple(chunk))
        held += n
        if held < capacity:
            continue
        block, order = _concat(pieces), rng.permutation(held)
        # Give whole batches down to about half a buffer, at least one batch:
        # the rest stays to mix with the rows still to come.
        n_out = max(batch_size, (held - capacity // 2) // batch_size * batch_size)
        for start in range(0, n_out, batch_size):
            yield _take(block, order[start : start + batch_size])
        pieces = [_take(block, order[n_out:])]
        held -= n_out
        del block  # before the next chunk is read
    if held:
        block, order = _concat(pieces), rng.permutation(held)
        for start in range(0, held, batch_size):
            yield _take(block, order[start : start + batch_size])


def _n_rows(part):
    return part.shape[0] if hasattr(part, "shape") else len(part)


def _concat(pieces):
    """The pieces (tuples of parts) as one tuple of parts."""
    if len(pieces) == 1:
        return pieces[0]
    return tuple(_concat_parts([p[i] for p in pieces]) for i in range(len(pieces[0])))


def _concat_parts(parts):
    if sp.issparse(parts[0]):
        return sp.vstack(parts, format="csr")
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return list(itertools.chain.from_iterable(parts))


def _take(block, rows):
    """The rows ``rows`` of each part of ``block``, as copies."""
    return tuple(_take_part(part, rows) for part in block)


def _take_part(part, rows):
    if sp.issparse(part):
        return part.tocsr()[rows]
    if isinstance(part, np.ndarray):
        return part[rows]  # fancy indexing copies
    return [part[i] for i in rows]
