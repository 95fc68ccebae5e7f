# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""MurmurHash3 of a batch of documents' n-grams: HashingVectorizer's hashing.

scikit-learn's HashingVectorizer joins each word n-gram into a Python string
and its FeatureHasher hashes them one per Python-level step. Here the n-grams
of many documents are hashed in one call over their tokens' UTF-8 bytes, with
the same function (``sklearn.utils.murmurhash3_32``, seed 0) on the same bytes,
so the features are the same (see ``sparseclf._hashing``).
"""

import numpy as np


def _scramble(k):
    """MurmurHash3's mixing of one 4-byte block (or the tail) before it enters h."""
    k *= np.uint32(0xCC9E2D51)
    k = (k << np.uint32(15)) | (k >> np.uint32(17))
    return k * np.uint32(0x1B873593)


def _murmur3(text, start, end):
    """MurmurHash3 (x86, 32-bit, seed 0) of ``text[start:end]``, uint32."""
    h = np.uint32(0)
    tail = start + ((end - start) // 4) * 4
    for p in range(start, tail, 4):
        k = (
            np.uint32(text[p])
            | (np.uint32(text[p + 1]) << np.uint32(8))
            | (np.uint32(text[p + 2]) << np.uint32(16))
            | (np.uint32(text[p + 3]) << np.uint32(24))
        )
        h ^= _scramble(k)
        h = (h << np.uint32(13)) | (h >> np.uint32(19))
        h = h * np.uint32(5) + np.uint32(0xE6546B64)
    rem = end - tail
    if rem > 0:
        k = np.uint32(0)
        if rem == 3:
            k ^= np.uint32(text[tail + 2]) << np.uint32(16)
        if rem >= 2:
            k ^= np.uint32(text[tail + 1]) << np.uint32(8)
        k ^= np.uint32(text[tail])
        h ^= _scramble(k)
    h ^= np.uint32(end - start)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


# pythran export ngram_hashes(uint8[:], int64[:], int64[:], int, int)
def ngram_hashes(text, lengths, counts, min_n, max_n):
    """Hashes of the ``min_n``- to ``max_n``-grams of each document's tokens.

    ``text`` is every token of the batch joined by single spaces, in UTF-8;
    ``lengths`` their lengths in characters, ``counts`` the number of tokens
    of each document. An n-gram is its tokens joined by spaces, as in
    scikit-learn's ``_word_ngrams``, so its bytes are one slice of ``text``:
    it is hashed there, never built. A token's bytes are found by counting
    the characters' first bytes (not 10xxxxxx). ``min_n >= 1``.

    Returns the hashes (uint32; ``.view(np.int32)`` gives
    ``sklearn.utils.murmurhash3_32(ngram, seed=0)``) document by document,
    n-grams by length then position, and the number of each document's.
    """
    n_tokens = lengths.shape[0]
    n_bytes = text.shape[0]
    starts = np.empty(n_tokens, dtype=np.int64)
    ends = np.empty(n_tokens, dtype=np.int64)
    pos = 0
    for t in range(n_tokens):
        starts[t] = pos
        for _ in range(lengths[t]):
            pos += 1
            while pos < n_bytes and (text[pos] & 0xC0) == 0x80:
                pos += 1
        ends[t] = pos
        pos += 1  # the space
    n_docs = counts.shape[0]
    per_doc = np.zeros(n_docs, dtype=np.int64)
    for d in range(n_docs):
        for n in range(min_n, min(max_n, counts[d]) + 1):
            per_doc[d] += counts[d] - n + 1
    out = np.empty(np.sum(per_doc), dtype=np.uint32)
    q = 0
    first = 0
    for d in range(n_docs):
        for n in range(min_n, min(max_n, counts[d]) + 1):
            for i in range(first, first + counts[d] - n + 1):
                out[q] = _murmur3(text, starts[i], ends[i + n - 1])
                q += 1
        first += counts[d]
    return out, per_doc


# pythran export hashed_rows(uint8[:], int64[:], int64[:], int, int, int, bool)
def hashed_rows(text, lengths, counts, min_n, max_n, n_features, alternate_sign):
    """``FeatureHasher``'s rows of each document's n-grams, duplicates summed.

    The n-grams are those of :func:`ngram_hashes`. Hash ``h`` (as int32) goes
    to column ``|h| mod n_features`` (``|-2**31| = 2**31``) with sign -1 where
    ``h < 0`` and ``alternate_sign``, else +1, and each row's equal columns are
    summed, in increasing column order, sums of zero kept: the matrix
    ``sum_duplicates`` makes of FeatureHasher's. Returns the columns (int32),
    their sums (int64) and the rows' offsets (``indptr``, int64).
    """
    h, per_doc = ngram_hashes(text, lengths, counts, min_n, max_n)
    m = h.shape[0]
    keys = np.empty(m, dtype=np.int64)
    for q in range(m):
        v = np.int64(h[q])
        negative = 0
        if v >= 2147483648:  # h < 0 as int32: |h| = 2**32 - v
            v = 4294967296 - v
            negative = 1 if alternate_sign else 0
        keys[q] = (v % n_features) * 2 + negative
    n_docs = counts.shape[0]
    columns = np.empty(m, dtype=np.int32)
    sums = np.empty(m, dtype=np.int64)
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    q = 0
    start = 0
    for d in range(n_docs):
        end = start + per_doc[d]
        row = np.sort(keys[start:end])
        i = 0
        while i < row.shape[0]:
            column = row[i] >> 1
            total = 0
            while i < row.shape[0] and (row[i] >> 1) == column:
                total += 1 - 2 * (row[i] & 1)
                i += 1
            columns[q] = column
            sums[q] = total
            q += 1
        indptr[d + 1] = q
        start = end
    return columns[:q], sums[:q], indptr
