"""Zero-phase band-pass and line-noise notches for facial EMG.

van Boxtel (2010, "Facial EMG as a tool for inferring affective states") recommends
a 20 Hz high-pass for facial EMG (it removes eye-movement, blink and movement
potentials with little loss of muscle power) and a 20-500 Hz band. The design is a
cascade of second-order sections: a Butterworth band-pass and an IIR notch
(quality factor ``notch_q``) at the mains frequency and each harmonic inside the
band; the upper edge is capped at 0.9 x Nyquist for low sampling rates.

The response applied is that cascade run forward and backward, |H(f)|^2: zero
phase, so response latencies are not shifted, and each edge's order doubled. It is
applied as a linear-phase FIR filter: the impulse response of |H(f)|^2, symmetric
about its centre, truncated where the absolute sum of what is left out falls below
``TAIL_TOLERANCE`` (1e-4), so the realised gain differs from |H(f)|^2 by less
than 1e-4 at every frequency (notches at least 80 dB deep, the pass band within
0.001 dB; ``tests/test_emg_filters.py`` checks the response against the design).
The FIR runs by overlap-save FFT convolution over blocks of a few seconds, one pass
over each channel: about a sixth of the work of ``sosfiltfilt``'s 26 recursive
passes, which also cannot run in cache-sized pieces. Each channel's mean is taken
out first (the band-pass passes none of it; see :meth:`BlockFilter.blocks`), and
recording edges are extended by odd reflection before filtering, as ``sosfiltfilt``
does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import fft, signal

from opioidsocial.emg.settings import NYQUIST_FRACTION
from opioidsocial.errors import DataError

#: Largest absolute sum of the impulse response left out by truncation.
TAIL_TOLERANCE = 1e-4


@dataclass(frozen=True)
class FilterDesign:
    sos: np.ndarray
    low_hz: float
    high_hz: float
    notches_hz: tuple[float, ...]
    capped: bool
    #: the zero-phase FIR realising |H(f)|^2 of ``sos``: 2 x half_width + 1 taps
    taps: np.ndarray

    @property
    def half_width(self) -> int:
        return len(self.taps) // 2

    def describe(self) -> dict:
        return {
            "bandpass_hz": [self.low_hz, self.high_hz],
            "upper_edge_capped": self.capped,
            "notches_hz": list(self.notches_hz),
            "sections": int(self.sos.shape[0]),
            "zero_phase": True,
            "fir_taps": int(len(self.taps)),
        }


class FilterError(DataError):
    """The requested band cannot be realised at this sampling rate."""

    file_role = "recording"


def design(*, sfreq: float, low_hz: float, high_hz: float, order: int = 4, line_freq: float | None = None, notch: bool = True, notch_q: float = 30.0) -> FilterDesign:
    """One cascade of second-order sections (band-pass, then a notch per mains harmonic) and its zero-phase FIR."""
    nyquist = sfreq / 2.0
    capped = high_hz > NYQUIST_FRACTION * nyquist
    high = min(high_hz, NYQUIST_FRACTION * nyquist)
    if not 0 < low_hz < high:
        raise FilterError(
            f"band-pass {low_hz:g}-{high_hz:g} Hz is not realisable at {sfreq:g} Hz (Nyquist {nyquist:g} Hz)",
            fix=f"lower emg.highpass_hz below {high:g} Hz (the lower edge must be positive and below the capped upper edge)",
        )
    sections = [signal.butter(order, [low_hz, high], btype="bandpass", fs=sfreq, output="sos")]
    notches = []
    if notch and line_freq:
        k = 1
        while k * line_freq < high:
            b, a = signal.iirnotch(k * line_freq, notch_q, fs=sfreq)
            sections.append(signal.tf2sos(b, a))
            notches.append(float(k * line_freq))
            k += 1
    sos = np.vstack(sections)
    return FilterDesign(sos, float(low_hz), float(high), tuple(notches), capped, zero_phase_taps(sos, sfreq=sfreq))


def zero_phase_taps(sos: np.ndarray, *, sfreq: float) -> np.ndarray:
    """The impulse response of |H(f)|^2, centred and truncated (see the module docstring)."""
    # Sampled on a grid whose period (64 s and up) is far longer than the response
    # lasts, so the periodic (aliased) impulse response equals the true one.
    n = 1 << int(np.ceil(np.log2(64 * sfreq)))
    while True:
        _, h = signal.freqz_sos(sos, worN=fft.rfftfreq(n, 1 / sfreq), fs=sfreq)
        impulse = fft.irfft(np.abs(h) ** 2, n)
        magnitude = np.abs(impulse[: n // 2])
        # tail[d]: what truncating to |lag| <= d leaves out (both sides)
        tail = 2 * (magnitude.sum() - np.cumsum(magnitude))
        half = int(np.argmax(tail < TAIL_TOLERANCE))
        if tail[half] < TAIL_TOLERANCE and half < n // 8:
            taps = np.concatenate([impulse[n - half :], impulse[: half + 1]])
            # symmetric to the last bit (the transform leaves rounding asymmetries): exactly linear phase
            return (taps + taps[::-1]) / 2
        n *= 2


def default_workers() -> int:
    """FFT threads: the job's share of the machine (Snakemake sets OMP_NUM_THREADS to the job's threads)."""
    threads = os.environ.get("OMP_NUM_THREADS", "")
    return int(threads) if threads.isdigit() and int(threads) > 0 else len(os.sched_getaffinity(0))


class BlockFilter:
    """Overlap-save FFT filtering of a (channels, samples) recording, block by block.

    :meth:`blocks` yields the filtered recording in consecutive pieces; once a piece
    ``[start, start + m)`` is yielded, the caller may overwrite ``data[:, :start + m]``
    (filtering or computing in place): every input sample still needed is copied.
    The raw power of each block's transform is summed on the way, so the spectra of
    the QC figure cost no second pass (:meth:`spectra`).
    """

    def __init__(self, fd: FilterDesign, *, workers: int | None = None, dtype=np.float32):
        self.fd = fd
        self.dtype = np.dtype(dtype)
        self.workers = workers or default_workers()
        # blocks of four filter lengths or more: three quarters of each transform is output
        self.nfft = max(1 << 12, 1 << int(np.ceil(np.log2(4 * len(fd.taps)))))
        self.step = self.nfft - 2 * fd.half_width
        # the FIR's transform: |H(f)|^2 times a delay of half_width samples, which
        # is undone by where each block's output is taken
        self.response = fft.rfft(fd.taps, self.nfft).astype(np.result_type(self.dtype, np.complex64))
        self.power = None
        self.n_blocks = 0

    def blocks(self, data: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        channels, n = data.shape
        half = self.fd.half_width
        # Each channel's mean is taken out first. The band-pass passes none of it, but
        # the truncated FIR's gain at 0 Hz is a few 1e-6, not 0, and single-precision
        # rounding scales with the sample's size: a BioSemi channel's DC offset (up to
        # hundreds of millivolt) would leak a bias of the order of the EMG itself.
        mean = data.mean(axis=1, dtype=np.float64)[:, None]
        # odd reflection about the first and last sample (sosfiltfilt's padding),
        # copied now because the caller may overwrite ``data`` as blocks come out
        left = _odd_extension(data[:, : half + 1] - mean, half)
        right = _odd_extension(data[:, ::-1][:, : half + 1] - mean, half)[:, ::-1]
        self.power = np.zeros((channels, self.nfft // 2 + 1))
        self.n_blocks = 0
        # Single precision in the transforms (the default): twice as fast, and its rounding
        # (about 1e-7 of the signal's size) is a thousand times below the FIR's own tolerance.
        buffer = np.zeros((channels, self.nfft), dtype=self.dtype)
        buffer[:, :half] = left
        # buffer column c holds extended-recording sample start - half + c; `filled`
        # is the next sample to copy in (beyond the end: the right padding, then zeros)
        filled = 0
        for start in range(0, n, self.step):
            stop = start + self.step + half
            _fill(buffer[:, filled - start + half :], data, mean, right, filled, stop)
            filled = stop
            spectrum = fft.rfft(buffer, axis=-1, workers=self.workers)
            # the last block ends in zeros, whose cut would leak a mains line over the
            # whole spectrum: it counts only if it is the one block there is
            if stop <= n + half or self.n_blocks == 0:
                self.power += spectrum.real**2 + spectrum.imag**2
                self.n_blocks += 1
            spectrum *= self.response
            out = fft.irfft(spectrum, self.nfft, axis=-1, workers=self.workers)
            # the next block starts 2 x half samples before this one ends
            buffer[:, : 2 * half] = buffer[:, self.step :]
            # output column k is sample start + k - 2 x half; earlier columns wrapped around
            yield start, out[:, 2 * half : 2 * half + min(self.step, n - start)]

    def spectra(self, sfreq: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frequencies and the raw and filtered power spectral densities (per channel) of the blocks seen.

        Bartlett's method on the filter's own blocks (rectangular window, the
        ``nfft``-sample blocks overlapping by the filter length, the zero-padded
        last one left out), averaged into
        bins of about 1 Hz; the DC bin (each block's mean) is left out, as Welch's
        detrending would. The filtered spectrum is the raw one times |H(f)|^2 at
        each transform bin, which is how the filter is applied.
        """
        width = max(1, int(round(self.nfft / sfreq)))
        usable = (self.power.shape[1] - 1) // width * width
        raw = 2 * self.power[:, 1 : 1 + usable] / (self.n_blocks * sfreq * self.nfft)
        filtered = raw * np.abs(self.response[1 : 1 + usable]) ** 2
        freqs = fft.rfftfreq(self.nfft, 1 / sfreq)[1 : 1 + usable].reshape(-1, width).mean(axis=1)
        return freqs, _bin_means(raw, width), _bin_means(filtered, width)


