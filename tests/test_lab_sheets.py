"""Sheets that cannot mislabel a study: each mistake a lab makes is an error
naming the file and line, or is harmonised so that it cannot change the result."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from opioidsocial.config import SCHEMA_DIR, validate_section
from opioidsocial.emg.study import run as run_model
from opioidsocial.emg.trials import TrialTableError, read_user_trials
from opioidsocial.errors import ConfigError
from opioidsocial.io.contracts import EFFECTS, META_POOLED
from opioidsocial.io.tables import read_table, read_tsv, write_tsv
from opioidsocial.meta.harmonise import harmonise
from opioidsocial.meta.pooled import pooled_table
from opioidsocial.meta.published import SummaryStudyError, read_summary
from opioidsocial.sheets import load_participants, load_studies
from opioidsocial.simulate.emg import simulate_trials
from tests.test_emg_model import OUTPUTS

HEADER = "study\tmodality\tinput\tdesign\tdrug\tdirection\treference\tsample_group\tpath\n"
DESIGN = {
    "arms": {"placebo": 4, "Oxazepam": 4}, "muscles": ["corrugator"], "emotions": ["happy", "angry"], "stimuli_per_emotion": 3,
    "repetitions": 1, "responses": {"corrugator": {"happy": -0.5, "angry": 1.0}}, "arm_effects": {"Oxazepam": {"corrugator": {"angry": -0.5}}},
}
COLUMNS = validate_section({}, "models.schema.yaml", source="models")["trial_columns"]


def study_row(**cells) -> dict:
    return {"study": "oxa", "modality": "emg", "input": "trials", "design": "between", "drug": "oxazepam", "direction": 0,
            "reference": "placebo", "sample_group": "oxa", "path": "", **cells}


@pytest.fixture(scope="module")
def trial_table(tmp_path_factory) -> pd.DataFrame:
    """A non-opioid drug study's long trial table (one row per trial x muscle, arm on every row), arm spelled 'Oxazepam'."""
    trials, _ = simulate_trials(study="oxa", params=DESIGN, seed=3)
    return trials[["participant", "arm", "trial", "stimulus", "emotion", "muscle", "response_uv"]]


def write_csv(table: pd.DataFrame, folder: Path) -> Path:
    path = folder / "trials.csv"
    table.to_csv(path, index=False)
    return path


def run(source: Path, *, row: dict, folder: Path, **models) -> dict:
    cfg = {"models": validate_section(models, "models.schema.yaml", source="models"), "emg": {"response_s": [0.5, 3.5]}, "on_bad_data": "fail"}
    outputs = {key: str(folder / name) for key, name in OUTPUTS.items()}
    run_model(inputs={"source": str(source)}, outputs=outputs, cfg=cfg, study=row["study"], row=row, metadata={})
    return {"fit": json.loads(Path(outputs["fit"]).read_text()), "effects": read_table(outputs["effects"], EFFECTS)}


def test_direction_zero_is_a_valid_study(tmp_path):
    sheet = tmp_path / "studies.tsv"
    sheet.write_text(HEADER + "oxa\temg\ttrials\tbetween\toxazepam\t0\tplacebo\toxa\tdata/t.csv\n")
    assert load_studies(sheet, schemas=SCHEMA_DIR).loc["oxa", "direction"] == 0


def test_drug_differing_in_case_keeps_the_sheets_direction_and_spelling(trial_table, tmp_path):
    # The stimulus-free table of a lab, z-scored responses, and some rows without a response.
    table = trial_table.drop(columns="stimulus").assign(response_uv=trial_table["response_uv"].where(trial_table.index % 10 != 0))
    source = write_csv(table, tmp_path)
    got = run(source, row=study_row(direction=1), folder=tmp_path, trial_columns={"stimulus": None}, drop_missing_responses=True, response_unit="z")
    effects, fit = got["effects"], got["fit"]
    assert sorted(set(effects["drug"])) == ["oxazepam"] and set(effects["contrast"]) == {"oxazepam - placebo"}
    assert set(effects["direction"]) == {1}
    assert all("stimulus" not in m["formula_used"] for m in fit["models"]) and "(1 | stimulus) dropped" in fit["stimulus_effect"]
    assert fit["data"]["stimulus"].startswith("none")
    assert fit["data"]["rows_missing_response_dropped"] == int(table["response_uv"].isna().sum()) > 0
    assert fit["response_unit"] == "z"


