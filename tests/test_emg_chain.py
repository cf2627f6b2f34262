"""The one-pass signal chain: filter, rectify, smooth, and what the QC figure keeps."""

import numpy as np
import pytest
from scipy import signal
from scipy.ndimage import uniform_filter1d

from opioidsocial.emg import chain, envelope, filters
from opioidsocial.io.contracts import EMG_QC_SIGNALS
from opioidsocial.io.tables import read_table, write_table

SFREQ = 2048.0


@pytest.mark.parametrize("width", [2, 5, 205])
@pytest.mark.parametrize("block", [1, 77, 4000])
def test_running_mean_over_blocks_equals_one_moving_average(width, block):
    """Blocks of any size (shorter than the window too) give uniform_filter1d's 'nearest' result."""
    x = np.random.default_rng(width + block).normal(0, 5.0, (2, 3001))
    mean = envelope.RunningMean(width)
    out = np.full_like(x, np.nan)
    for start in range(0, x.shape[1], block):
        first, values = mean.push(x[:, start : start + block])
        out[:, first : first + values.shape[1]] = values
    first, values = mean.finish()
    out[:, first : first + values.shape[1]] = values
    np.testing.assert_allclose(out, uniform_filter1d(x, width, axis=1, mode="nearest"), rtol=0, atol=1e-12)


