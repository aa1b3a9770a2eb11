"""The reports' decisions on known inputs: the ablation verdict (the paper's central
claim) on hand-made deltas and p-values, the Holm family, the significance plan's
signature; and the declared record and manifest structures, over the published
records and over damaged ones."""
import copy
import json
from pathlib import Path

import numpy as np
import pytest

from relext_bench.records import Manifest, RecordError, RoleEntry, RunRecord, Scores, Timings
from relext_bench.reporting.plan import ablation_pairs, verdict
from relext_bench.signature import Signature
from relext_bench.significance import PLAN, TestPlan

RESULTS = Path(__file__).resolve().parents[1] / "reports" / "results"


def result(delta, welch=0.01, aso=0.05, ar=0.001):
    return {"delta": delta, "welch_holm": welch, "aso": aso, "ar_holm": ar}


def pairs_with(real, tag=0.08, random=0.01):
    return {("Baseline+MTL+Tag", "Baseline+MTL"): {"delta": tag},
            ("Baseline+MTL+RandomTag", "Baseline+MTL"): {"delta": random},
            ("Baseline+MTL+Tag", "Baseline+MTL+RandomTag"): real}


@pytest.mark.parametrize("delta, welch, aso, survives, bar", [
    (0.062, 0.01, 0.05, True, True),  # significant and above 5 points
    (0.050, 0.01, 0.05, True, True),  # exactly the bar
    (0.049, 0.01, 0.05, True, False),  # significant, below the bar
    (0.062, 0.20, 0.05, False, True),  # large but not significant (Welch)
    (0.062, 0.01, 0.40, False, True),  # Welch significant, ASO not below 0.2
    (-0.062, 0.01, 0.05, False, False),  # significant in the other direction
])
def test_the_tag_verdict_on_known_deltas_and_p_values(delta, welch, aso, survives, bar):
    real = result(delta, welch, aso)
    text = verdict(real, pairs_with(real))
    assert ("**survives**" in text) is survives and ("**does not survive**" in text) is not survives
    assert ("**exceeds** the 5-point bar" in text) is bar
    assert f"{100 * delta:+.2f} points" in text
    # The random-tag control's own gain is reported beside the real tags' gain.
    assert "Real tags add +8.00 points over Baseline+MTL; random tags add +1.00." in text


def test_the_verdict_follows_the_plan_alpha():
    real = result(0.06, welch=0.03)
    assert "**survives**" in verdict(real, pairs_with(real))
    assert "**does not survive**" in verdict(real, pairs_with(real), TestPlan(alpha=0.01))


def test_ablation_pairs_are_those_whose_both_models_ran():
    groups = dict.fromkeys(["Baseline", "Baseline+Tag", "Baseline+MTL", "Baseline+MTL+Tag", "cnn", "cnn+Tag", "pcnn"])
    pairs = ablation_pairs(groups)
    assert ("Baseline+Tag", "Baseline") in pairs and ("cnn+Tag", "cnn") in pairs
    assert ("Baseline+MTL+Tag", "Baseline+MTL+RandomTag") not in pairs and ("pcnn+Tag", "pcnn") not in pairs


def test_holm_adjusts_each_test_across_the_family():
    results = PLAN.adjust([{"welch": 0.01, "mwu": 0.2, "bootstrap": float("nan"), "ar": 0.04},
                           {"welch": 0.04, "mwu": 0.1, "bootstrap": 0.5, "ar": 0.01},
                           {"welch": 0.03, "mwu": 0.3, "bootstrap": 0.2, "ar": 0.02}])
    assert [r["welch_holm"] for r in results] == pytest.approx([0.03, 0.06, 0.06])
    assert "bootstrap_holm" not in results[0]  # a missing test is left out of its family
    assert [r["bootstrap_holm"] for r in results[1:]] == pytest.approx([0.5, 0.4])


def test_the_plan_signature_has_a_full_and_a_short_form():
    sig = PLAN.signature()
    assert sig.format() == ("tests:welch+mwu+aso(eps<0.2)+paired_bootstrap+approx_rand+holm"
                            "|seed:0|bootstrap:1000|ar:2000|aso:500")
    assert sig.format(short=True).startswith("t:welch+mwu") and "|bs:1000|" in sig.format(short=True)
    assert str(Signature.of(metric="micro_f1") + sig).startswith("metric:micro_f1|tests:")
    assert TestPlan(bootstrap=50).signature() != sig


