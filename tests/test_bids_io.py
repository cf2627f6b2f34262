import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opioidsocial.errors import DataError
from opioidsocial.io.bids import BidsError, emg_files, read_emg, read_events, write_emg_recording

SFREQ = 512.0
MUSCLES = ["corrugator", "zygomaticus"]


def _write(tmp_path, fmt, monopolar=False):
    rng = np.random.default_rng(11)
    data = rng.normal(0, 20, (2, int(10 * SFREQ))) + np.array([[100.0], [-40.0]])
    events = pd.DataFrame({"onset": [2.0, 5.5], "duration": 4.0, "trial_type": ["happy", "angry"], "stimulus": ["happy01", "angry01"], "sample": [1024, 2816]})
    write_emg_recording(root=tmp_path, participant="01", task="faces", data=data, sfreq=SFREQ, muscles=MUSCLES,
                        events=events, line_freq=50.0, fmt=fmt, monopolar=monopolar)
    row = {"study": "s", "path": str(tmp_path), "task": "faces"}
    return data, emg_files(row, "01")


@pytest.mark.parametrize(("fmt", "tolerance"), [("bdf", 1 / 32), ("edf", 0.02), ("brainvision", 1e-4)])
def test_round_trip_returns_the_signal(tmp_path, fmt, tolerance):
    data, files = _write(tmp_path, fmt)
    rec = read_emg(files)
    assert rec.muscles == MUSCLES and rec.sfreq == SFREQ and rec.line_freq == 50.0
    # quantisation aside (24-bit BDF: 1/32 uV per bit; EDF: range / 65535), the signal comes back
    assert np.abs(rec.data[:, : data.shape[1]] - data).max() <= tolerance


def test_monopolar_pairs_become_bipolar(tmp_path):
    data, files = _write(tmp_path, "bdf", monopolar=True)
    rec = read_emg(files)
    assert rec.derivations == {"corrugator": "corrugator1 - corrugator2", "zygomaticus": "zygomaticus1 - zygomaticus2"}
    assert np.abs(rec.data[:, : data.shape[1]] - data).max() <= 2 / 32


@pytest.mark.parametrize("monopolar", [False, True])
def test_a_muscle_name_longer_than_an_edf_label_is_written_and_read_back(tmp_path, monopolar):
    """'orbicularis_oculi' (17 characters, a default of emg.muscle_names) does not fit
    the 16 characters of a BDF label: the channel label is cut, target_muscle keeps it."""
    muscles = ["orbicularis_oculi", "zygomaticus"]
    data = np.random.default_rng(12).normal(0, 20, (2, int(4 * SFREQ)))
    events = pd.DataFrame({"onset": [1.0], "duration": 2.0, "trial_type": ["happy"], "stimulus": ["happy01"], "sample": [512]})
    write_emg_recording(root=tmp_path, participant="01", task="faces", data=data, sfreq=SFREQ, muscles=muscles,
                        events=events, line_freq=50.0, monopolar=monopolar)
    rec = read_emg(emg_files({"study": "s", "path": str(tmp_path), "task": "faces"}, "01"),
                   declared_muscles=["orbicularis_oculi", "zygomaticus"])
    assert rec.muscles == muscles
    assert np.abs(rec.data[:, : data.shape[1]] - data).max() <= 2 / 32


def test_missing_muscle_names_the_file_and_the_fix(tmp_path):
    _, files = _write(tmp_path, "bdf")
    with pytest.raises(BidsError, match=r"no EMG channel for muscle\(s\) \['frontalis'\].*channels.tsv"):
        read_emg(files, study="s", participant="01", muscles=["frontalis"])


def test_sampling_rate_disagreeing_with_the_sidecar(tmp_path):
    _, files = _write(tmp_path, "bdf")
    _edit_sidecar(files, SamplingFrequency=2048)
    with pytest.raises(BidsError, match="sampled at 512 Hz but .* says SamplingFrequency 2048"):
        read_emg(files)


def test_truncated_recording_is_reported(tmp_path):
    _, files = _write(tmp_path, "bdf")
    with open(files["recording"], "r+b") as fh:
        fh.truncate(300)
    with pytest.raises(BidsError, match="corrupt or truncated"):
        read_emg(files)


def test_missing_recording_names_the_sheet(tmp_path):
    with pytest.raises(BidsError, match="participants.tsv"):
        emg_files({"study": "s", "path": str(tmp_path), "task": "faces"}, "99")


def test_events_need_onsets(tmp_path):
    path = tmp_path / "ev.tsv"
    path.write_text("onset\ttrial_type\nabc\thappy\n")
    with pytest.raises(BidsError, match="line 2: onset 'abc' is not a finite number of seconds >= 0"):
        read_events(path)


def test_empty_recording_is_named(tmp_path):
    _, files = _write(tmp_path, "edf")
    open(files["recording"], "wb").close()
    with pytest.raises(BidsError, match=r"participant '01'.*_emg.edf is missing or empty; copy the raw file again"):
        read_emg(files, study="s", participant="01")


