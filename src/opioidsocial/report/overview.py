"""The report's first page: which studies went in, how many people each enrolled
and analysed, every exclusion with its reason, and the exclusions counted per
study and arm (participants, muscles, trials, PET ROI fits).

The counts are read from the stages' outputs, not recomputed: EMG studies from
the model's trial table (``model/trials.parquet``, empty when the model was not
estimable), PET studies from the study's BPND table (participants with at least
one usable estimate of the primary model), summary studies from the largest n
their published statistics report.
"""

from __future__ import annotations

import pandas as pd

from opioidsocial.config import SCHEMA_DIR
from opioidsocial.failsafe import exclusion_table, stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import EXCLUSION_COUNTS, EXCLUSION_LEVELS, EXCLUSIONS, FIT_RECORD, OVERVIEW, PET_BP, TRIAL_RESPONSES
from opioidsocial.io.tables import read_json, read_table, read_tsv, write_tsv
from opioidsocial.meta.published import read_summary
from opioidsocial.pet.inputs import primary_model
from opioidsocial.report.inputs import WITH_PARTICIPANTS
from opioidsocial.sheets import load_participants


def gather_exclusions(paths: list[str]) -> pd.DataFrame:
    """One table of every study's exclusions, in the order of :func:`~opioidsocial.failsafe.exclusion_table`."""
    # Labels stay text (EXCLUSIONS.text): participant 007 is not the number 7.
    frames = [read_tsv(path, EXCLUSIONS) for path in paths]
    return exclusion_table(pd.concat(frames, ignore_index=True) if frames else EXCLUSIONS.empty())


def _emg_analysed(files: dict) -> int:
    estimable = read_json(files["fit"], FIT_RECORD)["estimable"]
    return int(read_table(files["trials"], TRIAL_RESPONSES)["participant"].nunique()) if estimable else 0


def _pet_analysed(files: dict, *, primary: str) -> int:
    bp = read_table(files["bp"], PET_BP)
    usable = bp[(bp["model"] == primary) & bp["fit_ok"].astype(bool) & bp["bp_nd"].notna()]
    return int(usable["participant"].nunique())


def _summary_n(row: dict, files: dict) -> int:
    effects = read_summary(files["summary"], study_row=row)
    return int((effects["n1"].fillna(0) + effects["n2"].fillna(0)).max())


def study_counts(row: dict, files: dict, *, pet_model: str) -> tuple[int, int]:
    """(n enrolled, n analysed) of one study; ``pet_model`` is config pet.model (TAC studies' primary estimate)."""
    if row["modality"] == "summary":
        n = _summary_n(row, files)
        return n, n
    if row["modality"] == "emg":
        analysed = _emg_analysed(files)
    else:
        analysed = _pet_analysed(files, primary=primary_model(row["input"], pet_model))
    if "participants" in files:
        enrolled = len(load_participants(row, schemas=SCHEMA_DIR, path=files["participants"]))
    else:
        # A trial table (input 'trials') is the whole enrolment the workflow sees.
        enrolled = int(read_table(files["trials"], TRIAL_RESPONSES)["participant"].nunique())
    return enrolled, analysed


def overview(rows: list[dict], *, files: dict[str, dict], pet_model: str) -> pd.DataFrame:
    """One row per study of the study sheet, in sheet order, with its design and counts.

    ``files`` maps each study to its :func:`opioidsocial.report.inputs.study_inputs`.
    """
    records = []
    for row in rows:
        enrolled, analysed = study_counts(row, files[row["study"]], pet_model=pet_model)
        records.append({**{c: row.get(c, "") for c in OVERVIEW.columns}, "n_enrolled": enrolled, "n_analysed": analysed})
    return pd.DataFrame(records, columns=list(OVERVIEW.columns))


def exclusion_counts(rows: list[dict], exclusions: pd.DataFrame, *, files: dict[str, dict]) -> pd.DataFrame:
    """Per study (with a participants.tsv) and arm: enrolled, and the exclusions at each level.

    ``files`` maps each study to its :func:`opioidsocial.report.inputs.study_inputs` (the participants.tsv read).

    A participant counts once however many rows excluded it; a muscle, trial or PET
    ROI fit is one row of the exclusion list (one muscle or trial of one participant).
    """
    records = []
    for row in rows:
        if row["input"] not in WITH_PARTICIPANTS:
            continue
        arms = load_participants(row, schemas=SCHEMA_DIR, path=files[row["study"]]["participants"]).set_index("participant")["arm"].astype(str)
        mine = exclusions[exclusions["study"] == row["study"]]
        mine = mine.assign(arm=mine["participant"].map(arms))
        for arm in sorted(set(arms)):
            in_arm = mine[mine["arm"] == arm]
            counts = {f"excluded_{level}s": int(in_arm.loc[in_arm["level"] == level, "participant"].nunique()) if level == "participant"
                      else int((in_arm["level"] == level).sum()) for level in EXCLUSION_LEVELS}
            records.append({"study": row["study"], "arm": arm, "n_enrolled": int((arms == arm).sum()), **counts})
    return pd.DataFrame(records, columns=list(EXCLUSION_COUNTS.columns))


@stage("report_overview", level="run", outputs={"overview": contracts.OVERVIEW, "exclusions": contracts.EXCLUSIONS, "exclusion_counts": contracts.EXCLUSION_COUNTS})
def run(*, inputs: dict, outputs: dict, cfg: dict, studies: list[dict], files: dict) -> None:
    """The report_overview job: results/overview.tsv, results/exclusions.tsv and results/exclusion_counts.tsv."""
    exclusions = gather_exclusions(list(inputs["exclusions"]))
    write_tsv(overview(list(studies), files=dict(files), pet_model=cfg["pet"]["model"]), outputs["overview"], OVERVIEW)
    write_tsv(exclusions, outputs["exclusions"], EXCLUSIONS)
    write_tsv(exclusion_counts(list(studies), exclusions, files=dict(files)), outputs["exclusion_counts"], EXCLUSION_COUNTS)
