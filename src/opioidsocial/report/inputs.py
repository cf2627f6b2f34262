"""The files the report's overview reads, as paths only.

Kept free of heavy imports: the rule file calls these while Snakemake parses the
workflow, which every job submitted to a cluster does again.
"""

from __future__ import annotations

#: Inputs whose `path` is a dataset folder with a participants.tsv.
WITH_PARTICIPANTS = ("bids", "tac", "bpnd")


def study_inputs(row: dict, results: str) -> dict[str, str]:
    """The files the overview reads for one study; the rule lists the same files as inputs."""
    study, kind = row["study"], row["input"]
    model = f"{results}/{study}/model"
    files = {"participants": f"{row['path']}/participants.tsv"} if kind in WITH_PARTICIPANTS else {}
    if row["modality"] == "emg":
        files |= {"trials": f"{model}/trials.parquet", "fit": f"{model}/fit.json"}
    elif row["modality"] == "pet":
        files |= {"bp": f"{model}/pet_bp.parquet"}
    else:
        files |= {"summary": row["path"]}
    return files


def exclusion_inputs(rows: list[dict], results: str) -> list[str]:
    """The per-study exclusion lists: preprocessed EMG (input 'bids') and every PET study write one."""
    return [f"{results}/{r['study']}/exclusions.tsv" for r in rows if r["input"] in ("bids", "tac", "bpnd")]
