"""Small-study and publication-bias analyses of one set of effects: Egger, PET-PEESE, permutation.

* **Egger's regression test** (Egger et al. 1997) as metafor's ``regtest(fit,
  model = "rma", predictor = "sei")``: the random-effects model of the chosen
  tau^2 estimator and test with the standard error as moderator. The test of the
  slope is the test of funnel asymmetry; the intercept is the limit estimate, the
  effect of a study with standard error 0. Fitted by
  :func:`opioidsocial.meta.random_effects.pool`, so every estimator works.
* **PET and PEESE** (Stanley & Doucouliagos 2014): weighted least squares of the
  effects on their standard error (PET) or sampling variance (PEESE) with weights
  ``1/v_i`` and a residual variance estimated from the data (R's ``lm(yi ~
  sqrt(vi), weights = 1/vi)``), the intercept tested with t on k - 2 df.
  PET-PEESE takes the PEESE intercept when the PET intercept is positive with
  two-sided p < 0.10 (a true effect is likely, and PEESE is then less biased),
  else the PET intercept. These assume that small-study effects come from
  selective reporting alone, a linear (PET) or quadratic (PEESE) relation with
  the standard error, and little heterogeneity (Carter et al. 2019).
* **Permutation test** of the pooled effect (Follmann & Proschan 1999; metafor's
  ``permutest``): under the null of no effect the signs of the effects are
  exchangeable, so the observed z (or t) is compared with its value over sign
  flips, all 2^k of them when that is at most ``iterations``, else ``iterations``
  seeded random sign vectors with the observed one first. Its p-value is two-sided
  (|statistic| at least as large, up to metafor's tolerance) and does not rely on
  the normal approximation that is poor at k = 3-5. For a meta-regression the
  moderators' rows are permuted against the effects instead
  (:func:`moderator_permutation`).

Validated against metafor 3.8-1 and R's ``lm`` on dat.hackshaw1998, dat.hine1989
and dat.bcg (tests/test_meta_bias.py).

References: Egger M et al. (1997) BMJ 315:629-634. Stanley TD, Doucouliagos H
(2014) Res Synth Methods 5:60-78. Follmann DA, Proschan MA (1999) Biometrics
55:1268-1272. Carter EC et al. (2019) Adv Methods Pract Psychol Sci 2:115-144.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import stats

from opioidsocial.meta.random_effects import pool, statistics

#: metafor's ``comptol`` for comparing permuted and observed statistics.
COMPTOL = math.sqrt(np.finfo(float).eps)
#: PET-PEESE switches to PEESE when PET's intercept is positive with two-sided p below this.
PET_ALPHA = 0.10


def egger(yi, vi, *, method: str, test: str, level: float = 0.95) -> dict:
    """Egger's test: slope statistic, df and p; the intercept (limit estimate) with its CI."""
    v = np.asarray(vi, dtype=float)
    fit = pool(yi, v, method=method, test=test, mods=np.sqrt(v), level=level)
    slope, intercept = fit.coefficients.iloc[1], fit.coefficients.iloc[0]
    return {"analysis": "egger", "statistic": slope["stat"], "df": slope["df"], "p": slope["p"],
            "estimate": intercept["estimate"], "se": intercept["se"], "ci_lb": intercept["ci_lb"], "ci_ub": intercept["ci_ub"],
            "tau2": fit.tau2, "method": method, "test": test}


def _wls_intercept(y: np.ndarray, v: np.ndarray, predictor: np.ndarray, *, level: float) -> dict:
    """Intercept of the weighted least-squares line ``y ~ predictor`` (weights 1/v, residual variance estimated)."""
    X = np.column_stack([np.ones_like(y), predictor])
    w = 1.0 / v
    xtwx_inv = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = xtwx_inv @ (X.T @ (w * y))
    df = y.size - 2
    sigma2 = float(w @ (y - X @ beta) ** 2) / df
    se = math.sqrt(sigma2 * xtwx_inv[0, 0])
    t = beta[0] / se
    crit = stats.t.ppf(0.5 + level / 2, df)
    return {"statistic": t, "df": float(df), "p": float(2 * stats.t.sf(abs(t), df)), "estimate": float(beta[0]), "se": se,
            "ci_lb": float(beta[0] - crit * se), "ci_ub": float(beta[0] + crit * se), "test": "t"}


