import numpy as np
import pytest

from relext_bench.data.vocab import Vocab, load_word2vec
from relext_bench.errors import UserError


def test_vocab_min_freq_pad_unk_and_order():
    v = Vocab.build([["a", "b", "a"], ["c", "a", "b"]], min_freq=2)
    assert v.itos == ["<pad>", "<unk>", "a", "b"]
    assert v.encode(["b", "c", "a"]).tolist() == [3, 1, 2]


def test_vocab_max_size():
    v = Vocab.build([["a", "a", "b", "c", "c", "c"]], max_size=3)
    assert v.itos == ["<pad>", "<unk>", "c"]


def write(tmp_path, text):
    p = tmp_path / "vec.txt"
    p.write_text(text, encoding="utf-8")
    return p


def test_load_word2vec_with_header(tmp_path):
    v = Vocab.build([["a", "b", "z"]])
    m, found = load_word2vec(write(tmp_path, "3 2\na 1 2\nb 3 4\nq 5 6\n"), v, seed=1)
    assert m.shape == (5, 2) and found == 2
    assert m[v.stoi["a"]].tolist() == [1, 2] and m[v.stoi["b"]].tolist() == [3, 4]
    assert (m[0] == 0).all()
    assert np.abs(m[v.stoi["z"]]).max() <= 0.1  # not in the file: random


def test_load_word2vec_without_header(tmp_path):
    v = Vocab.build([["a"]])
    m, found = load_word2vec(write(tmp_path, "a 0.5 0.25 1e-3\n"), v)
    assert found == 1 and m.shape == (3, 3)


@pytest.mark.parametrize("text, message", [
    ("2 3\na 1 2 3\nb 1 2\n", "vec.txt:3: expected 3 values, found 2"),
    ("a 1 2\nb 1 x\n", "vec.txt:2: 'x' is not a number"),
    ("3 2\na 1 2\nb 1 2\n", "header declares 3 vectors, file holds 2"),
    ("a 1 2\n\nb 1 2\n", "vec.txt:2: empty line"),
    ("", "no embeddings"),
])
def test_load_word2vec_malformed(tmp_path, text, message):
    v = Vocab.build([["a", "b"]])
    with pytest.raises(UserError, match=message.replace(".", r"\.")):
        load_word2vec(write(tmp_path, text), v)


def test_load_word2vec_missing_file(tmp_path):
    with pytest.raises(UserError, match="cannot read"):
        load_word2vec(tmp_path / "nope.txt", Vocab.build([]))


@pytest.mark.parametrize("text, message", [
    ("a 1 nan\n", "vec.txt:1: 'nan' is not a finite number"),
    ("a 1 2\nb inf 2\n", "vec.txt:2: 'inf' is not a finite number"),
    ("a 1 2\nb -Infinity 2\n", "vec.txt:2: '-Infinity' is not a finite number"),
])
def test_word2vec_refuses_non_finite_values(tmp_path, text, message):
    with pytest.raises(UserError, match=message):
        load_word2vec(write(tmp_path, text), Vocab.build([["a", "b"]]))


def test_word2vec_non_utf8_line_and_gzip(tmp_path):
    v = Vocab.build([["a", "b"]])
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"a 1 2\n\xff\xfe 3 4\n")
    with pytest.raises(UserError, match=r"bad.txt:2: not UTF-8"):
        load_word2vec(bad, v)
    import gzip

    packed = tmp_path / "vec.txt.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as fh:
        fh.write("2 2\na 1 2\nb 3 4\n")
    m, found = load_word2vec(packed, v)
    assert found == 2 and m[v.stoi["b"]].tolist() == [3.0, 4.0]
