"""The evidence of every PET effect: results/{study}/model/evidence.tsv.

The paired contrasts are tested, as in :func:`opioidsocial.pet.paired.paired_tests`,
on each participant's MOR activation (BPND(versus) - BPND(condition)) of the primary
model in model/pet_bp.parquet (paired t test, JZS Bayes factor, TOST against
+-sesoi x SD of the changes); the trait correlations with the JZS correlation Bayes
factor (BayesFactor's correlationBF, prior width ``evidence.correlation_prior_scale``)
and no equivalence test, since ``sesoi`` is on the d scale, not on r.
"""

from __future__ import annotations

import pandas as pd

from opioidsocial.config import SCHEMA_DIR
from opioidsocial.errors import DataError
from opioidsocial.failsafe import stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import EFFECTS, EVIDENCE, PET_BP
from opioidsocial.io.tables import read_table, write_tsv
from opioidsocial.pet.groups import ALL, correlation_outcome, difference_labels
from opioidsocial.pet.inputs import primary_model
from opioidsocial.pet.paired import activation, contrasts
from opioidsocial.pet.study import traits_of
from opioidsocial.sheets import load_participants
from opioidsocial.stats.evidence import Evidence, correlation, evidence_table, paired, two_sample


def pet_tests(bp: pd.DataFrame, traits: pd.DataFrame, effects: pd.DataFrame, *, study_row: dict, conditions: list[str],
              cfg: dict, groups: pd.Series | None = None) -> dict[tuple[str, str], Evidence]:
    """The test of every effect in ``effects`` (``bp``: the primary model's rows), keyed by (outcome, contrast).

    The same cells as :func:`opioidsocial.pet.study.effects_table`: paired changes, trait
    correlations (whole sample and, with ``groups``, within each group) and each
    group's difference from the reference group in the change (two-sample t test).
    """
    wanted = set(zip(effects["outcome"], effects["contrast"]))
    reference_group = study_row.get("reference_group") if groups is not None else None
    samples = {ALL: groups.index if groups is not None else traits.index}
    samples.update({g: groups.index[groups == g] for g in sorted(set(groups))} if groups is not None else {})
    tests = {}
    for pair in contrasts(conditions, study_row["reference"]):
        change = activation(bp, pair)
        cells = {(pair.outcome(roi), pair.label): (change[roi], None) for roi in change.columns}
        if pair.versus == pair.reference:
            for group, people in samples.items():
                inside = change[change.index.isin(people)] if group != ALL else change
                cells.update({(correlation_outcome(pair, roi, trait, group), pair.label): (inside[roi], traits[trait])
                              for roi in change.columns for trait in traits.columns})
        for group in sorted(set(groups) - {reference_group}) if reference_group else []:
            labels = groups.reindex(change.index)
            cells.update({difference_labels(pair, roi, group, reference_group): (change.loc[labels == group, roi],
                          change.loc[labels == reference_group, roi]) for roi in change.columns})
        for key, (values, other) in cells.items():
            if key not in wanted:
                continue
            try:
                if other is None:
                    tests[key] = paired(values.dropna(), rscale=cfg["prior_scale"], sesoi=cfg["sesoi"])
                elif key[1] != pair.label:
                    tests[key] = two_sample(values.dropna(), other.dropna(), rscale=cfg["prior_scale"], sesoi=cfg["sesoi"])
                else:
                    both = pd.concat([values, other], axis=1, join="inner").dropna()
                    tests[key] = correlation(both.iloc[:, 0], both.iloc[:, 1], kappa=cfg["correlation_prior_scale"])
            except DataError as err:
                raise DataError(f"{key[1]}, {key[0]}: {err.problem}", study=study_row["study"], fix=err.fix, level="study") from err
    return tests


@stage("evidence_pet", level="study", outputs={"evidence": contracts.EVIDENCE})
def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, row: dict) -> None:
    """The evidence_pet job: ``inputs`` bp (the study's BPND table), effects and participants -> ``outputs`` evidence.

    The tests use the study's primary estimate: config pet.model, or 'given' for BPND tables.
    """
    pet, evidence = cfg["pet"], cfg["evidence"]
    primary = primary_model(row["input"], pet["model"])
    fits = read_table(inputs["bp"], PET_BP)
    rows = read_table(inputs["effects"], EFFECTS)
    sheet = load_participants(row, schemas=SCHEMA_DIR, path=inputs["participants"])
    groups = sheet.set_index("participant")["group"] if row.get("reference_group") else None
    tests = pet_tests(fits[fits["model"] == primary], traits_of(sheet, pet["traits"], study=study), rows, study_row=row,
                      conditions=pet["conditions"], cfg=evidence, groups=groups)
    write_tsv(evidence_table(rows, tests, alpha=evidence["alpha"]), outputs["evidence"], EVIDENCE)
