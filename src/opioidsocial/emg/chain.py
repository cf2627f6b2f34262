"""The signal chain of one recording in one pass: filter, rectify (or square), smooth.

The recording is filtered block by block (:class:`~opioidsocial.emg.filters.BlockFilter`,
a few seconds of every channel at a time, in cache), and each filtered block is at
once summed for the channel's standard deviation (the flat-channel rule), rectified
and fed to the moving average (:class:`~opioidsocial.emg.envelope.RunningMean`),
whose output is the envelope, kept in single precision (its rounding, 6e-8 of the
value, is far below anything the epochs average over) and written over the
recording's own memory as the pass goes: the caller gives the recording up for
its envelope, so no second array of its size is allocated. The same pass keeps what the QC
figure shows (:class:`QcSignals`): the raw and filtered signal around the first
stimulus and the raw and filtered power spectra, so the figure's job never reads or
filters the recording again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d

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
                          onset_s: float, workers: int | None = None, envelope: str = "rectify") -> tuple[np.ndarray, np.ndarray, QcSignals]:
    """The envelope of ``data`` (channels, samples; microvolt; float32), the filtered SD per channel and the QC signals.

    The envelope (``emg.envelope``) is the zero-phase filtered signal, rectified and
    smoothed with a centred moving average of ``smoothing_ms`` (``rectify``), or the
    square root of the centred moving average of its square over the same window
    (``rms``). A writable C-ordered float64 or float32 ``data`` is overwritten by it
    (the envelope is a view of its memory); pass a copy to keep the recording.
    """
    start, stop = snippet
    raw_snippet = data[:, start:stop].copy()
    out = {(envelope, smoothing_ms): _single_precision_over(data)}
    sd, filtered_snippet, block_filter = _filtered_pass(data, fd, out, sfreq=sfreq, snippet=snippet, workers=workers)
    freqs, raw_psd, filtered_psd = block_filter.spectra(sfreq)
    times = (np.arange(start, stop) / sfreq) - onset_s
    return out[(envelope, smoothing_ms)], sd, QcSignals(times, raw_snippet, filtered_snippet, freqs, raw_psd, filtered_psd)


def envelopes(data: np.ndarray, fd: FilterDesign, *, sfreq: float, kinds: list[tuple[str, float]], workers: int | None = None,
              dtype=np.float32) -> tuple[dict[tuple[str, float], np.ndarray], np.ndarray]:
    """Envelopes of every (kind, smoothing_ms) in ``kinds`` (kind ``rectify`` or ``rms``) from one filtering of ``data``,
    and the filtered SD.

    ``data`` is kept; each envelope is a float32 array equal to what
    :func:`filter_rectify_smooth` gives for that kind and smoothing.
    ``dtype`` float64 filters and keeps the envelopes in double precision instead
    (the tests' comparison with an independent float64 pipeline).
    """
    out = {key: np.empty(data.shape, dtype=dtype) for key in kinds}
    sd, _, _ = _filtered_pass(data, fd, out, sfreq=sfreq, snippet=(0, 0), workers=workers, dtype=dtype)
    return out, sd


def _filtered_pass(data: np.ndarray, fd: FilterDesign, out: dict[tuple[str, float], np.ndarray], *, sfreq: float,
                   snippet: tuple[int, int], workers: int | None, dtype=np.float32) -> tuple[np.ndarray, np.ndarray, BlockFilter]:
    """Filter ``data`` block by block into the envelopes ``out`` ((kind, smoothing_ms) -> array); the SD, filtered snippet and filter."""
    channels, n = data.shape
    start, stop = snippet
    filtered_snippet = np.empty((channels, stop - start), dtype=data.dtype)
    total, squares = np.zeros(channels), np.zeros(channels)
    widths = {key: smoothing_width(sfreq=sfreq, smoothing_ms=key[1]) for key in out}
    means = {key: RunningMean(width) if width > 1 else None for key, width in widths.items()}
    block_filter = BlockFilter(fd, workers=workers, dtype=dtype)
    for first, block in block_filter.blocks(data):
        last = first + block.shape[1]
        total += block.sum(axis=1)
        squares += np.einsum("ij,ij->i", block, block)
        lo, hi = max(start, first), min(stop, last)
        if lo < hi:
            filtered_snippet[:, lo - start : hi - start] = block[:, lo - first : hi - first]
        # the square first: rectifying happens in the block's own memory
        squared = np.square(block) if any(kind == "rms" for kind, _ in out) else None
        rectified = np.abs(block, out=block)
        for key, mean in means.items():
            feed = squared if key[0] == "rms" else rectified
            if mean is None:
                out[key][:, first:last] = feed
            else:
                _write(out[key], *mean.push(feed))
    for key, mean in means.items():
        if mean is not None:
            _write(out[key], *mean.finish())
        if key[0] == "rms":
            np.sqrt(out[key], out=out[key])
    sd = np.sqrt(np.maximum(squares / n - (total / n) ** 2, 0.0))
    return sd, filtered_snippet, block_filter


def _single_precision_over(data: np.ndarray) -> np.ndarray:
    """A float32 (channels, samples) array in the memory of ``data``, whose samples it overwrites.

    A fresh array the size of the envelope costs more to fault in than to fill (the
    kernel zeroes every page on first touch: a fifth of the chain's time on a
    30-minute recording), and the recording is given up for the envelope anyway.
    Row j of the float32 view of a float64 ``data`` starts where row j of ``data``
    does, so envelope sample i overwrites bytes of sample i / 2 or i itself, which
    :meth:`BlockFilter.blocks` has copied by the time sample i is written.
    """
    if data.dtype == np.float32 and data.flags.writeable:
        return data
    if data.dtype == np.float64 and data.flags.writeable and data.flags.c_contiguous:
        return data.view(np.float32)[:, : data.shape[1]]
    return np.empty(data.shape, dtype=np.float32)


def _write(out: np.ndarray, first: int, values: np.ndarray) -> None:
    out[:, first : first + values.shape[1]] = values


def smooth_envelope(data: np.ndarray, *, sfreq: float, smoothing_ms: float, snippet: tuple[int, int],
                    onset_s: float) -> tuple[np.ndarray, np.ndarray, QcSignals]:
    """A recording that is already an envelope (integrated EMG): smoothed only, never filtered or rectified.

    Returns what :func:`filter_rectify_smooth` does; the QC signals' "filtered"
    snippet is the smoothed envelope and there are no spectra (a spectrum of an
    envelope says nothing about mains or movement artefacts).
    """
    width = smoothing_width(sfreq=sfreq, smoothing_ms=smoothing_ms)
    envelope_ = uniform_filter1d(data, width, axis=1, mode="nearest") if width > 1 else data
    start, stop = snippet
    none = np.empty((data.shape[0], 0))
    signals = QcSignals((np.arange(start, stop) / sfreq) - onset_s, data[:, start:stop].copy(), envelope_[:, start:stop].copy(),
                        np.empty(0), none, none)
    return envelope_, data.std(axis=1), signals
