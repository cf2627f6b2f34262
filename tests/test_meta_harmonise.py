"""Harmonisation (families, direction, scales), overlap handling and the stage tables built on them."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opioidsocial.io.contracts import EFFECTS, META_EFFECTS, META_POOLED
from opioidsocial.io.tables import read_table, write_table
from opioidsocial.meta.harmonise import HarmoniseError, collect, family_of, from_model, harmonise
from opioidsocial.meta.metareg import regression_table
from opioidsocial.meta.multilevel import multilevel_table, pool_multilevel
from opioidsocial.meta.overlap import by_sample_group, combine
from opioidsocial.meta.pooled import pooled_table, samples
from opioidsocial.meta.random_effects import pool

FIX = Path(__file__).parent / "fixtures" / "metafor"
PATTERN = "^(?P<muscle>[A-Za-z_]+) to (?P<emotion>[A-Za-z_]+) faces$"


def _effect(study, outcome, contrast, yi, vi, direction, group, *, drug="naltrexone", measure="SMD", modality="emg"):
    return dict(study=study, outcome=outcome, contrast=contrast, yi=yi, vi=vi, n1=20, n2=20, design="between", direction=direction,
                sample_group=group, measure=measure, modality=modality, drug=drug)


def _studies() -> pd.DataFrame:
    rows = [
        _effect("nal2016", "zygomaticus to happy faces", "naltrexone - placebo", -0.30, 0.10, -1, "meier"),
        _effect("korb2023", "zygomaticus to happy faces", "naltrexone - placebo", -0.10, 0.12, -1, "korb"),
        _effect("korb2023", "zygomaticus to happy faces", "amisulpride - placebo", 0.05, 0.12, 0, "korb", drug="amisulpride"),
        _effect("korb2020", "zygomaticus to happy faces", "naltrexone - placebo", -0.20, 0.05, -1, "korb", modality="summary"),
        _effect("mor2022", "zygomaticus to happy faces", "morphine - placebo", 0.25, 0.10, 1, "massaccesi", drug="morphine"),
        _effect("mor2023", "zygomaticus to happy faces", "morphine - placebo", 0.40, 0.08, 1, "other", drug="morphine"),
        _effect("nal2016", "corrugator to happy faces", "naltrexone - placebo", 0.30, 0.10, -1, "meier"),
        _effect("mor2022", "corrugator to happy faces", "morphine - placebo", -0.15, 0.10, 1, "massaccesi", drug="morphine"),
        _effect("mor2023", "corrugator to happy faces", "morphine - placebo", -0.05, 0.09, 1, "other", drug="morphine"),
        _effect("hsu2013", "MOR activation in amygdala during rejection", "baseline - rejection", 0.5, 0.07, 1, "hsu",
                drug="social_rejection", measure="SMCC", modality="pet"),
        _effect("hsu2015", "MOR activation in thalamus during rejection", "baseline - rejection", 0.3, 0.08, 1, "hsu",
                drug="social_rejection", measure="SMCC", modality="pet"),
    ]
    parts = [from_model(pd.DataFrame(rows).astype({"direction": "int8"}), years={"nal2016": 2016, "hsu2013": 2013.0})]
    return harmonise(parts, families=[{"pattern": r"MOR activation in \w+ during (.+)", "family": r"MOR activation during \1"}],
                     outcome_pattern=PATTERN)


def test_families_direction_and_moderators():
    eff = _studies()
    assert sorted(eff["family"].unique()) == ["MOR activation during rejection", "corrugator to happy faces", "zygomaticus to happy faces"]
    nal = eff[(eff["study"] == "nal2016") & (eff["family"] == "zygomaticus to happy faces")].iloc[0]
    assert nal["yi_harmonised"] == pytest.approx(0.30)  # an antagonist lowering a response = more signalling raising it
    ami = eff[eff["contrast"] == "amisulpride - placebo"].iloc[0]
    assert ami["yi_harmonised"] == ami["yi"] == 0.05
    assert (nal["muscle"], nal["emotion"]) == ("zygomaticus", "happy")
    assert eff.loc[eff["modality"] == "pet", "muscle"].isna().all()
    assert set(eff["scale"]) == {"d"}
    assert list(eff.columns) == META_EFFECTS.columns
    assert family_of("x", []) == "x"
    # Years from studies.tsv; a study without one has none.
    assert set(eff.loc[eff["study"] == "nal2016", "year"]) == {2016} and set(eff.loc[eff["study"] == "hsu2013", "year"]) == {2013}
    assert eff.loc[eff["study"] == "hsu2015", "year"].isna().all()


def test_mixed_scales_duplicates_and_bad_values_are_errors():
    base = _studies()
    raw = base[EFFECTS.columns].assign(conversion="", source="model")
    zcor = raw.iloc[[0]].assign(study="corr", measure="ZCOR")
    with pytest.raises(HarmoniseError, match="mixes effect-size scales"):
        harmonise([raw, zcor], families=[], outcome_pattern=PATTERN)
    with pytest.raises(HarmoniseError, match="appears more than once"):
        harmonise([raw, raw.iloc[[0]]], families=[], outcome_pattern=PATTERN)
    with pytest.raises(HarmoniseError, match="vi finite and > 0"):
        harmonise([raw.assign(vi=0.0)], families=[], outcome_pattern=PATTERN)
    with pytest.raises(HarmoniseError, match="no effects"):
        harmonise([], families=[], outcome_pattern=PATTERN)


def test_collect_reads_effects_files_and_summary_studies(tmp_path):
    eff = _studies()
    path = tmp_path / "effects.parquet"
    write_table(eff[EFFECTS.columns].astype({"n2": "Int64"}), path, EFFECTS)
    summary = tmp_path / "s.tsv"
    summary.write_text("study\toutcome\tdesign\tn1\tn2\tt\tsample_group\tyear\n"
                       "extra\tzygomaticus to happy faces\tbetween\t30\t30\t-1.2\t\t\n"
                       "other\tzygomaticus to happy faces\tbetween\t20\t20\t0.5\tother\t2011\n")
    row = {"study": "extra", "drug": "naltrexone", "direction": -1, "reference": "placebo", "sample_group": "extra", "path": str(summary),
           "year": 2019}
    table = collect([str(path)], [row], families=[], outcome_pattern=PATTERN, years={"nal2016": 2016})
    extra = table[table["study"] == "extra"].iloc[0]
    # The studies.tsv row's year is its own study's; another study in the file gives its own.
    assert extra["year"] == 2019 and table.loc[table["study"] == "other", "year"].tolist() == [2011]
    assert set(table.loc[table["study"] == "nal2016", "year"]) == {2016}
    assert extra["source"] == "summary" and extra["yi_harmonised"] > 0 and extra["conversion"].startswith("SMD")
    write_table(table, tmp_path / "meta.parquet", META_EFFECTS)
    assert len(read_table(tmp_path / "meta.parquet", META_EFFECTS)) == len(eff) + 2


def test_combine_matches_metafor_aggregate():
    ml = pd.read_csv(FIX / "multilevel_data.tsv", sep="\t")
    ref = pd.read_csv(FIX / "aggregate_rho06.tsv", sep="\t")
    got = by_sample_group(ml, yi="yi", rho=0.6)
    np.testing.assert_allclose(got["yi"], ref["yi"], atol=1e-12)
    np.testing.assert_allclose(got["vi"], ref["vi"], atol=1e-12)
    assert combine([0.2], [0.1], rho=0.5) == (0.2, 0.1)


def test_pooled_table_counts_samples_not_reports():
    eff = _studies()
    table = pooled_table(eff, methods=["REML", "DL"], tests=["knha", "z"], rho=0.5, min_k=2, level=0.95)
    assert list(table.columns) == list(META_POOLED.columns)
    fitted, too_few = table[table["note"] == ""], table[table["note"] != ""]
    zyg = fitted[(fitted["family"] == "zygomaticus to happy faces")]
    # korb2020 + korb2023 are one sample: 4 samples, not 5; the amisulpride arm is not an opioid effect.
    assert set(zyg["model"]) == {"opioid_aligned", "agonist", "antagonist"}
    # Models with one sample are a row each that says why they were not pooled.
    assert set(too_few["method"].isna()) == {True} and too_few["note"].str.startswith("not pooled: 1 independent sample(s)").all()
    assert ("zygomaticus to happy faces", "non_opioid") in set(zip(too_few["family"], too_few["model"]))
    assert zyg.loc[zyg["model"] == "opioid_aligned", "k"].unique().tolist() == [4]
    assert len(zyg[zyg["model"] == "opioid_aligned"]) == 4  # 2 methods x 2 tests
    assert "MOR activation during rejection" in set(too_few["family"]) - set(fitted["family"])  # one sample group only
    combined = dict(((f, m), s) for f, m, s in samples(eff, rho=0.5, min_k=2))[("zygomaticus to happy faces", "opioid_aligned")]
    want = pool(combined["yi"], combined["vi"], method="DL", test="z")
    row = zyg[(zyg["model"] == "opioid_aligned") & (zyg["method"] == "DL") & (zyg["test"] == "z")].iloc[0]
    assert row["estimate"] == pytest.approx(want.estimate) and row["tau2_ci_ub"] == pytest.approx(want.tau2_ci_ub)
    assert list(combined["label"]) == ["korb2020 + korb2023", "mor2022", "nal2016", "mor2023"]


def test_regression_on_direction_and_notes():
    eff = _studies()
    table = regression_table(eff, moderators=["direction", "modality"], method="REML", test="knha", rho=0.5, level=0.95)
    zyg = table[(table["family"] == "zygomaticus to happy faces") & (table["moderator"] == "direction")]
    assert list(zyg["term"]) == ["intrcpt", "direction[agonist]"]
    assert zyg["k"].tolist() == [4, 4] and zyg["qm_df1"].tolist() == [1, 1] and zyg["qm_df2"].tolist() == [2, 2]
    # The intercept is the antagonists' (turned-around) effect, the slope how much larger agonists' effects are.
    slope = zyg.iloc[1]
    assert slope["p"] == pytest.approx(slope["qm_p"])
    # 2 agonist and 2 antagonist samples: 4! / (2! 2!) = 6 arrangements, so permutation p-values are multiples of 1/6.
    sixths = 6 * zyg["permutation_p"]
    assert slope["permutation_p"] == pytest.approx(slope["qm_permutation_p"]) and np.allclose(sixths, np.round(sixths))
    modality = table[(table["family"] == "zygomaticus to happy faces") & (table["moderator"] == "modality")]
    assert len(modality) == 2 and set(modality["term"]) == {"intrcpt", "modality[summary]"}
    notes = table[table["family"] == "MOR activation during rejection"]["note"]
    assert notes.str.contains("does not vary").all()


def test_multilevel_table_scopes_and_notes():
    eff = _studies()
    models = [{"name": "by_family", "scope": "family"}, {"name": "direction", "scope": "all", "moderators": ["direction"]}]
    table = multilevel_table(eff, models=models, method="REML", level=0.95)
    zyg = table[(table["model"] == "by_family") & (table["scope"] == "zygomaticus to happy faces")].iloc[0]
    opioid = eff[(eff["family"] == "zygomaticus to happy faces") & (eff["direction"] != 0)]
    fit = pool_multilevel(opioid["yi_harmonised"], opioid["vi"], opioid["study"], opioid["sample_group"])
    assert zyg["estimate"] == pytest.approx(fit.estimate) and (zyg["k"], zyg["n_sample_groups"]) == (5, 4)
    pet = table[table["scope"] == "MOR activation during rejection"].iloc[0]
    assert "1 sample group(s) cannot support" in pet["note"] and np.isnan(pet["estimate"])
    allrows = table[table["model"] == "direction"]
    assert list(allrows["term"]) == ["intrcpt", "direction[agonist]"] and (allrows["n_sample_groups"] == 5).all()
    assert allrows["qm_df1"].tolist() == [1, 1]
