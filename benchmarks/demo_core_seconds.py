"""Benchmark: the demo's core-seconds per EMG participant, from Snakemake's job benchmarks.

Target: each participant's raw file is read once per run, and the core-
seconds a finished demo spent per EMG participant (the sum over that participant's
jobs: preprocessing and QC figure) are at most half of what they were. Every rule
writes a ``benchmark:`` file (``results/benchmarks/<rule>/<study>/<participant>.tsv``
for per-participant rules); this script sums, per EMG participant, the jobs' wall
seconds (``s``: one core each, as every job is single-threaded in the workflow) and
their CPU seconds (``cpu_time``: what the process used, which load on the machine
inflates less than wall time), and compares two finished runs.

Usage (two finished demos, e.g. before and after a change, run on the same machine)::

    python benchmarks/demo_core_seconds.py --before /path/to/old/results --after results

Writes ``benchmarks/results/demo_core_seconds.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Per-participant EMG rules, today's and those of releases before the one-read QC (a figure job that read the raw file again).
EMG_RULES = ("emg_preprocess", "emg_qc_figure")
TARGET = 0.5


def per_participant(results: Path) -> dict:
    """{(study, participant): {rule: {s, cpu_time}}} over the EMG participant rules."""
    jobs: dict = {}
    for rule in EMG_RULES:
        for path in sorted((results / "benchmarks" / rule).glob("*/*.tsv")):
            row = next(csv.DictReader(open(path), delimiter="\t"))
            jobs.setdefault((path.parent.name, path.stem), {})[rule] = {"s": float(row["s"]), "cpu_time": float(row["cpu_time"])}
    return jobs


def summary(results: Path) -> dict:
    jobs = per_participant(results)
    totals = {measure: [sum(job[measure] for job in rules.values()) for rules in jobs.values()] for measure in ("s", "cpu_time")}
    by_rule = {rule: statistics.mean(rules[rule]["s"] for rules in jobs.values() if rule in rules)
               for rule in EMG_RULES if any(rule in rules for rules in jobs.values())}
    return {
        "results": str(results),
        "participants": len(jobs),
        "mean_core_s_per_participant": statistics.mean(totals["s"]),
        "mean_cpu_s_per_participant": statistics.mean(totals["cpu_time"]),
        "mean_s_per_job_by_rule": by_rule,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="results/ of the earlier finished demo")
    parser.add_argument("--after", type=Path, default=Path("results"), help="results/ of the later finished demo")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "demo_core_seconds.json")
    args = parser.parse_args(argv)
    before, after = summary(args.before), summary(args.after)
    ratio = {measure: after[measure] / before[measure] for measure in ("mean_core_s_per_participant", "mean_cpu_s_per_participant")}
    result = {"before": before, "after": after, "ratio_after_to_before": ratio, "target_ratio": TARGET,
              "load_average_now": list(os.getloadavg())}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    for name, s in (("before", before), ("after", after)):
        print(f"{name}: {s['participants']} EMG participants, {s['mean_core_s_per_participant']:.2f} core-s "
              f"({s['mean_cpu_s_per_participant']:.2f} CPU s) per participant; per job {s['mean_s_per_job_by_rule']}")
    print(f"after / before: {ratio['mean_core_s_per_participant']:.2f} core-s, {ratio['mean_cpu_s_per_participant']:.2f} CPU s (target <= {TARGET})")
    return result


if __name__ == "__main__":
    main()
