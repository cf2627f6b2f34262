"""What the design tables assume the true effect of each family x model to be.

``pooled``
    the primary estimator's pooled estimate (the first of ``meta.methods`` with the
    first of ``meta.tests``) of pooled.tsv;
``ci_bound``
    the bound of its confidence interval nearer to zero on the estimate's side, or 0
    when the interval holds 0: a cautious guess that the data do not rule out;
``3PSM``, ``pet-peese``
    the bias-adjusted estimates of small_study.tsv (three-parameter selection model,
    PET-PEESE), where that table has them; missing rows are skipped.
"""

from __future__ import annotations

import math

import pandas as pd

from opioidsocial.io.contracts import DESIGN_ASSUMPTIONS, META_EFFECTS, META_POOLED, META_SMALL_STUDY
from opioidsocial.io.tables import read_table, read_tsv
from opioidsocial.meta.pooled import model_subsets

#: small_study.tsv's ``analysis`` value of each bias-adjusted assumption.
ADJUSTED = ("3PSM", "pet-peese")


def primary_rows(pooled: pd.DataFrame, *, method: str, test: str) -> pd.DataFrame:
    """The pooled rows of the primary estimator and test (family x model that were pooled)."""
    keep = (pooled["method"] == method) & (pooled["test"] == test) & pooled["estimate"].notna()
    return pooled[keep].sort_values(["family", "model"]).reset_index(drop=True)


def ci_bound(estimate: float, lb: float, ub: float) -> float:
    """The CI bound nearer to zero on the estimate's side; 0 when the CI holds 0."""
    if lb <= 0 <= ub:
        return 0.0
    return lb if estimate > 0 else ub


def assumed_effects(pooled: pd.DataFrame, small_study: pd.DataFrame | None, *, method: str, test: str) -> pd.DataFrame:
    """family, model, assumption, assumed_effect: every assumption each pooled family x model supports."""
    rows = []
    for row in primary_rows(pooled, method=method, test=test).itertuples():
        rows.append({"family": row.family, "model": row.model, "assumption": "pooled", "assumed_effect": float(row.estimate)})
        rows.append({"family": row.family, "model": row.model, "assumption": "ci_bound",
                     "assumed_effect": ci_bound(float(row.estimate), float(row.ci_lb), float(row.ci_ub))})
        for analysis in ADJUSTED:
            adjusted = _adjusted(small_study, family=row.family, model=row.model, analysis=analysis, method=method)
            if adjusted is not None:
                rows.append({"family": row.family, "model": row.model, "assumption": analysis, "assumed_effect": adjusted})
    table = pd.DataFrame(rows, columns=["family", "model", "assumption", "assumed_effect"])
    order = {a: i for i, a in enumerate(DESIGN_ASSUMPTIONS)}
    return table.sort_values(["family", "model", "assumption"], key=lambda c: c.map(order) if c.name == "assumption" else c,
                             kind="stable").reset_index(drop=True)


def _adjusted(small_study: pd.DataFrame | None, *, family: str, model: str, analysis: str, method: str) -> float | None:
    """The adjusted estimate of ``analysis``, preferring the primary estimator's row; None when absent."""
    if small_study is None or small_study.empty:
        return None
    rows = small_study[(small_study["family"] == family) & (small_study["model"] == model) & (small_study["analysis"] == analysis)]
    rows = rows[pd.to_numeric(rows["estimate"], errors="coerce").notna()]
    if rows.empty:
        return None
    primary = rows[rows["method"] == method]
    value = float((primary if len(primary) else rows)["estimate"].iloc[0])
    return value if math.isfinite(value) else None


def model_effects(effects: pd.DataFrame, *, family: str, model: str) -> pd.DataFrame:
    """The study effects that a family x model pools (as meta.pooled selects them)."""
    for fam, mod, rows in model_subsets(effects[effects["family"] == family]):
        if (fam, mod) == (family, model):
            return rows
    return effects.iloc[0:0]


def read_inputs(inputs: dict, cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The harmonised effects and every assumed effect (the design stage's shared inputs)."""
    meta = cfg["meta"]
    pooled = read_tsv(inputs["pooled"], META_POOLED)
    small = read_tsv(inputs["small_study"], META_SMALL_STUDY) if inputs.get("small_study") else None
    effects = read_table(inputs["effects"], META_EFFECTS)
    return effects, assumed_effects(pooled, small, method=meta["methods"][0], test=meta["tests"][0])
