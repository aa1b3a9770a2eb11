"""DyGIE++ JSON: document-level token indices to sentences, splits from files."""
import json

import numpy as np
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
    digest = manifest["corpus"]["digest"][:8]  # the user's data: named by folder and digest
    assert [p.name for p in reports.glob("*.md")] == [f"dygie-{data.name}-{digest}-standard-compare.md"]


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


from hypothesis import HealthCheck, example, given, settings  # noqa: E402
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
@example(lines=[b'{"doc_key": "", "sentences": []}', b"\x1c"])  # a control character alone is no blank line
def test_any_input_loads_or_is_counted_never_a_traceback(tmp_path, lines):
    path = write(tmp_path, "train.json", b"\n".join(line.replace(b"\n", b" ") for line in lines) + b"\n")
    corpus = load_dygie(path)
    kept = len(corpus.documents)
    skipped = sum(v for k, v in corpus.skipped.items() if k in ("skipped: malformed JSON line",
                                                             "skipped: line not UTF-8",
                                                             "skipped: document not in the DyGIE++ format",
                                                             "skipped: duplicate doc_key",
                                                             "skipped: JSON nested too deeply"))
    nonblank = sum(1 for line in lines if line.replace(b"\n", b" ").strip(b" \t\r\n"))  # JSON's whitespace
    assert kept + skipped == nonblank  # every line is a document or a counted skip


# ---- nothing silently wrong on the user's data --------------------------------------------------

def work_doc(key, names):
    """Sentences 'A works for B .': every relation WORK, Arg-1 on the left."""
    sentences, ner, relations, offset = [], [], [], 0
    for a, b in names:
        sentences.append([a, "works", "for", b, "."])
        ner.append([[offset, offset, "PER"], [offset + 3, offset + 3, "ORG"]])
        relations.append([[offset, offset, offset + 3, offset + 3, "WORK"]])
        offset += 5
    return {"doc_key": key, "sentences": sentences, "ner": ner, "relations": relations}


def work_folder(folder, variant=""):
    folder.mkdir(parents=True, exist_ok=True)
    names = [("Ann", "Acme"), ("Bob", "Bayer"), ("Cid", "Corp"), ("Dan", "Dell")]
    for split, keys in (("train", "abcdef"), ("dev", "g"), ("test", "h")):
        docs = [work_doc(k + variant, names) for k in keys]
        (folder / f"{split}.json").write_text("".join(json.dumps(d) + "\n" for d in docs))
    return folder


