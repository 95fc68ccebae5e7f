# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The command line, ``python -m sparseclf``: demo, fit, evaluate and predict."""

import argparse
import os
import sys
import time
import warnings

import numpy as np

from sparseclf._cli_data import (
    CLIError,
    add_data_options,
    data_options,
    match_columns,
    read_data,
)

# predict --top-k computes probabilities over all classes in row blocks of at
# most this many entries (32 MiB of float64), whatever the number of classes.
_PROBA_BLOCK = 2**22
# Most epochs of an XMC fit when --epochs is not given: SparseMLPClassifier's
# max_iter=200 is meant for small data sets.
_XMC_EPOCHS = 10


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _hidden_sizes(text):
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected positive layer sizes separated by commas, got {text!r}"
        )
    return sizes


def _dropout(text):
    try:
        p = float(text)
    except ValueError:
        p = -1.0
    if not 0 <= p < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return p


def _sparsity(text):
    return text if text == "auto" else float(text)


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m sparseclf",
        description="Train, evaluate and apply sparseclf text and extreme "
        "multi-label classifiers. Without a command: the demo.",
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="on an error, show the full traceback instead of one line",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="train on the shipped SMS spam data and on synthetic data with "
        "100,000 labels; print accuracy, speed and latency (under a minute)",
    )
    demo.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)
    demo.set_defaults(func=_run_demo)

    fit = commands.add_parser(
        "fit",
        help="train a model on a data file and save it",
        description="Train on a data file: texts (fastText, CSV, TSV) give a "
        "TextClassifier, XMC features a SparseMLPClassifier. Prints one line per "
        "epoch, then saves the model with joblib.",
    )
    fit.add_argument("data", help="training data file")
    fit.add_argument("-o", "--model", required=True, help="where to save the model")
    fit.add_argument(
        "--epochs",
        "--max-iter",
        type=_positive_int,
        help="most epochs; fewer when the loss stops improving (default: texts "
        f"'auto', about 65,536 documents seen; XMC {_XMC_EPOCHS})",
    )
    fit.add_argument(
        "--hidden",
        type=_hidden_sizes,
        help="hidden layer sizes, e.g. 128 or 256,128 (default: texts 64, XMC 128)",
    )
    fit.add_argument(
        "--dropout",
        type=_dropout,
        help="fraction of hidden units dropped in training (default: texts 0.6, XMC 0)",
    )
    fit.add_argument("--batch-size", type=_positive_int, default=256)
    fit.add_argument(
        "--lr",
        type=float,
        help="Adam's learning rate (default: texts 'auto', 3e-3 raised for small "
        "corpora; XMC 1e-3)",
    )
    fit.add_argument(
        "--output-sparsity",
        type=_sparsity,
        default="auto",
        help="fraction of output neurons trained per sample, or 'auto' (dense up "
        "to 1,000 classes)",
    )
    fit.add_argument("--hash-family", choices=("dwta", "simhash"), default="dwta")
    fit.add_argument(
        "--n-features",
        type=_positive_int,
        default=2**18,
        help="texts: size of the hash space of the n-grams (default: 2**18)",
    )
    fit.add_argument(
        "--n-jobs", type=int, help="threads (default: all CPUs, or OMP_NUM_THREADS)"
    )
    fit.add_argument("--random-state", type=int, help="seed, for repeatable fits")
    fit.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    add_data_options(fit)
    fit.set_defaults(func=_run_fit)

    evaluate = commands.add_parser(
        "evaluate",
        help="score a saved model on a labelled data file",
        description="Print accuracy (multi-class) or precision@1, 3, 5 "
        "(multi-label) of a saved model on a labelled data file.",
    )
    evaluate.add_argument("model", help="model file written by fit")
    evaluate.add_argument("data", help="labelled data file")
    add_data_options(evaluate)
    evaluate.set_defaults(func=_run_evaluate)

    predict = commands.add_parser(
        "predict",
        help="predict the labels of a data file or of texts on standard input",
        description="Write one line per sample: its predicted label (tab-separated "
        "labels for a multi-label model), or with --top-k its K best labels, "
        "each followed by its probability, tab-separated.",
    )
    predict.add_argument("model", help="model file written by fit")
    predict.add_argument(
        "data",
        nargs="?",
        default="-",
        help="data file (labels in it are ignored); '-' or none: one text per "
        "line on standard input",
    )
    predict.add_argument("-k", "--top-k", type=_positive_int, metavar="K")
    predict.add_argument("--output", help="output file (default: standard output)")
    add_data_options(predict)
    predict.set_defaults(func=_run_predict)
    return parser


