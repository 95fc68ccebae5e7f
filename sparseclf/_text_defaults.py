# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""TextClassifier's chosen defaults: the token pattern and the "auto" epochs
and learning rate (``benchmarks/README.md`` has the measurements behind them)."""

import math

import numpy as np
import scipy.sparse as sp

from sparseclf._targets import is_indicator, is_label_lists

# The default token_pattern: a word or number; else, at a character that is
# neither a word character nor a space (a lookahead that lets the regex skip
# the other alternatives elsewhere; the same tokens, see benchmarks/README.md),
# a "#" or "@" that opens a hashtag or mention, as a token of its own (so
# "#happy" gives "#", "happy" and the bigram "# happy"); a run of "!", "?" or
# "." ("!!!", "?!", "..."), or a lone "!" or "?"; an emoticon (":)", ";-p",
# ":'(", "<3"); one emoji or other symbol, each a token (any character that is
# neither a word character, a space, ASCII punctuation, general punctuation
# such as curly quotes, nor an emoji's variation selector).
TOKEN_PATTERN = (
    r"(?u)\w+"
    r"|(?=[^\w\s])(?:(?<!\w)[#@](?=\w)"
    r"|[!?.]{2,}|[!?]"
    r"|(?<![\w:;=])[:;=][-'^o]?[()\[\]dDpPoO/\\|*3@$]+(?![\w)(])|<[/\\]?3+"
    r"|[^\w\s!-/:-@\[-`{-~\u2000-\u206f\ufe00-\ufe0f])"
)
# max_iter="auto" without early stopping: epochs that show the network about
# _AUTO_DOCUMENTS documents for two classes, times sqrt(n_classes / 2) for more
# (each class's output row learns from its own share of the documents; the
# hidden layer they share needs no more), at least 1 epoch, at most
# _AUTO_MAX_EPOCHS. With learning_rate_init="auto" too, at most
# _AUTO_SCALED_EPOCHS epochs, the rate raised from _AUTO_LR to keep the distance
# (epochs x rate: Adam moves a weight by about the rate per step), up to
# _AUTO_MAX_LR (then more epochs). With early stopping, the held-out score
# decides: "auto" is then _AUTO_MAX_EPOCHS at _AUTO_LR.
_AUTO_DOCUMENTS = 2**16
_AUTO_MAX_EPOCHS = 50
_AUTO_LR = 3e-3
_AUTO_MAX_LR = 1e-2
_AUTO_SCALED_EPOCHS = 6


def _auto_schedule(
    n_samples, max_iter, learning_rate_init, n_classes=2, early_stopping=False
):
    """Epochs and learning rate of a fit on ``n_samples`` documents."""
    if early_stopping:
        if max_iter == "auto":
            max_iter = _AUTO_MAX_EPOCHS
        if learning_rate_init == "auto":
            learning_rate_init = _AUTO_LR
        return max_iter, learning_rate_init
    documents = _AUTO_DOCUMENTS * math.sqrt(max(1.0, n_classes / 2))
    budget = documents / n_samples  # epochs at _AUTO_LR
    if learning_rate_init != "auto":
        if max_iter == "auto":
            max_iter = min(_AUTO_MAX_EPOCHS, max(1, round(budget)))
        return max_iter, learning_rate_init
    epochs = max_iter
    if max_iter == "auto":
        epochs = min(_AUTO_SCALED_EPOCHS, max(1, round(budget)))
    rate = _AUTO_LR * max(1.0, budget / epochs)
    if rate > _AUTO_MAX_LR:
        rate = _AUTO_MAX_LR
        if max_iter == "auto":
            epochs = min(_AUTO_MAX_EPOCHS, round(budget * _AUTO_LR / _AUTO_MAX_LR))
    return epochs, rate


def _n_classes(y):
    """The number of classes (or labels) in the targets ``y``, at least 2; 2
    for targets that are not understood (the network then raises its own
    error)."""
    try:
        if is_label_lists(y):
            return max(2, len(set().union(*map(frozenset, y))))
        if sp.issparse(y) or is_indicator(y):
            return max(2, np.shape(y)[1])
        return max(2, len(np.unique(np.asarray(y))))
    except (TypeError, ValueError):
        return 2