@pytest.mark.slow
def test_macro_f1_of_a_run_averages_only_the_labels_present(tmp_path, capsys):
    """Every relation is WORK(e1,e2): WORK(e2,e1) is in no gold label and (once learned) in
    no prediction, so it is not averaged in as a zero."""
    from sklearn.metrics import f1_score

    data = work_folder(tmp_path / "work")
    argv = ["train", "--format", "dygie", "--path", str(data), "--model", "cnn", "--max-epochs", "15",
            "--min-steps", "1", "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    (path,) = (tmp_path / "out").glob("*.json")
    record = json.loads(path.read_text())
    from relext_bench.records import unpack_labels

    gold, pred = (np.asarray(unpack_labels(record["predictions"][k])) for k in ("test_gold", "test_pred"))
    present = sorted((set(gold) | set(pred)) - {0})
    assert record["labels"][1:] == ["WORK(e1,e2)", "WORK(e2,e1)"]
    assert record["test"]["macro_f1"] == pytest.approx(f1_score(gold, pred, labels=present, average="macro"))
    if set(pred) <= {0, 1}:  # WORK(e2,e1) neither gold nor predicted
        assert record["test"]["macro_f1"] == pytest.approx(record["test"]["per_label"]["WORK(e1,e2)"]["f1"])


@pytest.mark.slow
def test_train_records_of_different_runs_never_overwrite_each_other(tmp_path, capsys):
    a, b = work_folder(tmp_path / "a"), work_folder(tmp_path / "b", variant="x")
    out = tmp_path / "out"
    common = ["--model", "cnn", "--max-epochs", "1", "--min-steps", "0", "--out", str(out)]
    assert main(["train", "--format", "dygie", "--path", str(a), *common]) == 0
    assert main(["train", "--format", "dygie", "--path", str(b), "--lr", "0.01", *common]) == 0
    assert main(["train", "--format", "dygie", "--path", str(a), "--lr", "0.01", *common]) == 0
    assert main(["train", "--format", "dygie", "--path", str(a), "--lr", "0.01", "--weight-decay", "0.001", *common]) == 0
    records = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    assert len(records) == 4 and len({r["key"] for r in records}) == 4
    assert len({(r["corpus"]["digest"], r["train_config"]["lr"], r["train_config"]["weight_decay"])
                for r in records}) == 4
    assert len({r["corpus"]["digest"] for r in records}) == 2


@pytest.mark.slow
def test_default_results_and_reports_of_two_data_sets_do_not_collide(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    a, b = work_folder(tmp_path / "mine"), work_folder(tmp_path / "other" / "mine", variant="x")
    common = ["--models", "cnn", "--seeds", "1", "--max-epochs", "1", "--min-steps", "0"]
    assert main(["compare", "--format", "dygie", "--path", str(a), *common]) == 0
    assert main(["compare", "--format", "dygie", "--path", str(b), *common]) == 0
    outs = sorted(p.parent for p in (tmp_path / "results").glob("*/compare.json"))
    reports = sorted(p.name for p in (tmp_path / "results" / "reports").glob("*.md"))
    assert not (tmp_path / "reports").exists()  # never over the reports a checkout ships
    assert len(outs) == 2 and len(reports) == 2
    digests = {json.loads((o / "compare.json").read_text())["corpus"]["digest"][:8] for o in outs}
    assert all(any(d in o.name for d in digests) and o.name.startswith("dygie-mine-") for o in outs)
    assert all(r.startswith("dygie-mine-") and r.endswith("-standard-compare.md") for r in reports)


def test_a_span_annotated_twice_is_kept_once_and_counted(tmp_path):
    from relext_bench.data.instances import builder_for
    from relext_bench.protocols import get_protocol

    d = work_doc("a", [("Ann", "Acme")])
    d["ner"][0].insert(1, [0, 0, "PER"])  # Ann annotated twice
    d["relations"][0].append([0, 0, 3, 3, "WORK"])  # and the relation once per copy
    corpus = load_dygie(write(tmp_path, "train.json", json.dumps(d).encode() + b"\n"))
    assert corpus.skipped["skipped: duplicate entity span (the first kept)"] == 1
    assert any("train.json:1 sentence 0 entity 1" in n for n in corpus.notes)
    (sentence,) = corpus.documents[0].sentences
    assert [(m.start, m.end) for m in sentence.entities] == [(0, 1), (3, 4)]
    policy = get_protocol("standard").policy
    builder = builder_for(corpus, policy, [sentence])
    built = builder.build([sentence])
    assert len(built) == 1 and [builder.labels[i] for i in built.labels] == ["WORK(e1,e2)"]


NASTY = "WORK|for\n<img src=x onerror=alert(1)>\x1b[31m"


@pytest.mark.slow
def test_corpus_text_reaches_the_terminal_and_the_report_inert(tmp_path, capsys):
    data = tmp_path / "nasty"
    work_folder(data)
    for split in ("train", "dev", "test"):  # a label with a pipe, a newline, HTML and an ANSI escape
        path = data / f"{split}.json"
        path.write_text(path.read_text().replace('"WORK"', json.dumps(NASTY)).replace('"Ann"', json.dumps("A\x1b[2Jnn")))
    assert main(["corpora", "stats", "--format", "dygie", "--path", str(data)]) == 0
    assert main(["corpora", "show", "--format", "dygie", "--path", str(data), "--n", "1"]) == 0
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "\\x1b[31m" in shown and "\\x1b[2J" in shown
    reports = tmp_path / "reports"
    assert main(["compare", "--format", "dygie", "--path", str(data), "--models", "cnn", "--seeds", "1",
                 "--max-epochs", "1", "--min-steps", "0", "--out", str(tmp_path / "out"), "--reports", str(reports)]) == 0
    (report,) = reports.glob("*.md")
    text = report.read_text()
    assert "<img" not in text and "\x1b" not in text and "&lt;img" in text
    per_type = text.split("## Per-type F1")[1].split("\n## ")[0]
    rows = [line for line in per_type.splitlines() if line.startswith("| ")]
    header = rows[0].count(" | ")
    assert len(rows) == 3 and all(row.replace("\\|", "").count(" | ") == header for row in rows)