# ---- declared records ------------------------------------------------------------------------
def published_records():
    return sorted(RESULTS.glob("*/runs/*.json"))


@pytest.mark.skipif(not published_records(), reason="no published records")
def test_every_published_record_reads_through_its_declared_structure_and_back():
    for path in published_records():
        data = json.loads(path.read_text())
        record = RunRecord.from_dict(data, str(path))
        if record.finished:
            assert isinstance(record.test, Scores) and isinstance(record.timings, Timings)
            assert 0 <= record.test.micro_f1 <= 1 and record.instances.train >= record.instances.train_positives
            gold, pred = record.test_labels()
            assert len(gold) == len(pred) == record.instances.test
        back = record.to_dict()
        assert {k: v for k, v in back.items() if k != "device"} == {k: v for k, v in data.items() if k != "device"}


@pytest.mark.skipif(not list(RESULTS.glob("*/*.json")), reason="no published manifests")
def test_every_published_manifest_reads_and_round_trips():
    for path in sorted(RESULTS.glob("*/*.json")):
        m = Manifest.from_dict(json.loads(path.read_text()), str(path))
        assert {r.role for r in m.runs} <= {r.name for r in m.roles}
        assert Manifest.from_dict(m.to_dict()) == m


def a_record():
    path = published_records()[0]
    return json.loads(path.read_text())


@pytest.mark.skipif(not published_records(), reason="no published records")
def test_a_damaged_record_is_rejected_with_its_file_and_field():
    data = a_record()
    del data["test"]
    with pytest.raises(RecordError, match=r"runs/x\.json: finished record without test"):
        RunRecord.from_dict(data, "runs/x.json")
    data = a_record()
    data["timings"] = [1, 2]
    with pytest.raises(RecordError, match="timings is not a JSON object"):
        RunRecord.from_dict(data, "runs/x.json")
    data = a_record()
    del data["test"]["micro_f1"]
    with pytest.raises(RecordError, match="test scores without micro_f1"):
        RunRecord.from_dict(data, "runs/x.json")
    data = a_record() | {"version": 99}
    with pytest.raises(RecordError, match="record version 99"):
        RunRecord.from_dict(data, "runs/x.json")
    with pytest.raises(RecordError, match="status 'running\\?'"):
        RunRecord.from_dict(a_record() | {"status": "running?"}, "runs/x.json")


@pytest.mark.skipif(not published_records(), reason="no published records")
def test_old_records_get_defaults_and_unknown_fields_are_kept():
    data = a_record()
    data.pop("device", None)
    data.pop("symmetric_types", None)
    data["from_the_future"] = {"x": 1}
    record = RunRecord.from_dict(copy.deepcopy(data), "old.json")
    assert record.device == "cpu" and record.symmetric_types is None
    assert record.to_dict()["from_the_future"] == {"x": 1}


def test_a_failed_record_needs_only_its_failure():
    record = RunRecord.from_dict({"status": "failed", "failure": "RuntimeError: x", "seed": 2}, "f.json")
    assert not record.finished and record.failure == "RuntimeError: x" and record.seed == 2
    with pytest.raises(RecordError, match="failed record without failure"):
        RunRecord.from_dict({"status": "failed"}, "f.json")


def test_a_manifest_without_its_runs_is_rejected_by_name():
    with pytest.raises(RecordError, match="m.json: experiment manifest without runs"):
        Manifest.from_dict({"kind": "compare", "corpus_spec": "x", "corpus": {}, "protocol": "standard",
                            "metric": "micro_f1", "seeds": [1], "partitions": ["main"], "roles": [],
                            "train_config": {}, "corpus_stats": {}}, "m.json")


# ---- the claims table --------------------------------------------------------------------------
def compared(delta, welch=0.01, aso=0.05, aso_rev=1.0):
    return {"delta": delta, "welch_holm": welch, "aso": aso, "aso_rev": aso_rev}


