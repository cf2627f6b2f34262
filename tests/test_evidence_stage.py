"""evidence.tsv of EMG and PET studies: one row per effect, tested on the data its effect comes from."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from opioidsocial.config import validate_section
from opioidsocial.emg.effects import effect_samples, study_effects
from opioidsocial.emg.evidence import emg_tests
from opioidsocial.errors import DataError
from opioidsocial.io.contracts import EFFECT_SAMPLES, EVIDENCE
from opioidsocial.meta.plots import forest
from opioidsocial.pet.evidence import pet_tests
from opioidsocial.pet.paired import paired_tests, trait_correlations
from opioidsocial.pet.study import effects_table
from opioidsocial.stats.evidence import (
    evidence_table,
    log_correlation_bf,
    log_ttest_bf,
)
from tests.test_meta_harmonise import _studies as harmonised_effects
from tests.test_pet_paired import CONDITIONS, PAIRS, fixture_bp, fixture_traits  # noqa: F401  (pytest fixtures)

CFG = validate_section({}, "evidence.schema.yaml", source="evidence")


def _trials(design: str, seed: int = 3) -> pd.DataFrame:
    """Two trials per participant x arm x emotion x muscle; within-subjects: everyone in both arms."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(8):
        arms = ("naltrexone", "placebo") if design == "within" else (("naltrexone", "placebo")[p % 2],)
        for arm in arms:
            for emotion in ("happy", "angry"):
                for muscle in ("corrugator", "zygomaticus"):
                    for trial in (1, 2):
                        shift = 0.8 if (arm, emotion, muscle) == ("naltrexone", "happy", "corrugator") else 0.0
                        rows.append({"participant": f"{p:02d}", "arm": arm, "emotion": emotion, "muscle": muscle, "stimulus": f"s{trial}",
                                     "trial": trial, "response_uv": rng.normal(shift + 0.1 * p)})
    return pd.DataFrame(rows)


def _study(design: str) -> dict:
    return {"study": "nal", "design": design, "drug": "naltrexone", "direction": -1, "reference": "placebo", "sample_group": "nal"}


@pytest.mark.parametrize("design", ["between", "within"])
def test_emg_rows_are_the_t_tests_of_the_effects_cell_means(design):
    trials, study = _trials(design), _study(design)
    effects, _ = study_effects(trials, study_row=study)
    table = evidence_table(effects, emg_tests(effect_samples(trials, effects, study_row=study), effects, study_row=study, cfg=CFG), alpha=CFG["alpha"])
    assert list(table.columns) == list(EVIDENCE.columns)
    assert table[["outcome", "contrast"]].equals(effects.sort_values(["study", "outcome", "contrast"])[["outcome", "contrast"]].reset_index(drop=True))
    # Independently: participant means of the corrugator-to-happy cell, then scipy's t test.
    cell = trials[(trials["emotion"] == "happy") & (trials["muscle"] == "corrugator")]
    means = cell.groupby(["arm", "participant"])["response_uv"].mean()
    row = table.set_index("outcome").loc["corrugator to happy faces"]
    if design == "within":
        test = stats.ttest_rel(means["naltrexone"], means["placebo"])
        assert (row["test"], row["n1"], row["n2"] is pd.NA) == ("paired t", 8, True)
        assert row["bf10"] == pytest.approx(math.exp(log_ttest_bf(t=test.statistic, n1=8, rscale=CFG["prior_scale"])), rel=1e-9)
    else:
        test = stats.ttest_ind(means["naltrexone"], means["placebo"], equal_var=True)
        assert (row["test"], row["n1"], row["n2"]) == ("two-sample t", 4, 4)
        assert row["bf10"] == pytest.approx(math.exp(log_ttest_bf(t=test.statistic, n1=4, n2=4, rscale=CFG["prior_scale"])), rel=1e-9)
    assert row["t"] == pytest.approx(test.statistic, rel=1e-10)
    assert row["yi"] == pytest.approx(effects.set_index("outcome").loc["corrugator to happy faces", "yi"])
    assert row["ci_lb"] < row["yi"] < row["ci_ub"]
    assert (table["bf01"] * table["bf10"]).to_numpy() == pytest.approx(1.0)


