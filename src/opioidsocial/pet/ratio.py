"""Target-to-reference ratio over a late window, minus one: the simplest BPND estimate.

At (transient) equilibrium the ratio of target to reference activity is 1 + BPND,
so many [11C]carfentanil reports use the target-to-occipital ratio over a late
window minus 1 (config ``pet.ratio.window_min``). Each region's activity over the
window is the frame-duration-weighted mean of its frames, a frame that lies partly
inside the window counting by the length of its overlap (so the window's mean is
the exact mean of the framed curve over the covered part of the window; gaps
between frames count for nothing). After a bolus the ratio overestimates BPND,
because true equilibrium is never reached (Carson et al. 1993, J Cereb Blood Flow
Metab 13:24-42); benchmarks/pet_recovery.py measures how much with the demo's
kinetics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RatioFit:
    bp_nd: float
    covered_min: float
    problem: str = ""


def fit_ratio(
    target: np.ndarray, reference: np.ndarray, *, start_min: np.ndarray, end_min: np.ndarray, window_min: tuple[float, float]
) -> RatioFit:
    """mean(target) / mean(reference) - 1 over ``window_min``; ``problem`` says why not."""
    lo, hi = (float(v) for v in window_min)
    overlap = np.clip(np.minimum(end_min, hi) - np.maximum(start_min, lo), 0.0, None)
    covered = float(overlap.sum())
    if start_min[0] > lo or end_min[-1] < hi or covered <= 0:
        return RatioFit(np.nan, covered, f"the scan ({start_min[0]:g}-{end_min[-1]:g} min) does not cover the window {lo:g}-{hi:g} min")
    reference_mean = float(overlap @ np.asarray(reference, dtype=float)) / covered
    if not reference_mean > 0:
        return RatioFit(np.nan, covered, f"the reference activity over {lo:g}-{hi:g} min is not positive")
    return RatioFit(float(overlap @ np.asarray(target, dtype=float)) / covered / reference_mean - 1.0, covered)
