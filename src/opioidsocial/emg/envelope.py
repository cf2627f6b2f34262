"""EMG amplitude envelope: full-wave rectification and a centred moving average.

The rectified, smoothed signal estimates the muscle's activation level (Fridlund &
Cacioppo 1986). A centred (symmetric) window keeps the envelope zero-phase, like
the filters before it.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d


def envelope(data: np.ndarray, *, sfreq: float, smoothing_ms: float) -> np.ndarray:
    """Rectify each row and smooth it with a moving average of ``smoothing_ms``."""
    rectified = np.abs(data)
    width = int(round(smoothing_ms * 1e-3 * sfreq))
    if width <= 1:
        return rectified
    return uniform_filter1d(rectified, size=width, axis=-1, mode="nearest")
