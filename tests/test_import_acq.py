"""``opioidsocial import`` on BIOPAC AcqKnowledge files (tests/data/vendor/biopac/, bioread's test recordings).

Each recording imports with a channel map and its AcqKnowledge markers as events,
or is refused with the file, the reason and the fix; imported datasets pass the
BIDS validator and read back with the samples bioread reads from the original.
"""

from __future__ import annotations

from pathlib import Path

import bioread
import numpy as np
import pandas as pd
import pytest
import yaml

from opioidsocial.cli import main
from opioidsocial.io.acq import AcqError
from opioidsocial.io.bids import emg_files, read_emg, read_events
from opioidsocial.io.importer import import_study
from tests.test_bids_validator import assert_valid, needs_validator

BIOPAC = Path(__file__).resolve().parent / "data" / "vendor" / "biopac"

# file -> (channel -> muscle, marker text -> emotion); the EKG stands in for an EMG channel of the mixed-rate files
CASES = {
    "r42": ("r42_test.acq", {"EMG (30 - 500 Hz)": "corrugator", "CH4 Input": "zygomaticus"}, {"Segment 1": "happy", "Segment 2": "angry"}),
    "r35": ("r35_test.acq", {"Analog input [1]": "corrugator", "Analog input [2]": "zygomaticus"}, {"3-23/1": "happy", "23-3/1": "angry"}),
    "physio5": ("physio-5.0.1.acq", {"EKG - ERS100C": "corrugator"}, {"Breathe In": "happy", "Breathe Out": "angry"}),
    "physio38c": ("physio-3.8.1-c.acq", {"EKG - ERS100C": "corrugator"}, {"Breathe In": "happy", "Breathe Out": "angry"}),
    "nojournal": ("nojournal-5.0.1.acq", {"EKG - ERS100C": "corrugator"}, {"Segment 1": "happy"}),
}


def _inputs(tmp_path: Path, file: str | Path, channels: dict, markers: dict, **overrides) -> tuple[Path, Path]:
    spec = {
        "name": "biopac",
        "channels": {name: {"muscle": muscle} for name, muscle in channels.items()},
        "events": {"source": "annotations", "codes": {k: {"emotion": e, "stimulus": f"{e}01"} for k, e in markers.items()}},
        **overrides,
    }
    map_path = tmp_path / "import.yaml"
    map_path.write_text(yaml.safe_dump(spec))
    recordings = tmp_path / "recordings.tsv"
    pd.DataFrame({"file": [str(BIOPAC / file)], "participant_id": ["sub-01"], "arm": ["placebo"]}).to_csv(recordings, sep="\t", index=False)
    return map_path, recordings


def _import(tmp_path: Path, case: str) -> Path:
    file, channels, markers = CASES[case]
    map_path, recordings = _inputs(tmp_path, file, channels, markers)
    out = tmp_path / "bids"
    import_study(map_path=map_path, recordings_path=recordings, out=out, study="biopac")
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_acq_recording_imports_and_reads_back(tmp_path, case):
    out = _import(tmp_path, case)
    file, channels, markers = CASES[case]
    original = bioread.read_file(str(BIOPAC / file))
    files = emg_files({"study": "biopac", "path": str(out), "task": "faces"}, "01")
    rec = read_emg(files, study="biopac", participant="01")
    assert sorted(rec.muscles) == sorted(channels.values())
    by_position = {name: ch for name, ch in zip(_names(original), original.channels)}
    assert rec.sfreq == by_position[next(iter(channels))].samples_per_second
    for name, muscle in channels.items():
        row = rec.muscles.index(muscle)
        # mV in the .acq file, microvolt as read back from the BDF
        expected = by_position[name].data * 1e3
        n = len(expected)
        assert np.abs(rec.data[row, :n] - expected).max() <= 1e-4 * np.abs(expected).max()
    events = read_events(files["events"])
    base = original.samples_per_second
    wanted = [(round(m.sample_index / base * rec.sfreq), markers[m.text]) for m in original.event_markers if m.text in markers]
    assert events[["sample", "trial_type"]].values.tolist() == [list(w) for w in wanted]


def _names(datafile) -> list[str]:
    """Channel names numbered where repeated, written out independently of io.acq."""
    names = [c.name for c in datafile.channels]
    return [f"{n} [{names[:i + 1].count(n)}]" if names.count(n) > 1 else n for i, n in enumerate(names)]


@needs_validator
@pytest.mark.parametrize("case", sorted(CASES))
def test_imported_acq_dataset_is_valid_bids_emg(tmp_path, case):
    assert_valid(_import(tmp_path, case))


def test_a_slower_mapped_channel_is_an_error_naming_it(tmp_path):
    map_path, recordings = _inputs(tmp_path, "physio-5.0.1.acq", {"EKG - ERS100C": "corrugator", "RESP - RSP100C": "zygomaticus"},
                                   {"Breathe In": "happy"})
    with pytest.raises(AcqError, match=r"\['RESP - RSP100C \(3.90625 Hz\)'\].*never resampled") as info:
        import_study(map_path=map_path, recordings_path=recordings, out=tmp_path / "bids", study="biopac")
    assert info.value.file.endswith("physio-5.0.1.acq") and "leave the slower channel out" in info.value.fix


def test_a_missing_channel_lists_the_channels_the_file_has(tmp_path, capsys):
    map_path, recordings = _inputs(tmp_path, "r42_test.acq", {"EMG": "corrugator"}, {"Segment 1": "happy"})
    assert main(["import", "--map", str(map_path), "--recordings", str(recordings), "--out", str(tmp_path / "bids")]) == 2
    err = capsys.readouterr().err
    assert "names channel(s) ['EMG'] that" in err and "r42_test.acq does not have (it has ['ECG (.05 - 150 Hz)', 'EMG (30 - 500 Hz)'" in err
    assert "Traceback" not in err and "correct the channel names" in err


