"""stats.evidence against BayesFactor 0.9.12-4.4 and hand-computed TOST (tests/fixtures/bayes/make_fixtures.R).

BayesFactor's ``ttestBF`` integrates the noncentral t density over the Cauchy prior
with R's ``integrate`` at its default tolerance; for large t with small n that
quadrature is off the exact value by up to 2.8 % (t = 57, n = 6; the fixtures record
both; below |t| = 15 it is always within 1e-6). So the
Bayes factors are compared with BayesFactor to 1e-6 wherever BayesFactor's own value
is within 1e-6 of the tight integral, and with the tight integral (Rouder et al.'s
integral over g, ``integrate(rel.tol = 1e-13)``) everywhere, to 1e-9; an independent
third route (scipy's noncentral t, Boost) confirms the large-t values.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from opioidsocial.errors import DataError
from opioidsocial.stats import evidence as ev

FIX = json.loads((Path(__file__).parent / "fixtures" / "bayes" / "evidence.json").read_text())
BF_TOL = 1e-6
EXACT_TOL = 1e-9


def _bayesfactor_exact(case: dict) -> bool:
    """True where BayesFactor's default-tolerance quadrature is within 1e-6 of the tight integral."""
    return abs(case["bf10"] - case["bf10_rouder"]) <= BF_TOL * case["bf10_rouder"]


def _check_bf(log_bf10: float, case: dict) -> None:
    assert math.exp(log_bf10) == pytest.approx(case["bf10_rouder"], rel=EXACT_TOL)
    if _bayesfactor_exact(case):
        assert math.exp(log_bf10) == pytest.approx(case["bf10"], rel=BF_TOL)


@pytest.mark.parametrize("case", FIX["two_sample"], ids=lambda c: f"n{len(c['x'])}/{len(c['y'])}-r{c['rscale']:.2f}-t{c['t']:.1f}")
def test_two_sample_matches_ttestbf(case):
    result = ev.two_sample(case["x"], case["y"], rscale=case["rscale"], sesoi=0.3)
    assert result.t == pytest.approx(case["t"], rel=1e-12)
    assert (result.n1, result.n2) == (len(case["x"]), len(case["y"]))
    _check_bf(result.log_bf10, case)


@pytest.mark.parametrize("case", FIX["paired"], ids=lambda c: f"n{len(c['x'])}-r{c['rscale']:.2f}-t{c['t']:.1f}")
def test_paired_matches_ttestbf(case):
    result = ev.paired(np.subtract(case["x"], case["y"]), rscale=case["rscale"], sesoi=0.3)
    assert result.t == pytest.approx(case["t"], rel=1e-12)
    assert result.n2 is None
    _check_bf(result.log_bf10, case)


@pytest.mark.parametrize("case", FIX["from_t"], ids=lambda c: f"t{c['t']}-n{c['n1']}/{c['n2']}-r{c['rscale']:.2f}")
def test_from_t_matches_ttest_tstat(case):
    _check_bf(ev.log_ttest_bf(t=case["t"], n1=case["n1"], n2=case["n2"] or None, rscale=case["rscale"]), case)


def test_bayesfactor_is_compared_at_1e6_below_t15_and_at_t15():
    """The 1e-6 comparison with BayesFactor skips nothing below |t| = 15, and covers t = 15 and n = 3."""
    cases = FIX["two_sample"] + FIX["paired"] + FIX["from_t"]
    assert all(_bayesfactor_exact(c) for c in cases if abs(c["t"]) < 15)
    compared = [c for c in cases if _bayesfactor_exact(c)]
    assert any(c["t"] == 15 for c in compared)
    assert any(c.get("n1", len(c.get("x", []))) == 3 for c in compared)


@pytest.mark.parametrize("t, n1, n2", [(15, 3, None), (30, 5, None), (30, 3, 3), (30, 20, 22)])
def test_large_t_agrees_with_the_noncentral_t_integral(t, n1, n2):
    """Where BayesFactor is off, a third route (scipy's noncentral t over the Cauchy prior) agrees with ours."""
    rscale = math.sqrt(2) / 2
    n_eff, nu = (n1, n1 - 1) if n2 is None else (n1 * n2 / (n1 + n2), n1 + n2 - 2)
    def f(d):
        return stats.nct.pdf(t, nu, d * math.sqrt(n_eff)) * stats.cauchy.pdf(d, scale=rscale)
    centre = t / math.sqrt(n_eff)
    pieces = [(-math.inf, 0), (0, centre), (centre, 3 * centre), (3 * centre, math.inf)]
    marginal = sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-12, limit=500)[0] for a, b in pieces)
    assert math.exp(ev.log_ttest_bf(t=t, n1=n1, n2=n2, rscale=rscale)) == pytest.approx(marginal / stats.t.pdf(t, nu), rel=1e-8)


