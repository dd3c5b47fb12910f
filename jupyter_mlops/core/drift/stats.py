"""Two-sample drift statistics on sorted arrays and count vectors.

Every function here takes either the *sorted finite values* of each side
(``ks``, ``wasserstein``) or aligned *count vectors* (the binned and categorical
tests), never a DataFrame. That split is deliberate: a stored dataset profile
can later supply the reference side as a sorted sample or as bin/category
counts without touching the engine, and the engine never loops over rows in
Python.

Definitions (the ones a reader comparing numbers with other tools needs):

* ``ks`` — two-sided two-sample Kolmogorov-Smirnov, same statistic and p-value
  as ``scipy.stats.ks_2samp``. The p-value is exact (``method='exact'``) when
  both samples have at most ``KS_EXACT_MAX_N`` values and asymptotic
  (``method='asymp'``: ``kstwo.sf(d, round(n*m/(n+m)))``) above.
* ``wasserstein`` — Wasserstein-1 distance divided by the reference's standard
  deviation (``ddof=0``, floored at ``1e-3``), as Evidently's "normed"
  Wasserstein; :func:`wasserstein_distance` is the raw scipy-equal distance.
* ``jensen_shannon`` — the Jensen-Shannon **distance** (square root of the
  divergence, natural log), which is what ``scipy.spatial.distance.jensenshannon``
  and Evidently report; it lies in ``[0, sqrt(ln 2)]``.
* ``psi`` and ``kl`` — on proportions where empty cells are replaced by
  ``EPS`` (no renormalisation, as Evidently does), otherwise they are infinite.
  ``kl`` is KL(reference || current).
* ``hellinger`` — ``||sqrt(p) - sqrt(q)||_2 / sqrt(2)``, in ``[0, 1]``.
* ``chi2`` — Pearson chi-square on the 2 x k reference/current contingency table
  without Yates' correction (``chi2_contingency(..., correction=False)``).
* ``z`` — two-proportion z test (pooled variance); for a 2 x 2 table its
  square equals the ``chi2`` statistic and the p-values coincide.
"""

from __future__ import annotations

import math

import numpy as np

#: Proportion substituted for empty bins/categories in ``psi`` and ``kl``.
EPS = 1e-4
#: Largest sample size (each side) for which the KS p-value is exact.
#: The exact recursion costs ``n + m`` vectorised steps, so 1,000 keeps it at
#: a few milliseconds while covering the default KS regime (reference <= 1,000).
KS_EXACT_MAX_N = 1_000
#: Evidently's floor for the reference std in the normed Wasserstein distance.
WASSERSTEIN_MIN_STD = 1e-3

#: Tests whose verdict is ``p_value < threshold``.
P_VALUE_TESTS = ("ks", "chi2", "z")
#: Tests whose verdict is ``statistic >= threshold``.
DISTANCE_TESTS = ("wasserstein", "psi", "jensen_shannon", "kl", "hellinger")
#: Every test name accepted by ``drift(tests=...)``.
TEST_NAMES = ("ks", "wasserstein", "psi", "jensen_shannon", "chi2", "kl", "hellinger", "z")
#: Tests that need the raw sorted values (numeric and datetime columns only).
SORTED_TESTS = ("ks", "wasserstein")
DEFAULT_THRESHOLDS = {
    **{name: 0.05 for name in P_VALUE_TESTS},
    **{name: 0.1 for name in DISTANCE_TESTS},
}


# --------------------------------------------------------------------- sorted


