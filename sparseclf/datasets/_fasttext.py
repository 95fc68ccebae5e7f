# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Read fastText's supervised text format."""

import re
from itertools import islice
from numbers import Integral

from sklearn.utils import check_scalar

from sparseclf.datasets._io import _open_text

# fastText splits words on these bytes only (Dictionary::readWord); Python's
# str.split() would also split on Unicode spaces such as U+00A0.
_FASTTEXT_SPACE = re.compile("[ \t\n\v\f\r\0]+")
# A character outside ASCII, or an ASCII one str.split() and fastText disagree
# on (NUL; the separators \x1c-\x1f). Lines without one (most) split with the
# faster str.split().
_NOT_PLAIN = re.compile("[^\x01-\x1b\x20-\x7f]")


def load_fasttext(
    path, *, label_prefix="__label__", allow_unlabeled=False, encoding="utf-8"
):
    """Load a text classification data set in fastText's format.

    Each line is one sample: its labels, as words starting with ``label_prefix``,
    and its text, e.g. ``__label__sport __label__news Some text here``. A sample
    may have several labels (multi-label). Blank lines are skipped.

    Parameters
    ----------
    path : str, path-like or file object
        The file. Paths ending in ``.gz``, ``.bz2`` or ``.xz`` are decompressed on
        the fly. A file object may be text or binary (then decoded with
        ``encoding``); it is read from its current position and left open.
    label_prefix : str, default="__label__"
        The prefix that marks a word as a label (fastText's ``-label`` option).
    allow_unlabeled : bool, default=False
        If False, a line without any label raises a ValueError. If True, its
        sample gets an empty list of labels (e.g. a file to predict on).
    encoding : str, default="utf-8"
        Encoding of a path or binary file object.

    Returns
    -------
    texts : list of str
        The text of each sample: its non-label words, joined by single spaces.
    labels : list of list of str
        The labels of each sample, without ``label_prefix``, in order of first
        appearance and without repeats.

    Raises
    ------
    ValueError
        If a line has no label (unless ``allow_unlabeled=True``) or a label word
        is the bare prefix, naming the 1-based line number.

    See Also
    --------
    iter_fasttext : Read the file in chunks, for files larger than memory.

    Notes
    -----
    As in fastText, every word that starts with ``label_prefix`` is a label,
    wherever it is in the line (usually the labels lead), and words are separated
    by runs of ASCII whitespace (space, tab, vertical tab, form feed, carriage
    return) or NUL, so the returned text has its whitespace normalised to single
    spaces. Other Unicode whitespace, such as a no-break space, stays inside words.

    Examples
    --------
    >>> import io
    >>> from sparseclf.datasets import load_fasttext
    >>> f = io.StringIO("__label__a __label__b  first text\\n\\n__label__c second\\n")
    >>> texts, labels = load_fasttext(f)
    >>> texts
    ['first text', 'second']
    >>> labels
    [['a', 'b'], ['c']]
    """
    _check_prefix(label_prefix)
    texts, labels = [], []
    with _open_text(path, "r", encoding=encoding) as stream:
        for text, tags in _samples(stream, label_prefix, allow_unlabeled):
            texts.append(text)
            labels.append(tags)
    return texts, labels


def iter_fasttext(
    path,
    *,
    chunk_size=10_000,
    label_prefix="__label__",
    allow_unlabeled=False,
    encoding="utf-8",
):
    """Read a fastText-format file in chunks of samples, without loading it whole.

    The chunks hold the samples of :func:`load_fasttext`, in file order:
    concatenated, they are its result. The file is opened when the first chunk
    is asked for and read line by line, so memory holds one chunk at a time,
    whatever the size of the file. Iterate again (call again) to read the file
    again, e.g. once per epoch.

    Parameters
    ----------
    path : str, path-like or file object
        The file. Paths ending in ``.gz``, ``.bz2`` or ``.xz`` are decompressed on
        the fly. A file object is read from its current position and left open.
    chunk_size : int, default=10_000
        Samples per chunk (blank lines are not samples); the last chunk may
        hold fewer.
    label_prefix : str, default="__label__"
        The prefix that marks a word as a label (fastText's ``-label`` option).
    allow_unlabeled : bool, default=False
        If False, a line without any label raises a ValueError. If True, its
        sample gets an empty list of labels.
    encoding : str, default="utf-8"
        Encoding of a path or binary file object.

    Yields
    ------
    texts : list of str
        The texts of up to ``chunk_size`` samples, as :func:`load_fasttext`.
    labels : list of list of str
        Their labels, as :func:`load_fasttext`.

    Raises
    ------
    ValueError
        As :func:`load_fasttext`, with the line number in the whole file, when
        the chunk holding the bad line is read (earlier chunks have been
        yielded). A bad ``chunk_size`` or ``label_prefix`` raises at the call.

    See Also
    --------
    load_fasttext : Read the whole file at once.

    Examples
    --------
    >>> import io
    >>> from sparseclf.datasets import iter_fasttext
    >>> f = io.StringIO("__label__a one\\n__label__b two\\n\\n__label__a three\\n")
    >>> for texts, labels in iter_fasttext(f, chunk_size=2):
    ...     print(texts, labels)
    ['one', 'two'] [['a'], ['b']]
    ['three'] [['a']]
    """
    check_scalar(chunk_size, "chunk_size", Integral, min_val=1)
    _check_prefix(label_prefix)
    return _chunks(path, chunk_size, label_prefix, allow_unlabeled, encoding)


def _chunks(path, chunk_size, label_prefix, allow_unlabeled, encoding):
    with _open_text(path, "r", encoding=encoding) as stream:
        samples = _samples(stream, label_prefix, allow_unlabeled)
        while chunk := list(islice(samples, chunk_size)):
            texts, labels = zip(*chunk)
            yield list(texts), list(labels)


def _check_prefix(label_prefix):
    if not isinstance(label_prefix, str) or not label_prefix:
        raise ValueError(f"label_prefix must be a non-empty str, got {label_prefix!r}")


def _samples(stream, label_prefix, allow_unlabeled):
    """Yield ``(text, labels)`` of each non-blank line of ``stream``: the one
    parser of :func:`load_fasttext` and :func:`iter_fasttext`."""
    n = len(label_prefix)
    for lineno, line in enumerate(stream, start=1):
        if _NOT_PLAIN.search(line) is None:
            words = line.split()
        else:
            words = [w for w in _FASTTEXT_SPACE.split(line) if w]
        if not words:
            continue  # blank line
        tags = [w[n:] for w in words if w.startswith(label_prefix)]
        if not tags and not allow_unlabeled:
            raise ValueError(
                f"line {lineno}: no label (no word starting with "
                f"{label_prefix!r}); pass allow_unlabeled=True to accept "
                "unlabelled samples"
            )
        if "" in tags:
            raise ValueError(f"line {lineno}: empty label {label_prefix!r}")
        text = " ".join([w for w in words if not w.startswith(label_prefix)])
        yield text, list(dict.fromkeys(tags))
