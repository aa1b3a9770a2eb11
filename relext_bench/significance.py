"""Significance, in one module: the tests, and the plan that decides which of them
run, with which seed and how many resamples (`TestPlan`, as sacrebleu's `PairedTest`),
and builds the signature from it.

Across seeds (one score per run): Welch's t-test and Mann-Whitney U (scipy.stats),
Almost Stochastic Order (Dror, Shlomov & Reichart 2019; A is better when eps_min < 0.2),
a bootstrap 95% confidence interval of the mean, and Cohen's d. Their power: the
smallest true difference Welch's test detects with 80% power given the observed spread
over seeds (simulated: runs drawn normal with those spreads), the seeds per model a
given difference needs, and the smallest p-value Mann-Whitney U can give with so few
runs (2 / C(n_a + n_b, n_a): 0.1 with 3 and 3), so that "not significant" says
whether the experiment could have seen the difference at all.

Across test instances (one system's predictions against another's on the same
instances): paired bootstrap and approximate randomization. Like sacrebleu, both
resample *sufficient statistics*: each instance contributes a row of counts, a metric
is a function of the summed rows, so one engine serves micro-F1, macro-F1 or any other
count-based score.

Holm-Bonferroni adjusts a family of p-values. Every test is seeded; the seed and the
number of resamples go into the signature.

`TestPlan.compare(a, b, family)` runs every across-seed test on two score arrays;
`TestPlan.compare_instances(rows_a, rows_b, metric)` the per-instance tests on two
systems' count rows; `TestPlan.adjust(results)` Holm-adjusts a family of them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import comb

import numpy as np
from scipy import stats as sps

from relext_bench.metrics import prf, scores_from_counts
from relext_bench.signature import Signature

ASO_THRESHOLD = 0.2


# ---- across seeds ------------------------------------------------------------------
def welch(a, b) -> dict:
    r = sps.ttest_ind(a, b, equal_var=False)
    return {"statistic": float(r.statistic), "p": float(r.pvalue)}


def mann_whitney(a, b) -> dict:
    r = sps.mannwhitneyu(a, b, alternative="two-sided")
    return {"statistic": float(r.statistic), "p": float(r.pvalue)}


def cohens_d(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    diff = a.mean() - b.mean()
    if pooled > 0:
        return float(diff / pooled)
    return 0.0 if diff == 0 else float(np.copysign(np.inf, diff))


# ---- power across seeds -----------------------------------------------------------
POWER_SIMULATIONS = 20000


def _welch_draws(sd_a: float, sd_b: float, n_a: int, n_b: int, sims: int, seed: int):
    """Simulated experiments under no difference: runs drawn normal with the given
    spreads; each one's difference of means, standard error and Welch df."""
    rng = np.random.default_rng(seed)
    za, zb = rng.standard_normal((sims, n_a)), rng.standard_normal((sims, n_b))
    va, vb = sd_a ** 2 * za.var(axis=1, ddof=1) / n_a, sd_b ** 2 * zb.var(axis=1, ddof=1) / n_b
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (va + vb) ** 2 / (va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1))
    return sd_a * za.mean(axis=1) - sd_b * zb.mean(axis=1), np.sqrt(va + vb), df


def _power_curve(sd_a: float, sd_b: float, n_a: int, n_b: int, alpha: float, sims: int, seed: int):
    """effect -> the fraction of the simulated experiments whose Welch test rejects at
    alpha; the same experiments for every effect, so the curve rises monotonically."""
    diff, se, df = _welch_draws(sd_a, sd_b, n_a, n_b, sims, seed)
    return lambda effect: float((2 * sps.t.sf(np.abs(effect + diff) / se, df) < alpha).mean())


