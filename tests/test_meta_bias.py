"""Egger for every estimator, selection models, PET-PEESE, permutation, cumulative and PL CIs against metafor.

References from tests/fixtures/metafor/bias_reference.R (metafor 3.8-1) on dat.hackshaw1998,
dat.hine1989 and dat.bcg.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opioidsocial.meta.bias import egger, moderator_permutation, permutation, pet_peese
from opioidsocial.meta.cumulative import cumulative, sample_years
from opioidsocial.meta.metareg import dummies
from opioidsocial.meta.random_effects import METHODS, pool, tau2_profile_ci
from opioidsocial.meta.selection import MODELS, selection_model

FIX = Path(__file__).parent / "fixtures" / "metafor"
HACKSHAW = pd.read_csv(FIX / "dat_hackshaw1998.tsv", sep="\t")
HINE = pd.read_csv(FIX / "dat_hine1989.tsv", sep="\t")
BCG = pd.read_csv(FIX / "dat_bcg.tsv", sep="\t")
DATA = {"hackshaw1998": HACKSHAW, "hine1989": HINE, "bcg": BCG}


def _reference() -> dict:
    """bias_models.tsv: 'a/b/c' keys, comma-separated numbers."""
    table = pd.read_csv(FIX / "bias_models.tsv", sep="\t", dtype=str, keep_default_na=False)
    values = {}
    for key, value in zip(table["key"], table["value"]):
        numbers = [np.nan if x == "NA" else float(x) for x in value.split(",")] if value else []
        values[key] = numbers[0] if len(numbers) == 1 else numbers
    return values


REF = _reference()


@pytest.mark.parametrize("data", sorted(DATA))
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("test", ["z", "knha"])
def test_egger_matches_metafor_for_every_estimator(data, method, test):
    d = DATA[data]
    got = egger(d["yi"], d["vi"], method=method, test=test)
    ref = {name: REF[f"{data}/egger/{method}_{test}/{name}"] for name in ("stat", "p", "est", "ci_lb", "ci_ub")}
    assert (got["statistic"], got["p"], got["estimate"], got["ci_lb"], got["ci_ub"]) == pytest.approx(
        (ref["stat"], ref["p"], ref["est"], ref["ci_lb"], ref["ci_ub"]), rel=1e-4)
    if test == "knha":
        assert got["df"] == REF[f"{data}/egger/{method}_{test}/df"]


@pytest.mark.parametrize("name", ["vevea_hedges", "3PSM", "4PSM", "3PSM_FE"])
def test_selection_models_match_metafor_on_hackshaw(name):
    ref = {key.rsplit("/", 1)[1]: value for key, value in REF.items() if key.startswith(f"hackshaw1998/selmodel/{name}/")}
    fit = selection_model(HACKSHAW["yi"], HACKSHAW["vi"], steps=ref["steps"], equal_effects=name.endswith("_FE"))
    assert (fit.estimate, fit.se, fit.ci_lb, fit.ci_ub) == pytest.approx((ref["estimate"], ref["se"], ref["ci_lb"], ref["ci_ub"]), rel=1e-3)
    assert fit.tau2 == pytest.approx(ref["tau2"], rel=1e-3, abs=1e-8)
    assert (1.0, *fit.delta) == pytest.approx(list(np.atleast_1d(ref["delta"])), rel=1e-3)
    assert (fit.lrt, fit.df, fit.p) == pytest.approx((ref["lrt"], ref["lrt_df"], ref["lrt_p"]), rel=1e-3)
    assert list(fit.k_per_interval) == list(np.atleast_1d(ref["k_per_interval"]))
    assert fit.warning == ""


def test_metafors_own_test_values_of_the_vevea_hedges_model():
    # metafor's own test values for dat.hackshaw1998, steps (0.05, 0.10, 0.50, 1).
    fit = selection_model(HACKSHAW["yi"], HACKSHAW["vi"], steps=(0.05, 0.10, 0.50, 1))
    assert fit.delta == pytest.approx((2.422079, 0.977543, 0.396713), rel=1e-3)
    assert (fit.lrt, fit.df, fit.tau2) == pytest.approx((7.066137, 3, 0.03071325), rel=1e-3)


def test_empty_interval_gives_a_warning_and_no_estimate():
    # No BCG trial has a significant positive log risk ratio: metafor fits a weight of 98 there, which is no estimate.
    assert REF["bcg/selmodel_3PSM/k_per_interval"] == [0, 13] and REF["bcg/selmodel_3PSM/delta"][1] > 50
    for steps in MODELS.values():
        fit = selection_model(BCG["yi"], BCG["vi"], steps=steps)
        assert np.isnan([fit.estimate, fit.se, fit.ci_lb, fit.tau2, fit.lrt]).all()
        assert fit.k_per_interval[0] == 0 and "(0, 0.025]" in fit.warning


@pytest.mark.parametrize("data", sorted(DATA))
def test_pet_and_peese_match_lm(data):
    d = DATA[data]
    pet, peese, chosen = pet_peese(d["yi"], d["vi"])
    for row, name in ((pet, "pet"), (peese, "peese")):
        ref = [REF[f"{data}/petpeese/{name}/{x}"] for x in ("est", "se", "t", "p")]
        assert (row["estimate"], row["se"], row["statistic"], row["p"]) == pytest.approx(ref, rel=1e-6)
        assert row["df"] == len(d) - 2
    expected = peese if (pet["estimate"] > 0 and pet["p"] < 0.10) else pet
    assert chosen["estimate"] == expected["estimate"] and chosen["note"].startswith("PEESE" if expected is peese else "PET")


def test_pet_peese_picks_peese_for_hine_and_pet_for_hackshaw():
    assert pet_peese(HINE["yi"], HINE["vi"])[2]["note"].startswith("PEESE")  # PET 0.061, p = 0.023
    assert pet_peese(HACKSHAW["yi"], HACKSHAW["vi"])[2]["note"].startswith("PET:")  # PET 0.005, p = 0.95


@pytest.mark.parametrize("test, key", [("z", "permutation"), ("knha", "permutation_knha")])
def test_exact_permutation_matches_metafor_on_hine(test, key):
    fit = pool(HINE["yi"], HINE["vi"], method="REML", test=test)
    assert (fit.estimate, fit.se) == pytest.approx((REF[f"hine1989/{key}/estimate"], REF[f"hine1989/{key}/se"]), rel=1e-4)
    got = permutation(HINE["yi"], HINE["vi"], method="REML", test=test, iterations=1000, seed=1)
    assert got["exact"] and got["iterations"] == 2 ** 6
    assert got["statistic"] == pytest.approx(REF[f"hine1989/{key}/stat"], rel=1e-6)
    assert got["p"] == pytest.approx(0.0625, abs=1e-12) and REF[f"hine1989/{key}/p"] == 0.0625


def test_random_permutation_is_seeded_and_agrees_with_metafor():
    # k = 37: random sign flips; metafor draws with R's generator, so only the Monte Carlo range can agree.
    first = permutation(HACKSHAW["yi"], HACKSHAW["vi"], method="REML", test="z", iterations=1000, seed=3)
    again = permutation(HACKSHAW["yi"], HACKSHAW["vi"], method="REML", test="z", iterations=1000, seed=3)
    assert first == again and not first["exact"] and first["iterations"] == 1000
    assert first["statistic"] == pytest.approx(REF["hackshaw1998/permutation/stat"], rel=1e-6)
    # The observed statistic counts once, so p >= 1/1000; metafor gives 0.002.
    assert 0.001 <= first["p"] <= 0.01 and REF["hackshaw1998/permutation/p"] <= 0.01


def test_exact_moderator_permutation_matches_metafor():
    # bcg trials 5-12 with allocation (alternate, random, systematic): 8! / (2! 3! 3!) = 560 arrangements.
    data = BCG.iloc[4:12].assign(alloc=["alternate"] * 2 + ["random"] * 3 + ["systematic"] * 3)
    X = dummies(data[["alloc"]]).to_numpy()
    p, qm_p = moderator_permutation(data["yi"], data["vi"], X, method="REML", test="z", iterations=1000, seed=1)
    assert list(p) == pytest.approx(REF["bcg/permutation_alloc/p"], abs=1e-12)
    assert qm_p == pytest.approx(REF["bcg/permutation_alloc/qm_p"], abs=1e-12)


def test_random_moderator_permutation_is_seeded_and_agrees_with_metafor():
    run = [moderator_permutation(BCG["yi"], BCG["vi"], BCG["ablat"].to_numpy(), method="REML", test="z", iterations=1000, seed=s)
           for s in (1, 1, 2)]
    assert np.array_equal(run[0][0], run[1][0]) and run[0][1] == run[1][1]
    # Monte Carlo: 1000 draws give an SE of about 0.015 at p = 0.7; metafor (another generator) gives 0.719 and 0.007.
    assert abs(run[0][0][0] - REF["bcg/permutation_ablat/p"][0]) < 0.06
    assert max(run[0][0][1], run[0][1], run[2][1]) < 0.02 and REF["bcg/permutation_ablat/qm_p"] < 0.02


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_profile_likelihood_ci_of_tau2_matches_metafor(method):
    fit = pool(BCG["yi"], BCG["vi"], method=method)
    assert fit.tau2 == pytest.approx(REF[f"bcg/tau2_ci/{method}/tau2"], rel=1e-6)
    lb, ub = tau2_profile_ci(BCG["yi"], BCG["vi"], method=method, tau2=fit.tau2)
    assert (lb, ub) == pytest.approx((REF[f"bcg/tau2_ci/{method}/pl_lb"], REF[f"bcg/tau2_ci/{method}/pl_ub"]), rel=1e-4)
    assert (fit.tau2_ci_lb, fit.tau2_ci_ub) == pytest.approx((REF[f"bcg/tau2_ci/{method}/qp_lb"], REF[f"bcg/tau2_ci/{method}/qp_ub"]), rel=1e-4)


def test_profile_likelihood_ci_is_empty_for_other_estimators_and_starts_at_zero_when_zero_is_inside():
    fit = pool(BCG["yi"], BCG["vi"], method="DL")
    assert fit.tau2 == pytest.approx(0.3088, abs=1e-4)
    assert np.isnan(tau2_profile_ci(BCG["yi"], BCG["vi"], method="DL", tau2=fit.tau2)).all()
    hine = pool(HINE["yi"], HINE["vi"], method="REML")
    assert tau2_profile_ci(HINE["yi"], HINE["vi"], method="REML", tau2=hine.tau2)[0] == 0.0


@pytest.mark.parametrize("key, method, test", [("REML", "REML", "z"), ("DL", "DL", "z"), ("REML_knha", "REML", "knha")])
def test_cumulative_by_year_matches_metafor_cumul(key, method, test):
    got = cumulative(BCG["yi"], BCG["vi"], BCG["year"], BCG["author"], method=method, test=test)
    order = np.asarray(REF[f"bcg/cumul/{key}/order"], dtype=int) - 1
    assert list(got["added_study"]) == list(BCG["author"].iloc[order]) and list(got["k"]) == list(range(1, 14))
    assert list(got["year"]) == sorted(BCG["year"])
    for name in ("estimate", "ci_lb", "ci_ub", "tau2"):
        np.testing.assert_allclose(got[name], REF[f"bcg/cumul/{key}/{name}"], rtol=1e-4, atol=1e-10, err_msg=name)
    if key == "REML":
        assert (got["estimate"].iloc[0], got["estimate"].iloc[1], got["estimate"].iloc[-1]) == pytest.approx(
            (-0.889311, -1.325003, -0.714532), abs=1e-6)


def test_a_sample_group_takes_its_earliest_year_and_unknown_years_propagate():
    effects = pd.DataFrame({"sample_group": ["a", "a", "b", "c", "c"], "year": pd.array([2016, 2013, 2020, None, 2019], dtype="Int64")})
    years = sample_years(effects)
    assert years["a"] == 2013 and years["b"] == 2020 and pd.isna(years["c"])


def test_a_selection_weight_at_its_bound_is_flagged():
    # One significant study of three: the non-significant ones' weight runs to the bound (metafor's would too).
    fit = selection_model([0.319, 0.962, 0.386], [0.04, 0.037, 0.082], steps=MODELS["3PSM"])
    assert fit.k_per_interval == (1, 2) and fit.delta[0] == pytest.approx(100.0)
    assert fit.warning.startswith("selection weight(s) delta_2 at the search bound")