def _merge(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge two sorted arrays, remembering which side each value came from.

    A stable argsort of the concatenation is a run merge (timsort/radix) and
    keeps ``u`` before ``v`` on ties, the same order scipy's mergesort gives.
    """
    both = np.concatenate((u, v))
    order = np.argsort(both, kind="stable")
    return both[order], order >= u.size


def ks_statistic(u: np.ndarray, v: np.ndarray) -> float:
    """Largest gap between the two empirical CDFs, from one merge.

    Both CDFs come from integer running counts evaluated at the last copy of
    every tied value — exactly scipy's ``searchsorted(..., side='right')``.
    """
    n, m = u.size, v.size
    merged, from_v = _merge(u, v)
    cv = np.cumsum(from_v)
    cu = np.arange(1, merged.size + 1) - cv
    last = np.empty(merged.size, dtype=bool)
    np.not_equal(merged[1:], merged[:-1], out=last[:-1])
    last[-1] = True
    diff = cu[last] / n - cv[last] / m
    return float(max(diff.max(), -diff.min(), 0.0))


def _ks_exact_sf(m: int, n: int, g: int, h: int) -> float:
    """P(D >= h / lcm) under H0 by the lattice-path recursion, one anti-diagonal per step.

    ``A(x, y)`` is the probability that a uniformly random path to ``(x, y)``
    has already left the band ``|x*n/g - y*m/g| < h`` (Viehmann 2021, the
    recursion scipy uses), so small p-values do not cancel against 1. All cells
    with ``x + y = s`` depend only on diagonal ``s - 1``, which vectorises the
    inner loop scipy runs element by element.
    """
    if m < n:
        m, n = n, m
    mg, ng = m // g, n // g
    prev = np.zeros(n + 2)  # prev[1 + y] = A(s - 1 - y, y); prev[0] pads y = -1
    ys = np.arange(n + 1, dtype=np.float64)
    yi = np.arange(n + 1, dtype=np.int64)
    for s in range(1, m + n + 1):
        lo, hi = max(0, s - m), min(s, n)
        y = ys[lo : hi + 1]
        x = s - y
        val = (x * prev[1 + lo : 2 + hi] + y * prev[lo : 1 + hi]) / s
        outside = np.abs((s - yi[lo : hi + 1]) * ng - yi[lo : hi + 1] * mg) >= h
        val[outside] = 1.0
        prev[1 + lo : 2 + hi] = val
    return float(prev[1 + n])


def ks_pvalue(d: float, n1: int, n2: int) -> tuple[float, float]:
    """Two-sided p-value for the KS statistic ``d``; returns ``(d, p)``.

    Like scipy, the exact branch snaps ``d`` to the ``1/lcm(n1, n2)`` lattice
    it can only take, so the returned statistic is the snapped one.
    """
    if n1 == 0 or n2 == 0:
        return d, math.nan
    if max(n1, n2) <= KS_EXACT_MAX_N:
        g = math.gcd(n1, n2)
        lcm = (n1 // g) * n2
        h = int(np.round(d * lcm))
        d = h / lcm
        if h == 0:
            return d, 1.0
        p = _ks_exact_sf(n1, n2, g, h)
    else:
        from scipy.stats import kstwo

        big, small = sorted((float(n1), float(n2)), reverse=True)
        en = big * small / (big + small)
        p = float(kstwo.sf(d, np.round(en)))
    return d, float(min(max(p, 0.0), 1.0))


def ks(u: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """KS statistic and p-value of two sorted samples."""
    return ks_pvalue(ks_statistic(u, v), u.size, v.size)


def wasserstein_distance(u: np.ndarray, v: np.ndarray) -> float:
    """Wasserstein-1 distance of two sorted samples, as the area between their quantile functions.

    ``W1 = integral over t in (0, 1) of |Q_u(t) - Q_v(t)|`` equals the area
    between the CDFs that scipy integrates, but needs no merge of the values:
    ``Q_u`` steps at ``i/n`` and ``Q_v`` at ``j/m``, so on the common integer
    grid ``0..n*m`` the steps are the multiples of ``m`` and of ``n``, whose
    merged order is known in closed form (no argsort of the values). Equal
    sizes reduce to the mean absolute difference of the sorted samples.
    """
    n, m = u.size, v.size
    if n == m:
        return float(np.mean(np.abs(u - v)))
    i = np.arange(1, n + 1, dtype=np.int64)
    j = np.arange(1, m + 1, dtype=np.int64)
    # each progression's place in the merged order is known in closed form (on a tie,
    # u's step comes first); a common multiple then appears twice, the second with width 0
    pos_u = i - 1 + (i * m - 1) // n
    pos_v = j - 1 + (j * n) // m
    steps = np.empty(n + m, dtype=np.int64)
    steps[pos_u] = i * m
    steps[pos_v] = j * n
    widths = np.diff(steps, prepend=0)
    # on the piece ending at a merged step, Q_u is u[k] up to and including u's k-th step
    q_u = np.repeat(u, _run_lengths(pos_u, n + m))
    q_v = np.repeat(v, _run_lengths(pos_v, n + m))
    return float(np.dot(widths, np.abs(q_u - q_v)) / (float(n) * float(m)))


def _run_lengths(positions: np.ndarray, total: int) -> np.ndarray:
    """How many merged entries take each value: up to its own step, the rest to the last."""
    lengths = np.diff(positions, prepend=-1)
    lengths[-1] += total - 1 - positions[-1]
    return lengths


def wasserstein(u: np.ndarray, v: np.ndarray, ref_std: float | None = None) -> float:
    """Normed Wasserstein: distance in units of the reference's spread."""
    if ref_std is None:
        ref_std = float(np.std(u))
    return wasserstein_distance(u, v) / max(ref_std, WASSERSTEIN_MIN_STD)


def quantile_edges(ref_sorted: np.ndarray, bins: int) -> np.ndarray:
    """Interior bin edges at the reference's quantiles, duplicates collapsed.

    The outer bins are open (``-inf``/``+inf``) so current values outside the
    reference range still land in a bin; ``bins`` quantile bins therefore
    need ``bins - 1`` interior edges. Linear interpolation as ``np.quantile``.
    """
    if ref_sorted.size == 0 or bins < 2:
        return np.empty(0)
    pos = np.linspace(0.0, 1.0, bins + 1)[1:-1] * (ref_sorted.size - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, ref_sorted.size - 1)
    a, b = ref_sorted[lo], ref_sorted[hi]
    return np.unique(a + (b - a) * (pos - lo))


def binned_counts(sorted_values: np.ndarray, interior_edges: np.ndarray) -> np.ndarray:
    """Counts per bin ``(-inf, e1), [e1, e2), ..., [ek, inf)`` of a sorted array.

    ``searchsorted`` of the few edges into the sorted data is O(bins log n).
    """
    cuts = np.searchsorted(sorted_values, interior_edges, side="left")
    return np.diff(np.concatenate(([0], cuts, [sorted_values.size]))).astype(np.int64)


def histogram_counts(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram`` counts (last bin closed) for data known to lie inside ``edges``."""
    return binned_counts(sorted_values, edges[1:-1])


# ------------------------------------------------------------------- sketches
#
# A stored dataset profile keeps a numeric reference as a *sketch*: its values
# at evenly spaced quantile levels 0, 1/(k-1), ..., 1 (linear interpolation,
# as ``np.quantile``). Read as a piecewise-linear quantile function (with jumps
# where sketch values repeat, i.e. atoms of the data), it gives the reference
# CDF anywhere, so KS, Wasserstein and bin counts need not re-read the data.
# Their error is that of linear interpolation between neighbouring quantiles.


def sketch_cdf(sketch: np.ndarray, x: np.ndarray, side: str = "right") -> np.ndarray:
    """The reference CDF at ``x`` from a sketch: ``F(x)`` (side="right") or ``F(x-)``."""
    levels = np.linspace(0.0, 1.0, sketch.size)
    idx = np.searchsorted(sketch, x, side=side)
    lo = np.clip(idx - 1, 0, sketch.size - 1)
    hi = np.clip(idx, 0, sketch.size - 1)
    span = sketch[hi] - sketch[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(span > 0, (x - sketch[lo]) / np.where(span > 0, span, 1.0), 0.0)
    cdf = levels[lo] + frac * (levels[hi] - levels[lo])
    cdf = np.where(idx == 0, 0.0, cdf)
    return np.where(idx >= sketch.size, 1.0, cdf)


def ks_sketch(sketch: np.ndarray, cur: np.ndarray) -> float:
    """KS statistic between a reference sketch and a sorted sample.

    Between jump points the sketch CDF is linear and the sample's is flat, so
    the supremum is at a jump point of either, from the left or the right.
    """
    points = np.concatenate((sketch, cur))
    g_right = np.searchsorted(cur, points, side="right") / cur.size
    g_left = np.searchsorted(cur, points, side="left") / cur.size
    right = np.abs(sketch_cdf(sketch, points, "right") - g_right)
    left = np.abs(sketch_cdf(sketch, points, "left") - g_left)
    return float(max(right.max(), left.max()))


def wasserstein_sketch(sketch: np.ndarray, cur: np.ndarray) -> float:
    """W1 between a reference sketch and a sorted sample, as the quantile-function integral.

    ``W1 = integral over u of |Q_ref(u) - Q_cur(u)|``; ``Q_cur`` is a step per
    sample value, ``Q_ref`` the sketch interpolated at each step's midpoint.
    """
    m = cur.size
    mid = (np.arange(m, dtype=np.float64) + 0.5) / m
    q_ref = np.interp(mid, np.linspace(0.0, 1.0, sketch.size), sketch)
    return float(np.mean(np.abs(cur - q_ref)))


def sketch_binned_counts(sketch: np.ndarray, interior_edges: np.ndarray, n: int) -> np.ndarray:
    """``binned_counts`` for the ``n`` values a sketch stands for (rounded estimates)."""
    below = sketch_cdf(sketch, np.asarray(interior_edges, dtype=np.float64), "left")
    shares = np.diff(np.concatenate(([0.0], below, [1.0])))
    return np.round(np.clip(shares, 0.0, None) * n).astype(np.int64)


# --------------------------------------------------------------------- counts


def _proportions(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros(counts.shape)


def _filled(counts: np.ndarray) -> np.ndarray:
    p = _proportions(counts)
    return np.where(p == 0, EPS, p)


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Population stability index with ``EPS`` for empty cells."""
    p, q = _filled(ref_counts), _filled(cur_counts)
    return float(np.sum((q - p) * np.log(q / p)))


def kl(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """KL(reference || current) with ``EPS`` for empty cells."""
    p, q = _filled(ref_counts), _filled(cur_counts)
    return float(np.sum(p * np.log(p / q)))


def jensen_shannon(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (sqrt of the divergence, natural log); needs no epsilon."""
    from scipy.special import rel_entr

    p, q = _proportions(ref_counts), _proportions(cur_counts)
    mid = (p + q) / 2.0
    js = (np.sum(rel_entr(p, mid)) + np.sum(rel_entr(q, mid))) / 2.0
    return float(np.sqrt(max(js, 0.0)))


def hellinger(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Hellinger distance between the two frequency vectors."""
    p, q = _proportions(ref_counts), _proportions(cur_counts)
    return float(np.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)) / math.sqrt(2.0))


def chi2(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Pearson chi-square of the 2 x k table; one category on both sides gives (0, 1).

    A single shared category has zero degrees of freedom, where a naive
    implementation returns NaN (Evidently issue 1929); "no difference" is the
    honest answer.
    """
    from scipy.special import chdtrc  # what scipy.stats.chi2.sf evaluates

    observed = np.vstack((ref_counts, cur_counts)).astype(np.float64)
    observed = observed[:, observed.sum(axis=0) > 0]
    k = observed.shape[1]
    rows = observed.sum(axis=1)
    if k < 2 or np.any(rows == 0):
        return 0.0, 1.0
    expected = np.outer(rows, observed.sum(axis=0)) / rows.sum()
    stat = float(((observed - expected) ** 2 / expected).sum())
    return stat, float(chdtrc(k - 1, stat))


def z_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Two-proportion z test on the share of the second category; ``(z, p)``.

    ``z > 0`` means the second category (``True`` for booleans, the larger
    value otherwise) is more frequent in current. Callers guarantee at most
    two categories.
    """
    from scipy.special import ndtr

    if len(ref_counts) < 2:
        return 0.0, 1.0
    n1, n2 = float(ref_counts.sum()), float(cur_counts.sum())
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    k1, k2 = float(ref_counts[1]), float(cur_counts[1])
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    if se == 0.0:
        return 0.0, 1.0
    z = (k2 / n2 - k1 / n1) / se
    return z, float(2.0 * ndtr(-abs(z)))


COUNT_TESTS = {
    "psi": psi,
    "kl": kl,
    "jensen_shannon": jensen_shannon,
    "hellinger": hellinger,
}
