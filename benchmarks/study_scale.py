"""Benchmark: a study of real size end to end, at 30, 65 and 130 participants.

The design of Korb et al. 2023 (PMID 37477676): three arms (placebo, naltrexone,
amisulpride), two muscles (zygomaticus, corrugator), happy and angry faces, and
full-length recordings: 2 emotions x 23 stimuli x 6 repetitions = 276 trials of a
4 s video and a 2-3 s interval, about 30 minutes at 2048 Hz per participant (24-bit
BDF, as BioSemi writes). The largest size is simulated once
(``opioidsocial.simulate.emg``); each size is the first N participants of its
participants.tsv (the simulator interleaves the arms, so the arms stay balanced),
the recordings linked, not copied.

Each size runs ``snakemake --cores 2`` from the raw BDF files to the study model
and effects (``results/korb2023/model/``, with the time-course figure and every
participant's QC figure, as the demo makes them). Measured per size: wall time;
core-seconds, the sum over jobs of their wall seconds from the rules' ``benchmark:``
files (every job is single-threaded), and their CPU seconds; and the split of the
run's 2 x wall core-seconds into

- Python start-up: per job, what starting Python and importing the job's modules
  costs (measured here beforehand: ``python -c "import snakemake.script; import
  <the module of the rule's script>"``, median of three);
- compute: the jobs' seconds minus their start-up;
- Snakemake and idle cores: the rest (building the DAG, scheduling, and the fan-in
  at the end of a study, where one job runs while the other core waits).

Growth per participant is the least-squares slope of wall time and of core-seconds
over the sizes (linear growth: the slope explains the differences). Target: 130
participants in under 10 minutes on 2 cores.

Usage::

    python benchmarks/study_scale.py                        # simulates 130 participants, then runs 30, 65, 130
    python benchmarks/study_scale.py --data /tmp/korb130    # keep (or reuse) the simulated data there
    python benchmarks/study_scale.py --sizes 30 65 --minutes 10   # shorter, stated in the JSON

Writes ``benchmarks/results/study_scale.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
STUDY = "korb2023"
TARGET_WALL_S = 600.0
TRIAL_S = 4.0 + 2.5  # video + mean interval (simulate_emg.schema.yaml: stimulus_s, iti_s)
STUDY_ROW = {"study": STUDY, "modality": "emg", "input": "bids", "design": "between", "drug": "naltrexone", "direction": "-1",
             "reference": "placebo", "sample_group": "korb", "path": f"data/{STUDY}", "task": "faces",
             "description": "Korb et al. 2023 design at full size (benchmark)"}


def study_design(participants: int, minutes: float) -> dict:
    """The simulator's parameters: Korb et al. 2023's arms, muscles and emotions, recordings of ``minutes``."""
    per_arm = {arm: participants // 3 + (i < participants % 3) for i, arm in enumerate(("placebo", "naltrexone", "amisulpride"))}
    repetitions = max(1, round(minutes * 60 / TRIAL_S / (2 * 23)))
    return {
        "arms": per_arm,
        "muscles": ["zygomaticus", "corrugator"],
        "emotions": ["happy", "angry"],
        "stimuli_per_emotion": 23,
        "repetitions": repetitions,
        "sfreq": 2048,
        "responses": {"zygomaticus": {"happy": 1.2, "angry": 0.0}, "corrugator": {"happy": -0.5, "angry": 0.9}},
        "arm_effects": {"naltrexone": {"zygomaticus": {"happy": -0.3}}},
    }


def _write_sheet(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def simulate(data: Path, design: dict) -> float:
    """Simulate the largest size into ``data`` (reused when its design.json matches); seconds spent."""
    marker = data / "design.json"
    if marker.exists() and json.loads(marker.read_text()) == design:
        print(f"reusing the simulated study in {data}", flush=True)
        return 0.0
    (data / "config").mkdir(parents=True, exist_ok=True)
    _write_sheet(data / "config" / "studies.tsv", [STUDY_ROW])
    config = {"studies": "config/studies.tsv", "results": "results", "simulate": {"seed": 20261201, "emg": {STUDY: design}}}
    (data / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "opioidsocial.cli", "simulate", "--config", "config/config.yaml"], cwd=data, check=True)
    marker.write_text(json.dumps(design, sort_keys=True))
    return time.perf_counter() - start


def workdir(root: Path, data: Path, n: int) -> Path:
    """A run folder with the first ``n`` participants of the simulated study (recordings linked)."""
    work = root / f"n{n}"
    source = data / "data" / STUDY
    target = work / "data" / STUDY
    target.mkdir(parents=True)
    with open(source / "participants.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))[:n]
    _write_sheet(target / "participants.tsv", rows)
    for entry in source.iterdir():
        if entry.name != "participants.tsv" and (not entry.name.startswith("sub-") or entry.name in {r["participant_id"] for r in rows}):
            (target / entry.name).symlink_to(entry)
    (work / "config").mkdir()
    _write_sheet(work / "config" / "studies.tsv", [STUDY_ROW])
    (work / "config" / "config.yaml").write_text(yaml.safe_dump({"studies": "config/studies.tsv", "results": "results", "on_bad_data": "exclude"}))
    return work


def targets(n_rows: list[str]) -> list[str]:
    model = f"results/{STUDY}/model"
    return [f"{model}/effects.parquet", f"{model}/timecourses.png"] + [f"results/{STUDY}/qc/emg/{p[4:]}.png" for p in n_rows]


def startup_seconds(rules: list[str]) -> dict[str, float]:
    """Per rule: starting Python and importing what its script imports (median of three)."""
    out = {}
    for rule in rules:
        script = (REPO / "scripts" / f"{rule}.py").read_text()
        module = re.search(r"^from (\S+) import", script, re.MULTILINE).group(1)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", f"import snakemake.script, {module}"], check=True)
            times.append(time.perf_counter() - start)
        out[rule] = statistics.median(times)
    return out


_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$", re.MULTILINE)


def run_size(work: Path, n: int, cores: int) -> dict:
    with open(work / "data" / STUDY / "participants.tsv") as handle:
        ids = [row["participant_id"] for row in csv.DictReader(handle, delimiter="\t")]
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(work), "--cores", str(cores), *targets(ids)]
    load = os.getloadavg()
    started = datetime.now().replace(microsecond=0)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(done.stderr[-5000:])
    stamps = [datetime.strptime(s, "%a %b %d %H:%M:%S %Y") for s in _STAMP.findall(done.stderr + done.stdout)]
    jobs = {}
    for path in sorted((work / "results" / "benchmarks").rglob("*.tsv")):
        rule = path.relative_to(work / "results" / "benchmarks").parts[0]
        row = next(csv.DictReader(open(path), delimiter="\t"))
        jobs.setdefault(rule, []).append((float(row["s"]), float(row["cpu_time"])))
    print(f"n = {n}: {wall:.0f} s wall, {sum(len(v) for v in jobs.values())} jobs", flush=True)
    return {
        "participants": n,
        "wall_s": wall,
        "load_average_at_start": list(load),
        "load_average_at_end": list(os.getloadavg()),
        "first_job_after_s": (stamps[0] - started).total_seconds() if stamps else None,
        "jobs": {rule: len(v) for rule, v in jobs.items()},
        "job_s": {rule: sum(s for s, _ in v) for rule, v in jobs.items()},
        "job_cpu_s": {rule: sum(c for _, c in v) for rule, v in jobs.items()},
    }


def split(size: dict, startup: dict[str, float], cores: int) -> dict:
    core_s = sum(size["job_s"].values())
    start_s = sum(startup.get(rule, 0.0) * count for rule, count in size["jobs"].items())
    return {
        "core_s": core_s,
        "cpu_s": sum(size["job_cpu_s"].values()),
        "python_startup_s": start_s,
        "compute_s": core_s - start_s,
        "snakemake_and_idle_s": size["wall_s"] * cores - core_s,
    }


def slope(xs: list[float], ys: list[float]) -> dict:
    fit = np.polyfit(xs, ys, 1)
    residual = np.asarray(ys) - np.polyval(fit, xs)
    return {"per_participant": float(fit[0]), "intercept": float(fit[1]), "max_abs_residual": float(np.max(np.abs(residual)))}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 65, 130])
    parser.add_argument("--minutes", type=float, default=30.0, help="recording length (the published design: 30)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--data", type=Path, help="where the simulated study is kept and reused (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=RESULTS / "study_scale.json")
    args = parser.parse_args(argv)
    sizes = sorted(args.sizes)
    design = study_design(sizes[-1], args.minutes)
    with tempfile.TemporaryDirectory(prefix="study_scale_") as tmp:
        data = args.data or Path(tmp) / "data"
        data.mkdir(parents=True, exist_ok=True)
        simulate_s = simulate(data, design)
        startup = startup_seconds(["emg_preprocess", "emg_qc_figure", "emg_study_table", "emg_model", "emg_model_timecourses"])
        print(f"python start-up per job: {startup}", flush=True)
        runs = []
        for n in sizes:
            size = run_size(workdir(Path(tmp), data, n), n, args.cores)
            size.update(split(size, startup, args.cores))
            runs.append(size)
    result = {
        "design": design,
        "recording_minutes": args.minutes,
        "trials_per_participant": 2 * 23 * design["repetitions"],
        "cores": args.cores,
        "simulate_s": simulate_s,
        "python_startup_s_per_job": startup,
        "sizes": runs,
        "growth": {measure: slope([r["participants"] for r in runs], [r[measure] for r in runs]) for measure in ("wall_s", "core_s")},
        "target_wall_s_at_130": TARGET_WALL_S,
        "environment": {"python": platform.python_version(), "snakemake": metadata.version("snakemake"), "cpus": os.cpu_count(),
                        "machine": platform.machine()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    for r in runs:
        print(f"n = {r['participants']:3d}: wall {r['wall_s']:6.0f} s, core-s {r['core_s']:6.0f} (CPU {r['cpu_s']:.0f}): start-up {r['python_startup_s']:.0f}, "
              f"compute {r['compute_s']:.0f}, Snakemake + idle {r['snakemake_and_idle_s']:.0f}; load {r['load_average_at_start'][0]:.1f}")
    g = result["growth"]
    print(f"per participant: {g['wall_s']['per_participant']:.2f} s wall, {g['core_s']['per_participant']:.2f} core-s; wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
