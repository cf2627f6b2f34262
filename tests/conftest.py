"""Shared fixtures: a tiny simulated BIDS-EMG study, and running the workflow on tiny configs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from opioidsocial.config import validate_section
from tests.designs import TINY_EMG, TINY_PET, WORKFLOW_TINY_EMG  # noqa: F401  (re-exported to the tests)

REPO = Path(__file__).resolve().parents[1]
#: The workflow, where the Snakemake workflow catalog expects it (`snakemake` in REPO finds it).
SNAKEFILE = REPO / "workflow" / "Snakefile"

def simulated_emg_study(tmp_path_factory, *, study: str, params: dict, seed: int) -> dict:
    """Study row of a simulated BIDS-EMG study written to a fresh temporary folder."""
    from opioidsocial.simulate.emg import simulate_study

    row = {"study": study, "path": str(tmp_path_factory.mktemp("bids") / study), "task": "faces", "reference": "placebo"}
    simulate_study(study=study, row=row, params=params, seed=seed)
    return row


@pytest.fixture(scope="session")
def tiny_emg_study(tmp_path_factory) -> dict:
    """Study row of a 4-participant simulated BDF study (with injected artefacts)."""
    return simulated_emg_study(tmp_path_factory, study="tiny", params=TINY_EMG, seed=7)


@pytest.fixture
def emg_cfg() -> dict:
    return validate_section({}, "emg.schema.yaml", source="emg")


def snakemake_command(workdir: Path, *args: str) -> list[str]:
    """Our Snakefile, run on the config/ and data/ of ``workdir``."""
    return [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(workdir), *args]


def snakemake(workdir: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(snakemake_command(workdir, *args), cwd=workdir, capture_output=True, text=True, timeout=timeout)


def simulated_workdir(work: Path, studies: str, config: dict) -> Path:
    """``work`` with config/studies.tsv, config/config.yaml and the simulated raw data."""
    (work / "config").mkdir(parents=True, exist_ok=True)
    (work / "config" / "studies.tsv").write_text(studies)
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    simulate(work)
    return work


def simulate(work: Path, *args: str) -> None:
    """``opioidsocial simulate`` on the config of ``work`` (extra arguments e.g. --study)."""
    sim = subprocess.run([sys.executable, "-m", "opioidsocial.cli", "simulate", "--config", "config/config.yaml", *args],
                         cwd=work, capture_output=True, text=True)
    assert sim.returncode == 0, sim.stderr


def finished_run(work: Path, studies: str, config: dict, *args: str) -> Path:
    """A tiny config simulated and run to the end on two cores."""
    simulated_workdir(work, studies, config)
    run = snakemake(work, "--cores", "2", *args)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    return work
