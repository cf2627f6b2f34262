"""Benchmark: recovery of the simulated truth by the PET stage, over many participants.

The unit tests check noise-free recovery and a small noisy sample; this runs the
whole per-participant path (simulated TAC files -> ``fit_participant``) for many
participants with the demo's noise, once with one-tissue targets (where SRTM and
its relatives are exact) and once per ``--k4`` with two-tissue targets
(k3 = BPND k4; carfentanil's targets are two-tissue), and reports, per target kind
and model (SRTM, SRTM2, MRTM, MRTM2, Logan, ratio; every model of
``opioidsocial.pet.models``):

- the relative bias of BPND (mean of estimate / truth - 1 over all participants,
  ROIs and scans, with its Monte Carlo standard error), the relative RMSE
  (sqrt of the mean squared relative error) and the SD of the relative error of
  single estimates, overall and per ROI, and the same bias on noise-free TACs of a
  few participants (the model's own bias, without noise);
- the fraction of fits flagged;
- the mean MOR activation (baseline - condition) per ROI against the simulated
  population mean;
- the trait correlations: r of the estimated activation with each trait against
  (a) r of the true activation with the trait in the same sample, (b) that value
  times SD(true activation) / SD(estimated activation), which is what r becomes
  when measurement error independent of the trait is added to the activation
  (attenuation; Spearman 1904), and (c) the population value in truth.json.

Usage::

    python benchmarks/pet_recovery.py [--participants 100] [--jobs 2] [--k4 0.2 0.05]

Writes ``benchmarks/results/pet_recovery.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from opioidsocial.config import SCHEMA_DIR, validate_section
from opioidsocial.pet.inputs import tac_path
from opioidsocial.pet.models import MODELS
from opioidsocial.pet.paired import activation as activation_of
from opioidsocial.pet.paired import contrasts, paired_tests, trait_correlations
from opioidsocial.pet.participant import fit_participant
from opioidsocial.pet.study import traits_of
from opioidsocial.sheets import load_participants
from opioidsocial.simulate.pet import simulate_study

RESULT = Path(__file__).resolve().parent / "results" / "pet_recovery.json"


def _fit(participant: str, *, root: str, cfg: dict) -> pd.DataFrame:
    tacs = {c: tac_path(root, participant, c) for c in cfg["conditions"]}
    return fit_participant(study="bench", participant=participant, tacs=tacs, cfg=cfg)[0]


def _simulate_and_fit(*, participants: int, overrides: dict, seed: int, cfg: dict, jobs: int) -> tuple[pd.DataFrame, dict, pd.DataFrame, float]:
    """Fitted PET_BP rows with truth and relative error, the truth, the sheet and the fit time."""
    params = validate_section({"participants": participants, **overrides}, "simulate_pet.schema.yaml", source="benchmark")
    with tempfile.TemporaryDirectory() as root:
        row = {"study": "bench", "input": "tac", "reference": "baseline", "path": root}
        simulate_study(study="bench", row=row, params=params, seed=seed)
        truth = json.loads((Path(root) / "truth.json").read_text())
        sheet = load_participants(pd.Series(row), schemas=SCHEMA_DIR)
        start = time.perf_counter()
        with ProcessPoolExecutor(jobs) as pool:
            bp = pd.concat(pool.map(partial(_fit, root=root, cfg=cfg), sheet["participant"]), ignore_index=True)
        seconds = time.perf_counter() - start
    people = truth["participants"]
    bp["truth"] = [people[r.participant]["bp_nd"][r.roi][r.condition] for r in bp.itertuples()]
    bp["rel_error"] = bp["bp_nd"] / bp["truth"] - 1
    return bp, truth, sheet, seconds


def _recovery(bp: pd.DataFrame, truth: dict, sheet: pd.DataFrame, cfg: dict) -> dict:
    people = truth["participants"]
    traits = traits_of(sheet, [], study="bench")
    pairs = contrasts(cfg["conditions"], "baseline")
    out = {}
    for model, rows in bp.groupby("model"):
        ok = rows[rows["fit_ok"]]
        err = ok["rel_error"]
        per_roi = ok.groupby("roi")["rel_error"].agg(["mean", "std", "count"])
        paired = paired_tests(rows, pairs=pairs, ci_level=0.95, fdr_method="fdr_bh").set_index(["contrast", "roi"])
        activation = {
            cond: {roi: {"estimated": float(paired.loc[(f"baseline - {cond}", roi), "mean_change"]), "population": mean}
                   for roi, mean in rois.items()}
            for cond, rois in truth["population_mean_change"].items()
        }
        correlations = {}
        estimated_change = {p.condition: activation_of(rows, p) for p in pairs if p.versus == "baseline"}
        for r in trait_correlations(rows, traits, pairs=pairs, ci_level=0.95, fdr_method="fdr_bh").itertuples():
            true_change = pd.Series({p: t["bp_nd"][r.roi]["baseline"] - t["bp_nd"][r.roi][r.condition] for p, t in people.items()})
            sample_r = float(np.corrcoef(true_change[traits.index], traits[r.trait])[0, 1])
            attenuation = float(true_change.std() / estimated_change[r.condition][r.roi].std())
            correlations[f"{r.trait} x {r.roi} during {r.condition}"] = {
                "estimated": r.r, "true_change_in_sample": sample_r, "expected_after_attenuation": sample_r * attenuation,
                "population": truth["expected_r"][r.trait][r.condition][r.roi],
            }
        out[model] = {
            "relative_bias": float(err.mean()),
            "relative_bias_mc_se": float(err.std() / np.sqrt(len(err))),
            "relative_rmse": float(np.sqrt(np.mean(err**2))),
            "relative_sd": float(err.std()),
            "flagged_fraction": float(1 - len(ok) / len(rows)),
            "per_roi": {roi: {"relative_bias": float(v["mean"]), "relative_sd": float(v["std"]), "n": int(v["count"])} for roi, v in per_roi.iterrows()},
            "activation": activation,
            "trait_correlations": correlations,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=100)
    parser.add_argument("--noise-free-participants", type=int, default=5, help="at least 3")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--k4", type=float, nargs="*", default=[0.2, 0.05], help="k4 (1/min) of the two-tissue runs")
    args = parser.parse_args()

    models = list(MODELS)
    cfg = validate_section({"model": models[0], "check_models": models[1:]}, "pet.schema.yaml", source="benchmark")
    kinds = {"one-tissue": None, **{f"two-tissue, k4 = {k4:g}/min": k4 for k4 in args.k4}}
    result = {"participants": args.participants, "noise_free_participants": args.noise_free_participants, "jobs": args.jobs,
              "seed": args.seed, "targets": {}}
    for label, k4 in kinds.items():
        bp, truth, sheet, seconds = _simulate_and_fit(participants=args.participants, overrides={"k4": k4}, seed=args.seed, cfg=cfg, jobs=args.jobs)
        clean, *_ = _simulate_and_fit(participants=args.noise_free_participants, overrides={"k4": k4, "noise": 0.0}, seed=args.seed, cfg=cfg, jobs=args.jobs)
        kind = {"k4": k4, "fit_seconds": seconds, "models": _recovery(bp, truth, sheet, cfg)}
        for model, rows in clean.groupby("model"):
            kind["models"][model]["noise_free_relative_bias"] = float(rows["rel_error"].mean())
            kind["models"][model]["noise_free_flagged_fraction"] = float(1 - rows["fit_ok"].mean())
        result["targets"][label] = kind
        print(f"{label} ({seconds:.1f} s for {args.participants} participants x 21 ROI-scans x {len(models)} models, {args.jobs} processes)")
        for model in models:
            m = kind["models"][model]
            print(f"  {model:6s} bias {100 * m['relative_bias']:+6.2f} % (MC SE {100 * m['relative_bias_mc_se']:.2f}), "
                  f"RMSE {100 * m['relative_rmse']:5.2f} %, flagged {100 * m['flagged_fraction']:4.1f} %; "
                  f"noise-free bias {100 * m['noise_free_relative_bias']:+6.2f} %")
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
