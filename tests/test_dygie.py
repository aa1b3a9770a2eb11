"""DyGIE++ JSON: document-level token indices to sentences, splits from files."""
import json

import pytest

from relext_bench.cli import main
from relext_bench.data.dygie import load_dygie
from relext_bench.errors import UserError


def doc(key):
    return {"doc_key": key,
            "sentences": [["Ann", "works", "for", "Acme", "."], ["She", "lives", "in", "Rome", "."]],
            "ner": [[[0, 0, "PER"], [3, 3, "ORG"]], [[5, 5, "PER"], [8, 8, "GPE"]]],
            "relations": [[[0, 0, 3, 3, "ORG-AFF"]], [[8, 8, 5, 5, "PHYS"], [5, 5, 7, 7, "PHYS"]]],
            "clusters": []}


@pytest.fixture
def data(tmp_path):
    for split, keys in (("train", ["a", "b"]), ("dev", ["c"]), ("test", ["d", "a"])):
        lines = [json.dumps(doc(k)) for k in keys]
        if split == "train":
            lines.append("{not json")
        (tmp_path / f"{split}.json").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_sentences_spans_and_argument_order(data):
    c = load_dygie(data)
    assert c.splits == {"train": ("a", "b"), "dev": ("c",), "test": ("d",)}
    s1 = c.documents[0].sentences[1]
    assert s1.tokens == ("She", "lives", "in", "Rome", ".")
    she, rome = s1.entities
    assert (she.start, she.end, rome.start, rome.end) == (0, 1, 3, 4)  # document-level 5 and 8
    (rel,) = s1.relations
    assert (rel.type, rel.arg1, rel.arg2) == ("PHYS", rome.id, she.id)  # Arg-1 first


def test_damage_is_counted_with_file_and_line(data):
    c = load_dygie(data)
    assert c.skipped == {"skipped: duplicate doc_key": 1, "skipped: malformed JSON line": 1,
                         "skipped: relation argument is not an annotated entity": 4}
    assert any("train.json:3" in n for n in c.notes) and any("test.json:2" in n for n in c.notes)
    with pytest.raises(UserError, match="train.json:1 sentence 1 relation 1"):
        load_dygie(data, strict=True)


def test_single_file_is_train(data):
    c = load_dygie(data / "dev.json")
    assert c.splits == {"train": ("c",)}


