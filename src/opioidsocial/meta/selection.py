"""Step-function selection models (Vevea & Hedges 1995), as metafor's ``selmodel(type = "stepfun")``.

A selection model asks what the pooled effect would be if studies had been
published with a probability that depends on their one-sided p-value. The
p-value of each study is that of its own z test in the opioid-aligned (positive)
direction, ``p_i = 1 - Phi(y_i / sqrt(v_i))`` (metafor's ``alternative =
"greater"``); ``steps`` cut (0, 1] into intervals, and a study in interval j is
published with relative probability ``delta_j`` (``delta_1 = 1``). The effects
follow the random-effects model ``y_i ~ N(mu, v_i + tau^2)`` before selection, so
the likelihood of a published study is its normal density times ``delta_j``,
divided by the probability-weighted mass ``A_i = sum_j delta_j P(p_i in
interval j)``. mu, tau^2 and the deltas are estimated by maximum likelihood
(scipy's L-BFGS-B; tau^2 is fixed at 0 for an equal-effects primary model, and is
ML for every other estimator, as in metafor), their standard errors from the
inverse of the numerical Hessian, the CI of mu is Wald, and the likelihood-ratio
test compares the model with the same model without selection (all deltas 1).

The three-parameter model (3PSM: steps 0.025, 1) separates significant positive
results from the rest; the four-parameter model (4PSM: 0.025, 0.5, 1) also lets
results in the wrong direction be published less often. An interval without a
study leaves its delta unidentified (metafor reports a weight near its search
limit); then no estimate is given, only the reason.

These models assume that selection acts on p-values alone and that the effects
are otherwise normal around mu: with few studies they are sensitivity analyses,
not corrections (Carter et al. 2019).

Validated against metafor 3.8-1 on dat.hackshaw1998 (tests/test_meta_bias.py).

References: Vevea JL, Hedges LV (1995) Psychometrika 60:419-435. McShane BB,
Boeckenholt U, Hansen KT (2016) Perspect Psychol Sci 11:730-749. Carter EC et al.
(2019) Adv Methods Pract Psychol Sci 2:115-144.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

#: The two models reported in small_study.tsv: name -> upper bounds of the p-value intervals.
MODELS = {"3PSM": (0.025, 1.0), "4PSM": (0.025, 0.5, 1.0)}
#: Search bounds of the deltas; an estimate at a bound signals a weight the data do not identify.
DELTA_MIN, DELTA_MAX = 1e-8, 100.0


@dataclass(frozen=True)
class Selection:
    """One fitted step-function selection model (``estimate`` is NaN and ``warning`` says why when unidentified)."""

    estimate: float
    se: float
    ci_lb: float
    ci_ub: float
    tau2: float
    delta: tuple[float, ...]
    lrt: float
    df: int
    p: float
    k_per_interval: tuple[int, ...]
    warning: str = ""


def p_values(yi, vi) -> np.ndarray:
    """One-sided p-values of each study's z test in the positive direction."""
    return stats.norm.sf(np.asarray(yi, dtype=float) / np.sqrt(np.asarray(vi, dtype=float)))


def intervals(p: np.ndarray, steps) -> np.ndarray:
    """Index of the interval (0, s_1], (s_1, s_2], ... that holds each p-value."""
    return np.searchsorted(np.asarray(steps, dtype=float), p, side="left")


def _negloglik(mu: float, tau2: float, delta: np.ndarray, y, v, cut_z, interval) -> float:
    """Minus the selection-model log-likelihood (Vevea & Hedges 1995, eq. 5)."""
    sd = np.sqrt(v + tau2)
    # P(p_i <= s_j) = P(y_i >= sqrt(v_i) z_{1-s_j}); the last step (1) has probability 1.
    upper = stats.norm.sf((np.sqrt(v)[:, None] * cut_z[None, :] - mu) / sd[:, None])
    mass = np.diff(np.column_stack([np.zeros(len(y)), upper]), axis=1) @ delta
    ll = stats.norm.logpdf(y, mu, sd) + np.log(delta[interval]) - np.log(mass)
    return -float(ll.sum())


