"""Parameter recovery of the study-level EMG models on simulated studies.

Simulates many studies with the demo's designs (config/config.yaml, simulate.emg:
the naltrexone 2016, Korb 2023 and morphine 2022 designs, 6-8 participants per arm)
from the trial-level generative model of the BDF simulator
(``opioidsocial.simulate.emg.simulate_trials``), fits each study's models exactly as
the workflow does (``models`` config defaults: one model per muscle, fall-back
ladder) and compares the planned drug-minus-reference contrasts with the true
effects: coverage of the 95 % CIs (target 93-97 %), bias, RMSE and the ratio of the
mean SE to the empirical SD of the estimates.

    python benchmarks/lmm_recovery.py --per-design 70 --jobs 2

writes benchmarks/results/lmm_recovery.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from demo import demo_emg  # benchmarks/demo.py (run as python benchmarks/<name>.py)

from opioidsocial.emg.study import fit_study, planned_contrasts
from opioidsocial.simulate.emg import simulate_trials

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "lmm_recovery.json"


def one_study(job: tuple[str, dict, dict, dict, int]) -> tuple[pd.DataFrame, list[str]]:
    """Fit one simulated study; its contrasts next to the truth, and the fall-back steps taken."""
    name, row, params, cfg, seed = job
    trials, truth = simulate_trials(study=name, params=params, seed=seed, reference=row["reference"])
    trials["study"] = name
    models = fit_study(trials, study_row=row, cfg=cfg)
    contrasts = planned_contrasts(models, reference=row["reference"], within=cfg["contrast_within"], level=cfg["level"], adjust=cfg["adjust"])
    true = pd.DataFrame(truth["contrasts"])[["arm", "muscle", "emotion", "effect_uv"]]
    merged = contrasts.merge(true, on=["arm", "muscle", "emotion"], how="left", validate="one_to_one")
    if merged["effect_uv"].isna().any():
        raise RuntimeError(f"{name} seed {seed}: contrasts without a true value")
    merged.insert(0, "seed", seed)
    merged.insert(0, "design", name)
    steps = [" > ".join(a["step"] for a in m.attempts) for m in models]
    return merged, steps


def summary(table: pd.DataFrame) -> dict:
    covered = (table["ci_low"] <= table["effect_uv"]) & (table["effect_uv"] <= table["ci_high"])
    error = table["estimate"] - table["effect_uv"]
    n = len(table)
    cover = float(covered.mean())
    by_cell = table.assign(error=error).groupby(["design", "arm", "muscle", "emotion"])
    return {
        "contrasts": n,
        "coverage": cover,
        "coverage_mc_se": float(np.sqrt(cover * (1 - cover) / n)),
        "bias_uv": float(error.mean()),
        "bias_mc_se": float(error.std(ddof=1) / np.sqrt(n)),
        "max_abs_cell_bias_uv": float(by_cell["error"].mean().abs().max()),
        "rmse_uv": float(np.sqrt((error**2).mean())),
        "mean_se_over_empirical_sd": float((by_cell["se"].mean() / by_cell["estimate"].std(ddof=1)).mean()),
        "median_df": float(table["df"].median()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-design", type=int, default=70, help="simulated studies per demo design (3 designs)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()

    cfg, sheet, designs = demo_emg("models")
    jobs = [
        (name, sheet.loc[name].to_dict(), designs[name], cfg, args.seed + 1000 * d + i)
        for d, name in enumerate(sorted(designs))
        for i in range(args.per_design)
    ]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(one_study, jobs, chunksize=4))
    elapsed = time.perf_counter() - start
    table = pd.concat([r[0] for r in results], ignore_index=True)
    steps = Counter(s for r in results for s in r[1])
    out = {
        "what": "coverage of the 95 % CIs of the planned contrasts (arm - reference per emotion x muscle) over simulated studies",
        "studies": len(jobs),
        "per_design": args.per_design,
        "seed": args.seed,
        "model": {k: cfg[k] for k in ("formula", "by", "reml", "fallback", "level")},
        "overall": summary(table),
        "by_design": {name: summary(group) for name, group in table.groupby("design")},
        "null_contrasts": summary(table[table["effect_uv"] == 0]),
        "nonnull_contrasts": summary(table[table["effect_uv"] != 0]),
        "fallback_paths": dict(sorted(steps.items())),
        "seconds": round(elapsed, 1),
        "jobs": args.jobs,
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    o = out["overall"]
    print(f"{len(jobs)} studies, {o['contrasts']} contrasts in {elapsed:.0f} s: coverage {o['coverage']:.3f} "
          f"(MC SE {o['coverage_mc_se']:.3f}), bias {o['bias_uv']:+.4f} uV (MC SE {o['bias_mc_se']:.4f}), "
          f"SE/SD {o['mean_se_over_empirical_sd']:.3f}")
    for name, s in out["by_design"].items():
        print(f"  {name}: coverage {s['coverage']:.3f}, bias {s['bias_uv']:+.4f}, SE/SD {s['mean_se_over_empirical_sd']:.3f}")
    print("  fall-back paths:", out["fallback_paths"])
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