def main(argv=None):
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``).

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments, without the program name.

    Returns
    -------
    status : int
        0 on success; 1 on an error, reported as one ``error: ...`` line on
        standard error.
    """
    args = _build_parser().parse_args(argv)
    if args.command is None:
        args.func, args.quick = _run_demo, False
    try:
        return args.func(args)
    except Exception as exc:
        if args.traceback:
            raise
        message = _error_message(exc)
    except KeyboardInterrupt:
        message = "interrupted"
    print(f"error: {message}", file=sys.stderr)
    return 1


def _error_message(exc):
    """One line that says what went wrong, for the errors a user can cause."""
    if isinstance(exc, FileNotFoundError):
        message = f"no such file: {exc.filename}"
    elif isinstance(exc, OSError) and exc.filename:
        message = f"{exc.filename}: {exc.strerror}"
    elif isinstance(exc, (CLIError, OSError, ValueError, MemoryError)):
        # ValueError: also sklearn's parameter and data checks.
        message = str(exc) or type(exc).__name__
    else:
        message = f"{type(exc).__name__}: {exc} (rerun with --traceback for details)"
    return " ".join(message.split())


def _run_demo(args):
    from sparseclf._demo import run_demo

    return run_demo(quick=args.quick)


# ------------------------------------------------------------------------- fit


def _run_fit(args):
    import joblib

    folder = os.path.dirname(os.path.abspath(args.model))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        # Fail before a long fit, not after it.
        raise CLIError(
            f"cannot write the model to {args.model}: no such folder, or not writable"
        )
    t0 = time.perf_counter()
    data = read_data(args.data, args.format, **data_options(args))
    n = data.X.shape[0] if data.kind == "xmc" else len(data.X)
    _say(args, f"read {n:,} samples in {time.perf_counter() - t0:.1f} s")
    if data.kind == "text":
        model = _fit_text(args, data)
    else:
        model = _fit_xmc(args, data)
    t0 = time.perf_counter()
    joblib.dump(model, args.model)
    size = os.path.getsize(args.model) / 2**20
    print(
        f"saved {type(model).__name__} to {args.model} ({size:,.0f} MiB) in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return 0


def _common_params(args):
    params = {
        "batch_size": args.batch_size,
        "output_sparsity": args.output_sparsity,
        "hash_family": args.hash_family,
        "n_jobs": args.n_jobs,
        "random_state": args.random_state,
        "callback": None if args.quiet else _Progress(),
    }
    # Unset options keep the estimator's default.
    if args.lr is not None:
        params["learning_rate_init"] = args.lr
    if args.hidden is not None:
        params["hidden_layer_sizes"] = args.hidden
    if args.dropout is not None:
        params["dropout"] = args.dropout
    return params


def _fit_text(args, data):
    from sparseclf import TextClassifier

    model = TextClassifier(
        n_features=args.n_features,
        max_iter="auto" if args.epochs is None else args.epochs,
        **_common_params(args),
    )
    return _train(args, model, data.X, data.y)


def _fit_xmc(args, data):
    from sparseclf import SparseMLPClassifier

    epochs = _XMC_EPOCHS if args.epochs is None else args.epochs
    model = SparseMLPClassifier(max_iter=epochs, **_common_params(args))
    return _train(args, model, data.X, data.y)


def _train(args, model, X, y):
    """``model.fit(X, y)``; its callback prints a line per epoch."""
    from sklearn.exceptions import ConvergenceWarning

    n = X.shape[0] if hasattr(X, "shape") else len(X)
    n_classes = y.shape[1] if hasattr(y, "shape") and y.ndim == 2 else None
    if n_classes is None:
        labels = (lab for labels in y for lab in labels) if isinstance(y, list) else y
        n_classes = len(set(labels))
    _say(args, f"training on {n:,} samples, {n_classes:,} classes")
    start = time.perf_counter()
    with warnings.catch_warnings():
        # The epochs asked for are the intended stop.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    # The saved model must not print progress when trained on later.
    network = getattr(model, "classifier_", model)
    model.set_params(callback=None)
    network.set_params(callback=None)
    print(
        f"trained in {time.perf_counter() - start:.1f} s, {model.n_iter_} epochs "
        f"({network.active_size_:,} of {n_classes:,} output neurons active per "
        "sample)"
    )
    return model


class _Progress:
    """A training callback printing one line per epoch: loss, speed, time left."""

    def __init__(self):
        self.start = self.epoch_start = None
        self.done = 0

    def __call__(self, info):
        now = time.perf_counter()
        if self.start is None:
            self.start = self.epoch_start = now
        if info.batch < info.n_batches:
            return
        self.done += 1
        eta = (now - self.start) / self.done * (info.n_epochs - self.done)
        print(
            f"epoch {info.epoch:>3}/{info.n_epochs}  loss {info.loss:.4f}  "
            f"{info.n_samples / (now - self.epoch_start):>9,.0f} samples/s  "
            f"elapsed {_clock(now - self.start)}  ETA {_clock(eta)}",
            flush=True,
        )
        self.epoch_start = now


def _clock(seconds):
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}:{seconds:02d}"


def _say(args, line):
    if not args.quiet:
        print(line, flush=True)


# --------------------------------------------------------- evaluate, predict


def _load_model(path):
    import joblib
    from sklearn.utils.validation import check_is_fitted

    from sparseclf import SparseMLPClassifier, TextClassifier

    if not os.path.isfile(path):
        raise CLIError(f"no such model file: {path}")
    try:
        model = joblib.load(path)
    except Exception as exc:  # unpickling fails in many ways
        raise CLIError(
            f"{path} is not a model file written by `python -m sparseclf fit` "
            f"(joblib could not read it: {type(exc).__name__})"
        ) from None
    if not isinstance(model, (TextClassifier, SparseMLPClassifier)):
        raise CLIError(
            f"{path} holds a {type(model).__name__}, not a sparseclf TextClassifier "
            "or SparseMLPClassifier"
        )
    check_is_fitted(model)
    return model


def _model_data(args, labels):
    """The saved model and the data file, checked against each other."""
    from sparseclf import TextClassifier

    model = _load_model(args.model)
    data = read_data(args.data, args.format, labels=labels, **data_options(args))
    text_model = isinstance(model, TextClassifier)
    if text_model != (data.kind == "text"):
        source = "standard input" if args.data == "-" else args.data
        raise CLIError(
            f"{args.model} is a {type(model).__name__}, which takes "
            f"{'texts' if text_model else 'XMC features'}; {source} holds "
            f"{'texts' if data.kind == 'text' else 'XMC features'}"
        )
    if data.kind == "xmc":
        data.X = match_columns(data.X, model.n_features_in_, "features", args.data)
        data.y = match_columns(data.y, len(model.classes_), None, args.data)
    return model, data


def _run_evaluate(args):
    from sparseclf.metrics import precision_at_k

    model, data = _model_data(args, labels=True)
    n = data.X.shape[0] if data.kind == "xmc" else len(data.X)
    t0 = time.perf_counter()
    if model.target_type_ != "multilabel-indicator":
        if not isinstance(data.y, np.ndarray):
            raise CLIError(
                f"{args.model} is a multi-class model, but samples of {args.data} "
                "have several labels"
            )
        accuracy = model.score(data.X, data.y.astype(model.classes_.dtype))
        scores = f"accuracy {accuracy:.4f}"
    else:
        y = data.y
        if isinstance(y, np.ndarray):
            y = [[label] for label in y]
        ks = [k for k in (1, 3, 5) if k <= len(model.classes_)]
        top, _ = model.predict_topk(data.X, k=ks[-1])
        if data.kind == "xmc":
            top = top.astype(np.int64)
        scores = "  ".join(f"P@{k} {precision_at_k(y, top, k=k):.4f}" for k in ks)
    seconds = time.perf_counter() - t0
    print(f"{n:,} samples  {scores}  ({seconds:.1f} s, {n / seconds:,.0f} samples/s)")
    return 0


def _run_predict(args):
    model, data = _model_data(args, labels=False)
    n_classes = len(model.classes_)
    if args.top_k is not None and args.top_k > n_classes:
        raise CLIError(f"--top-k {args.top_k}: the model has {n_classes} classes")
    if args.top_k is None:
        lines = _label_lines(model, data.X)
    else:
        lines = _topk_lines(model, data.X, args.top_k)
    if args.output is None:
        try:
            sys.stdout.writelines(lines)
            sys.stdout.flush()
        except BrokenPipeError:  # `... | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.writelines(lines)
    return 0


def _label_lines(model, X):
    pred = model.predict(X)
    if pred.ndim == 1:
        return [f"{label}\n" for label in pred]
    import scipy.sparse as sp

    pred = sp.csr_matrix(pred)
    classes = model.classes_
    return [
        "\t".join(str(c) for c in classes[pred.indices[a:b]]) + "\n"
        for a, b in zip(pred.indptr[:-1], pred.indptr[1:])
    ]


def _topk_lines(model, X, k):
    lines = []
    step = max(1, _PROBA_BLOCK // len(model.classes_))
    n = X.shape[0] if hasattr(X, "shape") else len(X)
    for start in range(0, n, step):
        P = model.predict_proba(X[start : start + step])
        top = np.argsort(-P, axis=1, kind="stable")[:, :k]
        p = np.take_along_axis(P, top, axis=1)
        for labels, probs in zip(model.classes_[top], p):
            fields = [f"{label}\t{q:.4g}" for label, q in zip(labels, probs)]
            lines.append("\t".join(fields) + "\n")
    return lines
