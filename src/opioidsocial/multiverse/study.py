"""The multiverse study job: every planned effect in every universe, the joint tests and what each choice explains.

From the participants' envelope bins (:mod:`opioidsocial.multiverse.participant`) every
universe's cell means are computed (:mod:`opioidsocial.multiverse.universes`), and each
planned contrast (every arm minus the reference, in every cell of
``models.contrast_within``, other factors averaged with equal weights) is estimated
in every universe with the estimator of ``model/effects.parquet``
(:mod:`opioidsocial.emg.effects`: Hedges' g between, the standardised mean change
within, by :func:`opioidsocial.stats.escalc.escalc`), with its t test (Student's
between, paired within). So the universe of today's settings has today's effects.
The joint tests and their permutation null are :mod:`opioidsocial.multiverse.joint`;
``choices.tsv`` gives, per contrast x outcome and grid key, the share of the
variance of the effects across universes that the key's main effect explains (the
between-value sum of squares over the total).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from opioidsocial.emg.effects import outcome_label
from opioidsocial.emg.study import sheet_spelling
from opioidsocial.failsafe import stage
from opioidsocial.io.contracts import CELL_FACTORS, MULTIVERSE_CELLS, MULTIVERSE_CHOICES, MULTIVERSE_ENVELOPES, MULTIVERSE_JOINT, MULTIVERSE_SPECIFICATIONS
from opioidsocial.io.tables import read_table, write_table, write_tsv
from opioidsocial.multiverse import joint
from opioidsocial.multiverse.grid import FILTER_KEYS, KEYS, MAX_VALUES, NOT_APPLICABLE, label, universes
from opioidsocial.multiverse.universes import universe_cells
from opioidsocial.stats.escalc import MIN_N, escalc

log = logging.getLogger(__name__)


def grid_columns(present: pd.Series, grid: dict) -> pd.DataFrame:
    """The universes in ``present`` with a column per grid key (labels); keys that do not apply to the study are n/a.

    A filter key (:data:`~opioidsocial.multiverse.grid.FILTER_KEYS`) with several values in the grid
    but only its first in the study's universes did not apply: its recordings are envelopes.
    """
    # the keys the grid does not list are one value each, never a column: their emg value is not needed
    table = universes(grid, dict.fromkeys(KEYS))
    table = table[table["universe"].isin(present)].reset_index(drop=True)
    listed = [k for k in KEYS if k in grid]
    out = table[["universe"]].copy()
    for key in listed:
        digit = (table["universe"] // MAX_VALUES ** (len(KEYS) - 1 - KEYS.index(key))) % MAX_VALUES
        idle = key in FILTER_KEYS and len(grid[key]) > 1 and (digit == 0).all()
        out[key] = NOT_APPLICABLE if idle else table[key].map(label)
    return out


def contrast_matrices(means: pd.DataFrame, *, arm: str, reference: str, design: str, cell_columns: list[str]):
    """(labels, matrix, columns, (drug values, reference values)) of one contrast.

    Between: ``labels`` 1 for the arm's participants and 0 for the reference's, the matrix
    their values (participants x cells and universes). Within: ``labels`` None, the matrix
    the paired differences arm minus reference of the participants measured in both.
    """
    wide = means[means["arm"].isin([arm, reference])].pivot_table(index=["participant", "arm"], columns=[*cell_columns, "universe"],
                                                                  values="value", aggfunc="first", sort=True)
    columns = wide.columns
    if design == "within":
        drug, ref = wide.xs(arm, level="arm"), wide.xs(reference, level="arm")
        both = drug.index.intersection(ref.index)
        return None, drug.loc[both].to_numpy() - ref.loc[both].to_numpy(), columns, (drug.loc[both].to_numpy(), ref.loc[both].to_numpy())
    labels = (wide.index.get_level_values("arm") == arm).astype(float)
    y = wide.to_numpy()
    return labels, y, columns, (y[labels == 1], y[labels == 0])


def observed_effects(drug: np.ndarray, ref: np.ndarray, *, design: str) -> pd.DataFrame:
    """n1, n2, yi, vi per column from the two arms' participant values, as :func:`opioidsocial.emg.effects.study_effects` computes them."""
    if design == "within":
        pair = np.isfinite(drug) & np.isfinite(ref)
        drug, ref = np.where(pair, drug, np.nan), np.where(pair, ref, np.nan)
    n1, n2 = np.isfinite(drug).sum(axis=0), np.isfinite(ref).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m1, m2 = _nan(np.nanmean, drug), _nan(np.nanmean, ref)
        sd1, sd2 = _nan(np.nanstd, drug, ddof=1), _nan(np.nanstd, ref, ddof=1)
    measure = "SMCC" if design == "within" else "SMD"
    ok = (n1 >= MIN_N[measure]) & ((n2 >= MIN_N[measure]) | (measure == "SMCC"))
    frame = pd.DataFrame({"n1": n1, "n2": n2 if design == "between" else pd.NA, "yi": np.nan, "vi": np.nan})
    if ok.any():
        if measure == "SMCC":
            r = np.array([np.corrcoef(drug[pair[:, c], c], ref[pair[:, c], c])[0, 1] for c in np.flatnonzero(ok)])
            es = escalc("SMCC", ni=n1[ok], m1i=m1[ok], m2i=m2[ok], sd1i=sd1[ok], sd2i=sd2[ok], ri=r)
        else:
            es = escalc("SMD", n1i=n1[ok], n2i=n2[ok], m1i=m1[ok], m2i=m2[ok], sd1i=sd1[ok], sd2i=sd2[ok])
        frame.loc[ok, "yi"], frame.loc[ok, "vi"] = es["yi"].to_numpy(), es["vi"].to_numpy()
    return frame


