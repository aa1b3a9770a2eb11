"""Markdown reports built only from an experiment's manifest and its stored run records
(and, for tuning, the study's stored trials): `relext-bench report DIR` rebuilds them.

A report opens with warnings a reader cannot miss (synthetic corpus, leaky protocol,
failed runs), then a signature line, the settings, corpus statistics, the main table,
published numbers where the corpus has them, significance against the reference
model (Holm-adjusted), per-type F1, the ablation verdict or the sweep, figures (PNG
beside the Markdown), run time and throughput, and the environment.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tabulate import tabulate

from relext_bench import __version__
from relext_bench import stats as st
from relext_bench.errors import UserError
from relext_bench.experiments.published import PUBLISHED, SOURCE, TAG_BAR_POINTS
from relext_bench.experiments.store import Store
from relext_bench.training.records import unpack_labels

TEST_SEED = 0
BOOTSTRAP = 1000
RANDOMIZATION = 2000
ASO_RESAMPLES = 500
ALPHA = 0.05


@dataclass
class Group:
    """The runs of one model (role) in an experiment, at one negative ratio."""

    role: str
    label: str
    finished: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    missing: int = 0

    def scores(self, metric: str) -> np.ndarray:
        return np.array([r["test"][metric] for r in self.finished], dtype=float)


@dataclass
class Experiment:
    kind: str
    manifest: dict
    groups: dict[tuple[str, float | None], Group]

    @property
    def metric(self) -> str:
        return self.manifest["metric"]

    def roles(self) -> list[str]:
        return [r["name"] for r in self.manifest["roles"]]

    def at(self, ratio=None) -> dict[str, Group]:
        return {role: g for (role, r), g in self.groups.items() if r == ratio}

    def records(self) -> list[dict]:
        return [r for g in self.groups.values() for r in g.finished + g.failed]


def load(directory: str | Path, ident: str) -> Experiment:
    """The experiment whose manifest has id `ident` (`compare`, or `compare@NAME` for a named one)."""
    store = Store(directory)
    manifest = store.manifest(ident)
    kind = ident.split("@", 1)[0]
    if manifest is None:
        raise UserError(f"{directory}: no {ident}.json (run `relext-bench {kind}` with --out {directory})")
    labels = {r["name"]: r["label"] for r in manifest["roles"]}
    groups: dict[tuple[str, float | None], Group] = {}
    for run in manifest["runs"]:
        g = groups.setdefault((run["role"], run["neg_ratio"]), Group(run["role"], labels[run["role"]]))
        record = store.get(run["key"])
        if record is None:
            g.missing += 1
        elif record.get("status") == "finished":
            g.finished.append(record)
        else:
            g.failed.append(record)
    return Experiment(kind, manifest, groups)


# ---- formatting ---------------------------------------------------------------------
def pct(x: float) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{100 * x:.2f}"


def mean_sd(values: np.ndarray) -> str:
    if len(values) == 0:
        return "-"
    if len(values) == 1:
        return f"{100 * values[0]:.2f}"
    return f"{100 * values.mean():.2f} ± {100 * values.std(ddof=1):.2f}"


def pval(p: float | None, resamples: int | None = None) -> str:
    if p is None or not np.isfinite(p):
        return "n/a"
    if resamples and p < 1 / resamples:  # a resampling test cannot resolve below 1/resamples
        return f"< {1 / resamples:.0e}"
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def table(rows, headers) -> str:
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def metric_parts(metric: str) -> tuple[str, str]:
    prefix = metric.removesuffix("_f1")
    return (f"{prefix}_p", f"{prefix}_r") if prefix in ("micro", "weighted") else (None, None)


# ---- signature, warnings ------------------------------------------------------------------
def signature(exp: Experiment) -> str:
    m = exp.manifest
    envs = [r.get("environment", {}) for r in exp.records() if r.get("environment")]
    backends = sorted({e.get("kernel_backend", "?") for e in envs}) or ["none"]
    torch_versions = sorted({e.get("packages", {}).get("torch", "?") for e in envs}) or ["?"]
    policies = sorted({r["policy"]["digest"] for r in exp.records() if "policy" in r})
    seeds = m["seeds"]
    return "|".join([
        f"corpus:{m['corpus']['name']}@{m['corpus']['digest']}", f"protocol:{m['protocol']}",
        f"policy:{'+'.join(policies) or '-'}", f"metric:{m['metric']}", f"seeds:{seeds[0]}-{seeds[-1]}",
        f"partitions:{len(m['partitions'])}",
        st.signature(TEST_SEED, BOOTSTRAP, RANDOMIZATION, ASO_RESAMPLES),
        f"relext_bench:{__version__}", f"torch:{'+'.join(torch_versions)}", f"kernels:{'+'.join(backends)}",
    ])


def warnings(exp: Experiment) -> list[str]:
    m = exp.manifest
    out = []
    if m["corpus"]["synthetic"]:
        out.append("> **SYNTHETIC CORPUS.** `{}` is generated by relext_bench from a seed; these numbers "
                   "test the harness and say nothing about real data.".format(m["corpus_spec"]))
    leaks = [r["leak_probe"]["test"] for r in exp.records() if r.get("leak_probe")]
    if m["protocol"] == "paper" or any(lk.get("informative") for lk in leaks):
        lifts = [lk["lift"] for lk in leaks]
        out.append("> **LEAKY PROTOCOL.** Under the `paper` protocol the instance order reveals the label "
                   "(mention 1 right of mention 2 occurs only in positives) and the held-out fold is used "
                   "for early stopping and scoring. "
                   + (f"The leak probe alone reaches test F1 {pct(np.mean([lk['f1'] for lk in leaks]))} "
                      f"(lift {np.mean(lifts):.1f} over the base rate)." if leaks else ""))
    failed = [r for g in exp.groups.values() for r in g.failed]
    missing = sum(g.missing for g in exp.groups.values())
    if failed:
        out.append(f"> **{len(failed)} FAILED RUN(S)**, listed under *Failed runs*; they are not averaged in.")
    if missing:
        out.append(f"> **{missing} run(s) not finished yet** (the experiment was stopped); "
                   "re-running the same command completes it.")
    finished = [r for g in exp.groups.values() for r in g.finished]
    cut = [r for r in finished if r.get("best_epoch") == r["train_config"]["max_epochs"]]
    if cut:
        out.append(f"> **{len(cut)} of {len(finished)} finished runs were still improving at the epoch limit** "
                   f"(best epoch = max_epochs {m['train_config']['max_epochs']}): these models are under-trained "
                   "and the comparison is one of short training budgets.")
    if m.get("preset"):
        out.append(f"> Settings sized by the `{m['preset']}` preset (see *Settings*), smaller than the paper's.")
    return out


# ---- sections ---------------------------------------------------------------------
def settings_section(exp: Experiment) -> list[str]:
    m = exp.manifest
    cfg = m["train_config"]
    keep = ["optimizer", "lr", "batch_size", "max_epochs", "early_stopping", "patience", "grad_clip", "threads"]
    lines = ["## Settings", "",
             f"Corpus `{m['corpus_spec']}` ({m['corpus']['language']}), protocol `{m['protocol']}` "
             f"({', '.join(m['partitions'])}), headline metric `{m['metric']}` on the test data, seeds "
             f"{', '.join(map(str, m['seeds']))}, {m.get('workers', 1)} worker process(es).", "",
             "Training: " + ", ".join(f"{k} {cfg[k]}" for k in keep if k in cfg) + ".", ""]
    rows = [[r["name"], f"`{r['spec']}`", r["key"]] for r in m["roles"]]
    params = defaultdict(set)
    for g in exp.groups.values():
        for rec in g.finished:
            params[g.role].add(rec.get("parameters"))
    rows = [row + [_span(sorted(x for x in params[row[0]] if x))] for row in rows]
    headers = ["model", "spec", "spec key", "parameters"]
    role_seeds = [r.get("seeds", m["seeds"]) for r in m["roles"]]
    if any(seeds != m["seeds"] for seeds in role_seeds):  # --baseline-seeds
        rows = [row + [", ".join(map(str, seeds))] for row, seeds in zip(rows, role_seeds)]
        headers.append("seeds")
        lines += ["Some models run on fewer seeds (`seeds` column): their across-seed tests are left out "
                  "where they have fewer than two runs, and the per-instance tests use the first seed both ran.", ""]
    lines += [table(rows, headers), ""]
    if m.get("tuned"):
        t = m["tuned"]
        lines += [f"`{t['model']}` uses the best parameters of study `{t['study']}`: "
                  + ", ".join(f"{k}={v}" for k, v in t["params"].items()) + ".", ""]
    return lines


def _span(values: list[int]) -> str:
    """Parameter counts vary with each partition's vocabulary: show their range."""
    if not values:
        return "-"
    return f"{values[0]:,}" if values[0] == values[-1] else f"{values[0]:,} to {values[-1]:,}"


