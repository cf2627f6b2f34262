import json

import numpy as np
import pandas as pd
import pytest

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
    rec = read_emg(files, who="t")
    assert rec.muscles == MUSCLES and rec.sfreq == SFREQ and rec.line_freq == 50.0
    # quantisation aside (24-bit BDF: 1/32 uV per bit; EDF: range / 65535), the signal comes back
    assert np.abs(rec.data[:, : data.shape[1]] - data).max() <= tolerance


def test_monopolar_pairs_become_bipolar(tmp_path):
    data, files = _write(tmp_path, "bdf", monopolar=True)
    rec = read_emg(files, who="t")
    assert rec.derivations == {"corrugator": "corrugator1 - corrugator2", "zygomaticus": "zygomaticus1 - zygomaticus2"}
    assert np.abs(rec.data[:, : data.shape[1]] - data).max() <= 2 / 32


def test_missing_muscle_names_the_file_and_the_fix(tmp_path):
    _, files = _write(tmp_path, "bdf")
    with pytest.raises(BidsError, match=r"no EMG channel for muscle\(s\) \['frontalis'\].*channels.tsv"):
        read_emg(files, who="study 's', participant '01'", muscles=["frontalis"])


def test_sampling_rate_disagreeing_with_the_sidecar(tmp_path):
    _, files = _write(tmp_path, "bdf")
    sidecar = json.loads(open(files["sidecar"]).read())
    sidecar["SamplingFrequency"] = 2048
    open(files["sidecar"], "w").write(json.dumps(sidecar))
    with pytest.raises(BidsError, match="sampled at 512 Hz but .* says SamplingFrequency 2048"):
        read_emg(files, who="t")


def test_truncated_recording_is_reported(tmp_path):
    _, files = _write(tmp_path, "bdf")
    with open(files["recording"], "r+b") as fh:
        fh.truncate(300)
    with pytest.raises(BidsError, match="corrupt or truncated"):
        read_emg(files, who="t")


def test_missing_recording_names_the_sheet(tmp_path):
    with pytest.raises(BidsError, match="participants.tsv"):
        emg_files({"study": "s", "path": str(tmp_path), "task": "faces"}, "99")


def test_events_need_onsets(tmp_path):
    path = tmp_path / "ev.tsv"
    path.write_text("onset\ttrial_type\nabc\thappy\n")
    with pytest.raises(BidsError, match="non-numeric"):
        read_events(path, who="t")


def test_empty_recording_is_named(tmp_path):
    _, files = _write(tmp_path, "edf")
    open(files["recording"], "wb").close()
    with pytest.raises(BidsError, match=r"participant '01'.*_emg.edf is missing or empty; copy the raw file again"):
        read_emg(files, who="study 's', participant '01'")


@pytest.mark.parametrize("fmt", ["bdf", "edf", "brainvision"])
def test_corrupt_header_is_reported_for_every_format(tmp_path, fmt):
    _, files = _write(tmp_path, fmt)
    with open(files["recording"], "r+b") as fh:
        fh.write(b"\x00garbage\xff" * 30)
    with pytest.raises(BidsError) as err:
        read_emg(files, who="study 's', participant '01'")
    assert "participant '01'" in str(err.value) and files["recording"] in str(err.value)
    assert "corrupt or truncated" in str(err.value) or "not in" in str(err.value)


def test_brainvision_with_a_truncated_data_file(tmp_path):
    """MNE sizes a BrainVision recording from its .eeg file: only the sidecar tells it was cut."""
    _, files = _write(tmp_path, "brainvision")
    with open(files["eeg"], "r+b") as fh:
        fh.truncate(4000)
    with pytest.raises(BidsError, match=r"participant '01'.*_emg.vhdr holds 0.* s but .*RecordingDuration 10 s; the file is truncated"):
        read_emg(files, who="study 's', participant '01'")


def test_nan_samples_are_named_by_muscle(tmp_path):
    data, files = _write(tmp_path, "brainvision")
    data[1, 100:200] = np.nan
    write_emg_recording(root=tmp_path, participant="01", task="faces", data=data, sfreq=SFREQ, muscles=MUSCLES,
                        events=read_events(files["events"], who="t"), line_freq=50.0, fmt="brainvision")
    with pytest.raises(BidsError, match=r"NaN or infinite samples in \['zygomaticus'\]; re-export the recording"):
        read_emg(files, who="study 's', participant '01'")
