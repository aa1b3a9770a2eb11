"""Token vocabularies and pretrained embeddings in word2vec text format."""
from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from relext_bench.errors import UserError

PAD, UNK = "<pad>", "<unk>"


class Vocab:
    """id 0 is padding, id 1 unknown; the rest by descending frequency, then text."""

    def __init__(self, itos: Sequence[str], counted: int | None = None):
        if list(itos[:2]) != [PAD, UNK]:
            raise ValueError("a vocabulary starts with <pad>, <unk>")
        self.itos = list(itos)
        self.counted = len(self.itos) - 2 if counted is None else counted  # the words from the sentences
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("a vocabulary holds each token once")

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_freq: int = 1,
              max_size: int | None = None, extra: Iterable[str] = ()) -> Vocab:
        """The counted words, then the `extra` words not among them, in text order."""
        counts = Counter(t for s in sentences for t in s)
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max(0, max_size - 2)]
        return cls([PAD, UNK, *kept, *sorted(set(extra) - set(kept) - {PAD, UNK})], counted=len(kept))

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        get = self.stoi.get
        return np.fromiter((get(t, 1) for t in tokens), dtype=np.int64, count=len(tokens))


def word2vec_rows(path: str | Path, vocab: Vocab) -> tuple[dict[int, np.ndarray], int]:
    """The rows of `vocab`'s tokens in a word2vec text file (optional "count dim" header
    line, then "token v1 ... vd" per line; gzip-compressed when it ends in .gz): ({vocab
    index: vector}, dim). A line that is not UTF-8, malformed, or holds a value that is
    not a finite number is an error naming the file and line."""
    path = Path(path)
    rows: dict[int, np.ndarray] = {}
    dim: int | None = None
    declared: int | None = None
    lines = 0
    try:
        fh = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")
    except OSError as e:
        raise UserError(f"{path}: cannot read embeddings ({e.strerror})") from None
    with fh:
        try:
            for lineno, raw in enumerate(fh, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise UserError(f"{path}:{lineno}: not UTF-8 (byte {e.start})") from None
                parts = line.rstrip("\n").rstrip().split(" ")
                if lineno == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    declared, dim = int(parts[0]), int(parts[1])
                    continue
                if not line.strip():
                    raise UserError(f"{path}:{lineno}: empty line in embeddings file")
                token, values = parts[0], parts[1:]
                if dim is None:
                    dim = len(values)
                    if dim == 0:
                        raise UserError(f"{path}:{lineno}: no vector values after token {token!r}")
                if len(values) != dim:
                    raise UserError(f"{path}:{lineno}: expected {dim} values, found {len(values)}")
                lines += 1
                try:  # every line, in the vocabulary or not: a damaged file is refused whole
                    vector = np.asarray(values, dtype=np.float32)
                except ValueError:
                    bad = next(v for v in values if not _is_float(v))
                    raise UserError(f"{path}:{lineno}: {bad!r} is not a number") from None
                if not np.isfinite(vector).all():
                    bad = values[int(np.flatnonzero(~np.isfinite(vector))[0])]
                    raise UserError(f"{path}:{lineno}: {bad!r} is not a finite number")
                i = vocab.stoi.get(token)
                if i is not None and i >= 2:
                    rows[i] = vector
        except (OSError, EOFError) as e:  # a damaged gzip stream
            raise UserError(f"{path}: cannot read embeddings ({type(e).__name__}: {e})") from None
    if dim is None:
        raise UserError(f"{path}: no embeddings in file")
    if declared is not None and declared != lines:
        raise UserError(f"{path}: header declares {declared} vectors, file holds {lines}")
    return rows, dim


def load_word2vec(path: str | Path, vocab: Vocab, seed: int = 0,
                  scale: float = 0.1) -> tuple[np.ndarray, int]:
    """A full matrix for `vocab` from a word2vec text file (`word2vec_rows`): tokens the
    file lacks get uniform random rows (seeded); padding is zero. Returns (matrix
    [len(vocab), dim], rows found)."""
    rows, dim = word2vec_rows(path, vocab)
    rng = np.random.default_rng(seed)
    matrix = rng.uniform(-scale, scale, size=(len(vocab), dim)).astype(np.float32)
    matrix[0] = 0.0
    for i, v in rows.items():
        matrix[i] = v
    return matrix, len(rows)


def _is_float(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True