def _hessian(f, x: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x``."""
    n = x.size
    h = 1e-4 * np.maximum(np.abs(x), 1e-2)
    H = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.eye(n)[i] * h[i], np.eye(n)[j] * h[j]
            H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])
    return H


def selection_model(yi, vi, *, steps, equal_effects: bool = False, level: float = 0.95) -> Selection:
    """Fit the step-function selection model with p-value intervals ending at ``steps`` (last step 1)."""
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    steps = np.asarray(steps, dtype=float)
    interval = intervals(p_values(y, v), steps)
    counts = tuple(int(c) for c in np.bincount(interval, minlength=steps.size))
    n_delta = steps.size - 1
    nan = math.nan
    empty = [j for j, c in enumerate(counts) if c == 0]
    if empty:
        lows = np.concatenate([[0.0], steps[:-1]])
        where = ", ".join(f"({lows[j]:g}, {steps[j]:g}]" for j in empty)
        return Selection(nan, nan, nan, nan, nan, (nan,) * n_delta, nan, n_delta, nan, counts,
                         warning=f"no study has a one-sided p-value in {where}: the selection weight of that interval "
                                 "cannot be estimated, so the model gives no estimate")
    cut_z = stats.norm.isf(steps)

    def nll(theta, with_delta=True):
        mu, tau2 = theta[0], (0.0 if equal_effects else theta[1])
        rest = theta[1 if equal_effects else 2:]
        delta = np.concatenate([[1.0], rest]) if with_delta else np.ones(steps.size)
        return _negloglik(mu, tau2, delta, y, v, cut_z, interval)

    w = 1 / v
    mu0 = float(w @ y / w.sum())
    tau_bounds = [] if equal_effects else [(0.0, None)]
    start_tau = [] if equal_effects else [max(float(np.var(y)) - float(v.mean()), 0.01)]
    null = optimize.minimize(lambda t: nll(t, with_delta=False), [mu0, *start_tau], method="L-BFGS-B",
                             bounds=[(None, None), *tau_bounds])
    full = optimize.minimize(nll, [*null.x, *([1.0] * n_delta)], method="L-BFGS-B",
                             bounds=[(None, None), *tau_bounds, *([(DELTA_MIN, DELTA_MAX)] * n_delta)],
                             options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 5000})
    theta = full.x
    tau2 = 0.0 if equal_effects else float(theta[1])
    # Parameters on a bound (tau^2 = 0) are left out of the Hessian, as metafor does.
    free = np.array([True] * theta.size)
    if not equal_effects and tau2 <= 1e-10:
        free[1] = False

    def nll_free(x):
        full_theta = theta.copy()
        full_theta[free] = x
        return nll(full_theta)

    cov = np.linalg.pinv(_hessian(nll_free, theta[free]))
    se = math.sqrt(cov[0, 0]) if cov[0, 0] > 0 else nan
    crit = float(stats.norm.ppf(0.5 + level / 2))
    lrt = max(0.0, 2 * (null.fun - full.fun))
    delta = tuple(float(d) for d in theta[1 if equal_effects else 2:])
    at_bound = [j + 2 for j, d in enumerate(delta) if d >= DELTA_MAX * (1 - 1e-6) or d <= DELTA_MIN * (1 + 1e-6)]
    warning = (f"selection weight(s) delta_{', delta_'.join(map(str, at_bound))} at the search bound "
               f"({DELTA_MIN:g} or {DELTA_MAX:g}): the data barely identify them, so the estimate is unreliable") if at_bound else ""
    return Selection(float(theta[0]), se, float(theta[0]) - crit * se, float(theta[0]) + crit * se, tau2, delta,
                     lrt, n_delta, float(stats.chi2.sf(lrt, n_delta)), counts, warning=warning)
