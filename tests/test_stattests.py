"""solution/stattests.py against textbook, published and hand-worked values, and against
simulation with a stated tolerance; never against its own output."""

import math
import random

import pytest

from solution import stattests as lab


# ── the statistics against textbook and hand-worked values ──────────────────────────────────────

@pytest.mark.parametrize("successes,n,low,high", [
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Statistics in
    # Medicine 17:857-872, Table I, method 3 (Wilson score, no continuity correction), 4 decimals.
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_interval_matches_newcombes_worked_examples(successes, n, low, high):
    got = lab.wilson_interval(successes, n)
    assert got == pytest.approx((low, high), abs=5e-5)        # the paper rounds to 4 decimals


def test_wilson_interval_for_8_of_10_by_hand():
    # z = 1.959964, z^2 = 3.841459; p = 0.8, n = 10
    # centre = (0.8 + 3.841459 / 20) / (1 + 3.841459 / 10) = 0.992073 / 1.384146 = 0.716740
    # half = 1.959964 * sqrt(0.016 + 3.841459 / 400) / 1.384146 = 1.959964 * 0.160004 / 1.384146
    #      = 0.226564  ->  (0.490176, 0.943304)
    low, high = lab.wilson_interval(8, 10)
    assert low == pytest.approx(0.49018, abs=1e-4) and high == pytest.approx(0.94330, abs=1e-4)
    assert 0.8 - low > high - 0.8           # not symmetric around p: the point of Wilson


def test_two_proportion_z_by_hand():
    # 40/100 against 25/100: pooled p = 65/200 = 0.325
    # se = sqrt(0.325 * 0.675 * (1/100 + 1/100)) = sqrt(0.0043875) = 0.0662382
    # z = (0.40 - 0.25) / 0.0662382 = 2.26455; two-sided p = 2 (1 - Phi(2.26455)) = 0.02354
    z, p = lab.two_proportion_z(40, 100, 25, 100)
    assert z == pytest.approx(2.26455, abs=1e-4) and p == pytest.approx(0.02354, abs=1e-4)
    assert lab.two_proportion_z(25, 100, 40, 100)[0] == pytest.approx(-z)


@pytest.mark.parametrize("x,df,p", [
    # chi-square table critical values (NIST/SEMATECH e-Handbook, 1.3.6.7.4), 3 decimals
    (3.841, 1, 0.05), (6.635, 1, 0.01), (5.991, 2, 0.05), (9.210, 2, 0.01), (7.815, 3, 0.05),
    (11.070, 5, 0.05), (16.919, 9, 0.05), (21.666, 9, 0.01), (18.307, 10, 0.05), (43.773, 30, 0.05),
])
def test_chi_square_p_values_match_the_table(x, df, p):
    # tolerance 2e-4: the table's x is rounded to 3 decimals, which moves p by far less than that
    assert lab.chi2_sf(x, df) == pytest.approx(p, abs=2e-4)
    assert lab.chi2_isf(p, df) == pytest.approx(x, abs=2e-3)


def test_chi_square_homogeneity_by_hand():
    # rows 60 and 60, columns 30, 40, 50, N = 120: E = 15, 20, 25 in both rows
    # X^2 = 2 * (25/15 + 0/20 + 25/25) = 5.3333, df = (2-1)(3-1) = 2, p = exp(-5.3333/2) = 0.069483
    statistic, df, p = lab.chi_square([[10, 20, 30], [20, 20, 20]])
    assert statistic == pytest.approx(16 / 3) and df == 2 and p == pytest.approx(0.069483, abs=1e-6)
    # 2 x 2, E = 25 everywhere: X^2 = 4 * 25/25 = 4, df 1, p = erfc(sqrt(2)) = 0.045500
    statistic, df, p = lab.chi_square([[20, 30], [30, 20]])
    assert (statistic, df) == (4.0, 1) and p == pytest.approx(0.045500, abs=1e-6)
    # a column empty in both rows (the launched topic before the launch) is dropped, not divided by
    assert lab.chi_square([[10, 20, 0], [20, 10, 0]])[1] == 1


@pytest.mark.parametrize("lam,alpha", [
    # Smirnov's critical values c(alpha) of the two-sample test (e.g. Wikipedia, KS test table)
    (1.224, 0.10), (1.358, 0.05), (1.628, 0.01), (1.949, 0.001),
])
def test_kolmogorov_tail_matches_the_critical_values(lam, alpha):
    assert lab.kolmogorov_sf(lam) == pytest.approx(alpha, abs=3e-4)


def test_ks_statistic_on_small_samples_by_hand():
    # a = 1 2 3 4, b = 3 4 5 6 7. After x = 2: F_a = 2/4, F_b = 0 -> 0.5; after 3: 3/4 - 1/5 = 0.55;
    # after 4: 4/4 - 2/5 = 0.6 (the maximum); after 5: 1 - 3/5 = 0.4. Ties at 3 and 4 step together.
    assert lab.ks_2samp([1, 2, 3, 4], [3, 4, 5, 6, 7])[0] == pytest.approx(0.6)
    assert lab.ks_2samp([4, 3, 2, 1], [7, 5, 6, 3, 4])[0] == pytest.approx(0.6)   # in any order
    assert lab.ks_2samp([1, 2], [3, 4])[0] == 1.0
    d, p = lab.ks_2samp([1, 2, 3], [1, 2, 3])
    assert d == 0.0 and p == 1.0


def test_ks_p_value_by_hand_on_shifted_samples():
    # 0..999 against 100..1099: D = 0.1. Ne = 1000 * 1000 / 2000 = 500, sqrt(Ne) = 22.36068
    # l = (22.36068 + 0.12 + 0.11 / 22.36068) * 0.1 = 2.248560; 2 l^2 = 10.11204
    # Q = 2 exp(-10.11204) - 2 exp(-40.448) = 8.1176e-5
    d, p = lab.ks_2samp(range(1000), range(100, 1100))
    assert d == pytest.approx(0.1) and p == pytest.approx(8.1176e-5, rel=1e-3)


def test_psi_by_hand_on_three_bins():
    # ref 0.5 0.3 0.2, cur 0.3 0.3 0.4: (-0.2) ln(0.6) + 0 + 0.2 ln 2
    #   = 0.102165 + 0.138629 = 0.240795
    assert lab.psi([0.5, 0.3, 0.2], [0.3, 0.3, 0.4]) == pytest.approx(0.240795, abs=1e-6)
    assert lab.psi([50, 30, 20], [30, 30, 40]) == pytest.approx(0.240795, abs=1e-6)   # counts too
    # an empty reference bin is floored at 1e-4: (-0.1) ln(0.8) + (0.1 - 1e-4) ln(0.1 / 1e-4)
    # = 0.022314 + 0.0999 * 6.907755 = 0.712399: one rare value makes a "major shift"
    assert lab.psi([50, 50, 0], [50, 40, 10]) == pytest.approx(0.712399, abs=1e-6)


def test_fixed_psi_thresholds_misfire_on_small_samples_more_than_the_chi_square_says():
    """Two samples of the same 10-bin distribution: how often does noise alone cross 0.25? An
    independent simulation (one draw at a time, its own PSI arithmetic) against the module's."""
    rng = random.Random(35)

    def crossed(n: int, draws: int) -> float:
        hits = 0
        for _ in range(draws):
            a, b = [0] * 10, [0] * 10
            for _ in range(n):
                a[rng.randrange(10)] += 1
                b[rng.randrange(10)] += 1
            hits += sum((y / n - x / n) * math.log(max(y / n, 1e-4) / max(x / n, 1e-4))
                        for x, y in zip(a, b)) > 0.25
        return hits / draws

    for n, chi_square_says in ((50, 0.715), (100, 0.187)):
        mine = crossed(n, 1500)
        module = lab.psi_null_exceedance(0.25, n, n, 10, 1500, random.Random(n))
        assert abs(mine - module) < 0.05                 # 3.5 standard errors of 1,500 draws
        assert round(lab.chi2_sf(0.25 / (2 / n), 9), 3) == chi_square_says
        assert mine > chi_square_says + 0.02             # the approximation understates the trap
    assert lab.psi_null_exceedance(0.25, 2000, 2000, 10, 50, random.Random(1)) == 0.0   # large: safe


def test_at_large_samples_the_simulation_agrees_with_the_chi_square_approximation():
    # n = m = 2,000 over 10 bins: PSI / (2 / 2,000) ~ chi-square(9), so P(PSI > 0.01) = P(X > 10)
    expected = lab.chi2_sf(10.0, 9)
    assert expected == pytest.approx(0.3505, abs=1e-3)
    assert lab.psi_null_exceedance(0.01, 2000, 2000, 10, 600, random.Random(3)) == \
        pytest.approx(expected, abs=0.07)                # 3.5 standard errors of 600 draws
