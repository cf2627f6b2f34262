"""The evidence of every EMG effect: results/{study}/model/evidence.tsv.

Each row of the study's effects.parquet is tested on the participant cell means its
Hedges' g comes from (:func:`opioidsocial.emg.effects.cell_samples`, from the
model stage's trials.parquet): a two-sample Student t test (pooled variance) of
arm minus reference for between-subjects studies, a paired t test of the
differences for within-subjects studies; then the JZS Bayes factor and the TOST
of :mod:`opioidsocial.stats.evidence` (config section ``evidence``).
"""

from __future__ import annotations

import pandas as pd

from opioidsocial.emg.effects import CELL_FACTORS, cell_samples, outcome_label
from opioidsocial.errors import DataError
from opioidsocial.failsafe import stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import EFFECTS, EVIDENCE, TRIAL_RESPONSES
from opioidsocial.io.tables import read_table, write_tsv
from opioidsocial.stats.evidence import Evidence, evidence_table, paired, two_sample


def emg_tests(trials: pd.DataFrame, effects: pd.DataFrame, *, study_row: dict, within: tuple[str, ...], cfg: dict) -> dict[tuple[str, str], Evidence]:
    """The test of every effect in ``effects``, keyed by (outcome, contrast)."""
    wanted = set(zip(effects["outcome"], effects["contrast"]))
    tests = {}
    for arm, cell, drug, ref in cell_samples(trials, study_row=study_row, within=within):
        key = (outcome_label(muscle=cell.get("muscle"), emotion=cell.get("emotion")), f"{arm} - {study_row['reference']}")
        if key not in wanted:
            continue
        try:
            if study_row["design"] == "within":
                tests[key] = paired(drug - ref, rscale=cfg["prior_scale"], sesoi=cfg["sesoi"])
            else:
                tests[key] = two_sample(drug, ref, rscale=cfg["prior_scale"], sesoi=cfg["sesoi"])
        except DataError as err:
            raise DataError(f"{key[1]}, {key[0]}: {err.problem}", study=study_row["study"], fix=err.fix, level="study") from err
    return tests


@stage("evidence_emg", level="study", outputs={"evidence": contracts.EVIDENCE})
def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, row: dict) -> None:
    """The evidence_emg job: ``inputs`` trials and effects of one EMG study -> ``outputs`` evidence."""
    evidence = cfg["evidence"]
    responses = read_table(inputs["trials"], TRIAL_RESPONSES)
    rows = read_table(inputs["effects"], EFFECTS)
    # The same cells as the model stage's effects (emg.study.run).
    within = tuple(f for f in CELL_FACTORS if f in cfg["models"]["contrast_within"])
    tests = emg_tests(responses, rows, study_row=row, within=within, cfg=evidence)
    write_tsv(evidence_table(rows, tests, alpha=evidence["alpha"]), outputs["evidence"], EVIDENCE)
