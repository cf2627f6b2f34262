"""The signal chain of one recording in one pass: filter, rectify, smooth.

The recording is filtered block by block (:class:`~opioidsocial.emg.filters.BlockFilter`,
a few seconds of every channel at a time, in cache), and each filtered block is at
once summed for the channel's standard deviation (the flat-channel rule), rectified
and fed to the moving average (:class:`~opioidsocial.emg.envelope.RunningMean`),
whose output is the envelope, kept in single precision: its rounding (6e-8 of the
value) is far below anything the epochs average over, and half the size lets the
caller drop the recording for it, so the participant's peak memory stays near
1.5x the recording's float64 size. The same pass keeps what the QC
figure shows (:class:`QcSignals`): the raw and filtered signal around the first
stimulus and the raw and filtered power spectra, so the figure's job never reads or
filters the recording again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from opioidsocial.emg.envelope import RunningMean, smoothing_width
from opioidsocial.emg.filters import BlockFilter, FilterDesign

#: The QC figure's snippet: from 1 s before to 3 s after the first stimulus onset.
SNIPPET_S = (-1.0, 3.0)


@dataclass(frozen=True)
class QcSignals:
    """What the QC figure draws: per channel, a raw and a filtered snippet and two spectra."""

    snippet_s: np.ndarray  # times of the snippet's samples from the first onset, s
    raw: np.ndarray  # (channels, snippet samples), microvolt
    filtered: np.ndarray
    freqs_hz: np.ndarray
    raw_psd: np.ndarray  # (channels, frequencies), microvolt^2 / Hz
    filtered_psd: np.ndarray

    def table(self, *, study: str, participant: str, muscles: list[str]) -> pd.DataFrame:
        """The EMG_QC_SIGNALS rows (long: muscle x kind x signal x point)."""
        parts = []
        for j, muscle in enumerate(muscles):
            for kind, x, pair in (("snippet", self.snippet_s, (self.raw, self.filtered)),
                                  ("spectrum", self.freqs_hz, (self.raw_psd, self.filtered_psd))):
                for name, values in zip(("raw", "filtered"), pair):
                    parts.append(pd.DataFrame({"muscle": muscle, "kind": kind, "signal": name, "x": x, "value": values[j]}))
        frame = pd.concat(parts, ignore_index=True)
        frame.insert(0, "participant", participant)
        frame.insert(0, "study", study)
        return frame


def snippet_window(onset_s: float, *, sfreq: float, n_samples: int) -> tuple[int, int]:
    """Sample range of the QC snippet around the first onset, inside the recording."""
    return max(0, int((onset_s + SNIPPET_S[0]) * sfreq)), min(n_samples, int((onset_s + SNIPPET_S[1]) * sfreq))


def filter_rectify_smooth(data: np.ndarray, fd: FilterDesign, *, sfreq: float, smoothing_ms: float, snippet: tuple[int, int],
                          onset_s: float, workers: int | None = None) -> tuple[np.ndarray, np.ndarray, QcSignals]:
    """The envelope of ``data`` (channels, samples; microvolt; float32), the filtered SD per channel and the QC signals.

    The envelope is the zero-phase filtered signal, rectified and smoothed with a
    centred moving average of ``smoothing_ms``.
    """
    channels, n = data.shape
    envelope_ = np.empty((channels, n), dtype=np.float32)
    start, stop = snippet
    raw_snippet = data[:, start:stop].copy()
    filtered_snippet = np.empty_like(raw_snippet)
    total, squares = np.zeros(channels), np.zeros(channels)
    width = smoothing_width(sfreq=sfreq, smoothing_ms=smoothing_ms)
    mean = RunningMean(width) if width > 1 else None
    block_filter = BlockFilter(fd, workers=workers)
    for first, block in block_filter.blocks(data):
        last = first + block.shape[1]
        total += block.sum(axis=1)
        squares += np.einsum("ij,ij->i", block, block)
        lo, hi = max(start, first), min(stop, last)
        if lo < hi:
            filtered_snippet[:, lo - start : hi - start] = block[:, lo - first : hi - first]
        rectified = np.abs(block, out=block)
        if mean is None:
            envelope_[:, first:last] = rectified
        else:
            _write(envelope_, *mean.push(rectified))
    if mean is not None:
        _write(envelope_, *mean.finish())
    sd = np.sqrt(np.maximum(squares / n - (total / n) ** 2, 0.0))
    freqs, raw_psd, filtered_psd = block_filter.spectra(sfreq)
    times = (np.arange(start, stop) / sfreq) - onset_s
    return envelope_, sd, QcSignals(times, raw_snippet, filtered_snippet, freqs, raw_psd, filtered_psd)


def _write(out: np.ndarray, first: int, values: np.ndarray) -> None:
    out[:, first : first + values.shape[1]] = values
