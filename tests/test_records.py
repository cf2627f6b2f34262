"""Which events are trials, labels checked against the declared sets,
and exclusions at the level of the problem (participant, muscle, trial).

Each test reproduces one failure a lab met on a copy of a
simulated participant: mne-bids' non-face rows, `Happy` next to `happy`, no stimulus
column, a trial past the end of the recording, a disconnected (all-zero) electrode.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from opioidsocial.config import validate_section
from opioidsocial.emg.participant import run
from opioidsocial.emg.study_table import run as run_table
from opioidsocial.errors import ConfigError, DataError
from opioidsocial.io.bids import emg_files, read_events, write_emg_recording
from opioidsocial.io.contracts import EMG_BINS, EXCLUSIONS
from opioidsocial.io.tables import read_table, read_tsv
from opioidsocial.report.overview import exclusion_counts
from opioidsocial.sheets import load_participants


@pytest.fixture
def participant(tiny_emg_study, tmp_path) -> dict:
    """A copy of participant 001 of the tiny study, with the job's outputs beside it."""
    shutil.copytree(Path(tiny_emg_study["path"]) / "sub-001", tmp_path / "sub-001")
    files = emg_files({**tiny_emg_study, "path": str(tmp_path)}, "001")
    out = {"bins": str(tmp_path / "out/001.parquet"), "qc": str(tmp_path / "out/001.json"), "signals": str(tmp_path / "out/001.signals.parquet")}
    return {"inputs": files, "outputs": out, "study": "tiny", "participant": "001", "arm": "placebo", "metadata": {}}


def _job(participant: dict, emg_cfg: dict, *, on_bad_data: str = "fail") -> tuple[pd.DataFrame, dict]:
    run(**participant, cfg={"emg": emg_cfg, "on_bad_data": on_bad_data})
    return read_table(participant["outputs"]["bins"], EMG_BINS), json.loads(Path(participant["outputs"]["qc"]).read_text())


def _events(participant: dict) -> pd.DataFrame:
    return pd.read_csv(participant["inputs"]["events"], sep="\t", dtype=str, keep_default_na=False)


def _write_events(participant: dict, events: pd.DataFrame) -> None:
    events.to_csv(participant["inputs"]["events"], sep="\t", index=False)


def test_mne_bids_marker_rows_are_ignored_counted_and_case_is_no_new_level(participant, emg_cfg):
    clean, _ = _job(participant, emg_cfg)
    events = _events(participant)
    # as mne-bids writes BrainVision markers and boundaries beside the faces
    extra = pd.DataFrame({"onset": ["5.0", "11.0", "12.5", "0.0", "20.0"], "duration": ["0.0"] * 5,
                          "trial_type": ["Response/R255", "Stimulus/S255", "Event/254", "BAD boundary", "n/a"],
                          "stimulus": ["n/a"] * 5, "sample": ["0"] * 5})
    events["trial_type"] = events["trial_type"].where(events.index % 2 == 0, events["trial_type"].str.upper() + " ")
    _write_events(participant, pd.concat([events, extra]).sort_values("onset", key=lambda c: c.astype(float), kind="stable"))
    bins, qc = _job(participant, emg_cfg)
    assert sorted(bins["emotion"].unique()) == sorted(clean["emotion"].unique()) == ["angry", "happy"]
    assert qc["ignored_events"] == {"BAD boundary": 1, "Event/254": 1, "Response/R255": 1, "Stimulus/S255": 1, "n/a": 1}
    pd.testing.assert_frame_equal(bins, clean)


def test_an_event_map_selects_the_faces_by_marker_code(participant, emg_cfg):
    clean, _ = _job(participant, emg_cfg)
    events = _events(participant)
    codes = {"happy": "Stimulus/S  1", "angry": "Stimulus/S  2"}
    events["trial_type"] = events["trial_type"].map(codes)
    responses = events.assign(trial_type="Response/R  1", onset=(events["onset"].astype(float) + 1.0).astype(str), stimulus="n/a")
    _write_events(participant, pd.concat([events, responses]).sort_values("onset", key=lambda c: c.astype(float), kind="stable"))
    cfg = {**emg_cfg, "trial_types": {"tiny": {emotion: [code] for emotion, code in codes.items()}}}
    bins, qc = _job(participant, cfg)
    assert qc["ignored_events"] == {"Response/R  1": len(responses)}
    pd.testing.assert_frame_equal(bins, clean)


def test_without_a_stimulus_column_no_stimulus_is_made_up(participant, emg_cfg):
    _write_events(participant, _events(participant).drop(columns="stimulus"))
    bins, _ = _job(participant, emg_cfg)
    assert set(bins["stimulus"]) == {"n/a"}  # never the emotion


