"""EMG amplitude envelope: full-wave rectification and a centred moving average.

The rectified, smoothed signal estimates the muscle's activation level (Fridlund &
Cacioppo 1986). A centred (symmetric) window keeps the envelope zero-phase, like
the filters before it.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d


def envelope(data: np.ndarray, *, sfreq: float, smoothing_ms: float, out: np.ndarray | None = None) -> np.ndarray:
    """Rectify each row and smooth it with a moving average of ``smoothing_ms``.

    ``out`` may be ``data`` itself, so that the envelope needs no second
    recording-sized buffer.
    """
    out = np.abs(data, out=out)
    width = int(round(smoothing_ms * 1e-3 * sfreq))
    if width > 1:
        # ndimage copies each line into a buffer before it writes the result, so the
        # filter may run in place (tests/test_emg_epochs.py checks it against a copy)
        uniform_filter1d(out, size=width, axis=-1, mode="nearest", output=out)
    return out
