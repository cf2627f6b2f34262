"""Independent reference implementations of the PET kinetic models, for the tests only.

Nothing here uses ``opioidsocial.pet`` (no ``FrameGrid``, no ``lfilter``
convolution): curves come from ordinary differential equations integrated with
``scipy.integrate.solve_ivp`` (LSODA), integrals from ``cumulative_trapezoid``,
regressions from ``statsmodels`` WLS or ``numpy.polyfit``, nonlinear fits from
``scipy.optimize.curve_fit``. The definitions are the published ones:

- compartment models (Gunn et al. 2001, J Cereb Blood Flow Metab 21:635): reference
  dC'/dt = K1' Cp - k2' C'; one-tissue target dC/dt = K1 Cp - k2a C with
  k2a = k2 / (1 + BPND); two-tissue target dC1/dt = K1 Cp - (k2 + k3) C1 + k4 C2,
  dC2/dt = k3 C1 - k4 C2, BPND = k3 / k4;
- SRTM (Lammertsma & Hume 1996) with the reference TAC taken, as in kinfitr and in
  the package, as linear through (0, 0) and the frame mid-times: C_T = R1 C_R + x,
  dx/dt = (k2 - R1 k2a) C_R - k2a x, compared as frame means (R1 times the
  measured reference frame mean plus the frame mean of x); SRTM2 (Wu & Carson
  2002) the same with k2 = R1 k2';
- MRTM / MRTM2 as kinfitr's ``mrtm1`` / ``mrtm2``: weighted regression of C_T on
  [int C_R, int C_T, C_R] / [int C_R + C_R / k2', int C_T], integrals by the
  trapezoid rule from (0, 0) through the mid-times;
- Logan's reference plot (Logan et al. 1996) by ``numpy.polyfit``;
- the ratio over a window by looping over frames.
"""

from __future__ import annotations

import numpy as np
import statsmodels.api as sm
from scipy.integrate import cumulative_trapezoid, solve_ivp
from scipy.optimize import curve_fit

C11_HALF_LIFE = 20.364


def frames(blocks) -> tuple[np.ndarray, np.ndarray]:
    durations = np.concatenate([np.full(n, s / 60.0) for n, s in blocks])
    end = np.cumsum(durations)
    return end - durations, end


def weights(start, end, half_life=C11_HALF_LIFE) -> np.ndarray:
    """1/variance of a decay-corrected frame: duration x exp(-lambda mid), mean 1."""
    w = (end - start) * np.exp(-np.log(2) / half_life * (start + end) / 2)
    return w / w.mean()


def _frame_means(rhs, n_states, start, end, *, max_step=0.02, rtol=1e-10, decay: float = 0.0) -> np.ndarray:
    """Frame means of every state of dy/dt = rhs(t, y), y(0) = 0, via an integral state.

    ``decay`` > 0 (1/min): the frame means of y(t) exp(-decay t), i.e. what a scanner
    measures before decay correction.
    """
    def full(t, y):
        dy = rhs(t, y[:n_states])
        return np.concatenate([dy, y[:n_states] * np.exp(-decay * t)])

    times = np.unique(np.concatenate([[0.0], start, end]))
    sol = solve_ivp(full, (0.0, times[-1]), np.zeros(2 * n_states), method="LSODA", t_eval=times,
                    rtol=rtol, atol=rtol * 1e-2, max_step=max_step)
    integral = {t: sol.y[n_states:, i] for i, t in enumerate(sol.t)}
    return np.array([(integral[b] - integral[a]) / (b - a) for a, b in zip(start, end, strict=True)]).T


