"""Zero-phase band-pass and line-noise notches for facial EMG.

van Boxtel (2010, "Facial EMG as a tool for inferring affective states") recommends
a 20 Hz high-pass for facial EMG (it removes eye-movement, blink and movement
potentials with little loss of muscle power) and a 20-500 Hz band. Filters are
Butterworth designs in second-order sections, run forward and backward
(``scipy.signal.sosfiltfilt``), so that response latencies are not shifted. The
upper edge is capped at 0.9 x Nyquist for low sampling rates; notches remove the
mains frequency and its harmonics inside the pass band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from opioidsocial.emg.settings import NYQUIST_FRACTION
from opioidsocial.errors import DataError


@dataclass(frozen=True)
class FilterDesign:
    sos: np.ndarray
    low_hz: float
    high_hz: float
    notches_hz: tuple[float, ...]
    capped: bool

    def describe(self) -> dict:
        return {
            "bandpass_hz": [self.low_hz, self.high_hz],
            "upper_edge_capped": self.capped,
            "notches_hz": list(self.notches_hz),
            "sections": int(self.sos.shape[0]),
            "zero_phase": True,
        }


class FilterError(DataError):
    """The requested band cannot be realised at this sampling rate."""

    file_role = "recording"


def design(*, sfreq: float, low_hz: float, high_hz: float, order: int = 4, line_freq: float | None = None, notch: bool = True, notch_q: float = 30.0) -> FilterDesign:
    """One cascade of second-order sections: band-pass, then a notch per mains harmonic."""
    nyquist = sfreq / 2.0
    capped = high_hz > NYQUIST_FRACTION * nyquist
    high = min(high_hz, NYQUIST_FRACTION * nyquist)
    if not 0 < low_hz < high:
        raise FilterError(
            f"band-pass {low_hz:g}-{high_hz:g} Hz is not realisable at {sfreq:g} Hz (Nyquist {nyquist:g} Hz); "
            f"the lower edge must be positive and below {high:g} Hz"
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
    return FilterDesign(np.vstack(sections), float(low_hz), float(high), tuple(notches), capped)


def apply(data: np.ndarray, fd: FilterDesign, *, out: np.ndarray | None = None) -> np.ndarray:
    """Zero-phase filtering of each row (channel); one channel at a time bounds memory.

    ``out`` may be ``data`` itself (filtering in place): each row is read whole
    before it is overwritten.
    """
    data = np.atleast_2d(data)
    out = np.empty_like(data, dtype=float) if out is None else out
    for i, x in enumerate(data):
        out[i] = signal.sosfiltfilt(fd.sos, x)
    return out
