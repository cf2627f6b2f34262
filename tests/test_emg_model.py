"""The EMG study stage: trial responses, models, planned contrasts, effects, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opioidsocial.config import validate_section
from opioidsocial.emg.effects import study_effects
from opioidsocial.emg.study import EmgModelError, StudyNotEstimable, check_design, fit_study, planned_contrasts
from opioidsocial.emg.study import run as run_model
from opioidsocial.emg.trials import TrialTableError, read_user_trials, responses_from_bins
from opioidsocial.io.contracts import EFFECTS, EMG_BINS, TRIAL_RESPONSES
from opioidsocial.io.tables import read_table, write_table
from opioidsocial.simulate.binned import bins_from_trials
from opioidsocial.simulate.emg import simulate_trials

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "lme4"
OUTPUTS = {
    "trials": "trials.parquet", "fixef": "fixef.tsv", "anova": "anova.tsv", "varcomp": "varcomp.tsv",
    "emmeans": "emmeans.tsv", "contrasts": "contrasts.tsv", "fit": "fit.json", "effects": "effects.parquet", "samples": "effect_samples.parquet",
    "plot_png": "emmeans.png", "plot_svg": "emmeans.svg",
}
STUDY = {"study": "nal", "modality": "emg", "input": "bids", "design": "between", "drug": "naltrexone", "direction": -1,
         "reference": "placebo", "sample_group": "nal", "path": ""}


def models_cfg(**overrides) -> dict:
    return validate_section(overrides, "models.schema.yaml", source="models")


def run_study(*, source: str, study: dict, cfg: dict, window, outputs: dict, on_bad_data: str = "fail") -> None:
    """The model stage as its rule calls it, with the step's config keys."""
    step = {"models": cfg, "emg": {"response_s": list(window or (0.5, 3.5)), "baseline_method": "subtract", "zscore": "none"}, "on_bad_data": on_bad_data}
    run_model(inputs={"source": source}, outputs=outputs, cfg=step, study=study["study"], row=study, metadata={})


def outputs(folder: Path) -> dict:
    return {key: str(folder / name) for key, name in OUTPUTS.items()}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    """A small between-subjects study (the demo's naltrexone design, fewer people and faces) as EMG_BINS."""
    params = {
        "arms": {"placebo": 6, "naltrexone": 6}, "muscles": ["corrugator", "zygomaticus"], "emotions": ["happy", "angry"],
        "stimuli_per_emotion": 4, "repetitions": 2,
        "responses": {"corrugator": {"happy": -0.6, "angry": 1.0}, "zygomaticus": {"happy": 1.5, "angry": 0.1}},
        "arm_effects": {"naltrexone": {"corrugator": {"happy": 0.7}}},
    }
    trials, _ = simulate_trials(study="nal", params=params, seed=11)
    path = tmp_path_factory.mktemp("bins") / "emg_bins.parquet"
    write_table(bins_from_trials(trials, study="nal", seed=12, artefact_rate=0.03), path, EMG_BINS)
    return path


@pytest.fixture(scope="module")
def bids_run(simulated, tmp_path_factory) -> dict:
    out = outputs(tmp_path_factory.mktemp("run"))
    run_study(source=str(simulated), study=STUDY, cfg=models_cfg(), window=(0.5, 3.5), outputs=out)
    return out


def tiny_bins() -> pd.DataFrame:
    starts = np.round(np.arange(-0.2, 0.8, 0.1), 9)
    rows = []
    for trial, artefact in ((1, False), (2, True)):
        for s in starts:
            rows.append({"study": "s", "participant": "01", "arm": "placebo", "trial": trial, "stimulus": "happy01",
                         "emotion": "happy", "muscle": "zygomaticus", "bin_start_s": s, "amplitude_uv": 10 * s + trial,
                         "amplitude_z": 0.0, "artefact": artefact, "artefact_reason": "movement" if artefact else ""})
    return pd.DataFrame(rows)


def test_response_is_the_mean_of_clean_bins_starting_in_the_window():
    bins = tiny_bins()
    bins.loc[bins["bin_start_s"] == 0.2, "bin_start_s"] = 0.2 - 1e-12  # float noise must not move a bin out
    out = responses_from_bins(bins, window=(0.2, 0.5))
    assert list(out["trial"]) == [1]  # trial 2 is an artefact
    # Bins starting at 0.2, 0.3, 0.4 (not 0.5): amplitudes 3, 4, 5.
    assert out["response_uv"].iloc[0] == pytest.approx(4.0)
    with pytest.raises(TrialTableError, match="no clean bin"):
        responses_from_bins(bins, window=(5.0, 6.0))