def welch_power(effect: float, sd_a: float, sd_b: float, n_a: int, n_b: int, alpha: float,
                sims: int = POWER_SIMULATIONS, seed: int = 0) -> float:
    """Power of the two-sided Welch t-test at level alpha when the true difference of
    means is `effect` and runs spread normally with sd_a, sd_b. Simulated (seeded), not
    the noncentral-t formula at the true df: with three runs per model the test's own df
    estimate costs much of its power, and a difference the formula gives 80% power at
    0.05 / 7 is detected in about 56% of simulated experiments."""
    if sd_a == 0 and sd_b == 0:
        return float(effect != 0)
    return _power_curve(sd_a, sd_b, n_a, n_b, alpha, sims, seed)(effect)


def detectable_effect(sd_a: float, sd_b: float, n_a: int, n_b: int, alpha: float, power: float = 0.8,
                      sims: int = POWER_SIMULATIONS, seed: int = 0) -> float:
    """The smallest true difference Welch's test detects with `power` at level alpha
    (units of the scores), given the observed spreads and numbers of runs."""
    if sd_a == 0 and sd_b == 0:
        return 0.0
    curve = _power_curve(sd_a, sd_b, n_a, n_b, alpha, sims, seed)
    low, high = 0.0, float(np.sqrt(sd_a ** 2 / n_a + sd_b ** 2 / n_b))
    while curve(high) < power:
        low, high = high, 2 * high
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (mid, high) if curve(mid) < power else (low, mid)
    return high


def seeds_needed(sd_a: float, sd_b: float, effect: float, alpha: float, power: float = 0.8,
                 most: int = 100, sims: int = POWER_SIMULATIONS, seed: int = 0) -> int | None:
    """Runs per model for Welch's test to detect a true difference `effect` with `power`
    at level alpha, the runs spreading as observed; None beyond `most`."""
    for n in range(2, most + 1):
        if welch_power(effect, sd_a, sd_b, n, n, alpha, sims=sims, seed=seed) >= power:
            return n
    return None


def mwu_floor(n_a: int, n_b: int) -> float:
    """The smallest two-sided p-value the exact Mann-Whitney U test can give."""
    return min(1.0, 2 / comb(n_a + n_b, n_a))


