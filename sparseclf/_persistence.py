# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Model files: ``save`` and ``load`` on skops, which runs no code on load.

A pickle can run any code when it is loaded; a skops file holds data only, and
its loader builds an object only from types it is told to trust. ``load``
trusts what skops trusts by default (NumPy, SciPy, scikit-learn's estimators)
and this package's own classes, named below: a fixed list, never whatever types
a file says it needs.
"""

import zipfile
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

# The only types of ours a model file may hold. A class or function that
# fitted models keep must be added here (tests/test_persistence.py fails if a
# fitted model holds one that is missing).
TRUSTED_TYPES = (
    "sparseclf._hashing._signed_sublinear",
    "sparseclf._lsh.DWTAHash",
    "sparseclf._lsh.LSHTables",
    "sparseclf._lsh.SimHash",
    "sparseclf._mlp.SparseMLPClassifier",
    "sparseclf._network.Network",
    "sparseclf._sampler.DenseOutputs",
    "sparseclf._sampler.OutputSampler",
    "sparseclf._sampler.SamplerSettings",
    "sparseclf._targets.Targets",
    "sparseclf._text.TextClassifier",
    "sparseclf._training.Model",
    "sparseclf._training.Trainer",
)

_DTYPES = ("float32", "float16")

# How the objects being written should store themselves: None outside ``save``,
# else {"optimizer_state": bool, "dtype": str}. Read by the ``__getstate__``
# of Network and OutputSampler, so that a model nested anywhere (a Pipeline, a
# GridSearchCV, a TextClassifier's classifier) is written the same way.
_WRITING = ContextVar("sparseclf_writing", default=None)


def writing_options():
    """The options of the ``save`` in progress, or None.

    Returns
    -------
    options : dict or None
        ``{"optimizer_state": bool, "dtype": str}`` while ``save`` writes a
        file, else None (pickle, joblib, copies: everything is kept).
    """
    return _WRITING.get()


@contextmanager
def _writing(options):
    token = _WRITING.set(options)
    try:
        yield
    finally:
        _WRITING.reset(token)


def save(model, file, *, optimizer_state=True, dtype="float32", compress=False):
    """Write ``model`` to a skops file that :func:`load` reads back safely.

    ``model`` is a fitted :class:`SparseMLPClassifier` or
    :class:`TextClassifier`, or any scikit-learn object holding them (a
    Pipeline, a fitted GridSearchCV).

    Parameters
    ----------
    model : object
        What to save.
    file : str, path-like or binary file object
        Where to write (``.skops`` is the usual extension).
    optimizer_state : bool, default=True
        Keep what training needs to go on: Adam's moments (two arrays the size
        of the weights), the first-layer rows' last steps, and the output
        sampler's label counts and hubs.
        False writes an inference-only model, about a third of the size, that
        predicts exactly as ``model`` does; ``fit`` (without ``warm_start``)
        trains it afresh, and ``partial_fit`` or a warm-started ``fit`` raise
        a ValueError.
    dtype : {"float32", "float16"}, default="float32"
        Storage type of the weight matrices. "float16" halves the file again;
        loaded weights are float32 again, rounded to float16's 11 significant
        bits, so predicted scores change slightly. Only with
        ``optimizer_state=False``: rounded weights are for inference.
    compress : bool, default=False
        Deflate the file. Trained float32 weights hardly compress (by about
        10%), and writing and loading take several times longer.

    See Also
    --------
    load : Read a file written by ``save``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import sparseclf
    >>> X = np.eye(4, dtype=np.float32)
    >>> clf = sparseclf.SparseMLPClassifier(max_iter=2, random_state=0)
    >>> clf = clf.fit(X, [0, 1, 2, 3])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skops")
    >>> sparseclf.save(clf, path, optimizer_state=False)
    >>> loaded = sparseclf.load(path)
    >>> bool((loaded.predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {_DTYPES}, got {dtype!r}.")
    if dtype != "float32" and optimizer_state:
        raise ValueError(
            f"dtype={dtype!r} rounds the weights, which suits an inference-only "
            "model: pass optimizer_state=False with it."
        )
    import skops.io as sio  # here: importing skops takes ~1 s (it lists sklearn)

    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with _writing({"optimizer_state": bool(optimizer_state), "dtype": dtype}):
        sio.dump(model, file, compression=compression)


def load(file):
    """Read a model written by :func:`save`, without running code from the file.

    Parameters
    ----------
    file : str, path-like or binary file object
        A file written by :func:`save`.

    Returns
    -------
    model : object
        The saved object.

    Raises
    ------
    ValueError
        If ``file`` is not a skops file, or holds a type outside what skops
        trusts by default and this package's own classes (the message names
        them). A file from a source you trust that holds other types can be
        read with ``skops.io.load(file, trusted=[...])``, naming them.

    See Also
    --------
    save : Write a model file.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> import sparseclf
    >>> clf = sparseclf.SparseMLPClassifier(max_iter=1, random_state=0)
    >>> clf = clf.fit(np.eye(3, dtype=np.float32), ["a", "b", "c"])
    >>> buffer = io.BytesIO()
    >>> sparseclf.save(clf, buffer)
    >>> sparseclf.load(io.BytesIO(buffer.getvalue())).classes_.tolist()
    ['a', 'b', 'c']
    """
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    name = getattr(file, "name", file)
    try:
        return sio.load(file, trusted=list(TRUSTED_TYPES))
    except UntrustedTypesFoundException as exc:
        types = _untrusted(file) or str(exc)
        raise ValueError(
            f"{name} holds types sparseclf does not load: {types}. Load files "
            "from sources you trust with skops.io.load(file, trusted=[...])."
        ) from None
    except zipfile.BadZipFile:
        raise ValueError(
            f"{name} is not a model file written by sparseclf.save (not a skops "
            "zip archive). Files written by pickle or joblib load with "
            "joblib.load, which runs code from the file: only for trusted files."
        ) from None
    except KeyError as exc:
        raise ValueError(
            f"{name} is not a complete skops model file (missing {exc})."
        ) from None


def _untrusted(file):
    """The types in ``file`` neither skops nor this package trusts, or None."""
    import skops.io as sio

    try:
        if hasattr(file, "seek"):
            file.seek(0)
            found = sio.get_untrusted_types(data=file.read())
        else:
            found = sio.get_untrusted_types(file=file)
    except Exception:  # the message falls back on skops' own
        return None
    return ", ".join(t for t in found if t not in TRUSTED_TYPES)


def stored_weights(w, options):
    """A weight matrix as ``save`` with ``options`` writes it."""
    if options is not None and options["dtype"] == "float16":
        return w.astype(np.float16)
    return w
