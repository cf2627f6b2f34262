"""Recordings that are already envelopes (integrated EMG) and the baseline methods labs use for them."""

import mne
import numpy as np
import pandas as pd
import pytest

from opioidsocial.emg.epochs import apply_baseline
from opioidsocial.emg.preprocess import ENVELOPE_FILTER, preprocess_participant
from opioidsocial.emg.trials import responses_from_bins
from opioidsocial.errors import DataError
from opioidsocial.io.bids import emg_files, write_emg_recording
from tests.conftest import TINY_EMG, simulated_emg_study
from tests.test_bids_validator import assert_valid, needs_validator

ENVELOPE_STUDY = {**TINY_EMG, "signal": "envelope", "sfreq": 100, "arms": {"placebo": 1, "naltrexone": 1}}


@pytest.fixture(scope="module")
def envelope_study(tmp_path_factory) -> dict:
    return simulated_emg_study(tmp_path_factory, study="biopac", params=ENVELOPE_STUDY, seed=11)


def _run(row, participant, cfg):
    return preprocess_participant(emg_files(row, participant), study=row["study"], participant=participant, arm="placebo", cfg=cfg)


def test_baseline_methods_on_one_array():
    bins = np.array([[[2.0, 4.0, 8.0]]])
    base = np.array([[2.0]])
    assert apply_baseline(bins, base, "subtract").tolist() == [[[0.0, 2.0, 6.0]]]
    assert apply_baseline(bins, base, "ratio").tolist() == [[[1.0, 2.0, 4.0]]]
    assert np.allclose(apply_baseline(bins, base, "log_ratio"), np.log([[[1.0, 2.0, 4.0]]]))
    assert apply_baseline(bins, base, "percent").tolist() == [[[0.0, 100.0, 300.0]]]
    assert apply_baseline(bins, base, "none").tolist() == bins.tolist()
    assert np.isnan(apply_baseline(bins, np.array([[0.0]]), "ratio")).all()


def test_log_ratio_trials_equal_an_independent_computation(envelope_study, emg_cfg):
    """Trial value = log(response-window mean / baseline-window mean) of the envelope as stored (numpy, not the package)."""
    cfg = {**emg_cfg, "smoothing_ms": 0.0, "baseline_method": "log_ratio"}
    bins, qc, _ = _run(envelope_study, "001", cfg)
    assert qc["filter"] == ENVELOPE_FILTER and qc["amplitude_unit"] == "log_ratio"
    trials = responses_from_bins(bins, window=tuple(cfg["response_s"]), method="log_ratio")
    files = emg_files(envelope_study, "001")
    raw = mne.io.read_raw_bdf(files["recording"], preload=True, verbose="error")
    channel_of = dict(pd.read_csv(files["channels"], sep="\t")[["target_muscle", "name"]].values)
    onsets = pd.read_csv(files["events"], sep="\t")["onset"].to_numpy()
    sfreq = raw.info["sfreq"]
    expected = []
    for row in trials.itertuples():
        x = raw.get_data(picks=[channel_of[row.muscle]], units="uV")[0]
        s = int(round(onsets[row.trial - 1] * sfreq))
        base = x[s + int(round(-1.0 * sfreq)) : s].mean()
        response = x[s + int(round(0.5 * sfreq)) : s + int(round(3.5 * sfreq))].mean()
        expected.append(np.log(response / base))
    assert len(trials) > 10
    np.testing.assert_allclose(trials["response_uv"].to_numpy(), expected, rtol=0, atol=1e-9)


def test_envelope_declared_by_the_dataset_is_not_filtered(envelope_study, emg_cfg):
    bins, qc, signals = _run(envelope_study, "002", emg_cfg)
    assert qc["filter"] == ENVELOPE_FILTER and "baseline_method" not in qc
    assert signals.freqs_hz.size == 0
    # the bins are the envelope's (positive) level minus its baseline: a filtered envelope would be near zero throughout
    window = bins[(bins["bin_start_s"] >= 0.5) & (bins["bin_start_s"] < 3.5) & ~bins["artefact"]]
    assert window.groupby(["muscle", "emotion"])["amplitude_uv"].mean()["zygomaticus", "happy"] > 0.5


def test_negative_envelope_is_an_error_naming_the_file(emg_cfg, tmp_path):
    """An envelope offset below zero (a wrong export offset) is refused, not averaged."""
    sfreq, n = 100.0, 3000
    data = np.full((1, n), 5.0)
    data[0, 1234] = -2.0
    events = pd.DataFrame({"onset": [10.0], "duration": [4.0], "trial_type": ["happy"], "stimulus": ["happy01"], "sample": [1000]})
    row = {"study": "biopac", "path": str(tmp_path), "task": "faces"}
    write_emg_recording(root=tmp_path, participant="01", task="faces", data=data, sfreq=sfreq, muscles=["corrugator"],
                        events=events, line_freq=50.0, signal="envelope")
    files = emg_files(row, "01")
    with pytest.raises(DataError, match=r"envelope of muscle 'corrugator' is negative \(-[0-9.]+ µV at 12.34 s\)") as info:
        preprocess_participant(files, study="biopac", participant="01", arm="placebo", cfg=emg_cfg)
    assert info.value.file == files["recording"] and "offset" in info.value.fix


