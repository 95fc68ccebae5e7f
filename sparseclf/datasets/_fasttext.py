# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Read fastText's supervised text format."""

import re

from sparseclf.datasets._io import _open_text

# fastText splits words on these bytes only (Dictionary::readWord); Python's
# str.split() would also split on Unicode spaces such as U+00A0.
_FASTTEXT_SPACE = re.compile("[ \t\n\v\f\r\0]+")


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
    if not isinstance(label_prefix, str) or not label_prefix:
        raise ValueError(f"label_prefix must be a non-empty str, got {label_prefix!r}")
    n = len(label_prefix)
    texts, labels = [], []
    with _open_text(path, "r", encoding=encoding) as stream:
        for lineno, line in enumerate(stream, start=1):
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
            labels.append(list(dict.fromkeys(tags)))
            texts.append(" ".join(w for w in words if not w.startswith(label_prefix)))
    return texts, labels