def bootstrap_ci(a, level: float = 0.95, resamples: int = 10000, seed: int = 0) -> tuple[float, float]:
    a = np.asarray(a, float)
    rng = np.random.default_rng(seed)
    means = a[rng.integers(0, len(a), size=(resamples, len(a)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def _quantiles(scores: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The empirical quantile function: the ceil(n p)-th smallest score."""
    s = np.sort(scores)
    idx = np.clip(np.ceil(len(s) * p).astype(int) - 1, 0, len(s) - 1)
    return s[idx]


def _violation_ratio(a: np.ndarray, b: np.ndarray, dt: float) -> float:
    """The share of the squared Wasserstein distance where B's quantiles exceed A's."""
    t = np.arange(dt, 1, dt)
    diff = _quantiles(b, t) - _quantiles(a, t)
    total = np.sum(diff ** 2 * dt)
    return float(np.sum(diff[diff > 0] ** 2 * dt) / total) if total > 0 else 0.5


def aso(a, b, confidence: float = 0.95, comparisons: int = 1, resamples: int = 1000, dt: float = 0.005,
        seed: int = 0) -> float:
    """eps_min of A over B (Dror et al. 2019, Del Barrio et al. 2018): 0 means A is
    stochastically dominant; below 0.2 A is almost stochastically better."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    rng = np.random.default_rng(seed)
    observed = _violation_ratio(a, b, dt)
    samples = np.array([_violation_ratio(_quantiles(a, rng.uniform(size=len(a))),
                                         _quantiles(b, rng.uniform(size=len(b))), dt)
                        for _ in range(resamples)])
    const = np.sqrt(len(a) * len(b) / (len(a) + len(b)))
    sigma = np.std(const * (samples - observed))
    # eps_min = eps_W2 - sqrt((n+m)/(nm)) sigma Phi^-1(alpha): alpha < 0.5 adds a margin,
    # an upper confidence bound. alpha is Bonferroni-corrected over the family (deepsig
    # uses confidence + (1 - confidence) / m instead, which is milder).
    alpha = (1 - confidence) / comparisons
    return float(np.clip(observed - sigma / const * sps.norm.ppf(alpha), 0.0, 1.0))


# ---- across instances ----------------------------------------------------------------
def micro_f1(total: np.ndarray) -> float:
    return prf(*total)[2]


def label_rows(gold, pred, n_labels: int) -> np.ndarray:
    """Per-instance [tp, fp, fn] for every label, flattened to [n, 3 * n_labels]: the
    statistics of every count-based metric (micro, macro, support-weighted)."""
    gold, pred = np.asarray(gold), np.asarray(pred)
    n = len(gold)
    rows = np.zeros((n, n_labels, 3), dtype=np.int64)
    hit = gold == pred
    rows[np.flatnonzero(hit), gold[hit], 0] = 1
    miss = np.flatnonzero(~hit)
    rows[miss, pred[miss], 1] = 1
    rows[miss, gold[miss], 2] = 1
    return rows.reshape(n, 3 * n_labels)


def count_metric(name: str) -> Callable[[np.ndarray], float]:
    """A metric of summed `label_rows`: micro_f1, macro_f1 or weighted_f1."""
    return lambda total: scores_from_counts(total.reshape(-1, 3))[name]


def metric_rows(rows: np.ndarray, name: str) -> np.ndarray:
    """`label_rows` cut to what metric `name` reads, as floats for BLAS: a micro score
    pools the positive labels, so [n, 3 * labels] becomes [n, 6] (the negative label and
    the pooled positives) and `count_metric(name)` gives the same value on it."""
    if name.startswith("micro"):
        r = rows.reshape(len(rows), -1, 3)
        rows = np.concatenate([r[:, 0], r[:, 1:].sum(axis=1)], axis=1)
    return np.asarray(rows, dtype=np.float64)


def _chunks(resamples: int, n: int, budget: int = 2_000_000):
    """Resample counts per chunk, so that a chunk's [k, n] draws stay near `budget` cells."""
    step = max(1, budget // max(n, 1))
    for start in range(0, resamples, step):
        yield min(step, resamples - start)


def paired_bootstrap(rows_a: np.ndarray, rows_b: np.ndarray, metric: Callable = micro_f1,
                     resamples: int = 1000, seed: int = 0) -> dict:
    """Resamples instances with replacement; p is the share of resamples in which the
    observed winner's advantage is at least twice the observed one (Berg-Kirkpatrick et
    al. 2012): a one-sided test in the direction of `delta` (A - B); no difference, p 1."""
    rng = np.random.default_rng(seed)
    n = len(rows_a)
    delta = metric(rows_a.sum(0)) - metric(rows_b.sum(0))
    deltas = []
    for k in _chunks(resamples, n):
        idx = rng.integers(0, n, size=(k, n))
        # A resample's sums: how often each instance was drawn, times its rows.
        weights = np.stack([np.bincount(i, minlength=n) for i in idx]).astype(rows_a.dtype)
        sa, sb = weights @ rows_a, weights @ rows_b
        deltas += [metric(x) - metric(y) for x, y in zip(sa, sb)]
    sign = np.sign(delta)
    p = float(np.mean(sign * np.array(deltas) > 2 * abs(delta))) if delta else 1.0
    return {"delta": float(delta), "p": p, "resamples": resamples, "seed": seed}


def approximate_randomization(rows_a: np.ndarray, rows_b: np.ndarray, metric: Callable = micro_f1,
                              resamples: int = 10000, seed: int = 0) -> dict:
    """Swaps each instance's statistics between the systems with probability 1/2;
    two-sided p = (#|delta_perm| >= |delta_obs| + 1) / (resamples + 1)."""
    rng = np.random.default_rng(seed)
    sum_a, sum_b = rows_a.sum(0), rows_b.sum(0)
    delta = metric(sum_a) - metric(sum_b)
    diff = (rows_a - rows_b).astype(np.float64)
    hits = 0
    for k in _chunks(resamples, len(rows_a)):
        # Swapping instance i moves diff_i from A to B.
        moved = (rng.random((k, len(rows_a))) < 0.5) @ diff
        hits += sum(abs(metric(sum_a - m) - metric(sum_b + m)) >= abs(delta) - 1e-12 for m in moved)
    return {"delta": float(delta), "p": (hits + 1) / (resamples + 1), "resamples": resamples, "seed": seed}


def holm(pvalues) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order."""
    p = np.asarray(pvalues, float)
    order = np.argsort(p)
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


@dataclass(frozen=True)
class TestPlan:
    """Which tests run, with which seed and how many resamples; `signature()` names them."""

    __test__ = False  # not a pytest class

    seed: int = 0
    bootstrap: int = 1000
    randomization: int = 2000
    aso_resamples: int = 500
    alpha: float = 0.05
    power: float = 0.8  # for the detectable difference
    across_seeds: tuple[str, ...] = ("welch", "mwu")
    across_instances: tuple[str, ...] = ("bootstrap", "ar")

    @property
    def adjusted(self) -> tuple[str, ...]:
        """The p-values Holm adjusts, per test, across a family of comparisons."""
        return self.across_seeds + self.across_instances

    def compare(self, a, b, family: int) -> dict:
        """Across seeds: one test score per run of A and of B. ASO in both directions."""
        out = {"delta": float(np.mean(a) - np.mean(b)) if len(a) and len(b) else np.nan,
               "welch": np.nan, "mwu": np.nan, "aso": np.nan, "aso_rev": np.nan, "d": np.nan,
               "detectable": np.nan, "mwu_floor": np.nan, "runs": (len(a), len(b))}
        if len(a) >= 2 and len(b) >= 2:
            out.update(welch=welch(a, b)["p"], mwu=mann_whitney(a, b)["p"], d=cohens_d(a, b),
                       aso=aso(a, b, comparisons=family, resamples=self.aso_resamples, seed=self.seed),
                       aso_rev=aso(b, a, comparisons=family, resamples=self.aso_resamples, seed=self.seed),
                       detectable=detectable_effect(np.std(a, ddof=1), np.std(b, ddof=1), len(a), len(b),
                                                    self.holm_level(family), self.power, seed=self.seed),
                       mwu_floor=mwu_floor(len(a), len(b)))
        return out

    def holm_level(self, family: int) -> float:
        """The level Holm holds a family's smallest p-value to (alpha / family): the
        level at which the detectable difference is stated, whatever the other p-values."""
        return self.alpha / max(family, 1)

    def compare_instances(self, rows_a: np.ndarray, rows_b: np.ndarray, metric: str) -> dict:
        """Across test instances: `label_rows` of A and B on the same instances."""
        fn = count_metric(metric)
        ra, rb = metric_rows(rows_a, metric), metric_rows(rows_b, metric)
        return {"bootstrap": paired_bootstrap(ra, rb, fn, self.bootstrap, self.seed)["p"],
                "ar": approximate_randomization(ra, rb, fn, self.randomization, self.seed)["p"]}

    def adjust(self, results: list[dict]) -> list[dict]:
        """Adds `TEST_holm` to each result: Holm across the family, per test."""
        for test in self.adjusted:
            ok = [i for i, r in enumerate(results) if np.isfinite(r.get(test, np.nan))]
            for i, adj in zip(ok, holm([results[i][test] for i in ok])):
                results[i][test + "_holm"] = adj
        return results

    def significant(self, result: dict) -> bool:
        """A won comparison: Holm-adjusted Welch p below alpha and A almost stochastically better."""
        return bool(result.get("welch_holm", 1.0) < self.alpha and result["aso"] < ASO_THRESHOLD)

    def signature(self) -> Signature:
        return Signature.of(tests=f"welch+mwu+aso(eps<{ASO_THRESHOLD})+paired_bootstrap+approx_rand+holm",
                            seed=self.seed, bootstrap=self.bootstrap, ar=self.randomization, aso=self.aso_resamples)


PLAN = TestPlan()
