"""Simplified reference tissue model (SRTM), fitted by bounded nonlinear least squares.

Lammertsma & Hume (1996, NeuroImage 4:153-158) showed that when the target and a
receptor-free reference region (occipital cortex for [11C]carfentanil) both behave
as single tissue compartments, the target TAC follows from the reference TAC:

    C_T(t) = R1 C_R(t) + (k2 - R1 k2 / (1 + BPND)) [C_R * exp(-k2 t / (1 + BPND))](t)

with R1 = K1/K1' (relative delivery), k2 the target's efflux rate and BPND the
non-displaceable binding potential. The model is evaluated as frame means with the
exact convolution of ``frames.FrameGrid``, and fitted with
``scipy.optimize.least_squares`` (trust-region reflective, within the bounds of
``config pet.srtm``), weighting each frame by its duration and decay
(``frame_weights``). The start comes from the basis-function method (Gunn et al.
1997, NeuroImage 6:279-287): for a grid of apparent efflux rates k2a = k2/(1+BPND)
the model is linear in R1 and k2 - R1 k2a, and the best grid point starts the
nonlinear fit, so a fit never depends on a hand-picked starting value. The basis
functions depend only on the reference TAC, so they are computed once per scan and
reused for every region.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import least_squares

from opioidsocial.pet.frames import FrameGrid, decay_constant

PARAMETERS = ("r1", "k2", "bp_nd")


@dataclass(frozen=True)
class SrtmFit:
    r1: float
    k2: float
    bp_nd: float
    rmse: float
    rel_rmse: float
    converged: bool
    message: str
    at_bound: tuple[str, ...]

    @property
    def k2_ref(self) -> float:
        """The reference region's efflux rate implied by the fit, k2' = k2 / R1."""
        return self.k2 / self.r1


def frame_weights(grid: FrameGrid, *, weighting: str, half_life_min: float) -> np.ndarray:
    """Least-squares weights (as multipliers of the residual, i.e. sqrt of 1/variance).

    'duration_decay': variance proportional to exp(lambda t) / duration, the count
    statistics of a decay-corrected frame; 'duration': proportional to 1/duration;
    'uniform': equal. Normalised to a mean squared weight of 1.
    """
    if weighting == "uniform":
        var_inv = np.ones_like(grid.mid)
    elif weighting == "duration":
        var_inv = grid.duration.copy()
    elif weighting == "duration_decay":
        var_inv = grid.duration * np.exp(-decay_constant(half_life_min) * grid.mid)
    else:
        raise ValueError(f"unknown weighting '{weighting}' (uniform, duration or duration_decay)")
    return np.sqrt(var_inv / var_inv.mean())


class ReferenceTissue:
    """SRTM for one scan: the reference TAC, its fine-grid form and cached basis functions."""

    def __init__(self, *, grid: FrameGrid, reference: np.ndarray, weights: np.ndarray, bounds: dict) -> None:
        self.grid = grid
        self.reference = np.asarray(reference, dtype=float)
        self.reference_grid = grid.to_grid(self.reference)
        self.weights = np.asarray(weights, dtype=float)
        self.lower = np.array([bounds[p][0] for p in PARAMETERS], dtype=float)
        self.upper = np.array([bounds[p][1] for p in PARAMETERS], dtype=float)
        if np.any(self.lower >= self.upper):
            raise ValueError(f"SRTM bounds must have lower < upper for {PARAMETERS}: {bounds}")
        if self.lower[1] <= 0 or self.lower[2] <= -1:
            raise ValueError("SRTM bounds need k2 > 0 and bp_nd > -1")

    def convolved(self, k2a: float) -> np.ndarray:
        """Frame means of C_R * exp(-k2a t)."""
        return self.grid.frame_means(self.grid.convolve_exp(self.reference_grid, k2a))

    def predict(self, r1: float, k2: float, bp_nd: float) -> np.ndarray:
        k2a = k2 / (1.0 + bp_nd)
        return r1 * self.reference + (k2 - r1 * k2a) * self.convolved(k2a)

    @cached_property
    def _basis(self) -> tuple[np.ndarray, np.ndarray]:
        lo = self.lower[1] / (1.0 + self.upper[2])
        hi = self.upper[1] / (1.0 + self.lower[2])
        rates = np.geomspace(max(lo, 1e-4), hi, 40)
        return rates, np.stack([self.convolved(k) for k in rates])

    def _start(self, target: np.ndarray) -> np.ndarray:
        rates, basis = self._basis
        w2 = self.weights**2
        # Weighted normal equations of  target ~ R1 C_R + slope B_k  for every basis k at once.
        rr = np.sum(w2 * self.reference**2)
        rb = basis @ (w2 * self.reference)
        bb = (basis**2) @ w2
        normal = np.stack([np.stack([np.full_like(rb, rr), rb], -1), np.stack([rb, bb], -1)], -2)
        rhs = np.stack([np.full_like(rb, np.sum(w2 * self.reference * target)), basis @ (w2 * target)], -1)
        theta = np.linalg.solve(normal, rhs[..., None])[..., 0]
        rss = np.sum(w2 * target**2) - np.sum(theta * rhs, axis=-1)
        best = int(np.nanargmin(rss))
        k2a, (r1, slope) = rates[best], theta[best]
        k2 = slope + r1 * k2a
        start = np.array([r1, k2, k2 / k2a - 1.0])
        # Keep the start strictly inside the box, as least_squares requires.
        margin = 1e-6 * (self.upper - self.lower)
        return np.clip(np.nan_to_num(start, nan=0.0), self.lower + margin, self.upper - margin)

    def fit(self, target: np.ndarray) -> SrtmFit:
        target = np.asarray(target, dtype=float)
        w = self.weights

        def residuals(theta: np.ndarray) -> np.ndarray:
            return w * (self.predict(*theta) - target)

        solution = least_squares(residuals, self._start(target), bounds=(self.lower, self.upper), x_scale="jac")
        r1, k2, bp_nd = (float(v) for v in solution.x)
        resid = self.predict(r1, k2, bp_nd) - target
        rmse = float(np.sqrt(np.mean(resid**2)))
        scale = float(np.mean(np.abs(target)))
        tol = 1e-4 * (self.upper - self.lower)
        at_bound = tuple(
            name
            for name, value, lo, hi, eps in zip(PARAMETERS, solution.x, self.lower, self.upper, tol, strict=False)
            if value - lo < eps or hi - value < eps
        )
        return SrtmFit(
            r1=r1,
            k2=k2,
            bp_nd=bp_nd,
            rmse=rmse,
            rel_rmse=rmse / scale if scale > 0 else float("inf"),
            converged=bool(solution.success and solution.status > 0),
            message=str(solution.message),
            at_bound=at_bound,
        )
