"""One participant's PET scans: SRTM and Logan fits per ROI and condition, with checks.

For each scan (condition) the TAC file is read and checked (``inputs``), every ROI
is fitted with SRTM (``srtm``; Lammertsma & Hume 1996) and with Logan's
reference-region plot (``logan``; Logan et al. 1996), and each estimate is checked
against the plausibility limits of config ``pet.plausible``. A failed or
implausible fit keeps its row with ``fit_ok`` False and the reason in
``flag_reason``; the study level leaves such cells out and lists them in the
study's exclusions. The result is one PET_BP table (participant x ROI x condition x
model) and a QC JSON saying what was fitted, what was flagged and why.

Unusable input (``PetInputError``, a DataError) goes through the one exclusion
mechanism (:mod:`opioidsocial.failsafe`): it stops the job (``on_bad_data: fail``)
or, with 'exclude', gives an empty table and a QC record that is not usable, with
the reason, so that the study level can record the exclusion.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from opioidsocial.failsafe import failsafe
from opioidsocial.io.contracts import PET_BP, QC_RECORD
from opioidsocial.io.tables import write_json, write_table
from opioidsocial.pet.frames import FrameGrid
from opioidsocial.pet.inputs import PetInputError, Scan, read_tacs
from opioidsocial.pet.logan import fit_logan
from opioidsocial.pet.srtm import ReferenceTissue, frame_weights

log = logging.getLogger(__name__)


def _finite(value: float) -> float | None:
    """JSON has no NaN or infinity: a value that is not finite is written as null."""
    return float(value) if np.isfinite(value) else None


def _plausibility(model: str, *, bp_nd: float, r1: float | None, limits: dict) -> list[str]:
    reasons = []
    lo, hi = limits["bp_nd"]
    if not np.isfinite(bp_nd):
        reasons.append(f"{model} BPND is not finite")
    elif not lo <= bp_nd <= hi:
        reasons.append(f"{model} BPND {bp_nd:.3g} outside plausible [{lo:g}, {hi:g}]")
    if r1 is not None:
        lo, hi = limits["r1"]
        if not lo <= r1 <= hi:
            reasons.append(f"{model} R1 {r1:.3g} outside plausible [{lo:g}, {hi:g}]")
    return reasons


def _row(*, study: str, participant: str, roi: str, condition: str, model: str, bp_nd: float,
         r1: float, k2: float, rmse: float, reasons: list[str]) -> dict:
    return {
        "study": study, "participant": participant, "roi": roi, "condition": condition, "model": model,
        "bp_nd": bp_nd, "r1": r1, "k2": k2, "rmse": rmse,
        "fit_ok": not reasons, "flag_reason": "; ".join(reasons),
    }


def fit_scan(scan: Scan, *, study: str, participant: str, cfg: dict) -> tuple[list[dict], dict]:
    """PET_BP rows (SRTM and Logan for every ROI) and QC details of one scan."""
    grid = FrameGrid(scan.start_min, scan.end_min, cfg["grid_s"] / 60.0)
    limits = cfg["plausible"]
    srtm = ReferenceTissue(
        grid=grid,
        reference=scan.reference,
        weights=frame_weights(grid, weighting=cfg["weighting"], half_life_min=cfg["half_life_min"]),
        bounds=cfg["srtm"]["bounds"],
    )
    common = {"study": study, "participant": participant, "condition": scan.condition}
    rows, srtm_qc, k2_refs = [], {}, []
    for roi, tac in scan.rois.items():
        fit = srtm.fit(tac)
        reasons = []
        if not fit.converged:
            reasons.append(f"SRTM did not converge ({fit.message})")
        if fit.at_bound:
            reasons.append(f"SRTM {', '.join(fit.at_bound)} at the bound of pet.srtm.bounds")
        reasons += _plausibility("SRTM", bp_nd=fit.bp_nd, r1=fit.r1, limits=limits)
        if fit.rel_rmse > limits["max_rel_rmse"]:
            reasons.append(f"SRTM relative RMSE {fit.rel_rmse:.3g} > {limits['max_rel_rmse']:g}")
        rows.append(_row(**common, roi=roi, model="SRTM", bp_nd=fit.bp_nd, r1=fit.r1, k2=fit.k2, rmse=fit.rmse, reasons=reasons))
        srtm_qc[roi] = {"rel_rmse": _finite(fit.rel_rmse), "k2_ref": _finite(fit.k2_ref)}
        if not reasons:
            k2_refs.append(fit.k2_ref)

    configured = cfg["logan"]["k2_ref"]
    k2_ref = float(configured) if configured is not None else (float(np.median(k2_refs)) if k2_refs else np.nan)
    logan_qc = {}
    for roi, tac in scan.rois.items():
        fit = fit_logan(
            tac, scan.reference, grid=grid, k2_ref=k2_ref,
            t_star_min=cfg["logan"]["t_star_min"], min_frames=cfg["logan"]["min_frames"],
        )
        if fit.problem:
            reasons = [f"Logan: {fit.problem}"]
        else:
            reasons = _plausibility("Logan", bp_nd=fit.bp_nd, r1=None, limits=limits)
            if fit.r2 < limits["min_logan_r2"]:
                reasons.append(f"Logan plot r2 {fit.r2:.3g} < {limits['min_logan_r2']:g}")
        rows.append(_row(**common, roi=roi, model="Logan", bp_nd=fit.bp_nd, r1=np.nan, k2=np.nan, rmse=np.nan, reasons=reasons))
        logan_qc[roi] = {"r2": _finite(fit.r2), "intercept": _finite(fit.intercept), "n_frames": fit.n_frames}
    qc = {
        "frames": int(grid.mid.size),
        "scan_end_min": float(grid.end[-1]),
        "k2_ref": _finite(k2_ref),
        "k2_ref_source": "config pet.logan.k2_ref" if configured is not None else f"median k2/R1 of {len(k2_refs)} SRTM fit(s)",
        "srtm": srtm_qc,
        "logan": logan_qc,
    }
    return rows, qc


def fit_participant(*, study: str, participant: str, tacs: dict[str, str], cfg: dict) -> tuple[pd.DataFrame, dict]:
    """Fit every scan of a participant; ``tacs`` maps condition to TAC file."""
    rows, scans = [], {}
    for condition in cfg["conditions"]:
        scan = read_tacs(
            tacs[condition], study=study, participant=participant, condition=condition,
            reference_region=cfg["reference_region"], rois=cfg["rois"],
        )
        scan_rows, scans[condition] = fit_scan(scan, study=study, participant=participant, cfg=cfg)
        scans[condition]["file"] = str(tacs[condition])
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


def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, participant: str, metadata: dict) -> None:
    """Fit and write the participant's PET_BP table (``outputs`` bp) and QC record (qc).

    ``inputs`` maps each condition of config pet.conditions to its TAC file.
    """
    pet = cfg["pet"]
    with failsafe(on_bad_data=cfg["on_bad_data"], study=study, participant=participant) as outcome:
        bp, qc = fit_participant(study=study, participant=participant, tacs={c: inputs[c] for c in pet["conditions"]}, cfg=pet)
    if outcome.excluded:
        bp = pd.DataFrame({c: pd.Series(dtype=object) for c in PET_BP.columns})
        qc = {"study": study, "participant": participant, "usable": False, "exclusion_reason": outcome.reason}
    log.info("%s/%s: usable %s, %s fit(s) flagged", study, participant, qc["usable"], qc.get("fits_flagged", "all"))
    # QC first: a table is only ever next to the QC record that explains it.
    write_json(outputs["qc"], qc, schema=QC_RECORD)
    write_table(bp, outputs["bp"], PET_BP, metadata=metadata)
