"""Shared fixtures: a tiny simulated BIDS-EMG study, written once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

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
