"""One participant's facial EMG, from the raw BIDS recording to binned responses.

Steps (each in its own module): read the channels of the target muscles (bipolar,
microvolt; ``io.bids``) -> zero-phase 20-500 Hz band-pass and mains notches
(``filters``), full-wave rectification and moving-average smoothing
(``envelope``), in one pass over the recording (``chain``) -> epochs around stimulus onsets, baseline correction against the
pre-stimulus window, time bins (``epochs``) -> artefact rules per trial x muscle
(``artefacts``) -> z-scores within participant x muscle over clean trials. Which
events are face trials, and the muscles' and emotions' spellings, are the study's
declared sets (``io.labels``).

The result is the ``EMG_BINS`` table, a QC record of what was measured, rejected
and why, and the signals the QC figure draws (``EMG_QC_SIGNALS``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from opioidsocial.emg import artefacts, chain, epochs, filters
from opioidsocial.errors import DataError
from opioidsocial.failsafe import record
from opioidsocial.io.bids import read_channels, read_emg, read_events
from opioidsocial.io.contracts import EMG_BINS
from opioidsocial.io.labels import emotion_map, face_trials
from opioidsocial.io.sidecars import ENVELOPE, ENVELOPE_DESCRIPTION

#: The stage name the exclusions decided here are recorded under.
STAGE = "emg_preprocess"


class UnusableParticipant(DataError):
    """A participant's data were read but too much was rejected to analyse them."""


class NoSignal(DataError):
    """A muscle with no clean trial (flat, clipped or outlying throughout: a disconnected electrode)."""

    level = "muscle"
    file_role = "recording"


#: The QC record's ``filter`` of a recording that is already an envelope.
ENVELOPE_FILTER = "envelope: no filtering"


def recorded_signal(cfg: dict, *, study: str, files: dict) -> str:
    """``raw`` or ``envelope``: the study's ``emg.signal``, else what the dataset's channels.tsv says (io.sidecars)."""
    if study in cfg["signal"]:
        return cfg["signal"][study]
    channels = read_channels(files["channels"], channel_muscles=cfg["channel_muscles"].get(study))
    described = channels.get("description", pd.Series(dtype=str))
    return ENVELOPE if described.str.startswith(ENVELOPE_DESCRIPTION).any() else "raw"


def check_envelope(data: np.ndarray, *, sfreq: float, bin_s: float, muscles: list[str], who: dict, file: str) -> None:
    """An envelope is never negative, and a bin must hold at least two of its samples."""
    if bin_s * sfreq < 2:
        raise DataError(f"emg.bin_s = {bin_s:g} s holds fewer than two samples of the {sfreq:g} Hz envelope", **who, file=file,
                        fix=f"set emg.bin_s to at least {2 / sfreq:g} s")
    negative = data < 0
    if negative.any():
        channel, sample = np.unravel_index(np.argmax(negative), data.shape)
        raise DataError(f"the envelope of muscle '{muscles[channel]}' is negative ({data[channel, sample]:g} µV at "
                        f"{sample / sfreq:g} s): an envelope cannot be", **who, file=file,
                        fix="the recording is raw EMG (set emg.signal to raw for this study) or its offset is wrong (correct it at export)")


def declared_muscles(cfg: dict) -> list[str]:
    """The muscles a study may have (io.labels): emg.muscle_names and emg.muscles."""
    return list(dict.fromkeys([*cfg["muscle_names"], *cfg["muscles"]]))


