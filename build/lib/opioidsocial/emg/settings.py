"""The EMG settings' cross-key checks: what the schema cannot say about its values.

``workflow/schemas/config/emg.schema.yaml`` and ``config.schema.yaml`` name these
functions (``x-check``), and :func:`opioidsocial.config.validate_config` runs them
after the schema, so that a window or band that cannot work stops the run before
any job starts, with the key's documentation as the fix.
"""

from __future__ import annotations

#: The highest band edge a sampling rate can carry, as a fraction of Nyquist: above
#: it a Butterworth edge is too close to Nyquist to be stable in second-order sections.
NYQUIST_FRACTION = 0.9


def window_problems(cfg: dict, *, where: str = "emg") -> list[str]:
    """Epoch, baseline and response windows must nest and not overlap."""
    tmin, tmax = cfg["tmin_s"], cfg["tmax_s"]
    base, resp = cfg["baseline_s"], cfg["response_s"]
    problems = []
    if not tmin < tmax:
        problems.append(f"{where}.tmin_s ({tmin}) must be below {where}.tmax_s ({tmax})")
    if not tmin <= base[0] < base[1] <= tmax:
        problems.append(f"{where}.baseline_s {base} must be an increasing window inside [{tmin}, {tmax}]")
    if not tmin <= resp[0] < resp[1] <= tmax:
        problems.append(f"{where}.response_s {resp} must be an increasing window inside [{tmin}, {tmax}]")
    if base[1] > resp[0]:
        problems.append(f"{where}.baseline_s {base} must end before {where}.response_s {resp} starts")
    return problems


def check_emg(emg: dict, where: str) -> list[str]:
    """The emg section's values in order relative to each other: band edges and windows."""
    problems = []
    if emg["highpass_hz"] >= emg["lowpass_hz"]:
        problems.append(
            f"'{where}.highpass_hz' = {emg['highpass_hz']:g} Hz must be below '{where}.lowpass_hz' = {emg['lowpass_hz']:g} Hz "
            "(the band-pass is highpass_hz to lowpass_hz; van Boxtel 2010 recommends 20 to 500)"
        )
    return problems + window_problems(emg, where=where)


def check_config(config: dict, _source: str) -> list[str]:
    """The emg section's own checks, and the band against the simulated sampling rates.

    Real recordings' rates are known only when they are read: there a lower edge
    above the Nyquist limit is an error naming the file (emg.filters), an upper one
    is capped and the cap recorded in the QC JSON.
    """
    emg = config["emg"]
    problems = check_emg(emg, "emg")
    for study, sim in sorted(config["simulate"]["emg"].items()):
        limit = NYQUIST_FRACTION * sim["sfreq"] / 2
        if emg["highpass_hz"] >= limit:
            problems.append(
                f"'emg.highpass_hz' = {emg['highpass_hz']:g} Hz is above what study '{study}' can carry: "
                f"'simulate.emg.{study}.sfreq' = {sim['sfreq']:g} Hz allows a band up to {limit:g} Hz "
                f"({NYQUIST_FRACTION:g} x Nyquist); lower emg.highpass_hz or raise the sampling rate"
            )
    return problems
