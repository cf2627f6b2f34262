"""Trial-level EMG responses: the outcome the study models are fitted to.

A trial's response is the mean of its rectified, smoothed, baseline-corrected
amplitude over the response window (bins whose start lies in ``[start, end)`` of
``emg.response_s``), for trial x muscle cells that no artefact rule rejected. This
is the usual facial-mimicry outcome (e.g. Korb et al. 2023; van Boxtel 2010
recommends baseline-corrected mean amplitudes over the stimulus period).

A lab with already preprocessed EMG, or a public trial table, gives the same table
directly (study input ``trials``): CSV, TSV or Parquet, one row per trial x
muscle, with its column names mapped in ``models.trial_columns``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from opioidsocial.emg.epochs import BASELINE_UNITS, window_response
from opioidsocial.errors import DataError
from opioidsocial.io.contracts import EMG_BINS, TRIAL_RESPONSES
from opioidsocial.io.labels import NO_STIMULUS, variants
from opioidsocial.io.tables import read_table

KEYS = ("participant", "arm", "stimulus", "emotion", "muscle")

#: Bin starts are compared with the window after rounding, so 0.49999999 s counts as 0.5 s.
_DECIMALS = 9


class TrialTableError(DataError):
    """A trial-level table the models cannot use; the message names the file and the fix."""


#: emg.zscore -> the columns within which responses are standardised.
ZSCORE_GROUPS = {"within_muscle": ["participant", "muscle"], "within_participant": ["participant"]}


def response_unit(method: str, zscore: str) -> str:
    """The unit of a trial response under ``emg.baseline_method`` and ``emg.zscore`` (fit.json's ``response_unit``)."""
    unit = BASELINE_UNITS[method]
    return unit if zscore == "none" else f"z ({unit}, {zscore.replace('_', ' ')})"


def responses_from_bins(bins: pd.DataFrame, *, window: tuple[float, float], source: str = "<bins>", method: str = "subtract",
                        zscore: str = "none") -> pd.DataFrame:
    """One row per clean trial x muscle with its baseline-corrected amplitude over ``window`` (s).

    ``method`` is the ``emg.baseline_method`` the bins were corrected with
    (:func:`opioidsocial.emg.epochs.window_response`). Under ``zscore`` (``emg.zscore``)
    each response is then standardised by the mean and SD (n - 1) of the clean
    trials' corrected bins of the whole epoch, within participant x muscle
    (``within_muscle``: the mean of the bins' ``amplitude_z`` over the window) or
    within participant over all its muscles (``within_participant``).
    """
    start, end = window
    if not start < end:
        raise TrialTableError(f"{source}: response window {list(window)} must have start < end (emg.response_s)")
    t = bins["bin_start_s"].round(_DECIMALS)
    inside = bins[(t >= round(start, _DECIMALS)) & (t < round(end, _DECIMALS)) & ~bins["artefact"]]
    if inside.empty:
        raise TrialTableError(
            f"{source}: no clean bin starts inside the response window {list(window)} s; "
            "check emg.response_s against the epoch (emg.tmin_s/tmax_s) and the artefact rates"
        )
    keys = ["study", "participant", "arm", "trial", "stimulus", "emotion", "muscle"]
    groups = [inside[k] for k in keys]
    response = window_response(inside["amplitude_uv"], method, mean=lambda v: v.groupby(groups, sort=True, observed=True).mean())
    out = response.rename("response_uv").reset_index()
    out["trial"] = out["trial"].astype("int32")
    if zscore != "none":
        by = ZSCORE_GROUPS[zscore]
        scale = bins[~bins["artefact"]].groupby(by, sort=True)["amplitude_uv"].agg(["mean", "std"])
        scale = out[by].merge(scale, left_on=by, right_index=True, how="left")
        out["response_uv"] = (out["response_uv"] - scale["mean"].to_numpy()) / scale["std"].to_numpy()
    return out


def read_bins_responses(path: str | Path, *, window: tuple[float, float], method: str = "subtract",
                        zscore: str = "none") -> tuple[pd.DataFrame, dict]:
    """Trial responses of a study's EMG_BINS table (bins corrected by ``method``), and counts of what was left out."""
    bins = read_table(path, EMG_BINS)
    cells = bins.drop_duplicates(["participant", "trial", "muscle"])
    counts = {"trial_muscle_cells": int(len(cells)), "rejected_as_artefact": int(cells["artefact"].sum())}
    return responses_from_bins(bins, window=window, source=str(path), method=method, zscore=zscore), counts


def read_user_trials(path: str | Path, *, study: str, columns: dict, drop_missing: bool = False) -> tuple[pd.DataFrame, dict]:
    """A user's trial-level table (CSV, TSV or Parquet) in the TRIAL_RESPONSES layout.

    The table is long: one row per trial x muscle, the arm on every row (README,
    "Trial tables"). ``columns`` is ``models.trial_columns``; a ``stimulus`` of null
    means the table has none (every row gets :data:`NO_STIMULUS`, and the model has no
    stimulus random effect). Rows without a response are an error, or with
    ``drop_missing`` (``models.drop_missing_responses``) left out and counted.
    """
    path = Path(path)
    if not path.is_file():
        raise TrialTableError(f"study '{study}': trial table {path} does not exist; fix `path` in the study sheet")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv", ".tsv"):
        raise TrialTableError(f"study '{study}': trial table {path} should end in .csv, .tsv or .parquet")
    wanted = {key: name for key, name in columns.items() if name is not None}
    try:
        if suffix == ".parquet":
            raw = pd.read_parquet(path)
        else:
            # Ids stay text, so participant 007 is not read as the number 7.
            raw = pd.read_csv(path, sep="," if suffix == ".csv" else "\t", dtype={wanted[k]: str for k in ("participant", "stimulus") if k in wanted})
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise TrialTableError(f"study '{study}': cannot read trial table {path}: {err}") from err
    missing = {key: name for key, name in wanted.items() if name not in raw.columns}
    if missing:
        raise TrialTableError(
            f"study '{study}': {path} has no column(s) {sorted(missing.values())} "
            f"(mapped in models.trial_columns for {sorted(missing)}); its columns are {list(raw.columns)}"
        )
    # The row's line in a CSV/TSV (header = line 1), so messages point at the file.
    raw = raw.set_axis(pd.RangeIndex(2, len(raw) + 2))
    rows = len(raw)
    excluded = 0
    if wanted.get("exclude"):
        flag = raw[wanted["exclude"]]
        if not pd.api.types.is_bool_dtype(flag):
            raise TrialTableError(f"study '{study}': {path}: column '{wanted['exclude']}' (models.trial_columns.exclude) must be true/false")
        excluded = int(flag.sum())
        raw = raw[~flag]
    table = pd.DataFrame({key: raw[wanted[key]] if key in wanted else NO_STIMULUS for key in (*KEYS, "response_uv")}, index=raw.index)
    for key in KEYS:
        table[key] = table[key].astype(str)
    # Empty ids and arms with surrounding spaces are errors (an arm must match the study
    # sheet's reference and drug as written); other labels lose surrounding spaces, and
    # case variants of one label are errors, never extra levels.
    _check_labels(table, study=study, path=path)
    for key in KEYS:
        table[key] = table[key].str.strip()
    for key in ("arm", "emotion", "muscle"):
        for spelled in variants(table[key]):
            raise TrialTableError(f"study '{study}': {path}: column '{wanted[key]}' spells one {key} as {sorted(spelled)}; "
                                  "write one spelling, or they would be different levels of the model")
    if not pd.api.types.is_numeric_dtype(table["response_uv"]):
        raise TrialTableError(f"study '{study}': {path}: column '{wanted['response_uv']}' must hold numbers (models.response_unit)")
    no_response = table["response_uv"].isna()
    if no_response.any() and not drop_missing:
        raise TrialTableError(
            f"study '{study}': {path}: {int(no_response.sum())} row(s) have no response (column '{wanted['response_uv']}'), "
            f"first at line {int(no_response.idxmax())}; fill them, or set models.drop_missing_responses: true to leave them out (counted in fit.json)"
        )
    table, raw = table[~no_response], raw[~no_response]
    if wanted.get("trial"):
        trial = pd.to_numeric(raw[wanted["trial"]], errors="coerce")
        if trial.isna().any() or (trial % 1 != 0).any():
            raise TrialTableError(f"study '{study}': {path}: column '{wanted['trial']}' (models.trial_columns.trial) must hold whole trial numbers")
        table["trial"] = trial.astype("int32")
        _check_unique_trials(table, study=study, path=path)
    else:
        table["trial"] = (table.groupby(["participant", "muscle"], sort=False).cumcount() + 1).astype("int32")
    table.insert(0, "study", study)
    counts = {"rows_read": rows, "rows_excluded": excluded, "rows_missing_response_dropped": int(no_response.sum()),
              "stimulus": "from column " + repr(wanted["stimulus"]) if "stimulus" in wanted else "none (no stimulus column: no stimulus random effect)"}
    return table[TRIAL_RESPONSES.columns].reset_index(drop=True), counts


def _check_labels(table: pd.DataFrame, *, study: str, path: Path) -> None:
    """Every id is filled, and no arm carries surrounding spaces (it would be an arm of its own)."""
    empty = table[list(KEYS)].isin(["", "nan", "None"]).any(axis=1)
    if empty.any():
        raise TrialTableError(
            f"study '{study}': {path}: {int(empty.sum())} row(s) have an empty id, first at line {int(empty.idxmax())}; "
            "fill them or flag them in the `exclude` column (models.trial_columns.exclude)"
        )
    spaced = table["arm"] != table["arm"].str.strip()
    if spaced.any():
        raise TrialTableError(
            f"study '{study}': {path} line {int(spaced.idxmax())}: arm {table['arm'][spaced].iloc[0]!r} has surrounding spaces "
            f"({int(spaced.sum())} row(s)); it would be an arm of its own: remove the spaces"
        )


def _check_unique_trials(table: pd.DataFrame, *, study: str, path: Path) -> None:
    """One row per (participant, trial, muscle): a repeated key would count a trial twice."""
    repeated = table[table.duplicated(["participant", "trial", "muscle"], keep=False)]
    if len(repeated):
        first = repeated.iloc[0]
        lines = repeated.index[(repeated[["participant", "trial", "muscle"]] == first[["participant", "trial", "muscle"]]).all(axis=1)].tolist()
        raise TrialTableError(
            f"study '{study}': {path}: participant '{first['participant']}', trial {first['trial']}, muscle '{first['muscle']}' "
            f"appears on lines {lines} ({len(repeated)} rows share a key); the table must have one row per trial x muscle: "
            "remove the repeats or fix the trial numbers (models.trial_columns.trial)"
        )


def participant_cell_means(trials: pd.DataFrame) -> pd.DataFrame:
    """Each participant's mean response per arm x emotion x muscle cell, with its trial count."""
    grouped = trials.groupby(["participant", "arm", "emotion", "muscle"], sort=True, observed=True)["response_uv"]
    return grouped.agg(mean_uv="mean", n_trials="size").reset_index()

