"""Reference grids: marginal means and Type III hypotheses as rows over the fixed effects.

A model's fixed effects are treatment-coded (lme4's default): each coefficient is a
product of *parts*, a factor at one level (an indicator) or a numeric covariate.
Evaluating those products on the grid of all factor-level combinations gives the
model's cell means as linear functions of the coefficients, from which

* **estimated marginal means** average the cells of the factors not asked for with
  equal weights and hold numeric covariates at their mean (Searle, Speed & Milliken
  1980, Am Stat 34:216-221, "population marginal means"; Lenth's emmeans defaults);
* **Type III hypotheses** of a term apply, along each factor of the term, a full set
  of contrasts among its levels and average over the other factors with equal
  weights. For full-rank factorial models this is SAS's Type III hypothesis (Goodnight
  1980), the one lmerTest tests, and it does not depend on the contrast coding.
  For a term with numeric covariates the rows are the slopes of those covariates,
  with the other covariates at zero (as the raw design matrix gives them).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

#: One part of a coefficient: (variable, level) for a factor, (variable, None) for a covariate.
Part = tuple[str, object]
Coefficient = tuple[Part, ...]


def grid(levels: dict[str, Sequence]) -> pd.DataFrame:
    """Every combination of the factor levels, the last factor varying fastest."""
    names = list(levels)
    rows = list(itertools.product(*(levels[n] for n in names))) if names else [()]
    return pd.DataFrame(rows, columns=names)


def model_rows(cells: pd.DataFrame, coefficients: Sequence[Coefficient], *, numeric: dict[str, float]) -> np.ndarray:
    """Rows of the fixed-effects design matrix for the given factor cells."""
    X = np.ones((len(cells), len(coefficients)))
    for j, parts in enumerate(coefficients):
        for variable, level in parts:
            if level is None:
                X[:, j] *= numeric[variable]
            else:
                X[:, j] *= (cells[variable] == level).to_numpy(dtype=float)
    return X


def marginal_rows(
    coefficients: Sequence[Coefficient], *, levels: dict[str, Sequence], numeric: dict[str, float], specs: Sequence[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Cells of ``specs`` (in level order) and the rows averaging the full grid over the other factors."""
    full = grid(levels)
    X = model_rows(full, coefficients, numeric=numeric)
    cells = grid({name: levels[name] for name in specs})
    L = np.empty((len(cells), len(coefficients)))
    for i, cell in enumerate(cells.itertuples(index=False)):
        mask = np.ones(len(full), dtype=bool)
        for name, value in zip(specs, cell):
            mask &= (full[name] == value).to_numpy()
        L[i] = X[mask].mean(axis=0)
    return cells, L


def type3_rows(
    coefficients: Sequence[Coefficient], *, levels: dict[str, Sequence], term: Sequence[str]
) -> np.ndarray:
    """Hypothesis rows of the Type III test of ``term`` (a tuple of variable names)."""
    covariates = {v for v in term if v not in levels}
    full = grid(levels)
    X = np.zeros((len(full), len(coefficients)))
    for j, parts in enumerate(coefficients):
        if {v for v, level in parts if level is None} != covariates:
            continue
        X[:, j] = 1.0
        for variable, level in parts:
            if level is not None:
                X[:, j] *= (full[variable] == level).to_numpy(dtype=float)
    K = np.ones((1, 1))
    for name, lv in levels.items():
        n = len(lv)
        # Each level against the first: any full set of contrasts gives the same test.
        block = np.hstack([-np.ones((n - 1, 1)), np.eye(n - 1)]) if name in term else np.full((1, n), 1.0 / n)
        K = np.kron(K, block)
    return K @ X