@pytest.mark.parametrize("result, bar, expected", [
    (compared(0.03), None, "holds"),
    (compared(0.03, welch=0.2), None, "inconclusive"),
    (compared(0.03, aso=0.3), None, "inconclusive"),
    (compared(-0.01, welch=0.6, aso=1.0, aso_rev=0.1), None, "fails"),
    (compared(-0.01, welch=0.6, aso=1.0, aso_rev=0.5), None, "inconclusive"),
    (compared(0.06), 5.0, "holds"),
    (compared(0.04), 5.0, "fails"),  # significant, below the bar
    (compared(0.06, welch=0.3), 5.0, "inconclusive"),
])
def test_a_claim_is_judged_by_its_comparison(result, bar, expected):
    from relext_bench.reporting.claims import judge

    assert judge(result, bar) == expected


def test_the_claims_table_links_each_cell_and_says_what_was_not_run(tmp_path):
    from relext_bench.reporting.claims import CLAIMS, END, START, claims_table, decide

    results = {("Baseline+MTL+Tag", "Baseline+MTL"): compared(0.062),
               ("cnn+Tag", "cnn"): compared(0.06), ("pcnn+Tag", "pcnn"): compared(-0.02, 0.5, 1.0, 0.1),
               ("Baseline+MTL", "Baseline"): compared(0.01, welch=0.4) | {"detectable": 0.0425},
               ("cr_cnn+Tag", "cr_cnn"): compared(float("nan"))}  # cr_cnn+Tag has no finished run
    assert decide(CLAIMS[1], results) == ("inconclusive", [results[("cnn+Tag", "cnn")],
                                                            results[("pcnn+Tag", "pcnn")]])
    text = claims_table([("chisiec", "chisiec-standard-ablate.md#ablation", results)])
    assert "| tags help ye2019" in text and "[holds](chisiec-standard-ablate.md#ablation) (+6.20, p 0.01)" in text
    assert "[inconclusive](chisiec-standard-ablate.md#ablation) (+1.00, p 0.4, detectable 4.2)" in text
    assert "detectable" not in text.split("| tags help ye2019")[1].split("\n")[0]  # a decided claim needs none
    assert "not run" in text  # no random-tag control in these results
    assert START != END
    # A pair another experiment ran on more seeds links to that experiment's report.
    results[("Baseline+MTL+Tag", "Baseline+Tag")] = compared(0.004, welch=0.5) | {
        "detectable": 0.0101, "seeds": 10, "link": "chisiec-mtl.md#results"}
    text = claims_table([("chisiec", "chisiec-standard-ablate.md#ablation", results)])
    mtl = next(line for line in text.splitlines() if line.startswith("| MTL helps"))
    assert "[+0.40, p 0.5, detectable 1.0 with 10 seeds](chisiec-mtl.md#results)" in mtl
    assert "(+1.00, p 0.4, detectable 4.2;" in mtl  # the ablation's own pair: its link is the cell's


@pytest.mark.parametrize("pairs, warned", [("ordered", True), ("left_to_right", False)])
def test_runs_of_the_earlier_standard_protocol_are_flagged(pairs, warned):
    from relext_bench.reporting.experiment import Experiment, Group
    from relext_bench.reporting.sections import warnings

    manifest = Manifest(kind="compare", corpus_spec="chisiec", corpus={"name": "chisiec", "synthetic": False},
                        protocol="standard", metric="micro_f1", seeds=[1], partitions=["main"],
                        roles=[RoleEntry("cnn", "cnn", "cnn", "k")], runs=[], train_config={"max_epochs": 100},
                        corpus_stats={})
    run = RunRecord("finished", {}, "main", 1, policy={"pairs": pairs}, best_epoch=3,
                    train_config={"max_epochs": 100}, test=Scores(0, 0, 0.5, 0, 0, 0, 0))
    text = "\n".join(warnings(Experiment("compare", manifest, {("cnn", None): Group("cnn", "cnn", [run])})))
    assert ("EACH RELATION COUNTED TWICE" in text) is warned