def test_a_trial_past_the_end_is_dropped_and_recorded_the_others_stay(participant, emg_cfg):
    clean, _ = _job(participant, emg_cfg)
    events = _events(participant)
    last = len(events)
    end = float(json.loads(Path(participant["inputs"]["sidecar"]).read_text())["RecordingDuration"])
    # the epoch itself ends inside the recording; only the filter padding leaves it
    events.loc[last - 1, "onset"] = str(end - emg_cfg["tmax_s"] - 0.05)
    _write_events(participant, events)
    for policy in ("fail", "exclude"):
        bins, qc = _job(participant, emg_cfg, on_bad_data=policy)
        assert qc["usable"] and sorted(bins["trial"].unique()) == list(range(1, last))
        pd.testing.assert_frame_equal(bins.drop(columns="amplitude_z"), clean[clean["trial"] < last].drop(columns="amplitude_z").reset_index(drop=True))
        [row] = qc["exclusions"]
        assert (row["level"], row["trial"], row["muscle"], row["participant"]) == ("trial", str(last), "", "001")
        assert "filter padding leaves the recording" in row["reason"] and participant["inputs"]["events"] in row["reason"]


def _disconnect(participant: dict, muscle: str, emg_cfg: dict) -> None:
    """Rewrite the recording with ``muscle``'s channel all zeros (a disconnected electrode)."""
    import mne

    files = participant["inputs"]
    raw = mne.io.read_raw_bdf(files["recording"], preload=True, verbose="error")
    data = raw.get_data() * 1e6
    names = raw.ch_names
    data[names.index(muscle)] = 0.0
    sidecar = json.loads(Path(files["sidecar"]).read_text())
    root = Path(files["recording"]).parents[2]
    n = int(round(sidecar["RecordingDuration"] * raw.info["sfreq"]))
    write_emg_recording(root=root, participant="001", task="faces", data=data[:, :n], sfreq=raw.info["sfreq"], muscles=names,
                        events=pd.read_csv(files["events"], sep="\t"), line_freq=sidecar["PowerLineFrequency"])


def test_a_disconnected_electrode_excludes_that_muscle_only(participant, emg_cfg):
    clean, _ = _job(participant, emg_cfg)
    _disconnect(participant, "corrugator", emg_cfg)
    for policy in ("fail", "exclude"):  # was: TableSchemaError: amplitude_z has missing values, under both
        bins, qc = _job(participant, emg_cfg, on_bad_data=policy)
        assert qc["usable"] and set(bins["muscle"]) == {"zygomaticus"}
        pd.testing.assert_frame_equal(bins, clean[clean["muscle"] == "zygomaticus"].reset_index(drop=True))
        [row] = qc["exclusions"]
        assert (row["level"], row["muscle"], row["trial"]) == ("muscle", "corrugator", "")
        assert "no clean trial (flat channel" in row["reason"] and participant["inputs"]["recording"] in row["reason"]


def test_the_study_table_lists_every_level_and_the_overview_counts_them_per_arm(participant, emg_cfg, tmp_path):
    _disconnect(participant, "corrugator", emg_cfg)
    _job(participant, emg_cfg)
    good, bad = tmp_path / "002.json", tmp_path / "003.json"
    good.write_text(Path(participant["outputs"]["qc"]).read_text())
    bad.write_text(json.dumps({"study": "tiny", "participant": "003", "usable": False, "exclusion_reason": "corrupt"}))
    out = {"table": str(tmp_path / "table.parquet"), "exclusions": str(tmp_path / "exclusions.tsv")}
    run_table(inputs={"bins": [participant["outputs"]["bins"], participant["outputs"]["bins"]], "qc": [str(good), str(bad)]},
              outputs=out, cfg={"on_bad_data": "fail"}, study="tiny", metadata={})
    table = read_tsv(out["exclusions"], EXCLUSIONS).fillna("")  # an empty cell reads as missing
    assert list(table.columns) == list(EXCLUSIONS.columns)
    assert table[["participant", "level", "muscle"]].values.tolist() == [["001", "muscle", "corrugator"], ["003", "participant", ""]]
    sheet = tmp_path / "sheet"
    sheet.mkdir()
    (sheet / "participants.tsv").write_text("participant_id\tarm\nsub-001\tplacebo\nsub-002\tplacebo\nsub-003\tnaltrexone\n")
    # The participants.tsv the rule declares is the one read: the row names no path.
    row = {"study": "tiny", "modality": "emg", "input": "bids", "reference": "placebo"}
    counts = exclusion_counts([row], table, files={"tiny": {"participants": str(sheet / "participants.tsv")}})
    assert counts.to_dict("records") == [
        {"study": "tiny", "arm": "naltrexone", "n_enrolled": 1, "excluded_participants": 1, "excluded_muscles": 0, "excluded_trials": 0, "excluded_rois": 0},
        {"study": "tiny", "arm": "placebo", "n_enrolled": 2, "excluded_participants": 0, "excluded_muscles": 1, "excluded_trials": 0, "excluded_rois": 0},
    ]