def corpus_section(exp: Experiment) -> list[str]:
    cs = exp.manifest["corpus_stats"]
    keys = ["documents", "sentences", "entity_mentions", "relation_mentions", "instances", "positives", "negatives"]
    rows = [[name, *(f"{part[k]:,}" for k in keys)] for name, part in cs["splits"].items()]
    lines = ["## Corpus", "",
             ("Synthetic, generated by relext_bench. " if cs["synthetic"] else "")
             + f"Digest `{cs['digest']}`; {cs['entity_mentions_per_sentence']} entity mentions and "
             f"{cs['relation_mentions_per_sentence']} relation mentions per sentence; "
             f"{cs['negatives_per_positive']} negative pairs per positive under this protocol's policy.", "",
             table(rows, ["split", *keys]), ""]
    if cs.get("skipped"):
        lines += ["Skipped or suspicious input, counted by the loader: "
                  + "; ".join(f"{k}: {v:,}" for k, v in cs["skipped"].items()) + ".", ""]
    return lines


def main_rows(exp: Experiment, groups: dict[str, Group]) -> list[list[str]]:
    p_key, r_key = metric_parts(exp.metric)
    rows = []
    for role in exp.roles():
        g = groups.get(role)
        if g is None:
            continue
        f1 = g.scores(exp.metric)
        ci = st.bootstrap_ci(f1, seed=TEST_SEED) if len(f1) > 1 else (np.nan, np.nan)
        p = g.scores(p_key) if p_key else np.array([])
        r = g.scores(r_key) if r_key else np.array([])
        state = f"{len(g.finished)}" + (f" (+{len(g.failed)} failed)" if g.failed else "") \
            + (f" ({g.missing} missing)" if g.missing else "")
        rows.append([role, state, mean_sd(p), mean_sd(r), mean_sd(f1),
                     f"[{pct(ci[0])}, {pct(ci[1])}]" if len(f1) > 1 else "-",
                     pct(f1.min()) if len(f1) else "-", pct(f1.max()) if len(f1) else "-"])
    return rows


