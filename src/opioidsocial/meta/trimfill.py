"""Duval & Tweedie's trim-and-fill with the L0 estimator, as metafor's ``trimfill.rma.uni``.

Trim-and-fill (Duval & Tweedie 2000) asks how many studies a funnel plot lacks on
one side and what the pooled effect would be with them. The steps, in metafor's
order (metafor 3.8-1, ``trimfill.rma.uni`` with its defaults):

1. **Side.** The missing studies are taken to be on the side opposite the
   small-study effect: the slope of Egger's regression of the effects on their
   standard errors (``rma.uni(yi, vi, mods = sqrt(vi))`` with the model's tau^2
   method) is negative -> the right, otherwise the left. For a right side the
   effects are negated so that the steps below always fill the left.
2. **Iteration.** With the effects sorted ascending, the centre is the
   random-effects estimate of the k - k0 least extreme studies (the study itself
   when one is left, as metafor's ``rma.uni`` gives for k = 1); the effects are
   centred, ranked by absolute value (ties in order) and the L0 estimator
   ``k0 = round((4 S_r - k (k + 1)) / (2 k - 1))``, at least 0, is computed from
   the sum S_r of the positive signed ranks. This repeats until k0 stops changing
   (at most 100 times; metafor stops with an error after that, and so does this).
3. **Fill.** The k0 most extreme studies are mirrored about the final centre,
   with their own sampling variances, and the model is refitted to the observed
   and filled studies with the same tau^2 method. The refit has a Wald (z) 95%
   interval whatever the original model's test and level, because metafor's
   refit passes neither. With k0 = 0 metafor returns the original model; here it
   is the same model refitted with a Wald interval, so that every trim-and-fill
   row carries the same kind of interval.

Every fit is :func:`opioidsocial.meta.random_effects.pool` (pimeta's ``rma``,
validated against metafor), not pimeta's own trim-and-fill: that one fails with
ZeroDivisionError when the centre rests on one study, and its pooling departs
from metafor for the PM estimator. Checked against metafor on dat.bcg (one
study filled on the right) and on three studies that trim to one (two filled on
the left) in tests/test_meta_sensitivity.py.

Reference: Duval S, Tweedie R (2000) Biometrics 56:455-463.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from opioidsocial.meta.random_effects import MetaAnalysisError, Pooled, pool

#: metafor's ``maxiter`` default.
MAX_ITERATIONS = 100


@dataclass(frozen=True)
class TrimFill:
    """``k0`` studies filled on ``side``; ``filled`` is the fit to the observed and filled studies."""

    k0: int
    side: str
    filled: Pooled


def trimfill(yi, vi, *, method: str) -> TrimFill:
    """Trim-and-fill (L0) of the effects ``yi`` with sampling variances ``vi``, tau^2 by ``method``.

    Needs at least three effects (the side comes from a regression on the
    standard errors); raises :class:`MetaAnalysisError` otherwise or when the
    iteration does not settle.
    """
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    k = y.size
    slope = pool(y, v, method=method, mods=np.sqrt(v)).coefficients["estimate"].iloc[1]
    side = "right" if slope < 0 else "left"
    flip = -1.0 if side == "right" else 1.0
    # metafor sorts with R's stable sort; equal effects keep their input order.
    order = np.argsort(flip * y, kind="stable")
    ys, vs = flip * y[order], v[order]
    k0 = 0
    for _ in range(MAX_ITERATIONS):
        previous = k0
        centre = _centre(ys[: k - k0], vs[: k - k0], method=method)
        k0 = _l0(ys - centre)
        if k0 == previous:
            break
    else:
        raise MetaAnalysisError(f"trim-and-fill did not converge in {MAX_ITERATIONS} iterations")
    if k0 == 0:
        return TrimFill(k0=0, side=side, filled=pool(y, v, method=method, test="z"))
    mirrored = flip * (2.0 * centre - ys[k - k0:])
    filled = pool(np.concatenate([y, mirrored]), np.concatenate([v, vs[k - k0:]]), method=method, test="z")
    return TrimFill(k0=k0, side=side, filled=filled)


def _centre(y: np.ndarray, v: np.ndarray, *, method: str) -> float:
    """The pooled estimate of the studies kept; one study is its own estimate (metafor's rma.uni for k = 1)."""
    return float(y[0]) if y.size == 1 else pool(y, v, method=method).estimate


def _l0(centred: np.ndarray) -> int:
    """Duval & Tweedie's L0 estimate of the number of missing studies from effects minus the centre."""
    k = centred.size
    signed = np.sign(centred) * stats.rankdata(np.abs(centred), method="ordinal")
    rank_sum = signed[signed > 0].sum()
    # Python's round, like R's, rounds halves to even.
    return max(0, round((4.0 * rank_sum - k * (k + 1)) / (2 * k - 1)))
