"""Benchmark: recovery of the simulated truth by the PET stage, over many participants.

The unit tests check noise-free recovery and a small noisy sample; this runs the
whole per-participant path (simulated TAC files -> ``fit_participant``) for many
participants with the demo's noise and reports, per model (SRTM, Logan):

- the relative bias of BPND (mean of estimate / truth - 1 over all participants,
  ROIs and scans, with its Monte Carlo standard error) and the SD of the relative
  error of single estimates, overall and per ROI;
- the fraction of fits flagged;
- the mean MOR activation (baseline - condition) per ROI against the simulated
  population mean;
- the trait correlations: r of the estimated activation with each trait against
  (a) r of the true activation with the trait in the same sample, (b) that value
  times SD(true activation) / SD(estimated activation), which is what r becomes
  when measurement error independent of the trait is added to the activation
  (attenuation; Spearman 1904), and (c) the population value in truth.json.

Usage::

    python benchmarks/pet_recovery.py [--participants 100] [--jobs 2]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()

    cfg = validate_section({}, "pet.schema.yaml", source="benchmark")
    params = validate_section({"participants": args.participants}, "simulate_pet.schema.yaml", source="benchmark")
    with tempfile.TemporaryDirectory() as root:
        row = {"study": "bench", "input": "tac", "reference": "baseline", "path": root}
        simulate_study(study="bench", row=row, params=params, seed=args.seed)
        truth = json.loads((Path(root) / "truth.json").read_text())
        sheet = load_participants(pd.Series(row), schemas=SCHEMA_DIR)
        start = time.perf_counter()
        with ProcessPoolExecutor(args.jobs) as pool:
            bp = pd.concat(pool.map(partial(_fit, root=root, cfg=cfg), sheet["participant"]), ignore_index=True)
        seconds = time.perf_counter() - start

    people = truth["participants"]
    bp["truth"] = [people[r.participant]["bp_nd"][r.roi][r.condition] for r in bp.itertuples()]
    bp["rel_error"] = bp["bp_nd"] / bp["truth"] - 1
    traits = traits_of(sheet, [], study="bench")
    pairs = contrasts(cfg["conditions"], "baseline")
    result = {"participants": args.participants, "fit_seconds": seconds, "jobs": args.jobs, "seed": args.seed, "models": {}}
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
        result["models"][model] = {
            "relative_bias": float(err.mean()),
            "relative_bias_mc_se": float(err.std() / np.sqrt(len(err))),
            "relative_sd": float(err.std()),
            "flagged_fraction": float(1 - len(ok) / len(rows)),
            "per_roi": {roi: {"relative_bias": float(v["mean"]), "relative_sd": float(v["std"]), "n": int(v["count"])} for roi, v in per_roi.iterrows()},
            "activation": activation,
            "trait_correlations": correlations,
        }
        print(f"{model}: BPND relative bias {100 * err.mean():+.2f} % (MC SE {100 * err.std() / np.sqrt(len(err)):.2f} %), "
              f"SD of single estimates {100 * err.std():.1f} %, flagged {100 * (1 - len(ok) / len(rows)):.1f} %")
        for name, c in correlations.items():
            if abs(c["population"]) >= 0.5:
                print(f"  r({name}): estimated {c['estimated']:+.2f}, expected after attenuation {c['expected_after_attenuation']:+.2f}, "
                      f"true change in sample {c['true_change_in_sample']:+.2f}, population {c['population']:+.2f}")
    print(f"{args.participants} participants x 21 ROI-scans x 2 models fitted in {seconds:.1f} s with {args.jobs} processes")
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