def test_user_trial_table_is_mapped_and_checked(tmp_path):
    table = pd.DataFrame({"subj": ["7", "7", "8", "8"], "group": ["placebo", "placebo", "drug", "drug"], "face": ["a", "b", "a", "b"],
                          "expr": ["happy", "angry", "happy", "angry"], "site": "zyg", "amp": [1.0, 2.0, 3.0, 4.0], "bad": [False, True, False, False]})
    columns = models_cfg(trial_columns={"participant": "subj", "arm": "group", "stimulus": "face", "emotion": "expr",
                                        "muscle": "site", "response_uv": "amp", "exclude": "bad"})["trial_columns"]
    for name in ("t.csv", "t.parquet"):
        path = tmp_path / name
        table.to_csv(path, index=False) if name.endswith(".csv") else table.to_parquet(path)
        trials, counts = read_user_trials(path, study="own", columns=columns)
        assert counts == {"rows_read": 4, "rows_excluded": 1, "rows_missing_response_dropped": 0, "stimulus": "from column 'face'"}
        assert list(trials.columns) == TRIAL_RESPONSES.columns
        assert trials["response_uv"].tolist() == [1.0, 3.0, 4.0]
        assert trials["trial"].tolist() == [1, 1, 2]  # numbered per participant x muscle in file order
        assert trials["participant"].tolist() == ["7", "8", "8"]
    table.drop(columns="amp").to_csv(tmp_path / "u.csv", index=False)
    with pytest.raises(TrialTableError, match=r"no column\(s\) \['amp'\]"):
        read_user_trials(tmp_path / "u.csv", study="own", columns=columns)
    with pytest.raises(TrialTableError, match="does not exist"):
        read_user_trials(tmp_path / "missing.csv", study="own", columns=columns)
    table.assign(expr=["happy", "angry", "Happy ", "angry"]).to_csv(tmp_path / "case.csv", index=False)
    with pytest.raises(TrialTableError, match=r"column 'expr' spells one emotion as \['Happy', 'happy'\]"):
        read_user_trials(tmp_path / "case.csv", study="own", columns=columns)


def test_hedges_g_matches_metafor_reference():
    # Participant means with mean 5 / SD 2 (n 20) and mean 4 / SD 2.5 (n 22): DESIGN.md's SMD example.
    rng = np.random.default_rng(0)

    def exact(n, mean, sd):
        x = rng.normal(size=n)
        return mean + sd * (x - x.mean()) / x.std(ddof=1)

    rows = [{"participant": f"d{i}", "arm": "naltrexone", "emotion": "happy", "muscle": "corrugator", "response_uv": v, "stimulus": "s", "trial": 1}
            for i, v in enumerate(exact(20, 5.0, 2.0))]
    rows += [{"participant": f"p{i}", "arm": "placebo", "emotion": "happy", "muscle": "corrugator", "response_uv": v, "stimulus": "s", "trial": 1}
             for i, v in enumerate(exact(22, 4.0, 2.5))]
    rows += [{"participant": f"a{i}", "arm": "amisulpride", "emotion": "happy", "muscle": "corrugator", "response_uv": v, "stimulus": "s", "trial": 1}
             for i, v in enumerate(exact(5, 4.0, 1.0))]
    rows += [{"participant": "z0", "arm": "morphine", "emotion": "happy", "muscle": "corrugator", "response_uv": 1.0, "stimulus": "s", "trial": 1}]
    effects, skipped = study_effects(pd.DataFrame(rows), study_row=STUDY)
    assert skipped == [{"contrast": "morphine - placebo", "outcome": "corrugator to happy faces",
                        "reason": "SMD needs at least 2 participants per arm; n1 = 1, n2 = 22"}]
    nal = effects.set_index("contrast").loc["naltrexone - placebo"]
    assert nal["yi"] == pytest.approx(0.43102394719, abs=1e-9)
    assert nal["vi"] == pytest.approx(0.09766623168, abs=1e-9)
    assert (nal["n1"], nal["n2"], nal["outcome"], nal["measure"], nal["direction"]) == (20, 22, "corrugator to happy faces", "SMD", -1)
    assert effects.set_index("contrast").loc["amisulpride - placebo", "direction"] == 0


