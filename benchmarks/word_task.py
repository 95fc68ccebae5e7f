# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""A real large-output task from real text: predict a held-out word of a sentence.

Built from the text corpora under ``../shared/data`` (``DEFAULT_DATA_DIR``),
deterministically from ``seed``. Every choice:

* **Corpora and split.** The corpora's own train / test splits, so test
  sentences come from documents never trained on: 20 Newsgroups
  (``20news-bydate-train`` / ``-test``, read with ``load_files(...,
  encoding="latin-1")``), SST-2 (``train.tsv``: the treebank's phrases of the
  training sentences / ``dev.tsv`` and ``test.tsv``), TREC (``train_5500`` /
  ``TREC_10``), the four TweetEval sets (``train`` and ``val`` / ``test``) and
  the SMS Spam Collection (no split: a seeded 80 / 20 split of the messages).
* **20 Newsgroups cleaning.** The header (up to the first blank line) is
  dropped, and so are quoted lines (starting with ``>`` or ``|``, or ending in
  ``writes:`` / ``wrote:``, which would repeat other messages' text, possibly
  from the other split) and lines of 30+ characters without a space (uuencoded
  or base64 attachments).
* **Sentences.** A document is cut into paragraphs at blank lines, a
  paragraph's lines are joined with spaces, and a paragraph is cut after
  ``.``, ``!`` or ``?`` followed by white space. Kept: sentences of 3 to 64
  tokens. Duplicates (the same token sequence) are dropped within each split,
  and test sentences that also occur in training are dropped, so every test
  sentence is unseen (SST-2's training phrases overlap each other: they are
  nested parts of the same ~6,900 sentences; only exact repeats are dropped).
