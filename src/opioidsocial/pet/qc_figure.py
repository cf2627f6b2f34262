"""A participant's PET quality-control figure, for the report: each scan's TAC fits per
ROI with their residuals (or the reason the participant was excluded)."""

from __future__ import annotations

from opioidsocial.failsafe import stage
from opioidsocial.io.contracts import PET_BP, QC_RECORD, FigureFile
from opioidsocial.io.figures import save_figure
from opioidsocial.io.tables import read_json, read_table
from opioidsocial.pet.inputs import read_scan
from opioidsocial.pet.plots import CURVE_MODELS, excluded_figure, tac_fit_figure


@stage("pet_qc_figure", level="participant", outputs={"png": FigureFile("png")})
def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, participant: str) -> None:
    """The QC figure job: ``inputs`` are the TAC files by condition, the QC record (qc) and the fits (bp)."""
    pet = cfg["pet"]
    qc_figure(study=study, participant=participant, tacs={c: inputs[c] for c in pet["conditions"]}, qc=read_json(inputs["qc"], QC_RECORD),
              bp_path=inputs["bp"], cfg=pet, png_path=outputs["png"])


def qc_figure(*, study: str, participant: str, tacs: dict[str, str], qc: dict, bp_path: str, cfg: dict, png_path: str) -> None:
    """Draw and save one participant's TAC-fit figure (or the reason it was excluded)."""
    flagged = qc.get("fits_flagged", 0)
    # The curve drawn is the SRTM-form model of the primary estimate (SRTM, SRTM2, MRTM
    # and MRTM2 all give R1, k2 and BPND); Logan and the ratio have none, so SRTM's.
    curves = cfg["model"] if cfg["model"] in CURVE_MODELS else "SRTM"
    title = f"study '{study}', participant '{participant}': {curves} fits, {flagged} of {qc.get('fits', 0)} fit(s) flagged"
    if not qc["usable"]:
        save_figure(excluded_figure(title=f"study '{study}', participant '{participant}'", reason=qc["exclusion_reason"]), png_path)
        return
    scans = {c: read_scan(tacs[c], study=study, participant=participant, condition=c, cfg=cfg) for c in cfg["conditions"]}
    bp = read_table(bp_path, PET_BP)
    save_figure(tac_fit_figure(scans, bp[bp["model"] == curves], cfg=cfg, title=title), png_path)