@pytest.mark.parametrize("fmt", ["bdf", "edf", "brainvision"])
def test_corrupt_header_is_reported_for_every_format(tmp_path, fmt):
    _, files = _write(tmp_path, fmt)
    with open(files["recording"], "r+b") as fh:
        fh.write(b"\x00garbage\xff" * 30)
    with pytest.raises(BidsError) as err:
        read_emg(files, study="s", participant="01")
    assert "participant '01'" in str(err.value) and files["recording"] in str(err.value)
    assert "corrupt or truncated" in str(err.value) or "not in" in str(err.value)


def test_brainvision_with_a_truncated_data_file(tmp_path):
    """MNE sizes a BrainVision recording from its .eeg file: only the sidecar tells it was cut."""
    _, files = _write(tmp_path, "brainvision")
    with open(files["eeg"], "r+b") as fh:
        fh.truncate(4000)
    with pytest.raises(BidsError, match=r"participant '01'.*_emg.vhdr holds 0.* s but .*RecordingDuration 10 s; the file is truncated"):
        read_emg(files, study="s", participant="01")


def test_nan_samples_are_named_by_muscle(tmp_path):
    data, files = _write(tmp_path, "brainvision")
    data[1, 100:200] = np.nan
    write_emg_recording(root=tmp_path, participant="01", task="faces", data=data, sfreq=SFREQ, muscles=MUSCLES,
                        events=read_events(files["events"]), line_freq=50.0, fmt="brainvision")
    with pytest.raises(BidsError, match=r"NaN or infinite samples in \['zygomaticus'\]; re-export the recording"):
        read_emg(files, study="s", participant="01")


# --- BIDS 1.11 / mne-bids conventions and header checks ---------------------

WHO = {"study": "s", "participant": "01"}


def _edit_channels(files, **columns):
    channels = pd.read_csv(files["channels"], sep="\t", dtype=str, keep_default_na=False)
    for column, values in columns.items():
        if values is None:
            channels = channels.drop(columns=column)
        else:
            channels[column] = values
    channels.to_csv(files["channels"], sep="\t", index=False)


def _edit_sidecar(files, **keys):
    path = Path(files["sidecar"])
    path.write_text(json.dumps({**json.loads(path.read_text()), **keys}))


def test_errors_carry_study_participant_file_and_fix_as_fields(tmp_path):
    _, files = _write(tmp_path, "bdf")
    with pytest.raises(DataError) as err:
        read_emg(files, **WHO, muscles=["frontalis"])
    assert isinstance(err.value, BidsError)
    assert (err.value.study, err.value.participant, err.value.file) == ("s", "01", files["channels"])
    assert "emg.muscles" in err.value.fix and str(err.value).startswith("study 's', participant '01': ")


def test_bad_channels_are_left_out_and_listed(tmp_path):
    data, files = _write(tmp_path, "bdf")
    _edit_channels(files, status=["good", "bad"], status_description=["n/a", "electrode came off"])
    rec = read_emg(files, **WHO)
    assert rec.muscles == ["corrugator"] and rec.bad_channels == {"zygomaticus": "electrode came off"}
    assert np.abs(rec.data[0, : data.shape[1]] - data[0]).max() <= 1 / 32
    with pytest.raises(BidsError, match=r"no EMG channel for muscle\(s\) \['zygomaticus'\].*\['zygomaticus'\] of those are marked bad"):
        read_emg(files, **WHO, muscles=MUSCLES)


def test_target_muscle_na_is_no_muscle(tmp_path):
    _, files = _write(tmp_path, "bdf")
    _edit_channels(files, target_muscle=["corrugator", "n/a"])
    rec = read_emg(files, **WHO)
    assert rec.muscles == ["corrugator"] and rec.unassigned == ["zygomaticus"]


def test_without_target_muscle_the_channel_map_names_the_muscles(tmp_path):
    _, files = _write(tmp_path, "bdf")
    _edit_channels(files, target_muscle=None)
    with pytest.raises(BidsError, match="no 'target_muscle' column and the study has no channel map.*emg.channel_muscles"):
        read_emg(files, **WHO)
    rec = read_emg(files, **WHO, channel_muscles={"corrugator": "corr", "zygomaticus": "zyg"})
    assert rec.muscles == ["corr", "zyg"] and rec.derivations == {"corr": "corrugator", "zyg": "zygomaticus"}
    with pytest.raises(BidsError, match=r"channel map names channel\(s\) \['EXG9'\]"):
        read_emg(files, **WHO, channel_muscles={"EXG9": "corr"})


def test_sampling_frequency_column_disagreeing_with_the_file(tmp_path):
    _, files = _write(tmp_path, "bdf")
    _edit_channels(files, sampling_frequency=["512", "256"])
    with pytest.raises(BidsError, match=r"_channels.tsv gives channel 'zygomaticus' sampling_frequency '256' but .*_emg.bdf stores it at 512 Hz") as err:
        read_emg(files, **WHO)
    assert err.value.file == files["channels"]
    _edit_channels(files, sampling_frequency=["512.0", "n/a"])
    assert read_emg(files, **WHO).muscles == MUSCLES


