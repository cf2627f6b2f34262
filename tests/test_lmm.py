"""opioidsocial.stats.lmm against lme4 1.1-31 / lmerTest 3.1-3 / emmeans 1.8.4 fits.

References: DESIGN.md's sleepstudy values and tests/fixtures/lme4/*.json, written by
tests/fixtures/lme4/make_fixtures.R (which also wrote the data sets).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opioidsocial.stats.lmm import LmmError, fit

FIXTURES = Path(__file__).parent / "fixtures" / "lme4"
REL = 1e-3


def load(name: str) -> tuple[dict, pd.DataFrame]:
    ref = json.loads((FIXTURES / f"{name}.json").read_text())
    data = pd.read_csv(FIXTURES / ref["data"])
    for column, levels in (ref["factors"] or {}).items():
        data[column] = pd.Categorical(data[column], categories=levels)
    return ref, data


@pytest.fixture(scope="module", params=["sleepstudy", "covariate", "crossed", "threeway"])
def case(request):
    ref, data = load(request.param)
    return ref, fit(ref["formula"], data)


def test_sleepstudy_matches_design_reference_values():
    ref, data = load("sleepstudy")
    m = fit("Reaction ~ Days + (Days | Subject)", data, reml=True)
    expected = {"(Intercept)": (251.405, 6.825), "Days": (10.467, 1.546)}
    for term, (estimate, se) in expected.items():
        assert m.fixef[term] == pytest.approx(estimate, rel=REL)
        assert m.se[term] == pytest.approx(se, rel=REL)
    assert m.sd_re[("Subject", "(Intercept)")] == pytest.approx(24.741, rel=REL)
    assert m.sd_re[("Subject", "Days")] == pytest.approx(5.922, rel=REL)
    assert m.corr_re[("Subject", "(Intercept)", "Days")] == pytest.approx(0.07, abs=0.005)
    assert m.sigma == pytest.approx(25.592, rel=REL)
    assert m.reml_criterion == pytest.approx(1743.628, rel=REL)
    assert m.df["Days"] == pytest.approx(17, rel=REL)
    assert m.converged and not m.singular
    assert m.n_obs == 180 and m.n_groups == {"Subject": 18}


def test_fixed_effects_match_lmertest(case):
    ref, m = case
    expected = pd.DataFrame(ref["fixef"]).set_index("term")
    table = m.coef_table().set_index("term")
    assert list(table.index) == list(expected.index)  # lme4's names and order
    for column in ("estimate", "se", "df", "t", "ci_low", "ci_high"):
        np.testing.assert_allclose(table[column], expected[column], rtol=REL, err_msg=column)
    np.testing.assert_allclose(np.log(table["p"]), np.log(expected["p"]), rtol=REL)
    np.testing.assert_allclose(m.vcov.to_numpy(), np.array(ref["vcov"]), rtol=REL, atol=1e-12)


def test_variance_components_and_criterion_match_lme4(case):
    ref, m = case
    vc = pd.DataFrame(ref["varcorr"])
    sds = vc[(vc["var2"] == "") & (vc["grp"] != "Residual")]
    np.testing.assert_allclose(m.sd_re.loc[list(zip(sds["grp"], sds["var1"]))], sds["sdcor"], rtol=REL)
    cors = vc[vc["var2"] != ""]
    np.testing.assert_allclose(m.corr_re.loc[list(zip(cors["grp"], cors["var1"], cors["var2"]))], cors["sdcor"], rtol=REL)
    assert m.sigma == pytest.approx(ref["sigma"], rel=REL)
    assert m.reml_criterion == pytest.approx(ref["reml_criterion"], rel=REL)
    assert m.singular == ref["singular"]


def test_type3_tests_match_lmertest(case):
    ref, m = case
    expected = pd.DataFrame(ref["anova3"])
    table = m.anova()
    assert list(table["term"]) == list(expected["term"])
    assert list(table["num_df"]) == list(expected["num_df"])
    for column in ("den_df", "f"):
        np.testing.assert_allclose(table[column], expected[column], rtol=REL, err_msg=column)
    np.testing.assert_allclose(np.log(table["p"]), np.log(expected["p"]), rtol=REL)


@pytest.mark.parametrize("name", ["covariate", "crossed", "threeway"])
def test_emmeans_and_planned_contrasts_match_emmeans_satterthwaite(name):
    """Covariates are held at their mean, other factors averaged with equal weights."""
    ref, data = load(name)
    m = fit(ref["formula"], data)
    expected = pd.DataFrame(ref["emmeans"])
    keys = [c for c in expected.columns if c in m.levels]
    got = m.emmeans(keys).astype({k: str for k in keys}).merge(expected, on=keys, suffixes=("", "_r"))
    assert len(got) == len(expected)
    for ours, theirs in (("emmean", "emmean"), ("se", "se_r"), ("df", "df_r"), ("ci_low", "lower"), ("ci_high", "upper")):
        np.testing.assert_allclose(got[ours], got[theirs], rtol=REL, err_msg=ours)

    contrasts = pd.DataFrame(ref["contrasts"])
    by = [c for c in contrasts.columns if c in m.levels]
    (factor,) = [k for k in keys if k not in by]
    cells, L = m.marginal_rows([factor, *by])
    cells = cells.astype(str)
    rows = []
    for record in contrasts.itertuples(index=False):
        level, reference = record.contrast.split(" - ")
        at = np.ones(len(cells), dtype=bool)
        for b in by:
            at &= (cells[b] == getattr(record, b)).to_numpy()
        rows.append(L[at & (cells[factor] == level).to_numpy()].to_numpy()[0] - L[at & (cells[factor] == reference).to_numpy()].to_numpy()[0])
    got = m.contrast(pd.DataFrame(rows, columns=m.fixef.index))
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("df", "df"), ("t", "t"), ("ci_low", "lower"), ("ci_high", "upper")):
        np.testing.assert_allclose(got[ours], contrasts[theirs], rtol=REL, err_msg=ours)
    np.testing.assert_allclose(got["p"], contrasts["p"], rtol=REL)


def test_names_name_the_level_never_a_number():
    ref, data = load("threeway")
    m = fit(ref["formula"], data)
    assert "armnaltrexone:emotionangry:musclezygomaticus" in m.fixef.index
    assert not any("." in name for name in m.fixef.index)
    assert ("participant", "musclezygomaticus") in m.sd_re.index


def test_reference_level_follows_categorical_order():
    ref, data = load("crossed")
    data["arm"] = pd.Categorical(data["arm"].astype(str), categories=["naltrexone", "placebo", "amisulpride"])
    m = fit(ref["formula"], data)
    assert "armplacebo" in m.fixef.index and "armnaltrexone" not in m.fixef.index
    data["arm"] = data["arm"].astype(str)  # plain strings: sorted, as R's factor() sorts
    assert "armnaltrexone" in fit(ref["formula"], data).fixef.index


def test_unknown_column_is_a_clear_error():
    ref, data = load("crossed")
    with pytest.raises(LmmError, match=r"column\(s\) \['emotoin'\]"):
        fit("response ~ arm * emotoin + (1 | participant)", data)
    with pytest.raises(LmmError, match=r"\['subject'\]"):
        fit("response ~ arm + (1 | subject)", data)


def test_bad_formula_and_data_are_clear_errors():
    ref, data = load("crossed")
    with pytest.raises(LmmError, match="not a valid lme4 formula"):
        fit("response ~ arm + (1 | participant", data)
    with pytest.raises(LmmError, match="single level"):
        fit("response ~ arm + (1 | participant)", data[data["arm"] == "placebo"])
    with pytest.raises(LmmError, match="missing values"):
        fit("response ~ arm + (1 | participant)", data.assign(response=data["response"].where(data["rep"] == 1)))
    with pytest.raises(LmmError, match="must be numeric"):
        fit("arm ~ emotion + (1 | participant)", data)
    hole = data[~((data["arm"] == "naltrexone") & (data["emotion"] == "angry"))]
    with pytest.raises(LmmError, match=r"no data: \['naltrexone x angry'\]"):
        fit("response ~ arm * emotion + (1 | participant)", hole)


def test_ml_fit_matches_lme4():
    ref, data = load("sleepstudy")
    ml = fit(ref["formula"], data, reml=False)
    expected = ref["ml"]
    assert ml.reml_criterion is None
    np.testing.assert_allclose(ml.fixef, expected["estimate"], rtol=REL)
    np.testing.assert_allclose(ml.se, expected["se"], rtol=REL)
    np.testing.assert_allclose(ml.sd_re, expected["sdcor"][:2], rtol=REL)
    assert ml.corr_re.iloc[0] == pytest.approx(expected["sdcor"][2], rel=REL)
    assert ml.sigma == pytest.approx(expected["sigma"], rel=REL)
    assert ml.deviance == pytest.approx(expected["deviance"], rel=REL)


def test_a_factor_in_a_grouping_interaction_stays_a_factor():
    ref, data = load("threeway")
    m = fit("response ~ arm * muscle + (1 | participant) + (1 | stimulus:muscle)", data)
    assert "armnaltrexone:musclezygomaticus" in m.fixef.index
    assert m.n_groups == {"participant": 24, "stimulus:muscle": 24}
