"""``opioidsocial import`` on real acquisition files (tests/data/vendor/, from MNE-Python's test data).

Each vendor recording (BioSemi BDF with its Status channel, EDF+ with annotations,
BrainVision with markers) is imported with a channel map (two of its channels as
EMG) and an event map; the result must pass the official BIDS validator, be read
back by ``io.bids`` with the same samples and events as MNE reads from the original,
and preprocess with epoch windows that fit these 1-8 s recordings.
"""

from __future__ import annotations

import collections
import filecmp
import re
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import pytest
import yaml

from opioidsocial.cli import main
from opioidsocial.config import ConfigError, validate_section
from opioidsocial.emg.preprocess import preprocess_participant
from opioidsocial.io.bids import emg_files, read_emg, read_events
from opioidsocial.io.importer import RecordingError, import_study
from tests.test_bids_validator import assert_valid, needs_validator

VENDOR = Path(__file__).resolve().parent / "data/vendor"

# file, channel map (two channels as muscles), event source and codes
CASES = {
    "biosemi": ("biosemi/test.bdf", {"EXG1": "corrugator", "EXG5": "zygomaticus"}, "Status", {128: ("happy", "happy01")}),
    "edf": ("edf/test.edf", {"Ergo-Left": "corrugator", "Ergo-Right": "zygomaticus"}, "annotations",
            {"type A": ("happy", "happy01"), "type B": ("angry", "angry01")}),
    "brainvision": ("brainvision/test.vhdr", {"FP1": "corrugator", "FP2": "zygomaticus"}, "annotations",
                    {"Stimulus/S253": ("happy", "happy01"), "Stimulus/S255": ("angry", "angry01")}),
}
# Windows that fit recordings of 1-8 s with a first event at 0.13 s.
SHORT_WINDOWS = {"tmin_s": -0.1, "tmax_s": 0.5, "baseline_s": [-0.1, 0.0], "response_s": [0.1, 0.5], "lowpass_hz": 200.0}


def _inputs(tmp_path: Path, case: str, *, participant: str = "01", **overrides) -> tuple[Path, Path]:
    file, channels, source, codes = CASES[case]
    spec = {
        "name": f"vendor {case}",
        "channels": {name: {"muscle": muscle} for name, muscle in channels.items()},
        "events": {"source": source, "codes": {k: {"emotion": e, "stimulus": s} for k, (e, s) in codes.items()}},
        **overrides,
    }
    map_path = tmp_path / "import.yaml"
    map_path.write_text(yaml.safe_dump(spec))
    recordings = tmp_path / "recordings.tsv"
    pd.DataFrame({"file": [str(VENDOR / file)], "participant_id": [f"sub-{participant}"], "arm": ["placebo"]}).to_csv(recordings, sep="\t", index=False)
    return map_path, recordings


def _expected_events(raw: mne.io.BaseRaw, source: str, codes: dict) -> pd.DataFrame:
    """The mapped events as MNE reads them from the original file, independently of the importer."""
    if source == "annotations":
        pairs = [(round(onset * raw.info["sfreq"]), desc) for onset, desc in zip(raw.annotations.onset, raw.annotations.description)]
    else:
        found = mne.find_events(raw, stim_channel=source, shortest_event=1, verbose="error")
        pairs = [(s - raw.first_samp, code) for s, code in found[:, [0, 2]]]
    pairs = [(s, codes[k]) for s, k in pairs if k in codes]
    return pd.DataFrame({"sample": [s for s, _ in pairs], "trial_type": [e for _, (e, _) in pairs], "stimulus": [st for _, (_, st) in pairs]})