def test_a_non_voltage_channel_mapped_as_emg_is_an_error(tmp_path):
    map_path, recordings = _inputs(tmp_path, "r42_test.acq", {"EDA (0 - 35 Hz)": "corrugator"}, {"Segment 1": "happy"})
    with pytest.raises(AcqError, match="'EDA \\(0 - 35 Hz\\)' .* is in 'microsiemen', not a voltage"):
        import_study(map_path=map_path, recordings_path=recordings, out=tmp_path / "bids", study="biopac")


def test_a_compressed_acq_bioread_cannot_read_is_refused_with_its_message(tmp_path):
    broken = tmp_path / "broken-c.acq"
    data = (BIOPAC / "physio-3.8.1-c.acq").read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    try:
        bioread.read_file(str(broken))
    except Exception as err:  # the message bioread itself gives
        message = str(err)
    else:
        pytest.fail("bioread read a truncated file")
    map_path, recordings = _inputs(tmp_path, broken, {"EKG - ERS100C": "corrugator"}, {"Breathe In": "happy"})
    with pytest.raises(AcqError) as info:
        import_study(map_path=map_path, recordings_path=recordings, out=tmp_path / "bids", study="biopac")
    assert f"bioread cannot read {broken}" in info.value.problem and message in info.value.problem
    assert "save it again" in info.value.fix


def test_the_test_recordings_carry_their_licence():
    assert "Permission is hereby granted" in (BIOPAC / "LICENSE-bioread.txt").read_text()
    # the README beside them says what each file holds
    assert all(f in (BIOPAC / "README.md").read_text() for f, _, _ in CASES.values())


def test_a_raw_acq_recording_too_slow_for_the_band_is_an_error_naming_it(tmp_path, emg_cfg):
    """r35 is 100 Hz: as raw EMG its upper edge is capped (recorded), and a high-pass it cannot carry is an error."""
    from opioidsocial.emg.filters import FilterError
    from opioidsocial.emg.preprocess import preprocess_participant
    from opioidsocial.failsafe import failsafe

    out = _import(tmp_path, "r35")
    files = emg_files({"study": "biopac", "path": str(out), "task": "faces"}, "01")
    run = dict(study="biopac", participant="01", arm="placebo")
    _, qc, _ = preprocess_participant(files, **run, cfg=emg_cfg)
    assert qc["filter"]["upper_edge_capped"] and qc["filter"]["bandpass_hz"] == [20.0, 45.0]
    with pytest.raises(FilterError, match="not realisable at 100 Hz") as info:
        with failsafe(on_bad_data="fail", study="biopac", participant="01", files=files):
            preprocess_participant(files, **run, cfg={**emg_cfg, "highpass_hz": 46.0})
    assert info.value.file == files["recording"] and "lower emg.highpass_hz" in info.value.fix


def test_ttl_channels_of_an_acq_file_are_read_in_volts(tmp_path):
    """r42's CH4 Input holds 17-18 mV: no pulse crosses a 1 V threshold, and the error names the channel and file."""
    from opioidsocial.io.ttl import TtlError

    map_path, recordings = _inputs(tmp_path, "r42_test.acq", {"EMG (30 - 500 Hz)": "corrugator"}, {},
                                   events={"source": "channels", "threshold": 1.0, "channels": {"CH4 Input": {"emotion": "happy"}}})
    with pytest.raises(TtlError, match=r"TTL channel 'CH4 Input' has no rising pulse \(0.017\d* to 0.017\d*\)") as info:
        import_study(map_path=map_path, recordings_path=recordings, out=tmp_path / "bids", study="biopac")
    assert info.value.file.endswith("r42_test.acq")


def test_a_trigger_channel_of_an_acq_file_is_decoded_and_a_missing_one_named(tmp_path):
    """A trigger channel is read from the .acq file like a mapped channel (r42's CH4 Input holds no code)."""
    from opioidsocial.io.importer import RecordingError

    for source, message in (("CH4 Input", r"no event of .*r42_test.acq is in the event map \(it has \[\]\)"),
                            ("Digital", r"the import map names channel\(s\) \['Digital'\] that .*r42_test.acq does not have")):
        map_path, recordings = _inputs(tmp_path, "r42_test.acq", {"EMG (30 - 500 Hz)": "corrugator"}, {"5": "happy"},
                                       events={"source": source, "codes": {"5": {"emotion": "happy", "stimulus": "happy01"}}})
        with pytest.raises((RecordingError, AcqError), match=message):
            import_study(map_path=map_path, recordings_path=recordings, out=tmp_path / source, study="biopac")


def test_long_channel_names_are_cut_to_edf_labels_and_must_stay_distinct():
    from opioidsocial.io.importer import RecordingError, file_labels

    who = {"study": "biopac", "participant": "01", "file": "p01.acq"}
    assert file_labels(["EMG (30 - 500 Hz)", "CH4 Input"], who=who) == {"EMG (30 - 500 Hz)": "EMG (30 - 500 Hz", "CH4 Input": "CH4 Input"}
    with pytest.raises(RecordingError, match=r"channel names \['Corrugator iEMG left', 'Corrugator iEMG right'\] are no longer distinct"):
        file_labels(["Corrugator iEMG left", "Corrugator iEMG right"], who=who)
