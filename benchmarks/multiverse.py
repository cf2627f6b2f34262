"""Benchmark: the multiverse's speed targets and the calibration and power of its joint tests.

Targets (the multiverse's section of the README):

1. ``participant``: a participant's multiverse work for the default 144-universe
   grid on the 30-minute, six-channel, 2048 Hz recording of
   ``benchmarks/emg_preprocess.py`` takes at most 3x today's preprocessing
   (``preprocess_participant``) of the same file. That work is its participant jobs,
   one per high-pass value (:func:`opioidsocial.multiverse.participant.participant_envelopes`:
   read, filter, every envelope's bins), plus its share of the study job
   (:func:`opioidsocial.multiverse.universes.universe_cells`: the 144 universes' cell
   means from those bins); each is timed. Everything runs once untimed, then
   alternates; each figure is the median of ``--repeats`` wall-clock times.
2. ``permutation``: the study job's statistics
   (:func:`opioidsocial.multiverse.study.study_multiverse`: every universe's effects,
   500 relabellings x 144 universes x every planned contrast, joint tests, choices)
   for a study of Korb et al. 2023's size (130 participants in three arms, two
   muscles, two emotions) take under 60 s. The cell means are drawn at random (a
   participant level shared by all universes plus universe-level noise): the time
   does not depend on their values.
3. ``calibration``: over ``--studies`` (200) simulated null studies of the demo's
   Meier-sized design (naltrexone2016 in config/config.yaml with every drug effect
   0; :mod:`opioidsocial.multiverse.calibration`), the share of studies in which each
   joint test of the planned outcome (corrugator to happy faces) rejects at 0.05, with
   its Clopper-Pearson 95 % CI, which should contain 0.05; and the same share under the
   demo's simulated effects (its power).

Usage::

    python benchmarks/multiverse.py                       # all three, about 10 minutes on 2 cores
    python benchmarks/multiverse.py --only permutation    # one of them

Writes ``benchmarks/results/multiverse.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import emg_preprocess  # noqa: E402  (the 30-minute recording)

TARGETS = {"participant_over_preprocess_max": 3.0, "permutation_seconds_max": 60.0, "calibration_ci_contains": 0.05}
OUTCOME = "corrugator to happy faces"
TESTS = ("p_median", "p_share", "p_stouffer")


def machine() -> dict:
    """The machine record, with the load average the figures were measured under."""
    import os
    import platform
    import subprocess
    from importlib import metadata

    commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    return {"nproc": len(os.sched_getaffinity(0)), "python": platform.python_version(), "load_average": os.getloadavg(), "repo_commit": commit,
            "versions": {name: metadata.version(name) for name in ("opioidsocial", "mne", "numpy", "scipy", "pandas")}}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def participant(repeats: int) -> dict:
    from opioidsocial.config import SCHEMA_DIR, validate_section
    from opioidsocial.multiverse.participant import participant_envelopes
    from opioidsocial.multiverse.universes import universe_cells

    grid = yaml.safe_load((SCHEMA_DIR / "config" / "multiverse.schema.yaml").read_text())["properties"]["grid"]["default"]
    with tempfile.TemporaryDirectory() as tmp:
        files = emg_preprocess.simulate(Path(tmp), emg_preprocess.RECORDING)
        cfg = validate_section({}, "emg.schema.yaml", source="emg")
        envelopes = {}

        def jobs():
            for i, hp in enumerate(grid["highpass_hz"]):
                envelopes[hp] = participant_envelopes(files, study="bench", participant="001", arm="placebo", emg=cfg, grid=grid,
                                                      highpass_hz=hp, first_highpass=i == 0)

        steps = {"preprocess": lambda: emg_preprocess.preprocess(files, cfg), "participant_jobs": jobs,
                 "universes": lambda: universe_cells(pd.concat(envelopes.values(), ignore_index=True), emg=cfg, grid=grid)}
        for step in steps.values():
            step()
        rows = len(universe_cells(pd.concat(envelopes.values(), ignore_index=True), emg=cfg, grid=grid))
        times = {name: [] for name in steps}
        for _ in range(repeats):
            for name, step in steps.items():
                times[name].append(timed(step))
    medians = {k: statistics.median(v) for k, v in times.items()}
    multiverse = medians["participant_jobs"] + medians["universes"]
    return {"seconds": times, "median_s": medians, "ratio": multiverse / medians["preprocess"],
            "ratio_participant_jobs": medians["participant_jobs"] / medians["preprocess"], "universes": 144, "rows": rows,
            "envelope_rows": int(sum(len(e) for e in envelopes.values())), "target_max": TARGETS["participant_over_preprocess_max"]}


def korb_sized_cells(seed: int = 1) -> tuple[pd.DataFrame, dict]:
    from opioidsocial.config import SCHEMA_DIR
    from opioidsocial.multiverse.grid import KEYS, universes

    grid = yaml.safe_load((SCHEMA_DIR / "config" / "multiverse.schema.yaml").read_text())["properties"]["grid"]["default"]
    numbers = universes(grid, dict.fromkeys(KEYS))["universe"].to_numpy()
    rng = np.random.default_rng(seed)
    arms = np.repeat(["placebo", "naltrexone", "amisulpride"], [44, 43, 43])
    cells = [(m, e) for m in ("zygomaticus", "corrugator") for e in ("happy", "angry")]
    person = rng.normal(size=(len(arms), len(cells)))
    values = person[:, None, :] + 0.3 * rng.normal(size=(len(arms), len(numbers), len(cells)))
    p, u, c = np.meshgrid(np.arange(len(arms)), np.arange(len(numbers)), np.arange(len(cells)), indexing="ij")
    return pd.DataFrame({"universe": numbers[u.ravel()], "participant": [f"{i:03d}" for i in p.ravel()], "arm": arms[p.ravel()],
                         "muscle": [cells[k][0] for k in c.ravel()], "emotion": [cells[k][1] for k in c.ravel()], "value": values.ravel()}), grid


def permutation() -> dict:
    from opioidsocial.multiverse.study import study_multiverse

    cells, grid = korb_sized_cells()
    row = {"study": "korb_sized", "reference": "placebo", "drug": "naltrexone", "design": "between"}
    start = time.perf_counter()
    spec, joints, _ = study_multiverse(cells, study_row=row, grid=grid, within=["emotion", "muscle"], permutations=500, seed=1, alpha=0.05)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "participants": 130, "arms": 3, "universes": int(spec["universe"].nunique()), "joint_tests": len(joints),
            "specifications": len(spec), "permutations": 500, "target_max_s": TARGETS["permutation_seconds_max"]}


def calibration(studies: int, permutations: int) -> dict:
    from scipy import stats

    from opioidsocial.multiverse.calibration import simulated_joint_tests

    params = yaml.safe_load((HERE.parent / "config" / "config.yaml").read_text())["simulate"]["emg"]["naltrexone2016"]
    out = {"studies": studies, "permutations": permutations, "outcome": OUTCOME}
    for name, p in (("null", {**params, "arm_effects": {}}), ("effects", params)):
        start = time.perf_counter()
        rows = [simulated_joint_tests(p, seed=s, permutations=permutations).set_index("outcome").loc[OUTCOME] for s in range(studies)]
        result = {"seconds": time.perf_counter() - start}
        for test in TESTS:
            k = int(sum(r[test] < 0.05 for r in rows))
            ci = stats.binomtest(k, studies).proportion_ci(0.95)
            result[test] = {"rejected": k, "share": k / studies, "ci95": [ci.low, ci.high], "ci_contains_0.05": bool(ci.low <= 0.05 <= ci.high)}
        out[name] = result
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["participant", "permutation", "calibration"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--permutations", type=int, default=500)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "multiverse.json")
    args = parser.parse_args(argv)
    result = json.loads(args.out.read_text()) if args.out.exists() else {}
    result["machine"] = machine()
    result["targets"] = TARGETS
    if args.only in (None, "permutation"):
        result["permutation"] = permutation()
        print("permutation", result["permutation"])
    if args.only in (None, "participant"):
        result["participant"] = participant(args.repeats)
        print("participant", result["participant"]["median_s"], result["participant"]["ratio"])
    if args.only in (None, "calibration"):
        result["calibration"] = calibration(args.studies, args.permutations)
        print("calibration", json.dumps(result["calibration"], indent=1))
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return result


if __name__ == "__main__":
    main()