def results_section(exp: Experiment) -> list[str]:
    metric = exp.metric
    lines = ["## Results", "",
             f"Test `{metric}` in percent over finished runs (mean ± sd over seeds"
             + (" and folds" if len(exp.manifest["partitions"]) > 1 else "")
             + "; 95% CI: bootstrap of the mean; failed runs are not averaged in).", "",
             table(main_rows(exp, exp.at(None)), ["model", "runs", "P", "R", "F1", "95% CI", "min", "max"]), ""]
    return lines


def published_section(exp: Experiment) -> list[str]:
    name = exp.manifest["corpus"]["name"]
    if name not in PUBLISHED:
        return []
    ours = {role: g.scores(exp.metric) for role, g in exp.at(None).items()}
    rows = []
    for system, role, p, r, f in PUBLISHED[name]:
        mine = ours.get(role) if role else None
        rows.append([system, f"{p:.1f}", f"{r:.1f}", f"{f:.1f}",
                     mean_sd(mine) if mine is not None and len(mine) else "-"])
    return ["## Published numbers", "",
            f"Published: {SOURCE}. Ours: this report's `{exp.metric}` under protocol "
            f"`{exp.manifest['protocol']}`"
            + (" (the paper's protocol)." if exp.manifest["protocol"] == "paper"
               else " (not the paper's protocol, so not like for like)."), "",
            table(rows, ["system (published)", "P", "R", "F1", f"ours: {exp.metric}"]), ""]