@needs_validator
def test_simulated_envelope_dataset_is_valid_bids_emg(envelope_study):
    assert_valid(envelope_study["path"])


def test_bins_under_two_envelope_samples_are_an_error(envelope_study, emg_cfg):
    with pytest.raises(DataError, match="fewer than two samples"):
        _run(envelope_study, "001", {**emg_cfg, "bin_s": 0.015, "tmax_s": 3.99})


def test_qc_figure_says_envelope_no_filtering(envelope_study, emg_cfg, tmp_path):
    from opioidsocial.emg.qc_figure import qc_figure

    _, qc, signals = _run(envelope_study, "001", emg_cfg)
    png = tmp_path / "qc.png"
    import matplotlib.pyplot as plt

    texts = []
    real = plt.Figure.savefig

    def capture(fig, *args, **kwargs):
        texts.extend(t.get_text() for ax in fig.axes for t in [ax.title, *ax.texts])
        return real(fig, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plt.Figure, "savefig", capture)
        qc_figure(qc=qc, signals=signals.table(study="biopac", participant="001", muscles=list(qc["channels"])), png_path=str(png))
    assert png.stat().st_size > 0
    assert any("envelope: no filtering" in t for t in texts) and not any("power spectrum" in t for t in texts)


def test_a_raw_only_setting_for_an_envelope_study_is_a_config_error():
    from opioidsocial.config import ConfigError, validate_section

    with pytest.raises(ConfigError, match=r"'emg.highpass_hz' = 10.0 is a raw-EMG setting, but study \['biopac'\] records an envelope"):
        validate_section({"signal": {"biopac": "envelope"}, "highpass_hz": 10.0}, "emg.schema.yaml", source="emg")
    # named raw studies are what the setting is for
    validate_section({"signal": {"biopac": "envelope", "lab": "raw"}, "highpass_hz": 10.0}, "emg.schema.yaml", source="emg")
    validate_section({"signal": {"biopac": "envelope"}}, "emg.schema.yaml", source="emg")


def test_envelope_is_read_from_a_dataset_whose_muscles_come_from_the_channel_map(envelope_study, emg_cfg, tmp_path):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(envelope_study["path"], root)
    row = {**envelope_study, "path": str(root)}
    files = emg_files(row, "001")
    channels = pd.read_csv(files["channels"], sep="\t")
    channels.drop(columns="target_muscle").to_csv(files["channels"], sep="\t", index=False)
    cfg = {**emg_cfg, "channel_muscles": {"biopac": {name: name for name in channels["name"]}}}
    _, qc, _ = _run(row, "001", cfg)
    assert qc["filter"] == ENVELOPE_FILTER


def test_a_simulated_envelope_study_is_not_checked_against_the_band_pass():
    from opioidsocial.config import SCHEMA_DIR, ConfigError, validate_config

    schema = SCHEMA_DIR / "config.schema.yaml"
    slow = {**ENVELOPE_STUDY, "sfreq": 30}
    validate_config({"simulate": {"emg": {"biopac": slow}}}, schema)
    with pytest.raises(ConfigError, match="'simulate.emg.biopac.sfreq' = 30 Hz allows a band up to 13.5 Hz"):
        validate_config({"simulate": {"emg": {"biopac": {**slow, "signal": "raw"}}}}, schema)


def test_a_zero_baseline_under_a_ratio_is_an_artefact_not_a_division(emg_cfg, tmp_path):
    from opioidsocial.io.contracts import EMG_BINS
    from opioidsocial.io.tables import conform

    sfreq, n = 100.0, 6000
    rng = np.random.default_rng(0)
    data = 5.0 + rng.uniform(0.0, 1.0, (1, n))
    onsets = np.arange(5.0, 55.0, 6.0)
    data[0, int(onsets[2] * sfreq) - 100 : int(onsets[2] * sfreq)] = 0.0  # the electrode came loose before trial 3
    events = pd.DataFrame({"onset": onsets, "duration": 4.0, "trial_type": "happy", "stimulus": [f"happy{k:02d}" for k in range(len(onsets))],
                           "sample": (onsets * sfreq).astype(int)})
    write_emg_recording(root=tmp_path, participant="01", task="faces", data=data, sfreq=sfreq, muscles=["corrugator"],
                        events=events, line_freq=50.0, signal="envelope", fmt="brainvision")  # float samples: a zero stays zero
    bins, qc, _ = _run({"study": "biopac", "path": str(tmp_path), "task": "faces"}, "01",
                       {**emg_cfg, "baseline_method": "ratio", "smoothing_ms": 0.0, "clip_run": 1000})
    conform(bins, EMG_BINS)
    cells = bins.drop_duplicates("trial").set_index("trial")
    assert "baseline not positive" in cells.loc[3, "artefact_reason"]
    assert qc["muscles"]["corrugator"]["reasons"]["baseline not positive"] == 1 and qc["amplitude_unit"] == "ratio"
    clean = bins[~bins["artefact"]]
    assert np.isfinite(clean["amplitude_uv"]).all() and clean["amplitude_uv"].between(0.7, 1.3).all()