def _bin_means(x: np.ndarray, width: int) -> np.ndarray:
    return x.reshape(x.shape[0], -1, width).mean(axis=-1)


def _odd_extension(edge: np.ndarray, length: int) -> np.ndarray:
    """``length`` samples before ``edge[:, 0]``: odd reflection (repeated if the edge is short)."""
    return np.pad(edge, ((0, 0), (length, 0)), mode="reflect", reflect_type="odd")[:, :length]


def _fill(target: np.ndarray, data: np.ndarray, mean: np.ndarray, right: np.ndarray, first: int, stop: int) -> None:
    """Copy extended-recording samples [first, stop) into ``target``: the recording less its mean, its right padding, then zeros."""
    n = data.shape[1]
    inside = max(0, min(stop, n) - first)
    np.subtract(data[:, first : first + inside], mean, out=target[:, :inside], casting="same_kind")
    padded = max(0, min(stop, n + right.shape[1]) - max(first, n))
    offset = max(first, n) - n
    target[:, inside : inside + padded] = right[:, offset : offset + padded]
    target[:, inside + padded :] = 0.0


def apply(data: np.ndarray, fd: FilterDesign, *, out: np.ndarray | None = None, workers: int | None = None) -> np.ndarray:
    """Zero-phase filtering of each row (channel).

    ``out`` may be ``data`` itself (filtering in place): see :class:`BlockFilter`.
    """
    data = np.atleast_2d(data)
    out = np.empty_like(data, dtype=float) if out is None else out
    for start, block in BlockFilter(fd, workers=workers).blocks(data):
        out[:, start : start + block.shape[1]] = block
    return out
