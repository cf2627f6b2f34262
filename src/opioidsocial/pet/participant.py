"""One participant's PET scans: reference-tissue fits per ROI and condition, with checks.

For each scan (condition) the TAC file is read and checked (``inputs``), every ROI
is fitted with config ``pet.model`` and the ``pet.check_models`` (``models``: SRTM,
SRTM2, MRTM, MRTM2, Logan, ratio; SRTM and Logan by default), and each estimate is
checked against the plausibility limits of config ``pet.plausible``. A failed or
implausible fit keeps its row with ``fit_ok`` False and the reason in
``flag_reason``; the study level leaves such cells out and lists them in the
study's exclusions. The result is one PET_BP table (participant x ROI x condition x
model) and a QC JSON saying what was fitted, what was flagged and why.

Unusable input (``PetInputError``, a DataError) goes through the one exclusion
mechanism (:func:`opioidsocial.failsafe.stage`): it stops the job (``on_bad_data: fail``)
or, with 'exclude', gives an empty table and a QC record that is not usable, with
the reason, so that the study level can record the exclusion.
"""

from __future__ import annotations

import logging

import pandas as pd

from opioidsocial.failsafe import Record, stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import PET_BP, QC_RECORD
from opioidsocial.io.tables import write_json, write_table
from opioidsocial.pet.inputs import PetInputError, Scan, read_scan
from opioidsocial.pet.models import ScanModels, fitted_models

log = logging.getLogger(__name__)


def _row(*, study: str, participant: str, roi: str, condition: str, model: str, bp_nd: float,
         r1: float, k2: float, rmse: float, reasons: list[str]) -> dict:
    return {
        "study": study, "participant": participant, "roi": roi, "condition": condition, "model": model,
        "bp_nd": bp_nd, "r1": r1, "k2": k2, "rmse": rmse,
        "fit_ok": not reasons, "flag_reason": "; ".join(reasons),
    }


def fit_scan(scan: Scan, *, study: str, participant: str, cfg: dict) -> tuple[list[dict], dict]:
    """PET_BP rows (every fitted model for every ROI, ``models``) and QC details of one scan."""
    fits = ScanModels(scan, cfg=cfg)
    common = {"study": study, "participant": participant, "condition": scan.condition}
    rows = [
        _row(**common, roi=e.roi, model=e.model, bp_nd=e.bp_nd, r1=e.r1, k2=e.k2, rmse=e.rmse, reasons=list(e.reasons))
        for model in fitted_models(cfg)
        for e in fits.estimates(model)
    ]
    return rows, fits.qc


def fit_participant(*, study: str, participant: str, tacs: dict[str, str], cfg: dict) -> tuple[pd.DataFrame, dict]:
    """Fit every scan of a participant; ``tacs`` maps condition to TAC file."""
    rows, scans = [], {}
    for condition in cfg["conditions"]:
        scan = read_scan(tacs[condition], study=study, participant=participant, condition=condition, cfg=cfg)
        scan_rows, scans[condition] = fit_scan(scan, study=study, participant=participant, cfg=cfg)
        scans[condition]["file"] = str(tacs[condition])
        scans[condition]["decay_correction"] = scan.decay
        rows += scan_rows
    rois = [sorted(set(r["roi"] for r in rows if r["condition"] == c)) for c in cfg["conditions"]]
    if any(r != rois[0] for r in rois):
        raise PetInputError(
            f"study '{study}', participant '{participant}': the scans have different ROI columns "
            f"({dict(zip(cfg['conditions'], rois, strict=False))}); list the ROIs to use in config pet.rois"
        )
    table = pd.DataFrame(rows, columns=PET_BP.columns)
    flags = table.loc[~table["fit_ok"], ["roi", "condition", "model", "flag_reason"]]
    qc = {
        "study": study,
        "participant": participant,
        "usable": True,
        "exclusion_reason": "",
        "reference_region": cfg["reference_region"],
        "rois": rois[0],
        "conditions": list(cfg["conditions"]),
        "fits": int(len(table)),
        "fits_flagged": int(len(flags)),
        "flags": flags.rename(columns={"flag_reason": "reason"}).to_dict(orient="records"),
        "scans": scans,
    }
    return table, qc


@stage("pet_fit", level="participant", outputs={"bp": contracts.PET_BP, "qc": Record(contracts.QC_RECORD)})
def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, participant: str, metadata: dict) -> None:
    """Fit and write the participant's PET_BP table (``outputs`` bp) and QC record (qc).

    ``inputs`` maps each condition of config pet.conditions to its TAC file.
    """
    pet = cfg["pet"]
    bp, qc = fit_participant(study=study, participant=participant, tacs={c: inputs[c] for c in pet["conditions"]}, cfg=pet)
    log.info("%s/%s: usable %s, %s fit(s) flagged", study, participant, qc["usable"], qc.get("fits_flagged", "all"))
    # QC first: a table is only ever next to the QC record that explains it.
    write_json(outputs["qc"], qc, schema=QC_RECORD)
    write_table(bp, outputs["bp"], PET_BP, metadata=metadata)