@pytest.mark.parametrize("case", FIX["correlation"], ids=lambda c: f"n{len(c['x'])}-r{c['r']:.2f}-k{c['rscale']:.2f}")
def test_correlation_matches_correlationbf(case):
    result = ev.correlation(case["x"], case["y"], kappa=case["rscale"])
    assert result.log_bf10 == pytest.approx(case["log_bf10_series"], abs=1e-9)
    if case["bayesfactor_warned"]:
        # BayesFactor's 2,000-term series did not converge there (it returned NA).
        assert case["bf10"] in (None, "NA") or not math.isfinite(case["bf10"])
    else:
        assert math.exp(result.log_bf10) == pytest.approx(case["bf10"], rel=BF_TOL)
    assert math.isnan(result.tost_p) and result.row(alpha=0.05)["equivalent"] is None


@pytest.mark.parametrize("case", FIX["tost"], ids=lambda c: f"{c['design']}-n{len(c['x'])}-sesoi{c['sesoi']}")
def test_tost_matches_hand_computed_r(case):
    if case["design"] == "between":
        result = ev.two_sample(case["x"], case["y"], rscale=0.7, sesoi=case["sesoi"])
    else:
        result = ev.paired(case["x"], rscale=0.7, sesoi=case["sesoi"])
    assert result.tost_p == pytest.approx(case["tost_p"], rel=1e-10)
    assert result.row(alpha=0.05)["equivalent"] == (case["tost_p"] < 0.05)


@pytest.mark.parametrize("bf10, expected", [(3.0, ev.LABELS[0]), (2.999, ev.LABELS[2]), (1 / 3, ev.LABELS[1]), (0.34, ev.LABELS[2]), (1e9, ev.LABELS[0]), (1e-9, ev.LABELS[1])])
def test_label_thresholds(bf10, expected):
    assert ev.label(bf10) == expected


def test_row_columns_are_consistent():
    row = ev.paired([0.1, 0.5, 0.3, 0.8, 0.2], rscale=math.sqrt(2) / 2, sesoi=0.3).row(alpha=0.05)
    assert row["bf01"] == pytest.approx(1 / row["bf10"], rel=1e-12)
    assert row["label"] == ev.label(row["bf10"])
    assert row["equivalent"] == (row["tost_p"] < 0.05)


@settings(max_examples=60, deadline=None)
@given(t=st.floats(0, 60), n1=st.integers(2, 5000), n2=st.one_of(st.none(), st.integers(1, 5000)), rscale=st.floats(0.1, 2))
def test_bf_is_finite_even_in_sign_and_grows_with_t(t, n1, n2, rscale):
    log_bf = ev.log_ttest_bf(t=t, n1=n1, n2=n2, rscale=rscale)
    assert math.isfinite(log_bf)
    assert ev.log_ttest_bf(t=-t, n1=n1, n2=n2, rscale=rscale) == pytest.approx(log_bf, abs=1e-9)
    assert ev.log_ttest_bf(t=t + 1, n1=n1, n2=n2, rscale=rscale) > log_bf - 1e-9


def test_huge_t_stays_in_log_space():
    log_bf = ev.log_ttest_bf(t=1e8, n1=100, rscale=math.sqrt(2) / 2)
    assert 709.8 < log_bf < math.inf  # BF10 itself (e^log_bf) would overflow a float
    # Far out, doubling t multiplies the t likelihood ratio by about 2^(n-1) and the marginal under H1 by about 1/2.
    assert ev.log_ttest_bf(t=2e8, n1=100, rscale=math.sqrt(2) / 2) - log_bf == pytest.approx(98 * math.log(2), rel=1e-3)


def test_null_evidence_accumulates_with_n():
    """At t = 0, BF01 grows like sqrt(n): evidence for no difference needs data."""
    bf01 = [math.exp(-ev.log_ttest_bf(t=0.0, n1=n, n2=n, rscale=math.sqrt(2) / 2)) for n in (5, 50, 500)]
    assert bf01[0] < 3 < bf01[2] and bf01 == sorted(bf01)


@pytest.mark.parametrize("call", [
    lambda: ev.log_ttest_bf(t=1.0, n1=1, rscale=0.7),
    lambda: ev.log_ttest_bf(t=1.0, n1=1, n2=1, rscale=0.7),
    lambda: ev.log_ttest_bf(t=math.inf, n1=5, rscale=0.7),
    lambda: ev.log_ttest_bf(t=1.0, n1=5, rscale=0.0),
    lambda: ev.paired([0.2, 0.2, 0.2], rscale=0.7, sesoi=0.3),
    lambda: ev.two_sample([1.0, np.nan], [0.0, 1.0], rscale=0.7, sesoi=0.3),
    lambda: ev.correlation([1, 2, 3], [2, 4, 6], kappa=1 / 3),
    lambda: ev.correlation([1, 2], [2, 1], kappa=1 / 3),
])
def test_unusable_data_raise_a_data_error_with_a_fix(call):
    with pytest.raises(DataError) as err:
        call()
    assert err.value.fix
