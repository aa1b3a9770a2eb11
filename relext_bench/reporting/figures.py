"""The figures of a report, as PNG beside its Markdown: test scores per run, F1 against
the negative:positive ratio, and a tuning study's history. Each returns whether it drew
anything; `CAPTIONS` says under each what its marks and legend mean."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from relext_bench.reporting.experiment import Experiment

CAPTIONS = {
    "per_run": "One point per run, its colour the seed (legend); the black bar is the model's mean over its "
               "runs; a red × on the axis marks a failed run.",
    "sweep": "One line per model (legend): the mean test score at each measured negative:positive ratio of the "
             "training data, error bars one sd over seeds.",
    "tuning": "Dots: each completed trial's best dev score (legend: completed trial); grey ×: a pruned trial's "
              "last dev score; black line: the best score so far.",
}


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_per_run(exp: Experiment, path: Path) -> bool:
    groups = exp.at(None)
    roles = [r for r in exp.roles() if r in groups and groups[r].finished]
    if not roles:
        return False
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(roles) + 2), 4.2))
    seeds = exp.manifest.seeds
    cmap = plt.get_cmap("tab10")
    for i, role in enumerate(roles):
        runs = groups[role].finished
        for r in runs:
            x = i + 0.25 * (seeds.index(r.seed) - (len(seeds) - 1) / 2) / max(len(seeds), 1)
            ax.scatter(x, 100 * r.test[exp.metric], color=cmap(seeds.index(r.seed) % 10), s=18, zorder=3)
        ax.hlines(100 * np.mean([r.test[exp.metric] for r in runs]), i - 0.3, i + 0.3, color="black", lw=1.5)
        for _ in groups[role].failed:
            ax.scatter(i, ax.get_ylim()[0], marker="x", color="red")
    ax.set_xticks(range(len(roles)), roles, rotation=30, ha="right", fontsize=8)
    ran = sorted({r.seed for role in roles for r in groups[role].finished})
    for s in ran:  # the legend: one entry per seed, and the mean's bar
        ax.scatter([], [], color=cmap(seeds.index(s) % 10), s=18, label=f"seed {s}")
    ax.plot([], [], color="black", lw=1.5, label="mean")
    ax.legend(fontsize=7, ncol=min(len(ran) + 1, 6), loc="best")
    ax.set_ylabel(f"test {exp.metric} (%)")
    title = f"{exp.manifest.corpus['name']} ({exp.manifest.protocol}): one point per run, colour = seed"
    if exp.manifest.corpus["synthetic"]:
        title = "SYNTHETIC " + title
    ax.set_title(title, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def figure_sweep(exp: Experiment, path: Path) -> bool:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    plotted, ticks = False, set()
    for role in exp.roles():
        xs, ys, es = [], [], []
        for ratio in exp.manifest.ratios:
            g = exp.at(ratio).get(role)
            if g is None or not g.finished:
                continue
            actual = np.mean([(r.instances.train - r.instances.train_positives) / r.instances.train_positives
                              for r in g.finished])
            s = g.scores(exp.metric)
            xs.append(actual)
            ys.append(100 * s.mean())
            es.append(100 * s.std(ddof=1) if len(s) > 1 else 0)
        if xs:
            order = np.argsort(xs)
            ax.errorbar(np.array(xs)[order], np.array(ys)[order], yerr=np.array(es)[order], marker="o",
                        capsize=3, label=role)
            plotted = True
            ticks.update(round(x, 2) for x in xs)
    if not plotted:
        plt.close(fig)
        return False
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(sorted(ticks), [f"{t:g}" for t in sorted(ticks)])  # the measured ratios, not powers of ten
    ax.set_xlabel("training negatives per positive (log scale; rightmost = all)")
    ax.set_ylabel(f"test {exp.metric} (%)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(("SYNTHETIC " if exp.manifest.corpus["synthetic"] else "")
                 + f"{exp.manifest.corpus['name']}: F1 against imbalance", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def tuning_history(trials: list[dict], path: Path, metric: str) -> bool:
    done = [t for t in trials if t["state"] == "COMPLETE" and t["value"] is not None]
    if not done:
        return False
    plt = pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    x = [t["number"] for t in done]
    y = [100 * t["value"] for t in done]
    ax.scatter(x, y, s=16, label="completed trial")
    pruned = [t for t in trials if t["state"] == "PRUNED" and t["intermediate"]]
    if pruned:
        ax.scatter([t["number"] for t in pruned], [100 * list(t["intermediate"].values())[-1] for t in pruned],
                   marker="x", color="grey", label="pruned (last dev score)")
    ax.plot(x, np.maximum.accumulate(y), color="black", lw=1, label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"dev {metric} (%)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