def _nan(reduce, x: np.ndarray, **kwargs) -> np.ndarray:
    """A nan-reduction over participants whose all-NaN columns give NaN without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return reduce(x, axis=0, **kwargs)


def study_multiverse(cells: pd.DataFrame, *, study_row: dict, grid: dict, within: list[str], permutations: int, seed: int,
                     alpha: float) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """specifications, joint tests and choices of one study's MULTIVERSE_CELLS (:mod:`opioidsocial.io.contracts`)."""
    study, reference, design = study_row["study"], study_row["reference"], study_row["design"]
    cell_columns = [f for f in CELL_FACTORS if f in within]
    means = cells.groupby(["universe", "participant", "arm", *cell_columns], sort=True)["value"].mean().reset_index()
    keys = grid_columns(means["universe"].drop_duplicates(), grid)
    specs, joints, choices = [], [], []
    for k, arm in enumerate(sorted(set(means["arm"]) - {reference})):
        labels, y, columns, (drug, ref) = contrast_matrices(means, arm=arm, reference=reference, design=design, cell_columns=cell_columns)
        contrast = f"{arm} - {reference}"
        effects = observed_effects(drug, ref, design=design)
        observed = joint.within(np.ones(len(y)), y) if design == "within" else joint.between(labels, y)
        rng = np.random.default_rng([seed, k])
        relabelled = joint.relabellings(np.ones(len(y)) if labels is None else labels, design=design, permutations=permutations, rng=rng)
        null = joint.within(relabelled, y) if design == "within" else joint.between(relabelled, y)
        frame = columns.to_frame(index=False).assign(contrast=contrast, t=observed.t, df=observed.df, **effects)
        frame["p"] = 2 * stats.t.sf(np.abs(frame["t"]), frame["df"])
        frame["outcome"] = [outcome_label(muscle=c.get("muscle"), emotion=c.get("emotion")) for c in frame[cell_columns].to_dict("records")] \
            if cell_columns else outcome_label(muscle=None, emotion=None)
        frame = frame[np.isfinite(frame["yi"])]
        for outcome, part in frame.groupby("outcome", sort=True):
            cols = part.index.to_numpy()
            test = joint.joint_test(_columns(observed, cols), _columns(null, cols), alpha=alpha)
            joints.append({"study": study, "contrast": contrast, "outcome": outcome, **test.__dict__, "permutations": permutations, "seed": seed})
            choices += _choices(part.merge(keys, on="universe"), [c for c in keys.columns if c != "universe"], study=study, contrast=contrast,
                                outcome=outcome)
        specs.append(frame)
    spec = pd.concat(specs, ignore_index=True).merge(keys, on="universe")
    spec.insert(0, "study", study)
    spec["df"] = spec["df"].astype(float)
    spec = spec[MULTIVERSE_SPECIFICATIONS.expected(spec.columns)].sort_values(["contrast", "outcome", "universe"], kind="stable")
    return (spec.reset_index(drop=True), pd.DataFrame(joints, columns=MULTIVERSE_JOINT.columns),
            pd.DataFrame(choices, columns=MULTIVERSE_CHOICES.columns))


