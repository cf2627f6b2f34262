"""Epochs around stimulus onsets, baseline correction and time bins.

Onsets (seconds, events.tsv) become samples by rounding ``onset * sfreq``; epoch
sample ``i`` lies at ``tmin + i / sfreq`` relative to that sample. Baseline
correction (``emg.baseline_method``) relates each bin to the trial x muscle's mean
over a pre-stimulus window: by default it subtracts it, the usual practice in
facial-mimicry studies (e.g. Korb et al. 2023), so responses are changes from the
level just before the face appeared; labs recording integrated EMG often divide
instead (ratio, its log, or percent change), which removes differences in
electrode impedance between trials and participants (Tassinary, Cacioppo & Vanman
2007; Cohen 2014, ch. 18, for the same choice in time-frequency power).
"""

from __future__ import annotations

import numpy as np

from opioidsocial.errors import DataError


class EpochError(DataError):
    """Events that cannot be epoched (outside the recording, empty conditions)."""

    file_role = "events"


#: Periods of the high-pass edge an epoch keeps from either end of the recording: a
#: zero-phase Butterworth filter's start-up transient has decayed within a few periods
#: of its lowest edge, and data nearer the ends are not the filtered signal.
EDGE_PERIODS = 3


def padding_s(*, highpass_hz: float, smoothing_ms: float) -> float:
    """Seconds an epoch must keep from the recording's ends: the filter's edge and half the smoothing window."""
    return EDGE_PERIODS / highpass_hz + smoothing_ms / 2000.0


