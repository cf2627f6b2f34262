"""Paired tests and trait correlations: against R (fixtures), scipy, DESIGN.md and the truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ttest_rel

from opioidsocial.config import SCHEMA_DIR, validate_section
from opioidsocial.pet.paired import Contrast, activation, contrasts, paired_tests, trait_correlations
from opioidsocial.pet.study import effects_table, given_table, traits_of
from opioidsocial.sheets import load_participants
from opioidsocial.simulate.pet import simulate_study
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "pet"
CONDITIONS = ["baseline", "rejection", "acceptance"]
PAIRS = contrasts(CONDITIONS, "baseline")


@pytest.fixture(scope="module")
def fixture_bp() -> pd.DataFrame:
    data = pd.read_csv(FIXTURES / "paired_data.tsv", sep="\t")
    return pd.DataFrame(
        {
            "participant": data["participant_id"].str.removeprefix("sub-"),
            "roi": data["roi"],
            "condition": data["condition"],
            "bp_nd": data["bp_nd"],
            "fit_ok": data["bp_nd"].notna(),
        }
    )


@pytest.fixture(scope="module")
def fixture_traits() -> pd.DataFrame:
    traits = pd.read_csv(FIXTURES / "traits.tsv", sep="\t")
    return traits.assign(participant=traits["participant_id"].str.removeprefix("sub-")).set_index("participant")[["resiliency", "negative_affect"]]


def test_contrasts_and_sign_convention():
    assert [p.label for p in PAIRS] == ["baseline - rejection", "baseline - acceptance", "acceptance - rejection"]
    assert PAIRS[0].outcome("pag") == "MOR activation in pag during rejection"
    assert PAIRS[2].outcome("pag") == "MOR activation in pag during rejection relative to acceptance"


def test_paired_tests_match_r(fixture_bp):
    ours = paired_tests(fixture_bp, pairs=PAIRS, ci_level=0.95, fdr_method="fdr_bh").set_index(["contrast", "roi"])
    ref = pd.read_csv(FIXTURES / "paired_reference.tsv", sep="\t")
    ref["contrast"] = ref["contrast"].str.strip()
    ref = ref.set_index(["contrast", "roi"])
    assert len(ours) == len(ref) == 9
    for column in ["n", "mean_change", "sd_change", "t", "df", "p", "ci_low", "ci_high", "r_scans", "dz", "vi", "p_adjusted"]:
        np.testing.assert_allclose(ours.loc[ref.index, column].astype(float), ref[column], rtol=1e-9, atol=1e-12, err_msg=column)


def test_trait_correlations_match_r(fixture_bp, fixture_traits):
    ours = trait_correlations(fixture_bp, fixture_traits, pairs=PAIRS, ci_level=0.95, fdr_method="fdr_bh")
    ours = ours.set_index(["contrast", "trait", "roi"])
    ref = pd.read_csv(FIXTURES / "correlations_reference.tsv", sep="\t")
    ref["contrast"] = ref["contrast"].str.strip()
    ref = ref.set_index(["contrast", "trait", "roi"])
    assert len(ours) == len(ref) == 12  # two contrasts vs baseline x two traits x three ROIs
    for column in ["n", "r", "p", "ci_low", "ci_high", "z", "vi", "p_adjusted"]:
        np.testing.assert_allclose(ours.loc[ref.index, column].astype(float), ref[column], rtol=1e-9, atol=1e-12, err_msg=column)


def test_paired_statistics_equal_scipy_ttest_rel(fixture_bp):
    ours = paired_tests(fixture_bp, pairs=PAIRS, ci_level=0.9, fdr_method="fdr_bh")
    wide = fixture_bp.pivot(index="participant", columns=["roi", "condition"], values="bp_nd")
    for row in ours.itertuples():
        both = wide[[(row.roi, row.versus), (row.roi, row.condition)]].dropna()
        expected = ttest_rel(both.iloc[:, 0], both.iloc[:, 1])
        ci = expected.confidence_interval(0.9)
        assert (row.t, row.p, row.df, row.ci_low, row.ci_high) == pytest.approx((expected.statistic, expected.pvalue, expected.df, ci.low, ci.high), rel=1e-12)


def _exact_sample(n: int, means, sds, r: float) -> np.ndarray:
    """A sample of pairs whose means, SDs (ddof=1) and correlation are exactly the targets."""
    x = np.random.default_rng(1).standard_normal((n, 2))
    x -= x.mean(axis=0)
    x = x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False)).T)
    target = np.array([[sds[0] ** 2, r * sds[0] * sds[1]], [r * sds[0] * sds[1], sds[1] ** 2]])
    return x @ np.linalg.cholesky(target).T + np.asarray(means)


def test_dz_and_its_variance_are_metafor_smcc_from_design_md():
    # DESIGN.md: paired, n 20, r 0.6, means 5 / 4, SDs 2 / 2.5 -> SMCC 0.46562491485, v 0.05542016403.
    pairs = _exact_sample(20, (5.0, 4.0), (2.0, 2.5), 0.6)
    bp = pd.DataFrame(
        [{"participant": f"{i:02d}", "roi": "vs", "condition": c, "bp_nd": v, "fit_ok": True}
         for i, (a, b) in enumerate(pairs) for c, v in (("baseline", a), ("rejection", b))]
    )
    row = paired_tests(bp, pairs=[Contrast("rejection", "baseline", "baseline")], ci_level=0.95, fdr_method="fdr_bh").iloc[0]
    assert row["dz"] == pytest.approx(0.46562491485, abs=1e-10)
    assert row["vi"] == pytest.approx(0.05542016403, abs=1e-10)
    assert row["mean_change"] == pytest.approx(1.0)


def test_unusable_cells_are_left_out_pairwise(fixture_bp):
    bp = fixture_bp.copy()
    bad = (bp["participant"] == "01") & (bp["roi"] == "amygdala") & (bp["condition"] == "rejection")
    bp.loc[bad, "fit_ok"] = False
    out = paired_tests(bp, pairs=PAIRS, ci_level=0.95, fdr_method="fdr_bh").set_index(["contrast", "roi"])
    assert out.loc[("baseline - rejection", "amygdala"), "n"] == 9
    assert out.loc[("baseline - acceptance", "amygdala"), "n"] == 10
    assert np.isnan(activation(bp, PAIRS[0]).loc["01", "amygdala"])


@pytest.fixture(scope="module", params=[0.0, 0.04], ids=["exact", "noisy"])
def large_bpnd_study(request, tmp_path_factory):
    """400 simulated participants in a BPND table without and with measurement error."""
    root = tmp_path_factory.mktemp("pet") / "big"
    params = validate_section({"participants": 400, "bp_nd_error": request.param}, "simulate_pet.schema.yaml", source="test")
    row = {"study": "big", "input": "bpnd", "reference": "baseline", "path": str(root), "design": "within",
           "direction": 1, "sample_group": "big", "drug": "social_rejection"}
    simulate_study(study="big", row=row, params=params, seed=99)
    return row, request.param


def test_known_trait_correlations_and_activations_are_recovered(large_bpnd_study):
    """Population r (truth.json expected_r) within 0.12 (about 3 SE at n = 400) without
    measurement error; with it, r is attenuated by SD(true change) / SD(estimated
    change) (Spearman 1904), and the attenuated value is recovered within 0.1."""
    row, error = large_bpnd_study
    cfg = validate_section({}, "pet.schema.yaml", source="test")
    sheet = load_participants(pd.Series(row), schemas=SCHEMA_DIR)
    bp = given_table(study="big", bpnd=f"{row['path']}/bpnd.tsv", participants=sheet["participant"].tolist(), cfg=cfg)
    traits = traits_of(sheet, [], study="big")
    assert list(traits.columns) == ["resiliency", "negative_affect", "desire_social"]
    truth = json.loads((Path(row["path"]) / "truth.json").read_text())
    people = truth["participants"]

    correlations = trait_correlations(bp, traits, pairs=PAIRS, ci_level=0.95, fdr_method="fdr_bh")
    assert len(correlations) == 2 * 7 * 3
    estimated = {p.label: activation(bp, p) for p in PAIRS}
    for r in correlations.itertuples():
        true_change = pd.Series({p: t["bp_nd"][r.roi]["baseline"] - t["bp_nd"][r.roi][r.condition] for p, t in people.items()})
        sample_r = np.corrcoef(true_change[traits.index], traits[r.trait])[0, 1]
        if error == 0:
            assert abs(r.r - truth["expected_r"][r.trait][r.condition][r.roi]) < 0.12, (r.trait, r.condition, r.roi)
            assert r.r == pytest.approx(sample_r, abs=1e-3)  # the pipeline's change is the true change
        else:
            attenuation = true_change.std() / estimated[r.contrast][r.roi].std()
            assert abs(r.r - sample_r * attenuation) < 0.1, (r.trait, r.condition, r.roi)

    paired = paired_tests(bp, pairs=PAIRS, ci_level=0.95, fdr_method="fdr_bh").set_index(["contrast", "roi"])
    for cond, rois in truth["population_mean_change"].items():
        for roi, mean in rois.items():
            got = paired.loc[(f"baseline - {cond}", roi)]
            se = got["sd_change"] / np.sqrt(got["n"])
            assert abs(got["mean_change"] - mean) < 4 * se, (cond, roi)
            if mean > 0:
                assert got["dz"] > 0 and got["p_adjusted"] < 0.05  # activation is positive


def test_effects_table_follows_the_contract(fixture_bp, fixture_traits):
    paired = paired_tests(fixture_bp, pairs=PAIRS, ci_level=0.95, fdr_method="fdr_bh")
    corr = trait_correlations(fixture_bp, fixture_traits, pairs=PAIRS, ci_level=0.95, fdr_method="fdr_bh")
    row = {"design": "within", "direction": 1, "sample_group": "hsu_umich", "drug": "social_rejection"}
    effects = effects_table(paired, corr, study="fx", row=row, pairs=PAIRS)
    assert len(effects) == 9 + 12
    smcc = effects[effects["measure"] == "SMCC"].set_index("outcome")
    assert smcc.loc["MOR activation in amygdala during rejection", "contrast"] == "baseline - rejection"
    assert smcc.loc["MOR activation in amygdala during rejection", "yi"] == pytest.approx(0.691161071615402, rel=1e-9)
    zcor = effects[effects["measure"] == "ZCOR"].set_index("outcome")
    assert zcor.loc["MOR activation in amygdala during rejection x resiliency", "vi"] == pytest.approx(1 / 7)
    assert effects["n2"].isna().all() and (effects["modality"] == "pet").all() and (effects["direction"] == 1).all()
