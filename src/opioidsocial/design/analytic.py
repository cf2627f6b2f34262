"""Closed forms of design analysis: power, type S and type M errors of a normal estimate,
and the power and sample size of a t test from the noncentral t distribution.

**Retrospective design analysis** (Gelman & Carlin 2014, Perspect Psychol Sci 9:641-651),
in the closed forms of Lu, Qiu & Deng (2019, Br J Math Stat Psychol 72:1-17): an estimate
``est ~ N(D, s^2)`` of a true effect D with standard error s is significant at two-sided
level alpha when ``|est| > z s``, z = Phi^-1(1 - alpha/2). With lambda = |D| / s,

    power  = Phi(-z - lambda) + 1 - Phi(z - lambda)
    type S = Phi(-z - lambda) / power                  (significant with the wrong sign)
    type M = E(|est| | significant) / |D|
           = (|D| (1 - Phi(z - lambda) - Phi(-z - lambda)) + s (phi(z - lambda) + phi(z + lambda))) / (power |D|)

For D = 0 power is alpha, type S is 1/2 and type M is undefined (NaN).

**t-test power** as R's ``pwr.t.test`` computes it (Cohen 1988): with n per group (two
independent groups: df 2(n - 1), noncentrality sqrt(n/2) d) or n pairs (paired: df
n - 1, noncentrality sqrt(n) d), power = P(T > q) + P(T < -q) for T noncentral t and q
the two-sided critical value of the central t. :func:`n_for_power` solves for the real
n; the next study rounds it up.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

#: Designs of a t test and what n counts in each.
DESIGNS = {"between": "participants per arm (two independent arms)", "within": "participants (paired, each in both conditions)"}


def _df_ncp(n, d, design: str):
    if design == "between":
        return 2.0 * (np.asarray(n, dtype=float) - 1.0), np.sqrt(np.asarray(n, dtype=float) / 2.0) * d
    if design == "within":
        return np.asarray(n, dtype=float) - 1.0, np.sqrt(np.asarray(n, dtype=float)) * d
    raise ValueError(f"design must be one of {sorted(DESIGNS)}, not {design!r}")


def t_power(d: float, n, *, design: str, alpha: float):
    """Two-sided power of a t test with effect ``d`` (Cohen's d or d_z) and ``n`` per arm or pairs."""
    df, ncp = _df_ncp(n, abs(d), design)
    q = stats.t.isf(alpha / 2.0, df)
    # P(T < -q) as P(T' > q) with T' of noncentrality -ncp: scipy's cdf gives NaN far in the
    # lower tail (ncp above about 8), its mirror the correct value (0 to double precision).
    return stats.nct.sf(q, df, ncp) + stats.nct.sf(q, df, -ncp)


def n_for_power(d: float, power: float, *, design: str, alpha: float) -> float | None:
    """The real n (per arm, or pairs) at which the power is ``power``; None when ``d`` is 0."""
    if d == 0 or not math.isfinite(d):
        return None
    if not alpha < power < 1:
        raise ValueError(f"target power must lie between alpha ({alpha}) and 1, not {power}")
    # pwr.t.test's search interval: n from just above 2 (a t test needs 2 per group).
    low, high = 2.0 + 1e-10, 10.0
    while t_power(d, high, design=design, alpha=alpha) < power:
        high *= 10.0
        if high > 1e12:
            return math.inf
    if t_power(d, low, design=design, alpha=alpha) >= power:
        return low
    return float(optimize.brentq(lambda n: t_power(d, n, design=design, alpha=alpha) - power, low, high, xtol=1e-12, rtol=1e-14))


def retrodesign(effect, se, *, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power, type S and type M of estimates with standard error ``se`` when the truth is ``effect``."""
    D = np.abs(np.asarray(effect, dtype=float))
    s = np.asarray(se, dtype=float)
    z = stats.norm.isf(alpha / 2.0)
    lam = D / s
    low, high = stats.norm.cdf(-z - lam), stats.norm.sf(z - lam)
    power = low + high
    type_s = low / power
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = D * (high - low) + s * (stats.norm.pdf(z - lam) + stats.norm.pdf(z + lam))
        type_m = np.where(D > 0, expected / (power * D), np.nan)
    return power, type_s, type_m