def tuned_experiment(means: dict[str, float]):
    from relext_bench.reporting.experiment import Experiment, Group

    roles = [RoleEntry(name, "spec", name, name) for name in means]
    manifest = Manifest(kind="compare", corpus_spec="c", corpus={"name": "c"}, protocol="standard",
                        metric="micro_f1", seeds=[1, 2], partitions=["main"], roles=roles, runs=[],
                        train_config={}, corpus_stats={})
    groups = {(name, None): Group(name, name, finished=[
        RunRecord("finished", {}, "main", seed, test=Scores(0, 0, f1 + d, 0, 0, 0, 0)) for seed, d in ((1, -0.01), (2, 0.01))])
        for name, f1 in means.items()}
    return Experiment("compare", manifest, groups)


def test_a_tuned_comparison_says_whether_tuning_changed_the_ranking():
    from relext_bench.reporting.sections import tuned_ranking

    kept = tuned_experiment({"A": 0.6, "B": 0.5, "A (tuned)": 0.62, "B (tuned)": 0.55})
    assert tuned_ranking(kept) == ["Ranking by mean test `micro_f1`: with defaults A > B; tuned A (tuned) > "
                                   "B (tuned): tuning leaves the ranking as it was.", ""]
    swapped = tuned_experiment({"A": 0.6, "B": 0.5, "A (tuned)": 0.61, "B (tuned)": 0.65})
    assert "tuned B (tuned) > A (tuned): tuning changes the ranking." in tuned_ranking(swapped)[0]
    assert tuned_ranking(tuned_experiment({"A": 0.6, "A (tuned)": 0.7})) == []  # one model: no ranking


def test_the_power_note_states_the_level_and_the_mann_whitney_floor_where_it_binds():
    from relext_bench.reporting.plan import power_note
    from relext_bench.significance import PLAN

    three = [PLAN.compare(np.array([0.61, 0.63, 0.60]), np.array([0.60, 0.59, 0.62]), 2) | {"a": "A", "b": "B"},
             PLAN.compare(np.array([0.61, 0.63, 0.60]), np.array([0.50, 0.52, 0.51]), 2) | {"a": "A", "b": "C"}]
    text = power_note(three)
    assert "(0.05 / 2 = 0.025)" in text and "3 and 3 runs: 0.1" in text
    ten = [PLAN.compare(np.linspace(0.6, 0.62, 10), np.linspace(0.59, 0.61, 10), 1) | {"a": "A", "b": "B"}]
    assert "Mann-Whitney" not in power_note(ten)  # 10 and 10 runs: the floor is far below the level


def clocked_run(seed, start, end, pid, load, epochs=4, steps_s=(10.0, 10.0, 10.0, 10.0), train_s=48.0, cpu_s=None):
    from relext_bench.records import InstanceCounts

    return RunRecord("finished", {}, "main", seed, epochs=epochs, best_epoch=2,
                     curve=[{"train_seconds": s} for s in steps_s], instances=InstanceCounts(1000, 10, 10, 100),
                     timings=Timings(train_s=train_s, started=start, finished=end, load=load, cpu_s=cpu_s),
                     environment={"pid": pid, "torch_threads": 1, "cpu_count": 2},
                     test=Scores(0, 0, 0.5, 0, 0, 0, 0))


