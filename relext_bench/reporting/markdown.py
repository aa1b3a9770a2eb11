"""Formatting for reports: percentages, mean ± sd, p-values, GitHub tables."""
from __future__ import annotations

import numpy as np
from tabulate import tabulate


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


def metric_parts(metric: str) -> tuple[str | None, str | None]:
    """The precision and recall fields that go with an F1 metric (None for macro)."""
    prefix = metric.removesuffix("_f1")
    return (f"{prefix}_p", f"{prefix}_r") if prefix in ("micro", "weighted") else (None, None)
