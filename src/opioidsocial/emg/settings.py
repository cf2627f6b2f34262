"""The EMG settings' cross-key checks: what the schema cannot say about its values.

``workflow/schemas/config/emg.schema.yaml`` and ``config.schema.yaml`` name these
functions (``x-check``), and :func:`opioidsocial.config.validate_config` runs them
after the schema, so that a window or band that cannot work stops the run before
any job starts, with the key's documentation as the fix.
"""

from __future__ import annotations

import re

import mixedlm
from mixedlm.formula.terms import InteractionTerm, VariableTerm

from opioidsocial.io.labels import normalise, undeclared, variants

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


def _twice(labels, *, what: str) -> list[str]:
    """Labels that are one label when case and surrounding whitespace are ignored."""
    return [f"{what} {' and '.join(repr(v) for v in spelled)} are one label (case and whitespace are ignored): keep one spelling"
            for spelled in variants(labels)]


def label_problems(emg: dict, where: str) -> list[str]:
    """The declared labels (io.labels) are each spelled once, and the channel maps name declared muscles."""
    muscles = [*emg["muscle_names"], *emg["muscles"]]
    problems = _twice(muscles, what=f"{where}.muscle_names/muscles: muscle") + _twice(emg["emotions"], what=f"{where}.emotions: emotion")
    declared = {normalise(m) for m in muscles}
    for study, mapping in sorted(emg["channel_muscles"].items()):
        problems += [f"{where}.channel_muscles.{study}: " + undeclared(m, muscles, what="muscle", where=f"the map of channel '{c}'")
                     + f"; declare it in {where}.muscle_names" for c, m in sorted(mapping.items()) if normalise(m) not in declared]
    for study, mapping in sorted(emg["trial_types"].items()):
        problems += _twice(mapping, what=f"{where}.trial_types.{study}: emotion")
        owner: dict[str, str] = {}
        for emotion, values in mapping.items():
            for value in values:
                other = owner.setdefault(normalise(value), emotion)
                if other != emotion:
                    problems.append(f"{where}.trial_types.{study}: trial_type '{value}' is mapped to both '{other}' and '{emotion}'")
    return problems


#: Settings of the raw-EMG chain (band-pass, notches) that an envelope recording never gets.
RAW_ONLY = ("highpass_hz", "lowpass_hz", "filter_order", "notch", "notch_q")


def envelope_problems(emg: dict, where: str) -> list[str]:
    """A raw-EMG setting changed while every study emg.signal names is an envelope: it would be silently ignored.

    With a raw study named too (``{rawstudy: raw}``), the setting is for that study.
    """
    envelopes = sorted(study for study, kind in emg["signal"].items() if kind == "envelope")
    if not envelopes or "raw" in emg["signal"].values():
        return []
    from opioidsocial.config import validate_section

    defaults = validate_section({}, "emg.schema.yaml", source=where)
    return [f"'{where}.{key}' = {emg[key]} is a raw-EMG setting, but study {envelopes} records an envelope "
            f"({where}.signal), which is never band-passed or notched: remove {where}.{key}, or name the raw "
            f"studies it is for in {where}.signal (e.g. {{<study>: raw}})"
            for key in RAW_ONLY if emg[key] != defaults[key]]


def check_emg(emg: dict, where: str) -> list[str]:
    """The emg section's values in order relative to each other: band edges, windows, declared labels, signals."""
    problems = label_problems(emg, where) + envelope_problems(emg, where)
    if emg["highpass_hz"] >= emg["lowpass_hz"]:
        problems.append(
            f"'{where}.highpass_hz' = {emg['highpass_hz']:g} Hz must be below '{where}.lowpass_hz' = {emg['lowpass_hz']:g} Hz "
            "(the band-pass is highpass_hz to lowpass_hz; van Boxtel 2010 recommends 20 to 500)"
        )
    return problems + window_problems(emg, where=where)


#: The random-effect terms the model stage fits (:mod:`opioidsocial.stats.lmm`), as users write them.
SUPPORTED_RANDOM = ("correlated terms '(1 | g)', '(1 + x | g)' or '(0 + x | g)', where x is a column or an interaction "
                    "of columns (a:b, a*b) and g a column or an interaction of columns (g:h)")
_RANDOM_TERM = re.compile(r"\([^()]*\|[^()]*\)")


def _unsupported(term) -> str | None:
    if not term.correlated:
        return "uncorrelated random effects ('||')"
    if term.cov_type != "us":
        return f"covariance structure '{term.cov_type}'"
    if not all(isinstance(e, (VariableTerm, InteractionTerm)) for e in term.expr):
        return "a slope that is not a column or an interaction of columns"
    return None


def formula_problems(formula: str, *, where: str = "models.formula") -> list[str]:
    """Random-effect terms that lme4 accepts and the model stage cannot fit, each named with what it can."""
    try:
        mixedlm.parse_formula(formula)
    except ValueError as err:
        return [f"{where} '{formula}' is not a valid lme4 formula: {err}"]
    problems = []
    for text in _RANDOM_TERM.findall(formula):
        for term in mixedlm.parse_formula(f"y ~ 1 + {text}").random:
            reason = _unsupported(term)
            if reason:
                problems.append(f"{where} '{formula}': the term '{text}' has {reason}, which the model stage does not fit; "
                                f"supported are {SUPPORTED_RANDOM} (models.fallback drops the correlations itself when a fit is singular)")
    return problems


def check_config(config: dict, _source: str) -> list[str]:
    """The emg section's own checks, and the band against the simulated sampling rates.

    Real recordings' rates are known only when they are read: there a lower edge
    above the Nyquist limit is an error naming the file (emg.filters), an upper one
    is capped and the cap recorded in the QC JSON.
    """
    emg = config["emg"]
    problems = check_emg(emg, "emg") + formula_problems(config["models"]["formula"])
    for study, sim in sorted(config["simulate"]["emg"].items()):
        if sim.get("signal") == "envelope":
            continue  # an envelope is never band-passed
        limit = NYQUIST_FRACTION * sim["sfreq"] / 2
        if emg["highpass_hz"] >= limit:
            problems.append(
                f"'emg.highpass_hz' = {emg['highpass_hz']:g} Hz is above what study '{study}' can carry: "
                f"'simulate.emg.{study}.sfreq' = {sim['sfreq']:g} Hz allows a band up to {limit:g} Hz "
                f"({NYQUIST_FRACTION:g} x Nyquist); lower emg.highpass_hz or raise the sampling rate"
            )
    return problems
