"""Faults lose nothing and reruns are byte-identical.

- A write_table that dies mid-write (an exception inside the writer, or the process
  SIGKILLed during a large write) leaves no file at the target path.
- A real Snakemake run killed (SIGKILL to its process group) while per-participant
  jobs run, then restarted as a user would (`--unlock`, then the same command: the
  default profile sets `rerun-incomplete`), ends with the same bytes in every output
  as the uninterrupted two-core run of tests/test_robustness.py.
- A one-core run gives the same bytes as that two-core run.

"Every output" is every file under results/ except logs/ and benchmarks/ (they hold
times and process ids by design).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from opioidsocial.io import tables
from opioidsocial.io.contracts import EMG_BINS
from opioidsocial.io.tables import write_table
from tests.test_robustness import copy_of_template, emg_stage_command, reference_run


def _bins(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "study": "s", "participant": "01", "arm": "placebo", "trial": range(1, n + 1), "stimulus": "happy01",
            "emotion": "happy", "muscle": "corrugator", "bin_start_s": 0.0, "amplitude_uv": 1.0, "amplitude_z": 0.0,
            "artefact": False, "artefact_reason": "",
        }
    )


def test_an_exception_inside_the_writer_leaves_no_file(tmp_path, monkeypatch):
    target = tmp_path / "t.parquet"

    def dies_halfway(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(tables.pq, "write_table", dies_halfway)
    with pytest.raises(OSError, match="disk full"):
        write_table(_bins(4), target, EMG_BINS)
    assert list(tmp_path.iterdir()) == []


def test_a_writer_killed_mid_write_leaves_no_file_and_the_rerun_cleans_up(tmp_path):
    target = tmp_path / "big.parquet"
    writer = textwrap.dedent(
        f"""
        import numpy as np
        from tests.test_faults import _bins
        from opioidsocial.io.contracts import EMG_BINS
        from opioidsocial.io.tables import write_table
        # Random doubles do not compress: a file of some 50 MB, written over a few seconds.
        noise = np.random.default_rng(0).random((3, 2_000_000))
        bins = _bins(2_000_000).assign(bin_start_s=noise[0], amplitude_uv=noise[1], amplitude_z=noise[2])
        print("writing", flush=True)
        write_table(bins, {str(target)!r}, EMG_BINS)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", writer], cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    deadline = time.monotonic() + 120
    while not any(p.name.endswith(".tmp") and p.stat().st_size > 0 for p in tmp_path.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "the writer finished before it could be killed"
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    assert not target.exists()
    # What the killed writer left is a hidden temporary, removed by the next write.
    assert [p.name.startswith(".big.parquet.") for p in tmp_path.iterdir()] == [True]
    write_table(_bins(4), target, EMG_BINS)
    assert list(tmp_path.iterdir()) == [target]
    assert pq.read_table(target).num_rows == 4


def _digests(work: Path) -> dict[str, str]:
    results = work / "results"
    return {
        str(p.relative_to(results)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(results.rglob("*"))
        if p.is_file() and p.relative_to(results).parts[0] not in ("logs", "benchmarks")
    }


def _differences(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


@pytest.mark.workflow
def test_one_core_gives_the_same_bytes_as_two(tmp_path_factory, tmp_path):
    work = copy_of_template(tmp_path_factory, tmp_path / "run")
    run = subprocess.run(emg_stage_command(work, "--cores", "1", "--keep-going"), check=False, cwd=work, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    reference = _digests(reference_run(tmp_path_factory))
    assert len(reference) > 20
    assert _differences(reference, _digests(work)) == []


@pytest.mark.workflow
def test_a_run_killed_mid_way_and_restarted_gives_the_same_bytes(tmp_path_factory, tmp_path):
    work = copy_of_template(tmp_path_factory, tmp_path / "run")
    command = emg_stage_command(work, "--cores", "2", "--keep-going")
    with open(tmp_path / "killed.log", "w") as log:
        proc = subprocess.Popen(command, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 600
        while not list((work / "results/tinyemg/emg").glob("*.parquet")):
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "killed.log").read_text()[-3000:]
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and every job it started
        proc.wait()
    assert not (work / "results/tinyemg/model/effects.parquet").exists(), "the run ended before it was killed"

    unlock = subprocess.run(emg_stage_command(work, "--unlock"), check=False, cwd=work, capture_output=True, text=True, timeout=300)
    assert unlock.returncode == 0, unlock.stderr[-3000:]
    rerun = subprocess.run(command, check=False, cwd=work, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-5000:]
    assert _differences(_digests(reference_run(tmp_path_factory)), _digests(work)) == []
