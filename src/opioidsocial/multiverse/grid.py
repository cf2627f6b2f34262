"""The universes of a ``multiverse.grid``: every combination of the listed values of the EMG keys.

A universe's number is written in digits, one per key of :data:`KEYS` in that order,
each the position of the universe's value in the key's list (0 for a key the grid
does not list, which keeps its ``emg`` value): 102000 is the second envelope, the
first baseline method and the third z-scoring. A value appended to one key's list
adds universes without renumbering any other (hence at most :data:`MAX_VALUES`
values per key).
"""

from __future__ import annotations

import itertools

import pandas as pd

from opioidsocial.emg.settings import window_problems
from opioidsocial.io.contracts import MULTIVERSE_KEYS

#: The keys a grid may vary, in the order of a universe number's digits.
KEYS = MULTIVERSE_KEYS

#: Digits of a universe number per key: values per key at most 10.
MAX_VALUES = 10

#: Keys that do not apply to recordings that are already envelopes (never filtered or rectified here).
FILTER_KEYS = ("envelope", "highpass_hz")

#: What a key that does not apply to a study is written as.
NOT_APPLICABLE = "n/a"


def label(value) -> str:
    """A grid value as written in the tables: windows ``a,b``, numbers in shortest form."""
    if isinstance(value, (list, tuple)):
        return ",".join(f"{float(v):g}" for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def universes(grid: dict, emg: dict, *, envelope_recording: bool = False) -> pd.DataFrame:
    """One row per universe: ``universe`` (its number) and each key of :data:`KEYS`'s value.

    Keys not in ``grid`` take their ``emg`` value; for an envelope recording the
    :data:`FILTER_KEYS` keep their first value only (the study job writes them n/a).
    """
    choices = []
    for key in KEYS:
        values = list(grid[key]) if key in grid else [emg[key]]
        if envelope_recording and key in FILTER_KEYS:
            values = values[:1]
        choices.append(list(enumerate(values)))
    rows = []
    for combo in itertools.product(*choices):
        number = 0
        for index, _ in combo:
            number = number * MAX_VALUES + index
        rows.append({"universe": number, **{key: value for key, (_, value) in zip(KEYS, combo)}})
    return pd.DataFrame(rows, columns=["universe", *KEYS]).sort_values("universe", kind="stable").reset_index(drop=True)


def default_universe(table: pd.DataFrame, emg: dict) -> int | None:
    """The number of the universe that is today's analysis (every key at its ``emg`` value), if the grid holds it."""
    match = pd.Series(True, index=table.index)
    for key in KEYS:
        match &= table[key].map(label) == label(emg[key])
    return int(table.loc[match, "universe"].iloc[0]) if match.any() else None


def check_multiverse(config: dict, _source: str) -> list[str]:
    """Every universe's windows nest in the epoch and do not overlap, and its high-pass edge is below the low-pass."""
    grid, emg = config["multiverse"]["grid"], config["emg"]
    problems = []
    for baseline, response in itertools.product(grid.get("baseline_s", [emg["baseline_s"]]), grid.get("response_s", [emg["response_s"]])):
        found = window_problems({**emg, "baseline_s": baseline, "response_s": response}, where="multiverse.grid")
        problems += [f"{p} (universes with baseline_s {label(baseline)}, response_s {label(response)})" for p in found]
    problems += [f"multiverse.grid.highpass_hz {hp:g} must be below emg.lowpass_hz ({emg['lowpass_hz']:g})"
                 for hp in grid.get("highpass_hz", []) if hp >= emg["lowpass_hz"]]
    if config["multiverse"]["studies"]:
        problems += [f"multiverse: the baseline window {label(w)} s does not start and end on a bin edge (emg.tmin_s {emg['tmin_s']:g} s "
                     f"plus whole emg.bin_s of {emg['bin_s']:g} s): the multiverse computes baseline levels from the bins; move its "
                     f"edges onto bin edges (in multiverse.grid.baseline_s, else emg.baseline_s) or choose an emg.bin_s that divides them"
                     for w in grid.get("baseline_s", [emg["baseline_s"]]) if not all(_on_bin_edge(t, emg) for t in w)]
    return list(dict.fromkeys(problems))


def _on_bin_edge(t: float, emg: dict) -> bool:
    steps = (t - emg["tmin_s"]) / emg["bin_s"]
    return abs(steps - round(steps)) < 1e-6
