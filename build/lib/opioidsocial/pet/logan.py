"""Logan's reference-region graphical analysis: a model-free second estimate of BPND.

Logan et al. (1996, J Cereb Blood Flow Metab 16:834-840): for reversible binding,
after a time t* the points

    x(t) = [int_0^t C_R + C_R(t) / k2'] / C_T(t),   y(t) = int_0^t C_T / C_T(t)

lie on a line whose slope is the distribution volume ratio DVR = 1 + BPND. k2' is
the reference region's efflux rate; it is either given (config ``pet.logan.k2_ref``)
or taken as the median of k2/R1 of the scan's SRTM fits that passed their checks
(SRTM implies k2' = k2/R1), the usual practice when no arterial data exist. The
integrals run over the piecewise-linear curve through (0, 0) and the frame
mid-times (``FrameGrid.integral_at_mid``); the line is fitted by ordinary least
squares (``scipy.stats.linregress``) to the frames whose mid-time is at or after
t* (``pet.logan.t_star_min``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import linregress

from opioidsocial.pet.frames import FrameGrid


@dataclass(frozen=True)
class LoganFit:
    bp_nd: float
    intercept: float
    r2: float
    n_frames: int
    k2_ref: float
    problem: str = ""


def fit_logan(
    target: np.ndarray, reference: np.ndarray, *, grid: FrameGrid, k2_ref: float, t_star_min: float, min_frames: int
) -> LoganFit:
    """BPND = slope - 1 of the Logan plot; ``problem`` says why it could not be fitted."""
    target = np.asarray(target, dtype=float)
    reference = np.asarray(reference, dtype=float)
    late = grid.mid >= t_star_min
    n = int(late.sum())

    def failed(problem: str) -> LoganFit:
        return LoganFit(np.nan, np.nan, np.nan, n, k2_ref, problem)

    if not (np.isfinite(k2_ref) and k2_ref > 0):
        return failed(f"no usable k2' ({k2_ref})")
    if n < min_frames:
        return failed(f"{n} frame(s) after t* = {t_star_min:g} min, need {min_frames}")
    if np.any(target[late] <= 0):
        return failed("target activity is not positive after t*")
    x = (grid.integral_at_mid(reference)[late] + reference[late] / k2_ref) / target[late]
    y = grid.integral_at_mid(target)[late] / target[late]
    line = linregress(x, y)
    return LoganFit(float(line.slope) - 1.0, float(line.intercept), float(line.rvalue**2), n, k2_ref)