def instance_rows(g: Group, seed: int, metric_labels: int) -> np.ndarray:
    """Per-instance count rows of one seed's runs, pooled over partitions (in order)."""
    runs = sorted((r for r in g.finished if r["seed"] == seed), key=lambda r: r["partition"])
    return np.concatenate([st.label_rows(unpack_labels(r["predictions"]["test_gold"]),
                                         unpack_labels(r["predictions"]["test_pred"]), metric_labels)
                           for r in runs])


def compare_pair(exp: Experiment, a: Group, b: Group, family: int) -> dict:
    """Model A against model B: across seeds and across test instances."""
    sa, sb = a.scores(exp.metric), b.scores(exp.metric)
    out = {"delta": float(sa.mean() - sb.mean()) if len(sa) and len(sb) else np.nan,
           "welch": np.nan, "mwu": np.nan, "aso": np.nan, "aso_rev": np.nan, "d": np.nan,
           "bootstrap": np.nan, "ar": np.nan, "seed": None}
    if len(sa) >= 2 and len(sb) >= 2:
        out.update(welch=st.welch(sa, sb)["p"], mwu=st.mann_whitney(sa, sb)["p"], d=st.cohens_d(sa, sb),
                   aso=st.aso(sa, sb, comparisons=family, resamples=ASO_RESAMPLES, seed=TEST_SEED),
                   aso_rev=st.aso(sb, sa, comparisons=family, resamples=ASO_RESAMPLES, seed=TEST_SEED))
    seeds = sorted({r["seed"] for r in a.finished} & {r["seed"] for r in b.finished})
    parts = len(exp.manifest["partitions"])
    seeds = [s for s in seeds if sum(r["seed"] == s for r in a.finished) == parts
             and sum(r["seed"] == s for r in b.finished) == parts]
    if seeds:
        k = len(a.finished[0]["labels"])
        ra, rb = instance_rows(a, seeds[0], k), instance_rows(b, seeds[0], k)
        if len(ra) == len(rb):
            fn = st.count_metric(exp.metric)
            ra, rb = st.metric_rows(ra, exp.metric), st.metric_rows(rb, exp.metric)
            out.update(seed=seeds[0],
                       bootstrap=st.paired_bootstrap(ra, rb, fn, BOOTSTRAP, TEST_SEED)["p"],
                       ar=st.approximate_randomization(ra, rb, fn, RANDOMIZATION, TEST_SEED)["p"])
    return out


def significance(exp: Experiment, pairs: list[tuple[str, str]], groups: dict[str, Group]) -> list[dict]:
    """Tests for each (a, b) pair, Holm-adjusted across the family of pairs, per test."""
    results = [compare_pair(exp, groups[a], groups[b], len(pairs)) | {"a": a, "b": b} for a, b in pairs]
    for test in ("welch", "mwu", "bootstrap", "ar"):
        ok = [i for i, r in enumerate(results) if np.isfinite(r[test])]
        for i, adj in zip(ok, st.holm([results[i][test] for i in ok])):
            results[i][test + "_holm"] = adj
    return results


def significance_table(results: list[dict]) -> str:
    rows = [[r["a"], r["b"], f"{100 * r['delta']:+.2f}" if np.isfinite(r["delta"]) else "-",
             pval(r.get("welch_holm")), pval(r.get("mwu_holm")),
             "-" if not np.isfinite(r["aso"]) else f"{r['aso']:.2f} / {r['aso_rev']:.2f}",
             "-" if not np.isfinite(r["d"]) else f"{r['d']:.2f}",
             pval(r.get("bootstrap_holm"), BOOTSTRAP), pval(r.get("ar_holm"), RANDOMIZATION)] for r in results]
    return table(rows, ["A", "B", "ΔF1 (A−B)", "Welch p", "MWU p", "ASO ε(A>B) / ε(B>A)", "Cohen's d",
                        "paired bootstrap p", "approx. rand. p"])


