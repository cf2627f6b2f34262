"""Every universe's effect and t test as matrix operations, and the joint tests of a specification curve.

A planned contrast compares two arms' participant cell means in every universe at
once: the values are a (participants x universes) matrix ``y`` (NaN where a
participant has no clean trial in the cell), and a relabelling of the participants
is a row of a (permutations x participants) matrix, so the statistics of every
permutation in every universe are a few matrix products, never a refit. Between
designs compare the drug arm's participants with the reference arm's (Hedges' g
and Student's t); within designs the paired differences (the standardised mean
change and the paired t), whose null flips the signs of each participant's
differences.

The joint tests are those of Simonsohn, Simmons & Nelson (2020, Nature Human
Behaviour 4:1208-1214), each against its null distribution from the same
relabellings applied to all universes at once, which keeps the dependence between
universes: the median effect, the share of universes significant (two-sided p <
alpha) in the direction of the observed median, and Stouffer's Z (the sum of the
probit-transformed one-sided p-values in that direction over sqrt(universes)).
Each p-value is one-sided in the observed median's direction, (1 + permutations at
least as extreme as observed) / (1 + permutations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from opioidsocial.stats.escalc import hedges_correction


@dataclass(frozen=True)
class Curve:
    """Per universe (the last axis; leading axes are permutations): n1, n2, g, t, df."""

    n1: np.ndarray
    n2: np.ndarray | None
    g: np.ndarray
    t: np.ndarray
    df: np.ndarray


def between(labels: np.ndarray, y: np.ndarray) -> Curve:
    """Hedges' g and Student's t of arm 1 (``labels`` 1) minus arm 0, per column of ``y`` (participants x universes).

    ``labels`` is (participants,) or (permutations, participants).
    """
    present = np.isfinite(y)
    # centred per column: sums of squares without the cancellation of large means
    centred = np.where(present, y - np.nanmean(y, axis=0), 0.0)
    ones = labels.astype(float)
    zeros = 1.0 - ones
    n1, n2 = ones @ present, zeros @ present
    s1, s2 = ones @ centred, zeros @ centred
    q1, q2 = ones @ centred**2, zeros @ centred**2
    with np.errstate(invalid="ignore", divide="ignore"):
        m1, m2 = s1 / n1, s2 / n2
        df = n1 + n2 - 2
        pooled = np.sqrt(np.maximum(q1 - n1 * m1**2 + q2 - n2 * m2**2, 0.0) / df)
        d = (m1 - m2) / pooled
        t = d / np.sqrt(1 / n1 + 1 / n2)
        g = hedges_correction(df) * d
    usable = (n1 >= 2) & (n2 >= 2)
    return Curve(n1, n2, np.where(usable, g, np.nan), np.where(usable, t, np.nan), df)


def within(signs: np.ndarray, differences: np.ndarray) -> Curve:
    """The standardised mean change and paired t of ``differences`` (participants x universes) times ``signs``."""
    present = np.isfinite(differences)
    d = np.where(present, differences, 0.0)
    n = present.sum(axis=0).astype(float)
    s = signs.astype(float) @ d
    q = (d**2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = s / n
        sd = np.sqrt(np.maximum(q - n * m**2, 0.0) / (n - 1))
        t = m / (sd / np.sqrt(n))
        g = hedges_correction(n - 1) * m / sd
    usable = n >= 3
    n = np.broadcast_to(n, t.shape)
    return Curve(n, None, np.where(usable, g, np.nan), np.where(usable, t, np.nan), n - 1)


@dataclass(frozen=True)
class JointTest:
    n_universes: int
    median_yi: float
    share_significant: float
    stouffer_z: float
    p_median: float
    p_share: float
    p_stouffer: float


def summaries(curve: Curve, *, sign: float, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median g, share significant in direction ``sign`` and Stouffer's Z over the universes (last axis)."""
    with np.errstate(invalid="ignore"):
        two_sided = 2 * stats.t.sf(np.abs(curve.t), curve.df)
        one_sided = stats.t.sf(sign * curve.t, curve.df)
    present = np.isfinite(curve.t)
    count = present.sum(axis=-1)
    significant = ((two_sided < alpha) & (np.sign(curve.t) == sign) & present).sum(axis=-1) / count
    # clipped so that a p of 0 or 1 (underflow) gives a finite probit
    z = stats.norm.isf(np.clip(np.where(present, one_sided, 0.5), 1e-300, 1 - 1e-16))
    return np.nanmedian(curve.g, axis=-1), significant, z.sum(axis=-1) / np.sqrt(count)


def joint_test(observed: Curve, null: Curve, *, alpha: float) -> JointTest:
    """The three joint tests of ``observed`` (one curve) against ``null`` (permutations x universes)."""
    median = float(np.nanmedian(observed.g))
    sign = 1.0 if median >= 0 else -1.0
    obs = summaries(observed, sign=sign, alpha=alpha)
    perm = summaries(null, sign=sign, alpha=alpha)
    permutations = null.t.shape[0]

    def p(extreme: np.ndarray) -> float:
        return float((1 + np.count_nonzero(extreme)) / (1 + permutations))

    return JointTest(
        n_universes=int(np.isfinite(observed.t).sum()), median_yi=median, share_significant=float(obs[1]), stouffer_z=float(obs[2]),
        p_median=p(sign * perm[0] >= sign * obs[0]), p_share=p(perm[1] >= obs[1]), p_stouffer=p(perm[2] >= obs[2]),
    )


def relabellings(labels: np.ndarray, *, design: str, permutations: int, rng: np.random.Generator) -> np.ndarray:
    """(permutations, participants): arm labels permuted (between) or signs flipped (within)."""
    if design == "within":
        return rng.choice(np.array([-1.0, 1.0]), size=(permutations, len(labels)))
    return np.stack([rng.permutation(labels) for _ in range(permutations)])
