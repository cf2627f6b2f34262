"""Benchmark: the demo's wall time with the multiverse on, against the same demo without it.

Target (the multiverse's section of the README): the whole demo with the multiverse on
(config/config.yaml as it is) takes at most 1.5x the wall time of the demo without it
(``multiverse.studies: []``), on the same machine, one after the other.

Each run is the README's command on the bundled demo in a fresh folder: the
simulation (``opioidsocial simulate``, untimed: the same for both) and then
``snakemake --cores N``, timed. The figure is only fair on an otherwise idle machine:
the load average before each run is recorded.

Usage::

    python benchmarks/demo_multiverse.py --cores 2 [--workdir DIR]

Writes ``benchmarks/results/demo_multiverse.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = 1.5


def demo(work: Path, *, cores: int, multiverse: bool) -> dict:
    """Copy the demo's config into ``work``, simulate its data and time the workflow."""
    shutil.copytree(ROOT / "config", work / "config")
    run = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "workflow" / "Snakefile"), "--directory", str(work), "--cores", str(cores),
           "--nocolor", "--quiet", "progress"]
    if not multiverse:
        (work / "off.yaml").write_text("multiverse:\n  studies: []\n")
        run += ["--configfile", str(work / "config" / "config.yaml"), str(work / "off.yaml")]
    subprocess.run([sys.executable, "-c", "import sys; from opioidsocial.cli import main; sys.exit(main())", "simulate", "--config", "config/config.yaml"],
                   cwd=work, check=True, capture_output=True)
    load = os.getloadavg()
    start = time.perf_counter()
    done = subprocess.run(run, cwd=work, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    jobs = sum(1 for _ in (work / "results" / "benchmarks").rglob("*.tsv"))
    return {"wall_s": seconds, "jobs": jobs, "load_before": load}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "demo_multiverse.json")
    parser.add_argument("--workdir", type=Path, help="run the two demos in WORKDIR/with and WORKDIR/without and keep them")
    args = parser.parse_args(argv)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    result = {"cores": args.cores, "nproc": len(os.sched_getaffinity(0)), "repo_commit": commit, "target_max": TARGET}
    with tempfile.TemporaryDirectory() as tmp:
        for name, on in (("without", False), ("with", True)):
            result[name] = demo((args.workdir or Path(tmp)) / name, cores=args.cores, multiverse=on)
            print(name, result[name], flush=True)
    result["ratio"] = result["with"]["wall_s"] / result["without"]["wall_s"]
    print("ratio", round(result["ratio"], 3))
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return result


if __name__ == "__main__":
    main()
