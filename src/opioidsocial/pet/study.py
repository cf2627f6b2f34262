"""The PET study level (fan-in): one BPND table, paired tests, trait correlations, effects.

TAC studies gather the participants' PET_BP tables (SRTM and Logan estimates,
``participant``); BPND-table studies read the table (``inputs.read_bpnd``, model
'given'). For every model the paired tests and trait correlations of ``paired``
are computed and written as TSV; the estimate chosen by config ``pet.model``
(or 'given') becomes the study's ``effects.parquet`` (EFFECTS contract: SMCC for
the paired contrasts, ZCOR for the trait correlations, SMD for the group
differences of patient-control studies (``groups``), MOR activation positive) and
the figures. Cells whose fit was flagged and participants whose input was
unusable are listed in the study's exclusions (same columns as the EMG stage),
and the effective n of every test is in paired.tsv.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from opioidsocial.config import SCHEMA_DIR
from opioidsocial.failsafe import exclusion, exclusion_table, qc_exclusions, stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import EFFECTS, EXCLUSIONS, PET_BP, PET_CORRELATIONS, PET_GROUPS, PET_PAIRED, QC_RECORD, FigureFile
from opioidsocial.io.figures import save_figure
from opioidsocial.io.tables import read_json, read_table, write_table, write_tsv
from opioidsocial.pet.groups import ALL, GROUP_COLUMNS, correlation_outcome, correlations_by_group, difference_labels, group_differences
from opioidsocial.pet.inputs import GIVEN, primary_model, read_bpnd
from opioidsocial.pet.paired import Contrast, contrasts, paired_tests
from opioidsocial.pet.plots import correlation_figure, paired_figure
from opioidsocial.pet.traits import traits_of
from opioidsocial.sheets import load_participants

log = logging.getLogger(__name__)

def gather_fits(*, bp_paths: list[str], qc_paths: list[str]) -> tuple[pd.DataFrame, list[dict]]:
    """All participants' PET_BP rows, and the participants excluded before fitting."""
    excluded = [row for path in sorted(qc_paths) for row in qc_exclusions(read_json(path, QC_RECORD), stage="pet_fit")]
    tables = [read_table(path, PET_BP) for path in sorted(bp_paths)]
    bp = pd.concat(tables, ignore_index=True) if tables else PET_BP.empty()
    return bp, excluded


def given_table(*, study: str, bpnd: str, participants: list[str], cfg: dict) -> pd.DataFrame:
    """A BPND-table study as PET_BP rows with model 'given'."""
    cells = read_bpnd(
        bpnd, study=study, participants=participants, conditions=cfg["conditions"], rois=cfg["rois"],
        hemispheres=cfg["bpnd"]["hemispheres"],
    )
    return cells.assign(study=study, model=GIVEN, r1=np.nan, k2=np.nan, rmse=np.nan, fit_ok=cells["flag_reason"] == "")[PET_BP.columns]


def effects_table(paired: pd.DataFrame, correlations: pd.DataFrame, *, study: str, row: dict, pairs: list[Contrast],
                  groups: pd.DataFrame | None = None) -> pd.DataFrame:
    """The primary model's contrasts (SMCC), trait correlations (ZCOR) and group differences (SMD) as EFFECTS.

    Correlations within a group name the group in the outcome; group differences
    ('<group> - <reference group>') are between-group effects with direction 0:
    they compare people, they do not manipulate the opioid system (studies.schema.yaml).
    """
    by_label = {p.label: p for p in pairs}
    within = {"n2": pd.NA, "design": row["design"], "direction": row["direction"]}
    rows = []
    for r in paired.dropna(subset=["dz", "vi"]).itertuples():
        rows.append({"outcome": by_label[r.contrast].outcome(r.roi), "contrast": r.contrast, "yi": r.dz, "vi": r.vi, "n1": r.n, "measure": "SMCC", **within})
    for r in correlations.dropna(subset=["z", "vi"]).itertuples():
        # Correlations without a group column (``paired.trait_correlations``) are the whole sample's.
        outcome = correlation_outcome(by_label[r.contrast], r.roi, r.trait, getattr(r, "group", ALL))
        rows.append({"outcome": outcome, "contrast": r.contrast, "yi": r.z, "vi": r.vi, "n1": r.n, "measure": "ZCOR", **within})
    for r in (groups if groups is not None else pd.DataFrame(columns=GROUP_COLUMNS)).dropna(subset=["g", "vi"]).itertuples():
        outcome, contrast = difference_labels(by_label[r.contrast], r.roi, r.group, r.reference_group)
        rows.append({"outcome": outcome, "contrast": contrast, "yi": r.g, "vi": r.vi, "n1": r.n_group, "n2": r.n_reference, "measure": "SMD", "design": "between", "direction": 0})
    effects = pd.DataFrame(rows, columns=["outcome", "contrast", "yi", "vi", "n1", "n2", "measure", "design", "direction"])
    return effects.assign(
        study=study, n1=effects["n1"].astype("int64"), n2=pd.array(effects["n2"], dtype="Int64"),
        direction=effects["direction"].astype("int8"), sample_group=row["sample_group"], modality="pet", drug=row["drug"],
    )[EFFECTS.columns]


