"""The EMG study table: the usable participants' binned responses in one table, and the
study's exclusion list (participants, muscles and trials, with their reasons)."""

from __future__ import annotations

import logging

import pandas as pd

from opioidsocial.emg.preprocess import STAGE
from opioidsocial.emg.study import StudyNotEstimable
from opioidsocial.failsafe import exclusion_table, qc_exclusions, stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import EMG_BINS, EXCLUSIONS, QC_RECORD
from opioidsocial.io.tables import read_json, read_table, write_table, write_tsv

log = logging.getLogger(__name__)


@stage("emg_study_table", level="study", outputs={"table": contracts.EMG_BINS, "exclusions": contracts.EXCLUSIONS})
def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, metadata: dict) -> None:
    """Concatenate the usable participants' tables; list the excluded participants, and the
    muscles and trials excluded in the others (their QC records' ``exclusions``), with their reasons.

    ``inputs`` bins and qc are the participants' EMG_BINS tables and QC records.
    """
    frames, excluded = [], []
    for bins_path, qc_path in zip(sorted(inputs["bins"]), sorted(inputs["qc"])):
        qc = read_json(qc_path, QC_RECORD)
        excluded += qc_exclusions(qc, stage=STAGE)
        if qc["usable"]:
            frames.append(read_table(bins_path, EMG_BINS))
    if not frames:
        raise StudyNotEstimable(f"no usable participant in {len(inputs['qc'])} QC records", study=study,
                                fix="see why each was excluded in their QC records (results/<study>/qc/emg/)")
    table = pd.concat(frames, ignore_index=True)
    log.info("study table: %d participants, %d excluded, %d rows", table["participant"].nunique(), len(excluded), len(table))
    write_tsv(exclusion_table(excluded), outputs["exclusions"], EXCLUSIONS)
    write_table(table, outputs["table"], EMG_BINS, metadata=metadata)
