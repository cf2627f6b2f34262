"""Cost of the design stage: one simulated Korb-size crossed study, and the default grid.

1. **Per simulated study**: the crossed EMG design of Korb et al. 2023 (130 participants
   in three arms, so about 43 per arm; two arms simulated) with the demo template's 4
   stimuli per emotion and 2 trials per stimulus, simulated and fitted with the study
   model (:func:`opioidsocial.design.crossed.simulate_chunk`), seconds per study; the
   same at the default grid's 20 per arm.
2. **The default stage** (with ``--workdir``, a finished run whose config leaves the
   ``design`` section at its defaults): every design job rerun by Snakemake on
   ``--cores`` cores, its wall time, and each rule's summed job seconds from the
   workflow's own benchmark files.

Writes benchmarks/results/design.json.

    python benchmarks/design.py [--workdir RUN] [--cores 2] [--studies 40]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

# One thread per process, as Snakemake sets these for a one-thread job: on 2 loaded cores
# the BLAS and worker threads of the fit otherwise cost 5x the CPU time (measured).
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from opioidsocial.design.crossed import simulate_chunk  # noqa: E402
from opioidsocial.paths import benchmark_path, layout  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULT = REPO / "benchmarks" / "results" / "design.json"
RULES = ["design_retrodesign", "design_sample_size", "design_simulate", "design_power_sim", "design_sequential"]
TARGETS = [layout("results")[f"design_{name}"] for name in ("retrodesign", "sample_size", "power_sim", "sequential")]
#: Variance components of a zygomaticus model of the demo's korb2023 (microvolt^2): participant
#: intercept and happy slope (correlated), stimulus, residual; the size of the effect is d = 0.5.
SPEC = {
    "formula": "response_uv ~ arm * emotion + (1 + emotion | participant) + (1 | stimulus)", "response": "response_uv",
    "components": {"participant_cov": np.array([[0.35, 0.12], [0.12, 0.08]]), "stimulus_sd": 0.2, "residual_sd": 0.54},
    "repetitions": 2, "arms": ("placebo", "naltrexone"), "emotions": ("angry", "happy"), "cell_sd": 0.3,
}


def per_study(per_arm: int, stimuli: int, n: int) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    counts = simulate_chunk(SPEC, per_arm=per_arm, stimuli=stimuli, n=n, d=0.5, alpha=0.05, seed=np.random.SeedSequence(1))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    # CPU seconds (all threads of this process) are what a loaded machine does not inflate.
    return {"participants_per_arm": per_arm, "stimuli_per_emotion": stimuli, "studies": n, "s_per_study": seconds / n,
            "cpu_s_per_study": cpu / n,
            "singular": counts["singular"], "failed": counts["failed"]}


def default_stage(workdir: Path, cores: int) -> dict:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(workdir),
           "--cores", str(cores), "--quiet", "--forcerun", *RULES, "--", *TARGETS]
    start = time.perf_counter()
    run = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env={**os.environ})
    wall = time.perf_counter() - start
    if run.returncode:
        raise SystemExit(run.stdout[-2000:] + run.stderr[-3000:])
    jobs, cpu = {}, {}
    for rule in RULES:
        # One benchmark file per job: <rule>.tsv, or a folder of them for the simulation's grid x chunks.
        single = Path(benchmark_path(str(workdir / "results"), rule))
        for path in [single] if single.is_file() else sorted(single.with_suffix("").rglob("*.tsv")):
            record = pd.read_csv(path, sep="\t").iloc[0]
            jobs.setdefault(rule, []).append(float(record["s"]))
            cpu.setdefault(rule, []).append(float(record["cpu_time"]))
    power = pd.read_csv(workdir / TARGETS[2], sep="\t")
    return {"cores": cores, "wall_s": wall, "job_s": {rule: sum(s) for rule, s in jobs.items()},
            "job_cpu_s": {rule: sum(s) for rule, s in cpu.items()},
            "jobs": {rule: len(s) for rule, s in jobs.items()}, "power_sim": power.fillna("").to_dict(orient="records")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, help="a finished run with the default design section")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--studies", type=int, default=40, help="simulated studies per timing (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    result = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average_at_start": os.getloadavg()},
              "per_study": [per_study(43, 4, args.studies), per_study(20, 4, args.studies)]}
    if args.workdir:
        result["machine"]["load_average_before_stage"] = os.getloadavg()
        result["default_stage"] = default_stage(args.workdir.resolve(), args.cores)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