def test_emg_effect_without_its_cell_is_a_data_error():
    trials, study = _trials("between"), _study("between")
    effects, _ = study_effects(trials, study_row=study)
    effects.loc[0, "outcome"] = "frontalis to fearful faces"
    with pytest.raises(DataError, match="frontalis to fearful faces") as err:
        evidence_table(effects, emg_tests(effect_samples(trials, effects, study_row=study), effects, study_row=study, cfg=CFG), alpha=0.05)
    assert err.value.study == "nal" and err.value.fix


def test_pet_rows_match_the_paired_tests_and_correlations(fixture_bp, fixture_traits):  # noqa: F811
    row = {"design": "within", "direction": 1, "sample_group": "hsu", "drug": "social_rejection"}
    paired = paired_tests(fixture_bp, pairs=PAIRS, ci_level=0.95, fdr_method="fdr_bh")
    corr = trait_correlations(fixture_bp, fixture_traits, pairs=PAIRS, ci_level=0.95, fdr_method="fdr_bh")
    effects = effects_table(paired, corr, study="hsu", row=row, pairs=PAIRS)
    study = {"study": "hsu", "reference": "baseline"}
    table = evidence_table(effects, pet_tests(fixture_bp, fixture_traits, effects, study_row=study, conditions=CONDITIONS, cfg=CFG), alpha=0.05)
    assert len(table) == len(effects) and set(table["test"]) == {"paired t", "correlation"}
    tests = table[table["test"] == "paired t"].set_index(["contrast", "outcome"])
    for r in paired.dropna(subset=["dz"]).itertuples():
        got = tests.loc[(r.contrast, PAIRS[[p.label for p in PAIRS].index(r.contrast)].outcome(r.roi))]
        assert (got["t"], got["n1"]) == (pytest.approx(r.t, rel=1e-10), r.n)
        assert got["log_bf10"] == pytest.approx(log_ttest_bf(t=r.t, n1=r.n, rscale=CFG["prior_scale"]), abs=1e-9)
    correlations = table[table["test"] == "correlation"]
    assert correlations["tost_p"].isna().all() and correlations["equivalent"].isna().all()
    assert (correlations["prior_scale"] == CFG["correlation_prior_scale"]).all()
    first = corr.dropna(subset=["z"]).iloc[0]
    label = f"{PAIRS[[p.label for p in PAIRS].index(first['contrast'])].outcome(first['roi'])} x {first['trait']}"
    got = correlations.set_index("outcome").loc[label]
    assert got["log_bf10"] == pytest.approx(log_correlation_bf(r=first["r"], n=int(first["n"]), kappa=CFG["correlation_prior_scale"]), abs=1e-9)


def test_forest_plot_shows_each_effects_bf10_after_its_ci():
    family = harmonised_effects().query("family == 'corrugator to happy faces'")
    evidence = family[["study", "outcome", "contrast"]].assign(bf10=[0.25, 4.0, 2e5])
    rows = family.merge(evidence, on=["study", "outcome", "contrast"])
    fig = forest(rows, pd.DataFrame(columns=["model", "method", "test", "k", "estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub"]),
                 family="corrugator to happy faces", level=0.95)
    numbers = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert sorted(n.split("BF10 ")[1] for n in numbers) == ["0.25", "4", ">1000"]


@pytest.mark.parametrize("design", ["between", "within"])
def test_effect_samples_are_the_cell_means_of_each_effect_and_nothing_else(design):
    """The model stage writes them beside effects.parquet; evidence joins them on the effects' keys."""
    trials, study = _trials(design), _study(design)
    effects, _ = study_effects(trials, study_row=study)
    kept = effects.iloc[1:]
    samples = effect_samples(trials, kept, study_row=study)
    assert list(samples.columns) == list(EFFECT_SAMPLES.columns)
    assert set(zip(samples["outcome"], samples["contrast"])) == set(zip(kept["outcome"], kept["contrast"]))
    muscle, emotion = kept["outcome"].iloc[0].removesuffix(" faces").split(" to ")
    cell = samples[samples["outcome"] == kept["outcome"].iloc[0]].pivot(index="participant", columns="sample", values="mean")
    raw = trials[(trials["emotion"] == emotion) & (trials["muscle"] == muscle)].groupby(["arm", "participant"])["response_uv"].mean()
    assert cell["arm"].dropna().to_dict() == pytest.approx(raw["naltrexone"].to_dict())
    assert cell["reference"].dropna().to_dict() == pytest.approx(raw["placebo"].to_dict())
