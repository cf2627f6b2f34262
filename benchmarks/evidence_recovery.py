"""How often the study-level evidence is right on simulated studies with the demo's designs.

Simulates many studies of each demo EMG design (config/config.yaml, simulate.emg:
the naltrexone 2016, Korb 2023 and morphine 2022 designs with their demo sample
sizes, 6-8 participants per arm) from the trial-level generative model of the BDF
simulator (``opioidsocial.simulate.emg.simulate_trials``), twice: under a true null
(the design with its ``arm_effects`` removed, so no drug changes any response) and
under the simulator's true effects (the config's ``arm_effects``). Every planned
effect (arm - reference per emotion x muscle) is tested as the workflow does
(:func:`opioidsocial.emg.effects.study_effects`, :func:`opioidsocial.emg.evidence.emg_tests`,
config ``evidence`` defaults) and counted:

* null cells: how often BF01 > 3 (evidence for no difference, the right call), BF10 > 3
  (evidence for a difference, the wrong one), and how often the TOST declares
  equivalence within +-sesoi;
* cells with a true effect: how often BF10 > 3;
* the largest BF01 any data could give with each design's arms (t = 0), which bounds
  the first rate, and the smallest n per arm at which BF01 > 3 becomes possible.

The PET designs are not simulated here (their fits need the TAC simulator).

    python benchmarks/evidence_recovery.py --per-design 100

writes benchmarks/results/evidence_recovery.json (about 1 min on one core for 100 per design).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from demo import demo_emg  # benchmarks/demo.py (run as python benchmarks/<name>.py)

from opioidsocial.emg.effects import effect_samples, study_effects
from opioidsocial.emg.evidence import emg_tests
from opioidsocial.simulate.emg import simulate_trials
from opioidsocial.stats.evidence import evidence_table, log_ttest_bf

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "evidence_recovery.json"


def one_study(*, name: str, row: dict, params: dict, cfg: dict, seed: int) -> pd.DataFrame:
    """The evidence rows of one simulated study, with each cell's true effect (uV)."""
    trials, truth = simulate_trials(study=name, params=params, seed=seed, reference=row["reference"])
    effects, _ = study_effects(trials, study_row=row)
    table = evidence_table(effects, emg_tests(effect_samples(trials, effects, study_row=row), effects, study_row=row, cfg=cfg), alpha=cfg["alpha"])
    true = pd.DataFrame(truth["contrasts"])
    true = true.assign(outcome=true["muscle"] + " to " + true["emotion"] + " faces", contrast=true["arm"] + " - " + row["reference"])
    return table.merge(true[["outcome", "contrast", "effect_uv"]], on=["outcome", "contrast"], how="left", validate="one_to_one")


def rates(table: pd.DataFrame) -> dict:
    n = len(table)

    def share(mask) -> dict:
        p = float(np.mean(mask)) if n else float("nan")
        return {"rate": p, "mc_se": float(np.sqrt(p * (1 - p) / n)) if n else float("nan")}

    return {
        "cells": n,
        "bf01_above_3": share(table["bf01"] > 3),
        "bf10_above_3": share(table["bf10"] > 3),
        "inconclusive": share((table["bf10"] <= 3) & (table["bf01"] <= 3)),
        "tost_equivalent": share(table["equivalent"].astype(bool)),
        "median_n_per_arm": float(table["n1"].median()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-design", type=int, default=100, help="simulated studies per demo design and scenario")
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()

    cfg, sheet, designs = demo_emg("evidence")
    start = time.perf_counter()
    tables = []
    for scenario in ("null", "effects"):
        for d, name in enumerate(sorted(designs)):
            params = {**designs[name], "arm_effects": {}} if scenario == "null" else designs[name]
            for i in range(args.per_design):
                seed = args.seed + 100_000 * (scenario == "effects") + 1000 * d + i
                tables.append(one_study(name=name, row=sheet.loc[name].to_dict(), params=params, cfg=cfg, seed=seed)
                              .assign(scenario=scenario, design=name))
    elapsed = time.perf_counter() - start
    table = pd.concat(tables, ignore_index=True)
    null = table[table["scenario"] == "null"]
    effects = table[table["scenario"] == "effects"]
    out = {
        "what": "share of planned EMG effects with BF01 > 3 under a true null and BF10 > 3 under the simulator's true effects",
        "per_design": args.per_design,
        "seed": args.seed,
        "evidence": cfg,
        "designs": {name: {"arms": designs[name]["arms"], "arm_effects": designs[name].get("arm_effects", {})} for name in sorted(designs)},
        "true_null": rates(null),
        "true_null_by_design": {name: rates(group) for name, group in null.groupby("design")},
        # The largest BF01 any data can give (t = 0) with each design's full arms: a ceiling on null evidence.
        "max_bf01_at_t0_by_design": {
            name: math.exp(-log_ttest_bf(t=0.0, n1=min(designs[name]["arms"].values()), n2=min(designs[name]["arms"].values()),
                                         rscale=cfg["prior_scale"]))
            for name in sorted(designs)
        },
        "n_per_arm_for_max_bf01_above_3": next(
            n for n in range(2, 10_000) if -log_ttest_bf(t=0.0, n1=n, n2=n, rscale=cfg["prior_scale"]) > math.log(3)),
        "true_effects_nonnull_cells": rates(effects[effects["effect_uv"] != 0]),
        "true_effects_nonnull_by_effect": {
            f"{r.design}: {r.contrast}, {r.outcome} ({r.effect_uv:+g} uV)": rates(group)
            for r, group in ((g.iloc[0], g) for _, g in effects[effects["effect_uv"] != 0].groupby(["design", "contrast", "outcome"]))
        },
        "true_effects_null_cells": rates(effects[effects["effect_uv"] == 0]),
        "seconds": round(elapsed, 1),
        "load_average": os.getloadavg(),
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    n, e = out["true_null"], out["true_effects_nonnull_cells"]
    print(f"{len(tables)} studies in {elapsed:.0f} s")
    print(f"true null: {n['cells']} cells, BF01 > 3 in {n['bf01_above_3']['rate']:.3f}, BF10 > 3 in {n['bf10_above_3']['rate']:.3f}, "
          f"TOST equivalent in {n['tost_equivalent']['rate']:.3f}")
    print(f"largest possible BF01 (t = 0): {out['max_bf01_at_t0_by_design']}; BF01 > 3 needs n >= {out['n_per_arm_for_max_bf01_above_3']} per arm")
    print(f"true effects: {e['cells']} cells, BF10 > 3 in {e['bf10_above_3']['rate']:.3f}")
    for label, r in out["true_effects_nonnull_by_effect"].items():
        print(f"  {label}: BF10 > 3 in {r['bf10_above_3']['rate']:.3f}")
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
