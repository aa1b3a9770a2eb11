"""ablate, sweep, reports and tuning on a tiny synthetic corpus (small models, 1 epoch)."""

import numpy as np
import pytest

from relext_bench.cli import main
from relext_bench.data import registry
from relext_bench.data.instances import builder_for
from relext_bench.experiments.compare import ablation_roles, compare, limit_baselines, sweep
from relext_bench.experiments.runner import Options, plan
from relext_bench.experiments.store import Store
from relext_bench.metrics import evaluate
from relext_bench.models import ModelSpec, Sizes, build_model
from relext_bench.protocols import get_protocol
from relext_bench.records import InstanceCounts, Manifest, RoleEntry, RunRecord, Scores
from relext_bench.reporting import build as report
from relext_bench.reporting.experiment import Experiment, Group, load_experiment
from relext_bench.reporting.sections import published_section, sweep_section
from relext_bench.significance import (
    approximate_randomization,
    count_metric,
    label_rows,
    metric_rows,
    paired_bootstrap,
)
from relext_bench.training.trainer import TrainConfig, subsample_negatives

CORPUS = "synth_zh:documents=6"
CFG = TrainConfig(max_epochs=1, threads=1)
SMALL = "word_dim=16,position_dim=4,tag_dim=4"  # every model's input widths, small


def test_constant_tags_match_typed_tags_in_width_and_parameters_and_carry_nothing():
    corpus = registry.load(CORPUS)
    protocol = get_protocol("standard")
    sents = [s for d in corpus.documents for s in d.sentences]
    built = {}
    for tags in ("bio_typed", "constant", "none"):
        b = builder_for(corpus, protocol.policy.replace(tags=tags), sents)
        spec = ModelSpec("ye2019", tags=tags, objective="multitask").with_params(filters=8)
        model = build_model(spec, Sizes(len(b.words), b.position_size, len(b.tags), len(b.labels)))
        built[tags] = (model.input_width, sum(p.numel() for p in model.parameters()), b.build(sents))
    assert built["constant"][:2] == built["bio_typed"][:2]
    assert built["none"][0] < built["constant"][0]
    rows = built["constant"][2].rows()
    assert set(np.unique(rows["tags"])) <= {0, 1}  # padding and O only
    assert len(set(np.unique(built["bio_typed"][2].rows()["tags"]))) > 3


def test_ablation_grid_has_the_reviewers_rows():
    names = [r.name for r in ablation_roles()]
    for required in ("Baseline", "Baseline+Tag", "Baseline+MTL", "Baseline+MTL+Tag", "Baseline+MTL+RandomTag",
                     "Baseline+MTL+ConstTag (param-matched)", "Baseline+MTL+UntypedTag",
                     "cnn", "cnn+Tag", "pcnn", "pcnn+Tag", "cr_cnn", "cr_cnn+Tag", "att_bilstm", "att_bilstm+Tag"):
        assert required in names
    assert len(set(r.spec.key() for r in ablation_roles())) == len(names)


def test_baseline_seeds_limit_only_the_baselines_and_keep_seed_major_order():
    corpus, protocol = registry.load(CORPUS), get_protocol("standard")
    roles = limit_baselines(ablation_roles(), 1)
    jobs = plan(corpus, protocol, roles, [1, 2, 3], CFG)
    seeds = {name: sorted(j.seed for j in jobs if j.role == name) for name in (r.name for r in roles)}
    assert seeds["cnn+Tag"] == seeds["att_bilstm"] == [1]
    assert seeds["Baseline+MTL+Tag"] == seeds["Baseline+MTL+RandomTag"] == [1, 2, 3]
    assert [j.seed for j in jobs] == sorted(j.seed for j in jobs)
    # The same run in a limited and an unlimited plan has the same key, so it is reused.
    full = {j.key for j in plan(corpus, protocol, ablation_roles(), [1, 2, 3], CFG)}
    assert {j.key for j in jobs} < full


def test_subsample_negatives_keeps_positives_and_hits_the_ratio():
    corpus = registry.load(CORPUS)
    protocol = get_protocol("standard")
    sents = [s for d in corpus.documents for s in d.sentences]
    full = builder_for(corpus, protocol.policy, sents).build(sents)
    a = subsample_negatives(full, 2.0, seed=1)
    assert a.positives == full.positives
    assert len(a) - a.positives == round(2.0 * full.positives)
    assert np.array_equal(a.labels, subsample_negatives(full, 2.0, seed=1).labels)
    b = subsample_negatives(full, 2.0, seed=2)
    assert not np.array_equal(a.spans, b.spans)
    assert len(subsample_negatives(full, 1e9, seed=1)) == len(full)  # more than there are: all


