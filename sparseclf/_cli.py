# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The command line, ``sparseclf`` (or ``python -m sparseclf``): demo, fit,
evaluate, predict and export."""

import argparse
import sys

from sparseclf._cli_apply import run_evaluate, run_export, run_predict
from sparseclf._cli_data import CLIError, add_data_options
from sparseclf._cli_fit import STREAM_RULE, XMC_EPOCHS, run_fit


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


def _probability(text):
    try:
        p = float(text)
    except ValueError:
        p = -1.0
    if not 0 <= p <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return p


def _sparsity(text):
    return text if text == "auto" else float(text)


def _fraction(text):
    try:
        p = float(text)
    except ValueError:
        p = -1.0
    if not 0 < p < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return p


class _UsageError(Exception):
    """A command line argparse rejects."""


class _Parser(argparse.ArgumentParser):
    """argparse, with bad flags reported as main's other errors: one line, 1."""

    def error(self, message):
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


def _build_parser():
    from sparseclf import __version__

    parser = _Parser(
        prog="sparseclf",
        description="Train, evaluate and apply sparseclf text and extreme "
        "multi-label classifiers. Without a command: the demo.",
    )
    parser.add_argument(
        "--version", action="version", version=f"sparseclf {__version__}"
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
        "epoch (and a progress bar on a terminal), then saves the model: a skops "
        "file (sparseclf.save), or a joblib pickle for a .joblib or .pkl name.",
    )
    fit.add_argument("data", help="training data file")
    fit.add_argument(
        "-o", "--model", required=True, help="where to save the model (.skops)"
    )
    fit.add_argument(
        "--epochs",
        "--max-iter",
        type=_positive_int,
        help="most epochs; fewer when the loss stops improving (default: texts "
        f"'auto', about 65,536 documents seen; XMC {XMC_EPOCHS})",
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
    fit.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    stopping = fit.add_argument_group(
        "early stopping",
        "Score each epoch on validation data, stop when it has not improved for "
        "--patience epochs, and keep the best epoch's model.",
    )
    held_out = stopping.add_mutually_exclusive_group()
    held_out.add_argument(
        "--validation", metavar="FILE", help="labelled validation data file"
    )
    held_out.add_argument(
        "--validation-fraction",
        type=_fraction,
        metavar="F",
        help="hold out this fraction of the training data for validation",
    )
    stopping.add_argument(
        "--patience",
        type=_positive_int,
        default=10,
        help="epochs without improvement before stopping (default: %(default)s)",
    )
    streaming = fit.add_argument_group(
        "files larger than memory",
        "Stream the training file: read it in chunks, shuffle them in a buffer and "
        "train with partial_fit, reading the file again each epoch; memory holds "
        "the buffer, never the file. Chosen by --stream, or when the file is "
        f"larger than {STREAM_RULE}.",
    )
    streaming.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="stream the training file (--no-stream: load it whole) (default: "
        "by its size)",
    )
    streaming.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=10_000,
        metavar="N",
        help="streaming: samples read at a time and trained on per partial_fit "
        "call (default: %(default)s)",
    )
    streaming.add_argument(
        "--buffer-size",
        type=_positive_int,
        default=100_000,
        metavar="N",
        help="streaming: samples shuffled together (default: %(default)s)",
    )
    text = fit.add_argument_group("text features")
    text.add_argument(
        "--analyzer",
        choices=("word", "char", "char_wb"),
        default="word",
        help="word n-grams, or character n-grams (char_wb: inside word "
        "boundaries, as fastText's subwords) (default: %(default)s)",
    )
    text.add_argument(
        "--ngrams",
        type=_positive_int,
        help="word n-grams up to this length (default: 2, words and bigrams)",
    )
    text.add_argument(
        "--min-n",
        type=_positive_int,
        help="character n-grams: shortest length (default: 3)",
    )
    text.add_argument(
        "--max-n", type=_positive_int, help="character n-grams: longest (default: 5)"
    )
    add_data_options(fit)
    fit.set_defaults(func=run_fit)

    evaluate = commands.add_parser(
        "evaluate",
        help="score a saved model on a labelled data file",
        description="Multi-label models: precision, recall and nDCG at 1, 3, 5 up "
        "to K. Multi-class models: accuracy, top-k accuracy up to K, and each "
        "class's precision, recall and F1. Labels the model was not trained on "
        "count as misses; a note says how many samples have them.",
    )
    evaluate.add_argument("model", help="model file written by fit")
    evaluate.add_argument(
        "data",
        nargs="?",
        default="-",
        help="labelled data file; '-' or none: standard input",
    )
    evaluate.add_argument(
        "-k",
        type=_positive_int,
        default=None,
        metavar="K",
        help="largest cut-off (default: 5 for multi-label models, else 1)",
    )
    evaluate.add_argument(
        "--no-per-class", action="store_true", help="multi-class: no per-class table"
    )
    add_data_options(evaluate)
    evaluate.set_defaults(func=run_evaluate)

    predict = commands.add_parser(
        "predict",
        help="predict the labels of a data file or of texts on standard input",
        description="Write one line per sample: its predicted label, or for a "
        "multi-label model its predicted labels, tab-separated (its k best, k the "
        "mean number of labels per training sample, rounded); with --top-k or "
        "--threshold its best labels instead, best first, each followed by its "
        "probability, tab-separated. Probabilities are a softmax over all the "
        "model's labels: they sum to 1, so a sample with two labels splits it.",
    )
    predict.add_argument("model", help="model file written by fit")
    predict.add_argument(
        "data",
        nargs="?",
        default="-",
        help="data file (labels in it are ignored); '-' or none: one text per "
        "line on standard input (a file format with --format)",
    )
    predict.add_argument(
        "-k",
        "--top-k",
        type=_positive_int,
        metavar="K",
        help="the K best labels and their probabilities (default with "
        "--threshold: all labels)",
    )
    predict.add_argument(
        "--threshold",
        type=_probability,
        metavar="P",
        help="only the labels of probability >= P (at most K with --top-k; none "
        "gives an empty line), as fastText's predict threshold",
    )
    predict.add_argument("--output", help="output file (default: standard output)")
    add_data_options(predict)
    predict.set_defaults(func=run_predict)

    export = commands.add_parser(
        "export",
        help="rewrite a saved model, e.g. as a smaller inference-only file",
        description="Write a saved model again as a skops file (sparseclf.save). "
        "--compact drops what only training needs (Adam's moments, the sampler's "
        "counts): about a third of the size, the same predictions, no further "
        "training.",
    )
    export.add_argument("model", help="model file written by fit")
    export.add_argument("output", help="the new model file (.skops)")
    export.add_argument(
        "--compact", action="store_true", help="inference only: no optimizer state"
    )
    export.add_argument(
        "--float16",
        action="store_true",
        help="with --compact: store the weights as float16 (half the size again; "
        "scores change slightly)",
    )
    export.set_defaults(func=run_export)
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
    try:
        args = _build_parser().parse_args(argv)
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
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
