"""Statistics for online evaluation: is a pass rate, a mix or a distribution still what it was?

Standard library only (math, statistics.NormalDist), each function with its source. The tests
lab 3 runs on every drift window:

    wilson_interval(successes, n)         a pass rate's confidence interval (Wilson 1927)
    two_proportion_z(x1, n1, x2, n2)      is one pass rate below another? (pooled z-test)
    weighted_mean(values, weights)        a mean from an unequal-probability sample (Hajek), and
                                          the effective sample size behind it (Kish)
    psi(reference, current)               population stability index over the same bins
    chi_square(table)                     does a categorical mix differ? (Pearson, 2 x k)
    ks_2samp(a, b)                        do two numeric samples differ? (Kolmogorov-Smirnov)
    psi_null_exceedance(t, n, m, bins, ...)  how often noise alone crosses a PSI threshold (simulated)

quantile_cuts and bin_counts to bin a numeric sample for PSI, and the distributions behind their
p-values: chi2_sf and chi2_isf (chi-square), kolmogorov_sf.
Every function refuses an impossible input with StatsError (a ValueError).

    >>> wilson_interval(8, 10)            # 8 passes of 10: the interval is wide, and not symmetric
    (0.4901..., 0.9433...)
    >>> round(psi([50, 30, 20], [30, 30, 40]), 5)      # by hand: 0.2 ln(5/3) + 0.2 ln 2
    0.24079

Remember: a statistic without its sample size is a rumour. PSI's rule of thumb (< 0.1 stable,
0.1-0.25 moderate, > 0.25 major) ignores the sample size; at a hundred answers noise alone
crosses 0.25 about one time in five.
"""

from __future__ import annotations

import bisect
import math
from statistics import NormalDist

from solution.numeric import nearest_rank
from typing import Sequence


class StatsError(ValueError):
    """An input the statistic cannot be computed on (no data, n <= 0, df < 1, ...)."""


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (Wilson 1927; Newcombe 1998, method 3).

    centre = (p + z^2/2n) / (1 + z^2/n), half-width = z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n).
    Unlike p +- z sqrt(p(1-p)/n), it never leaves [0, 1] and stays honest at 0 or n successes.
    `n` may be an effective sample size (a float).
    """
    if n <= 0:
        raise StatsError("wilson_interval() needs n > 0")
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def weighted_mean(values: Sequence[float], weights: Sequence[float]) -> tuple[float, float]:
    """The mean of a population from a sample whose items were kept with unequal chances, each
    weighing 1 / its chance: Hajek's ratio form of the Horvitz-Thompson estimator,
    sum(w x) / sum(w); and Kish's effective sample size (Survey Sampling, 1965),
    n_eff = (sum w)^2 / sum w^2: unequal weights buy less certainty than the raw count suggests.
    (nan, 0.0) for an empty sample.

    >>> weighted_mean([1, 0, 0], [1.0, 1.0, 2.0])      # 1 / 4, and 4^2 / 6
    (0.25, 2.666...)
    """
    total = sum(weights)
    if not total:
        return math.nan, 0.0
    return sum(w * x for x, w in zip(values, weights)) / total, total * total / sum(w * w for w in weights)


def two_proportion_z(x1: float, n1: float, x2: float, n2: float) -> tuple[float, float]:
    """Two-proportion z-test with the pooled rate: z = (p1 - p2) / sqrt(p(1-p)(1/n1 + 1/n2)),
    p = (x1 + x2) / (n1 + n2). Returns z and the two-sided p-value (normal approximation).

    >>> round(two_proportion_z(40, 100, 25, 100)[0], 4)
    2.2646
    """
    p1, p2, pooled = x1 / n1, x2 / n2, (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (p1 - p2) / se
    return z, 2 * NormalDist().cdf(-abs(z))


def psi(reference: Sequence[float], current: Sequence[float], floor: float = 1e-4) -> float:
    """Population stability index of two histograms over the same bins (counts or proportions):
    PSI = sum over bins of (cur - ref) * ln(cur / ref), proportions floored at `floor` so an empty
    bin does not divide by zero. Rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 major.
    The rule ignores sample size: see psi_null_exceedance().

    >>> round(psi([50, 30, 20], [30, 30, 40]), 5)     # by hand: 0.2 ln(5/3) + 0.2 ln 2
    0.24079
    """
    ref_total, cur_total = sum(reference), sum(current)
    total = 0.0
    for ref, cur in zip(reference, current):
        a, e = max(cur / cur_total, floor), max(ref / ref_total, floor)
        total += (a - e) * math.log(a / e)
    return total


def quantile_cuts(reference: Sequence[float], bins: int) -> list[float]:
    """The cut points of `bins` equally filled bins of the reference (deciles for 10), by nearest
    rank; tied cuts merge, so a lumpy reference may give fewer bins. PSI's usual binning."""
    cuts = (nearest_rank(reference, 100 * i / bins) for i in range(1, bins))
    return sorted(set(cuts))


def bin_counts(values: Sequence[float], cuts: Sequence[float]) -> list[int]:
    """How many values fall in each bin: (-inf, c1], (c1, c2], ..., (c_last, inf).

    >>> bin_counts([1, 2, 2, 3, 9], [2, 5])
    [3, 1, 1]
    """
    counts = [0] * (len(cuts) + 1)
    for v in values:
        counts[bisect.bisect_left(cuts, v)] += 1
    return counts


