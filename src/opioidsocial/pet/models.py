"""The reference-tissue models of one scan, dispatched on config ``pet.model``.

``pet.model`` names the estimate that feeds the study level; ``pet.check_models``
names the others fitted beside it as checks (Logan by default, as before). Every
model fits each ROI of the scan against the reference TAC:

- ``SRTM``: Lammertsma & Hume 1996 (``srtm.ReferenceTissue.fit``);
- ``SRTM2``: Wu & Carson 2002, k2' fixed at the median k2/R1 of the scan's SRTM fits
  that passed their checks (``ReferenceTissue.fit_fixed_k2_ref``);
- ``MRTM`` and ``MRTM2``: Ichise et al. 2003 (``mrtm``), MRTM2's k2' the median k2'
  of the scan's MRTM fits that passed their checks;
- ``Logan``: Logan et al. 1996 (``logan``), k2' from config ``pet.logan.k2_ref`` or
  the median k2/R1 of the scan's SRTM fits that passed;
- ``ratio``: target/reference over ``pet.ratio.window_min`` minus 1 (``ratio``).

A first pass (SRTM for SRTM2 and Logan, MRTM for MRTM2) runs once per scan when a
model needs it, whether or not its own rows are asked for; the median is over the
fits that passed because a failed fit's k2' is what made it fail. Each estimate is
checked against config ``pet.plausible``; a failed or implausible one keeps its row
with the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from opioidsocial.pet.frames import FrameGrid
from opioidsocial.pet.inputs import Scan
from opioidsocial.pet.logan import fit_logan
from opioidsocial.pet.mrtm import MrtmFit, fit_mrtm
from opioidsocial.pet.ratio import fit_ratio
from opioidsocial.pet.srtm import ReferenceTissue, SrtmFit, frame_weights

MODELS = ("SRTM", "SRTM2", "MRTM", "MRTM2", "Logan", "ratio")


@dataclass(frozen=True)
class Estimate:
    """One model's BPND of one ROI; r1, k2 and rmse are NaN where the model has none."""

    model: str
    roi: str
    bp_nd: float
    r1: float
    k2: float
    rmse: float
    reasons: tuple[str, ...]


def fitted_models(cfg: dict) -> list[str]:
    """The primary model first, then the check models (each once)."""
    return list(dict.fromkeys([cfg["model"], *cfg["check_models"]]))


def finite(value: float) -> float | None:
    """JSON has no NaN or infinity: a value that is not finite is written as null."""
    return float(value) if np.isfinite(value) else None


def plausibility(model: str, *, bp_nd: float, r1: float | None, limits: dict) -> list[str]:
    reasons = []
    lo, hi = limits["bp_nd"]
    if not np.isfinite(bp_nd):
        reasons.append(f"{model} BPND is not finite")
    elif not lo <= bp_nd <= hi:
        reasons.append(f"{model} BPND {bp_nd:.3g} outside plausible [{lo:g}, {hi:g}]")
    if r1 is not None:
        lo, hi = limits["r1"]
        if not lo <= r1 <= hi:
            reasons.append(f"{model} R1 {r1:.3g} outside plausible [{lo:g}, {hi:g}]")
    return reasons


def _median_k2_ref(passes: dict[str, tuple[SrtmFit | MrtmFit, list[str]]]) -> tuple[float, int]:
    passed = [fit.k2_ref for fit, reasons in passes.values() if not reasons]
    return (float(np.median(passed)) if passed else np.nan), len(passed)


