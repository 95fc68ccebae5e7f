# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The command line's ``fit --stream``: train on a file larger than memory.

A first pass finds the classes (texts; XMC files announce theirs in the
header); then each epoch reads the file again in chunks, mixes them in a
shuffle buffer and trains on each batch with ``partial_fit``.
"""

import copy
import time

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from sparseclf import _cli_fit
from sparseclf._cli_data import (
    CLIError,
    data_options,
    detect_format,
    iter_data,
    xmc_header,
)
from sparseclf._cli_fit import (
    XMC_EPOCHS,
    check_text_options,
    clock,
    epoch_line,
    say,
    text_model,
    validation_data,
    xmc_model,
)
from sparseclf._stream import shuffled_batches


def fit_stream(args):
    """The model trained by streaming ``args.data``, chunk by chunk."""
    if args.validation_fraction is not None:
        raise CLIError(
            f"--validation-fraction holds out part of the training data in "
            f"memory, but {args.data} is streamed: give --validation FILE, or "
            "--no-stream to load the file whole"
        )
    fmt = args.format or detect_format(args.data, args.label_prefix)
    t0 = time.perf_counter()
    if fmt == "xmc":
        check_text_options(args, "XMC features")
        n, n_features, n_labels = xmc_header(args.data)
        classes, multilabel, n_classes = None, True, n_labels
        columns = (n_features, n_labels)
        say(args, f"streaming {n:,} samples (the header's count), {n_labels:,} labels")
    else:
        n, classes, multilabel = _scan_labels(args, fmt)
        n_classes, columns = len(classes), None
        say(
            args,
            f"scanned {n:,} samples, {n_classes:,} classes in "
            f"{time.perf_counter() - t0:.1f} s",
        )
    if n == 0:
        raise CLIError(f"{args.data} holds no samples")
    kind = "xmc" if fmt == "xmc" else "text"
    validation = validation_data(args, kind, columns, multilabel)
    model, epochs = _model(args, kind, n)
    say(
        args,
        f"training on {n:,} samples, {n_classes:,} classes: chunks of "
        f"{args.chunk_size:,} from a shuffle buffer of {args.buffer_size:,}",
    )
    start = time.perf_counter()
    model, scores = _train(args, model, fmt, multilabel, classes, n, epochs, validation)
    network = getattr(model, "classifier_", model)
    print(
        f"trained in {time.perf_counter() - start:.1f} s, {len(scores)} epochs "
        f"({network.active_size_:,} of {n_classes:,} output neurons active per "
        "sample)"
    )
    if validation:
        best = max(scores)
        print(
            f"best validation score (accuracy, or P@1) {best:.4f} at epoch "
            f"{1 + scores.index(best)} of {len(scores)}: that epoch's model is kept"
        )
    return model


def _chunks(args, fmt, multilabel):
    """The training file's ``(X, y)`` chunks, read afresh."""
    for data in iter_data(args.data, fmt, args.chunk_size, **data_options(args)):
        y = data.y
        if isinstance(y, list) and not multilabel:
            y = np.asarray([labels[0] for labels in y], dtype=str)
        yield data.X, y


def _scan_labels(args, fmt):
    """A first pass over a text file: its samples, classes and whether it is
    multi-label (a fastText line with several labels)."""
    n, seen, multilabel = 0, set(), False
    for data in iter_data(args.data, fmt, args.chunk_size, **data_options(args)):
        n += len(data.X)
        if isinstance(data.y, list):
            for labels in data.y:
                seen.update(labels)
                multilabel = multilabel or len(labels) > 1
        else:
            seen.update(np.unique(data.y).tolist())
    return n, np.array(sorted(seen), dtype=str), multilabel


def _model(args, kind, n_samples):
    """The model to stream into, without callback, and its number of epochs."""
    if kind == "xmc":
        model = xmc_model(args)
        epochs = XMC_EPOCHS if args.epochs is None else args.epochs
    else:
        from sparseclf._text import _auto_schedule

        model = text_model(args)
        # partial_fit takes a fixed step size: the schedule fit would choose
        # for this many documents (epochs and step size, e.g. fewer, larger
        # steps for a small corpus).
        epochs, rate = _auto_schedule(
            n_samples,
            "auto" if args.epochs is None else args.epochs,
            "auto" if args.lr is None else args.lr,
        )
        model.set_params(learning_rate_init=rate)
    # This module scores the epochs and reports progress itself.
    model.set_params(callback=None, early_stopping=False, max_iter=epochs)
    return model, epochs