def _chain(x, fd, **kwargs):
    """The chain on a copy of ``x``, which it overwrites with the envelope."""
    return chain.filter_rectify_smooth(x.copy(), fd, sfreq=SFREQ, smoothing_ms=100.0, snippet=(4096, 12288), onset_s=3.0, **kwargs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_envelope_over_the_recording_equals_one_in_new_memory(dtype):
    """Written over the recording as the pass goes (no sample is overwritten before
    the filter has copied it), the envelope equals the one computed from a read-only
    recording, which the chain leaves alone and gives a fresh array for."""
    fd = filters.design(sfreq=SFREQ, low_hz=20, high_hz=500, line_freq=50.0)
    x = (np.random.default_rng(13).normal(0, 5.0, (3, 70_001)) + 20 * np.sin(2 * np.pi * 50 * np.arange(70_001) / SFREQ)).astype(dtype)
    kept = x.copy()
    kept.flags.writeable = False
    fresh, sd_fresh, _ = chain.filter_rectify_smooth(kept, fd, sfreq=SFREQ, smoothing_ms=100.0, snippet=(0, 100), onset_s=0.0)
    assert not np.shares_memory(fresh, kept)
    over, sd_over, _ = chain.filter_rectify_smooth(x, fd, sfreq=SFREQ, smoothing_ms=100.0, snippet=(0, 100), onset_s=0.0)
    assert np.shares_memory(over, x) and over.dtype == np.float32 and over.shape == x.shape
    np.testing.assert_array_equal(over, fresh)
    np.testing.assert_array_equal(sd_over, sd_fresh)


def test_chain_is_filter_then_rectify_then_smooth():
    fd = filters.design(sfreq=SFREQ, low_hz=20, high_hz=500, line_freq=50.0)
    x = np.random.default_rng(10).normal(0, 5.0, (3, 90_000)) + 30 * np.sin(2 * np.pi * 50 * np.arange(90_000) / SFREQ)
    envelope_, sd, signals = _chain(x, fd)
    filtered = filters.apply(x, fd)
    expected = uniform_filter1d(np.abs(filtered), envelope.smoothing_width(sfreq=SFREQ, smoothing_ms=100.0), axis=1, mode="nearest")
    assert envelope_.dtype == np.float32
    np.testing.assert_allclose(envelope_, expected, rtol=1e-6, atol=0)  # single precision
    np.testing.assert_allclose(sd, filtered.std(axis=1), rtol=1e-5)  # summed block by block, in single-precision blocks
    np.testing.assert_array_equal(signals.raw, x[:, 4096:12288])
    np.testing.assert_array_equal(signals.filtered, filtered[:, 4096:12288])
    assert signals.snippet_s[0] == pytest.approx(4096 / SFREQ - 3.0)


def test_spectra_show_the_band_and_the_notch():
    """Raw white noise with mains: the raw PSD has the 50 Hz line and the noise level
    (2 sigma^2 / fs, one-sided); the filtered PSD keeps the band and removes 5 Hz and 50 Hz."""
    fd = filters.design(sfreq=SFREQ, low_hz=20, high_hz=500, line_freq=50.0)
    t = np.arange(300_000) / SFREQ
    x = np.random.default_rng(11).normal(0, 5.0, (1, t.size)) + 40 * np.sin(2 * np.pi * 50 * t)
    _, _, signals = _chain(x, fd)
    f, raw, filtered = signals.freqs_hz, signals.raw_psd[0], signals.filtered_psd[0]
    assert np.all(np.diff(f) > 0) and np.median(np.diff(f)) == pytest.approx(1.0)
    band = (f > 150) & (f < 250)
    assert np.median(raw[band]) == pytest.approx(2 * 25.0 / SFREQ, rel=0.1)
    _, sections = signal.freqz_sos(fd.sos, worN=f, fs=SFREQ)
    assert np.median(filtered[band] / raw[band]) == pytest.approx(np.median(np.abs(sections[band]) ** 4), rel=0.02)  # power: gain squared
    line = np.argmin(np.abs(f - 50))
    assert raw[line] > 100 * np.median(raw[band]) and filtered[line] < 1e-5 * raw[line]  # the line's bin down by 50 dB
    assert filtered[np.argmin(np.abs(f - 5))] < 1e-6 * raw[np.argmin(np.abs(f - 5))]


def test_qc_signals_go_through_their_contract(tmp_path):
    fd = filters.design(sfreq=SFREQ, low_hz=20, high_hz=500, line_freq=50.0)
    _, _, signals = _chain(np.random.default_rng(12).normal(0, 5.0, (2, 40_000)), fd)
    path = tmp_path / "s.parquet"
    write_table(signals.table(study="s", participant="001", muscles=["corrugator", "zygomaticus"]), path, EMG_QC_SIGNALS)
    back = read_table(path, EMG_QC_SIGNALS)
    zyg = back[(back["muscle"] == "zygomaticus") & (back["kind"] == "snippet") & (back["signal"] == "filtered")]
    np.testing.assert_array_equal(zyg["value"].to_numpy(), signals.filtered[1])


def test_rms_envelope_is_the_moving_root_mean_square_and_one_filtering_gives_both():
    """emg.envelope rms: sqrt of the centred moving average of the squared filtered signal;
    :func:`chain.envelopes` gives both kinds from one filtering, each equal to the chain's."""
    fd = filters.design(sfreq=SFREQ, low_hz=28, high_hz=500, line_freq=50.0)
    x = np.random.default_rng(11).normal(0, 5.0, (2, 40_000)) + 30 * np.sin(2 * np.pi * 50 * np.arange(40_000) / SFREQ)
    rms, _, _ = _chain(x, fd, envelope="rms")
    width = envelope.smoothing_width(sfreq=SFREQ, smoothing_ms=100.0)
    filtered = filters.apply(x, fd)
    expected = np.sqrt(uniform_filter1d(filtered**2, width, axis=1, mode="nearest"))
    np.testing.assert_allclose(rms, expected, rtol=2e-5, atol=0)
    both, sd = chain.envelopes(x, fd, sfreq=SFREQ, kinds=[("rectify", 100.0), ("rms", 100.0), ("rectify", 50.0)])
    np.testing.assert_array_equal(both[("rms", 100.0)], rms)
    np.testing.assert_array_equal(both[("rectify", 100.0)], _chain(x, fd)[0])
    narrow = chain.filter_rectify_smooth(x.copy(), fd, sfreq=SFREQ, smoothing_ms=50.0, snippet=(0, 1), onset_s=0.0)[0]
    np.testing.assert_array_equal(both[("rectify", 50.0)], narrow)
    np.testing.assert_allclose(sd, filtered.std(axis=1), rtol=1e-5)


def test_envelopes_in_double_precision_equal_the_direct_filter():
    """dtype float64 filters and keeps the envelope in double precision: the single-precision rounding is gone."""
    fd = filters.design(sfreq=SFREQ, low_hz=20, high_hz=500, line_freq=50.0)
    x = np.random.default_rng(12).normal(0, 5.0, (2, 30_000))
    both, _ = chain.envelopes(x, fd, sfreq=SFREQ, kinds=[("rms", 100.0)], dtype=np.float64)
    rms = both[("rms", 100.0)]
    assert rms.dtype == np.float64
    # the FIR by direct convolution in double precision: each channel less its mean, oddly reflected at both ends
    half = fd.half_width
    padded = np.pad(x - x.mean(axis=1, keepdims=True), ((0, 0), (half, half)), mode="reflect", reflect_type="odd")
    filtered = signal.fftconvolve(padded, fd.taps[None, :], mode="valid", axes=1)
    width = envelope.smoothing_width(sfreq=SFREQ, smoothing_ms=100.0)
    expected = np.sqrt(uniform_filter1d(filtered**2, width, axis=1, mode="nearest"))
    np.testing.assert_allclose(rms, expected, rtol=1e-10, atol=0)