def test_label_rows_give_every_metric_of_evaluate():
    rng = np.random.default_rng(0)
    gold, pred = rng.integers(0, 5, 300), rng.integers(0, 5, 300)
    total = label_rows(gold, pred, 5).sum(0)
    scores = evaluate(gold, pred, ["Other", "a", "b", "c", "d"])
    for metric in ("micro_f1", "macro_f1", "weighted_f1"):
        assert count_metric(metric)(total) == pytest.approx(scores[metric])
    # Cut to a metric's columns, the rows give the same score and the same tests.
    rows_a, rows_b = label_rows(gold, pred, 5), label_rows(gold, rng.integers(0, 5, 300), 5)
    for metric in ("micro_f1", "macro_f1"):
        fn = count_metric(metric)
        cut_a, cut_b = metric_rows(rows_a, metric), metric_rows(rows_b, metric)
        assert fn(cut_a.sum(0)) == pytest.approx(scores[metric])
        for test in (paired_bootstrap, approximate_randomization):
            assert test(cut_a, cut_b, fn, 200, 3) == pytest.approx(test(rows_a, rows_b, fn, 200, 3))
    assert metric_rows(rows_a, "micro_f1").shape == (300, 6)


def test_compare_report_is_built_from_records_only(tmp_path):
    out, reports = tmp_path / "res", tmp_path / "reports"
    compare(Options(CORPUS, "paper", seeds=1, out=str(out), train=CFG, progress=False),
            ["ye2019:tags=none,objective=ranking,filters=8", "ye2019:tags=bio_typed,filters=8"])
    (path,) = report.build(out, reports)
    text = path.read_text()
    assert "SYNTHETIC CORPUS" in text and "LEAKY PROTOCOL" in text and "Signature: `corpus:synth_zh@" in text
    assert (reports / path.stem / "f1_per_run.png").stat().st_size > 1000
    # The main table's means come from the stored records.
    exp = load_experiment(out, "compare")
    for g in exp.at(None).values():
        assert len(g.finished) == 5
        mean = 100 * np.mean([r.test.weighted_f1 for r in Store(out).records() if r.model["label"] == g.label])
        assert f"{mean:.2f} ±" in text
    # Rebuilding gives the same Markdown; a deleted record shows as missing, not as a lower mean.
    assert report.build(out, reports)[0].read_text() == text
    next((out / "runs").glob("*.json")).unlink()
    assert "1 run(s) not finished yet" in report.build(out, reports)[0].read_text()


def test_failed_runs_are_flagged_in_the_report(tmp_path):
    cfg = TrainConfig(max_epochs=2, lr=1e30, optimizer="sgd", grad_clip=None, threads=1)
    compare(Options(CORPUS, "standard", seeds=1, out=str(tmp_path), train=cfg, progress=False),
            [f"cnn:filters=8,{SMALL}", f"pcnn:filters=8,{SMALL}"])
    text = report.build(tmp_path, tmp_path / "rep")[0].read_text()
    assert "FAILED RUN(S)" in text and "## Failed runs" in text and "loss became" in text


def test_ablate_cli_states_the_verdict(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["ablate", "--corpus", CORPUS, "--seeds", "2", "--max-epochs", "1", "--threads", "1",
                 "--no-baselines", "--params", SMALL, "--out", str(out), "--reports", str(tmp_path / "rep")]) == 0
    printed = capsys.readouterr().out
    assert "Baseline+MTL+RandomTag" in printed
    text = (tmp_path / "rep" / "synth_zh-standard-ablate.md").read_text()
    assert "### Verdict on the tag claim" in text and "5-point bar" in text
    assert "Baseline+MTL+ConstTag (param-matched)" in text
    # compare on the same directory reuses the ablation's ye2019 runs; a baseline limited
    # to one seed runs once, and the report says so.
    result = compare(Options(CORPUS, "standard", seeds=2, out=str(out), train=CFG, progress=False),
                     [f"ye2019:tags=none,objective=ranking,{SMALL}", f"pcnn:filters=8,{SMALL}"], baseline_seeds=1)
    assert result["already_done"] == 2 and len(result["ran"]) == 1
    text = report.build(out, tmp_path / "rep", kinds=["compare"])[0].read_text()
    assert "| seeds" in text and "run(s) not finished" not in text
    # --no-run writes the manifest and the report from what is stored and trains nothing.
    assert main(["compare", "--corpus", CORPUS, "--models", f"ye2019:tags=none,objective=ranking,{SMALL},pcnn:{SMALL}",
                 "--seeds", "2", "--max-epochs", "1", "--threads", "1", "--no-run", "--out", str(out),
                 "--reports", str(tmp_path / "rep")]) == 0
    assert "4 runs: 2 already stored, 0 run now" in capsys.readouterr().out
    assert "2 run(s) not finished yet" in (tmp_path / "rep" / "synth_zh-standard-compare.md").read_text()
    # --name: a second comparison on the same corpus and protocol keeps its own report,
    # and `report DIR` rebuilds it under that name.
    other = tmp_path / "rep2"
    assert main(["compare", "--corpus", CORPUS, "--models", f"pcnn:{SMALL}", "--seeds", "1", "--max-epochs", "1",
                 "--threads", "1", "--no-run", "--out", str(tmp_path / "res2"), "--reports", str(other),
                 "--name", "pcnn-only"]) == 0
    (other / "pcnn-only.md").unlink()
    assert main(["report", str(tmp_path / "res2"), "--reports", str(other)]) == 0
    assert [p.name for p in other.glob("*.md")] == ["pcnn-only.md"]
    with pytest.raises(SystemExit):
        main(["compare", "--corpus", CORPUS, "--no-run", "--name", "../elsewhere"])