* **Tokens.** Lower-cased text, ``\\w+(?:'\\w+)*|'\\w+`` (words with inner
  apostrophes, and SST-2's ``'s``, ``n't``); punctuation is dropped.
* **Vocabulary (the labels).** The ``n_words`` most frequent tokens of the
  *training* sentences that contain a letter (ties by the token), label id =
  rank (0 = most frequent).
* **Targets.** One sample per sentence (``samples_per_sentence=1``; more draw
  distinct positions of the same sentence): a position drawn uniformly among
  the sentence's in-vocabulary tokens. Targets therefore follow the words'
  token frequencies (skewed: "the" is about 5% of them). Sentences without an
  in-vocabulary token give no sample.
* **Inputs.** The sentence with the target replaced by the marker ``<w>``
  (so bigrams say what stands left and right of the gap), hashed by
  ``HashingVectorizer(n_features=2**18, ngram_range=(1, 2),
  alternate_sign=False, norm="l2", dtype=float32)``: unigrams and bigrams.
  The held-out word is not among the features unless it occurs elsewhere in
  the sentence.
* **Sizes.** ``n_train`` / ``n_test`` (None: all) keep a seeded random subset
  of the samples.

``python benchmarks/word_task.py`` prints the corpus statistics (sentences,
tokens, how many distinct words occur at least 1, 2, 5, 10, 20 times).
"""

import os
import re
from collections import Counter

import numpy as np
import scipy.sparse as sp

DEFAULT_DATA_DIR = "/work/shared/data"
MARKER = "<w>"
N_FEATURES = 2**18
MIN_TOKENS, MAX_TOKENS = 3, 64
TWEETEVAL = ("offensive", "hate", "emotion", "irony")

_TOKEN = re.compile(r"\w+(?:'\w+)*|'\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_PARAGRAPH = re.compile(r"\n\s*\n")


def _lines(path, skip_header=False):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    return lines[1:] if skip_header else lines


def _newsgroups_body(text):
    """A 20 Newsgroups message without header, quoted lines and attachments."""
    _, _, body = text.partition("\n\n")
    keep = []
    for line in body.splitlines():
        s = line.strip()
        if s.startswith((">", "|")) or s.endswith(("writes:", "wrote:")):
            continue
        if len(s) >= 30 and " " not in s:
            continue
        keep.append(line)
    return "\n".join(keep)


def read_documents(data_dir=DEFAULT_DATA_DIR, seed=0):
    """``{"train": [...], "test": [...]}``: each split's documents, as strings."""
    from sklearn.datasets import load_files

    docs = {"train": [], "test": []}
    ng = os.path.join(data_dir, "20newsgroups_bydate")
    for split in ("train", "test"):
        bunch = load_files(
            os.path.join(ng, f"20news-bydate-{split}"),
            encoding="latin-1",
            shuffle=False,
        )
        docs[split] += [_newsgroups_body(t) for t in bunch.data]
    sst = os.path.join(data_dir, "sst2")
    docs["train"] += [ln.split("\t", 1)[1] for ln in _lines(f"{sst}/train.tsv", True)]
    for name in ("dev", "test"):
        docs["test"] += [
            ln.split("\t", 1)[1] for ln in _lines(f"{sst}/{name}.tsv", True)
        ]
    trec = os.path.join(data_dir, "trec")
    for name, split in (("train_5500.label", "train"), ("TREC_10.label", "test")):
        with open(os.path.join(trec, name), encoding="latin-1") as f:
            docs[split] += [ln.split(" ", 1)[1] for ln in f.read().splitlines() if ln]
    for task in TWEETEVAL:
        folder = os.path.join(data_dir, f"tweeteval_{task}")
        for name, split in (("train", "train"), ("val", "train"), ("test", "test")):
            docs[split] += _lines(os.path.join(folder, f"{name}_text.txt"))
    sms = [
        ln.split("\t", 1)[1]
        for ln in _lines(os.path.join(data_dir, "sms_spam", "SMSSpamCollection"), True)
    ]
    is_test = np.random.RandomState(seed).random_sample(len(sms)) < 0.2
    for text, test in zip(sms, is_test):
        docs["test" if test else "train"].append(text)
    return docs


def sentences(text):
    """The token lists of a document's sentences (3 to 64 tokens)."""
    out = []
    for paragraph in _PARAGRAPH.split(text):
        joined = " ".join(paragraph.split())
        for sentence in _SENTENCE_END.split(joined):
            tokens = _TOKEN.findall(sentence.lower())
            if MIN_TOKENS <= len(tokens) <= MAX_TOKENS:
                out.append(tuple(tokens))
    return out


def read_sentences(data_dir=DEFAULT_DATA_DIR, seed=0):
    """Each split's distinct sentences (token tuples); no test one in train."""
    docs = read_documents(data_dir, seed)
    train = list(dict.fromkeys(s for d in docs["train"] for s in sentences(d)))
    seen = set(train)
    test = list(
        dict.fromkeys(s for d in docs["test"] for s in sentences(d) if s not in seen)
    )
    return train, test


def word_counts(sents):
    """Occurrences of each token that contains a letter."""
    counts = Counter(t for s in sents for t in s)
    return Counter({t: c for t, c in counts.items() if any(ch.isalpha() for ch in t)})


def vocabulary(counts, n_words):
    """The ``n_words`` most frequent tokens (ties by the token)."""
    ranked = sorted(counts.items(), key=lambda tc: (-tc[1], tc[0]))
    return [t for t, _ in ranked[:n_words]]


def _samples(sents, word_id, rng, samples_per_sentence):
    """(masked sentence strings, target ids) for the sentences."""
    texts, targets = [], []
    for s in sents:
        where = [i for i, t in enumerate(s) if t in word_id]
        if not where:
            continue
        k = min(samples_per_sentence, len(where))
        picks = (
            [where[rng.randint(len(where))]]
            if k == 1
            else rng.choice(where, k, replace=False)
        )
        for i in picks:
            texts.append(" ".join((*s[:i], MARKER, *s[i + 1 :])))
            targets.append(word_id[s[i]])
    return texts, np.asarray(targets, dtype=np.int64)


def _subset(texts, y, n, rng):
    if n is None or n >= len(texts):
        return texts, y
    keep = np.sort(rng.choice(len(texts), n, replace=False))
    return [texts[i] for i in keep], y[keep]


def vectorizer():
    """The features: hashed unigrams and bigrams of whitespace tokens."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        n_features=N_FEATURES,
        ngram_range=(1, 2),
        tokenizer=str.split,
        token_pattern=None,
        lowercase=False,
        alternate_sign=False,
        norm="l2",
        dtype=np.float32,
    )


def make_word_task(
    n_words=10_000,
    *,
    n_train=None,
    n_test=None,
    samples_per_sentence=1,
    seed=0,
    data_dir=DEFAULT_DATA_DIR,
    sents=None,
):
    """The held-out word task (see the module docstring).

    Returns ``X_train, y_train, X_test, y_test, words, info``: CSR float32
    features, int64 word ids (``words[id]`` is the word), and a dict of sizes.
    ``sents`` (``read_sentences``' output) saves re-reading the corpora.
    """
    train, test = read_sentences(data_dir, seed) if sents is None else sents
    counts = word_counts(train)
    words = vocabulary(counts, n_words)
    word_id = {w: i for i, w in enumerate(words)}
    rng = np.random.RandomState(seed)
    hv = vectorizer()
    out = []
    for sents_split, n in ((train, n_train), (test, n_test)):
        texts, y = _samples(sents_split, word_id, rng, samples_per_sentence)
        n_all = len(texts)
        texts, y = _subset(texts, y, n, rng)
        X = sp.csr_matrix(hv.transform(texts), dtype=np.float32)
        out.append((X, y, n_all))
    (X_tr, y_tr, all_tr), (X_te, y_te, all_te) = out
    info = dict(
        train_sentences=len(train),
        test_sentences=len(test),
        train_samples_all=all_tr,
        test_samples_all=all_te,
        n_words=len(words),
        min_count=counts[words[-1]],
        labels_in_train=int(np.unique(y_tr).size),
    )
    return X_tr, y_tr, X_te, y_te, np.asarray(words), info


def corpus_stats(data_dir=DEFAULT_DATA_DIR, seed=0):
    """Sentences, tokens and distinct words by least number of occurrences."""
    train, test = read_sentences(data_dir, seed)
    counts = word_counts(train)
    c = np.fromiter(counts.values(), dtype=np.int64)
    return dict(
        train_sentences=len(train),
        test_sentences=len(test),
        train_tokens=sum(len(s) for s in train),
        test_tokens=sum(len(s) for s in test),
        words_with_at_least={k: int((c >= k).sum()) for k in (1, 2, 5, 10, 20)},
        top_words=vocabulary(counts, 10),
        top_share=float(np.sort(c)[::-1][:1].sum() / c.sum()),
    )


if __name__ == "__main__":
    for key, value in corpus_stats().items():
        print(f"{key}: {value}")