def test_the_run_time_table_agrees_with_itself_and_the_clocks_give_pauses_processes_and_load():
    from relext_bench.reporting.experiment import Experiment, Group
    from relext_bench.reporting.timing import timing_section

    manifest = Manifest(kind="compare", corpus_spec="c", corpus={"name": "c"}, protocol="standard",
                        metric="micro_f1", seeds=[1, 2, 3], partitions=["main"], roles=[RoleEntry("A", "a", "A", "k")],
                        runs=[], train_config={}, corpus_stats={})
    # Two runs side by side (pids 7, 8), then ten minutes with none, then a third; load 3.5 on 2 cores.
    runs = [clocked_run(1, 0, 600, 7, [3.5, 3.5]), clocked_run(2, 60, 540, 8, [3.5, 3.4]),
            clocked_run(3, 1200, 1500, 7, [3.6, 3.5])]
    text = "\n".join(timing_section(Experiment("compare", manifest, {("A", None): Group("A", "A", runs)})))
    row = next(line for line in text.splitlines() if line.startswith("| A "))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells == ["A", "4.0", "2.0", "1,000", "40.0", "8.0", "100"]  # 1000 x 4 epochs / 40 s of steps
    assert "Wall time: 25.0 min" in text and "10.0 min of it with none of these runs going" in text
    assert "2 process(es) trained them, at most 2 at once" in text
    assert "median 3.5" in text and "other work shared the machine" in text
    quiet = [clocked_run(1, 0, 600, 7, [1.0, 1.1])]
    text = "\n".join(timing_section(Experiment("compare", manifest, {("A", None): Group("A", "A", quiet)})))
    assert "0.0 min of it" in text and "other work" not in text and "more than the" not in text
    crowded = [clocked_run(1, 0, 600, 7, [3.0, 3.0]), clocked_run(2, 0, 600, 8, [3.0, 3.0]),
               clocked_run(3, 0, 600, 9, [3.0, 3.1])]  # three 1-thread runs at once on 2 cores
    text = "\n".join(timing_section(Experiment("compare", manifest, {("A", None): Group("A", "A", crowded)})))
    assert "other work" not in text and "3 runs x 1 thread(s) asked for more than the 2 cores" in text
    assert "CPU seconds" not in text  # records without the CPU clock say nothing of it
    # One run on a core of its own for 600 s; one stopped for half of its 600 s.
    runs = [clocked_run(1, 0, 600, 7, [1.0, 1.0], cpu_s=594.0), clocked_run(2, 600, 1200, 7, [1.0, 1.0], cpu_s=300.0)]
    text = "\n".join(timing_section(Experiment("compare", manifest, {("A", None): Group("A", "A", runs)})))
    assert "median 74%, lowest 50% (2 run(s)" in text


def test_reports_caption_their_figures():
    from relext_bench.reporting.figures import CAPTIONS

    assert "colour the seed (legend)" in CAPTIONS["per_run"] and "black bar" in CAPTIONS["per_run"]
    built = (Path(__file__).resolve().parents[1] / "relext_bench" / "reporting").glob("*.py")
    uses = "".join(p.read_text() for p in built)
    for kind in CAPTIONS:  # every figure a report embeds has its caption under it
        assert f"CAPTIONS['{kind}']" in uses


def test_a_label_without_test_instances_has_no_f1_in_the_per_type_table():
    from relext_bench.reporting.experiment import Experiment, Group
    from relext_bench.reporting.sections import per_type_section

    manifest = Manifest(kind="compare", corpus_spec="c", corpus={"name": "c"}, protocol="standard",
                        metric="micro_f1", seeds=[1], partitions=["main"], roles=[RoleEntry("A", "a", "A", "k")],
                        runs=[], train_config={}, corpus_stats={})
    per_label = {"R(e1,e2)": {"p": 0.0, "r": 0.0, "f1": 0.0, "support": 0},
                 "R(e2,e1)": {"p": 0.5, "r": 0.5, "f1": 0.5, "support": 4}}
    run = RunRecord("finished", {}, "main", 1, test=Scores(0, 0, 0.5, 0, 0, 0, 0, per_label=per_label))
    text = "\n".join(per_type_section(Experiment("compare", manifest, {("A", None): Group("A", "A", [run])}),
                                      {"A": Group("A", "A", [run])}))
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in text.splitlines() if line.startswith("| R(")}
    assert rows == {"R(e1,e2)": ["0", "-"], "R(e2,e1)": ["4", "50.00"]}
    assert "1 label(s) have no test instance" in text


def test_the_environment_names_every_cpu_its_runs_ran_on():
    from relext_bench.reporting.sections import environment_section

    def run(cpu):
        env = {"python": "3.11", "platform": "Linux", "machine": "x86_64", "cpu": cpu, "cpu_count": 2,
               "torch_threads": 1, "gpu": None, "packages": {"torch": "2"}, "kernel_backend": "cpp"}
        return RunRecord("finished", {}, "main", 1, environment=env)

    experiment = tuned_experiment({"a": 0.5})
    experiment.groups[("a", None)].finished[:] = [run("Xeon"), run("EPYC"), run("Xeon")]
    text = "\n".join(environment_section(experiment))
    assert "CPU EPYC (1 run), Xeon (2 runs)" in text and "not bit-identical" in text
    experiment.groups[("a", None)].finished[:] = [run("Xeon")]
    text = "\n".join(environment_section(experiment))
    assert "CPU Xeon, 2 cores" in text and "bit-identical" not in text