def significance_note(exp: Experiment, results: list[dict]) -> str:
    seeds = {r["seed"] for r in results if r["seed"] is not None}
    return (f"Across seeds (one test score per run): Welch's t-test, Mann-Whitney U, Almost Stochastic "
            f"Order (A is almost stochastically better when ε(A>B) < {st.ASO_THRESHOLD}; confidence 0.95, "
            f"Bonferroni over the {len(results)} comparisons), Cohen's d. Across test instances (seed "
            f"{', '.join(map(str, sorted(seeds))) or '-'}, pooled over partitions): paired bootstrap "
            f"({BOOTSTRAP} resamples; one-sided, for the observed winner) and approximate randomization ({RANDOMIZATION}) on `{exp.metric}` "
            f"recomputed from resampled per-instance counts. Every p-value is Holm-adjusted across the "
            f"{len(results)} comparisons of this table, per test; resample seed {TEST_SEED}.")


def significance_section(exp: Experiment) -> list[str]:
    groups = exp.at(None)
    ref = exp.manifest.get("reference")
    if ref not in groups or len(groups) < 2:
        return []
    pairs = [(ref, role) for role in exp.roles() if role != ref and role in groups]
    results = significance(exp, pairs, groups)
    return ["## Significance against the reference", "",
            f"Reference: **{ref}**. " + significance_note(exp, results), "", significance_table(results), ""]


def per_type_section(exp: Experiment, groups: dict[str, Group]) -> list[str]:
    roles = [r for r in exp.roles() if r in groups and groups[r].finished]
    if not roles:
        return []
    first = groups[roles[0]].finished
    labels = list(first[0]["test"]["per_label"])
    seed = first[0]["seed"]
    rows = []
    for label in labels:
        support = sum(r["test"]["per_label"][label]["support"] for r in first if r["seed"] == seed)
        rows.append([label, f"{support:,}"] + [
            pct(np.mean([r["test"]["per_label"].get(label, {}).get("f1", np.nan) for r in groups[role].finished]))
            for role in roles])
    return ["## Per-type F1", "", "Test F1 per relation label in percent, mean over finished runs; "
            "support: the label's test instances (summed over partitions).", "", table(rows, ["label", "support", *roles]), ""]


def timing_section(exp: Experiment) -> list[str]:
    rows, total = [], 0.0
    for role in exp.roles():
        for (r_name, ratio), g in exp.groups.items():
            if r_name != role or not g.finished:
                continue
            train = [r["timings"]["train_s"] for r in g.finished]
            total += sum(train) + sum(r["timings"].get("build_s", 0) + r["timings"].get("evaluate_s", 0)
                                      for r in g.finished)
            rows.append([role + ("" if ratio is None and len(exp.manifest["ratios"]) == 1 else f" @ {ratio or 'all'}"),
                         f"{np.mean([r['epochs'] for r in g.finished]):.1f}",
                         f"{np.mean([r['best_epoch'] for r in g.finished]):.1f}",
                         f"{np.mean(train):.1f}",
                         f"{np.mean([r['timings']['train_instances_per_s'] for r in g.finished]):,.0f}",
                         f"{np.mean([r['instances']['train'] for r in g.finished]):,.0f}"])
    return ["## Run time and throughput", "",
            f"Summed over finished runs: {total / 60:.1f} minutes of run time (build, train, evaluate).", "",
            table(rows, ["model", "epochs", "best epoch", "train s / run", "train instances/s",
                         "train instances"]), ""]


