"""Artefact rules for trial x muscle cells, robust to the artefacts themselves.

- flat channel: the filtered signal's SD is below ``flat_uv`` (a detached electrode);
  every trial of that muscle is rejected.
- clipped: the raw epoch holds a run of ``clip_run`` or more identical samples at its
  maximum or minimum (amplifier saturation; real EMG never repeats a 24-bit value
  several times at its extreme).
- baseline outlier / peak outlier: the trial's pre-stimulus level or its peak
  envelope lies more than ``z`` robust SDs above the participant x muscle median
  (robust z with 1.4826 x MAD, Iglewicz & Hoaglin 1993, cut-off 3.5) *and* is more
  than ``min_ratio`` times that median. Levels are compared on a log scale because
  EMG amplitude is right-skewed. The ratio guards genuine responses: trial-to-trial
  peaks vary so little that a strong smile can exceed 3.5 robust SDs while being
  under twice the median, whereas movement bursts multiply the envelope five- to
  tenfold (measured on the simulator's injected artefacts: genuine <= 1.8x, bursts
  >= 7.5x).
"""

from __future__ import annotations

import numpy as np

from opioidsocial.emg.epochs import cut

MAD_TO_SD = 1.4826


def flat(filtered_sd: np.ndarray, *, flat_uv: float) -> np.ndarray:
    """One bool per channel: True where the filtered signal's SD (one per channel) is below ``flat_uv``."""
    return np.asarray(filtered_sd) < flat_uv


def clipped(raw_epochs: np.ndarray, *, run: int) -> np.ndarray:
    """(trials, channels) bool: a run of >= ``run`` equal samples at the epoch's extreme."""
    later = raw_epochs[..., 1:]
    # consecutive equal samples are one value, so a run at the maximum and a run at
    # the minimum can share one mask
    extreme = (later == raw_epochs.max(axis=-1, keepdims=True)) | (later == raw_epochs.min(axis=-1, keepdims=True))
    at = extreme & (later == raw_epochs[..., :-1])
    # a run of `run` equal samples is `run - 1` consecutive hits; after k shifted
    # ANDs, at[i] says whether hits i..i+k are all set
    for _ in range(run - 2):
        at = at[..., 1:] & at[..., :-1]
    return at.any(axis=-1)


def clipped_epochs(raw: np.ndarray, samples: np.ndarray, *, sfreq: float, tmin: float, tmax: float, run: int) -> np.ndarray:
    """:func:`clipped` of every epoch of the raw recording (channels, samples), without cutting them all.

    An epoch can hold a run of ``run`` equal samples only where the channel does, and
    EMG almost never repeats a 24-bit value: so one comparison of neighbours per
    channel finds the few epochs worth judging, and only those are cut and judged.
    """
    out = np.zeros((len(samples), raw.shape[0]), dtype=bool)
    offset, length = int(round(tmin * sfreq)), int(round(tmax * sfreq)) - int(round(tmin * sfreq))
    for c, x in enumerate(raw):
        repeats = np.flatnonzero(x[1:] == x[:-1])
        if repeats.size < run - 1:
            continue
        # runs of consecutive repeats: [begin, end] sample spans of >= run equal samples
        breaks = np.flatnonzero(np.diff(repeats) != 1)
        begins = repeats[np.concatenate([[0], breaks + 1])]
        ends = repeats[np.concatenate([breaks, [repeats.size - 1]])] + 1
        long = ends - begins + 1 >= run
        if not long.any():
            continue
        first, last = samples + offset, samples + offset + length - 1
        touched = ((begins[long][None, :] <= last[:, None]) & (ends[long][None, :] >= first[:, None])).any(axis=1)
        if touched.any():
            out[touched, c] = clipped(cut(raw[c : c + 1], samples[touched], sfreq=sfreq, tmin=tmin, tmax=tmax)[0], run=run)[:, 0]
    return out


def outlying_level(levels: np.ndarray, *, z: float, min_ratio: float) -> np.ndarray:
    """True where a positive level is both a robust-z outlier (log scale) and ``min_ratio`` x the median.

    ``levels`` is (trials, channels); each channel is judged against its own trials.
    """
    logs = np.log(np.maximum(levels, 1e-6))
    med = np.median(logs, axis=0)
    mad = np.median(np.abs(logs - med), axis=0) * MAD_TO_SD
    with np.errstate(invalid="ignore", divide="ignore"):
        score = (logs - med) / mad
    return np.where(mad > 0, score > z, False) & (logs - med > np.log(min_ratio))
