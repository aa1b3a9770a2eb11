"""The SemEval-2010 Task 8 sections of a report: each baseline's published score beside
ours (`experiments/published.py: SEMEVAL`), and the variants stored beside the grid
that measure where a gap comes from.

A variant is any finished run in the experiment's results directory that is not one of
its own runs, on the same corpus and protocol: another model option (filter widths,
position features) or another training setting (optimizer, learning rate, pretrained
vectors, the word table). Each is set against the grid's run of the published
configuration of the same model on the same seed, so the difference is paired."""
from __future__ import annotations

import dataclasses
from collections import defaultdict

import numpy as np

from relext_bench.experiments.published import SEMEVAL, SEMEVAL_SOURCE
from relext_bench.experiments.runner import UNKEYED
from relext_bench.models.spec import parse_model_spec
from relext_bench.records import RunRecord
from relext_bench.reporting.experiment import Experiment
from relext_bench.reporting.markdown import mean_sd, pval, table
from relext_bench.reporting.plan import PLAN, compare_all, paper_names
from relext_bench.roles import ABLATION_PAIRS
from relext_bench.training.trainer import TrainConfig

# The training settings a variant may change (those a run's key holds), each with the
# value a record made before the setting existed ran with: TrainConfig's default.
SETTINGS = {k: v for k, v in dataclasses.asdict(TrainConfig()).items() if k not in UNKEYED}


def role_of(exp: Experiment, spec: str) -> str | None:
    """The comparison's role that runs `spec`: the one with its key, else one that
    differs from it only in the encoder (both encoders compute the same model; the
    grid's att_bilstm runs were made before it had a shared one)."""
    def model(text: str) -> str:
        return dataclasses.replace(parse_model_spec(text), encoder="dense").key()

    roles, key = exp.manifest.roles, parse_model_spec(spec).key()
    exact = [e.name for e in roles if e.key == key]
    if exact:
        return exact[0]
    wanted = model(spec)
    return next((e.name for e in roles if model(e.spec) == wanted), None)


def published_section(exp: Experiment) -> list[str]:
    """Each baseline's published SemEval-2010 score beside ours, by the spec that
    reproduces its configuration."""
    groups = exp.at(None)
    rows = []
    for system, published, spec, differences in SEMEVAL:
        role = role_of(exp, spec)
        mine = groups[role].scores("semeval_f1") if role in groups else np.array([])
        gap = f"{100 * mine.mean() - published:+.2f}" if len(mine) else "-"
        rows.append([system, f"{published:.1f}", mean_sd(mine), str(len(mine)), gap, f"`{spec}`", differences])
    return ["## Published numbers", "", f"Published: {SEMEVAL_SOURCE}.", "",
            table(rows, ["system (published)", "F1", "ours: official F1", "runs", "ours - published",
                         "our configuration", "what differs"]), ""] + variants_section(exp) + effects_section(exp)


def effects_section(exp: Experiment) -> list[str]:
    """The tag and MTL effects among the paper's four ye2019 variants, when the
    comparison runs them (under options of its own: `plan.paper_names`)."""
    rename = paper_names(exp.manifest.roles)
    if not rename:
        return []
    groups = {rename.get(role, role): g for role, g in exp.at(None).items()}
    pairs = [p for p in ABLATION_PAIRS if p[0] in groups and p[1] in groups]
    results = compare_all(exp, pairs, groups)
    rows = []
    for r in results:
        official = groups[r["a"]].scores("semeval_f1").mean() - groups[r["b"]].scores("semeval_f1").mean()
        rows.append([r["a"], r["b"], f"{100 * r['delta']:+.2f}", f"{100 * official:+.2f}", pval(r.get("welch_holm")),
                     pval(r.get("bootstrap_holm"), PLAN.bootstrap), pval(r.get("ar_holm"), PLAN.randomization)])
    spec = {rename[e.name]: e.spec for e in exp.manifest.roles if e.name in rename}
    return ["### Tags and MTL on this corpus", "",
            "The paper's four variants as this comparison runs them (SemEval has no entity types, so the tags "
            f"are untyped BIO: Baseline+Tag is `{spec.get('Baseline+Tag', '-')}`). ΔF1 in points on this report's "
            f"`{exp.metric}` and on the official score; the tests are this report's (on `{exp.metric}`), "
            "Holm-adjusted across these pairs.", "",
            table(rows, ["A", "B", f"Δ {exp.metric}", "Δ official", "Welch p", "paired bootstrap p",
                         "approx. rand. p"]), ""]


