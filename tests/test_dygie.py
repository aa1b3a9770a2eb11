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
    from relext_bench.cli import _apply_global_options, build_parser

    extra = ["--model", "cnn"] if command == "tune" else []
    args = build_parser().parse_args([command, "--format", "dygie", "--path", str(data), "--name", "mine",
                                      *extra])
    _apply_global_options(args)
    assert args.corpus == f"dygie:path={data}" and args.name == "mine"


def test_strict_applies_to_the_users_data(data, capsys):
    assert main(["corpora", "stats", "--format", "dygie", "--path", str(data), "--strict"]) == 2
    assert "train.json:1 sentence 1 relation 1" in capsys.readouterr().err