def test_events_reader_names_the_line_of_a_bad_onset(tmp_path):
    path = tmp_path / "sub-01_task-faces_events.tsv"
    path.write_text("onset\tduration\ttrial_type\n1.0\t1\thappy\nn/a\t0\tboundary\n")
    with pytest.raises(DataError, match=r"line 3: onset 'n/a' is not a finite number") as err:
        read_events(path)
    assert err.value.file == str(path)
    path.write_text("onset\tduration\ttrial_type\n1.0\t1\thappy\n")
    assert "stimulus" not in read_events(path).columns  # not trial_type in its place


def test_arms_are_one_spelling_each_and_the_reference_is_among_them(tmp_path):
    (tmp_path / "participants.tsv").write_text("participant_id\tarm\nsub-01\tplacebo\nsub-02\tPlacebo\nsub-03\tnaltrexone\n")
    row = {"study": "s", "modality": "emg", "input": "bids", "reference": "placebo", "path": str(tmp_path)}
    with pytest.raises(ConfigError, match=r"arms \['Placebo', 'placebo'\] differ only in case"):
        load_participants(row, schemas=Path(__file__).parents[1] / "workflow/schemas")
    (tmp_path / "participants.tsv").write_text("participant_id\tarm\nsub-01\tplacebo \nsub-03\tnaltrexone\n")
    with pytest.raises(ConfigError, match=r"participants.tsv line 2: 'arm' = 'placebo ' is invalid"):
        load_participants(row, schemas=Path(__file__).parents[1] / "workflow/schemas")
    (tmp_path / "participants.tsv").write_text("participant_id\tarm\nsub-01\tplacebo\nsub-03\tnaltrexone\n")
    with pytest.raises(ConfigError, match="reference arm 'placebp' in the study sheet .* did you mean 'placebo'"):
        load_participants({**row, "reference": "placebp"}, schemas=Path(__file__).parents[1] / "workflow/schemas")


def test_declared_labels_are_checked_in_the_config():
    with pytest.raises(ConfigError) as err:
        validate_section({"channel_muscles": {"s": {"EXG1": "corugator"}}, "emotions": ["happy", "Happy"],
                          "trial_types": {"s": {"happy": ["S 1"], "angry": ["s 1"]}}}, "emg.schema.yaml", source="emg")
    text = str(err.value)
    assert "muscle 'corugator' in the map of channel 'EXG1' is not declared: did you mean 'corrugator'?" in text
    assert "emotion 'happy' and 'Happy' are one label" in text
    assert "trial_type 's 1' is mapped to both 'happy' and 'angry'" in text


def test_a_muscle_without_clean_signal_in_every_muscle_excludes_the_participant(participant, emg_cfg):
    _disconnect(participant, "corrugator", emg_cfg)
    with pytest.raises(DataError, match="no muscle has a clean trial"):
        _job(participant, {**emg_cfg, "muscles": ["corrugator"]})
    assert not Path(participant["outputs"]["qc"]).exists()
    bins, qc = _job(participant, {**emg_cfg, "muscles": ["corrugator"]}, on_bad_data="exclude")
    assert bins.empty and not qc["usable"] and "no muscle has a clean trial" in qc["exclusion_reason"]


def test_a_label_in_another_case_is_the_declared_muscle_in_every_stage(participant, emg_cfg, tmp_path):
    from opioidsocial.emg import qc_figure

    clean, _ = _job(participant, emg_cfg)
    channels = pd.read_csv(participant["inputs"]["channels"], sep="\t")
    channels["target_muscle"] = [" Corrugator", "ZYGOMATICUS "]
    channels.to_csv(participant["inputs"]["channels"], sep="\t", index=False)
    bins, qc = _job(participant, emg_cfg)
    pd.testing.assert_frame_equal(bins, clean)
    png = tmp_path / "qc.png"
    qc_figure.run(inputs={"qc": participant["outputs"]["qc"], "signals": participant["outputs"]["signals"]}, outputs={"png": str(png)},
                  cfg={"on_bad_data": "fail"}, study="tiny", participant="001")
    assert png.stat().st_size > 0 and sorted(qc["channels"]) == ["corrugator", "zygomaticus"]