class ScanModels:
    """Every configured model of one scan, with the first passes shared between them."""

    def __init__(self, scan: Scan, *, cfg: dict) -> None:
        self.scan = scan
        self.cfg = cfg
        self.limits = cfg["plausible"]
        self.grid = FrameGrid(scan.start_min, scan.end_min, cfg["grid_s"] / 60.0)
        self.weights = frame_weights(self.grid, weighting=cfg["weighting"], half_life_min=cfg["half_life_min"])
        self.qc: dict = {"frames": int(self.grid.mid.size), "scan_end_min": float(self.grid.end[-1])}

    @cached_property
    def tissue(self) -> ReferenceTissue:
        return ReferenceTissue(grid=self.grid, reference=self.scan.reference, weights=self.weights, bounds=self.cfg["srtm"]["bounds"])

    def _srtm_reasons(self, model: str, fit: SrtmFit) -> list[str]:
        reasons = []
        if not fit.converged:
            reasons.append(f"{model} did not converge ({fit.message})")
        if fit.at_bound:
            reasons.append(f"{model} {', '.join(fit.at_bound)} at the bound of pet.srtm.bounds")
        reasons += plausibility(model, bp_nd=fit.bp_nd, r1=fit.r1, limits=self.limits)
        if fit.rel_rmse > self.limits["max_rel_rmse"]:
            reasons.append(f"{model} relative RMSE {fit.rel_rmse:.3g} > {self.limits['max_rel_rmse']:g}")
        return reasons

    def _mrtm_reasons(self, model: str, fit: MrtmFit) -> list[str]:
        if fit.problem:
            return [f"{model}: {fit.problem}"]
        reasons = plausibility(model, bp_nd=fit.bp_nd, r1=fit.r1, limits=self.limits)
        if fit.rel_rmse > self.limits["max_rel_rmse"]:
            reasons.append(f"{model} relative RMSE {fit.rel_rmse:.3g} > {self.limits['max_rel_rmse']:g}")
        return reasons

    @cached_property
    def srtm_pass(self) -> dict[str, tuple[SrtmFit, list[str]]]:
        fits = {roi: self.tissue.fit(tac) for roi, tac in self.scan.rois.items()}
        self.qc["srtm"] = {roi: {"rel_rmse": finite(f.rel_rmse), "k2_ref": finite(f.k2_ref)} for roi, f in fits.items()}
        return {roi: (f, self._srtm_reasons("SRTM", f)) for roi, f in fits.items()}

    def _mrtm_fit(self, tac: np.ndarray, k2_ref: float | None) -> MrtmFit:
        return fit_mrtm(tac, self.scan.reference, grid=self.grid, weights=self.weights,
                        t_star_min=self.cfg["mrtm"]["t_star_min"], k2_ref=k2_ref)

    @cached_property
    def mrtm_pass(self) -> dict[str, tuple[MrtmFit, list[str]]]:
        fits = {roi: self._mrtm_fit(tac, None) for roi, tac in self.scan.rois.items()}
        self.qc["mrtm"] = {roi: {"rel_rmse": finite(f.rel_rmse), "k2_ref": finite(f.k2_ref), "n_frames": f.n_frames}
                           for roi, f in fits.items()}
        return {roi: (f, self._mrtm_reasons("MRTM", f)) for roi, f in fits.items()}

    def _fixed(self, model: str, passes: dict) -> float:
        """k2' of SRTM2 / MRTM2: the median over the first pass's fits that passed."""
        k2_ref, n = _median_k2_ref(passes)
        first = "SRTM" if model == "SRTM2" else "MRTM"
        self.qc.setdefault("fixed_k2_ref", {})[model] = {"value": finite(k2_ref), "source": f"median k2' of {n} {first} fit(s)"}
        return k2_ref

    def estimates(self, model: str) -> list[Estimate]:
        """One Estimate per ROI of ``model`` (one of MODELS)."""
        return [Estimate(model, roi, *values) for roi, values in getattr(self, f"_fit_{model.lower()}")().items()]

    @staticmethod
    def _from_pass(passes: dict) -> dict:
        return {roi: (f.bp_nd, f.r1, f.k2, f.rmse, tuple(r)) for roi, (f, r) in passes.items()}

    def _fit_srtm(self) -> dict:
        return self._from_pass(self.srtm_pass)

    def _fit_srtm2(self) -> dict:
        k2_ref = self._fixed("SRTM2", self.srtm_pass)
        out, qc = {}, {}
        for roi, tac in self.scan.rois.items():
            if not np.isfinite(k2_ref):
                out[roi] = (np.nan, np.nan, np.nan, np.nan, ("SRTM2: no SRTM fit passed, so there is no k2' to fix",))
                continue
            fit = self.tissue.fit_fixed_k2_ref(tac, k2_ref=k2_ref)
            out[roi] = (fit.bp_nd, fit.r1, fit.k2, fit.rmse, tuple(self._srtm_reasons("SRTM2", fit)))
            qc[roi] = {"rel_rmse": finite(fit.rel_rmse)}
        self.qc["srtm2"] = qc
        return out

    def _fit_mrtm(self) -> dict:
        return self._from_pass(self.mrtm_pass)

    def _fit_mrtm2(self) -> dict:
        k2_ref = self._fixed("MRTM2", self.mrtm_pass)
        fits = {roi: self._mrtm_fit(tac, k2_ref) for roi, tac in self.scan.rois.items()}
        self.qc["mrtm2"] = {roi: {"rel_rmse": finite(f.rel_rmse), "n_frames": f.n_frames} for roi, f in fits.items()}
        return {roi: (f.bp_nd, f.r1, f.k2, f.rmse, tuple(self._mrtm_reasons("MRTM2", f))) for roi, f in fits.items()}

    def _fit_logan(self) -> dict:
        configured = self.cfg["logan"]["k2_ref"]
        if configured is not None:
            k2_ref, source = float(configured), "config pet.logan.k2_ref"
        else:
            k2_ref, n = _median_k2_ref(self.srtm_pass)
            source = f"median k2/R1 of {n} SRTM fit(s)"
        self.qc.update(k2_ref=finite(k2_ref), k2_ref_source=source)
        out, qc = {}, {}
        for roi, tac in self.scan.rois.items():
            fit = fit_logan(tac, self.scan.reference, grid=self.grid, k2_ref=k2_ref,
                            t_star_min=self.cfg["logan"]["t_star_min"], min_frames=self.cfg["logan"]["min_frames"])
            if fit.problem:
                reasons = [f"Logan: {fit.problem}"]
            else:
                reasons = plausibility("Logan", bp_nd=fit.bp_nd, r1=None, limits=self.limits)
                if fit.r2 < self.limits["min_logan_r2"]:
                    reasons.append(f"Logan plot r2 {fit.r2:.3g} < {self.limits['min_logan_r2']:g}")
            out[roi] = (fit.bp_nd, np.nan, np.nan, np.nan, tuple(reasons))
            qc[roi] = {"r2": finite(fit.r2), "intercept": finite(fit.intercept), "n_frames": fit.n_frames}
        self.qc["logan"] = qc
        return out

    def _fit_ratio(self) -> dict:
        out, qc = {}, {}
        for roi, tac in self.scan.rois.items():
            fit = fit_ratio(tac, self.scan.reference, start_min=self.grid.start, end_min=self.grid.end,
                            window_min=self.cfg["ratio"]["window_min"])
            reasons = [f"ratio: {fit.problem}"] if fit.problem else plausibility("ratio", bp_nd=fit.bp_nd, r1=None, limits=self.limits)
            out[roi] = (fit.bp_nd, np.nan, np.nan, np.nan, tuple(reasons))
            qc[roi] = {"covered_min": fit.covered_min}
        self.qc["ratio"] = qc
        return out
