"""Shared fixtures: a tiny simulated BIDS-EMG study, and running the workflow on tiny configs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from opioidsocial.config import validate_section

REPO = Path(__file__).resolve().parents[1]

TINY_EMG = {
    "arms": {"placebo": 2, "naltrexone": 2},
    "muscles": ["corrugator", "zygomaticus"],
    "emotions": ["happy", "angry"],
    "stimuli_per_emotion": 3,
    "repetitions": 2,
    "responses": {"corrugator": {"happy": -0.5, "angry": 1.0}, "zygomaticus": {"happy": 1.5, "angry": 0.0}},
    "arm_effects": {"naltrexone": {"corrugator": {"happy": 0.7}}},
    "movement_rate": 0.1,
    "clipped_channel_rate": 0.2,
    "flat_channel_rate": 0.1,
}

# Movement bursts only: trials are rejected, but no participant loses a channel, so a
# 2-per-arm study keeps both arms and the model and meta stages have something to fit.
WORKFLOW_TINY_EMG = {**TINY_EMG, "clipped_channel_rate": 0.0, "flat_channel_rate": 0.0}

# A small PET TAC design: two regions (one bilateral), activation during rejection in
# the ventral striatum, and one trait correlated with it.
TINY_PET = {
    "participants": 4,
    "rois": {"ventral_striatum": {"bp_nd": 2.4}, "pag": {"bp_nd": 1.6, "lateral": False}},
    "activation": {"rejection": {"ventral_striatum": 0.06}},
    "traits": {"resiliency": {"condition": "rejection", "roi": "ventral_striatum", "r": 0.6, "mean": 50, "sd": 10}},
}


@pytest.fixture(scope="session")
def tiny_emg_study(tmp_path_factory) -> dict:
    """Study row of a 4-participant simulated BDF study (with injected artefacts)."""
    from opioidsocial.simulate.emg import simulate_study

    root = tmp_path_factory.mktemp("bids") / "tiny"
    row = {"study": "tiny", "path": str(root), "task": "faces", "reference": "placebo"}
    simulate_study(study="tiny", row=row, params=TINY_EMG, seed=7)
    return row


@pytest.fixture
def emg_cfg() -> dict:
    return validate_section({}, "emg.schema.yaml", source="emg")


def snakemake_command(workdir: Path, *args: str) -> list[str]:
    """Our Snakefile, run on the config/ and data/ of ``workdir``."""
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir), *args]


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