def test_planned_contrasts_match_emmeans_in_r():
    ref = json.loads((FIXTURES / "crossed.json").read_text())
    data = pd.read_csv(FIXTURES / "crossed.csv").rename(columns={"response": "response_uv"})
    cfg = models_cfg(formula="response_uv ~ arm * emotion + (1 + emotion | participant) + (1 | stimulus)", by=[], contrast_within=["emotion"], fallback=False)
    models = fit_study(data, study_row=STUDY, cfg=cfg)
    got = planned_contrasts(models, reference="placebo", within=["emotion"], level=0.95, adjust="holm")
    expected = pd.DataFrame(ref["contrasts"]).rename(columns={"contrast": "label"})
    merged = got.merge(expected, left_on=["contrast", "emotion"], right_on=["label", "emotion"], suffixes=("", "_r"))
    assert len(merged) == len(expected) == 4
    for ours, theirs in (("estimate", "estimate_r"), ("se", "se_r"), ("df", "df_r"), ("p", "p_r"), ("ci_low", "lower"), ("ci_high", "upper")):
        np.testing.assert_allclose(merged[ours], merged[theirs], rtol=1e-3, err_msg=ours)
    # Holm across the family of four: sorted p times (4, 3, 2, 1), made monotone, capped at 1.
    p = merged["p_r"].to_numpy()
    order = np.argsort(p)
    holm = np.minimum(1, np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p)))))
    np.testing.assert_allclose(merged["p_adjusted"].to_numpy()[order], holm, rtol=1e-3)


def test_configuration_mistakes_are_clear_errors():
    data = pd.read_csv(FIXTURES / "crossed.csv").rename(columns={"response": "response_uv"})
    with pytest.raises(EmgModelError, match=r"study 'nal'.*\['emotoin'\]"):
        fit_study(data, study_row=STUDY, cfg=models_cfg(formula="response_uv ~ arm * emotoin + (1 | participant)", by=[]))
    with pytest.raises(EmgModelError, match="must not appear"):
        fit_study(data.assign(muscle="zyg"), study_row=STUDY, cfg=models_cfg(formula="response_uv ~ arm * muscle + (1 | participant)"))
    with pytest.raises(EmgModelError, match="no factor for"):
        fit_study(data, study_row=STUDY, cfg=models_cfg(formula="response_uv ~ arm + (1 | participant)", by=[], contrast_within=["emotion", "muscle"]))
    with pytest.raises(StudyNotEstimable, match="reference arm 'saline'"):
        check_design(data, study_row={**STUDY, "reference": "saline"})
    three = pd.read_csv(FIXTURES / "threeway.csv").rename(columns={"response": "response_uv"})
    with pytest.raises(StudyNotEstimable, match="study 'nal', muscle zygomaticus: reference arm 'placebo'"):
        fit_study(three[~((three["muscle"] == "zygomaticus") & (three["arm"] == "placebo"))], study_row=STUDY, cfg=models_cfg())
    with pytest.raises(EmgModelError, match="more than one arm"):
        check_design(data.assign(arm=np.where(data["rep"] == 1, "placebo", "naltrexone")), study_row=STUDY)


def test_study_stage_writes_every_output_with_stable_bytes(simulated, bids_run, tmp_path):
    again = outputs(tmp_path)
    run_study(source=str(simulated), study=STUDY, cfg=models_cfg(), window=(0.5, 3.5), outputs=again)
    for key in OUTPUTS:
        assert Path(bids_run[key]).read_bytes() == Path(again[key]).read_bytes(), key

    effects = read_table(bids_run["effects"], EFFECTS)
    assert len(effects) == 4 and set(effects["measure"]) == {"SMD"} and set(effects["n1"]) == {6}
    contrasts = pd.read_csv(bids_run["contrasts"], sep="\t")
    assert len(contrasts) == 4 and (contrasts["p_adjusted"] >= contrasts["p"]).all()
    record = json.loads(Path(bids_run["fit"]).read_text())
    assert [m["by"]["muscle"] for m in record["models"]] == ["corrugator", "zygomaticus"]
    assert all(m["n_participants"] == 12 and m["n_participants_by_arm"] == {"placebo": 6, "naltrexone": 6} for m in record["models"])
    assert all(m["attempts"][0]["step"] == "as specified" and m["formula_used"] == m["attempts"][-1]["formula"] for m in record["models"])
    assert record["data"]["rejected_as_artefact"] > 0
    trials = read_table(bids_run["trials"], TRIAL_RESPONSES)
    assert sum(m["n_trials"] for m in record["models"]) == len(trials)
    assert b"<dc:date>" not in Path(bids_run["plot_svg"]).read_bytes()


