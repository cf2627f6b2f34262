"""The evidence of every EMG effect: results/{study}/model/evidence.tsv.

Each row of the study's effects.parquet is tested on the participant cell means its
Hedges' g comes from, which the model stage writes beside it
(``model/effect_samples.parquet``, :func:`opioidsocial.emg.effects.effect_samples`),
joined on the effects' keys: a two-sample Student t test (pooled variance) of arm
minus reference for between-subjects studies, a paired t test of the differences
for within-subjects studies; then the JZS Bayes factor and the TOST of
:mod:`opioidsocial.stats.evidence` (config section ``evidence``).
"""

from __future__ import annotations

import pandas as pd

from opioidsocial.errors import DataError
from opioidsocial.failsafe import stage
from opioidsocial.io.contracts import EFFECT_SAMPLES, EFFECTS, EVIDENCE
from opioidsocial.io.tables import read_table, write_tsv
from opioidsocial.stats.evidence import Evidence, evidence_table, paired, two_sample


def emg_tests(samples: pd.DataFrame, effects: pd.DataFrame, *, study_row: dict, cfg: dict) -> dict[tuple[str, str], Evidence]:
    """The test of every effect in ``effects`` on its EFFECT_SAMPLES rows, keyed by (outcome, contrast).

    An effect without samples gets no test (:func:`~opioidsocial.stats.evidence.evidence_table` names it).
    """
    cells = dict(iter(samples.groupby(["outcome", "contrast"], sort=False)))
    tests = {}
    for key in zip(effects["outcome"], effects["contrast"]):
        if key not in cells:
            continue
        cell = cells[key].set_index("participant")
        drug, ref = cell.loc[cell["sample"] == "arm", "mean"], cell.loc[cell["sample"] == "reference", "mean"]
        try:
            if study_row["design"] == "within":
                tests[key] = paired(drug - ref, rscale=cfg["prior_scale"], sesoi=cfg["sesoi"])
            else:
                tests[key] = two_sample(drug, ref, rscale=cfg["prior_scale"], sesoi=cfg["sesoi"])
        except DataError as err:
            raise DataError(f"{key[1]}, {key[0]}: {err.problem}", study=study_row["study"], fix=err.fix, level="study") from err
    return tests


@stage("evidence_emg", level="study", outputs={"evidence": EVIDENCE})
def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, row: dict) -> None:
    """The evidence_emg job: ``inputs`` samples and effects of one EMG study -> ``outputs`` evidence."""
    evidence = cfg["evidence"]
    rows = read_table(inputs["effects"], EFFECTS)
    tests = emg_tests(read_table(inputs["samples"], EFFECT_SAMPLES), rows, study_row=row, cfg=evidence)
    write_tsv(evidence_table(rows, tests, alpha=evidence["alpha"]), outputs["evidence"], EVIDENCE)