def test_a_drug_that_names_no_arm_is_an_error(trial_table, tmp_path):
    source = write_csv(trial_table, tmp_path)
    with pytest.raises(ConfigError, match=r"study 'oxa': drug 'diazepam' \(studies.tsv\) is none of the arms \['Oxazepam', 'placebo'\] in .*trials.csv; set `drug`"):
        run(source, row=study_row(drug="diazepam"), folder=tmp_path)


def test_a_drug_that_names_no_arm_of_participants_tsv_stops_before_any_job(tmp_path):
    (tmp_path / "participants.tsv").write_text("participant_id\tarm\nsub-1\tplacebo\nsub-2\tOxazepam\n")
    assert load_participants(pd.Series(study_row(input="bids", path=str(tmp_path))), schemas=SCHEMA_DIR)["arm"].tolist() == ["placebo", "Oxazepam"]
    with pytest.raises(ConfigError, match=r"drug 'diazepam' \(studies.tsv\) is none of the arms \['Oxazepam', 'placebo'\] in .*participants.tsv"):
        load_participants(pd.Series(study_row(input="bids", drug="diazepam", path=str(tmp_path))), schemas=SCHEMA_DIR)


def test_the_readmes_example_trial_table_is_valid_long_format():
    example = Path(__file__).resolve().parents[1] / "examples" / "trials.csv"
    trials, counts = read_user_trials(example, study="example", columns={**COLUMNS, "trial": "trial"})
    assert counts["rows_read"] == len(trials) == 8
    assert trials.groupby("participant")["arm"].nunique().eq(1).all() and trials["participant"].tolist()[:1] == ["01"]


def test_trial_table_mistakes_name_the_line_and_the_fix(trial_table, tmp_path):
    spaced = trial_table.assign(arm=trial_table["arm"].where(trial_table.index != 5, "placebo "))
    with pytest.raises(TrialTableError, match=r"line 7: arm 'placebo ' has surrounding spaces"):
        read_user_trials(write_csv(spaced, tmp_path), study="oxa", columns=COLUMNS)
    repeated = pd.concat([trial_table, trial_table.iloc[[3]]], ignore_index=True)
    first = trial_table.iloc[3]
    with pytest.raises(TrialTableError, match=rf"participant '{first['participant']}', trial {first['trial']}, muscle 'corrugator' appears on lines \[5, {len(trial_table) + 2}\]"):
        read_user_trials(write_csv(repeated, tmp_path), study="oxa", columns={**COLUMNS, "trial": "trial"})
    gap = trial_table.assign(response_uv=trial_table["response_uv"].where(trial_table.index != 2))
    with pytest.raises(TrialTableError, match=r"1 row\(s\) have no response .* first at line 4; .* models.drop_missing_responses: true"):
        read_user_trials(write_csv(gap, tmp_path), study="oxa", columns=COLUMNS)


@pytest.mark.parametrize(
    "arms, design, message",
    [
        (["placebo", "placebo ", "drug"], "between", r"participants.tsv line 3: 'arm' = 'placebo ' is invalid"),
        (["placebo", "", "drug"], "between", r"participants.tsv line 3: 'arm' is empty"),
        (["", "", ""], "within", None),
    ],
)
def test_arm_cells_of_participants_tsv(tmp_path, arms, design, message):
    (tmp_path / "participants.tsv").write_text("participant_id\tarm\n" + "".join(f"sub-{i}\t{a}\n" for i, a in enumerate(arms, 1)))
    row = pd.Series(study_row(input="bids", design=design, path=str(tmp_path)))
    if message is None:
        assert load_participants(row, schemas=SCHEMA_DIR)["arm"].tolist() == ["all"] * 3
    else:
        with pytest.raises(ConfigError, match=message):
            load_participants(row, schemas=SCHEMA_DIR)


