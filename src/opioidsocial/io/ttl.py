"""Stimulus onsets from TTL channels: one digital or analogue channel per condition.

A TTL pulse marks an onset with a voltage step (typically 0 to 5 V). Each channel
is thresholded (by default at half its range) and every ``rising`` (or
``falling``, for active-low pulses) edge is one event at that sample. What cannot
be a clean pulse is an error naming the channel and the time, never guessed at: a
channel with no pulse, a pulse of one sample (a glitch, or a pulse shorter than
the sampling interval, which the recording cannot show reliably), a pulse still
active at the end of the recording, two onsets of one channel closer than
``min_interval_s`` (a bouncing contact, not two trials), and two channels active
at the same sample (two conditions at once).
"""

from __future__ import annotations

import numpy as np

from opioidsocial.errors import DataError


class TtlError(DataError):
    """TTL channels whose pulses are not one clean edge per trial."""

    file_role = "recording"


def active(x: np.ndarray, *, threshold: float | None, edge: str) -> np.ndarray:
    """Where the channel is in its pulse state: above the threshold (rising) or below it (falling)."""
    level = (float(np.min(x)) + float(np.max(x))) / 2 if threshold is None else threshold
    return x > level if edge == "rising" else x < level


def onsets(x: np.ndarray, *, name: str, sfreq: float, threshold: float | None, edge: str, min_interval_s: float,
           who: dict) -> np.ndarray:
    """Onset samples of one channel's pulses (the first sample of each pulse)."""
    on = active(x, threshold=threshold, edge=edge)
    change = np.diff(on.astype(np.int8))
    starts = np.flatnonzero(change == 1) + 1
    ends = np.flatnonzero(change == -1) + 1
    if on[0]:
        # a pulse already on when the recording started has no onset in it
        ends = ends[1:]
    if not len(starts):
        raise TtlError(f"TTL channel '{name}' has no {edge} pulse ({x.min():g} to {x.max():g})", **who,
                       fix="check the channel name in the import map, its threshold and edge, or that the trigger cable was connected")
    if len(ends) < len(starts):
        raise TtlError(f"the pulse of TTL channel '{name}' at {starts[-1] / sfreq:g} s never ends", **who,
                       fix="the recording stopped during a pulse: leave the trial out by cutting the recording, or check the edge")
    short = starts[ends[: len(starts)] - starts < 2]
    if len(short):
        raise TtlError(f"TTL channel '{name}' has a pulse of one sample at {short[0] / sfreq:g} s (a glitch, or shorter than "
                       f"the sampling interval 1/{sfreq:g} s)", **who,
                       fix="make the pulses at least two samples long at the recording rate, or set a threshold above the glitches")
    close = np.flatnonzero(np.diff(starts) < min_interval_s * sfreq)
    if len(close):
        first, second = starts[close[0]] / sfreq, starts[close[0] + 1] / sfreq
        raise TtlError(f"TTL channel '{name}' has onsets {first:g} s and {second:g} s, closer than min_interval_s "
                       f"{min_interval_s:g} s: a bouncing contact, not two trials", **who,
                       fix="fix the trigger hardware, or lower events.min_interval_s if the trials really are that close")
    return starts


def channel_events(data: dict[str, np.ndarray], *, sfreq: float, threshold: float | None, edge: str, min_interval_s: float,
                   who: dict) -> list[tuple[int, str]]:
    """(onset sample, channel) of every pulse of every condition channel, in time order."""
    states = {name: active(x, threshold=threshold, edge=edge) for name, x in data.items()}
    names = sorted(states)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            both = np.flatnonzero(states[a] & states[b])
            if len(both):
                raise TtlError(f"TTL channels '{a}' and '{b}' are both active at {both[0] / sfreq:g} s: two conditions at once",
                               **who, fix="each trial must pulse one condition channel; check the wiring or the threshold")
    events = [(int(s), name) for name, x in data.items()
              for s in onsets(x, name=name, sfreq=sfreq, threshold=threshold, edge=edge, min_interval_s=min_interval_s, who=who)]
    return sorted(events)