def test_trial_table_input_gives_the_same_models(bids_run, tmp_path):
    own = read_table(bids_run["trials"], TRIAL_RESPONSES).drop(columns=["study", "trial"]).rename(columns={"participant": "subject", "response_uv": "emg"})
    own.sample(frac=1.0, random_state=1).to_csv(tmp_path / "own.csv", index=False)
    cfg_own = models_cfg(trial_columns={"participant": "subject", "response_uv": "emg"})
    mine = outputs(tmp_path / "own")
    run_study(source=str(tmp_path / "own.csv"), study={**STUDY, "input": "trials"}, cfg=cfg_own, window=None, outputs=mine)
    a = pd.read_csv(bids_run["contrasts"], sep="\t")
    b = pd.read_csv(mine["contrasts"], sep="\t")
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-6)
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-4)
    pd.testing.assert_frame_equal(read_table(bids_run["effects"], EFFECTS), read_table(mine["effects"], EFFECTS), rtol=1e-9)


def test_a_study_left_without_its_reference_arm(simulated, tmp_path):
    bins = read_table(simulated, EMG_BINS)
    only_drug = tmp_path / "only_drug.parquet"
    write_table(bins[bins["arm"] == "naltrexone"], only_drug, EMG_BINS)
    with pytest.raises(StudyNotEstimable, match="reference arm 'placebo'"):
        run_study(source=str(only_drug), study=STUDY, cfg=models_cfg(), window=(0.5, 3.5), outputs=outputs(tmp_path / "fail"))
    assert not (tmp_path / "fail" / "effects.parquet").exists()
    out = outputs(tmp_path / "exclude")
    run_study(source=str(only_drug), study=STUDY, cfg=models_cfg(), window=(0.5, 3.5), outputs=out, on_bad_data="exclude")
    assert read_table(out["effects"], EFFECTS).empty
    record = json.loads(Path(out["fit"]).read_text())
    assert not record["estimable"] and "reference arm 'placebo'" in record["not_estimable_reason"] and record["models"] == []
    assert pd.read_csv(out["contrasts"], sep="\t").empty and Path(out["plot_svg"]).is_file()


def test_one_joint_model_over_muscles(bids_run):
    trials = read_table(bids_run["trials"], TRIAL_RESPONSES)
    cfg = models_cfg(by=[], formula="response_uv ~ arm * emotion * muscle + (1 + emotion + muscle | participant) + (1 | stimulus:muscle)")
    models = fit_study(trials, study_row=STUDY, cfg=cfg)
    assert len(models) == 1 and models[0].by == {}
    contrasts = planned_contrasts(models, reference="placebo", within=cfg["contrast_within"], level=0.95, adjust="holm")
    assert list(contrasts.columns[:4]) == ["muscle", "emotion", "arm", "reference"]
    assert len(contrasts) == 4
    per_muscle = pd.read_csv(bids_run["contrasts"], sep="\t")
    # The same cells, in the same order, as the per-muscle models.
    assert list(zip(contrasts["muscle"], contrasts["emotion"])) == list(zip(per_muscle["muscle"], per_muscle["emotion"]))


def test_without_stimulus_ids_the_stimulus_effect_is_dropped_and_said(simulated, tmp_path):
    no_ids = tmp_path / "no_ids.parquet"
    write_table(read_table(simulated, EMG_BINS).assign(stimulus="n/a"), no_ids, EMG_BINS)
    out = outputs(tmp_path / "run")
    run_study(source=str(no_ids), study=STUDY, cfg=models_cfg(), window=(0.5, 3.5), outputs=out)
    record = json.loads(Path(out["fit"]).read_text())
    assert record["stimulus_effect"].endswith("no stimulus column in events.tsv, or models.trial_columns.stimulus: null): (1 | stimulus) dropped from the formula")
    assert all("stimulus" not in attempt["formula"] for m in record["models"] for attempt in m["attempts"])
    insists = models_cfg(formula="response_uv ~ arm * emotion + (1 + stimulus | participant)")
    with pytest.raises(EmgModelError, match="uses stimulus beyond a random intercept"):
        run_study(source=str(no_ids), study=STUDY, cfg=insists, window=(0.5, 3.5), outputs=outputs(tmp_path / "insists"))
    assert not (tmp_path / "insists" / "effects.parquet").exists()
    # some participants with stimulus ids and some without: no model can treat them alike
    bins = read_table(simulated, EMG_BINS)
    first = sorted(bins["participant"].unique())[0]
    write_table(bins.assign(stimulus=bins["stimulus"].where(bins["participant"] != first, "n/a")), no_ids, EMG_BINS)
    with pytest.raises(StudyNotEstimable, match=rf"participant\(s\) \['{first}'\] have no stimulus ids"):
        run_study(source=str(no_ids), study=STUDY, cfg=models_cfg(), window=(0.5, 3.5), outputs=outputs(tmp_path / "mixed"))