def compartment_tacs(plasma, *, start, end, k1_ref, k2_ref, targets, decay: float = 0.0) -> tuple[np.ndarray, dict]:
    """Frame means of the reference and of targets {roi: (bp_nd, r1, two_tissue, k4)}.

    two_tissue False = one-tissue target with k2a = R1 k2' / (1 + BPND); True = two-tissue
    with K1 = R1 K1', k2 = R1 k2' (same non-displaceable distribution volume as the
    reference) and k3 = BPND x k4. ``decay``: see ``_frame_means``.
    """
    reference = _frame_means(lambda t, y: np.array([k1_ref * plasma(t) - k2_ref * y[0]]), 1, start, end, decay=decay)[0]
    out = {}
    for roi, (bp, r1, two_tissue, k4) in targets.items():
        k1, k2 = r1 * k1_ref, r1 * k2_ref
        if not two_tissue:
            k2a = k2 / (1 + bp)
            out[roi] = _frame_means(lambda t, y, k1=k1, k2a=k2a: np.array([k1 * plasma(t) - k2a * y[0]]), 1, start, end, decay=decay)[0]
        else:
            k3 = bp * k4

            def rhs(t, y, k1=k1, k2=k2, k3=k3, k4=k4):
                return np.array([k1 * plasma(t) - (k2 + k3) * y[0] + k4 * y[1], k3 * y[0] - k4 * y[1]])

            out[roi] = _frame_means(rhs, 2, start, end, decay=decay).sum(axis=0)
    return reference, out


def _knots(start, end, values):
    mid = (start + end) / 2
    return np.concatenate([[0.0], mid]), np.concatenate([[0.0], values])


def srtm_predict(theta, *, start, end, reference, k2_ref=None) -> np.ndarray:
    """SRTM (theta = R1, k2, BPND) or SRTM2 (theta = R1, BPND with k2_ref) frame means."""
    if k2_ref is None:
        r1, k2, bp = theta
    else:
        r1, bp = theta
        k2 = r1 * k2_ref
    k2a = k2 / (1 + bp)
    t_knots, v_knots = _knots(start, end, reference)

    def c_ref(t):
        return np.interp(t, t_knots, v_knots)

    x = _frame_means(lambda t, y: np.array([(k2 - r1 * k2a) * c_ref(t) - k2a * y[0]]), 1, start, end, max_step=0.5, rtol=1e-10)[0]
    return r1 * reference + x


def fit_srtm(target, *, start, end, reference, k2_ref=None, p0=None) -> dict:
    w = weights(start, end)
    fixed = k2_ref is not None
    p0 = p0 if p0 is not None else ([1.0, 1.5] if fixed else [1.0, 0.15, 1.5])

    def model(_, *theta):
        return srtm_predict(theta, start=start, end=end, reference=reference, k2_ref=k2_ref)

    theta, _ = curve_fit(model, np.zeros_like(target), target, p0=p0, sigma=1 / np.sqrt(w), absolute_sigma=False,
                         method="trf", diff_step=1e-6, xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=400)
    if fixed:
        return {"r1": theta[0], "k2": theta[0] * k2_ref, "bp_nd": theta[1]}
    return {"r1": theta[0], "k2": theta[1], "bp_nd": theta[2], "k2_ref": theta[1] / theta[0]}


def _integral(start, end, values) -> np.ndarray:
    t, v = _knots(start, end, values)
    return cumulative_trapezoid(v, t, initial=0.0)[1:]


def fit_mrtm(target, *, start, end, reference, t_star=0.0, k2_ref=None) -> dict:
    late = (start + end) / 2 >= t_star
    int_ref, int_target = _integral(start, end, reference)[late], _integral(start, end, target)[late]
    if k2_ref is None:
        x = np.column_stack([int_ref, int_target, reference[late]])
    else:
        x = np.column_stack([int_ref + reference[late] / k2_ref, int_target])
    g = sm.WLS(target[late], x, weights=weights(start, end)[late]).fit().params
    out = {"bp_nd": -(g[0] / g[1] + 1), "k2": g[0]}
    if k2_ref is None:
        out.update(r1=g[2], k2_ref=g[0] / g[2])
    else:
        out.update(r1=g[0] / k2_ref)
    return out


def fit_logan(target, *, start, end, reference, k2_ref, t_star) -> float:
    late = (start + end) / 2 >= t_star
    x = (_integral(start, end, reference) + reference / k2_ref)[late] / target[late]
    y = _integral(start, end, target)[late] / target[late]
    return float(np.polyfit(x, y, 1)[0] - 1)


def ratio(target, *, start, end, reference, window) -> float:
    num = den = covered = 0.0
    for a, b, t, r in zip(start, end, target, reference, strict=True):
        overlap = max(0.0, min(b, window[1]) - max(a, window[0]))
        num, den, covered = num + overlap * t, den + overlap * r, covered + overlap
    return (num / covered) / (den / covered) - 1
