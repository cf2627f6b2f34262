"""The study sheet and each study's participants.tsv, validated.

Sheets, not the disk, say who is in a study: a new row is exactly one new set of
jobs, and a file lying around is never picked up by accident.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from opioidsocial.config import ConfigError, check_unique, read_sheet
from opioidsocial.io.labels import undeclared, variants


def load_studies(path: str | Path, *, schemas: str | Path) -> pd.DataFrame:
    """The study sheet indexed by study id; raises ConfigError on any bad row."""
    sheet = read_sheet(path, Path(schemas) / "studies.schema.yaml", what="study sheet")
    check_unique(sheet, "study", path=path)
    for row in sheet.itertuples():
        if row.input in ("bids", "trials") and row.modality != "emg":
            raise ConfigError(f"{path}: study '{row.study}' has input '{row.input}', which is for modality emg, not {row.modality}")
        if row.input in ("tac", "bpnd") and row.modality != "pet":
            raise ConfigError(f"{path}: study '{row.study}' has input '{row.input}', which is for modality pet, not {row.modality}")
        if (row.input == "summary") != (row.modality == "summary"):
            raise ConfigError(f"{path}: study '{row.study}': modality 'summary' goes with input 'summary' and only with it")
        if row.reference_group and row.modality != "pet":
            raise ConfigError(f"{path}: study '{row.study}' names reference_group '{row.reference_group}', which only PET studies use")
    return sheet.set_index("study", drop=False)


def participants_sheet(study_row) -> str:
    """The path of a study's participants.tsv (in the dataset folder its row names)."""
    return f"{study_row['path']}/participants.tsv"


def load_participants(study_row: pd.Series | dict, *, schemas: str | Path, path: str | Path | None = None) -> pd.DataFrame:
    """A study's participants.tsv with a 'participant' column holding the bare label.

    ``path``: the sheet as a rule declares it (default: participants.tsv in the study's folder).
    """
    path = Path(path if path is not None else participants_sheet(study_row))
    # An empty arm in a between-subjects study would become an arm of its own ('all').
    filled = ("arm",) if study_row.get("design") == "between" else ()
    sheet = read_sheet(path, Path(schemas) / "participants.schema.yaml", what=f"study '{study_row['study']}'", filled=filled)
    check_unique(sheet, "participant_id", path=path)
    # One arm only (recruitment under way): preprocessing and QC may run; the model
    # stage says that a contrast needs two arms.
    if study_row.get("modality") == "emg" and filled and sheet["arm"].nunique() > 1:
        check_drug_arm(study_row, arms=sheet["arm"], source=path)
    sheet.insert(0, "participant", sheet["participant_id"].str.removeprefix("sub-"))
    sheet["arm"] = sheet["arm"].astype(str)
    _check_arms(sheet, study_row=study_row, path=path)
    if study_row.get("reference_group"):
        _check_groups(sheet, reference=study_row["reference_group"], path=path)
    return sheet.sort_values("participant", kind="stable").reset_index(drop=True)


def _check_arms(sheet: pd.DataFrame, *, study_row: pd.Series, path: Path) -> None:
    """The sheet's arms are the study's declared arms: spelled one way each, and the
    study sheet's reference arm among them (EMG: arms are the model's levels)."""
    for spelled in variants(sheet["arm"]):
        who = {v: sheet.loc[sheet["arm"] == v, "participant_id"].tolist()[:3] for v in spelled}
        raise ConfigError(f"{path}: arms {sorted(spelled)} differ only in case ({who}); write one spelling, "
                          "or they would be different arms of study " + repr(study_row["study"]))
    arms = sorted(set(sheet["arm"]))
    # Within-subjects studies have every arm per participant: their sheet's arm column is no design.
    if study_row.get("modality") == "emg" and study_row.get("design", "between") == "between" and study_row.get("reference") not in arms:
        raise ConfigError(f"{path}: " + undeclared(study_row["reference"], arms, what="reference arm", where=f"the study sheet (study '{study_row['study']}')")
                          + "; fix `reference` there or the arms of participants.tsv")


def _check_groups(sheet: pd.DataFrame, *, reference: str, path: Path) -> None:
    """A patient-control study: everyone has a group, the reference group and another exist."""
    fix = "give every participant a group (participants.schema.yaml) or clear reference_group in studies.tsv"
    # read_sheet gives every documented column, so a sheet without 'group' has it empty.
    missing = sheet.loc[sheet["group"].isna() | (sheet["group"] == ""), "participant_id"].tolist()
    if missing:
        raise ConfigError(f"{path}: participant(s) {missing} have no group; {fix}")
    labels = sorted(set(sheet["group"]))
    if reference not in labels or len(labels) < 2:
        raise ConfigError(f"{path}: groups {labels} must include the reference group '{reference}' (studies.tsv) and at least one other; {fix}")


def check_drug_arm(study_row, *, arms, source) -> None:
    """The study's ``drug`` names one of its arms (case and surrounding spaces aside).

    Checked when participants.tsv is read (before any job) and on the arms of a trial
    table at the model stage: otherwise the drug's effects would all get direction 0
    without a word.
    """
    names = sorted(set(map(str, arms)))
    if study_row["drug"].strip().casefold() not in {a.strip().casefold() for a in names}:
        raise ConfigError(
            f"study '{study_row['study']}': drug '{study_row['drug']}' (studies.tsv) is none of the arms {names} in {source}; "
            "set `drug` to the arm that received it (a drug that is no opioid takes direction 0)"
        )
