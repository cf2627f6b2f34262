"""Job-level entry points of the EMG stage: one participant, and the study table.

They apply the config's policy for unusable data (``on_bad_data``): 'fail' raises
the error naming the file; 'exclude' writes an empty table and a QC record with
the reason, which the study table turns into a row of the exclusion list.
"""

from __future__ import annotations

import json
import logging

import pandas as pd

from opioidsocial.emg.epochs import EpochError
from opioidsocial.emg.filters import FilterError
from opioidsocial.emg.preprocess import UnusableParticipant, empty_bins, preprocess_participant
from opioidsocial.io.bids import BidsError
from opioidsocial.io.tables import EMG_BINS, read_table, write_json, write_table, write_tsv

log = logging.getLogger(__name__)

DATA_PROBLEMS = (BidsError, EpochError, FilterError, UnusableParticipant)
# The file each kind of error is about. Filters and epochs see only arrays and
# numbers, so their messages cannot name the participant or the file themselves.
CULPRIT = {EpochError: "events", FilterError: "recording"}
EXCLUSION_COLUMNS = ["study", "participant", "stage", "reason"]


def run_participant(*, files: dict, bins_path: str, qc_path: str, study: str, participant: str, arm: str, cfg: dict, on_bad_data: str, metadata: dict) -> None:
    """Preprocess one participant and write its EMG_BINS table and QC JSON.

    Every error is raised (on_bad_data 'fail') or recorded ('exclude') before either
    file is written, and names the study, the participant and the file at fault.
    """
    who = f"study '{study}', participant '{participant}'"
    try:
        bins, qc = preprocess_participant(files, study=study, participant=participant, arm=arm, cfg=cfg)
        if not qc["usable"]:
            raise UnusableParticipant(f"{who}: {qc['exclusion_reason']} in {files['recording']}; "
                                      "inspect the QC JSON, or raise emg.max_rejected_fraction")
    except DATA_PROBLEMS as problem:
        err = _named(problem, who=who, files=files)
        if on_bad_data == "fail":
            if err is problem:
                raise
            raise err from problem
        log.warning("excluded: %s", err)
        bins = empty_bins()
        qc = {"study": study, "participant": participant, "arm": arm, "recording": files["recording"], "usable": False, "exclusion_reason": str(err)}
    log.info("%s/%s: %d rows, rejected fraction %s", study, participant, len(bins), qc.get("rejected_fraction"))
    # QC first: a table is only ever next to the QC record that explains it.
    write_json(qc_path, qc)
    write_table(bins, bins_path, EMG_BINS, metadata=metadata)


def _named(err: Exception, *, who: str, files: dict) -> Exception:
    """``err``, or the same kind of error with the participant and its file added."""
    text = str(err)
    named_who = text.startswith(who)
    named_file = any(str(path) in text for path in files.values())
    if named_who and named_file:
        return err
    culprit = files[CULPRIT.get(type(err), "recording")]
    return type(err)((text if named_who else f"{who}: {text}") + ("" if named_file else f" (file: {culprit})"))


def gather(*, bins_paths: list[str], qc_paths: list[str], table_path: str, exclusions_path: str, metadata: dict) -> None:
    """Concatenate the usable participants' tables; list the excluded ones with their reasons."""
    frames, excluded = [], []
    for bins_path, qc_path in zip(sorted(bins_paths), sorted(qc_paths)):
        with open(qc_path, encoding="utf-8") as fh:
            qc = json.load(fh)
        if qc["usable"]:
            frames.append(read_table(bins_path, EMG_BINS))
        else:
            excluded.append({"study": qc["study"], "participant": qc["participant"], "stage": "emg_preprocess", "reason": qc["exclusion_reason"]})
    if not frames:
        raise UnusableParticipant(f"no usable participant in {len(qc_paths)} QC records ({qc_paths[:1]}...); see the exclusions")
    table = pd.concat(frames, ignore_index=True)
    log.info("study table: %d participants, %d excluded, %d rows", table["participant"].nunique(), len(excluded), len(table))
    write_tsv(pd.DataFrame(excluded, columns=EXCLUSION_COLUMNS), exclusions_path)
    write_table(table, table_path, EMG_BINS, metadata=metadata)
