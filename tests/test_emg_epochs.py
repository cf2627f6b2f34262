import numpy as np
import pytest

from opioidsocial.emg import epochs

SFREQ = 1000.0


def test_epoch_is_aligned_to_the_event_sample():
    data = np.zeros((2, 20_000))
    event_samples = np.array([3000, 7777, 15001])
    data[0, event_samples] = 1.0
    data[1, event_samples + 250] = 2.0  # 0.25 s after onset
    samples, inside = epochs.onset_samples(event_samples / SFREQ, sfreq=SFREQ, n_samples=data.shape[1], tmin=-1.0, tmax=2.0, pad_s=0.2)
    assert samples.tolist() == event_samples.tolist() and inside.all()
    ep, times = epochs.cut(data, samples, sfreq=SFREQ, tmin=-1.0, tmax=2.0)
    assert ep.shape == (3, 2, 3000)
    for trial in range(3):
        assert times[np.argmax(ep[trial, 0])] == pytest.approx(0.0)
        assert times[np.argmax(ep[trial, 1])] == pytest.approx(0.25)


def test_an_epoch_leaves_the_recording_with_its_filter_padding():
    # 10 s at 1 kHz, epochs [-1, 1] s: 1.1 s and 8.9 s fit exactly, the padding of 0.2 s pushes them out
    onsets = np.array([0.5, 1.1, 1.3, 8.7, 8.9, 9.5])
    _, inside = epochs.onset_samples(onsets, sfreq=SFREQ, n_samples=10_000, tmin=-1.0, tmax=1.0, pad_s=0.0)
    assert inside.tolist() == [False, True, True, True, True, False]
    _, inside = epochs.onset_samples(onsets, sfreq=SFREQ, n_samples=10_000, tmin=-1.0, tmax=1.0, pad_s=0.2)
    assert inside.tolist() == [False, False, True, True, False, False]
    # three periods of the 20 Hz high-pass and half of a 100 ms moving average
    assert epochs.padding_s(highpass_hz=20.0, smoothing_ms=100.0) == pytest.approx(0.2)


def test_baseline_correction_removes_the_pre_stimulus_level():
    times = np.arange(-2048, 3072) / SFREQ
    trial = np.where(times >= 0.5, 7.0, 3.0)[None, None, :] + np.array([0.0, 10.0])[None, :, None]
    level = epochs.baseline_level(trial, times, (-1.0, 0.0))
    assert level[0].tolist() == pytest.approx([3.0, 13.0])
    means, starts = epochs.bin_means(trial, times, bin_s=0.5, tmin=-1.0, tmax=1.5)
    corrected = means - level[..., None]
    assert starts.tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert corrected[0] == pytest.approx(np.array([[0.0, 0.0, 0.0, 4.0, 4.0]] * 2))


def test_bins_average_their_samples():
    times = np.arange(-1000, 1000) / SFREQ
    values = np.broadcast_to(times, (1, 1, times.size))
    means, starts = epochs.bin_means(values, times, bin_s=0.5, tmin=-1.0, tmax=1.0)
    assert starts.tolist() == [-1.0, -0.5, 0.0, 0.5]
    assert means[0, 0].tolist() == pytest.approx([-0.7505, -0.2505, 0.2495, 0.7495])



@pytest.mark.parametrize("bin_s", [0.1, 0.013, 0.005])
def test_binned_epochs_equal_cut_then_bin_means(bin_s):
    """Without copying the epochs: the same bin means (NaN where a bin holds no sample, at 0.005 s of a
    100 Hz recording), the bins' sample counts and each epoch's maximum."""
    data = np.random.default_rng(3).random((3, 2000)).astype(np.float32)
    samples = np.array([150, 700, 1500])
    means, starts, counts, peak = epochs.binned_epochs(data, samples, sfreq=100.0, tmin=-1.0, tmax=3.1, bin_s=bin_s)
    cut, times = epochs.cut(data, samples, sfreq=100.0, tmin=-1.0, tmax=3.1)
    expected, expected_starts = epochs.bin_means(cut, times, bin_s=bin_s, tmin=-1.0, tmax=3.1)
    np.testing.assert_array_equal(means, expected)
    np.testing.assert_array_equal(starts, expected_starts)
    np.testing.assert_array_equal(peak, cut.max(axis=-1))
    bounds, _ = epochs.bin_bounds(times, bin_s=bin_s, tmin=-1.0, tmax=3.1)
    np.testing.assert_array_equal(counts, np.diff(bounds))
    assert (np.isnan(means).any(axis=(0, 1)) == (counts == 0)).all()
    assert (counts == 0).any() == (bin_s == 0.005)
