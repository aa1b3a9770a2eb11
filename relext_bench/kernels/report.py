"""reports/kernels.md from one pytest-benchmark JSON (ratios measured side by side).

    pytest tests/bench/test_bench_kernels.py --benchmark-only --benchmark-json=reports/kernels.json
    python -m relext_bench.kernels.report reports/kernels.json > reports/kernels.md

(.ci/kernels_report runs both, after the kernel tests.)

The JSON is kept as the record behind the table, without the per-round timings
(`stats.data`), which the table does not use.
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict

from tabulate import tabulate

# (op, device, size key, size) -> minimum speed-up of fused over the eager reference.
TARGETS = {
    ("ranking_loss", "cpu", "B", 256): 5.0,
    ("ranking_loss", "cpu", "B", 65536): 4.0,
    ("embed_concat", "cpu", "L", 100): 1.5,
}
GPU_TARGETS = {"ranking_loss": 10.0, "embed_concat": 2.0}  # ranking_loss: and faster than compiled
# embed_concat at its largest size on a GPU: at least this share of the copy bandwidth.
GPU_BANDWIDTH_SHARE = 0.5


def _target(info: dict) -> float | None:
    op, device = info["op"], info["device"]
    if op == "pair_conv_pool":  # its targets are end to end: reports/training-speed.md
        return None
    if device == "cuda":
        return GPU_TARGETS[op]
    key = "B" if op == "ranking_loss" else "L"
    return TARGETS.get((op, device, key, info[key]))


def _verdict(value: float, target: float | None) -> str:
    """'' without a target, else 'yes' or how far short of it."""
    if target is None:
        return ""
    return "yes" if value >= target else f"no ({value / target:.0%} of it)"


def _gb_per_s(bench: dict) -> float:
    return bench["extra_info"]["bytes"] / bench["stats"]["median"] / 1e9


def bandwidth_rows(benchmarks: list[dict]) -> list[list]:
    """Per device: the copy bandwidth, and the fused embed_concat's at its largest size
    (the bytes it must move, over its time) as a share of it."""
    rows = []
    for copy in sorted((b for b in benchmarks if b["extra_info"]["op"] == "copy"),
                       key=lambda b: b["extra_info"]["device"]):
        device = copy["extra_info"]["device"]
        embeds = [b for b in benchmarks if b["extra_info"]["op"] == "embed_concat"
                  and b["extra_info"]["impl"] == "fused" and b["extra_info"]["device"] == device]
        if not embeds:
            continue
        largest = max(embeds, key=lambda b: b["extra_info"]["L"])
        copy_rate, embed_rate = _gb_per_s(copy), _gb_per_s(largest)
        share = embed_rate / copy_rate
        target = GPU_BANDWIDTH_SHARE if device == "cuda" else None
        rows.append([device, f"B={largest['extra_info']['B']}, L={largest['extra_info']['L']}",
                     f"{copy_rate:.1f}", f"{embed_rate:.1f}", f"{share:.0%}",
                     f"{target:.0%}" if target else "-", _verdict(share, target)])
    return rows


def _shape(info: dict) -> str:
    if info["op"] == "ranking_loss":
        return f"B={info['B']}, C={info['C']}"
    if info["op"] == "pair_conv_pool":
        return f"{info['model']}: B={info['B']} pairs of {info['G']} sentences, L={info['L']}, F={info['F']}, K={info['K']}"
    return f"B={info['B']}, L={info['L']}, 200+2x50+50"


def dense_rows(groups: dict[str, dict[str, dict]]) -> list[list]:
    """The shared convolution (fused op, with the per-sentence convolution and tables
    around it) against the dense convolution of every pair, same pooled output."""
    rows = []
    for name in sorted(groups):
        impls = groups[name]
        if "dense" not in impls:
            continue
        info = impls["fused"]["extra_info"]
        fused, dense = impls["fused"]["stats"]["median"], impls["dense"]["stats"]["median"]
        rows.append([info["device"], _shape(info), f"{dense * 1e3:.3f}", f"{fused * 1e3:.3f}", f"{dense / fused:.2f}x"])
    return rows


RATIO_HEADERS = ["op", "device", "shape", "fused ms", "reference ms", "compiled ms", "reference / fused",
                 "compiled / fused", "target", "met"]


def by_group(benchmarks: list[dict]) -> dict[str, dict[str, dict]]:
    """The kernel benchmarks (pytest-benchmark's JSON form) by group, then implementation."""
    groups: dict[str, dict[str, dict]] = defaultdict(dict)
    for bench in benchmarks:
        info = bench["extra_info"]
        if info.get("op") not in (None, "copy") and "impl" in info:
            groups[bench["group"]][info["impl"]] = bench
    return {name: impls for name, impls in groups.items() if "fused" in impls and "reference" in impls}


def ratio_rows(benchmarks: list[dict]) -> list[list]:
    """One row per case: the fused op's median time against the reference's (and
    torch.compile's where it ran), the ratios, and the target where there is one."""
    groups = by_group(benchmarks)

    def order(name: str) -> tuple:
        info = groups[name]["fused"]["extra_info"]
        return info["op"], info["device"], info.get("B", 0), info.get("L", 0), info.get("C", 0)

    rows = []
    for name in sorted(groups, key=order):
        impls = groups[name]
        info = impls["fused"]["extra_info"]
        med = {k: v["stats"]["median"] for k, v in impls.items()}
        ratio = med["reference"] / med["fused"]
        compiled = med.get("compiled")
        target = _target(info)
        met = _verdict(ratio, target)
        if info["device"] == "cuda" and info["op"] == "ranking_loss" and compiled and compiled < med["fused"]:
            met = "no (torch.compile is faster)"  # the GPU target asks for both
        rows.append([info["op"], info["device"], _shape(info), f"{med['fused'] * 1e3:.3f}",
                     f"{med['reference'] * 1e3:.3f}", f"{compiled * 1e3:.3f}" if compiled else "-",
                     f"{ratio:.2f}x", f"{compiled / med['fused']:.2f}x" if compiled else "-",
                     f"{target:g}x" if target else "-", met])
    return rows


def render(data: dict) -> str:
    groups = by_group(data["benchmarks"])
    rows = ratio_rows(data["benchmarks"])
    machine = data.get("machine_info", {})
    cpu = machine.get("cpu", {})
    threads = {b["extra_info"].get("threads") for b in data["benchmarks"]}
    lines = [
        "# Fused kernels: speed against the reference",
        "",
        "Forward + backward, median of the pytest-benchmark rounds of one run; every ratio "
        "compares timings taken side by side in that run. `reference` is the pure-PyTorch "
        "reference run eagerly, `compiled` the same under `torch.compile`.",
        "",
        f"Machine: {cpu.get('brand_raw', 'unknown CPU')}, {cpu.get('count', '?')} cores, "
        f"torch threads {', '.join(str(t) for t in sorted(threads, key=str))}; "
        f"Python {machine.get('python_version', '?')}; recorded {data.get('datetime', '?')[:10]}.",
        "",
        tabulate(rows, headers=RATIO_HEADERS, tablefmt="github"),
    ]
    dense = dense_rows(groups)
    if dense:
        lines += [
            "",
            "## Sentence-shared convolution against the dense convolution",
            "",
            "One convolution with its activation and pooling, forward + backward: `dense` "
            "convolves every pair's embedded tokens; `shared` convolves each sentence's word "
            "and tag channels once and adds the position terms per pair (`relext::pair_conv_pool`).",
            "",
            tabulate(dense, headers=["device", "shape", "dense ms", "shared ms", "dense / shared"],
                     tablefmt="github", disable_numparse=True),
        ]
    bandwidth = bandwidth_rows(data["benchmarks"])
    if bandwidth:
        lines += [
            "",
            "## Memory bandwidth",
            "",
            "`embed_concat` forward + backward must at least write its output and read the "
            "upstream gradient of the same size; those bytes over its median time, against "
            "a plain copy of a tensor that size (read and written once) on the same device.",
            "",
            tabulate(bandwidth, headers=["device", "shape", "copy GB/s", "embed_concat GB/s",
                                         "share of copy", "target", "met"], tablefmt="github",
                     disable_numparse=True),
        ]
    lines += [
        "",
        "Regenerate: `.ci/kernels_report` (CPU) or `.ci/kernels_report cuda`: the kernel tests, "
        "then `pytest tests/bench/test_bench_kernels.py --benchmark-only -k DEVICE "
        "--benchmark-json=...` and `python -m relext_bench.kernels.report` on that JSON.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m relext_bench.kernels.report BENCHMARK.json", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as fh:
        data = json.load(fh)
    for bench in data["benchmarks"]:
        bench["stats"].pop("data", None)
    with open(argv[0], "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)
    sys.stdout.write(render(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
