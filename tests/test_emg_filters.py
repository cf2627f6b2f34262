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