def pet_peese(yi, vi, *, level: float = 0.95) -> list[dict]:
    """The PET, PEESE and PET-PEESE rows (needs at least three effects)."""
    y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    pet = {"analysis": "pet", **_wls_intercept(y, v, np.sqrt(v), level=level), "note": ""}
    peese = {"analysis": "peese", **_wls_intercept(y, v, v, level=level), "note": ""}
    if pet["estimate"] > 0 and pet["p"] < PET_ALPHA:
        chosen = {**peese, "note": f"PEESE: the PET intercept is positive with p = {pet['p']:.3g} < {PET_ALPHA:g}"}
    else:
        chosen = {**pet, "note": f"PET: the PET intercept is not positive with p < {PET_ALPHA:g} (p = {pet['p']:.3g})"}
    return [pet, peese, {**chosen, "analysis": "pet-peese"}]


def permutation(yi, vi, *, method: str, test: str, iterations: int, seed: int) -> dict:
    """Sign-flip permutation test of the pooled effect (exact when 2^k <= ``iterations``)."""
    y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    observed = statistics(y, v, method=method, test=test)[0][0]
    exact = 2 ** y.size <= iterations
    if exact:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=y.size)))
    else:
        signs = np.random.default_rng(seed).choice((-1.0, 1.0), size=(iterations, y.size))
        signs[0] = 1.0
    permuted = np.array([statistics(s * y, v, method=method, test=test)[0][0] for s in signs])
    p = float(np.mean(np.abs(permuted) >= abs(observed) - COMPTOL))
    return {"analysis": "permutation", "statistic": observed, "p": min(p, 1.0), "iterations": len(signs), "exact": exact,
            "method": method, "test": test}


def _arrangements(labels: tuple[int, ...]):
    """Every distinct ordering of a multiset of row labels (each once)."""
    if not labels:
        yield ()
        return
    for first in sorted(set(labels)):
        rest = list(labels)
        rest.remove(first)
        for tail in _arrangements(tuple(rest)):
            yield (first, *tail)


def moderator_permutation(yi, vi, mods: np.ndarray, *, method: str, test: str, iterations: int, seed: int) -> tuple[np.ndarray, float]:
    """Permutation p-values of a meta-regression: (one per coefficient, the omnibus QM).

    The rows of the moderator matrix are permuted against the effects (metafor's
    ``permutest`` for models with moderators): every distinct arrangement when there
    are at most ``iterations``, else that many seeded random ones with the observed
    first. Coefficients: two-sided, |statistic| at least the observed; QM: at least
    the observed.
    """
    y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    X = np.asarray(mods, dtype=float).reshape(len(y), -1)
    rows, labels = np.unique(X, axis=0, return_inverse=True)
    labels = tuple(int(x) for x in np.ravel(labels))
    counts = np.bincount(labels)
    distinct = math.factorial(len(y)) // math.prod(math.factorial(int(c)) for c in counts)
    if distinct <= iterations:
        orders = [rows[list(a)] for a in _arrangements(labels)]
    else:
        rng = np.random.default_rng(seed)
        orders = [X] + [X[rng.permutation(len(y))] for _ in range(iterations - 1)]
    z_obs, qm_obs = statistics(y, v, method=method, test=test, mods=X)
    fits = [statistics(y, v, method=method, test=test, mods=Xp) for Xp in orders]
    z = np.array([f[0] for f in fits])
    qm = np.array([f[1] for f in fits])
    p = np.mean(np.abs(z) >= np.abs(z_obs) - COMPTOL, axis=0)
    return np.minimum(p, 1.0), float(min(np.mean(qm >= qm_obs - COMPTOL), 1.0))
