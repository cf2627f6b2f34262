"""Events from TTL channels (one per condition), for any input format, and BIOPAC-style envelope recordings."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from opioidsocial.io import ttl
from opioidsocial.io.bids import emg_files, read_channels, read_events, read_sidecar
from opioidsocial.io.importer import import_study
from opioidsocial.simulate.emg import TTL_PULSE_S, simulate_acquisition
from tests.conftest import TINY_EMG
from tests.test_bids_validator import assert_valid, needs_validator

WHO = {"study": "s", "participant": "01", "file": "rec.edf"}
BIOPAC_STYLE = {**TINY_EMG, "signal": "envelope", "sfreq": 100, "arms": {"placebo": 1, "naltrexone": 1}}


def _pulses(n: int, starts: list[int], length: int = 10, volts: float = 5.0) -> np.ndarray:
    x = np.zeros(n)
    for s in starts:
        x[s : s + length] = volts
    return x


def test_each_rising_edge_is_one_event():
    data = {"TTL happy": _pulses(1000, [100, 500]), "TTL angry": _pulses(1000, [300])}
    assert ttl.channel_events(data, sfreq=100, threshold=None, edge="rising", min_interval_s=0.5, who=WHO) == [
        (100, "TTL happy"), (300, "TTL angry"), (500, "TTL happy")]


def test_falling_edges_of_active_low_pulses():
    x = 5.0 - _pulses(1000, [120, 700])
    assert ttl.onsets(x, name="T", sfreq=100, threshold=None, edge="falling", min_interval_s=0.5, who=WHO).tolist() == [120, 700]


@pytest.mark.parametrize(("data", "message"), [
    ({"TTL happy": np.zeros(500)}, "TTL channel 'TTL happy' has no rising pulse"),
    ({"TTL happy": _pulses(500, [100]), "TTL angry": _pulses(500, [105])}, "'TTL angry' and 'TTL happy' are both active at 1.05 s"),
    ({"TTL happy": _pulses(500, [100, 120])}, "onsets 1 s and 1.2 s, closer than min_interval_s 0.5 s: a bouncing contact"),
    ({"TTL happy": _pulses(500, [100, 495])}, "the pulse of TTL channel 'TTL happy' at 4.95 s never ends"),
    ({"TTL happy": _pulses(500, [100, 300], length=1)}, "a pulse of one sample at 1 s"),
])
def test_pulses_that_are_not_one_clean_edge_per_trial_are_errors(data, message):
    with pytest.raises(ttl.TtlError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        ttl.channel_events(data, sfreq=100, threshold=None, edge="rising", min_interval_s=0.5, who=WHO)
    assert info.value.file == "rec.edf" and info.value.fix


@pytest.fixture(scope="module")
def biopac_import(tmp_path_factory) -> tuple:
    work = tmp_path_factory.mktemp("biopac")
    map_path, recordings = simulate_acquisition(study="biopac", params=BIOPAC_STYLE, seed=5, out=work / "raw")
    import_study(map_path=map_path, recordings_path=recordings, out=work / "bids", study="biopac")
    return work, map_path, recordings


def test_ttl_channels_become_events_without_an_invented_stimulus(biopac_import):
    import mne

    work, _, recordings = biopac_import
    first = pd.read_csv(recordings, sep="\t").iloc[0]
    original = mne.io.read_raw_edf(work / "raw" / first["file"], verbose="error")
    files = emg_files({"study": "biopac", "path": str(work / "bids"), "task": "faces"}, first["participant_id"].removeprefix("sub-"))
    events = read_events(files["events"])
    assert "stimulus" not in events.columns
    expected = sorted((int(s), ch.removeprefix("TTL ")) for ch in ("TTL happy", "TTL angry")
                      for s in np.flatnonzero(np.diff((original.get_data(picks=[ch])[0] > 2.5).astype(int)) == 1) + 1)
    assert list(zip(events["sample"], events["trial_type"])) == expected
    assert len(expected) == 2 * 3 * 2 and all(np.diff([s for s, _ in expected]) > TTL_PULSE_S * 100)
    channels = read_channels(files["channels"])
    assert not channels["name"].str.startswith("TTL").any()
    assert channels.loc[channels["type"] == "EMG", "description"].str.startswith("envelope").all()
    assert "Envelope" in read_sidecar(files["sidecar"])["HardwareFilters"]


@needs_validator
def test_imported_biopac_style_dataset_is_valid_bids_emg(biopac_import):
    assert_valid(biopac_import[0] / "bids")


def test_ttl_channel_also_in_the_channel_map_is_a_config_error(biopac_import, tmp_path):
    from opioidsocial.errors import ConfigError

    _, map_path, recordings = biopac_import
    spec = yaml.safe_load(map_path.read_text())
    spec["channels"]["TTL happy"] = {"type": "MISC"}
    bad = tmp_path / "import.yaml"
    bad.write_text(yaml.safe_dump(spec))
    with pytest.raises(ConfigError, match=r"TTL channel\(s\) \['TTL happy'\] are also in the channel map"):
        import_study(map_path=bad, recordings_path=recordings, out=tmp_path / "bids", study="biopac")


def test_truth_of_the_acquisition_files_is_written(biopac_import):
    facts = json.loads((biopac_import[0] / "raw" / "truth.json").read_text())
    assert facts["contrasts"] and facts["seed"] == 5
