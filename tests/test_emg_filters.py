import numpy as np
import pytest
from scipy import signal

from opioidsocial.emg import filters

SFREQ = 2048.0


def _amplitude_after(freq: float, fd: filters.FilterDesign) -> float:
    t = np.arange(int(4 * SFREQ)) / SFREQ
    out = filters.apply(np.sin(2 * np.pi * freq * t)[None, :], fd)[0]
    middle = out[int(SFREQ) : int(3 * SFREQ)]  # away from the padded edges
    return float(np.sqrt(2) * middle.std())


def test_band_pass_attenuates_10hz_and_passes_150hz():
    fd = filters.design(sfreq=SFREQ, low_hz=20, high_hz=500, line_freq=60.0)
    assert _amplitude_after(10.0, fd) < 0.05  # below -26 dB
    assert _amplitude_after(150.0, fd) == pytest.approx(1.0, abs=0.02)


def test_notches_remove_mains_and_harmonics_but_not_neighbours():
    fd = filters.design(sfreq=SFREQ, low_hz=20, high_hz=500, line_freq=50.0)
    assert fd.notches_hz == tuple(50.0 * k for k in range(1, 10))
    for freq in (50.0, 100.0, 150.0):
        assert _amplitude_after(freq, fd) < 0.01
    assert _amplitude_after(75.0, fd) == pytest.approx(1.0, abs=0.03)


def test_filter_is_zero_phase():
    fd = filters.design(sfreq=SFREQ, low_hz=20, high_hz=500, notch=False)
    t = np.arange(int(4 * SFREQ)) / SFREQ
    x = np.sin(2 * np.pi * 120 * t)
    y = filters.apply(x[None, :], fd)[0]
    lag = np.argmax(signal.correlate(y[2048:6144], x[2048:6144], mode="full")) - (4096 - 1)
    assert lag == 0


@pytest.mark.parametrize("sfreq, line_freq", [(2048.0, 50.0), (1000.0, 60.0), (512.0, 50.0)])
def test_applied_response_is_the_documented_design(sfreq, line_freq):
    """The FIR's gain is |H(f)|^2 of the Butterworth band-pass and notch sections within
    filters.TAIL_TOLERANCE everywhere (emg.schema.yaml, the module docstring): pass band
    flat, stop bands below the squared Butterworth, every notch at least 80 dB deep."""
    fd = filters.design(sfreq=sfreq, low_hz=20, high_hz=500, order=4, line_freq=line_freq, notch_q=30.0)
    freqs = np.linspace(0, sfreq / 2, 20_001)
    _, sections = signal.freqz_sos(fd.sos, worN=freqs, fs=sfreq)
    design_gain = np.abs(sections) ** 2
    _, fir = signal.freqz(fd.taps, worN=freqs, fs=sfreq)
    gain = np.abs(fir)
    assert np.max(np.abs(gain - design_gain)) < filters.TAIL_TOLERANCE
    assert np.array_equal(fd.taps, fd.taps[::-1])  # symmetric: linear phase, zero once centred
    # the documented numbers, read off the realised response
    passband = (freqs > 2 * fd.low_hz) & (freqs < 0.4 * fd.high_hz) & np.all([np.abs(freqs - f) > 10 for f in fd.notches_hz], axis=0)
    assert np.all(np.abs(20 * np.log10(gain[passband])) < 1.0)  # the squared Butterworth and the notches' skirts
    assert 20 * np.log10(gain[np.argmin(np.abs(freqs - 5.0))]) < -80  # 5 Hz: two octaves below the edge, order 8
    edge = np.argmin(np.abs(freqs - fd.low_hz))
    assert 20 * np.log10(gain[edge]) == pytest.approx(-6.02, abs=0.1)  # -3 dB, squared
    _, at_notches = signal.freqz(fd.taps, worN=np.array(fd.notches_hz), fs=sfreq)
    assert np.all(np.abs(at_notches) < 1e-4)  # >= 80 dB


def test_filtering_matches_sosfiltfilt_away_from_the_edges():
    """The FIR applies the response sosfiltfilt applies, so the two agree inside the recording."""
    fd = filters.design(sfreq=SFREQ, low_hz=20, high_hz=500, line_freq=50.0)
    rng = np.random.default_rng(8)
    x = np.cumsum(rng.normal(0, 1, (2, 120_000)), axis=1) + rng.normal(0, 20, (2, 120_000))  # drift + broadband EMG-like noise
    reference = np.vstack([signal.sosfiltfilt(fd.sos, row) for row in x])
    inside = slice(3 * int(SFREQ), -3 * int(SFREQ))
    error = filters.apply(x, fd)[:, inside] - reference[:, inside]
    assert np.sqrt(np.mean(error**2) / np.mean(reference[:, inside] ** 2)) < 1e-3


def test_thread_count_does_not_change_the_result():
    fd = filters.design(sfreq=SFREQ, low_hz=20, high_hz=500, line_freq=50.0)
    x = np.random.default_rng(9).normal(0, 5.0, (3, 70_000))
    assert np.array_equal(filters.apply(x, fd, workers=1), filters.apply(x, fd, workers=2))


def test_upper_edge_is_capped_below_nyquist():
    fd = filters.design(sfreq=500.0, low_hz=20, high_hz=500)
    assert fd.capped and fd.high_hz == pytest.approx(0.9 * 250.0)


def test_impossible_band_is_an_error():
    with pytest.raises(filters.FilterError, match="not realisable"):
        filters.design(sfreq=100.0, low_hz=60, high_hz=500)


def test_filtering_in_place_equals_a_copy():
    fd = filters.design(sfreq=2048.0, low_hz=20.0, high_hz=500.0, line_freq=50.0)
    x = np.random.default_rng(5).normal(0, 5.0, (2, 20_000))
    expected = filters.apply(x, fd)
    assert filters.apply(x, fd, out=x) is x
    assert np.array_equal(x, expected)


def test_a_channel_dc_offset_leaves_no_trace():
    """BioSemi's active electrodes record EMG on an offset of up to hundreds of millivolt:
    the filtered signal is the same with and without it (the truncated FIR passes a few
    1e-6 of 0 Hz, which on -259,000 microvolt was a bias as large as the EMG itself)."""
    rng = np.random.default_rng(7)
    emg = rng.normal(0.0, 1.0, (2, int(20 * SFREQ)))
    fd = filters.design(sfreq=SFREQ, low_hz=20, high_hz=500, line_freq=50)
    offsets = np.array([[-259_000.0], [728.0]])
    clean = filters.apply(emg, fd)
    shifted = filters.apply(emg + offsets, fd)
    assert np.abs(shifted.mean(axis=1)).max() < 1e-3
    assert np.abs(shifted - clean).max() < 1e-4 * clean.std()
