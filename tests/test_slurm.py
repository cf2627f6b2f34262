"""The tiny workflow submitted to a real SLURM through workflow/profiles/slurm.

Not a mock: ci/slurm/start.sh installs Debian's slurm-wlm and munge and starts a
single-node cluster; this test runs the EMG stage of the tiny config (per-participant
jobs, grouped two to a submission, and the study table) with the profile, then checks
SLURM's own records (finished jobs stay visible to `squeue --states=all` because the
test cluster keeps them for a day, MinJobAge) and that every result file is
byte-identical to the local run of the same data.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from opioidsocial.paths import layout
from tests.conftest import REPO, snakemake
from tests.test_incremental import tiny_local_run  # noqa: F401  (shared session fixture)

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.skipif(shutil.which("sbatch") is None, reason="no SLURM here (sbatch not found); as root, run ci/slurm/start.sh to install and start a single-node SLURM"),
]

PROFILE = REPO / "workflow" / "profiles" / "slurm"
# The EMG stage: four per-participant jobs in two group jobs, then the study table.
TARGETS = [layout("results").emg_table.format(study="tinyemg")]
# A one-minute run needs status checks every few seconds, not the profile's 40 s; two
# participants per group job so that the grouping shows in SLURM's records.
TEST_OPTIONS = ["--slurm-init-seconds-before-status-checks", "1", "--group-components", "emg_participants=2", "pet_participants=2"]


@pytest.fixture(scope="module")
def slurm_run(tiny_local_run, tmp_path_factory) -> tuple[Path, str]:  # noqa: F811
    if subprocess.run(["sinfo"], capture_output=True).returncode != 0:
        pytest.skip("sbatch is installed but no SLURM controller answers; run ci/slurm/start.sh as root")
    work = tmp_path_factory.mktemp("slurm")
    for name in ("config", "data"):
        shutil.copytree(tiny_local_run / name, work / name)
    # Targets first: --group-components takes every value after it.
    run = snakemake(work, *TARGETS, "--profile", str(PROFILE), *TEST_OPTIONS)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    return work, run.stdout + run.stderr


def _slurm_records(work: Path) -> dict[str, tuple[str, str]]:
    """Job id -> (state, comment) of every job SLURM ran in `work`."""
    listing = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i|%T|%k|%Z"], capture_output=True, text=True, check=True).stdout
    records = {}
    for line in listing.splitlines():
        job, state, comment, workdir = line.strip().split("|")
        if os.path.realpath(workdir) == os.path.realpath(work):
            records[job] = (state, comment)
    return records


def test_jobs_went_through_sbatch(slurm_run):
    work, log = slurm_run
    records = _slurm_records(work)
    submitted = set(re.findall(r"submitted with SLURM jobid (\d+)", log))
    assert submitted and set(records) == submitted
    assert {state for state, _ in records.values()} == {"COMPLETED"}
    comments = [comment for _, comment in records.values()]
    assert sum("emg_participants" in c for c in comments) == 2
    assert sum("emg_study_table" in c for c in comments) == 1
    assert len(comments) == 3


def test_results_equal_a_local_run(slurm_run, tiny_local_run):  # noqa: F811
    work, _ = slurm_run
    # Logs and benchmarks hold host names and timings; every other file must match.
    produced = sorted(
        path.relative_to(work) for path in (work / "results").rglob("*") if path.is_file() and path.relative_to(work / "results").parts[0] not in ("logs", "benchmarks")
    )
    per_participant = ("emg/{p}.parquet", "qc/emg/{p}.json", "qc/emg/{p}.signals.parquet")
    expected = {Path(t) for t in TARGETS} | {Path("results/tinyemg") / name.format(p=p) for p in ("001", "002", "003", "004") for name in per_participant}
    assert expected <= set(produced)
    for path in produced:
        assert (work / path).read_bytes() == (tiny_local_run / path).read_bytes(), f"{path} differs between the SLURM and the local run"
