"""Whole reports: `build(DIR)` writes reports/NAME.md (and reports/NAME/*.png) for the
experiments whose manifests are in a results directory."""
from __future__ import annotations

from pathlib import Path

from relext_bench.data.registry import report_prefix
from relext_bench.errors import UserError
from relext_bench.experiments.store import Store
from relext_bench.reporting import figures, plan, sections, timing
from relext_bench.reporting.experiment import Experiment, load_experiment
from relext_bench.reporting.tuning import tuning_section

TITLES = {"compare": "comparison", "ablate": "ablation", "sweep": "imbalance sweep"}


def report_name(exp: Experiment) -> str:
    """The name given with --name, else CORPUS-PROTOCOL-KIND (the user's data: by its
    file or folder name and digest, `registry.slug`)."""
    m = exp.manifest
    corpus = report_prefix(m.corpus_spec, m.corpus["name"], m.corpus["digest"])
    return m.report_name or f"{corpus}-{m.protocol}-{exp.kind}"


def render(exp: Experiment, reports: Path, name: str) -> str:
    """The report's Markdown; its figures are written into reports/NAME/."""
    m = exp.manifest
    figure_dir = reports / name
    figure_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"# {m.corpus['name']}: {TITLES[exp.kind]} ({m.protocol} protocol)", ""]
    lines += [w + "\n" for w in sections.warnings(exp)]
    lines += [f"Signature: `{sections.signature(exp)}`", "",
              f"Built by `relext-bench report` from {len(exp.records())} stored run records "
              f"({len(exp.finished())} finished).", ""]
    lines += sections.settings_section(exp) + sections.corpus_section(exp)
    if exp.kind == "sweep":
        drawn = figures.figure_sweep(exp, figure_dir / "f1_vs_ratio.png")
        lines += sections.sweep_section(exp, f"{name}/f1_vs_ratio.png" if drawn else None)
    else:
        lines += sections.results_section(exp) + sections.published_section(exp)
        lines += plan.ablation_section(exp) if exp.kind == "ablate" else plan.significance_section(exp)
        if figures.figure_per_run(exp, figure_dir / "f1_per_run.png"):
            lines += [f"![test {exp.metric} per run]({name}/f1_per_run.png)", "", f"*{figures.CAPTIONS['per_run']}*", ""]
        lines += sections.per_type_section(exp, exp.at(None))
    for k, t in enumerate(m.tuned or []):
        if t.get("snapshot"):
            lines += tuning_section(t["snapshot"], reports, name, k)
    lines += (sections.leak_section(exp) + sections.failed_section(exp) + timing.timing_section(exp)
              + sections.environment_section(exp))
    return "\n".join(lines).rstrip() + "\n"


def build(directory: str | Path, reports: str | Path = "reports", kinds: list[str] | None = None,
          name: str | None = None, ids: list[str] | None = None, named: str | None = None) -> list[Path]:
    """Writes reports/NAME.md (and reports/NAME/*.png) for each experiment in DIR (of
    the given kinds, or with the given manifest ids, or run with --name `named`;
    default: every one)."""
    store = Store(directory)
    chosen = ids or list(store.manifests(kinds))
    if named is not None:
        chosen = [ident for ident in chosen if ident.partition("@")[2] == named]
    if not chosen:
        what = f"{'/'.join(kinds)} " if kinds else ""
        if named is not None:
            raise UserError(f"{directory}: no experiment named {named!r} (run with --name {named})")
        raise UserError(f"{directory}: no {what}experiment manifest (compare.json, ablate.json, sweep.json, "
                        "or KIND@NAME.json)")
    reports = Path(reports)
    written = []
    for ident in chosen:
        exp = load_experiment(directory, ident)
        report = name if name and len(chosen) == 1 else report_name(exp)
        path = reports / f"{report}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(exp, reports, report), encoding="utf-8")
        written.append(path)
    return written
