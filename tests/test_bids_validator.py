"""The official BIDS validator passes what this package writes, with 0 errors.

``bids-validator-deno`` (PyPI; the schema-based validator, which knows BIDS-EMG 1.11)
runs on a tiny simulated dataset of each raw layout the simulator writes as BIDS
(bipolar BDF, monopolar EDF with a reference column), on the demo's simulated
EMG datasets, and on vendor recordings
imported by ``opioidsocial import`` (tests/test_import.py builds them).
"""

from __future__ import annotations

import shutil

import pytest

from opioidsocial.io.sidecars import VALIDATOR, bids_validator_report
from opioidsocial.simulate.emg import simulate_study
from tests.conftest import REPO, simulate
from tests.designs import TINY_EMG

# The demo's BIDS-EMG studies (config/studies.tsv rows with input 'bids').
DEMO_EMG = ("naltrexone2016", "korb2023", "morphine2022")

needs_validator = pytest.mark.skipif(shutil.which(VALIDATOR) is None, reason=f"{VALIDATOR} not installed (pip install -e '.[test]')")


def assert_valid(root) -> None:
    """0 errors; the message lists them (code, sub-code, file) if there are any."""
    report = bids_validator_report(root)
    errors = [(i["code"], i.get("subCode"), i.get("location")) for i in report["error"]]
    assert errors == [], errors
    # The validator did look at the recordings: a dataset it cannot parse gives no warnings either.
    assert any(i.get("location", "").endswith(("_emg.bdf", "_emg.edf")) for i in report["warning"])


@needs_validator
@pytest.mark.parametrize("layout", [{"format": "bdf"}, {"format": "edf", "monopolar": True}])
def test_simulated_dataset_is_valid_bids_emg(tmp_path, layout):
    root = tmp_path / "tiny"
    simulate_study(study="tiny", row={"study": "tiny", "path": str(root), "task": "faces"},
                   params={**TINY_EMG, "arms": {"placebo": 1, "naltrexone": 1}, **layout}, seed=3)
    assert_valid(root)


@needs_validator
def test_the_validator_finds_what_the_simulator_used_to_write(tmp_path):
    """The check has teeth: a sidecar as labs wrote it (free-text placement, no RecordingType) fails."""
    root = tmp_path / "tiny"
    simulate_study(study="tiny", row={"study": "tiny", "path": str(root), "task": "faces"},
                   params={**TINY_EMG, "arms": {"placebo": 1, "naltrexone": 1}}, seed=3)
    sidecar = next(root.glob("sub-001/emg/*_emg.json"))
    old = sidecar.read_text().replace('"RecordingType": "continuous",', "")
    sidecar.write_text(old.replace('"EMGPlacementScheme": "Other"', '"EMGPlacementScheme": "Fridlund & Cacioppo (1986)"'))
    codes = {i["code"] for i in bids_validator_report(root)["error"]}
    assert codes == {"SIDECAR_KEY_REQUIRED", "JSON_SCHEMA_VALIDATION_ERROR"}


@needs_validator
def test_the_demo_datasets_are_valid_bids_emg(tmp_path):
    """Every EMG study the README's demo command simulates (config/config.yaml, full size)."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    simulate(tmp_path, *(arg for study in DEMO_EMG for arg in ("--study", study)))
    for study in DEMO_EMG:
        assert_valid(tmp_path / "data" / study)