def test_sweep_subsamples_training_only_and_plots(tmp_path):
    out = tmp_path / "res"
    sweep(Options(CORPUS, "standard", seeds=1, out=str(out), train=CFG, progress=False),
          [f"pcnn:filters=8,{SMALL}"], ratios=(1.0, None))
    records = {r.neg_ratio: r for r in Store(out).records()}
    one, full = records[1.0], records[None]
    assert one.instances.train == 2 * one.instances.train_positives
    assert full.instances.train > one.instances.train
    assert one.instances.test == full.instances.test
    (path,) = report.build(out, tmp_path / "rep")
    text = path.read_text()
    assert "## Imbalance sweep" in text and (tmp_path / "rep" / path.stem / "f1_vs_ratio.png").exists()


TUNE = ["tune", "--corpus", CORPUS, "--protocol", "paper", "--model", f"pcnn:{SMALL}", "--max-epochs", "2",
        "--threads", "1"]


@pytest.mark.parametrize("min_steps, state", [(0, "PRUNED"), (10**6, "COMPLETE")])
def test_a_trial_is_pruned_only_once_the_stopping_rule_would_let_it_stop(tmp_path, monkeypatch, capsys, min_steps,
                                                                          state):
    import json

    import optuna

    monkeypatch.setattr(optuna.trial.Trial, "should_prune", lambda self: True)  # a pruner that always says stop
    assert main([*TUNE, "--trials", "2", "--min-steps", str(min_steps), "--out", str(tmp_path),
                 "--reports", str(tmp_path / "rep")]) == 0
    trials = json.loads(next((tmp_path / "tune").glob("*.json")).read_text())["trials"]
    assert [t["state"] for t in trials] == [state, state]
    assert all(len(t["intermediate"]) == (1 if state == "PRUNED" else 2) for t in trials)
    out = capsys.readouterr().out
    assert ("no trial has completed yet" in out) == (state == "PRUNED") and "nan" not in out


