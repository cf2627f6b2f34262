"""A PET study's traits (numeric columns of participants.tsv) and the config checks of
its study level, raised when the workflow is planned, before any fit runs. Light on
imports: the workflow calls :func:`check_config` while it builds the jobs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from opioidsocial.errors import ConfigError

NOT_TRAITS = {"participant", "participant_id", "arm", "sex", "age", "group"}


def _numeric(column: pd.Series) -> pd.Series | None:
    """The column as numbers (n/a = missing), or None if some value is not a number."""
    text = column.replace({"n/a": np.nan, "": np.nan})
    values = pd.to_numeric(text, errors="coerce")
    return values if values.notna().sum() == text.notna().sum() else None


def traits_of(sheet: pd.DataFrame, wanted: list[str], *, study: str) -> pd.DataFrame:
    """Numeric trait columns of participants.tsv, indexed by participant label."""
    chosen = {}
    for name in wanted or [c for c in sheet.columns if c not in NOT_TRAITS]:
        if name not in sheet.columns:
            raise ConfigError(f"study '{study}': config pet.traits lists '{name}', which participants.tsv does not have (columns: {list(sheet.columns)})")
        values = _numeric(sheet[name])
        if values is None:
            if wanted:
                raise ConfigError(f"study '{study}': trait '{name}' of participants.tsv is not numeric; fix its values or drop it from pet.traits")
            continue
        chosen[name] = values.to_numpy(dtype=float)
    return pd.DataFrame(chosen, index=pd.Index(sheet["participant"], name="participant"))


def check_config(*, study_row: dict, sheet: pd.DataFrame, cfg: dict) -> None:
    """Raise the ConfigErrors of a PET study (its reference condition, its traits) when the
    workflow is planned (``get_pet_study_inputs`` in common.smk), before any fit runs."""
    study, reference = study_row["study"], study_row["reference"]
    if reference not in cfg["conditions"]:
        raise ConfigError(f"study '{study}': reference '{reference}' (studies.tsv) is not one of config pet.conditions {cfg['conditions']}")
    traits_of(sheet, cfg["traits"], study=study)
