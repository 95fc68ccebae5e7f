# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The command line's ``fit``: read a data file, train, show progress, save."""

import os
import sys
import time
import warnings

from sparseclf._cli_apply import save_model
from sparseclf._cli_data import CLIError, data_options, match_columns, read_data

# Most epochs of an XMC fit when --epochs is not given: SparseMLPClassifier's
# max_iter=200 is meant for small data sets.
XMC_EPOCHS = 10
# fit streams files above the lesser of STREAM_BYTES and 1/16 of the memory
# available: loading a file takes several times its size (a fastText file of
# 1 GB peaked at 11 GB: texts as Python strings, their features, a shuffled
# copy each epoch; an XMC file at 1.7 times its size; benchmarks/README.md).
STREAM_BYTES = 2**30
_MEMORY_SHARE = 16
STREAM_RULE = "the lesser of 1 GiB and 1/16 of the memory available"
# Compressed files count as this many times their size (text compresses 3-5x).
_COMPRESSION = 4


def run_fit(args):
    folder = os.path.dirname(os.path.abspath(args.model))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        # Fail before a long fit, not after it.
        raise CLIError(
            f"cannot write the model to {args.model}: no such folder, or not writable"
        )
    if _streams(args):
        from sparseclf._cli_stream import fit_stream

        model = fit_stream(args)
    else:
        model = _fit(args)
    t0 = time.perf_counter()
    save_model(model, args.model)
    size = os.path.getsize(args.model) / 2**20
    print(
        f"saved {type(model).__name__} to {args.model} ({size:,.0f} MiB) in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return 0


def _fit(args):
    """The model trained on the whole file, read into memory."""
    t0 = time.perf_counter()
    data = read_data(args.data, args.format, **data_options(args))
    n = data.X.shape[0] if data.kind == "xmc" else len(data.X)
    say(args, f"read {n:,} samples in {time.perf_counter() - t0:.1f} s")
    if data.kind == "xmc":
        columns, multilabel = (data.X.shape[1], data.y.shape[1]), True
    else:
        columns, multilabel = None, isinstance(data.y, list)
    validation = validation_data(args, data.kind, columns, multilabel)
    if data.kind == "text":
        model = text_model(args)
    else:
        check_text_options(args, "XMC features")
        model = xmc_model(args)
    _train(args, model, data, validation)
    return model


def _streams(args):
    """Whether to stream the training file (--stream, or by its size); says why."""
    if args.stream is False or (args.data == "-" and args.stream is None):
        return False
    if args.data == "-":
        raise CLIError(
            "--stream reads the training file again each epoch: give a file, not "
            "standard input"
        )
    if args.stream:
        return True
    size = os.path.getsize(args.data)  # FileNotFoundError: "no such file"
    compressed = args.data.lower().endswith((".gz", ".bz2", ".xz"))
    estimate = size * _COMPRESSION if compressed else size
    limit, available = stream_threshold()
    if estimate <= limit:
        return False
    size_text = _gib(estimate)
    if compressed:
        size_text += f" (an estimate: {_COMPRESSION} x {_gib(size)} compressed)"
    rule = "1 GiB"
    if available is not None:
        rule = (
            f"the lesser of 1 GiB and 1/{_MEMORY_SHARE} of the {_gib(available)} "
            "available"
        )
    say(
        args,
        f"streaming {args.data}: {size_text} is above {_gib(limit)} ({rule}); "
        "--no-stream loads it whole",
    )
    return True


def stream_threshold():
    """Bytes of data above which fit streams, and the memory available (or None)."""
    available = _available_memory()
    if available is None:
        return STREAM_BYTES, None
    return min(STREAM_BYTES, available // _MEMORY_SHARE), available


def _available_memory():
    """Bytes of memory available to new processes, or None where unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _gib(n_bytes):
    return f"{n_bytes / 2**30:,.1f} GiB"


def validation_data(args, kind, n_columns, multilabel):
    """``{"X_val": ..., "y_val": ...}`` of ``--validation FILE``, else {}.

    ``kind`` and ``multilabel`` describe the training data; ``n_columns`` is
    ``(n_features, n_labels)`` of XMC training data.
    """
    if args.validation is None:
        return {}
    val = read_data(args.validation, args.format, **data_options(args))
    if val.kind != kind:
        kinds = {"text": "texts", "xmc": "XMC features"}
        raise CLIError(
            f"{args.validation} holds {kinds[val.kind]}, the training data "
            f"{kinds[kind]}"
        )
    if kind == "xmc":
        n_features, n_labels = n_columns
        val.X = match_columns(val.X, n_features, "features", args.validation)
        val.y = match_columns(val.y, n_labels, "labels", args.validation)
    elif multilabel and not isinstance(val.y, list):
        val.y = [[label] for label in val.y]  # multi-label model, one label each
    return {"X_val": val.X, "y_val": val.y}


def check_text_options(args, kind):
    given = [
        f"--{name.replace('_', '-')}"
        for name in ("ngrams", "min_n", "max_n")
        if getattr(args, name) is not None
    ]
    if args.analyzer != "word":
        given.insert(0, "--analyzer")
    if given:
        raise CLIError(f"{', '.join(given)}: text options, but the data are {kind}")


def _common_params(args):
    params = {
        "batch_size": args.batch_size,
        "output_sparsity": args.output_sparsity,
        "hash_family": args.hash_family,
        "n_jobs": args.n_jobs,
        "random_state": args.random_state,
        "callback": None if args.quiet else _Progress(bar=_on_terminal()),
        "n_iter_no_change": args.patience,
    }
    if args.validation is not None or args.validation_fraction is not None:
        params["early_stopping"] = True
    if args.validation_fraction is not None:
        params["validation_fraction"] = args.validation_fraction
    # Unset options keep the estimator's default.
    if args.lr is not None:
        params["learning_rate_init"] = args.lr
    if args.hidden is not None:
        params["hidden_layer_sizes"] = args.hidden
    if args.dropout is not None:
        params["dropout"] = args.dropout
    return params


def text_model(args):
    from sparseclf import TextClassifier

    if args.analyzer == "word":
        if args.min_n is not None or args.max_n is not None:
            raise CLIError("--min-n and --max-n are for --analyzer char or char_wb")
        ngram_range = (1, 2 if args.ngrams is None else args.ngrams)
    else:
        if args.ngrams is not None:
            raise CLIError("--ngrams is for --analyzer word (see --min-n, --max-n)")
        low = 3 if args.min_n is None else args.min_n
        high = max(low, 5) if args.max_n is None else args.max_n
        if high < low:
            raise CLIError(f"--max-n {high} is below --min-n {low}")
        ngram_range = (low, high)
    return TextClassifier(
        n_features=args.n_features,
        analyzer=args.analyzer,
        ngram_range=ngram_range,
        max_iter="auto" if args.epochs is None else args.epochs,
        **_common_params(args),
    )


def xmc_model(args):
    from sparseclf import SparseMLPClassifier

    epochs = XMC_EPOCHS if args.epochs is None else args.epochs
    return SparseMLPClassifier(max_iter=epochs, **_common_params(args))


def _train(args, model, data, validation):
    """``model.fit``; its callback shows the progress."""
    from sklearn.exceptions import ConvergenceWarning

    X, y = data.X, data.y
    n = X.shape[0] if hasattr(X, "shape") else len(X)
    n_classes = y.shape[1] if hasattr(y, "shape") and y.ndim == 2 else None
    if n_classes is None:
        labels = (lab for labels in y for lab in labels) if isinstance(y, list) else y
        n_classes = len(set(labels))
    say(args, f"training on {n:,} samples, {n_classes:,} classes")
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # The epochs asked for are the intended stop.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y, **validation)
    finally:
        callback = model.get_params()["callback"]
        if callback is not None:
            callback.close()
    # The saved model must not show progress when trained on later.
    network = getattr(model, "classifier_", model)
    model.set_params(callback=None)
    network.set_params(callback=None)
    print(
        f"trained in {time.perf_counter() - start:.1f} s, {model.n_iter_} epochs "
        f"({network.active_size_:,} of {n_classes:,} output neurons active per "
        "sample)"
    )
    if network.early_stopping:
        scores, best = network.validation_scores_, network.best_validation_score_
        print(
            f"best validation score (accuracy, or P@1) {best:.4f} at epoch "
            f"{1 + scores.index(best)} of {len(scores)}: that epoch's model is kept"
        )


def epoch_bar(total, epoch, n_epochs, unit):
    r"""A tqdm bar on stderr for one epoch of ``total`` ``unit``\ s."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=f"epoch {epoch}/{n_epochs}",
        unit=unit,
        leave=False,
        file=sys.stderr,
    )


def _on_terminal():
    """Whether a progress bar can be shown (standard error is a terminal)."""
    return sys.stderr.isatty()


class _Progress:
    """A training callback: one line per epoch (loss, speed, time left), and on
    a terminal a progress bar of the epoch's batches."""

    def __init__(self, bar=False):
        self.start = self.epoch_start = None
        self.done = 0
        self.show_bar = bar
        self.bar = None

    def __call__(self, info):
        now = time.perf_counter()
        if self.start is None:
            self.start = self.epoch_start = now
        if self.show_bar:
            self._advance(info)
        if info.batch < info.n_batches:
            return
        self.close()
        self.done += 1
        eta = (now - self.start) / self.done * (info.n_epochs - self.done)
        rate = info.n_samples / (now - self.epoch_start)
        print(
            epoch_line(info.epoch, info.n_epochs, info.loss, rate, now - self.start),
            f"ETA {clock(eta)}",
            sep="  ",
            flush=True,
        )
        self.epoch_start = now

    def _advance(self, info):
        if self.bar is None:
            self.bar = epoch_bar(info.n_batches, info.epoch, info.n_epochs, "batch")
        self.bar.set_postfix_str(f"loss {info.loss:.4f}", refresh=False)
        self.bar.update(1)
        if info.batch == info.n_batches:
            self.bar.refresh()  # the full bar, whatever tqdm's refresh rate

    def close(self):
        """Take the bar off the screen (end of an epoch, or of the fit)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def epoch_line(epoch, n_epochs, loss, rate, elapsed):
    """The start of the line printed after each epoch."""
    return (
        f"epoch {epoch:>3}/{n_epochs}  loss {loss:.4f}  {rate:>9,.0f} samples/s  "
        f"elapsed {clock(elapsed)}"
    )


def clock(seconds):
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}:{seconds:02d}"


def say(args, line):
    if not args.quiet:
        print(line, flush=True)
