"""Epochs around stimulus onsets, baseline correction and time bins.

Onsets (seconds, events.tsv) become samples by rounding ``onset * sfreq``; epoch
sample ``i`` lies at ``tmin + i / sfreq`` relative to that sample. Baseline
correction subtracts each trial x muscle's mean over a pre-stimulus window, the
usual practice in facial-mimicry studies (e.g. Korb et al. 2023), so responses are
changes from the level just before the face appeared.
"""

from __future__ import annotations

import numpy as np

from opioidsocial.errors import DataError


class EpochError(DataError):
    """Events that cannot be epoched (outside the recording, empty conditions)."""

    file_role = "events"


def onset_samples(onsets_s: np.ndarray, *, sfreq: float, n_samples: int, tmin: float, tmax: float, who: str) -> np.ndarray:
    """Stimulus-onset samples; every epoch must lie inside the recording."""
    samples = np.round(np.asarray(onsets_s, dtype=float) * sfreq).astype(np.int64)
    first = samples + int(round(tmin * sfreq))
    last = samples + int(round(tmax * sfreq))
    outside = np.flatnonzero((first < 0) | (last > n_samples))
    if outside.size:
        shown = ", ".join(f"{onsets_s[i]:g}" for i in outside[:5])
        raise EpochError(
            f"{who}: {outside.size} event(s) at onset {shown} s have epochs [{tmin:g}, {tmax:g}] s outside the "
            f"recording (0 to {n_samples / sfreq:g} s); fix the onsets in events.tsv or shorten the epoch window"
        )
    return samples


def cut(data: np.ndarray, samples: np.ndarray, *, sfreq: float, tmin: float, tmax: float) -> tuple[np.ndarray, np.ndarray]:
    """Epochs as (trials, channels, times) and the epoch times in seconds."""
    start = int(round(tmin * sfreq))
    n_times = int(round(tmax * sfreq)) - start
    # One C-contiguous block: reductions over time (peaks, baselines, bins, clipping)
    # run along memory, about ten times faster than on the transposed result of a
    # fancy index.
    epochs = np.empty((len(samples), data.shape[0], n_times), dtype=data.dtype)
    for i, s in enumerate(samples):
        epochs[i] = data[:, s + start : s + start + n_times]
    return epochs, (start + np.arange(n_times)) / sfreq


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
        raise EpochError(f"baseline window {list(window)} s contains no sample of the epoch {times[0]:g} to {times[-1]:g} s")
    # times increase, so the window is one slice: a view, not a copy of the samples
    inside = np.flatnonzero(mask)
    return epochs[..., inside[0] : inside[-1] + 1].mean(axis=-1)


def bin_means(epochs: np.ndarray, times: np.ndarray, *, bin_s: float, tmin: float, tmax: float) -> tuple[np.ndarray, np.ndarray]:
    """Average epochs into consecutive bins of ``bin_s`` from ``tmin``; returns (values, bin starts)."""
    n_bins = int(np.floor((tmax - tmin) / bin_s + 1e-9))
    starts = np.round(tmin + bin_s * np.arange(n_bins), 9)
    which = np.floor((times - tmin) / bin_s + 1e-9).astype(int)
    means = np.empty(epochs.shape[:-1] + (n_bins,))
    # times increase, so each bin is one slice of the epoch (a view, not a copy)
    bounds = np.searchsorted(np.clip(which, -1, n_bins), np.arange(n_bins + 1))
    for b in range(n_bins):
        means[..., b] = epochs[..., bounds[b] : bounds[b + 1]].mean(axis=-1)
    return means, starts