def chi2_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square variable with df degrees of freedom: the regularized upper
    incomplete gamma Q(df/2, x/2), in closed form (Abramowitz & Stegun 6.5.13 and 26.4.4-5):
    Q(1/2, h) = erfc(sqrt h), Q(1, h) = exp(-h), Q(a + 1, h) = Q(a, h) + h^a e^-h / Gamma(a + 1).

    >>> round(chi2_sf(3.841, 1), 4), round(chi2_sf(5.991, 2), 4)   # the tables' 5 % points
    (0.05, 0.05)
    """
    if df < 1:
        raise StatsError("chi2_sf() needs df >= 1")
    if x <= 0:
        return 1.0
    h = x / 2
    base, a = (0.0, 0.0) if df % 2 == 0 else (math.erfc(math.sqrt(h)), 0.5)
    terms = []
    while a < df / 2 - 1e-9:
        terms.append(math.exp(a * math.log(h) - h - math.lgamma(a + 1)))
        a += 1
    return min(1.0, base + math.fsum(terms))


def chi2_isf(p: float, df: int) -> float:
    """The critical value x with chi2_sf(x, df) = p, by bisection: chi2_isf(0.05, 1) = 3.841..."""
    low, high = 0.0, max(1.0, 2.0 * df)
    while chi2_sf(high, df) > p:
        high *= 2
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if chi2_sf(middle, df) > p else (low, middle)
    return (low + high) / 2


def chi_square(table_rows: Sequence[Sequence[float]]) -> tuple[float, int, float]:
    """Pearson's chi-square test of homogeneity: do the rows share one distribution?

    E = row total x column total / N, X^2 = sum (O - E)^2 / E, df = (rows - 1)(columns - 1);
    columns empty in every row are dropped. Returns (X^2, df, p-value).
    """
    columns = [c for c in range(len(table_rows[0])) if any(row[c] for row in table_rows)]
    rows = [[row[c] for c in columns] for row in table_rows]
    row_totals = [sum(row) for row in rows]
    column_totals = [sum(column) for column in zip(*rows)]
    n = sum(row_totals)
    df = (len(rows) - 1) * (len(columns) - 1)
    if df < 1 or not n:
        return 0.0, max(df, 0), 1.0
    statistic = 0.0
    for row, row_total in zip(rows, row_totals):
        for observed, column_total in zip(row, column_totals):
            expected = row_total * column_total / n
            if expected:
                statistic += (observed - expected) ** 2 / expected
    return statistic, df, chi2_sf(statistic, df)


def kolmogorov_sf(lam: float) -> float:
    """Q_KS(l) = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 l^2): the Kolmogorov distribution's upper tail
    (Numerical Recipes, probks). Q_KS(1.358) = 0.05, Q_KS(1.628) = 0.01."""
    if lam < 0.2:           # the series is slow there, and the tail is 1 to 9 decimals
        return 1.0
    total = 0.0
    for j in range(1, 101):
        term = (-1) ** (j - 1) * math.exp(-2 * j * j * lam * lam)
        total += term
        if abs(term) < 1e-12:
            break
    return min(1.0, max(0.0, 2 * total))


def ks_2samp(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test: D = max |F_a(x) - F_b(x)| over the pooled points, and
    its asymptotic p-value Q_KS((sqrt(Ne) + 0.12 + 0.11 / sqrt(Ne)) D), Ne = n m / (n + m)
    (Stephens 1970; Numerical Recipes, kstwo). scipy uses an exact distribution below 10,000
    points, so small samples differ a little. Ties are stepped over together, as the ECDF does.

    >>> ks_2samp([1, 2, 3, 4], [3, 4, 5, 6, 7])[0]   # at x = 4: F_a = 4/4, F_b = 2/5
    0.6
    """
    a, b = sorted(a), sorted(b)
    n, m = len(a), len(b)
    if not n or not m:
        raise StatsError("ks_2samp() needs two non-empty samples")
    i = j = 0
    d = 0.0
    while i < n and j < m:
        x = a[i] if a[i] <= b[j] else b[j]
        i = bisect.bisect_right(a, x, i)
        j = bisect.bisect_right(b, x, j)
        d = max(d, abs(i / n - j / m))
    root = math.sqrt(n * m / (n + m))
    return d, kolmogorov_sf((root + 0.12 + 0.11 / root) * d)


def psi_null_exceedance(threshold: float, n: int, m: int, bins: int, draws: int, rng) -> float:
    """How often two samples of n and m from one distribution (`bins` equally likely bins) cross a
    PSI threshold, by simulation: PSI's rule of thumb without its sample size. Its standard error
    is sqrt(p (1 - p) / draws). No formula stands in for it at these sizes: the chi-square
    approximation of PSI / (1/n + 1/m) holds only for large samples with no empty bins (at
    n = m = 50 it gives 71 % where two samples cross 0.25 about 78 % of the time).
    """
    uniform, hits = rng.random, 0
    for _ in range(draws):
        current, reference = [0] * bins, [0] * bins
        for _ in range(n):              # a bin drawn as rng.choices(range(bins)) draws it
            reference[int(uniform() * bins)] += 1
        for _ in range(m):
            current[int(uniform() * bins)] += 1
        hits += psi(reference, current) > threshold
    return hits / draws
