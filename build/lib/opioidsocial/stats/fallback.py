"""The documented fall-back for singular or non-converged mixed models.

Researchers fit the maximal random-effects structure the design justifies (Barr,
Levy, Scheepers & Tily 2013, J Mem Lang 68:255-278) and simplify it when the fit is
singular or does not converge (Bates, Kliegl, Vasishth & Baayen 2015, "Parsimonious
mixed models", arXiv:1506.04967; Matuschek et al. 2017, J Mem Lang 94:305-315).
The ladder applied here, and recorded step by step in the results, is:

1. the formula as configured;
2. **no correlations**: every random term with slopes is split into independent
   terms, one per column, ``(1 + emotion | participant)`` becoming
   ``(1 | participant) + (0 + emotion_angry | participant) + ...``. Factor slopes
   are written as numeric columns added to the data, because lme4's ``||`` leaves
   the indicators of a factor correlated, and they are deviation (sum-to-zero)
   coded, ``emotion_angry`` = +1 for angry, -1 for the last level, 0 otherwise (R's
   ``contr.sum``), as afex's ``expand_re`` does: with treatment coding the
   zero-correlation model would depend on which level is the reference (Singmann &
   Kellen 2019, "An introduction to mixed models for experimental psychology").
   The recorded formula means the same thing in lme4 given those columns;
3. **no zero variances**: the independent terms whose SD was estimated as zero in
   step 2 are removed (Bates et al. 2015, section 3). The likelihood does not change,
   so the fixed-effects inference is that of step 2 without the boundary;
4. **no slopes**: one random intercept per grouping factor.

The first fit that converges and is not singular is used; if none is, the last one
is, flagged as singular and/or not converged. Every attempt is returned.
"""

from __future__ import annotations

import itertools
import re

import pandas as pd
from mixedlm.formula.terms import InteractionTerm, VariableTerm

from opioidsocial.stats.lmm import LmmError, LmmFit, fit, parse

STEPS = ("as specified", "no correlations", "no zero variances", "no slopes")

#: An SD below this fraction of the residual SD counts as estimated at zero (lme4's singularity tolerance).
ZERO_SD = 1e-4

_PLAIN_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


def fit_with_fallback(formula: str, data: pd.DataFrame, reml: bool = True) -> tuple[LmmFit, list[dict]]:
    """Fit ``formula``, simplifying its random part while the fit is singular or not converged.

    Returns the fit used and one record per attempt: step, formula, converged,
    singular and the optimiser's messages.
    """
    attempts: list[dict] = []
    result = None
    for step in STEPS:
        candidate, frame = simplify(formula, data, step=step, previous=result)
        if candidate is None or any(a["formula"] == candidate for a in attempts):
            continue
        result = fit(candidate, frame, reml=reml)
        attempts.append({"step": step, "formula": candidate, "converged": result.converged, "singular": result.singular, "messages": list(result.messages)})
        if result.converged and not result.singular:
            break
    return result, attempts


def simplify(formula: str, data: pd.DataFrame, *, step: str, previous: LmmFit | None = None) -> tuple[str | None, pd.DataFrame]:
    """The formula of a fall-back step and the data it needs (with any indicator columns).

    ``previous`` is the fit of the step before, which "no zero variances" prunes;
    ``None`` is returned for a step that does not apply.
    """
    if step not in STEPS:
        raise LmmError(f"unknown fall-back step '{step}'; steps are {STEPS}")
    if step == "as specified":
        return formula, data
    parsed = parse(formula)
    fixed = fixed_part(formula)
    if step == "no slopes":
        groups = dict.fromkeys(_grouping(t) for t in parsed.random)
        return " + ".join([fixed, *(f"(1 | {g})" for g in groups)]), data
    frame = data.copy()
    terms = {}
    for rterm in parsed.random:
        group = _grouping(rterm)
        if rterm.has_intercept:
            terms[(group, "(Intercept)")] = f"(1 | {group})"
        for term in rterm.expr:
            for name, values in _indicator_columns(term, frame):
                if name in frame.columns and not (frame[name].to_numpy() == values).all():
                    raise LmmError(f"the fall-back needs an indicator column '{name}', but the data already have a different column of that name; rename it")
                frame[name] = values
                terms[(group, name)] = f"(0 + {_quote(name)} | {group})"
    if step == "no zero variances":
        if previous is None:
            return None, data
        zero = {(previous.grouping[g], t) for (g, t), sd in previous.sd_re.items() if sd < ZERO_SD * previous.sigma}
        if not zero or zero >= set(terms):
            return None, data
        terms = {key: text for key, text in terms.items() if key not in zero}
    return " + ".join([fixed, *terms.values()]), frame


def fixed_part(formula: str) -> str:
    """The formula without its ``( ... | ... )`` random terms."""
    fixed = re.sub(r"\s*\+?\s*\([^()]*\|[^()]*\)", "", formula).strip()
    fixed = re.sub(r"~\s*\+\s*", "~ ", fixed)
    if fixed.rstrip().endswith("~"):
        fixed += " 1"
    return fixed


def _grouping(rterm) -> str:
    return ":".join(rterm.grouping) if isinstance(rterm.grouping, tuple) else rterm.grouping


def _indicator_columns(term, frame: pd.DataFrame):
    """Numeric columns that carry one slope each: deviation-coded factor levels, products for interactions."""
    names = (term.name,) if isinstance(term, VariableTerm) else tuple(term.variables) if isinstance(term, InteractionTerm) else None
    if names is None:
        raise LmmError(f"random slope {term} is not supported: use factors, numeric covariates and their interactions")
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise LmmError(f"random slope uses column(s) {missing} that the data do not have; columns are {list(frame.columns)}")
    per_variable = []
    for name in names:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            per_variable.append([(name, column.astype(float))])
            continue
        if isinstance(column.dtype, pd.CategoricalDtype):
            present = set(column.unique())
            levels = [c for c in column.cat.categories if c in present]
        else:
            levels = sorted(column.unique())
        last = (column == levels[-1]).astype(float)
        per_variable.append([(f"{name}_{level}", (column == level).astype(float) - last) for level in levels[:-1]])
    for combo in itertools.product(*per_variable):
        values = combo[0][1]
        for _, other in combo[1:]:
            values = values * other
        yield ".".join(n for n, _ in combo), values.to_numpy()


def _quote(name: str) -> str:
    return name if _PLAIN_NAME.match(name) else "`" + name.replace("`", "\\`") + "`"
