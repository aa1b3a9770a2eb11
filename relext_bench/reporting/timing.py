"""A report's run time: per model, the epochs, the seconds of training steps and of the
per-epoch dev evaluation, and the throughput they imply (training instances x epochs /
step seconds, so the table's columns agree with one another); then, from the records'
clocks, the wall time, the pauses with no run going, how many processes trained the
runs and at most how many ran at once, the machine's load average at their starts
and ends, and the share of each run's wall time its process spent on a CPU (which also
sees a run that was stopped or starved while the clocks ran), so that a reader can tell
when the times were made on a shared machine."""
from __future__ import annotations

import numpy as np

from relext_bench.records import RunRecord
from relext_bench.reporting.experiment import Experiment
from relext_bench.reporting.markdown import table


def step_seconds(r: RunRecord) -> float:
    """Seconds of optimizer steps (the curve's per-epoch training time); records
    without it: the whole training time."""
    seconds = [c.get("train_seconds") for c in r.curve or []]
    return float(sum(seconds)) if seconds and None not in seconds else r.timings.train_s


def timing_section(exp: Experiment) -> list[str]:
    rows, total = [], 0.0
    for role in exp.roles():
        for (r_name, ratio), g in exp.groups.items():
            if r_name != role or not g.finished:
                continue
            runs = g.finished
            total += sum(r.timings.train_s + r.timings.build_s + r.timings.evaluate_s for r in runs)
            steps = np.array([step_seconds(r) for r in runs])
            epochs = np.array([r.epochs for r in runs], float)
            instances = np.array([r.instances.train for r in runs], float)
            dev = np.array([r.timings.train_s for r in runs]) - steps
            rows.append([role + ("" if ratio is None and len(exp.manifest.ratios) == 1 else f" @ {ratio or 'all'}"),
                         f"{epochs.mean():.1f}", f"{np.mean([r.best_epoch for r in runs]):.1f}",
                         f"{instances.mean():,.0f}", f"{steps.mean():.1f}", f"{dev.mean():.1f}",
                         f"{(instances * epochs).sum() / steps.sum():,.0f}"])
    return ["## Run time and throughput", "",
            f"Summed over finished runs: {total / 60:.1f} minutes of run time (build, train, evaluate). Per "
            "model, means over its runs; throughput: training instances x epochs / seconds of training steps, "
            "over all its runs.", "",
            table(rows, ["model", "epochs", "best epoch", "train instances", "training steps s / run",
                         "dev evaluation s / run", "train instances/s"]), ""] + clock_lines(exp)


def cpu_share(r: RunRecord) -> float | None:
    """CPU seconds of the run's process over its wall time and torch threads (about 1
    for a 1-thread run with a core to itself); None for records without the CPU clock."""
    wall = (r.timings.finished or 0.0) - (r.timings.started or 0.0)
    if r.timings.cpu_s is None or wall <= 0:
        return None
    return r.timings.cpu_s / (wall * ((r.environment or {}).get("torch_threads") or 1))


def clock_lines(exp: Experiment) -> list[str]:
    finished = [r for g in exp.groups.values() for r in g.finished]
    clocked = [r for r in finished if r.timings.started is not None and r.timings.finished is not None]
    if not clocked:
        return ["Wall time, pauses and machine load: not recorded (records made before the harness kept "
                "each run's clock and the load average).", ""]
    spans = sorted((r.timings.started, r.timings.finished) for r in clocked)
    busy, (start, end) = 0.0, spans[0]
    for s, e in spans[1:]:
        if s > end:
            busy, start, end = busy + end - start, s, e
        else:
            end = max(end, e)
    busy += end - start
    at_once = max(sum(s <= t < e for s, e in spans) for t, _ in spans)
    wall = max(e for _, e in spans) - spans[0][0]
    processes = {(r.environment or {}).get("pid") for r in clocked}
    threads = sorted({(r.environment or {}).get("torch_threads") for r in clocked} - {None})
    cores = sorted({(r.environment or {}).get("cpu_count") for r in clocked} - {None})
    loads = np.array([x for r in clocked for x in (r.timings.load or []) if x is not None])
    text = (f"Wall time: {wall / 60:.1f} min from the first run's start to the last one's end, "
            f"{(wall - busy) / 60:.1f} min of it with none of these runs going (pauses); {len(processes)} "
            f"process(es) trained them, at most {at_once} at once, {', '.join(map(str, threads))} torch thread(s) "
            "each.")
    per_run = max(threads or [1])
    asked = at_once * per_run  # cores these runs asked for at most
    if len(loads):
        text += (f" Machine load (1-minute average) at the runs' starts and ends: median {np.median(loads):.1f}, "
                 f"at most {loads.max():.1f}, on {', '.join(map(str, cores))} cores")
        text += (f"; above the {asked} these runs account for, so other work shared the machine and the times "
                 "above are longer than on a quiet one." if np.median(loads) > asked + 0.5 else ".")
    if cores and asked > max(cores):
        text += (f" At most {at_once} runs x {per_run} thread(s) asked for more than the "
                 f"{max(cores)} cores: each of them ran slower than it would alone.")
    shares = [share for share in map(cpu_share, clocked) if share is not None]
    if shares:
        text += (f" CPU seconds of each run's process over its wall time and torch threads: median "
                 f"{100 * np.median(shares):.0f}%, lowest {100 * min(shares):.0f}% ({len(shares)} run(s); near 100% for "
                 "a 1-thread run with a core to itself, less where it waited for a core or was paused).")
    if len(clocked) < len(finished):
        text += f" ({len(finished) - len(clocked)} of the {len(finished)} runs predate these clocks.)"
    return [text, ""]
