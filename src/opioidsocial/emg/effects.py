"""Standardised effects of each drug arm for the meta-analysis, from participant means.

Each participant's trials are averaged within every emotion x muscle cell (the unit
the published studies report), and each drug arm is compared with the study's
reference arm in every cell:

* between-subjects studies: Hedges' g for two independent groups (``SMD``): the
  difference of the arm means over the pooled SD with Hedges' (1981) exact
  small-sample correction, variance ``1/n1 + 1/n2 + g^2 / (2 (n1 + n2))``;
* within-subjects studies (every participant in every arm): the standardised mean
  change with change-score standardisation (``SMCC``; Gibbons et al. 1993, Morris &
  DeShon 2002), from the participants measured in both arms and the correlation of
  their cell means.

Both come from :func:`opioidsocial.stats.escalc.escalc`, which reproduces metafor's
``escalc`` (Viechtbauer 2010; values in DESIGN.md). The sign is arm minus reference:
a positive g is a larger EMG response under the drug. ``direction`` is the study's
(+1 agonist, -1 antagonist) for its opioid drug and 0 for any other arm
(amisulpride in Korb et al. 2023), so the meta-regression can tell them apart.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from opioidsocial.emg.trials import participant_cell_means
from opioidsocial.io.contracts import CELL_FACTORS, EFFECT_SAMPLES, EFFECTS
from opioidsocial.stats.escalc import MIN_N, escalc


def outcome_label(*, muscle: str | None, emotion: str | None) -> str:
    """'corrugator to happy faces'; a factor averaged over reads 'all faces' / 'EMG'."""
    return f"{muscle or 'EMG'} to {emotion + ' faces' if emotion else 'all faces'}"


def study_effects(trials: pd.DataFrame, *, study_row: dict, within: tuple[str, ...] = CELL_FACTORS) -> tuple[pd.DataFrame, list[dict]]:
    """One EFFECTS row per non-reference arm x cell of the factors ``within``.

    Cells with fewer participants than the measure needs (2 per arm for SMD, 3
    pairs for SMCC: no SD otherwise) are left out and returned as the second value,
    each with its reason, for the fit record.
    """
    reference = study_row["reference"]
    rows = [{"arm": arm, **cell, **_summaries(drug, ref, design=study_row["design"])}
            for arm, cell, drug, ref in cell_samples(trials, study_row=study_row, within=within)]
    measure = "SMCC" if study_row["design"] == "within" else "SMD"
    table = pd.DataFrame(rows, columns=["arm", *within, "n1", "n2", "m1", "m2", "sd1", "sd2", "r"])
    too_small = (table["n1"] < MIN_N[measure]) | ((measure == "SMD") & (table["n2"].fillna(0) < MIN_N[measure]))
    skipped = [
        {"contrast": f"{r['arm']} - {reference}", "outcome": outcome_label(muscle=r.get("muscle"), emotion=r.get("emotion")),
         "reason": f"{measure} needs at least {MIN_N[measure]} participants per arm; n1 = {r['n1']}, n2 = {r['n2']}"}
        for r in table[too_small].to_dict("records")
    ]
    table = table[~too_small].reset_index(drop=True)
    if table.empty:
        return EFFECTS.empty(), skipped
    labels = [f"{study_row['study']}: {r.arm} - {reference}, {outcome_label(muscle=getattr(r, 'muscle', None), emotion=getattr(r, 'emotion', None))}" for r in table.itertuples()]
    if measure == "SMCC":
        es = escalc("SMCC", ni=table["n1"], m1i=table["m1"], m2i=table["m2"], sd1i=table["sd1"], sd2i=table["sd2"], ri=table["r"], labels=labels)
    else:
        es = escalc("SMD", n1i=table["n1"], n2i=table["n2"], m1i=table["m1"], m2i=table["m2"], sd1i=table["sd1"], sd2i=table["sd2"], labels=labels)
    effects = pd.DataFrame(
        {
            "study": study_row["study"],
            "outcome": [outcome_label(muscle=r.get("muscle"), emotion=r.get("emotion")) for r in table.to_dict("records")],
            "contrast": table["arm"] + " - " + reference,
            "yi": es["yi"],
            "vi": es["vi"],
            "n1": table["n1"].astype("int64"),
            "n2": table["n2"].astype("Int64"),
            "design": study_row["design"],
            "direction": np.where(table["arm"] == study_row["drug"], int(study_row["direction"]), 0).astype("int8"),
            "sample_group": study_row["sample_group"],
            "measure": measure,
            "modality": "emg",
            "drug": table["arm"],
        }
    )
    return effects, skipped


def effect_samples(trials: pd.DataFrame, effects: pd.DataFrame, *, study_row: dict, within: tuple[str, ...] = CELL_FACTORS) -> pd.DataFrame:
    """The EFFECT_SAMPLES of every row of ``effects``: the participant means its arm and reference had in its cell."""
    frames = [
        pd.DataFrame({"outcome": outcome_label(muscle=cell.get("muscle"), emotion=cell.get("emotion")), "contrast": f"{arm} - {study_row['reference']}",
                      "sample": sample, "participant": values.index.astype(str), "mean": values.to_numpy(dtype=float)})
        for arm, cell, drug, ref in cell_samples(trials, study_row=study_row, within=within)
        for sample, values in (("arm", drug), ("reference", ref))
    ]
    samples = pd.concat(frames, ignore_index=True) if frames else EFFECT_SAMPLES.empty()
    # Only the cells that became effects: the join is on the effects' keys.
    return samples.merge(effects[["study", "outcome", "contrast"]], on=["outcome", "contrast"])[EFFECT_SAMPLES.columns]


def cell_samples(trials: pd.DataFrame, *, study_row: dict, within: tuple[str, ...] = CELL_FACTORS) -> Iterator[tuple[str, dict, pd.Series, pd.Series]]:
    """(arm, cell, arm's participant means, reference arm's) per non-reference arm x cell of ``within``.

    These participant cell means are what every effect of the study (and its evidence,
    :mod:`opioidsocial.emg.evidence`) is computed from; for within-subjects designs only
    the participants measured in both arms, in the same order.
    """
    reference = study_row["reference"]
    means = participant_cell_means(trials)
    # A factor not contrasted within is averaged over per participant, with equal weights.
    means = means.groupby(["participant", "arm", *within], sort=True)["mean_uv"].mean().reset_index()
    for arm in sorted(set(means["arm"]) - {reference}):
        for cell, group in means.groupby(list(within), sort=True) if within else [((), means)]:
            drug = group[group["arm"] == arm].set_index("participant")["mean_uv"]
            ref = group[group["arm"] == reference].set_index("participant")["mean_uv"]
            if study_row["design"] == "within":
                both = drug.index.intersection(ref.index)
                drug, ref = drug[both], ref[both]
            yield arm, dict(zip(within, cell if isinstance(cell, tuple) else (cell,))), drug, ref


def _summaries(drug: pd.Series, ref: pd.Series, *, design: str) -> dict:
    """n, means and SDs of the two arms in one cell (paired for within-subjects designs)."""
    if design == "within":
        r = float(np.corrcoef(drug, ref)[0, 1]) if len(drug) > 2 else np.nan
        return {"n1": len(drug), "n2": pd.NA, "m1": drug.mean(), "m2": ref.mean(), "sd1": drug.std(ddof=1), "sd2": ref.std(ddof=1), "r": r}
    return {"n1": len(drug), "n2": len(ref), "m1": drug.mean(), "m2": ref.mean(), "sd1": drug.std(ddof=1), "sd2": ref.std(ddof=1), "r": np.nan}
