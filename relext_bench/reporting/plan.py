"""The comparison plan: which models are tested against which (every model against
the experiment's reference; in an ablation the pairs the paper's claims rest on), the
Holm family they form, and the verdict on the tag claim. The tests themselves and
their seeds and resample counts are the significance module's (`TestPlan`).
"""
from __future__ import annotations

import numpy as np

from relext_bench import significance
from relext_bench.experiments.published import TAG_BAR_POINTS
from relext_bench.models.spec import parse_model_spec
from relext_bench.reporting.experiment import Experiment, Group
from relext_bench.reporting.markdown import pval, table
from relext_bench.roles import ABLATION_PAIRS, BASELINES, PAPER_NAMES, RANDOM_TAG, REFERENCE, tagged
from relext_bench.significance import ASO_THRESHOLD, TestPlan

PLAN = significance.PLAN

def reference_pairs(exp: Experiment, groups: dict[str, Group]) -> list[tuple[str, str]]:
    ref = exp.manifest.reference
    if ref not in groups or len(groups) < 2:
        return []
    return [(ref, role) for role in exp.roles() if role != ref and role in groups]


def ablation_pairs(groups: dict[str, Group]) -> list[tuple[str, str]]:
    pairs = [(a, b) for a, b in ABLATION_PAIRS if a in groups and b in groups]
    return pairs + [(tagged(b), b) for b in BASELINES if b in groups and tagged(b) in groups]


def instance_rows(g: Group, seed: int, n_labels: int) -> np.ndarray:
    """Per-instance count rows of one seed's runs, pooled over partitions (in order)."""
    runs = sorted((r for r in g.finished if r.seed == seed), key=lambda r: r.partition)
    return np.concatenate([significance.label_rows(*r.test_labels(), n_labels) for r in runs])


def compare_pair(exp: Experiment, a: Group, b: Group, family: int, plan: TestPlan = PLAN) -> dict:
    """Model A against model B: across seeds, and across the test instances of the first
    seed both finished on every partition."""
    out = plan.compare(a.scores(exp.metric), b.scores(exp.metric), family) | {
        "bootstrap": np.nan, "ar": np.nan, "seed": None}
    parts = len(exp.manifest.partitions)
    seeds = sorted({r.seed for r in a.finished} & {r.seed for r in b.finished})
    seeds = [s for s in seeds if sum(r.seed == s for r in a.finished) == parts
             and sum(r.seed == s for r in b.finished) == parts]
    if seeds:
        k = len(a.finished[0].labels)
        ra, rb = instance_rows(a, seeds[0], k), instance_rows(b, seeds[0], k)
        if len(ra) == len(rb):
            out.update(seed=seeds[0], **plan.compare_instances(ra, rb, exp.metric))
    return out


def paper_names(roles) -> dict[str, str]:
    """Role name -> the paper's variant name, for a comparison that runs the paper's four
    ye2019 variants under options of its own (SemEval: 50-d words and untyped tags, the
    corpus having no entity types): four ye2019 roles alike but for tags (none, or one
    scheme) and objective (ranking or multitask). Empty when the roles already carry
    the paper's names or are not such four."""
    if any(r.name in PAPER_NAMES.values() for r in roles):
        return {}
    ye = {r.name: parse_model_spec(r.spec).resolved() for r in roles}
    ye = {name: s for name, s in ye.items() if s.name == "ye2019"}
    by_variant = {(s.tags != "none", s.objective): name for name, s in ye.items()}
    alike = {(s.params, s.predict_rule, s.threshold, s.encoder) for s in ye.values()}
    schemes = {s.tags for s in ye.values()} - {"none"}
    if len(ye) != 4 or set(by_variant) != set(PAPER_NAMES) or len(alike) != 1 or len(schemes) != 1:
        return {}
    return {name: PAPER_NAMES[variant] for variant, name in by_variant.items()}


def compare_all(exp: Experiment, pairs: list[tuple[str, str]], groups: dict[str, Group],
                plan: TestPlan = PLAN) -> list[dict]:
    """Tests for each (a, b) pair, Holm-adjusted across the family of pairs, per test."""
    results = [compare_pair(exp, groups[a], groups[b], len(pairs), plan) | {"a": a, "b": b} for a, b in pairs]
    return plan.adjust(results)


def points(x: float) -> str:
    return f"{100 * x:.2f}" if np.isfinite(x) else "-"


def significance_table(results: list[dict], plan: TestPlan = PLAN) -> str:
    rows = [[r["a"], r["b"], f"{100 * r['delta']:+.2f}" if np.isfinite(r["delta"]) else "-",
             pval(r.get("welch_holm")), points(r.get("detectable", np.nan)), pval(r.get("mwu_holm")),
             "-" if not np.isfinite(r["aso"]) else f"{r['aso']:.2f} / {r['aso_rev']:.2f}",
             "-" if not np.isfinite(r["d"]) else f"{r['d']:.2f}",
             pval(r.get("bootstrap_holm"), plan.bootstrap), pval(r.get("ar_holm"), plan.randomization)]
            for r in results]
    return table(rows, ["A", "B", "ΔF1 (A−B)", "Welch p", "detectable ΔF1", "MWU p", "ASO ε(A>B) / ε(B>A)",
                        "Cohen's d", "paired bootstrap p", "approx. rand. p"])