def leak_section(exp: Experiment) -> list[str]:
    leaks = [r["leak_probe"]["test"] for r in exp.records() if r.get("leak_probe")]
    if not leaks:
        return []
    f1 = np.array([lk["f1"] for lk in leaks])
    lift = np.array([lk["lift"] for lk in leaks])
    return ["## Leak probe", "",
            f"The rule \"mention 1 right of mention 2 ⇒ relation\" as a relation identifier on each run's test "
            f"data: F1 {pct(f1.mean())}, precision lift {lift.mean():.2f} over the base rate "
            f"({'informative: the protocol leaks' if any(lk['informative'] for lk in leaks) else 'uninformative: no order leak'}).",
            ""]


def failed_section(exp: Experiment) -> list[str]:
    failed = [(g.role, r) for g in exp.groups.values() for r in g.failed]
    if not failed:
        return []
    rows = [[role, r.get("partition"), r.get("seed"), r.get("neg_ratio") or "all", r.get("failure", "?")]
            for role, r in failed]
    return ["## Failed runs", "", table(rows, ["model", "partition", "seed", "neg ratio", "reason"]), ""]


def environment_section(exp: Experiment) -> list[str]:
    envs = [r["environment"] for r in exp.records() if r.get("environment")]
    if not envs:
        return []
    e = envs[0]
    commits = sorted({x.get("git_commit") or "unknown" for x in envs})
    return ["## Environment", "",
            f"Python {e['python']} on {e['platform']} ({e['machine']}), CPU {e['cpu']}, {e['cpu_count']} "
            f"cores, torch threads per run {sorted({x['torch_threads'] for x in envs})}, GPU {e['gpu'] or 'none'}; "
            + ", ".join(f"{k} {v}" for k, v in e["packages"].items())
            + f"; kernel backend {', '.join(sorted({x['kernel_backend'] for x in envs}))}; "
            f"harness commit(s) {', '.join(c[:12] + ('+dirty' if c.endswith('+dirty') else '') for c in commits)}.",
            ""]


# ---- ablation and sweep ------------------------------------------------------------------
ABLATION_PAIRS = [
    ("Baseline+Tag", "Baseline"), ("Baseline+MTL+Tag", "Baseline+MTL"), ("Baseline+MTL", "Baseline"),
    ("Baseline+MTL+Tag", "Baseline+MTL+RandomTag"), ("Baseline+MTL+RandomTag", "Baseline+MTL"),
    ("Baseline+MTL+Tag", "Baseline+MTL+ConstTag (param-matched)"),
    ("Baseline+MTL+Tag", "Baseline+MTL+UntypedTag"),
]


def ablation_section(exp: Experiment) -> list[str]:
    groups = exp.at(None)
    pairs = [(a, b) for a, b in ABLATION_PAIRS if a in groups and b in groups]
    pairs += [(f"{b}+Tag", b) for b in ("cnn", "pcnn", "cr_cnn", "att_bilstm") if b in groups and f"{b}+Tag" in groups]
    if not pairs:
        return []
    results = significance(exp, pairs, groups)
    lines = ["## Ablation", "", significance_note(exp, results), "", significance_table(results), ""]
    by_pair = {(r["a"], r["b"]): r for r in results}
    real = by_pair.get(("Baseline+MTL+Tag", "Baseline+MTL+RandomTag"))
    if real is not None:
        lines += ["### Verdict on the tag claim", "", verdict(real, by_pair), ""]
    return lines


def verdict(real: dict, by_pair: dict) -> str:
    """Does the tag gain survive the random-tag control, and does it clear the reviewers' 5-point bar?"""
    gain = 100 * real["delta"]
    significant = (real.get("welch_holm", 1) < ALPHA and real["aso"] < st.ASO_THRESHOLD)
    tag_gain = by_pair.get(("Baseline+MTL+Tag", "Baseline+MTL"))
    random_gain = by_pair.get(("Baseline+MTL+RandomTag", "Baseline+MTL"))
    parts = []
    if tag_gain is not None and random_gain is not None:
        parts.append(f"Real tags add {100 * tag_gain['delta']:+.2f} points over Baseline+MTL; random tags add "
                     f"{100 * random_gain['delta']:+.2f}.")
    parts.append(f"Real tags over the random-tag control: {gain:+.2f} points (Holm-adjusted Welch p "
                 f"{pval(real.get('welch_holm'))}, ASO ε {real['aso']:.2f}, approximate randomization p "
                 f"{pval(real.get('ar_holm'))}).")
    survives = ("**survives** the random-tag control (significant" if significant and gain > 0
                else "**does not survive** the random-tag control (not significant")
    bar = "**exceeds**" if gain >= TAG_BAR_POINTS else "**does not reach**"
    parts.append(f"The tag gain {survives}: Holm-adjusted Welch p < {ALPHA} and ASO ε < {st.ASO_THRESHOLD} "
                 f"required) and {bar} the {TAG_BAR_POINTS:.0f}-point bar the paper's reviewers set.")
    return " ".join(parts)


