"""Satterthwaite degrees of freedom for t and F tests of linear mixed models.

For a contrast ``l'beta`` of the fixed effects, the variance ``v = l' V(psi) l``
depends on the covariance parameters ``psi``; Satterthwaite (1946) matches its
sampling distribution to a scaled chi-square, which gives

    df = 2 v^2 / (g' A g),   g = d v / d psi,   A = asymptotic covariance of psi-hat,

the approximation lmerTest uses (Kuznetsova, Brockhoff & Christensen 2017, J Stat
Softw 82(13), section 3.2). The gradients of ``V`` and ``A`` come from the fitted
model (:mod:`opioidsocial.stats.lmm`); here ``psi`` is the relative covariance
parameter vector theta with the residual SD profiled out, so the residual scale
adds the independent term ``2 / (n - p)`` to ``g' A g / v^2``, exactly as mixedlm's
per-coefficient ``satterthwaite_df`` does (validated against lmerTest in
tests/test_lmm.py).

A multi-row hypothesis ``L beta = 0`` (Type III tests) is rotated to the
eigenvectors of ``L V L'``, giving ``q`` independent t statistics with their own
df ``nu_m``; ``F = sum(t_m^2) / q`` and the denominator df follow from matching the
mean of ``F``: ``E = sum nu_m / (nu_m - 2)``, ``ddf = 2 E / (E - q)`` (Fai &
Cornelius 1996, J Stat Comput Simul 54:363-378; lmerTest's ``contestMD``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

#: Bounds mixedlm applies to per-coefficient df; the same bounds keep t and F tests consistent.
MIN_DF = 1.0


@dataclass(frozen=True)
class VarianceGradient:
    """What a Satterthwaite df needs from a fit: ``vcov``, its derivatives, ``A`` and ``n - p``."""

    vcov: np.ndarray
    gradients: np.ndarray  # (k, p, p): d vcov / d theta_k
    theta_cov: np.ndarray  # (k, k)
    residual_df: float


def contrast_df(L: np.ndarray, *, grad: VarianceGradient) -> np.ndarray:
    """Satterthwaite df of each row of ``L`` (rows are contrasts of the fixed effects)."""
    L = np.atleast_2d(np.asarray(L, dtype=float))
    var = np.einsum("ij,jk,ik->i", L, grad.vcov, L)
    if grad.gradients.shape[0] == 0:
        return np.full(len(L), grad.residual_df)
    g = np.einsum("ij,mjk,ik->im", L, grad.gradients, L)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(var[:, None] > 0, g / var[:, None], 0.0)
    uncertainty = np.einsum("im,mn,in->i", rel, grad.theta_cov, rel)
    df = 2.0 / (np.maximum(uncertainty, 0.0) + 2.0 / grad.residual_df)
    return np.clip(df, MIN_DF, grad.residual_df)


def t_tests(L: np.ndarray, *, beta: np.ndarray, grad: VarianceGradient, level: float = 0.95) -> dict[str, np.ndarray]:
    """Estimate, SE, Satterthwaite df, t, two-sided p and CI of each contrast row."""
    L = np.atleast_2d(np.asarray(L, dtype=float))
    estimate = L @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", L, grad.vcov, L))
    df = contrast_df(L, grad=grad)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = estimate / se
    crit = stats.t.ppf(0.5 + level / 2.0, df)
    return {
        "estimate": estimate,
        "se": se,
        "df": df,
        "t": t,
        "p": 2.0 * stats.t.sf(np.abs(t), df),
        "ci_low": estimate - crit * se,
        "ci_high": estimate + crit * se,
    }


def f_test(L: np.ndarray, *, beta: np.ndarray, grad: VarianceGradient, tol: float = 1e-8) -> dict[str, float]:
    """F test of ``L beta = 0`` with Satterthwaite denominator df (Fai & Cornelius 1996)."""
    L = np.atleast_2d(np.asarray(L, dtype=float))
    values, vectors = np.linalg.eigh(L @ grad.vcov @ L.T)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    keep = values > max(tol * values[0], 0.0)
    q = int(keep.sum())
    rotated = vectors[:, keep].T @ L
    t2 = (rotated @ beta) ** 2 / values[keep]
    nu = contrast_df(rotated, grad=grad)
    return {"num_df": q, "den_df": _f_ddf(nu), "f": float(t2.sum() / q), "p": float(stats.f.sf(t2.sum() / q, q, _f_ddf(nu)))}


def _f_ddf(nu: np.ndarray, tol: float = 1e-8) -> float:
    """Denominator df of a sum of independent t^2 with df ``nu`` (lmerTest's get_Fstat_ddf)."""
    if len(nu) == 1 or np.all(np.abs(nu - nu[0]) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    e = float(np.sum(nu / (nu - 2.0)))
    return 2.0 * e / (e - len(nu))
