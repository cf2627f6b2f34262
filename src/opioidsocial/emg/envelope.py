"""EMG amplitude envelope: full-wave rectification and a centred moving average.

The rectified, smoothed signal estimates the muscle's activation level (Fridlund &
Cacioppo 1986). A centred (symmetric) window keeps the envelope zero-phase, like
the filters before it. The average runs over the rectified signal as it comes out
of the filter, block by block (:class:`RunningMean`), so the envelope needs no pass
of its own over the recording; at the recording's edges the first and last values
are repeated (``scipy.ndimage.uniform_filter1d``'s ``mode="nearest"`` over the
whole recording, which it equals: ``tests/test_emg_chain.py``).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d


def smoothing_width(*, sfreq: float, smoothing_ms: float) -> int:
    """Samples in the moving-average window (1: no smoothing)."""
    return max(1, int(round(smoothing_ms * 1e-3 * sfreq)))


class RunningMean:
    """Centred moving average of ``width`` samples over consecutive blocks of each row.

    Output sample ``i`` averages input samples ``i - width // 2`` to
    ``i - width // 2 + width - 1`` (uniform_filter1d's window). :meth:`push` takes
    the next block and returns the first output sample it completes and those
    outputs; :meth:`finish` returns the rest, up to the last input sample.
    """

    def __init__(self, width: int):
        self.width = width
        self.before = width // 2
        self.tail = None
        self.next_input = 0

    def push(self, block: np.ndarray) -> tuple[int, np.ndarray]:
        if self.tail is None:
            self.tail = np.repeat(block[:, :1], self.before, axis=1)
        joined = np.concatenate([self.tail, block], axis=1)
        first_input = self.next_input - self.tail.shape[1]
        self.next_input += block.shape[1]
        if joined.shape[1] < self.width:
            self.tail = joined
            return self.next_input, joined[:, :0]
        # the filter's running sum (in double precision) over tail + block; only the
        # outputs whose whole window lies inside are kept, so its edge mode is moot
        smoothed = uniform_filter1d(joined, self.width, axis=1, output=np.float64)
        values = smoothed[:, self.before : joined.shape[1] - self.width + self.before + 1]
        self.tail = joined[:, joined.shape[1] - self.width + 1 :]
        return first_input + self.before, values

    def finish(self) -> tuple[int, np.ndarray]:
        after = self.width - 1 - self.before
        return self.push(np.repeat(self.tail[:, -1:], after, axis=1))