def sweep_section(exp: Experiment, figure: str | None) -> list[str]:
    ratios = exp.manifest["ratios"]
    roles = exp.roles()
    rows = []
    for ratio in ratios:
        groups = exp.at(ratio)
        actual = [r["instances"]["train"] - r["instances"]["train_positives"] for g in groups.values()
                  for r in g.finished]
        pos = [r["instances"]["train_positives"] for g in groups.values() for r in g.finished]
        real_ratio = f"{np.mean(actual) / np.mean(pos):.2f}" if pos else "-"
        rows.append([("all" if ratio is None else f"{ratio:g}"), real_ratio]
                    + [mean_sd(groups[r].scores(exp.metric)) if r in groups else "-" for r in roles])
    lines = ["## Imbalance sweep", "",
             "Training negatives subsampled (seeded, without replacement) to the negative:positive ratio; "
             f"dev and test data untouched. Test `{exp.metric}` in percent, mean ± sd over seeds.", "",
             table(rows, ["ratio", "actual train ratio", *roles]), ""]
    if len(roles) >= 2:
        a, b = roles[-1], roles[0]
        gains = []
        for ratio in ratios:
            g = exp.at(ratio)
            if a in g and b in g and g[a].finished and g[b].finished:
                gains.append(f"{'all' if ratio is None else f'{ratio:g}'}: "
                             f"{100 * (g[a].scores(exp.metric).mean() - g[b].scores(exp.metric).mean()):+.2f}")
        lines += [f"Gain of {a} over {b} by ratio (points): " + "; ".join(gains) + ".", ""]
    if figure:
        lines += [f"![F1 against the negative:positive ratio]({figure})", ""]
    return lines


