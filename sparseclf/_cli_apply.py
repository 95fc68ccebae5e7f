# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""The command line's use of saved models: evaluate, predict and export."""

import os
import sys
import time
import zipfile

import numpy as np

from sparseclf._cli_data import STDIN, CLIError, data_options, match_columns, read_data

# predict --top-k computes probabilities over all classes in row blocks of at
# most this many entries (32 MiB of float64), whatever the number of classes.
_PROBA_BLOCK = 2**22
# Extensions of the model files written with joblib (pickle); any other is a
# skops file (``sparseclf.save``).
PICKLE_EXTENSIONS = (".joblib", ".pkl", ".pickle")


def save_model(model, path, optimizer_state=True, dtype="float32"):
    """Write ``model`` to ``path``: a skops file, or joblib's pickle by extension."""
    import sparseclf

    if path.lower().endswith(PICKLE_EXTENSIONS):
        if not optimizer_state or dtype != "float32":
            raise CLIError(
                f"{path}: compact and float16 models are written as skops files; "
                "give the output another extension, e.g. .skops"
            )
        import joblib

        joblib.dump(model, path)
    else:
        sparseclf.save(model, path, optimizer_state=optimizer_state, dtype=dtype)


def load_model(path):
    """A fitted model of ours from a skops file, or from joblib's pickle."""
    from sklearn.utils.validation import check_is_fitted

    import sparseclf

    if not os.path.isfile(path):
        raise CLIError(f"no such model file: {path}")
    if zipfile.is_zipfile(path):
        model = sparseclf.load(path)  # ValueError: one error line
    else:
        import joblib

        try:
            model = joblib.load(path)
        except Exception as exc:  # unpickling fails in many ways
            raise CLIError(
                f"{path} is not a model file written by `sparseclf fit` (neither "
                f"a skops file nor a joblib pickle: {type(exc).__name__})"
            ) from None
    if not isinstance(model, (sparseclf.TextClassifier, sparseclf.SparseMLPClassifier)):
        raise CLIError(
            f"{path} holds a {type(model).__name__}, not a sparseclf TextClassifier "
            "or SparseMLPClassifier"
        )
    check_is_fitted(model)
    return model


def _model_data(args, labels):
    """The saved model and the data file, checked against each other."""
    from sparseclf import TextClassifier

    model = load_model(args.model)
    data = read_data(args.data, args.format, labels=labels, **data_options(args))
    text_model = isinstance(model, TextClassifier)
    if text_model != (data.kind == "text"):
        source = STDIN if args.data == "-" else args.data
        raise CLIError(
            f"{args.model} is a {type(model).__name__}, which takes "
            f"{'texts' if text_model else 'XMC features'}; {source} holds "
            f"{'texts' if data.kind == 'text' else 'XMC features'}"
        )
    if data.kind == "xmc":
        data.X = match_columns(data.X, model.n_features_in_, "features", args.data)
        data.y = match_columns(data.y, len(model.classes_), None, args.data)
    return model, data


# -------------------------------------------------------------------- evaluate


def run_evaluate(args):
    model, data = _model_data(args, labels=True)
    n = data.X.shape[0] if data.kind == "xmc" else len(data.X)
    n_classes = len(model.classes_)
    multilabel = model.target_type_ == "multilabel-indicator"
    k = min(5 if multilabel else 1, n_classes) if args.k is None else args.k
    if k > n_classes:
        raise CLIError(f"-k {k}: the model has {n_classes} classes")
    t0 = time.perf_counter()
    if multilabel:
        lines = _ranking_report(model, data, k)
    else:
        if not isinstance(data.y, np.ndarray):
            source = STDIN if args.data == "-" else args.data
            raise CLIError(
                f"{args.model} is a multi-class model, but samples of {source} "
                "have several labels"
            )
        y = data.y.astype(model.classes_.dtype)
        lines = _class_report(model, data.X, y, k, not args.no_per_class)
    seconds = time.perf_counter() - t0
    note = _unseen_note(model, data, n)
    if note is not None:
        lines.insert(0, note)
    print(f"{n:,} samples  ({seconds:.1f} s, {n / seconds:,.0f} samples/s)")
    print("\n".join(lines))
    return 0


def _cutoffs(k):
    """The cut-offs a report shows: 1, 3, 5 up to ``k``, and ``k``."""
    return sorted({c for c in (1, 3, 5) if c < k} | {k})


