"""Significance tests: against scipy, an independent ASO implementation (deepsig),
and cases whose answer is known."""
import numpy as np
import pytest

from relext_bench import significance as stats
from relext_bench.metrics import evaluate


def micro_rows(gold, pred) -> np.ndarray:
    """Per-instance [tp, fp, fn] over positive labels (0 = Other): micro-F1's statistics."""
    gold, pred = np.asarray(gold), np.asarray(pred)
    return np.stack([(gold == pred) & (gold > 0), (pred > 0) & (pred != gold), (gold > 0) & (pred != gold)],
                    axis=1).astype(np.int64)

def test_welch_and_mann_whitney_match_scipy():
    from scipy import stats as sps

    a, b = [0.61, 0.63, 0.60, 0.64, 0.62], [0.55, 0.58, 0.57, 0.59, 0.56]
    assert stats.welch(a, b)["p"] == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue)
    assert stats.mann_whitney(a, b)["p"] == pytest.approx(sps.mannwhitneyu(a, b).pvalue)
    assert stats.cohens_d(a, b) > 2


def test_bootstrap_ci_covers_the_mean_and_narrows():
    rng = np.random.default_rng(0)
    small, large = rng.normal(0.6, 0.05, 5), rng.normal(0.6, 0.05, 200)
    lo, hi = stats.bootstrap_ci(small, seed=1)
    assert lo < small.mean() < hi
    lo2, hi2 = stats.bootstrap_ci(large, seed=1)
    assert hi2 - lo2 < hi - lo


@pytest.mark.parametrize("shift", [0.0, 0.02, 0.05, 0.2])
def test_aso_agrees_with_deepsig(shift):
    deepsig = pytest.importorskip("deepsig")
    rng = np.random.default_rng(3)
    a = rng.normal(0.6 + shift, 0.03, 10)
    b = rng.normal(0.6, 0.03, 10)
    ours = stats.aso(a, b, resamples=1000, seed=0)
    theirs = deepsig.aso(a, b, num_bootstrap_iterations=1000, seed=0, show_progress=False)
    assert ours == pytest.approx(theirs, abs=0.06)


def test_aso_known_cases():
    a, b = np.linspace(0.70, 0.80, 8), np.linspace(0.50, 0.60, 8)
    assert stats.aso(a, b) == 0.0  # A dominates everywhere
    assert stats.aso(b, a) == 1.0
    assert stats.aso(a, b, comparisons=5) == 0.0


def test_instance_level_tests_on_known_systems():
    rng = np.random.default_rng(0)
    gold = np.where(rng.random(2000) < 0.8, 0, rng.integers(1, 7, 2000))
    good = np.where(rng.random(2000) < 0.8, gold, rng.integers(0, 7, 2000))
    bad = np.where(rng.random(2000) < 0.5, gold, rng.integers(0, 7, 2000))
    ra, rb = micro_rows(gold, good), micro_rows(gold, bad)
    assert stats.micro_f1(ra.sum(0)) == pytest.approx(evaluate(gold, good, list("OABCDEF"))["micro_f1"])
    assert stats.paired_bootstrap(ra, rb, resamples=500)["p"] < 0.01
    assert stats.paired_bootstrap(rb, ra, resamples=500)["p"] < 0.01  # the winner is B: same evidence
    assert stats.paired_bootstrap(ra, ra.copy(), resamples=100)["p"] == 1.0
    assert stats.approximate_randomization(ra, rb, resamples=500)["p"] < 0.01
    same = stats.approximate_randomization(ra, ra.copy(), resamples=200)
    assert same["delta"] == 0 and same["p"] == 1.0
    # Two equally good systems: no significance.
    other = np.where(rng.random(2000) < 0.8, gold, rng.integers(0, 7, 2000))
    assert stats.approximate_randomization(ra, micro_rows(gold, other), resamples=500)["p"] > 0.05