def changed_settings(record: RunRecord, grid: dict) -> str:
    """What the record's training did otherwise than the grid's, e.g. `optimizer adadelta, lr 1.0`."""
    cfg = record.train_config or {}
    changed = []
    for name, before in SETTINGS.items():
        mine, theirs = cfg.get(name, before), grid.get(name, before)
        if mine != theirs:
            if name == "embeddings" and mine is None:
                changed.append("no pretrained vectors")
            elif name == "refit":
                changed.append("refit on train + dev" if mine else "no refit")
            else:
                changed.append(f"{name} {mine}")
    return ", ".join(changed)


def signed_mean_sd(differences: np.ndarray) -> str:
    """Differences in points, signed: "+3.50 ± 0.71" (one: "+3.50"; none: "-")."""
    if len(differences) == 0:
        return "-"
    text = f"{100 * differences.mean():+.2f}"
    return text if len(differences) == 1 else f"{text} ± {100 * differences.std(ddof=1):.2f}"


def variants_section(exp: Experiment) -> list[str]:
    """The variants stored beside the grid, each against the grid's run of the same
    model's published configuration on the same seeds (`ours - grid`: the mean paired
    difference, with its sd over seeds)."""
    m = exp.manifest
    base = {}  # model name -> (published system, published F1, {seed: official F1 of the grid's run}, encoder)
    groups = exp.at(None)
    for system, published, spec, _ in SEMEVAL:
        name, role = parse_model_spec(spec).name, role_of(exp, spec)
        if role in groups and name not in base:
            runs = groups[role].finished
            base[name] = (system, published, {r.seed: r.test["semeval_f1"] for r in runs},
                          runs[0].model.get("encoder", "dense") if runs else "dense")
    variants = defaultdict(list)
    for record in exp.beside():
        name = record.model["name"]
        if name in base and record.test and record.test.semeval_f1 is not None:
            label = f"`{record.model['label']}`"
            encoder = record.model.get("encoder", "dense")
            if encoder != base[name][3]:  # the same model computed by the other encoder
                label += f" ({encoder} encoder)"
            variants[(name, label, changed_settings(record, m.train_config))].append(record)
    if not variants:
        return []
    rows = []
    for (name, label, changed), records in sorted(variants.items()):
        system, published, grid, _ = base[name]
        scores = np.array([r.test["semeval_f1"] for r in records])
        if all(r.refit for r in records):  # against the run's own early-stopped model: one change, same machine
            paired = np.array([r.test["semeval_f1"] - r.refit["selected_test"]["semeval_f1"] for r in records])
            changed += " (ours - grid: against the run's own early-stopped model)"
        else:
            paired = np.array([r.test["semeval_f1"] - grid[r.seed] for r in records if r.seed in grid])
        seeds = ", ".join(str(r.seed) for r in sorted(records, key=lambda r: r.seed))
        rows.append([system, label, changed or "as the grid", seeds, mean_sd(scores),
                     signed_mean_sd(paired), f"{100 * scores.mean() - published:+.2f}"])
    return ["### Where the gaps come from", "",
            "Variants of the reproduced configurations, stored beside this comparison's runs (same corpus, "
            "protocol and declared dev set): another model option, or another training setting than the "
            "grid's. `ours - grid` is the mean difference from the grid's run of the same model's published "
            "configuration on the same seed (official F1 points, ± sd over seeds).", "",
            table(rows, ["published system", "variant (model)", "training changed", "seeds", "official F1",
                         "ours - grid", "ours - published"]), ""]