def power_note(results: list[dict], plan: TestPlan = PLAN) -> str:
    """What the across-seed tests could have seen: the detectable difference, and the
    Mann-Whitney floor where the runs are too few for it to reach the level."""
    if not results:
        return ""
    level = plan.holm_level(len(results))
    text = (f"`detectable ΔF1`: the smallest true difference Welch's test detects with {plan.power:.0%} power at "
            f"the level Holm holds this table's smallest p-value to ({plan.alpha:g} / {len(results)} = {level:.3g}), "
            "from the two models' observed spread over seeds; a smaller |ΔF1| that is not significant is "
            "what these seeds cannot resolve, not evidence of no effect.")
    floors = sorted({(r["runs"], r["mwu_floor"]) for r in results if np.isfinite(r.get("mwu_floor", np.nan))
                     and r["mwu_floor"] >= plan.alpha})
    if floors:
        runs = "; ".join(f"{a} and {b} runs: {floor:.2g}" for (a, b), floor in floors)
        text += (f" Mann-Whitney U cannot go below p = 2 / C(n_a + n_b, n_a) ({runs}), which is not below "
                 f"{plan.alpha:g}: with so few runs its p-values cannot show a difference either way.")
    return text


def significance_note(exp: Experiment, results: list[dict], plan: TestPlan = PLAN) -> str:
    seeds = {r["seed"] for r in results if r["seed"] is not None}
    return (f"Across seeds (one test score per run): Welch's t-test, Mann-Whitney U, Almost Stochastic "
            f"Order (A is almost stochastically better when ε(A>B) < {ASO_THRESHOLD}; confidence 0.95, "
            f"Bonferroni over the {len(results)} comparisons), Cohen's d. Across test instances (seed "
            f"{', '.join(map(str, sorted(seeds))) or '-'}, pooled over partitions): paired bootstrap "
            f"({plan.bootstrap} resamples; one-sided, for the observed winner) and approximate randomization "
            f"({plan.randomization}) on `{exp.metric}` "
            f"recomputed from resampled per-instance counts. Every p-value is Holm-adjusted across the "
            f"{len(results)} comparisons of this table, per test; resample seed {plan.seed}.")


def significance_section(exp: Experiment) -> list[str]:
    groups = exp.at(None)
    pairs = reference_pairs(exp, groups)
    if not pairs:
        return []
    results = compare_all(exp, pairs, groups)
    return ["## Significance against the reference", "",
            f"Reference: **{exp.manifest.reference}**. " + significance_note(exp, results), "",
            significance_table(results), "", power_note(results), ""]


def ablation_section(exp: Experiment) -> list[str]:
    groups = exp.at(None)
    pairs = ablation_pairs(groups)
    if not pairs:
        return []
    results = compare_all(exp, pairs, groups)
    lines = ["## Ablation", "", significance_note(exp, results), "", significance_table(results), "",
             power_note(results), ""]
    by_pair = {(r["a"], r["b"]): r for r in results}
    real = by_pair.get((REFERENCE, RANDOM_TAG))
    if real is not None:
        lines += ["### Verdict on the tag claim", "", verdict(real, by_pair), ""]
    return lines


def verdict(real: dict, by_pair: dict, plan: TestPlan = PLAN) -> str:
    """Does the tag gain survive the random-tag control (`real`: Baseline+MTL+Tag against
    Baseline+MTL+RandomTag), and does it clear the reviewers' 5-point bar?"""
    gain = 100 * real["delta"]
    tag_gain = by_pair.get((REFERENCE, "Baseline+MTL"))
    random_gain = by_pair.get((RANDOM_TAG, "Baseline+MTL"))
    parts = []
    if tag_gain is not None and random_gain is not None:
        parts.append(f"Real tags add {100 * tag_gain['delta']:+.2f} points over Baseline+MTL; random tags add "
                     f"{100 * random_gain['delta']:+.2f}.")
    parts.append(f"Real tags over the random-tag control: {gain:+.2f} points (Holm-adjusted Welch p "
                 f"{pval(real.get('welch_holm'))}, ASO ε {real['aso']:.2f}, approximate randomization p "
                 f"{pval(real.get('ar_holm'))}).")
    survives = ("**survives** the random-tag control (significant" if plan.significant(real) and gain > 0
                else "**does not survive** the random-tag control (not significant")
    bar = "**exceeds**" if gain >= TAG_BAR_POINTS else "**does not reach**"
    parts.append(f"The tag gain {survives}: Holm-adjusted Welch p < {plan.alpha} and ASO ε < {ASO_THRESHOLD} "
                 f"required) and {bar} the {TAG_BAR_POINTS:.0f}-point bar the paper's reviewers set.")
    return " ".join(parts)
