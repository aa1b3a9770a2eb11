"""reports/training-speed.md from the JSON of `bench-train` runs (one object per line).

    .ci/training_speed [DIR]     runs the grid and writes DIR/training-speed.{jsonl,md}
    python -m relext_bench.training.speed_report reports/training-speed.jsonl > reports/training-speed.md
"""
from __future__ import annotations

import json
import sys

from tabulate import tabulate

# (corpus, protocol, model) -> the least shared / dense ratio asked for; None: any model.
TARGETS = {("chisiec", "standard", "ye2019"): 7.0, ("chisiec", "standard", "cnn"): 5.0,
           ("chisiec", "standard", "cr_cnn"): 5.0, ("chisiec", "standard", "pcnn"): 4.0,
           ("chisiec", "standard", "att_bilstm"): 4.0,
           ("synth_zh", "paper", None): 2.0}
GOAL = 10.0  # for the four convolution models on CHisIEC


def target(r: dict) -> float | None:
    return TARGETS.get((r["corpus"], r["protocol"], r["model"]), TARGETS.get((r["corpus"], r["protocol"], None)))


def verdict(ratio: float, goal: float | None) -> str:
    if goal is None:
        return ""
    return "yes" if ratio >= goal else f"no ({ratio / goal:.0%} of it)"


def render(results: list[dict]) -> str:
    order = {"chisiec": 0, "crossre": 1, "synth_zh": 2}
    results = sorted(results, key=lambda r: (r["device"], order.get(r["corpus"], 9), r["protocol"], r["model"],
                                             r["threads"]))
    rows = []
    for r in results:
        enc = r["encoders"]
        goal = target(r)
        rows.append([r["model"], r["corpus"] + (" (synthetic)" if r["synthetic"] else ""), r["protocol"], r["device"],
                     r["threads"], f"{enc['dense']['instances_per_s']:.0f}", f"{enc['shared']['instances_per_s']:.0f}",
                     f"{r['ratio']:.2f}x", f"{goal:g}x" if goal else "-", verdict(r["ratio"], goal),
                     "/".join(f"{x:.1f}" for x in r["load"]) if r.get("load") else "-"])
    specs = sorted({r["corpus_spec"] for r in results})
    lines = [
        "# Training speed: shared against dense encoder",
        "",
        "Training instances per second of each encoder, measured side by side in one process by "
        "`relext-bench bench-train` (same model, seed and initial weights; the trainer's own step "
        "with RMSprop and gradient clipping; sentence-grouped batches of 256 for `shared`, "
        "length-bucketed ones for `dense`; the timed batches in two alternating rounds after "
        f"{results[0]['warmup_batches'] if results else 3} warm-up batches). The ratio is shared over dense. "
        f"Targets: on CHisIEC (standard protocol) ye2019 7x, cnn and cr_cnn 5x, pcnn 4x (the goal for these "
        f"four: {GOAL:g}x), att_bilstm 4x; synth_zh under the paper protocol 2x. The convolutions' shared "
        "encoder convolves each sentence once for all its pairs; the BiLSTM's projects each sentence's input "
        "once and runs its recurrence per pair (baselines/att_bilstm.py).",
        "",
        tabulate(rows, headers=["model", "corpus", "protocol", "device", "threads", "dense inst/s",
                                "shared inst/s", "shared / dense", "target", "met", "load before/after"],
                 tablefmt="github",
                 disable_numparse=True),
        "",
        f"Corpora: {', '.join(specs)}. Batches timed per encoder: "
        f"{', '.join(sorted({str(r['encoders']['dense']['batches']) for r in results}))}; "
        f"kernels: {', '.join(sorted({r['kernel_backend'] for r in results}))}. `load before/after`: the "
        "machine's 1-minute load average before and after the measurement (`-`: not recorded); above the "
        "run's threads, other work shared the machine, which slows both encoders but not always alike.",
        "",
        "Regenerate: `.ci/training_speed` (CPU, 1 and 2 threads) or `.ci/training_speed reports cuda` on a GPU "
        "machine; the table is rebuilt from the JSON lines beside this file by "
        "`python -m relext_bench.training.speed_report reports/training-speed.jsonl`.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m relext_bench.training.speed_report RESULTS.jsonl [...]", file=sys.stderr)
        return 2
    results = []
    for path in argv:
        with open(path, encoding="utf-8") as fh:
            results += [json.loads(line) for line in fh if line.strip()]
    sys.stdout.write(render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