def _ranking_report(model, data, k):
    """P@k, R@k and nDCG@k lines of a multi-label model."""
    from sparseclf.metrics import ndcg_at_k, precision_at_k, recall_at_k

    y = data.y
    if isinstance(y, np.ndarray) and y.ndim == 1:
        y = [[label] for label in y]
    top, _ = model.predict_topk(data.X, k=k)
    if data.kind == "xmc":
        top = top.astype(np.int64)
    else:
        # A file's labels are strings; a model fitted in Python may have others.
        top = top.astype(str)
    return [
        f"P@{c} {precision_at_k(y, top, k=c):.4f}  R@{c} {recall_at_k(y, top, k=c):.4f}"
        f"  nDCG@{c} {ndcg_at_k(y, top, k=c):.4f}"
        for c in _cutoffs(k)
    ]


def _unseen_note(model, data, n):
    """A line on the samples whose labels the model was not trained on, or None.

    Such labels can never be predicted: they count as misses (accuracy,
    recall, nDCG), and the report keeps them rather than dropping samples.
    """
    n_classes = len(model.classes_)
    if data.kind == "xmc":
        extra = data.y[:, n_classes:].tocsr()
        extra.eliminate_zeros()
        n_samples = int(np.count_nonzero(np.diff(extra.indptr)))
        labels = [str(c) for c in n_classes + np.unique(extra.indices)]
    else:
        known = {str(c) for c in model.classes_.tolist()}
        y = data.y if isinstance(data.y, list) else [[t] for t in data.y.tolist()]
        unseen = [{str(t) for t in labels} - known for labels in y]
        n_samples = sum(1 for labels in unseen if labels)
        labels = sorted(set().union(*unseen))
    if not n_samples:
        return None
    shown = ", ".join(repr(lab) for lab in labels[:5])
    shown += ", ..." if len(labels) > 5 else ""
    return (
        f"note: labels the model was not trained on ({len(labels):,}: {shown}), "
        f"in {n_samples:,} of {n:,} samples, count as misses"
    )


def _class_report(model, X, y, k, per_class):
    """Accuracy, top-k accuracy and the per-class table of a multi-class model."""
    from sklearn.metrics import classification_report

    top, _ = model.predict_topk(X, k=k)
    pred = top[:, 0]
    lines = [f"accuracy {np.mean(pred == y):.4f}"]
    for c in _cutoffs(k)[1:]:
        hits = (top[:, :c] == y[:, None]).any(axis=1)
        lines.append(f"top-{c} accuracy {np.mean(hits):.4f}")
    if per_class:
        report = classification_report(y, pred, digits=4, zero_division=0)
        lines += ["", report.rstrip()]
    return lines


# --------------------------------------------------------------------- predict


def run_predict(args):
    model, data = _model_data(args, labels=False)
    n_classes = len(model.classes_)
    if args.top_k is not None and args.top_k > n_classes:
        raise CLIError(f"--top-k {args.top_k}: the model has {n_classes} classes")
    if args.top_k is None and args.threshold is None:
        lines = _label_lines(model, data.X)
    else:
        k = n_classes if args.top_k is None else args.top_k
        lines = _topk_lines(model, data.X, k, args.threshold)
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


def _topk_lines(model, X, k, threshold=None):
    """Each sample's ``k`` best labels (those of probability >= ``threshold``,
    if given) and their probabilities, tab-separated, a line each."""
    lines = []
    step = max(1, _PROBA_BLOCK // len(model.classes_))
    n = X.shape[0] if hasattr(X, "shape") else len(X)
    for start in range(0, n, step):
        P = model.predict_proba(X[start : start + step])
        top = np.argsort(-P, axis=1, kind="stable")[:, :k]
        p = np.take_along_axis(P, top, axis=1)
        for labels, probs in zip(model.classes_[top], p):
            if threshold is not None:
                keep = probs >= threshold
                labels, probs = labels[keep], probs[keep]
            fields = [f"{label}\t{q:.4g}" for label, q in zip(labels, probs)]
            lines.append("\t".join(fields) + "\n")
    return lines


# ---------------------------------------------------------------------- export


def run_export(args):
    if os.path.abspath(args.model) == os.path.abspath(args.output):
        raise CLIError("the output file must differ from the model file")
    model = load_model(args.model)
    t0 = time.perf_counter()
    dtype = "float16" if args.float16 else "float32"
    save_model(model, args.output, optimizer_state=not args.compact, dtype=dtype)
    before, after = (os.path.getsize(p) / 2**20 for p in (args.model, args.output))
    kind = "inference-only " if args.compact else ""
    print(
        f"wrote the {kind}{type(model).__name__} to {args.output}: {after:,.1f} MiB "
        f"(from {before:,.1f} MiB) in {time.perf_counter() - t0:.1f} s"
    )
    return 0