def _columns(curve: joint.Curve, cols: np.ndarray) -> joint.Curve:
    return joint.Curve(*(None if a is None else a[..., cols] for a in (curve.n1, curve.n2, curve.g, curve.t, curve.df)))


def _choices(part: pd.DataFrame, keys: list[str], *, study: str, contrast: str, outcome: str) -> list[dict]:
    total = ((part["yi"] - part["yi"].mean()) ** 2).sum()
    rows = []
    for key in keys:
        groups = part.groupby(key)["yi"]
        between_ss = (groups.size() * (groups.mean() - part["yi"].mean()) ** 2).sum()
        rows.append({"study": study, "contrast": contrast, "outcome": outcome, "choice": key, "n_values": int(groups.ngroups),
                     "variance_explained": float(between_ss / total) if total > 0 else 0.0})
    return rows


@stage("multiverse_study", level="study", outputs={"cells": MULTIVERSE_CELLS, "specifications": MULTIVERSE_SPECIFICATIONS,
                                                 "joint": MULTIVERSE_JOINT, "choices": MULTIVERSE_CHOICES})
def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, row: dict, metadata: dict) -> None:
    """Compute every universe's cell means from the participants' MULTIVERSE_ENVELOPES (``inputs`` envelopes, one
    file per participant and high-pass value) into ``outputs`` cells, and write the specifications, joint tests
    and choices of the study (``row``: its study-sheet row)."""
    multiverse = cfg["multiverse"]
    by_participant = {}
    for path in sorted(inputs["envelopes"]):
        table = read_table(path, MULTIVERSE_ENVELOPES)
        if not table.empty:
            by_participant.setdefault(table["participant"].iloc[0], []).append(table)
    cells = [universe_cells(pd.concat(tables, ignore_index=True), emg=cfg["emg"], grid=multiverse["grid"])
             for _, tables in sorted(by_participant.items())]
    cells = pd.concat(cells, ignore_index=True) if cells else MULTIVERSE_CELLS.empty()
    log.info("%s: %d participants, %d universe x cell values", row["study"], len(by_participant), len(cells))
    cells = sheet_spelling(cells, study_row=row, source=str(outputs["cells"]))
    spec, joints, choices = study_multiverse(cells, study_row=row, grid=multiverse["grid"], within=list(cfg["models"]["contrast_within"]),
                                             permutations=multiverse["permutations"], seed=multiverse["seed"], alpha=multiverse["alpha"])
    log.info("%s: %d universes x effects, %d joint tests", row["study"], len(spec), len(joints))
    write_tsv(spec, outputs["specifications"], MULTIVERSE_SPECIFICATIONS, float_format="%.17g")
    write_tsv(joints, outputs["joint"], MULTIVERSE_JOINT)
    write_tsv(choices, outputs["choices"], MULTIVERSE_CHOICES)
    write_table(cells, outputs["cells"], MULTIVERSE_CELLS, metadata=metadata)
