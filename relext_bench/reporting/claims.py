"""The paper's claims, corpus by corpus: each claim is decided by one or more of an
ablation's comparisons (`plan.ablation_pairs`), each taken from the experiment in the
corpus's results directory that ran it on the most seeds (the ablation, or a comparison
run for that question), with the tests and Holm family of that experiment's report (a
corpus with only a comparison: the pairs among its variants, so some claims are "not
run" there), and written as a table into reports/README.md between the markers
`<!-- claims -->` and `<!-- /claims -->` (`relext-bench claims`).

A comparison of A against B (A the variant the claim says is better):
- holds: A is better, significantly (Holm-adjusted Welch p < alpha and ASO ε(A>B) <
  0.2, the ablation verdict's rule);
- fails: A is not better (ΔF1 ≤ 0) and B is almost stochastically at least as good
  (ASO ε(B>A) < 0.2);
- inconclusive: anything else (with three seeds, most small differences).
The 5-point bar holds when the tag gain over the random-tag control holds and is at
least 5 points, and fails when it is below 5 points whatever its test says.
A claim over several pairs (tags help the other models; MTL helps, without and with the
tags) holds or fails when all its pairs do, and is inconclusive otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from relext_bench.errors import UserError
from relext_bench.experiments.published import TAG_BAR_POINTS
from relext_bench.experiments.store import Store
from relext_bench.reporting.build import report_name
from relext_bench.reporting.experiment import load_experiment
from relext_bench.reporting.markdown import pval, table
from relext_bench.reporting.plan import PLAN, ablation_pairs, compare_all, paper_names
from relext_bench.roles import BASELINES, CONST_TAG, RANDOM_TAG, REFERENCE, tagged
from relext_bench.significance import ASO_THRESHOLD, TestPlan

START, END = "<!-- claims -->", "<!-- /claims -->"


@dataclass(frozen=True)
class Claim:
    name: str
    pairs: tuple[tuple[str, str], ...]  # (A, B): A should beat B
    bar: float | None = None  # points A must gain over B as well


CLAIMS = (
    Claim("tags help ye2019", ((REFERENCE, "Baseline+MTL"),)),
    Claim("tags help other models", tuple((tagged(b), b) for b in BASELINES)),
    Claim("MTL helps", (("Baseline+MTL", "Baseline"), ("Baseline+MTL+Tag", "Baseline+Tag"))),
    Claim("the tag gain survives the random-tag control", ((REFERENCE, RANDOM_TAG),)),
    Claim("the tag gain survives the parameter-matched control", ((REFERENCE, CONST_TAG),)),
    Claim(f"the tag gain clears the reviewers' {TAG_BAR_POINTS:.0f}-point bar",
          ((REFERENCE, RANDOM_TAG),), bar=TAG_BAR_POINTS),
)


def judge(result: dict, bar: float | None = None, plan: TestPlan = PLAN) -> str:
    """holds, fails or inconclusive for one comparison (see the module's docstring)."""
    gain = 100 * result["delta"]
    if bar is not None and gain < bar:
        return "fails"
    if gain > 0 and plan.significant(result):
        return "holds"
    if bar is None and gain <= 0 and result["aso_rev"] < ASO_THRESHOLD:
        return "fails"
    return "inconclusive"


def decide(claim: Claim, results: dict[tuple[str, str], dict], plan: TestPlan = PLAN) -> tuple[str, list[dict]]:
    """The claim's verdict from the comparisons it rests on that were run (both models
    with finished runs); ("not run", []) when none was."""
    found = [results[p] for p in claim.pairs if p in results and math.isfinite(results[p]["delta"])]
    if not found:
        return "not run", []
    verdicts = {judge(r, claim.bar, plan) for r in found}
    return (verdicts.pop() if len(verdicts) == 1 else "inconclusive"), found


def cell(verdict: str, found: list[dict], link: str) -> str:
    """`[verdict](link) (ΔF1, p; ...)`; an inconclusive claim adds each comparison's
    detectable difference (`significance.detectable_effect`) and its seeds. Pairs decided
    by another experiment than the corpus's own link to theirs."""
    if not found:
        return "not run"

    def one(r: dict) -> str:
        text = f"{100 * r['delta']:+.2f}, p {pval(r.get('welch_holm'))}"
        if verdict == "inconclusive" and math.isfinite(r.get("detectable", math.nan)):
            text += f", detectable {100 * r['detectable']:.1f}"
            text += f" with {r['seeds']} seeds" if "seeds" in r else ""
        return f"[{text}]({r['link']})" if r.get("link", link) != link else text

    return f"[{verdict}]({link}) ({'; '.join(one(r) for r in found)})"


def corpus_results(directory: str | Path) -> tuple[str, str, dict]:
    """(corpus name, link to the deciding report, results by pair) for the experiments in
    a results directory: each pair from the experiment that ran it on the most seeds
    (ties: the ablation, then the comparison holding most of the ablation's pairs), so
    that a comparison run for one question (e.g. MTL with tags on 10 seeds) decides it.
    A result carries its own `link` and `seeds`; the link returned is the ablation's, or
    for a corpus with only comparisons, the one holding most of the ablation's pairs."""
    store = Store(directory)
    manifests = store.manifests()

    def named(i):
        rename = paper_names(manifests[i].roles)
        return {rename.get(r.name, r.name) for r in manifests[i].roles}

    ablations = [i for i, m in manifests.items() if m.kind == "ablate"]
    compares = sorted((i for i, m in manifests.items() if m.kind == "compare"),
                      key=lambda i: -len(ablation_pairs(named(i))))
    if not ablations and not compares:
        raise UserError(f"{directory}: no ablation or comparison manifest "
                        f"(run `relext-bench ablate` with --out {directory})")
    results, corpus, first, fallback = {}, None, None, None
    for i in ablations[:1] + compares:
        exp = load_experiment(directory, i)
        link = f"{report_name(exp)}.md#{'ablation' if exp.kind == 'ablate' else 'results'}"
        fallback = fallback or (exp.manifest.corpus["name"], link)
        rename = paper_names(exp.manifest.roles)
        groups = {rename.get(role, role): g for role, g in exp.at(None).items()}
        pairs = ablation_pairs(groups)
        if not pairs:
            continue
        corpus, first = corpus or exp.manifest.corpus["name"], first or link
        for r in compare_all(exp, pairs, groups):
            r |= {"link": link, "seeds": min(len(groups[r["a"]].finished), len(groups[r["b"]].finished))}
            pair = (r["a"], r["b"])
            if pair not in results or r["seeds"] > results[pair]["seeds"]:
                results[pair] = r
    if corpus is None:  # no experiment holds a pair: every claim is "not run"
        corpus, first = fallback
    return corpus, first, results


def claims_table(corpora: list[tuple[str, str, dict]], plan: TestPlan = PLAN) -> str:
    rows = []
    for claim in CLAIMS:
        rows.append([claim.name] + [cell(*decide(claim, results, plan), link) for _, link, results in corpora])
    return table(rows, ["claim", *(name for name, _, _ in corpora)])


def write_claims(directories: list[str | Path], readme: str | Path) -> Path:
    """Replaces the block between the markers in `readme` with the claims table."""
    readme = Path(readme)
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise UserError(f"{readme}: no {START} ... {END} block to write the claims table into")
    corpora = [corpus_results(d) for d in directories]
    body = ("Cells: the verdict (linked to the ablation that decides it, or to the comparison where a corpus "
            "has no ablation), then ΔF1 in points and the Welch p of each comparison it rests on, "
            "Holm-adjusted across that experiment's pairs; the rules are in "
            "`relext_bench/reporting/claims.py` (holds: significant and in the claimed direction; "
            "fails: the other variant is almost stochastically at least as good, or the gain is below "
            "the bar; inconclusive otherwise). An inconclusive cell adds, per comparison, the smallest "
            "difference its seeds could detect (80% power at the level Holm holds the experiment's smallest "
            "p-value to, from the observed spread over seeds): a smaller effect is what the experiment "
            "cannot resolve.\n\n" + claims_table(corpora))
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    readme.write_text(f"{head}{START}\n{body}\n{END}{tail}", encoding="utf-8")
    return readme