def test_a_channel_stored_at_another_rate_is_an_error_not_resampled(tmp_path):
    """MNE upsamples a slower EDF channel to the recording's rate; the header tells."""
    import edfio

    _, files = _write(tmp_path, "edf")
    rng = np.random.default_rng(1)
    signals = [edfio.EdfSignal(rng.normal(0, 20, int(10 * rate)), rate, label=name, physical_dimension="uV", physical_range=(-200, 200))
               for name, rate in zip(MUSCLES, (SFREQ, SFREQ / 2))]
    edfio.Edf(signals, data_record_duration=1.0).write(files["recording"])
    with pytest.raises(BidsError, match=r"channel 'zygomaticus' of .*_emg.edf is stored at 256 Hz, the recording at 512 Hz"):
        read_emg(files, **WHO)


def test_bdf_header_with_wrong_samples_per_record_for_one_channel(tmp_path):
    """A wrong samples-per-record: MNE reads such a file without complaint, and the signal is noise."""
    _, files = _write(tmp_path, "bdf")
    raw = bytearray(Path(files["recording"]).read_bytes())
    n_signals = int(raw[252:256])
    at = 256 + 216 * n_signals + 8  # samples-per-record field of the second signal
    raw[at : at + 8] = b"256     "
    Path(files["recording"]).write_bytes(raw)
    with pytest.raises(BidsError, match=r"_emg.bdf holds \d+ data bytes, but its header gives 10 records .*zygomaticus 256.*samples per record are wrong") as err:
        read_emg(files, **WHO)
    assert err.value.file == files["recording"] and "re-export" in err.value.fix


@pytest.mark.parametrize(("declared", "says"), [(20.0, "the file is truncated"), (5.0, "the recording is longer than its sidecar says")])
def test_recording_duration_is_checked_both_ways(tmp_path, declared, says):
    _, files = _write(tmp_path, "bdf")
    _edit_sidecar(files, RecordingDuration=declared)
    with pytest.raises(BidsError, match=rf"holds 10 s but .* says RecordingDuration {declared:g} s; {says}"):
        read_emg(files, **WHO)


def test_mne_bids_duration_convention_is_accepted(tmp_path):
    """mne-bids writes the time of the last sample, (n - 1) / sfreq."""
    _, files = _write(tmp_path, "bdf")
    _edit_sidecar(files, RecordingDuration=(10 * SFREQ - 1) / SFREQ, PowerLineFrequency="n/a")
    rec = read_emg(files, **WHO)
    assert rec.line_freq is None and rec.data.shape[1] == 10 * SFREQ


@pytest.mark.parametrize(("key", "value"), [("SamplingFrequency", "2048 Hz"), ("SamplingFrequency", None), ("PowerLineFrequency", "50Hz"), ("RecordingDuration", -1)])
def test_sidecar_values_must_be_numbers(tmp_path, key, value):
    _, files = _write(tmp_path, "bdf")
    _edit_sidecar(files, **{key: value})
    expected = f"has no {key}" if value is None else f"{key} is {json.dumps(value)}, not a positive number"
    with pytest.raises(BidsError, match=re.escape(expected)) as err:
        read_emg(files, **WHO)
    assert err.value.file == files["sidecar"] and key in err.value.fix


@pytest.mark.parametrize(("part", "kind", "key"), [("eeg", "data", "DataFile"), ("vmrk", "marker", "MarkerFile")])
def test_brainvision_header_naming_a_missing_file_says_so(tmp_path, part, kind, key):
    _, files = _write(tmp_path, "brainvision")
    Path(files[part]).unlink()
    with pytest.raises(BidsError) as err:
        read_emg(files, **WHO)
    text = str(err.value)
    assert f"names the {kind} file 'sub-01_task-faces_emg.{part}' ({key}=), which is not there" in text
    assert "corrupt" not in text and err.value.fix.startswith(f"copy sub-01_task-faces_emg.{part} beside the header")


def test_a_channel_listed_twice_in_channels_tsv(tmp_path):
    _, files = _write(tmp_path, "bdf")
    _edit_channels(files, name=["corrugator", "corrugator"])
    with pytest.raises(BidsError, match=r"_channels.tsv lists channel\(s\) \['corrugator'\] more than once"):
        read_emg(files, **WHO)


@pytest.mark.parametrize(("columns", "says"), [
    ({"type": ["MISC", "EEG"]}, r"has no channel of type EMG \(types: \['EEG', 'MISC'\]\)"),
    ({"status": ["bad", "good"], "target_muscle": ["corrugator", "n/a"]}, r"has no usable EMG channel \(marked bad: \['corrugator'\]; no target muscle: \['zygomaticus'\]\)"),
])
def test_a_channels_tsv_without_usable_emg_channels_is_named_not_the_recording(tmp_path, columns, says):
    """Without this check nothing is picked and reading the BDF fails as if it were corrupt."""
    _, files = _write(tmp_path, "bdf")
    _edit_channels(files, **columns)
    with pytest.raises(BidsError, match=says) as err:
        read_emg(files, **WHO)
    assert err.value.file == files["channels"] and "corrupt" not in str(err.value)
    assert (err.value.study, err.value.participant) == ("s", "01")