@pytest.mark.parametrize("case", sorted(CASES))
def test_vendor_recording_imports_and_reads_back(tmp_path, case, capsys):
    map_path, recordings = _inputs(tmp_path, case)
    out = tmp_path / "bids"
    assert main(["import", "--map", str(map_path), "--recordings", str(recordings), "--out", str(out), "--study", "vendor"]) == 0
    assert "imported 1 recordings" in capsys.readouterr().out
    file, channels, source, codes = CASES[case]
    original = mne.io.read_raw(VENDOR / file, verbose="error")

    files = emg_files({"study": "vendor", "path": str(out), "task": "faces"}, "01")
    assert files["recording"].endswith(".bdf")  # the map's default format; BIDS-EMG allows EDF or BDF only
    rec = read_emg(files, study="vendor", participant="01")
    assert rec.muscles == list(channels.values()) and rec.sfreq == original.info["sfreq"]
    source_uv = original.get_data(picks=list(channels)) * 1e6
    n = source_uv.shape[1]
    # BrainVision is converted; its file is padded to whole EDF records, with zeros
    assert rec.data.shape[1] >= n
    scale = np.abs(source_uv).max()
    assert np.abs(rec.data[:, :n] - source_uv).max() <= 1e-4 * scale

    events = read_events(files["events"])
    pd.testing.assert_frame_equal(events[["sample", "trial_type", "stimulus"]].reset_index(drop=True),
                                  _expected_events(original, source, codes), check_dtype=False)
    participants = pd.read_csv(out / "participants.tsv", sep="\t", dtype=str)
    assert participants.to_dict(orient="records") == [{"participant_id": "sub-01", "arm": "placebo"}]


@needs_validator
@pytest.mark.parametrize("case", sorted(CASES))
def test_imported_vendor_dataset_is_valid_bids_emg(tmp_path, case):
    map_path, recordings = _inputs(tmp_path, case)
    import_study(map_path=map_path, recordings_path=recordings, out=tmp_path / "bids")
    assert_valid(tmp_path / "bids")


@pytest.mark.parametrize("case", ["edf", "brainvision"])
def test_imported_dataset_preprocesses_with_fitting_windows(tmp_path, case):
    map_path, recordings = _inputs(tmp_path, case)
    import_study(map_path=map_path, recordings_path=recordings, out=tmp_path / "bids")
    files = emg_files({"study": "vendor", "path": str(tmp_path / "bids"), "task": "faces"}, "01")
    cfg = validate_section(SHORT_WINDOWS, "emg.schema.yaml", source="emg")
    bins, qc, _ = preprocess_participant(files, study="vendor", participant="01", arm="placebo", cfg=cfg)
    # a trial whose epoch is closer to the start than the filter padding (0.2 s) is left out, and said so
    dropped = [row for row in qc["exclusions"] if row["level"] == "trial"]
    assert qc["n_trials"] + len(dropped) == len(read_events(files["events"])) and qc["bad_channels"] == {}
    assert all("filter padding leaves the recording" in row["reason"] for row in dropped)
    assert sorted(bins["muscle"].unique()) == sorted(CASES[case][1].values())
    assert bins["amplitude_uv"].notna().all()


def test_unmapped_markers_are_left_out_and_counted(tmp_path):
    map_path, recordings = _inputs(tmp_path, "brainvision")
    done = import_study(map_path=map_path, recordings_path=recordings, out=tmp_path / "bids")
    original = mne.io.read_raw(VENDOR / CASES["brainvision"][0], verbose="error")
    expected = collections.Counter(d for d in original.annotations.description if d not in CASES["brainvision"][3])
    assert done[0].unmapped == dict(expected) and len(expected) > 0


