"""Ichise's multilinear reference tissue models MRTM and MRTM2.

Ichise et al. (2003, J Cereb Blood Flow Metab 23:1096-1112). Integrating SRTM's
differential equation from injection to T gives a relation that is linear in its
coefficients:

    MRTM:   C_T(T) = g1 int_0^T C_R + g2 int_0^T C_T + g3 C_R(T)
    MRTM2:  C_T(T) = g1 [int_0^T C_R + C_R(T) / k2'] + g2 int_0^T C_T

with BPND = -(g1 / g2 + 1) for both, and, for MRTM, k2' = g1 / g3, R1 = g3, k2 = g1;
for MRTM2 (k2' given), k2 = g1 and R1 = g1 / k2'. These are the definitions of
kinfitr's ``mrtm1`` and ``mrtm2`` (Matheson 2019, J Open Source Softw 4:1190):
the integrals run over the piecewise-linear curve through (0, 0) at injection and
the frame mid-times (``FrameGrid.integral_at_mid``, kinfitr's zero-padded
``cumtrapz``), and the regression is weighted least squares on the frames whose
mid-time is at or after t* (``pet.mrtm.t_star_min``). For targets that are one
tissue compartment t* = 0 is exact; for two-tissue targets a later t* reduces
the bias that SRTM has (Ichise et al. 2003).

MRTM2's k2' comes from a first MRTM pass (``pet.models``: the median k2' of the
scan's MRTM fits over the ROIs that passed their checks), which is how Ichise et
al. propose to use it, with k2' taken from a high-binding region's MRTM fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opioidsocial.pet.frames import FrameGrid


@dataclass(frozen=True)
class MrtmFit:
    bp_nd: float
    r1: float
    k2: float
    k2_ref: float
    rmse: float
    rel_rmse: float
    n_frames: int
    problem: str = ""


def fit_mrtm(
    target: np.ndarray, reference: np.ndarray, *, grid: FrameGrid, weights: np.ndarray, t_star_min: float,
    k2_ref: float | None = None,
) -> MrtmFit:
    """MRTM (``k2_ref`` None, three coefficients) or MRTM2 (``k2_ref`` given, two)."""
    target = np.asarray(target, dtype=float)
    reference = np.asarray(reference, dtype=float)
    late = grid.mid >= t_star_min
    n = int(late.sum())
    fixed = k2_ref is not None
    n_coef = 2 if fixed else 3

    def failed(problem: str) -> MrtmFit:
        return MrtmFit(np.nan, np.nan, np.nan, np.nan if k2_ref is None else k2_ref, np.nan, np.nan, n, problem)

    if fixed and not (np.isfinite(k2_ref) and k2_ref > 0):
        return failed(f"no usable k2' ({k2_ref})")
    # One frame more than coefficients, so that the residual says something.
    if n <= n_coef:
        return failed(f"{n} frame(s) after t* = {t_star_min:g} min, need {n_coef + 1}")
    int_ref = grid.integral_at_mid(reference)[late]
    int_target = grid.integral_at_mid(target)[late]
    if fixed:
        design = np.column_stack([int_ref + reference[late] / k2_ref, int_target])
    else:
        design = np.column_stack([int_ref, int_target, reference[late]])
    y = target[late]
    w = np.asarray(weights, dtype=float)[late]
    coef, *_ = np.linalg.lstsq(design * w[:, None], y * w, rcond=None)
    g1, g2 = coef[0], coef[1]
    if not g2 < 0:
        return failed(f"the coefficient of int C_T is {g2:.3g}, not negative: the fit does not describe washout")
    if fixed:
        r1, k2_fit = g1 / k2_ref, k2_ref
    else:
        r1, k2_fit = coef[2], g1 / coef[2]
    resid = design @ coef - y
    rmse = float(np.sqrt(np.mean(resid**2)))
    scale = float(np.mean(np.abs(y)))
    return MrtmFit(
        bp_nd=float(-(g1 / g2 + 1.0)), r1=float(r1), k2=float(g1), k2_ref=float(k2_fit), rmse=rmse,
        rel_rmse=rmse / scale if scale > 0 else float("inf"), n_frames=n,
    )
