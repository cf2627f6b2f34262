"""Benchmark: SRTM for all ROIs x 3 scans of one participant, on one core.

The target: every ROI of every scan of one participant (the demo's 7
ROIs x baseline, rejection, acceptance = 21 fits) fitted with SRTM in under a
second on one core.

Method. One participant is simulated with the demo's defaults
(``opioidsocial.simulate.pet``: 25 frames over 90 minutes, noise as in the demo)
into a temporary directory; its three TAC files are read once. The timed unit is
what ``pet.participant`` does per participant for SRTM: per scan, build the
``ReferenceTissue`` (fine grid, basis functions) and fit every ROI. The process is
pinned to one CPU (``os.sched_setaffinity``) and BLAS threads are limited to one
before NumPy is imported. Each figure is the median of ``--repeats`` wall-clock
times (``time.perf_counter``) after one untimed call.

No PET kinetic-modelling package installs here (kinfitr is R and not on CRAN's
Debian mirror; PET-PAL needs Python >= 3.12), so the comparison is the approach
ad-hoc scripts and kinfitr use: interpolate the reference TAC onto an even grid of
1024 points, convolve with ``numpy.convolve`` (a Riemann sum), evaluate the model at
frame mid-times, and fit with ``scipy.optimize.curve_fit`` (Levenberg-Marquardt)
from one fixed start (R1 = 1, k2 = 0.1, BPND = 1.5). Both are also run on
noise-free TACs (BPND 1.5, R1 1.2) to show what the speed costs or buys in accuracy.

Usage::

    python benchmarks/pet_srtm.py [--repeats 15]

Writes ``benchmarks/results/pet_srtm.json``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.optimize import curve_fit  # noqa: E402

from opioidsocial.config import validate_section  # noqa: E402
from opioidsocial.pet.frames import FrameGrid  # noqa: E402
from opioidsocial.pet.inputs import Scan, read_scan, tac_path  # noqa: E402
from opioidsocial.pet.srtm import ReferenceTissue, frame_weights  # noqa: E402
from opioidsocial.simulate.pet import noise_free_tacs, simulate_study  # noqa: E402

RESULT = Path(__file__).resolve().parent / "results" / "pet_srtm.json"


def ours(scans, cfg) -> list[float]:
    estimates = []
    for scan in scans:
        grid = FrameGrid(scan.start_min, scan.end_min, cfg["grid_s"] / 60.0)
        weights = frame_weights(grid, weighting=cfg["weighting"], half_life_min=cfg["half_life_min"])
        model = ReferenceTissue(grid=grid, reference=scan.reference, weights=weights, bounds=cfg["srtm"]["bounds"])
        estimates += [model.fit(tac).bp_nd for tac in scan.rois.values()]
    return estimates


def riemann_srtm(scans) -> list[float]:
    """The usual ad-hoc SRTM: even 1024-point grid, numpy.convolve, values at mid-times."""
    estimates = []
    for scan in scans:
        mid = 0.5 * (scan.start_min + scan.end_min)
        t = np.linspace(0.0, scan.end_min[-1], 1024)
        dt = t[1] - t[0]
        ref = np.interp(t, np.concatenate([[0.0], mid]), np.concatenate([[0.0], scan.reference]))

        def model(x, r1, k2, bp, t=t, ref=ref, dt=dt):
            k2a = k2 / (1 + bp)
            conv = np.convolve(ref, np.exp(-k2a * t))[: t.size] * dt
            return np.interp(x, t, r1 * ref + (k2 - r1 * k2a) * conv)

        for tac in scan.rois.values():
            try:
                popt, _ = curve_fit(model, mid, tac, p0=(1.0, 0.1, 1.5), maxfev=2000)
                estimates.append(float(popt[2]))
            except RuntimeError:
                estimates.append(float("nan"))
    return estimates


def timed(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    cfg = validate_section({}, "pet.schema.yaml", source="benchmark")
    params = validate_section({"participants": 3}, "simulate_pet.schema.yaml", source="benchmark")
    with tempfile.TemporaryDirectory() as tmp:
        row = {"study": "bench", "input": "tac", "reference": "baseline", "path": tmp}
        simulate_study(study="bench", row=row, params=params, seed=1)
        scans = [
            read_scan(tac_path(tmp, "01", c), study="bench", participant="01", condition=c, cfg=cfg)
            for c in cfg["conditions"]
        ]
    fits = sum(len(s.rois) for s in scans)
    ours_s = timed(lambda: ours(scans, cfg), args.repeats)
    alt_s = timed(lambda: riemann_srtm(scans), max(3, args.repeats // 3))

    # Accuracy on noise-free TACs with BPND 1.5 and R1 1.2 (the validation case).
    grid = FrameGrid(scans[0].start_min, scans[0].end_min, cfg["grid_s"] / 60.0)
    reference, rois = noise_free_tacs(start_min=grid.start, end_min=grid.end, k1_ref=0.3, k2_ref=0.15, targets={"r": (1.5, 1.2)})
    clean = [Scan(condition="baseline", start_min=grid.start, end_min=grid.end, reference=reference, rois=rois)]
    ours_err = 100 * (ours(clean, cfg)[0] / 1.5 - 1)
    alt_err = 100 * (riemann_srtm(clean)[0] / 1.5 - 1)
    agreement = np.nanmax(np.abs(np.array(ours(scans, cfg)) - np.array(riemann_srtm(scans))))

    result = {
        "target": "all ROIs x 3 scans of one participant with SRTM in < 1 s on one core",
        "fits": fits,
        "ours_seconds": ours_s,
        "ours_ms_per_fit": 1000 * ours_s / fits,
        "meets_target": ours_s < 1.0,
        "riemann_curve_fit_seconds": alt_s,
        "speed_ratio_riemann_over_ours": alt_s / ours_s,
        "noise_free_bp_error_percent": {"ours": ours_err, "riemann_curve_fit": alt_err},
        "max_abs_bp_difference_on_noisy_demo_tacs": float(agreement),
        "repeats": args.repeats,
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(), "cores_used": 1,
                    "load_average_1min": os.getloadavg()[0]},
        "versions": {name: metadata.version(name) for name in ("numpy", "scipy", "opioidsocial")},
    }
    print(f"SRTM, {fits} fits (7 ROIs x 3 scans), one core: {ours_s:.3f} s ({1000 * ours_s / fits:.1f} ms per fit); target < 1 s: "
          f"{'met' if ours_s < 1 else 'NOT met'}")
    print(f"ad-hoc Riemann-sum SRTM with curve_fit: {alt_s:.3f} s = {alt_s / ours_s:.1f}x ours")
    print(f"noise-free BPND 1.5 / R1 1.2 error: ours {ours_err:+.3f} %, Riemann-sum {alt_err:+.3f} %")
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