def test_cli_format_and_path(data, capsys):
    assert main(["corpora", "stats", "--format", "dygie", "--path", str(data), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["splits"]["train"]["relation_mentions"] == 4 and stats["synthetic"] is False
    assert main(["corpora", "stats", "--format", "dygie", "--path", str(data / "nope")]) == 2


def test_experiments_run_on_the_users_data(data, tmp_path, capsys):
    """compare (and ablate, sweep, tune) take --format dygie --path as their corpus,
    never as the report's name."""
    out, reports = tmp_path / "out", tmp_path / "reports"
    argv = ["compare", "--format", "dygie", "--path", str(data), "--models", "cnn", "--seeds", "1",
            "--max-epochs", "1", "--out", str(out), "--reports", str(reports)]
    assert main(argv) == 0
    manifest = json.loads((out / "compare.json").read_text())
    assert manifest["corpus_spec"] == f"dygie:path={data}" and manifest["corpus"]["name"] == "dygie"
    assert manifest["corpus"]["synthetic"] is False
    assert [p.name for p in reports.glob("*.md")] == ["dygie-standard-compare.md"]


@pytest.mark.parametrize("argv, message", [
    (["compare", "--corpus", "synth_zh", "--format", "dygie", "--path", "x"], "either by name ('synth_zh') or as"),
    (["ablate", "--format", "dygie"], "--format dygie needs --path"),
    (["corpora", "stats"], "name a corpus"),
])
def test_corpus_given_twice_or_not_at_all(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["ablate", "sweep", "tune"])
def test_every_experiment_reads_the_path_as_its_corpus(data, command):
    from relext_bench.cli import apply_global_options, build_parser

    extra = ["--model", "cnn"] if command == "tune" else []
    args = build_parser().parse_args([command, "--format", "dygie", "--path", str(data), "--name", "mine",
                                      *extra])
    apply_global_options(args)
    assert args.corpus == f"dygie:path={data}" and args.name == "mine"


def test_strict_applies_to_the_users_data(data, capsys):
    assert main(["corpora", "stats", "--format", "dygie", "--path", str(data), "--strict"]) == 2
    assert "train.json:1 sentence 1 relation 1" in capsys.readouterr().err


def write(tmp_path, name, data: bytes):
    (tmp_path / name).write_bytes(data)
    return tmp_path / name


@pytest.mark.parametrize("line, kind", [
    (b'{"doc_key": "x", "sentences": [["caf\xe9"]]}', "skipped: line not UTF-8"),
    (b"[" * 100000 + b"]" * 100000, "skipped: JSON nested too deeply"),
    (json.dumps({"doc_key": "x", "sentences": [["a", "b"]], "ner": [[], [[0, 0, "PER"]]]}).encode(),
     "skipped: ner list beyond the sentence count"),
    (json.dumps({"doc_key": "x", "sentences": [["a", "b"]], "relations": [[], []]}).encode(),
     "skipped: relations list beyond the sentence count"),
    (json.dumps({"doc_key": "x", "sentences": [["a", 7, None]]}).encode(),
     "tolerated: token that is not a string (converted to text)"),
    (json.dumps({"doc_key": "x", "sentences": "abc"}).encode(), "skipped: document not in the DyGIE++ format"),
])
def test_damaged_lines_are_counted_with_file_and_line(tmp_path, line, kind):
    good = json.dumps(doc("a")).encode()
    corpus = load_dygie(write(tmp_path, "train.json", good + b"\n" + line + b"\n"))
    assert kind in corpus.skipped and any("train.json:2" in n for n in corpus.notes)
    assert corpus.documents[0].id == "a"


def test_single_file_under_the_standard_protocol_says_what_it_needs(data, capsys):
    argv = ["train", "--format", "dygie", "--path", str(data / "train.json"), "--model", "cnn"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "has no dev/test split (it has: train)" in err and "--protocol paper" in err and err.count("\n") == 1
    assert main(["corpora", "stats", "--format", "dygie", "--path", str(data / "train.json")]) == 2
    assert "has no dev/test split" in capsys.readouterr().err


@pytest.mark.parametrize("train", ["", "missing"])
def test_an_empty_or_missing_training_split_is_refused(tmp_path, capsys, train):
    for split in ("dev", "test"):
        (tmp_path / f"{split}.json").write_text(json.dumps(doc(split)) + "\n")
    if train == "":
        (tmp_path / "train.json").write_text("")
    assert main(["train", "--format", "dygie", "--path", str(tmp_path), "--model", "cnn", "--out",
                 str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert ("the train split has no documents" if train == "" else "has no train split") in err


def test_a_comma_in_the_path(tmp_path, capsys):
    folder = tmp_path / "a,b"
    folder.mkdir()
    clean = {**doc("a"), "relations": [[[0, 0, 3, 3, "ORG-AFF"]], [[8, 8, 5, 5, "PHYS"]]]}
    (folder / "train.json").write_text(json.dumps(clean) + "\n")
    assert main(["corpora", "stats", "--format", "dygie", "--path", str(folder), "--protocol", "paper",
                 "--strict", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["corpus"] == "dygie"


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

JSONISH = st.recursive(st.none() | st.booleans() | st.integers(-5, 40) | st.text(max_size=5),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                    max_size=4), max_leaves=20)
DOCUMENT = st.fixed_dictionaries({"doc_key": st.text(max_size=4) | st.integers(),
                                  "sentences": st.lists(st.lists(st.text(max_size=3) | st.integers(), max_size=6),
                                                        max_size=3)},
                                 optional={"ner": JSONISH, "relations": JSONISH})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(DOCUMENT.map(json.dumps).map(str.encode) | st.binary(max_size=40), min_size=1, max_size=6))
def test_any_input_loads_or_is_counted_never_a_traceback(tmp_path, lines):
    path = write(tmp_path, "train.json", b"\n".join(line.replace(b"\n", b" ") for line in lines) + b"\n")
    corpus = load_dygie(path)
    kept = len(corpus.documents)
    skipped = sum(v for k, v in corpus.skipped.items() if k in ("skipped: malformed JSON line",
                                                             "skipped: line not UTF-8",
                                                             "skipped: document not in the DyGIE++ format",
                                                             "skipped: duplicate doc_key",
                                                             "skipped: JSON nested too deeply"))
    nonblank = sum(1 for line in lines if line.replace(b"\n", b" ").strip())
    assert kept + skipped == nonblank  # every line is a document or a counted skip
