"""Benchmark: the workflow at consortium scale, against the engine alone.

1. Dry run. A config with ``--studies`` EMG studies x ``--participants`` participants
   (default 3 x 10,000): the participants.tsv sheets, and empty placeholder files
   where ``opioidsocial.io.bids.emg_files`` looks (it only checks that the recording
   exists; a dry run opens nothing). ``snakemake -n`` on our Snakefile is timed
   against a generated minimal Snakefile with the same job counts per rule and the
   same shape (per-participant chains from the raw file, per-study fan-in, then
   singletons over all studies), whose only logic is reading participant ids from
   the same sheets with ``csv``. Both run in this process's run, alternating, each
   ``--repeats`` times (median wall time; peak RSS of the Snakemake process).
   Target: ours within 1.5x of the minimal one.

2. Real run. ``--run-participants`` small simulated participants (one EMG study, the
   tiny design of the tests, no artefacts) processed by ``snakemake --cores 2``
   through every stage; reports jobs per minute and the per-job wall cost
   (wall x cores / jobs), and for scale the same number of no-op jobs
   (``touch``) in a minimal Snakefile on the same cores: the engine's own cost per
   job. ``--run-participants 0`` skips this part.

Usage::

    python benchmarks/scale_dryrun.py                              # both parts
    python benchmarks/scale_dryrun.py --run-participants 0         # dry run only
    python benchmarks/scale_dryrun.py --participants 1000 --run-participants 50   # quick

Writes ``benchmarks/results/scale_dryrun.json`` (part 1) and
``benchmarks/results/scale_run.json`` (part 2).
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
from importlib import metadata
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.designs
from tests.designs import TINY_EMG  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
TARGET_RATIO = 1.5
# The tests' tiny EMG design (tests/designs.py) without artefacts: 2 muscles, 2
# emotions, 3 stimuli x 2 repetitions, i.e. 12 trials of a few seconds per participant.
SMALL_EMG = {**TINY_EMG, "movement_rate": 0.0, "clipped_channel_rate": 0.0, "flat_channel_rate": 0.0}
# The minimal Snakefile's jobs either run a one-line shell command or, like ours, a
# Python script: Snakemake reads a script rule's source for every job it plans, a
# cost of the engine that a shell rule does not have.
MINIMAL_ACTIONS = {"shell": "    shell: 'touch {output}'", "script": "    script: 'touch.py'"}
STUDY_COLUMNS = ["study", "modality", "input", "design", "drug", "direction", "reference", "sample_group", "path", "task"]

# Snakemake's time and peak RSS, measured by a small parent so that nothing of this
# process counts (ru_maxrss of RUSAGE_CHILDREN is the largest waited-for child).
_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "wall = time.perf_counter() - start\n"
    "if code.returncode: sys.exit(code.stdout[-3000:] + code.stderr[-3000:])\n"
    "print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def _studies_sheet(path: Path, studies: list[str]) -> None:
    rows = [dict(zip(STUDY_COLUMNS, [s, "emg", "bids", "between", "naltrexone", "-1", "placebo", s, f"data/{s}", "faces"])) for s in studies]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=STUDY_COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def build_scale_config(root: Path, *, studies: int, participants: int) -> list[str]:
    """Sheets and empty placeholder recordings for studies x participants; the study ids."""
    names = [f"scale{i + 1}" for i in range(studies)]
    (root / "config").mkdir(parents=True)
    _studies_sheet(root / "config" / "studies.tsv", names)
    (root / "config" / "config.yaml").write_text(yaml.safe_dump({"studies": "config/studies.tsv", "results": "results", "on_bad_data": "exclude"}))
    width = len(str(participants))
    for study in names:
        data = root / "data" / study
        data.mkdir(parents=True)
        with open(data / "participants.tsv", "w") as sheet:
            sheet.write("participant_id\tarm\tsex\tage\n")
            for i in range(participants):
                label = f"{i + 1:0{width}d}"
                sheet.write(f"sub-{label}\t{('placebo', 'naltrexone')[i % 2]}\tF\t25\n")
                emg = data / f"sub-{label}" / "emg"
                emg.mkdir(parents=True)
                for suffix in ("emg.bdf", "channels.tsv", "events.tsv", "emg.json"):
                    (emg / f"sub-{label}_task-faces_{suffix}").touch()
    return names


def job_counts(text: str) -> dict[str, int]:
    """Rule -> job count from the first 'Job stats' table Snakemake prints."""
    table = text[text.index("Job stats:") :]
    counts = {}
    for line in table.splitlines()[3:]:
        fields = line.split()
        if len(fields) != 2 or not fields[1].isdigit():
            break
        counts[fields[0]] = int(fields[1])
    counts.pop("total", None)
    return counts


def minimal_snakefile(counts: dict[str, int], *, studies: list[str], participants: int, action: str) -> str:
    """A Snakefile with the same jobs per rule as `counts`: per-participant rules chained
    from the raw file, per-study rules over the last of them, singletons over all
    studies; each job runs `action` (a `shell:` or `script:` directive)."""
    per_participant = [r for r, c in counts.items() if c == participants * len(studies)]
    per_study = [r for r, c in counts.items() if c == len(studies) and r not in per_participant]
    single = [r for r, c in counts.items() if c == 1 and r != "all" and r not in per_study]
    leftover = set(counts) - set(per_participant) - set(per_study) - set(single) - {"all"}
    if leftover:
        raise SystemExit(f"rules with job counts that are neither per participant, per study nor single: {sorted(leftover)}")
    lines = [
        "import csv",
        f"STUDIES = {studies!r}",
        'PARTICIPANTS = {s: [row["participant_id"][4:] for row in csv.DictReader(open(f"data/{s}/participants.tsv"), delimiter="\\t")] for s in STUDIES}',
        "",
        "rule all:",
        f"    input: {[f'minimal/single{k}.txt' for k in range(len(single))]!r}",
        "",
    ]
    source = "data/{study}/sub-{participant}/emg/sub-{participant}_task-faces_emg.bdf"
    for k in range(len(per_participant)):
        lines += [f"rule participant{k}:", f"    input: {source!r}", f"    output: 'minimal/{{study}}/p{k}/{{participant}}.txt'", action, ""]
        source = f"minimal/{{study}}/p{k}/{{participant}}.txt"
    last = f"minimal/{{wc.study}}/p{len(per_participant) - 1}/{{{{p}}}}.txt"
    for k in range(len(per_study)):
        lines += [f"rule study{k}:", f"    input: lambda wc: expand(f{last!r}, p=PARTICIPANTS[wc.study])", f"    output: 'minimal/{{study}}/s{k}.txt'", action, ""]
    for k in range(len(single)):
        inputs = f"    input: expand('minimal/{{s}}/s{{k}}.txt', s=STUDIES, k={list(range(len(per_study)))!r})"
        lines += [f"rule single{k}:", inputs, f"    output: 'minimal/single{k}.txt'", action, ""]
    return "\n".join(lines)


def _snakemake(workdir: Path, snakefile: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "-s", str(snakefile), "--directory", str(workdir), *args]


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    wall, rss_kb = out.stdout.split()
    return float(wall), int(rss_kb) / 1024


def dry_run_part(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="scale_dryrun_") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        names = build_scale_config(root, studies=args.studies, participants=args.participants)
        print(f"built {args.studies} x {args.participants} participants in {time.perf_counter() - t0:.1f} s", flush=True)
        ours_cmd = _snakemake(root, REPO / "workflow" / "Snakefile", "-n")
        stats = subprocess.run([*ours_cmd, "--quiet", "rules"], capture_output=True, text=True)
        if stats.returncode:
            raise SystemExit(stats.stdout[-3000:] + stats.stderr[-3000:])
        counts = job_counts(stats.stdout + stats.stderr)
        jobs = sum(counts.values())
        commands = {"ours": ours_cmd}
        (root / "touch.py").write_text("from pathlib import Path\nPath(snakemake.output[0]).touch()\n")
        for kind, action in MINIMAL_ACTIONS.items():
            minimal = root / f"Minimal_{kind}.smk"
            minimal.write_text(minimal_snakefile(counts, studies=names, participants=args.participants, action=action))
            commands[f"minimal_{kind}"] = _snakemake(root, minimal, "-n")
            check = subprocess.run([*commands[f"minimal_{kind}"], "--quiet", "rules"], capture_output=True, text=True)
            if check.returncode:
                raise SystemExit(check.stdout[-3000:] + check.stderr[-3000:])
            if sum(job_counts(check.stdout + check.stderr).values()) != jobs:
                raise SystemExit(f"{minimal.name} plans {sum(job_counts(check.stdout + check.stderr).values())} jobs, ours {jobs}")
        times = {name: [] for name in commands}
        rss = {name: [] for name in commands}
        for repeat in range(args.repeats):
            for name, cmd in commands.items():
                wall, peak = measure(cmd)
                times[name].append(wall)
                rss[name].append(peak)
                print(f"repeat {repeat + 1}: {name:14s} {wall:6.1f} s  {peak:6.0f} MB", flush=True)
        if args.profile:
            subprocess.run([sys.executable, "-m", "cProfile", "-o", str(args.profile), "-m", "snakemake", *ours_cmd[3:]], stdout=subprocess.DEVNULL, check=True)
    median = {name: statistics.median(values) for name, values in times.items()}
    return {
        "studies": args.studies,
        "participants_per_study": args.participants,
        "jobs": jobs,
        "jobs_per_rule": counts,
        "repeats": args.repeats,
        "wall_s": times,
        "peak_rss_mb": rss,
        "median_wall_s": median,
        "ratio_ours_to_minimal": {kind: median["ours"] / median[f"minimal_{kind}"] for kind in MINIMAL_ACTIONS},
        "target_ratio": TARGET_RATIO,
    }


def _noop_snakefile(jobs: int) -> str:
    return f"rule all:\n    input: expand('noop/{{i}}.txt', i=range({jobs}))\n\nrule noop:\n    output: 'noop/{{i}}.txt'\n    shell: 'touch {{output}}'\n"


def real_run_part(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="scale_run_") as tmp:
        root = Path(tmp)
        (root / "config").mkdir()
        _studies_sheet(root / "config" / "studies.tsv", ["small"])
        half = args.run_participants // 2
        design = {**SMALL_EMG, "arms": {"placebo": args.run_participants - half, "naltrexone": half}}
        config = {"studies": "config/studies.tsv", "results": "results", "on_bad_data": "exclude", "simulate": {"seed": 1, "emg": {"small": design}}}
        (root / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "opioidsocial.cli", "simulate", "--config", "config/config.yaml"], cwd=root, check=True, capture_output=True)
        simulate_s = time.perf_counter() - t0
        print(f"simulated {args.run_participants} participants in {simulate_s:.0f} s", flush=True)
        t0 = time.perf_counter()
        run = subprocess.run(_snakemake(root, REPO / "workflow" / "Snakefile", "--cores", str(args.cores)), capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if run.returncode:
            raise SystemExit(run.stderr[-5000:])
        done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", run.stderr + run.stdout)
        jobs = int(done[-1][1])
        counts = job_counts(run.stdout + run.stderr)
        preprocess = [float(next(csv.DictReader(open(p), delimiter="\t"))["s"]) for p in (root / "results" / "benchmarks" / "emg_preprocess").rglob("*.tsv")]
        print(f"ran {jobs} jobs in {wall:.0f} s", flush=True)
        noop = root / "Noop.smk"
        noop.write_text(_noop_snakefile(jobs - 1))
        t0 = time.perf_counter()
        subprocess.run(_snakemake(root, noop, "--cores", str(args.cores)), check=True, capture_output=True)
        noop_wall = time.perf_counter() - t0
    return {
        "participants": args.run_participants,
        "cores": args.cores,
        "simulate_s": simulate_s,
        "jobs": jobs,
        "jobs_per_rule": counts,
        "wall_s": wall,
        "jobs_per_minute": jobs / wall * 60,
        "wall_x_cores_per_job_s": wall * args.cores / jobs,
        "emg_preprocess_median_job_s": statistics.median(preprocess),
        "noop_wall_s": noop_wall,
        "noop_wall_x_cores_per_job_s": noop_wall * args.cores / jobs,
    }


def _environment() -> dict:
    return {
        "python": platform.python_version(),
        "snakemake": metadata.version("snakemake"),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=3)
    parser.add_argument("--participants", type=int, default=10_000, help="per study, for the dry run")
    parser.add_argument("--repeats", type=int, default=2, help="dry runs of each Snakefile (median)")
    parser.add_argument("--profile", type=Path, help="also write a cProfile of our dry run here")
    parser.add_argument("--run-participants", type=int, default=1000, help="participants of the real run (0: skip)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--skip-dry-run", action="store_true")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.skip_dry_run:
        result = {"environment": _environment(), **dry_run_part(args)}
        (RESULTS / "scale_dryrun.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        walls = ", ".join(f"{name} {wall:.1f} s" for name, wall in result["median_wall_s"].items())
        ratios = ", ".join(f"{ratio:.2f} vs {kind}" for kind, ratio in result["ratio_ours_to_minimal"].items())
        print(f"dry run, {result['jobs']} jobs: {walls}; ours/minimal {ratios} (target <= {TARGET_RATIO})")
    if args.run_participants:
        result = {"environment": _environment(), **real_run_part(args)}
        (RESULTS / "scale_run.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        print(
            f"real run, {result['jobs']} jobs on {args.cores} cores: {result['wall_s']:.0f} s, {result['jobs_per_minute']:.1f} jobs/min, "
            f"{result['wall_x_cores_per_job_s']:.2f} core-s per job (no-op job: {result['noop_wall_x_cores_per_job_s']:.2f})"
        )


if __name__ == "__main__":
    main()
