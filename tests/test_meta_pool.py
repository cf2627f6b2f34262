"""pool() against DESIGN.md's metafor values on dat.bcg (1e-4) and metafor fixtures (meta_reference.R)."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opioidsocial.meta.random_effects import METHODS, MetaAnalysisError, pool

FIX = Path(__file__).parent / "fixtures" / "metafor"
BCG = pd.read_csv(FIX / "dat_bcg.tsv", sep="\t")
TOL = 1e-4


def _bcg(**kwargs):
    return pool(BCG["yi"], BCG["vi"], **kwargs)


def test_reml_wald_design_values():
    r = _bcg()
    assert r.k == 13 and r.method == "REML" and r.test == "z"
    for name, value in dict(
        estimate=-0.7145, se=0.1798, tau2=0.3132, i2=92.22, h2=12.86, q=152.2330, ci_lb=-1.0669, ci_ub=-0.3622,
        pi_lb=-1.8667, pi_ub=0.4376, tau2_ci_lb=0.1197, tau2_ci_ub=1.1115,
    ).items():
        assert getattr(r, name) == pytest.approx(value, abs=TOL if name not in ("i2", "h2") else 5e-3), name
    assert r.q_df == 12


def test_knapp_hartung_design_values():
    r = _bcg(test="knha")
    assert r.se == pytest.approx(0.1808, abs=TOL)
    assert r.stat == pytest.approx(-3.9522, abs=TOL)
    assert (r.ci_lb, r.ci_ub) == pytest.approx((-1.1084, -0.3206), abs=TOL)
    assert r.df == 12


@pytest.mark.parametrize(
    "method, estimate, tau2",
    [("DL", -0.7141, 0.3088), ("HE", -0.7159, 0.3286), ("SJ", -0.7172, 0.3455), ("ML", -0.7112, 0.2800),
     ("PM", -0.7150, 0.3181), ("EB", -0.7150, 0.3181), ("HS", -0.7045, 0.2284), ("FE", -0.4303, 0.0)],
)
def test_estimators_design_values(method, estimate, tau2):
    r = _bcg(method=method)
    assert r.estimate == pytest.approx(estimate, abs=TOL)
    assert r.tau2 == pytest.approx(tau2, abs=TOL)


def test_meta_regression_design_values():
    r = _bcg(mods=BCG[["ablat", "year"]])
    assert r.tau2 == pytest.approx(0.1108, abs=TOL)
    assert r.q == pytest.approx(28.3251, abs=TOL) and r.q_df == 10
    assert r.qm == pytest.approx(12.2043, abs=TOL) and r.qm_df == (2,)
    assert list(r.coefficients["term"]) == ["intrcpt", "ablat", "year"]
    assert math.isnan(r.pi_lb)


REF = json.loads((FIX / "rma_uni.json").read_text())


@pytest.mark.parametrize("key", sorted(REF))
def test_every_estimator_and_test_against_metafor(key):
    method, test = key.split("_")
    ref = REF[key]
    r = _bcg(method=method, test=test)
    got = dict(estimate=r.estimate, se=r.se, ci_lb=r.ci_lb, ci_ub=r.ci_ub, p=r.p, tau2=r.tau2, i2=r.i2, h2=r.h2, q=r.q, q_p=r.q_p)
    want = dict(estimate=ref["b"], se=ref["se"], ci_lb=ref["ci_lb"], ci_ub=ref["ci_ub"], p=ref["pval"],
                tau2=ref["tau2"], i2=ref["I2"], h2=ref["H2"], q=ref["QE"], q_p=ref["QEp"])
    if method != "FE":
        got.update(pi_lb=r.pi_lb, pi_ub=r.pi_ub, tau2_ci_lb=r.tau2_ci_lb, tau2_ci_ub=r.tau2_ci_ub)
        want.update(pi_lb=ref["pi_lb"], pi_ub=ref["pi_ub"], tau2_ci_lb=ref["tau2_ci_lb"], tau2_ci_ub=ref["tau2_ci_ub"])
    # metafor solves PM with uniroot(tol = eps^0.25), pimeta to machine precision: tau^2 differs by 2.5e-5
    # (8e-5 relative), which moves the tiny p-value by 5e-4 relative; everything else agrees to 1e-8.
    rel = 1e-3 if method == "PM" else 1e-8
    for name in want:
        assert got[name] == pytest.approx(want[name], rel=rel, abs=1e-10), name


@pytest.mark.parametrize("test", ["z", "knha"])
def test_meta_regression_against_metafor(test):
    ref = json.loads((FIX / "metareg.json").read_text())[test]
    r = _bcg(mods=BCG[["ablat", "year"]], test=test)
    np.testing.assert_allclose(r.coefficients["estimate"], ref["b"], rtol=1e-8)
    np.testing.assert_allclose(r.coefficients["se"], ref["se"], rtol=1e-8)
    np.testing.assert_allclose(r.coefficients["p"], ref["pval"], rtol=1e-8)
    for got, want in [(r.qm, ref["QM"]), (r.qm_p, ref["QMp"]), (r.q, ref["QE"]), (r.tau2, ref["tau2"]),
                      (r.r2, ref["R2"]), (r.tau2_ci_lb, ref["tau2_ci_lb"]), (r.tau2_ci_ub, ref["tau2_ci_ub"])]:
        assert got == pytest.approx(want, rel=1e-8)


def test_row_has_pooled_tsv_fields_in_order():
    assert list(_bcg().row()) == ["k", "estimate", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "tau2_ci_lb",
                                  "tau2_ci_ub", "i2", "h2", "q", "q_df", "q_p", "method", "test"]
    assert set(METHODS) == {"FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(yi=[0.1], vi=[0.1]), "cannot be pooled"),
        (dict(yi=[0.1, 0.2], vi=[0.1, 0.0]), "vi finite and > 0"),
        (dict(yi=[0.1, 0.2, 0.3], vi=[0.1, 0.1, 0.1], mods=[1, 1, 1]), "constant or collinear"),
        (dict(yi=[0.1, 0.2], vi=[0.1, 0.1], method="XX"), "unknown tau^2 estimator"),
        (dict(yi=[0.1, 0.2], vi=[0.1, 0.1], test="t"), "unknown test"),
    ],
)
def test_bad_input_raises(kwargs, message):
    with pytest.raises(MetaAnalysisError, match=message.replace("^", r"\^")):
        pool(**kwargs)


def test_tau2_upper_bound_at_search_limit_is_flagged():
    r = pool([0.1, 0.9], [0.05, 0.06], test="knha")
    assert r.tau2_ci_truncated and r.tau2_ci_ub == pytest.approx(100.0)
    assert not _bcg().tau2_ci_truncated