def test_a_bad_storage_is_one_clear_line_without_the_password(tmp_path, capsys):
    assert main(["tune", "--corpus", CORPUS, "--model", "pcnn", "--storage", "postgresql://me:s3cret@dbhost/studies",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "postgresql://dbhost/studies" in err and "s3cret" not in err and len(err.strip().splitlines()) == 1


def test_published_numbers_sit_beside_ours_marked_with_their_protocol():
    def experiment(protocol):
        manifest = Manifest(kind="compare", corpus_spec="ace_zh", corpus={"name": "ace_zh"}, protocol=protocol,
                            metric="weighted_f1", seeds=[1, 2], partitions=["main"],
                            roles=[RoleEntry("Baseline+MTL+Tag", "ye2019", "x", "k")], runs=[], train_config={},
                            corpus_stats={})
        group = Group("Baseline+MTL+Tag", "x", finished=[
            RunRecord("finished", {}, "main", seed, test=Scores(0, 0, f1, 0, 0, 0, f1)) for seed, f1 in ((1, 0.6), (2, 0.64))])
        return Experiment("compare", manifest, {("Baseline+MTL+Tag", None): group})

    text = "\n".join(published_section(experiment("paper")))
    assert "| Baseline+MTL+Tag" in text and "62.9" in text and "62.00 ± 2.83" in text
    assert "(the paper's protocol)." in text
    assert "not like for like" in "\n".join(published_section(experiment("standard")))
    # Corpora without published numbers get no section.
    other = experiment("paper")
    other.manifest.corpus["name"] = "chisiec"
    assert published_section(other) == []


def test_sweep_ratios_above_the_data_s_own_run_once_as_all(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["sweep", "--corpus", CORPUS, "--models", f"pcnn:filters=8,{SMALL}", "--ratios", "1,1000,all",
                 "--seeds", "1", "--max-epochs", "1", "--threads", "1", "--out", str(out),
                 "--reports", str(tmp_path / "rep")]) == 0
    assert "ratios 1000: at or above the training data's own negatives per positive" in capsys.readouterr().out
    assert sorted(str(r.neg_ratio) for r in Store(out).records()) == ["1.0", "None"]


def test_the_sweep_report_gives_each_tagged_model_its_gain_over_its_untagged_twin():
    specs = {"Baseline": "ye2019:tags=none,objective=ranking", "Baseline+MTL+Tag": "ye2019:tags=bio_typed,objective=multitask",
             "cnn:tags=none": "cnn:tags=none", "cnn:tags=bio_typed": "cnn:tags=bio_typed"}
    f1 = {("Baseline", 1.0): 0.50, ("Baseline+MTL+Tag", 1.0): 0.58, ("cnn:tags=none", 1.0): 0.52,
          ("cnn:tags=bio_typed", 1.0): 0.55, ("Baseline", None): 0.52, ("Baseline+MTL+Tag", None): 0.61,
          ("cnn:tags=none", None): 0.54}  # cnn with tags at "all" has not run
    manifest = Manifest(kind="sweep", corpus_spec="x", corpus={"name": "x"}, protocol="standard", metric="micro_f1",
                        seeds=[1], partitions=["main"], roles=[RoleEntry(n, s, n, n) for n, s in specs.items()],
                        runs=[], train_config={}, corpus_stats={}, ratios=[1.0, None])
    counts = InstanceCounts(train=20, dev=5, test=5, train_positives=10)
    groups = {(role, ratio): Group(role, role, finished=[RunRecord("finished", {}, "main", 1, neg_ratio=ratio,
                                                                   instances=counts, test=Scores(0, 0, v, 0, 0, 0, v))])
              for (role, ratio), v in f1.items()}
    text = "\n".join(sweep_section(Experiment("sweep", manifest, groups), None))
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in text.splitlines() if " over " in line and line.startswith("|")}
    assert rows == {"Baseline+MTL+Tag over Baseline": ["+8.00", "+9.00"],
                    "cnn:tags=bio_typed over cnn:tags=none": ["+3.00", "-"]}


def test_a_corpus_with_only_a_comparison_gets_the_claims_its_variants_decide(tmp_path):
    from relext_bench.reporting.claims import CLAIMS, claims_table, corpus_results, decide

    compare(Options(CORPUS, "standard", seeds=2, out=str(tmp_path), train=CFG, progress=False),
            ["ye2019:tags=none,objective=multitask", "ye2019:tags=bio_typed,objective=multitask"])
    name, link, results = corpus_results(tmp_path)
    assert (name, link) == ("synth_zh", "synth_zh-standard-compare.md#results")
    assert set(results) == {("Baseline+MTL+Tag", "Baseline+MTL")}
    assert decide(CLAIMS[0], results)[0] in ("holds", "fails", "inconclusive")
    assert decide(CLAIMS[3], results) == ("not run", [])
    assert "(synth_zh-standard-compare.md#results)" in claims_table([(name, link, results)])
    # A second comparison of the same pair on more seeds decides it instead.
    compare(Options(CORPUS, "standard", seeds=3, out=str(tmp_path), train=CFG, progress=False,
                    report_name="mtl"), ["ye2019:tags=none,objective=multitask", "ye2019:tags=bio_typed,objective=multitask"])
    _, _, results = corpus_results(tmp_path)
    pair = results[("Baseline+MTL+Tag", "Baseline+MTL")]
    assert (pair["seeds"], pair["link"]) == (3, "mtl.md#results")


def test_a_study_of_a_model_not_compared_is_refused():
    from relext_bench.errors import UserError
    from relext_bench.experiments.compare import compare

    study = {"study": "s", "model": "cnn", "params": {"filters": 100}}
    with pytest.raises(UserError, match="the study tunes cnn, which is not among the models compared"):
        compare(Options("synth_zh:documents=4", "standard", seeds=1, run=False), ["pcnn"], tuned=[study])


def test_what_the_spec_fixes_is_not_searched():
    import optuna
    from relext_bench_baselines.cnn import CNN

    from relext_bench.experiments.tune import _FixedTrial

    trial = optuna.create_study().ask()
    params = CNN.search_space(_FixedTrial(trial, {"filters": "100"}))
    assert params["filters"] == "100" and set(trial.params) == {"dropout"}


def test_a_spec_that_fixes_the_whole_space_is_refused(tmp_path):
    from relext_bench.errors import UserError
    from relext_bench.experiments.tune import tune

    with pytest.raises(UserError, match="nothing is left to tune"):
        tune("synth_zh:documents=4", "standard", "cnn:filters=100,dropout=0.3", 1, out=str(tmp_path))