def test_equal_outcomes_in_different_spellings_pool_together():
    def part(study, outcome):
        return pd.DataFrame([{"study": study, "outcome": outcome, "contrast": "drug - placebo", "yi": 0.2, "vi": 0.05, "n1": 10, "n2": 10,
                              "design": "between", "direction": -1, "sample_group": study, "measure": "SMD", "modality": "emg", "drug": "drug",
                              "conversion": "SMD", "source": "model"}])

    table = harmonise([part("a", "zygomaticus to Angry  faces"), part("b", "zygomaticus to angry faces")], families=[],
                      outcome_pattern=r"(?P<muscle>\w+) to (?P<emotion>\w+) faces")
    assert table["family"].tolist() == ["zygomaticus to Angry  faces"] * 2  # one family, named as the first study spells it
    assert table["emotion"].tolist() == ["angry", "angry"]
    assert table["outcome"].tolist() == ["zygomaticus to Angry  faces", "zygomaticus to angry faces"]  # each study's spelling, for display


SUMMARY = "study\tsample_group\toutcome\tdesign\tdrug\tdirection\tn1\tn2\tt\n"


def test_one_summary_file_holds_many_studies_of_their_own_samples(tmp_path):
    path = tmp_path / "papers.tsv"
    path.write_text(SUMMARY + "meier2016\tmeier\tzyg\tbetween\tnaltrexone\t-1\t20\t20\t2.0\n"
                    "massaccesi2022\tmassaccesi\tzyg\tbetween\tmorphine\t1\t40\t42\t-1.5\n"
                    "korb2023\tkorb\tzyg\tbetween\tamisulpride\t0\t40\t40\t0.5\n")
    out = read_summary(path, study_row=study_row(study="papers", modality="summary", input="summary", drug="naltrexone", direction=-1,
                                                  sample_group="papers", path=str(path))).set_index("study")
    assert out.loc[["meier2016", "massaccesi2022", "korb2023"], ["sample_group", "drug", "direction"]].values.tolist() == [
        ["meier", "naltrexone", -1], ["massaccesi", "morphine", 1], ["korb", "amisulpride", 0]]


@pytest.mark.parametrize(
    "rows, message",
    [
        ("meier2016\t\tzyg\tbetween\tnaltrexone\t-1\t20\t20\t2.0\n", r"line 2: study 'meier2016' is not this file's row .* needs its own sample_group"),
        ("meier2016\tmeier\tzyg\tbetween\tnaltrexone\t-1\t20\t20\t2.0\nmeier2016\tother\tcorr\tbetween\tnaltrexone\t-1\t20\t20\t1.0\n",
         r"study 'meier2016' has rows in sample groups \['meier', 'other'\]"),
    ],
)
def test_summary_rows_are_never_merged_across_samples(tmp_path, rows, message):
    path = tmp_path / "papers.tsv"
    path.write_text(SUMMARY + rows)
    with pytest.raises(SummaryStudyError, match=message):
        read_summary(path, study_row=study_row(study="papers", sample_group="papers"))


def test_too_few_studies_are_a_row_with_the_reason_in_pooled_tsv(caplog, tmp_path):
    """One study: pooled.tsv says why nothing was pooled, and so does the log."""
    effects = harmonise([pd.DataFrame([{"study": "only", "outcome": "zygomaticus to happy faces", "contrast": "drug - placebo", "yi": 0.2,
                                        "vi": 0.05, "n1": 10, "n2": 10, "design": "between", "direction": -1, "sample_group": "only",
                                        "measure": "SMD", "modality": "emg", "drug": "drug", "conversion": "SMD", "source": "model"}])],
                        families=[], outcome_pattern=r"(?P<muscle>\w+) to (?P<emotion>\w+) faces")
    write_tsv(pooled_table(effects, methods=["REML"], tests=["knha"], rho=0.5, min_k=2, level=0.95), tmp_path / "pooled.tsv", META_POOLED)
    table = read_tsv(tmp_path / "pooled.tsv", META_POOLED)
    assert table[["family", "model", "k", "note"]].values.tolist() == [
        ["zygomaticus to happy faces", "opioid_aligned", 1, "not pooled: 1 independent sample(s) (sample groups), meta.min_k = 2 needed"]]
    assert table["estimate"].isna().all()
    assert "meta.min_k = 2 needed" in caplog.text
