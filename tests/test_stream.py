# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Out-of-core reading: chunked readers and the shuffle buffer of ``fit --stream``."""

import bz2
import gzip
import io
import lzma

import numpy as np
import pytest
import scipy.sparse as sp

from sparseclf._cli_data import CLIError, iter_data, read_data
from sparseclf._stream import shuffled_batches
from sparseclf.datasets import (
    dump_xmc,
    iter_fasttext,
    iter_xmc,
    load_fasttext,
    load_xmc,
    make_extreme_classification,
)

COMPRESSORS = {
    "": lambda b: b,
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
}


def _write(path, text):
    """Write ``text`` to ``path``, compressed by its suffix."""
    suffix = path.suffix if path.suffix in COMPRESSORS else ""
    path.write_bytes(COMPRESSORS[suffix](text.encode("utf-8")))
    return path


def _assert_same_csr(A, B):
    assert A.shape == B.shape and A.dtype == B.dtype
    np.testing.assert_array_equal(A.indptr, B.indptr)
    np.testing.assert_array_equal(A.indices, B.indices)
    np.testing.assert_array_equal(A.data, B.data)


# Chunked readers --------------------------------------------------------------


@pytest.fixture(scope="module")
def xmc_text():
    X, Y = make_extreme_classification(53, 40, 12, nnz_per_sample=5, random_state=0)
    f = io.StringIO()
    dump_xmc(X, Y, f)
    return f.getvalue()


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
@pytest.mark.parametrize("chunk_size", [1, 10, 53, 1000])
def test_iter_xmc_chunks_stack_to_load_xmc(tmp_path, xmc_text, suffix, chunk_size):
    path = _write(tmp_path / f"d.txt{suffix}", xmc_text)
    X, Y = load_xmc(path)
    chunks = list(iter_xmc(path, chunk_size=chunk_size))
    assert len(chunks) == -(-53 // chunk_size)
    assert all(Xc.shape[0] == Yc.shape[0] <= chunk_size for Xc, Yc in chunks)
    # Every chunk has the header's width, even where its rows use fewer columns.
    assert {Xc.shape[1] for Xc, _ in chunks} == {40}
    assert {Yc.shape[1] for _, Yc in chunks} == {12}
    _assert_same_csr(sp.vstack([c[0] for c in chunks], format="csr"), X)
    _assert_same_csr(sp.vstack([c[1] for c in chunks], format="csr"), Y)
    # A second iteration reads the file again.
    assert sum(c[0].shape[0] for c in iter_xmc(path, chunk_size=chunk_size)) == 53


def test_iter_xmc_empty_and_file_objects():
    (X, Y), *rest = list(iter_xmc(io.StringIO("0 7 3\n")))
    assert rest == [] and X.shape == (0, 7) and Y.shape == (0, 3)
    f = io.BytesIO(b"2 3 2\n0 1:1\n1 2:2\n")
    assert [c[0].shape for c in iter_xmc(f, chunk_size=1)] == [(1, 3), (1, 3)]
    assert not f.closed


@pytest.mark.parametrize(
    "text, message",
    [
        # The problem is on line 7: after two chunks of 3 were yielded.
        ("8 4 2\n" + "0 1:1\n" * 5 + "1 9:1\n" + "1 0:1\n" * 2, "feature id 9 out"),
        ("8 4 2\n" + "0 1:1\n" * 5 + "x 1:1\n" + "1 0:1\n" * 2, "bad label list"),
        ("5 4 2\n" + "0 1:1\n" * 6 + "1 0:1\n", "more sample lines than"),
        ("9 4 2\n" + "0 1:1\n" * 5, "the file ends after 5 sample lines"),
    ],
)
def test_iter_xmc_errors_carry_the_file_line(text, message):
    chunks = iter_xmc(io.StringIO(text), chunk_size=3)
    assert next(chunks)[0].shape[0] == 3  # the chunks before the problem
    with pytest.raises(ValueError, match=f"^line 7: {message}"):
        list(chunks)
    with pytest.raises(ValueError, match=f"^line 7: {message}"):
        load_xmc(io.StringIO(text))  # the same message whole


@pytest.mark.parametrize("reader", [iter_xmc, iter_fasttext])
@pytest.mark.parametrize("chunk_size", [0, -1, 2.5, "10"])
def test_bad_chunk_size_raises_at_the_call(reader, chunk_size):
    # Before the file is opened: the path does not exist.
    with pytest.raises((ValueError, TypeError), match="chunk_size"):
        reader("no/such/file.txt", chunk_size=chunk_size)


FASTTEXT = (
    "__label__a __label__b  first text\n\n"
    "__label__c second\r\n"
    "   \n"
    "__label__a third __label__d\n"
    "__label__b fourth\n"
    "__label__c fifth one\n"
)


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
@pytest.mark.parametrize("chunk_size", [1, 2, 5, 100])
def test_iter_fasttext_chunks_concatenate_to_load_fasttext(
    tmp_path, suffix, chunk_size
):
    path = _write(tmp_path / f"d.ft{suffix}", FASTTEXT)
    texts, labels = load_fasttext(path)
    assert len(texts) == 5
    chunks = list(iter_fasttext(path, chunk_size=chunk_size))
    assert len(chunks) == -(-5 // chunk_size)
    assert all(len(t) == len(la) <= chunk_size for t, la in chunks)
    assert sum((t for t, _ in chunks), []) == texts
    assert sum((la for _, la in chunks), []) == labels


def test_iter_fasttext_options_and_errors():
    text = "#x one\nno label\n#y two\n"
    chunks = iter_fasttext(io.StringIO(text), chunk_size=1, label_prefix="#")
    assert next(chunks) == (["one"], [["x"]])
    with pytest.raises(ValueError, match="^line 2: no label"):
        next(chunks)
    chunks = iter_fasttext(io.StringIO(text), label_prefix="#", allow_unlabeled=True)
    assert list(chunks) == [(["one", "no label", "two"], [["x"], [], ["y"]])]
    # Line numbers count blank lines, across chunks.
    text = "__label__a x\n\n__label__b y\n\n__label__a z\n__label__ w\n"
    chunks = iter_fasttext(io.StringIO(text), chunk_size=2)
    with pytest.raises(ValueError, match="^line 6: empty label"):
        list(chunks)
    with pytest.raises(ValueError, match="label_prefix must be a non-empty str"):
        iter_fasttext(io.StringIO(text), label_prefix="")


CSV = 'id,label,text\n1,a,"one, two"\n2,b,three\n\n3,a,four\n4,c,"five"\n5,b,six\n'


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("chunk_size", [1, 2, 100])
def test_csv_chunks_concatenate_to_read_data(tmp_path, suffix, chunk_size):
    path = str(_write(tmp_path / f"d.csv{suffix}", CSV))
    whole = read_data(path)
    chunks = list(iter_data(path, "csv", chunk_size))
    assert all(c.kind == "text" and len(c.X) <= chunk_size for c in chunks)
    assert (
        sum((c.X for c in chunks), [])
        == whole.X
        == [
            "one, two",
            "three",
            "four",
            "five",
            "six",
        ]
    )
    y = np.concatenate([c.y for c in chunks])
    np.testing.assert_array_equal(y, whole.y)
    # The same column logic: a named text column, no labels (predict).
    tsv = _write(
        tmp_path / f"d.tsv{suffix}",
        "id\tlabel\ttext\n" + "".join(f"{i}\ta\tx\n" for i in range(5)),
    )
    chunks = iter_data(str(tsv), "tsv", 2, labels=False, text_column="id")
    assert [c.X for c in chunks] == [["0", "1"], ["2", "3"], ["4"]]


def test_csv_chunk_errors_carry_the_file_line(tmp_path):
    path = _write(tmp_path / "bad.csv", "label,text\na,x\nb,y\nc,z\nd,w,extra\n")
    chunks = iter_data(str(path), "csv", 2)
    assert next(chunks).X == ["x", "y"]
    with pytest.raises(CLIError, match=r"bad.csv: line 5: 3 fields .* \(read as csv\)"):
        list(chunks)
    path = _write(tmp_path / "no_text.csv", "label,words,id\na,x,1\n")
    with pytest.raises(CLIError, match="no text column 'text'"):
        list(iter_data(str(path), "csv", 2))


def test_iter_data_fasttext_keeps_label_lists(tmp_path):
    path = _write(tmp_path / "d.ft", FASTTEXT)
    chunks = list(iter_data(str(path), "fasttext", 3))
    assert [c.y for c in chunks] == [[["a", "b"], ["c"], ["a", "d"]], [["b"], ["c"]]]
    _write(tmp_path / "latin1.ft", "")
    (tmp_path / "latin1.ft").write_bytes("__label__a caf\xe9\n".encode("latin-1"))
    with pytest.raises(CLIError, match="not UTF-8"):
        list(iter_data(str(tmp_path / "latin1.ft"), "fasttext", 3))


# Shuffle buffer ---------------------------------------------------------------


def _id_chunks(n, chunk, n_labels=10, log=None):
    """Chunks of rows 0..n-1 sorted by label (``i * n_labels // n``), as a CSR
    matrix, a label array and a list; ``log`` records the rows handed out."""
    for start in range(0, n, chunk):
        ids = np.arange(start, min(start + chunk, n))
        if log is not None:
            log.append(len(ids))
        X = sp.csr_matrix(ids[:, None].astype(np.float32) + 1)
        yield X, ids * n_labels // n, ids.tolist()


def _ids(batch):
    X, labels, ids = batch
    # The parts stay aligned row by row.
    assert np.asarray(X.toarray()).ravel().tolist() == [i + 1 for i in ids]
    assert labels.tolist() == [i * 10 // 1000 for i in ids]
    return ids


def test_shuffle_buffer_is_a_permutation_in_bounded_batches():
    batches = list(shuffled_batches(_id_chunks(1000, 70), 64, 300, random_state=0))
    ids = [i for batch in batches for i in _ids(batch)]
    assert sorted(ids) == list(range(1000))  # nothing lost, nothing twice
    assert ids != list(range(1000))
    sizes = [len(batch[2]) for batch in batches]
    assert max(sizes) == 64 and all(s == 64 for s in sizes[:-1])


def test_shuffle_buffer_is_deterministic_for_a_seed():
    def order(seed):
        batches = shuffled_batches(_id_chunks(500, 50), 32, 200, random_state=seed)
        return [i for batch in batches for i in batch[2]]

    assert order(3) == order(3)
    assert order(3) != order(4)
    rng = np.random.RandomState(7)
    assert order(rng) != order(rng)  # a RandomState moves on


def test_shuffle_buffer_mixes_a_stream_sorted_by_label():
    # 10 labels of 100 rows each, in order; a buffer of 300 rows.
    batches = list(shuffled_batches(_id_chunks(1000, 50), 50, 300, random_state=0))
    first = batches[0][1]
    assert len(set(first.tolist())) >= 3
    assert np.bincount(first).max() <= 30  # no label takes the batch
    # Labels keep coming back: a label's rows are spread over many batches.
    batches_with_label_0 = [b for b in batches if 0 in b[1]]
    assert len(batches_with_label_0) >= 4


@pytest.mark.parametrize("batch_size, buffer_size", [(64, 300), (100, 50), (7, 7)])
def test_shuffle_buffer_never_holds_the_stream(batch_size, buffer_size):
    log = []
    chunks = _id_chunks(2000, 40, log=log)
    out = 0
    for batch in shuffled_batches(chunks, batch_size, buffer_size, random_state=0):
        out += len(batch[2])
        # Rows read but not yet given out: at most a buffer and a chunk.
        held = sum(log) - out
        assert held <= max(buffer_size, batch_size) + 40
    assert out == sum(log) == 2000


def test_shuffle_buffer_skips_empty_chunks_and_handles_lists():
    chunks = [([], np.array([], dtype=int)), (["a", "b"], np.array([1, 2]))]
    chunks += [(["c"], np.array([3]))]
    batches = list(shuffled_batches(iter(chunks), 2, 10, random_state=0))
    assert sorted(x for b in batches for x in b[0]) == ["a", "b", "c"]
    pairs = {x: int(y) for b in batches for x, y in zip(*b)}
    assert pairs == {"a": 1, "b": 2, "c": 3}
    assert list(shuffled_batches(iter([]), 2, 10)) == []