def _train(args, model, fmt, multilabel, classes, n, epochs, validation):
    """Epochs of ``partial_fit`` on shuffled chunks. Returns the model to keep
    and the validation score of each epoch run (without validation: its
    negated training loss)."""
    rng = check_random_state(args.random_state)
    tol = model.get_params()["tol"]
    progress = _Progress(args, n, epochs)
    scores, kept, no_improvement = [], model, 0
    for epoch in range(1, epochs + 1):
        batches = shuffled_batches(
            _chunks(args, fmt, multilabel),
            args.chunk_size,
            args.buffer_size,
            random_state=rng.randint(np.iinfo(np.int32).max),
        )
        total, seen = 0.0, 0
        try:
            for X, y in batches:
                model.partial_fit(X, y, classes=classes)
                rows = X.shape[0] if sp.issparse(X) else len(X)
                total += model.loss_curve_[-1] * rows
                seen += rows
                progress.advance(rows)
        finally:
            progress.close()
        loss = total / seen
        score = None
        if validation:
            score = _top1_score(model, validation["X_val"], validation["y_val"])
        progress.epoch_done(epoch, loss, score)
        score = -loss if score is None else score
        # fit's rule: stop after --patience epochs without a gain of tol.
        best = max(scores, default=-np.inf)
        no_improvement = 0 if score > best + tol else no_improvement + 1
        scores.append(score)
        if validation and score > best and epoch < epochs:
            # The best epoch's model, kept as a copy (its memory again).
            kept = copy.deepcopy(model)
        elif validation and score > best:
            kept = model  # the last epoch: no more training to keep it from
        if no_improvement > args.patience:
            say(args, f"no improvement over {args.patience} epochs: stop")
            break
    return (kept if validation else model), scores


def _top1_score(model, X_val, y_val):
    """Accuracy, or for label sets P@1: the share of samples whose best class
    is (one of) theirs, as ``fit``'s early stopping scores."""
    top = model.predict_topk(X_val, k=1)[0][:, 0]
    if sp.issparse(y_val):  # XMC: the classes are the label columns
        return float(np.asarray(y_val[np.arange(len(top)), top] != 0).mean())
    if isinstance(y_val, list):
        return float(np.mean([t in labels for t, labels in zip(top, y_val)]))
    return float(np.mean(top == np.asarray(y_val)))


class _Progress:
    """One line per epoch (loss, speed, time left, validation score), and on a
    terminal a progress bar of the epoch's samples."""

    def __init__(self, args, n_samples, n_epochs):
        self.quiet = args.quiet
        self.show_bar = not args.quiet and _cli_fit._on_terminal()
        self.n_samples, self.n_epochs = n_samples, n_epochs
        self.start = self.epoch_start = time.perf_counter()
        self.done = 0
        self.bar = None

    def advance(self, rows):
        if not self.show_bar:
            return
        if self.bar is None:
            self.bar = _cli_fit.epoch_bar(
                self.n_samples, 1 + self.done, self.n_epochs, "sample"
            )
        self.bar.update(rows)

    def epoch_done(self, epoch, loss, score):
        now = time.perf_counter()
        self.done = epoch
        if self.quiet:
            return
        elapsed = now - self.start
        eta = elapsed / epoch * (self.n_epochs - epoch)
        rate = self.n_samples / (now - self.epoch_start)
        line = epoch_line(epoch, self.n_epochs, loss, rate, elapsed)
        line += f"  ETA {clock(eta)}"
        if score is not None:
            line += f"  validation {score:.4f}"
        print(line, flush=True)
        self.epoch_start = now

    def close(self):
        if self.bar is not None:
            self.bar.refresh()  # the last count, whatever tqdm's refresh rate
            self.bar.close()
            self.bar = None