@stage("pet_study", level="study", outputs={"effects": contracts.EFFECTS, "bp": contracts.PET_BP, "paired": contracts.PET_PAIRED, "correlations": contracts.PET_CORRELATIONS,
        "groups": contracts.PET_GROUPS, "exclusions": contracts.EXCLUSIONS, "paired_png": FigureFile("png"), "paired_svg": FigureFile("svg"),
        "correlations_png": FigureFile("png"), "correlations_svg": FigureFile("svg")})
def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, row: dict, metadata: dict) -> None:
    """Gather, test, correlate and write every study-level output of a PET study.

    ``inputs``: TAC studies give bp and qc (one per participant), BPND-table studies
    bpnd (the one table). ``outputs`` maps bp, paired, correlations, groups, effects,
    exclusions, paired_png, paired_svg, correlations_png and correlations_svg to
    their paths; groups is the patient-control table (``groups``), empty unless the
    study declares a reference_group in studies.tsv.
    """
    cfg = cfg["pet"]
    bp_paths, qc_paths, bpnd_paths = inputs["bp"], inputs["qc"], inputs["bpnd"]
    reference = row["reference"]
    sheet = load_participants(row, schemas=SCHEMA_DIR, path=inputs["participants"])
    primary = primary_model(row["input"], cfg["model"])
    if row["input"] == "bpnd":
        bp, excluded = given_table(study=study, bpnd=bpnd_paths[0], participants=sheet["participant"].tolist(), cfg=cfg), []
        stage = "bpnd"
    else:
        bp, excluded = gather_fits(bp_paths=bp_paths, qc_paths=qc_paths)
        stage = "pet_fit"
    traits = traits_of(sheet, cfg["traits"], study=study)
    pairs = contrasts(cfg["conditions"], reference)
    groups = sheet.set_index("participant")["group"] if row.get("reference_group") else None
    stats = {"ci_level": cfg["ci_level"], "fdr_method": cfg["fdr_method"]}

    paired, correlations, differences = [], [], []
    for model in sorted(bp["model"].unique()):
        rows = bp[bp["model"] == model]
        paired.append(paired_tests(rows, pairs=pairs, **stats).assign(model=model))
        correlations.append(correlations_by_group(rows, traits, groups, pairs=pairs, **stats).assign(model=model))
        if groups is not None:
            differences.append(group_differences(rows, groups, reference_group=row["reference_group"], pairs=pairs, **stats).assign(model=model))
    paired = _sorted(pd.concat(paired, ignore_index=True), ["model", "contrast", "roi"])
    correlations = _sorted(pd.concat(correlations, ignore_index=True), ["model", "group", "contrast", "trait", "roi"])
    differences = _sorted(pd.concat(differences, ignore_index=True) if differences else pd.DataFrame(columns=[*GROUP_COLUMNS, "model"]),
                          ["model", "contrast", "group", "roi"])
    primary_paired = paired[paired["model"] == primary]
    primary_corr = correlations[correlations["model"] == primary]
    effects = effects_table(primary_paired, primary_corr, study=study, row=row, pairs=pairs,
                            groups=differences[differences["model"] == primary])

    flagged = bp[(bp["model"] == primary) & ~bp["fit_ok"].astype(bool)]
    excluded += [
        exclusion(study=study, participant=r.participant, level="roi", stage=stage, reason=f"{r.model} {r.roi} {r.condition}: {r.flag_reason}")
        for r in flagged.itertuples()
    ]
    exclusions = exclusion_table(excluded)
    log.info("%s: %d participants, %d BPND rows, %d exclusions, %d effects", study, bp["participant"].nunique(), len(bp), len(exclusions), len(effects))

    title = f"{study}: {primary}"
    primary_bp = bp[bp["model"] == primary]
    save_figure(paired_figure(primary_bp, primary_paired, conditions=cfg["conditions"], pairs=pairs, ci_level=cfg["ci_level"], title=title),
                outputs["paired_png"], outputs["paired_svg"])
    save_figure(correlation_figure(primary_corr[primary_corr["group"] == ALL], title=title), outputs["correlations_png"], outputs["correlations_svg"])
    write_tsv(paired, outputs["paired"], PET_PAIRED)
    write_tsv(correlations, outputs["correlations"], PET_CORRELATIONS)
    write_tsv(differences, outputs["groups"], PET_GROUPS)
    write_tsv(exclusions, outputs["exclusions"], EXCLUSIONS)
    write_table(bp, outputs["bp"], PET_BP, metadata=metadata)
    write_table(effects, outputs["effects"], EFFECTS, metadata=metadata)


def _sorted(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    first = [k for k in keys if k in df.columns]
    return df[[*first, *[c for c in df.columns if c not in first]]].sort_values(first, kind="stable").reset_index(drop=True)