def test_status_channel_system_bits_are_masked(tmp_path):
    """BioSemi sets bits 16-23 (CMS in range, speed mode...): only bits 0-15 are trigger codes."""
    import edfio

    sfreq, n = 512, 512 * 4
    status = np.full(n, 2**16 + 2**20, dtype=float)  # system state, always on
    onsets = {3: [600, 1500], 7: [1100]}
    for code, samples in onsets.items():
        for s in samples:
            status[s : s + 5] += code
    rng = np.random.default_rng(0)
    signals = [edfio.BdfSignal(rng.normal(0, 10, n), sfreq, label=name, physical_dimension="uV", physical_range=(-1000, 1000)) for name in ("EXG1", "EXG2")]
    signals.append(edfio.BdfSignal(status, sfreq, label="Status", physical_dimension="Boolean", physical_range=(-(2**23), 2**23 - 1), digital_range=(-(2**23), 2**23 - 1)))
    edfio.Bdf(signals, data_record_duration=1.0).write(tmp_path / "raw.bdf")
    spec = {"channels": {"EXG1": {"muscle": "corrugator"}, "EXG2": {"muscle": "zygomaticus"}},
            "events": {"codes": {3: {"emotion": "happy", "stimulus": "h1"}, 7: {"emotion": "angry", "stimulus": "a1"}}}}
    (tmp_path / "map.yaml").write_text(yaml.safe_dump(spec))
    pd.DataFrame({"file": ["raw.bdf"], "participant_id": ["01"], "arm": ["placebo"]}).to_csv(tmp_path / "rec.tsv", sep="\t", index=False)
    import_study(map_path=tmp_path / "map.yaml", recordings_path=tmp_path / "rec.tsv", out=tmp_path / "bids")
    events = read_events(next((tmp_path / "bids").rglob("*_events.tsv")))
    assert events[["sample", "trial_type"]].values.tolist() == [[600, "happy"], [1100, "angry"], [1500, "happy"]]
    # Unmasked, the codes carry the system bits and none is in the map.
    spec["events"]["mask"] = 2**24 - 1
    (tmp_path / "map.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(RecordingError, match=r"no event of .*raw.bdf is in the event map \(it has \[") as err:
        import_study(map_path=tmp_path / "map.yaml", recordings_path=tmp_path / "rec.tsv", out=tmp_path / "bids2")
    found = [int(c) for c in re.findall(r"'(\d+)'", str(err.value).split("it has")[1])]
    assert all(c > 0xFFFF for c in found) and {c & 0xFFFF for c in found} >= set(onsets)


def test_a_channel_the_recording_lacks_is_named_with_the_fix(tmp_path, capsys):
    map_path, recordings = _inputs(tmp_path, "biosemi")
    map_path.write_text(map_path.read_text().replace("EXG5", "EXG2"))
    assert main(["import", "--map", str(map_path), "--recordings", str(recordings), "--out", str(tmp_path / "bids")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("opioidsocial: error: study 'bids', participant '01': the channel map names channel(s) ['EXG2'] that ")
    assert "biosemi/test.bdf does not have" in err and err.rstrip().endswith("correct the channel names in the import map")


def test_import_map_is_validated_against_its_schema(tmp_path):
    map_path, recordings = _inputs(tmp_path, "edf", events={"source": "annotations", "codes": {"type A": {"emotion": "happy"}}})
    with pytest.raises(ConfigError, match="'stimulus' is a required property"):
        import_study(map_path=map_path, recordings_path=recordings, out=tmp_path / "bids")
    map_path, recordings = _inputs(tmp_path, "biosemi", events={"source": "Status", "codes": {"type A": {"emotion": "happy", "stimulus": "h"}}})
    with pytest.raises(ConfigError, match=r"trigger channel 'Status', whose codes are integers, but the event map has \['type A'\]"):
        import_study(map_path=map_path, recordings_path=recordings, out=tmp_path / "bids")


def test_import_is_deterministic_and_never_overwrites(tmp_path):
    map_path, recordings = _inputs(tmp_path, "brainvision")
    for out in ("a", "b"):
        import_study(map_path=map_path, recordings_path=recordings, out=tmp_path / out)
    names = sorted(str(p.relative_to(tmp_path / "a")) for p in (tmp_path / "a").rglob("*") if p.is_file())
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", names, shallow=False)
    assert (mismatch, errors) == ([], []) and len(match) == len(names) > 5
    with pytest.raises(ConfigError, match="exists and is not empty"):
        import_study(map_path=map_path, recordings_path=recordings, out=tmp_path / "a")


@needs_validator
def test_a_monopolar_pair_is_imported_with_its_reference(tmp_path):
    map_path, recordings = _inputs(tmp_path, "brainvision", channels={"FP1": {"muscle": "corrugator", "reference": "FCz"},
                                                                      "FP2": {"muscle": "corrugator", "reference": "FCz"}})
    import_study(map_path=map_path, recordings_path=recordings, out=tmp_path / "bids")
    assert_valid(tmp_path / "bids")
    files = emg_files({"study": "vendor", "path": str(tmp_path / "bids"), "task": "faces"}, "01")
    assert yaml.safe_load(Path(files["sidecar"]).read_text())["EMGReference"] == "ChannelSpecific"
    rec = read_emg(files, study="vendor", participant="01")
    assert rec.muscles == ["corrugator"] and rec.derivations == {"corrugator": "FP1 - FP2"}
