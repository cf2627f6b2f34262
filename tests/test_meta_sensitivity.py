"""Leave-one-out, influence, Egger and trim-and-fill against metafor on dat.bcg (meta_reference.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opioidsocial.meta.sensitivity import influence_table, leave_one_out, sensitivity_tables, small_study
from opioidsocial.meta.trimfill import trimfill
from tests.test_meta_bias import REF

FIX = Path(__file__).parent / "fixtures" / "metafor"
BCG = pd.read_csv(FIX / "dat_bcg.tsv", sep="\t")
SAMPLES = pd.DataFrame({"sample_group": BCG["author"], "label": BCG["author"], "yi": BCG["yi"], "vi": BCG["vi"]})
BIAS = json.loads((FIX / "bias.json").read_text())


@pytest.mark.parametrize("test, fixture", [("z", "leave1out.tsv"), ("knha", "leave1out_knha.tsv")])
def test_leave_one_out_matches_metafor(test, fixture):
    ref = pd.read_csv(FIX / fixture, sep="\t")
    got = leave_one_out(SAMPLES, method="REML", test=test, level=0.95)
    for mine, theirs in [("estimate", "estimate"), ("se", "se"), ("ci_lb", "ci.lb"), ("ci_ub", "ci.ub"), ("tau2", "tau2"),
                         ("i2", "I2"), ("q", "Q"), ("q_p", "Qp")]:
        np.testing.assert_allclose(got[mine], ref[theirs], rtol=1e-7, err_msg=mine)
    assert list(got["left_out"]) == list(BCG["author"]) and (got["k"] == 12).all()


def test_influence_matches_metafor():
    ref = pd.read_csv(FIX / "influence.tsv", sep="\t")
    got = influence_table(SAMPLES, method="REML")
    for mine, theirs in [("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook_d"), ("cov_r", "cov_r"),
                         ("tau2_del", "tau2_del"), ("q_del", "QE_del"), ("hat", "hat"), ("weight", "weight")]:
        np.testing.assert_allclose(got[mine], ref[theirs], rtol=1e-7, err_msg=mine)
    assert list(got["influential"]) == list(ref["inf"])


@pytest.mark.parametrize("method", ["PM", "DL", "HS"])
def test_influence_with_other_estimators_matches_metafor(method):
    # pimeta's influence takes only FE/DL/ML/REML; ours refits with pool, so every estimator works.
    got = influence_table(SAMPLES, method=method)
    for name in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "q_del", "hat", "weight"):
        np.testing.assert_allclose(got[name], REF[f"bcg/influence/{method}/{name}"], rtol=1e-4, err_msg=name)
    assert list(got["influential"]) == [bool(x) for x in REF[f"bcg/influence/{method}/influential"]]


def test_egger_and_trimfill_match_metafor_and_design():
    got = small_study(SAMPLES, methods=["REML"], test="z", min_k=10).set_index("analysis")
    eg, tf = got.loc["egger"], got.loc["trimfill"]
    assert eg["statistic"] == pytest.approx(BIAS["egger"]["zval"], rel=1e-7)
    assert eg["p"] == pytest.approx(BIAS["egger"]["pval"], rel=1e-7)
    assert (eg["estimate"], eg["ci_lb"], eg["ci_ub"]) == pytest.approx((BIAS["egger"]["est"], BIAS["egger"]["ci_lb"], BIAS["egger"]["ci_ub"]), rel=1e-7)
    # DESIGN.md: 1 study imputed on the right, estimate -0.6571.
    assert (tf["k0"], tf["side"]) == (1, "right")
    assert tf["estimate"] == pytest.approx(-0.6571, abs=1e-4)
    assert (tf["estimate"], tf["ci_lb"], tf["ci_ub"]) == pytest.approx((BIAS["trimfill"]["b"], BIAS["trimfill"]["ci_lb"], BIAS["trimfill"]["ci_ub"]), rel=1e-7)
    # No BCG trial favours BCG's harm significantly, so the selection models' first interval is empty.
    assert got.loc[["3PSM", "4PSM"], "warning"].str.startswith("no study has a one-sided p-value in (0, 0.025]").all()
    assert (got.drop(index=["3PSM", "4PSM"])["warning"] == "").all()


def test_egger_knapp_hartung_matches_metafor():
    eg = small_study(SAMPLES, methods=["REML"], test="knha", min_k=10).set_index("analysis").loc["egger"]
    ref = BIAS["egger_knha"]
    assert (eg["statistic"], eg["df"], eg["p"]) == pytest.approx((ref["tval"], ref["df"], ref["pval"]), rel=1e-7)
    assert (eg["estimate"], eg["ci_lb"], eg["ci_ub"]) == pytest.approx((ref["est"], ref["ci_lb"], ref["ci_ub"]), rel=1e-7)


def test_small_k_is_computed_with_a_warning_and_tiny_models_are_skipped():
    few = SAMPLES.iloc[:4]
    rows = small_study(few, methods=["REML"], test="knha", min_k=10)
    warned = rows[rows["analysis"] != "permutation"]
    assert warned["warning"].str.contains("k = 4 < 10").all()
    # The permutation test is meant for small k: no warning; 2^4 sign flips are all used.
    perm = rows.set_index("analysis").loc["permutation"]
    assert perm["warning"] == "" and perm["exact"] and perm["iterations"] == 16
    tables = sensitivity_tables([("fam", "opioid_aligned", few), ("tiny", "opioid_aligned", SAMPLES.iloc[:2])],
                                methods=["REML"], test="knha", level=0.95, small_study_min_k=10)
    assert set(tables["leave1out"]["family"]) == {"fam"} and len(tables["leave1out"]) == 4
    assert list(tables["small_study"]["analysis"]) == ["egger", "trimfill", "3PSM", "4PSM", "pet", "peese", "pet-peese", "permutation"]
    assert len(tables["influence"]) == 4


def test_trimfill_that_trims_to_one_study_matches_metafor():
    # pimeta alone divides by zero here; metafor imputes two studies and centres on the remaining one.
    ref = BIAS["trimfill_k3"]
    three = pd.DataFrame({"sample_group": list("abc"), "label": list("abc"), "yi": ref["yi"], "vi": ref["vi"]})
    tf = small_study(three, methods=["REML"], test="knha", min_k=10).set_index("analysis").loc["trimfill"]
    assert (tf["k0"], tf["side"]) == (ref["k0"], ref["side"])
    assert (tf["estimate"], tf["ci_lb"], tf["ci_ub"]) == pytest.approx((ref["b"], ref["ci_lb"], ref["ci_ub"]), rel=1e-7)
    assert tf["warning"].startswith("k = 3 < 10")


@pytest.mark.parametrize("method", ["DL", "PM", "ML", "FE"])
def test_trimfill_with_other_tau2_estimators_matches_metafor(method):
    ref = BIAS["trimfill_methods"][method]
    tf = trimfill(BCG["yi"], BCG["vi"], method=method)
    assert (tf.k0, tf.side) == (ref["k0"], ref["side"])
    # pimeta solves the PM root more tightly than metafor's uniroot (tests/test_meta_pool.py).
    rel = 1e-4 if method == "PM" else 1e-7
    assert (tf.filled.estimate, tf.filled.ci_lb, tf.filled.ci_ub) == pytest.approx((ref["b"], ref["ci_lb"], ref["ci_ub"]), rel=rel)
