"""The EMG participant stage: one participant's job, from BIDS recording to binned responses.

It runs :func:`opioidsocial.emg.preprocess.preprocess_participant` under the one
exclusion mechanism (:func:`opioidsocial.failsafe.stage`): with ``on_bad_data: fail`` a
data problem stops the job naming the study, the participant and the file; with
'exclude' the participant gets empty tables and a QC record whose reason the
study stage turns into a row of the exclusion list.
"""

from __future__ import annotations

import logging

from opioidsocial.emg.preprocess import UnusableParticipant, preprocess_participant
from opioidsocial.failsafe import Record, stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import EMG_BINS, EMG_QC_SIGNALS, QC_RECORD
from opioidsocial.io.tables import write_json, write_table

log = logging.getLogger(__name__)


@stage("emg_preprocess", level="participant", outputs={
    "bins": contracts.EMG_BINS, "qc": Record(contracts.QC_RECORD, fields=("arm", "recording")), "signals": contracts.EMG_QC_SIGNALS})
def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, participant: str, arm: str, metadata: dict) -> None:
    """Preprocess one participant; write ``outputs`` bins (EMG_BINS), qc (QC record) and
    signals (EMG_QC_SIGNALS: what the QC figure draws, so its job never reads the recording).

    ``inputs`` are the participant's BIDS files by role (recording, channels, events,
    sidecar). Every error is raised before any output is written.
    """
    bins, qc, signals = preprocess_participant(inputs, study=study, participant=participant, arm=arm, cfg=cfg["emg"])
    signal_rows = signals.table(study=study, participant=participant, muscles=list(qc["channels"]))
    if not qc["usable"]:
        raise UnusableParticipant(qc["exclusion_reason"], file=inputs["recording"],
                                  fix="inspect the QC JSON, or raise emg.max_rejected_fraction")
    log.info("%s/%s: %d rows, rejected fraction %s", study, participant, len(bins), qc.get("rejected_fraction"))
    # QC first: a table is only ever next to the QC record that explains it.
    write_json(outputs["qc"], qc, schema=QC_RECORD)
    write_table(signal_rows, outputs["signals"], EMG_QC_SIGNALS, metadata=metadata)
    write_table(bins, outputs["bins"], EMG_BINS, metadata=metadata)
