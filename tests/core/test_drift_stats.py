"""The drift statistics agree with scipy's reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr

from jupyter_mlops.core.drift import stats as S


def _pair(rng: np.random.Generator, n: int, m: int, shift: float, ties: bool = False):
    a = rng.normal(size=n)
    b = rng.normal(shift, 1.0, size=m)
    if ties:
        a, b = np.round(a, 1), np.round(b, 1)
    return np.sort(a), np.sort(b)


@pytest.mark.parametrize(
    ("n", "m", "shift", "ties"),
    [
        (1, 1, 0.0, False),
        (7, 13, 0.5, False),
        (50, 50, 0.3, False),
        (50, 50, 0.3, True),
        (200, 999, 0.1, False),
        (1000, 1000, 0.0, True),
        (1000, 3, 1.0, False),
        (400, 600, 1.5, False),  # p-value ~1e-60: no cancellation against 1
    ],
)
def test_ks_exact_matches_scipy(n: int, m: int, shift: float, ties: bool) -> None:
    a, b = _pair(np.random.default_rng(n * 7 + m), n, m, shift, ties)
    stat, p = S.ks(a, b)
    ref = stats.ks_2samp(a, b, method="exact")
    assert stat == pytest.approx(ref.statistic, rel=1e-12, abs=1e-15)
    assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    ("n", "m", "shift"), [(1001, 5000, 0.05), (20000, 1500, 0.0), (3000, 3000, 0.2)]
)
def test_ks_asymptotic_matches_scipy(n: int, m: int, shift: float) -> None:
    a, b = _pair(np.random.default_rng(n + m), n, m, shift, ties=True)
    stat, p = S.ks(a, b)
    ref = stats.ks_2samp(a, b, method="asymp")
    assert stat == pytest.approx(ref.statistic, rel=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)


def test_ks_random_sizes_match_scipy_exact() -> None:
    rng = np.random.default_rng(42)
    for _ in range(40):
        n, m = (int(x) for x in rng.integers(1, 120, size=2))
        a, b = _pair(rng, n, m, float(rng.uniform(0, 1)), ties=bool(rng.integers(2)))
        stat, p = S.ks(a, b)
        ref = stats.ks_2samp(a, b, method="exact")
        assert stat == pytest.approx(ref.statistic, rel=1e-12, abs=1e-15)
        assert p == pytest.approx(ref.pvalue, rel=1e-9)


@pytest.mark.parametrize(
    ("n", "m", "ties"),
    # equal sizes take the mean-absolute-difference path; 7/21 and 300/700 share steps
    [(1, 5, False), (300, 700, False), (5000, 20000, True), (1000, 1000, True),
     (3, 3, False), (21, 7, True), (997, 1000, False)],
)
def test_wasserstein_matches_scipy(n: int, m: int, ties: bool) -> None:
    a, b = _pair(np.random.default_rng(m), n, m, 0.4, ties)
    assert S.wasserstein_distance(a, b) == pytest.approx(
        stats.wasserstein_distance(a, b), rel=1e-9
    )
    expected = stats.wasserstein_distance(a, b) / max(np.std(a), S.WASSERSTEIN_MIN_STD)
    assert S.wasserstein(a, b) == pytest.approx(expected, rel=1e-9)


def test_wasserstein_is_normed_by_reference_std() -> None:
    a, b = _pair(np.random.default_rng(0), 2000, 2000, 0.5)
    assert S.wasserstein(a * 1000, b * 1000) == pytest.approx(S.wasserstein(a, b), rel=1e-9)
    constant = np.zeros(10)
    assert S.wasserstein(constant, constant + 1) == pytest.approx(1 / S.WASSERSTEIN_MIN_STD)


def _counts(
    rng: np.random.Generator, k: int, zeros: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    ref = rng.integers(1, 200, size=k)
    cur = rng.integers(1, 200, size=k)
    if zeros:
        ref[0] = 0
        cur[-1] = 0
    return ref, cur


@pytest.mark.parametrize("k", [2, 3, 10, 40])
def test_chi2_matches_contingency_without_correction(k: int) -> None:
    ref, cur = _counts(np.random.default_rng(k), k, zeros=k > 2)
    stat, p = S.chi2(ref, cur)
    expected = stats.chi2_contingency(np.vstack([ref, cur]), correction=False)
    assert stat == pytest.approx(expected.statistic, rel=1e-9)
    assert p == pytest.approx(expected.pvalue, rel=1e-9)


def test_chi2_single_category_is_no_difference_not_nan() -> None:
    assert S.chi2(np.array([10]), np.array([3])) == (0.0, 1.0)
    # unused categories (zero on both sides) do not add degrees of freedom
    stat, p = S.chi2(np.array([10, 0, 5]), np.array([20, 0, 10]))
    assert stat == pytest.approx(0.0, abs=1e-12) and p == pytest.approx(1.0)


def test_z_test_squared_is_the_2x2_chi2() -> None:
    ref, cur = np.array([120, 80]), np.array([90, 110])
    z, p = S.z_test(ref, cur)
    stat, p_chi2 = S.chi2(ref, cur)
    assert z**2 == pytest.approx(stat, rel=1e-9)
    assert p == pytest.approx(p_chi2, rel=1e-9)
    assert z > 0  # the second category is more frequent in current
    assert S.z_test(np.array([10, 0]), np.array([5, 0])) == (0.0, 1.0)


@pytest.mark.parametrize("zeros", [False, True])
def test_jensen_shannon_is_scipys_distance(zeros: bool) -> None:
    ref, cur = _counts(np.random.default_rng(3), 12, zeros)
    assert S.jensen_shannon(ref, cur) == pytest.approx(jensenshannon(ref, cur), rel=1e-9)
    assert S.jensen_shannon(ref, ref * 3) == pytest.approx(0.0, abs=1e-7)
    disjoint = S.jensen_shannon(np.array([1, 0]), np.array([0, 1]))
    assert disjoint == pytest.approx(np.sqrt(np.log(2)), rel=1e-12)


def test_kl_and_psi_use_the_documented_epsilon() -> None:
    ref, cur = _counts(np.random.default_rng(5), 8)
    p, q = ref / ref.sum(), cur / cur.sum()
    assert S.kl(ref, cur) == pytest.approx(stats.entropy(p, q), rel=1e-9)
    assert S.psi(ref, cur) == pytest.approx(np.sum((q - p) * np.log(q / p)), rel=1e-9)

    ref, cur = _counts(np.random.default_rng(6), 8, zeros=True)
    p = np.where(ref == 0, S.EPS, ref / ref.sum())
    q = np.where(cur == 0, S.EPS, cur / cur.sum())
    assert S.kl(ref, cur) == pytest.approx(rel_entr(p, q).sum(), rel=1e-9)
    assert S.psi(ref, cur) == pytest.approx(np.sum((q - p) * np.log(q / p)), rel=1e-9)
    assert np.isfinite(S.kl(ref, cur)) and np.isfinite(S.psi(ref, cur))


def test_hellinger_bounds_and_formula() -> None:
    ref, cur = _counts(np.random.default_rng(7), 6)
    p, q = ref / ref.sum(), cur / cur.sum()
    expected = np.linalg.norm(np.sqrt(p) - np.sqrt(q)) / np.sqrt(2)
    assert S.hellinger(ref, cur) == pytest.approx(expected, rel=1e-12)
    assert S.hellinger(np.array([1, 0]), np.array([0, 1])) == pytest.approx(1.0)
    assert S.hellinger(ref, ref) == pytest.approx(0.0, abs=1e-12)


def test_quantile_edges_match_numpy_and_collapse_duplicates() -> None:
    values = np.sort(np.random.default_rng(8).normal(size=1001))
    edges = S.quantile_edges(values, 10)
    assert edges.size == 9
    np.testing.assert_allclose(edges, np.quantile(values, np.linspace(0, 1, 11)[1:-1]), rtol=1e-12)

    lumpy = np.sort(np.concatenate([np.zeros(900), np.arange(100.0)]))
    lumpy_edges = S.quantile_edges(lumpy, 10)
    assert np.all(np.diff(lumpy_edges) > 0)
    assert lumpy_edges.size < 9


def test_binned_counts_cover_every_value() -> None:
    rng = np.random.default_rng(9)
    ref = np.sort(rng.normal(size=5000))
    cur = np.sort(rng.normal(3.0, 2.0, size=777))  # mostly beyond the reference range
    edges = S.quantile_edges(ref, 10)
    ref_counts, cur_counts = S.binned_counts(ref, edges), S.binned_counts(cur, edges)
    assert ref_counts.size == cur_counts.size == 10
    assert ref_counts.sum() == 5000 and cur_counts.sum() == 777
    assert ref_counts.min() >= 499  # quantile bins hold ~equal reference shares
    full = np.concatenate(([-np.inf], edges, [np.inf]))
    np.testing.assert_array_equal(cur_counts, np.histogram(cur, full)[0])