def preprocess_participant(files: dict, *, study: str, participant: str, arm: str, cfg: dict) -> tuple[pd.DataFrame, dict, chain.QcSignals]:
    """Return the participant's EMG_BINS rows, the QC record and the signals the QC figure draws.

    Two exclusions are decided here, below the participant, and listed in the QC
    record's ``exclusions``: a trial whose epoch (with its filter padding) leaves
    the recording, and a muscle without one clean trial. The participant's other
    trials and muscles stay; with none left the participant is an error.
    """
    who = {"study": study, "participant": participant}
    # The events first: a small file, so its problems are reported before the recording is read.
    events, ignored = face_trials(read_events(files["events"]), mapping=emotion_map(cfg, study=study), file=files["events"],
                                  participant=participant)
    if events.empty:
        raise epochs.EpochError(f"{files['events']} lists no face trials (ignored rows by trial_type: {ignored or 'none'})", **who,
                                fix="map the faces' trial_type values to emotions in emg.trial_types (or emg.emotions)")
    rec = read_emg(files, **who, muscles=cfg["muscles"] or None, channel_muscles=cfg["channel_muscles"].get(study),
                   declared_muscles=declared_muscles(cfg))

    envelope = recorded_signal(cfg, study=study, files=files) == ENVELOPE
    if envelope:
        check_envelope(rec.data, sfreq=rec.sfreq, bin_s=cfg["bin_s"], muscles=rec.muscles, who=who, file=files["recording"])
        design = None
    else:
        design = filters.design(
            sfreq=rec.sfreq, low_hz=cfg["highpass_hz"], high_hz=cfg["lowpass_hz"], order=cfg["filter_order"],
            line_freq=rec.line_freq, notch=cfg["notch"], notch_q=cfg["notch_q"],
        )
    tmin, tmax = cfg["tmin_s"], cfg["tmax_s"]
    # an envelope is not filtered here: only the smoothing needs room at the recording's ends
    pad = cfg["smoothing_ms"] / 2000.0 if envelope else epochs.padding_s(highpass_hz=cfg["highpass_hz"], smoothing_ms=cfg["smoothing_ms"])
    samples, inside = epochs.onset_samples(events["onset"].to_numpy(), sfreq=rec.sfreq, n_samples=rec.data.shape[1], tmin=tmin, tmax=tmax, pad_s=pad)
    duration = rec.data.shape[1] / rec.sfreq
    dropped = [
        epochs.EpochError(f"trial {k} (onset {onset:g} s): its epoch [{tmin:g}, {tmax:g}] s with {pad:g} s of filter padding "
                          f"leaves the recording (0 to {duration:g} s)", **who, file=files["events"], level="trial", trial=int(k),
                          fix="the trial is left out; shorten emg.tmin_s/tmax_s to keep it")
        for k, onset in zip(np.flatnonzero(~inside) + 1, events["onset"][~inside])
    ]
    if not inside.any():
        raise epochs.EpochError(f"all {len(events)} face trials have epochs [{tmin:g}, {tmax:g}] s (with {pad:g} s of filter padding) "
                                f"outside the recording (0 to {duration:g} s)", **who,
                                fix="fix the onsets in events.tsv or shorten the epoch window")
    trial_no = (np.flatnonzero(inside) + 1).astype(np.int32)
    events, samples = events[inside].reset_index(drop=True), samples[inside]
    # Clipping is judged on the raw samples, which the envelope from the one-pass
    # chain below then replaces (the recording's memory is freed for the epochs).
    clipped = artefacts.clipped_epochs(rec.data, samples, sfreq=rec.sfreq, tmin=tmin, tmax=tmax, run=cfg["clip_run"])
    first_onset = float(events["onset"].iloc[0])
    snippet = chain.snippet_window(first_onset, sfreq=rec.sfreq, n_samples=rec.data.shape[1])
    if envelope:
        env, filtered_sd, signals = chain.smooth_envelope(rec.data, sfreq=rec.sfreq, smoothing_ms=cfg["smoothing_ms"], onset_s=first_onset,
                                                          snippet=snippet)
    else:
        env, filtered_sd, signals = chain.filter_rectify_smooth(rec.data, design, sfreq=rec.sfreq, smoothing_ms=cfg["smoothing_ms"],
                                                                onset_s=first_onset, snippet=snippet, envelope=cfg["envelope"])
    rec.data = env
    flat = artefacts.flat(filtered_sd, flat_uv=cfg["flat_uv"])

    env_ep, times = epochs.cut(env, samples, sfreq=rec.sfreq, tmin=tmin, tmax=tmax)
    base_level = epochs.baseline_level(env_ep, times, tuple(cfg["baseline_s"]))
    measured, starts = epochs.bin_means(env_ep, times, bin_s=cfg["bin_s"], tmin=tmin, tmax=tmax)
    method = cfg["baseline_method"]
    values = epochs.apply_baseline(measured, base_level, method)

    z, ratio = cfg["reject_robust_z"], cfg["reject_min_ratio"]
    reasons = {
        "flat channel": np.broadcast_to(flat, base_level.shape),
        "clipped": clipped,
        "baseline outlier": artefacts.outlying_level(base_level, z=z, min_ratio=ratio),
        "peak outlier": artefacts.outlying_level(env_ep.max(axis=-1), z=z, min_ratio=ratio),
    }
    if method in epochs.DIVIDING:
        # A ratio to a zero baseline has no value: the cell is an artefact, and its rows keep
        # the measured bin means (EMG_BINS holds a number in every row; no stage uses artefact rows).
        reasons["baseline not positive"] = base_level <= 0
        values = np.where(reasons["baseline not positive"][..., None], measured, values)
    reason = np.full(base_level.shape, "", dtype=object)
    for name, hit in reasons.items():
        reason = np.where(hit, np.where(reason == "", name, reason + "; " + name), reason)
    rejected = reason != ""

    n_trials, n_muscles, n_bins = values.shape
    z_scores = _z_within_muscle(values, rejected)
    frame = pd.DataFrame(
        {
            "study": study,
            "participant": participant,
            "arm": arm,
            "trial": np.repeat(trial_no, n_muscles * n_bins),
            "stimulus": np.repeat(events["stimulus"].to_numpy(dtype=object), n_muscles * n_bins),
            "emotion": np.repeat(events["emotion"].to_numpy(dtype=object), n_muscles * n_bins),
            "muscle": np.tile(np.repeat(np.array(rec.muscles, dtype=object), n_bins), n_trials),
            "bin_start_s": np.tile(starts, n_trials * n_muscles),
            "amplitude_uv": values.reshape(-1),
            "artefact": np.repeat(rejected.reshape(-1), n_bins),
            "artefact_reason": np.repeat(reason.reshape(-1), n_bins),
            "amplitude_z": z_scores.reshape(-1),
        }
    )
    silent = [
        NoSignal(f"muscle '{m}' has no clean trial ({_counts(reasons, j)} of {n_trials}); its electrode gave no usable signal",
                 **who, file=files["recording"], muscle=m, fix="the muscle is left out for this participant; check the electrode")
        for j, m in enumerate(rec.muscles)
        # a rejected cell's value may be NaN (a ratio to a zero baseline): only clean cells must have a z-score
        if rejected[:, j].all() or not np.isfinite(z_scores[~rejected[:, j], j, :]).all()
    ]
    kept = [j for j, m in enumerate(rec.muscles) if m not in {err.muscle for err in silent}]
    if not kept:
        raise UnusableParticipant(f"no muscle has a clean trial ({'; '.join(e.problem for e in silent)})", **who, file=files["recording"],
                                  fix="check the electrodes and the artefact settings (emg.flat_uv, emg.clip_run)")
    frame = frame[frame["muscle"].isin([rec.muscles[j] for j in kept])][EMG_BINS.columns].reset_index(drop=True)

    analysed = rejected[:, kept]
    per_emotion = (
        pd.DataFrame({"emotion": np.repeat(events["emotion"].to_numpy(dtype=object), len(kept)), "rejected": analysed.reshape(-1)})
        .groupby("emotion")["rejected"].mean().round(6).to_dict()
    )
    fraction = float(analysed.mean())
    usable = fraction <= cfg["max_rejected_fraction"]
    qc = {
        "study": study,
        "participant": participant,
        "arm": arm,
        "recording": files["recording"],
        "sfreq_hz": rec.sfreq,
        "duration_s": round(duration, 6),
        "line_freq_hz": rec.line_freq,
        "channels": rec.derivations,
        # channels.tsv status = bad, and EMG channels of no muscle: left out, shown here
        "bad_channels": rec.bad_channels,
        "unassigned_channels": rec.unassigned,
        "filter": ENVELOPE_FILTER if envelope else design.describe(),
        "smoothing_ms": cfg["smoothing_ms"],
        # only when not today's rectified mean, so records of earlier runs stay as they were
        **({} if envelope or cfg["envelope"] == "rectify" else {"envelope": cfg["envelope"]}),
        # only when not today's subtraction, so records of earlier runs stay as they were
        **({} if method == "subtract" else {"baseline_method": method, "amplitude_unit": epochs.BASELINE_UNITS[method]}),
        # events.tsv rows that are no face of the event map (responses, boundaries, n/a), by trial_type
        "ignored_events": ignored,
        "first_onset_s": float(events["onset"].iloc[0]),
        "n_trials": int(n_trials),
        "muscles": {
            m: {
                "flat": bool(flat[j]),
                "baseline_median_uv": round(float(np.median(base_level[:, j])), 6),
                "rejected": int(rejected[:, j].sum()),
                "reasons": {name: int(hit[:, j].sum()) for name, hit in reasons.items()},
            }
            for j, m in enumerate(rec.muscles)
        },
        "rejected_fraction": round(fraction, 6),
        "rejected_fraction_by_emotion": per_emotion,
        "usable": usable,
        "exclusion_reason": "" if usable else f"{fraction:.0%} of trial x muscle cells rejected (limit {cfg['max_rejected_fraction']:.0%})",
        "exclusions": [record(err, stage=STAGE) for err in dropped + silent],
    }
    return frame, qc, signals


def _counts(reasons: dict[str, np.ndarray], column: int) -> str:
    """'flat channel 40, clipped 3': how many trials of one muscle each rule rejected."""
    return ", ".join(f"{name} {int(hit[:, column].sum())}" for name, hit in reasons.items() if hit[:, column].any()) or "no rule"


def _z_within_muscle(values: np.ndarray, rejected: np.ndarray) -> np.ndarray:
    """z-scores of (trials, muscles, bins) per muscle, with the mean and SD (n - 1) of the clean trials' bins only.

    NaN where a muscle has fewer than two clean values (its NoSignal check).
    """
    z = np.full_like(values, np.nan)
    for j in range(values.shape[1]):
        clean = values[~rejected[:, j], j, :]
        if clean.size > 1:
            with np.errstate(divide="ignore", invalid="ignore"):
                z[:, j, :] = (values[:, j, :] - clean.mean()) / clean.std(ddof=1)
    return z
