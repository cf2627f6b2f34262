"""The files the report's overview reads, as paths only.

The workflow calls these while Snakemake parses it, which every job submitted to
a cluster does again: they only build paths.
"""

from __future__ import annotations

from opioidsocial.paths import layout
from opioidsocial.sheets import participants_sheet

#: Inputs whose `path` is a dataset folder with a participants.tsv.
WITH_PARTICIPANTS = ("bids", "tac", "bpnd")


def study_inputs(row: dict, results: str) -> dict[str, str]:
    """The files the overview reads for one study; the rule lists the same files as inputs."""
    paths, study = layout(results), row["study"]
    files = {"participants": participants_sheet(row)} if row["input"] in WITH_PARTICIPANTS else {}
    if row["modality"] == "emg":
        files |= {"trials": paths.trials.format(study=study), "fit": paths.fit.format(study=study)}
    elif row["modality"] == "pet":
        files |= {"bp": paths.study_bp.format(study=study)}
    else:
        files |= {"summary": row["path"]}
    return files


def exclusion_inputs(rows: list[dict], results: str) -> list[str]:
    """The per-study exclusion lists: preprocessed EMG (input 'bids') and every PET study write one."""
    return [layout(results).exclusions.format(study=r["study"]) for r in rows if r["input"] in WITH_PARTICIPANTS]
