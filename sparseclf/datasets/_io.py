# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Open a path (plain or compressed) or a file object as a text stream."""

import contextlib
import io
import os


def _open_compressed(path, mode, encoding):
    """Open ``path`` in text mode, decompressing by its suffix."""
    suffix = os.fspath(path).lower().rsplit(".", 1)[-1]
    # newline="\n": lines end at "\n" only (a stray "\r" inside a text stays in
    # it) and nothing is translated; readers strip a trailing "\r" themselves.
    kwargs = {"encoding": encoding, "newline": "\n"}
    if suffix == "gz":
        import gzip

        return gzip.open(path, mode + "t", **kwargs)
    if suffix == "bz2":
        import bz2

        return bz2.open(path, mode + "t", **kwargs)
    if suffix == "xz":
        import lzma

        return lzma.open(path, mode + "t", **kwargs)
    return open(path, mode, **kwargs)


@contextlib.contextmanager
def _open_text(file, mode="r", encoding="utf-8"):
    """Yield a text stream for a path or a file object.

    Parameters
    ----------
    file : str, path-like or file object
        A path (``.gz``, ``.bz2`` and ``.xz`` paths are decompressed or compressed
        on the fly) or an open file object, text or binary. A file object is
        left open.
    mode : {"r", "w"}, default="r"
        Read or write.
    encoding : str, default="utf-8"
        Encoding of paths and binary file objects.

    Yields
    ------
    stream : text file object
    """
    if isinstance(file, (str, os.PathLike)):
        with _open_compressed(file, mode, encoding) as stream:
            yield stream
    elif isinstance(file, io.TextIOBase) or (
        not isinstance(file, (io.RawIOBase, io.BufferedIOBase))
        and "b" not in getattr(file, "mode", "")
    ):
        yield file
    else:
        stream = io.TextIOWrapper(file, encoding=encoding, newline="\n")
        try:
            yield stream
        finally:
            # Flush our buffer, then detach so that the caller's file stays open.
            stream.flush()
            stream.detach()