def onset_samples(onsets_s: np.ndarray, *, sfreq: float, n_samples: int, tmin: float, tmax: float, pad_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Stimulus-onset samples, and whether each epoch with ``pad_s`` either side lies inside the recording."""
    samples = np.round(np.asarray(onsets_s, dtype=float) * sfreq).astype(np.int64)
    first = samples + int(round((tmin - pad_s) * sfreq))
    last = samples + int(round((tmax + pad_s) * sfreq))
    return samples, (first >= 0) & (last <= n_samples)


def cut(data: np.ndarray, samples: np.ndarray, *, sfreq: float, tmin: float, tmax: float) -> tuple[np.ndarray, np.ndarray]:
    """Epochs as (trials, channels, times) and the epoch times in seconds."""
    start, n_times = _span(sfreq=sfreq, tmin=tmin, tmax=tmax)
    # One C-contiguous block: reductions over time (peaks, baselines, bins, clipping)
    # run along memory, about ten times faster than on the transposed result of a
    # fancy index.
    epochs = np.empty((len(samples), data.shape[0], n_times), dtype=data.dtype)
    for i, s in enumerate(samples):
        epochs[i] = data[:, s + start : s + start + n_times]
    return epochs, (start + np.arange(n_times)) / sfreq


def binned_epochs(data: np.ndarray, samples: np.ndarray, *, sfreq: float, tmin: float, tmax: float,
                  bin_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`cut` followed by :func:`bin_means` and each epoch's largest sample, without copying the epochs.

    Returns the bin means (trials, channels, bins), the bin starts (s), each bin's
    number of samples and each epoch's maximum (trials, channels), each bin mean
    summed as :func:`bin_means` sums it.
    """
    start, n_times = _span(sfreq=sfreq, tmin=tmin, tmax=tmax)
    bounds, starts = bin_bounds((start + np.arange(n_times)) / sfreq, bin_s=bin_s, tmin=tmin, tmax=tmax)
    means = np.empty((len(samples), data.shape[0], len(starts)))
    peak = np.empty((len(samples), data.shape[0]))
    for i, s in enumerate(samples):
        epoch = data[:, s + start : s + start + n_times]
        means[i] = _bin_means(epoch, bounds)
        peak[i] = epoch.max(axis=-1)
    return means, starts, np.diff(bounds), peak


def _span(*, sfreq: float, tmin: float, tmax: float) -> tuple[int, int]:
    """An epoch's first sample relative to the onset, and its number of samples."""
    start = int(round(tmin * sfreq))
    return start, int(round(tmax * sfreq)) - start


def window_mask(times: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    return (times >= window[0]) & (times < window[1])


def baseline_level(epochs: np.ndarray, times: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """Each trial x channel's mean over the baseline window.

    Subtracting it from the bin means corrects the bins exactly as correcting every
    sample first would (a mean of x - c is the mean of x minus c), without a
    corrected copy of the epochs.
    """
    mask = window_mask(times, window)
    if not mask.any():
        raise EpochError(f"baseline window {list(window)} s contains no sample of the epoch {times[0]:g} to {times[-1]:g} s",
                         fix="widen emg.baseline_s inside emg.tmin_s to emg.tmax_s")
    # times increase, so the window is one slice: a view, not a copy of the samples
    inside = np.flatnonzero(mask)
    return epochs[..., inside[0] : inside[-1] + 1].mean(axis=-1, dtype=np.float64)


#: emg.baseline_method -> the unit of the corrected values (and of the trial responses).
BASELINE_UNITS = {"subtract": "microvolt", "ratio": "ratio", "log_ratio": "log_ratio", "percent": "percent", "none": "microvolt"}

#: The methods that divide by the baseline level, so need it positive.
DIVIDING = frozenset({"ratio", "log_ratio", "percent"})


def apply_baseline(values: np.ndarray, base: np.ndarray, method: str) -> np.ndarray:
    """Bins (trials, muscles, bins) corrected by each trial x muscle's baseline level (trials, muscles).

    ``subtract``: bin - base; ``ratio``: bin / base; ``log_ratio``: log(bin / base);
    ``percent``: 100 (bin / base - 1); ``none``: the bins unchanged. A baseline that
    is not positive gives NaN under the dividing methods (the caller rejects it).
    """
    if method == "none":
        return values.copy()
    if method == "subtract":
        return values - base[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(base[..., None] > 0, values / base[..., None], np.nan)
    if method == "ratio":
        return ratio
    if method == "percent":
        return 100.0 * (ratio - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(ratio)


def window_response(bins, method: str, *, mean=lambda b: np.mean(b, axis=-1)):
    """A response window's value from its corrected bins (``mean`` averages over the window's bins).

    Every method but ``log_ratio`` is linear in the bin means, so the mean of the
    corrected bins is the corrected window mean. ``log_ratio`` is the log of the
    window mean over the baseline, not the mean of logged bins: log(mean(exp(bins))).
    Bins of equal sample counts (``bin_s`` a whole number of samples) make the mean of
    the bins the window's sample mean.
    """
    if method == "log_ratio":
        return np.log(mean(np.exp(bins)))
    return mean(bins)


def bin_means(epochs: np.ndarray, times: np.ndarray, *, bin_s: float, tmin: float, tmax: float) -> tuple[np.ndarray, np.ndarray]:
    """Average epochs into consecutive bins of ``bin_s`` from ``tmin``; returns (values, bin starts).

    The sums run in double precision whatever the epochs' type (as in :func:`baseline_level`),
    so that a mean over several bins, weighted by their samples, is the mean of their samples
    to double-precision rounding. A bin without a sample is NaN.
    """
    bounds, starts = bin_bounds(times, bin_s=bin_s, tmin=tmin, tmax=tmax)
    return _bin_means(epochs, bounds), starts


def _bin_means(epochs: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Means over the last axis between consecutive ``bounds``, summed in double precision in one pass."""
    counts = np.diff(bounds)
    means = np.full(epochs.shape[:-1] + (len(counts),), np.nan)
    filled = counts > 0
    if filled.any():
        # reduceat needs indices inside the slice, and gives an empty bin the next sample, not 0: both masked
        first = np.minimum(bounds[:-1], bounds[-1] - 1) - bounds[0]
        sums = np.add.reduceat(epochs[..., bounds[0] : bounds[-1]], first, axis=-1, dtype=np.float64)
        means[..., filled] = sums[..., filled] / counts[filled]
    return means


def bin_bounds(times: np.ndarray, *, bin_s: float, tmin: float, tmax: float) -> tuple[np.ndarray, np.ndarray]:
    """Where each bin of :func:`bin_means` starts and ends in the epoch's samples (``n_bins + 1`` indices), and the bin starts in s.

    Times increase, so each bin is one slice of the epoch (a view, not a copy);
    ``np.diff`` of the bounds is each bin's number of samples.
    """
    n_bins = int(np.floor((tmax - tmin) / bin_s + 1e-9))
    starts = np.round(tmin + bin_s * np.arange(n_bins), 9)
    which = np.floor((times - tmin) / bin_s + 1e-9).astype(int)
    return np.searchsorted(np.clip(which, -1, n_bins), np.arange(n_bins + 1)), starts