def test_tests_are_seeded():
    rng = np.random.default_rng(1)
    gold, pred = rng.integers(0, 3, 300), rng.integers(0, 3, 300)
    r1, r2 = micro_rows(gold, pred), micro_rows(gold, rng.integers(0, 3, 300))
    assert stats.approximate_randomization(r1, r2, resamples=100, seed=5) == \
        stats.approximate_randomization(r1, r2, resamples=100, seed=5)
    assert stats.aso([1, 2, 3, 4.0], [2, 3, 1, 2.5], seed=4) == stats.aso([1, 2, 3, 4.0], [2, 3, 1, 2.5], seed=4)


def test_holm_by_hand():
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


# ---- power across seeds ----------------------------------------------------------

def test_welch_power_is_about_the_level_at_no_effect_and_grows_with_it():
    size = stats.welch_power(0.0, 0.01, 0.02, 3, 5, 0.05)
    assert 0.03 < size <= 0.05 + 0.003  # Welch's test is slightly conservative with unequal spreads
    powers = [stats.welch_power(e, 0.01, 0.02, 3, 5, 0.05) for e in (0.005, 0.01, 0.02, 0.04)]
    assert powers == sorted(powers) and powers[-1] > 0.8


@pytest.mark.parametrize("n, sd_a, sd_b, alpha", [(3, 0.01, 0.01, 0.05 / 7), (5, 0.02, 0.005, 0.05), (10, 0.01, 0.015, 0.01)])
def test_the_detectable_effect_is_detected_four_times_in_five(n, sd_a, sd_b, alpha):
    """Simulated experiments with the detectable difference as the true one: Welch's
    test rejects in 80% of them (within the simulation's error)."""
    from scipy import stats as sps

    effect = stats.detectable_effect(sd_a, sd_b, n, n, alpha)
    rng = np.random.default_rng(12345)  # experiments other than the ones the power was simulated on
    a = rng.normal(effect, sd_a, size=(20000, n))
    b = rng.normal(0.0, sd_b, size=(20000, n))
    rejected = (sps.ttest_ind(a, b, axis=1, equal_var=False).pvalue < alpha).mean()
    assert rejected == pytest.approx(0.8, abs=0.015)


def test_more_seeds_detect_smaller_effects_and_seeds_needed_is_the_first_that_does():
    detectable = [stats.detectable_effect(0.01, 0.01, n, n, 0.05) for n in (3, 5, 10, 20)]
    assert detectable == sorted(detectable, reverse=True)
    n = stats.seeds_needed(0.01, 0.01, 0.013, 0.05)
    assert stats.welch_power(0.013, 0.01, 0.01, n, n, 0.05) >= 0.8 > stats.welch_power(0.013, 0.01, 0.01, n - 1, n - 1, 0.05)
    assert stats.detectable_effect(0.01, 0.01, n, n, 0.05) <= 0.013 < stats.detectable_effect(0.01, 0.01, n - 1, n - 1, 0.05)
    assert stats.seeds_needed(0.01, 0.01, 1e-6, 0.05, most=30) is None
    assert stats.detectable_effect(0.0, 0.0, 3, 3, 0.05) == 0.0  # runs that do not vary


def test_mann_whitney_floor_is_the_exact_test_s_smallest_p():
    from scipy import stats as sps

    for n_a, n_b in [(3, 3), (2, 5), (5, 5)]:
        apart = sps.mannwhitneyu(np.arange(n_a) + 100.0, np.arange(n_b), alternative="two-sided").pvalue
        assert stats.mwu_floor(n_a, n_b) == pytest.approx(apart)
    assert stats.mwu_floor(3, 3) == pytest.approx(0.1)


def test_a_comparison_carries_its_detectable_effect_at_the_holm_level():
    plan = stats.TestPlan()
    a, b = np.array([0.61, 0.63, 0.60]), np.array([0.60, 0.59, 0.62])
    r = plan.compare(a, b, family=4)
    assert r["runs"] == (3, 3) and r["mwu_floor"] == pytest.approx(0.1)
    assert r["detectable"] == pytest.approx(stats.detectable_effect(a.std(ddof=1), b.std(ddof=1), 3, 3, 0.05 / 4))
    assert np.isnan(plan.compare(a[:1], b, family=4)["detectable"])  # one run: no spread to go on