# ---- figures --------------------------------------------------------------------------------
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_per_run(exp: Experiment, path: Path) -> bool:
    groups = exp.at(None)
    roles = [r for r in exp.roles() if r in groups and groups[r].finished]
    if not roles:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(roles) + 2), 4.2))
    seeds = exp.manifest["seeds"]
    cmap = plt.get_cmap("tab10")
    for i, role in enumerate(roles):
        runs = groups[role].finished
        for r in runs:
            x = i + 0.25 * (seeds.index(r["seed"]) - (len(seeds) - 1) / 2) / max(len(seeds), 1)
            ax.scatter(x, 100 * r["test"][exp.metric], color=cmap(seeds.index(r["seed"]) % 10), s=18, zorder=3)
        ax.hlines(100 * np.mean([r["test"][exp.metric] for r in runs]), i - 0.3, i + 0.3, color="black", lw=1.5)
        for _ in groups[role].failed:
            ax.scatter(i, ax.get_ylim()[0], marker="x", color="red")
    ax.set_xticks(range(len(roles)), roles, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(f"test {exp.metric} (%)")
    title = f"{exp.manifest['corpus']['name']} ({exp.manifest['protocol']}): one point per run, colour = seed"
    if exp.manifest["corpus"]["synthetic"]:
        title = "SYNTHETIC " + title
    ax.set_title(title, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def figure_sweep(exp: Experiment, path: Path) -> bool:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    plotted = False
    for role in exp.roles():
        xs, ys, es = [], [], []
        for ratio in exp.manifest["ratios"]:
            g = exp.at(ratio).get(role)
            if g is None or not g.finished:
                continue
            actual = np.mean([(r["instances"]["train"] - r["instances"]["train_positives"])
                              / r["instances"]["train_positives"] for r in g.finished])
            s = g.scores(exp.metric)
            xs.append(actual)
            ys.append(100 * s.mean())
            es.append(100 * s.std(ddof=1) if len(s) > 1 else 0)
        if xs:
            order = np.argsort(xs)
            ax.errorbar(np.array(xs)[order], np.array(ys)[order], yerr=np.array(es)[order], marker="o",
                        capsize=3, label=role)
            plotted = True
    if not plotted:
        plt.close(fig)
        return False
    ax.set_xscale("log")
    ax.set_xlabel("training negatives per positive (log scale; rightmost = all)")
    ax.set_ylabel(f"test {exp.metric} (%)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(("SYNTHETIC " if exp.manifest["corpus"]["synthetic"] else "")
                 + f"{exp.manifest['corpus']['name']}: F1 against imbalance", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ---- whole reports --------------------------------------------------------------------------
def report_name(exp: Experiment) -> str:
    """The name given with --name, else CORPUS-PROTOCOL-KIND."""
    m = exp.manifest
    return m.get("report_name") or f"{m['corpus']['name']}-{m['protocol']}-{exp.kind}"


def render(exp: Experiment, reports: Path, name: str) -> str:
    m = exp.manifest
    figures = reports / name
    figures.mkdir(parents=True, exist_ok=True)
    title = {"compare": "comparison", "ablate": "ablation", "sweep": "imbalance sweep"}[exp.kind]
    lines = [f"# {m['corpus']['name']}: {title} ({m['protocol']} protocol)", ""]
    lines += [w + "\n" for w in warnings(exp)]
    lines += [f"Signature: `{signature(exp)}`", "",
              f"Built by `relext-bench report` from {len(exp.records())} stored run records "
              f"({sum(len(g.finished) for g in exp.groups.values())} finished).", ""]
    lines += settings_section(exp) + corpus_section(exp)
    if exp.kind == "sweep":
        fig = f"{name}/f1_vs_ratio.png" if figure_sweep(exp, figures / "f1_vs_ratio.png") else None
        lines += sweep_section(exp, fig)
    else:
        lines += results_section(exp) + published_section(exp)
        if exp.kind == "ablate":
            lines += ablation_section(exp)
        else:
            lines += significance_section(exp)
        if figure_per_run(exp, figures / "f1_per_run.png"):
            lines += [f"![test {exp.metric} per run]({name}/f1_per_run.png)", ""]
        lines += per_type_section(exp, exp.at(None))
    if m.get("tuned") and m["tuned"].get("snapshot"):
        from relext_bench.experiments.tune import tuning_section

        lines += tuning_section(m["tuned"]["snapshot"], reports, name)
    lines += leak_section(exp) + failed_section(exp) + timing_section(exp) + environment_section(exp)
    return "\n".join(lines).rstrip() + "\n"


def build(directory: str | Path, reports: str | Path = "reports", kinds: list[str] | None = None,
          name: str | None = None, ids: list[str] | None = None) -> list[Path]:
    """Writes reports/NAME.md (and reports/NAME/*.png) for each experiment in DIR (of
    the given kinds, or with the given manifest ids; default: every one)."""
    store = Store(directory)
    found = store.manifests()
    chosen = ids or [i for i, m in found.items() if kinds is None or m.get("kind", i.split("@")[0]) in kinds]
    if not chosen:
        what = f"{'/'.join(kinds)} " if kinds else ""
        raise UserError(f"{directory}: no {what}experiment manifest (compare.json, ablate.json, sweep.json, "
                        "or KIND@NAME.json)")
    reports = Path(reports)
    written = []
    for ident in chosen:
        exp = load(directory, ident)
        report = name if name and len(chosen) == 1 else report_name(exp)
        path = reports / f"{report}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(exp, reports, report), encoding="utf-8")
        written.append(path)
    return written
