"""One participant's facial EMG, from the raw BIDS recording to binned responses.

Steps (each in its own module): read the channels of the target muscles (bipolar,
microvolt; ``io.bids``) -> zero-phase 20-500 Hz band-pass and mains notches
(``filters``), full-wave rectification and moving-average smoothing
(``envelope``), in one pass over the recording (``chain``) -> epochs around stimulus onsets, baseline correction against the
pre-stimulus window, time bins (``epochs``) -> artefact rules per trial x muscle
(``artefacts``) -> z-scores within participant x muscle over clean trials.

The result is the ``EMG_BINS`` table, a QC record of what was measured, rejected
and why, and the signals the QC figure draws (``EMG_QC_SIGNALS``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from opioidsocial.emg import artefacts, chain, epochs, filters
from opioidsocial.errors import DataError
from opioidsocial.io.bids import read_emg, read_events
from opioidsocial.io.contracts import EMG_BINS
from opioidsocial.io.tables import empty_table


class UnusableParticipant(DataError):
    """A participant's data were read but too much was rejected to analyse them."""


def preprocess_participant(files: dict, *, study: str, participant: str, arm: str, cfg: dict) -> tuple[pd.DataFrame, dict, chain.QcSignals]:
    """Return the participant's EMG_BINS rows, the QC record and the signals the QC figure draws."""
    who = f"study '{study}', participant '{participant}'"
    rec = read_emg(files, study=study, participant=participant, muscles=cfg["muscles"] or None,
                   channel_muscles=cfg["channel_muscles"].get(study))
    events = read_events(files["events"], who=who)
    if events.empty:
        raise epochs.EpochError(f"{who}: {files['events']} lists no events; there is nothing to epoch")

    design = filters.design(
        sfreq=rec.sfreq, low_hz=cfg["highpass_hz"], high_hz=cfg["lowpass_hz"], order=cfg["filter_order"],
        line_freq=rec.line_freq, notch=cfg["notch"], notch_q=cfg["notch_q"],
    )
    tmin, tmax = cfg["tmin_s"], cfg["tmax_s"]
    samples = epochs.onset_samples(events["onset"].to_numpy(), sfreq=rec.sfreq, n_samples=rec.data.shape[1], tmin=tmin, tmax=tmax, who=who)
    # Clipping is judged on the raw samples, which the envelope from the one-pass
    # chain below then replaces (the recording's memory is freed for the epochs).
    clipped = artefacts.clipped_epochs(rec.data, samples, sfreq=rec.sfreq, tmin=tmin, tmax=tmax, run=cfg["clip_run"])
    first_onset = float(events["onset"].iloc[0])
    env, filtered_sd, signals = chain.filter_rectify_smooth(
        rec.data, design, sfreq=rec.sfreq, smoothing_ms=cfg["smoothing_ms"], onset_s=first_onset,
        snippet=chain.snippet_window(first_onset, sfreq=rec.sfreq, n_samples=rec.data.shape[1]),
    )
    rec.data = env
    flat = artefacts.flat(filtered_sd, flat_uv=cfg["flat_uv"])

    env_ep, times = epochs.cut(env, samples, sfreq=rec.sfreq, tmin=tmin, tmax=tmax)
    base_level = epochs.baseline_level(env_ep, times, tuple(cfg["baseline_s"]))
    values, starts = epochs.bin_means(env_ep, times, bin_s=cfg["bin_s"], tmin=tmin, tmax=tmax)
    values -= base_level[..., None]

    z, ratio = cfg["reject_robust_z"], cfg["reject_min_ratio"]
    reasons = {
        "flat channel": np.broadcast_to(flat, base_level.shape),
        "clipped": clipped,
        "baseline outlier": artefacts.outlying_level(base_level, z=z, min_ratio=ratio),
        "peak outlier": artefacts.outlying_level(env_ep.max(axis=-1), z=z, min_ratio=ratio),
    }
    reason = np.full(base_level.shape, "", dtype=object)
    for name, hit in reasons.items():
        reason = np.where(hit, np.where(reason == "", name, reason + "; " + name), reason)
    rejected = reason != ""

    n_trials, n_muscles, n_bins = values.shape
    trial_no = np.arange(1, n_trials + 1, dtype=np.int32)
    frame = pd.DataFrame(
        {
            "study": study,
            "participant": participant,
            "arm": arm,
            "trial": np.repeat(trial_no, n_muscles * n_bins),
            "stimulus": np.repeat(events["stimulus"].astype(str).to_numpy(), n_muscles * n_bins),
            "emotion": np.repeat(events["trial_type"].astype(str).to_numpy(), n_muscles * n_bins),
            "muscle": np.tile(np.repeat(np.array(rec.muscles, dtype=object), n_bins), n_trials),
            "bin_start_s": np.tile(starts, n_trials * n_muscles),
            "amplitude_uv": values.reshape(-1),
            "artefact": np.repeat(rejected.reshape(-1), n_bins),
            "artefact_reason": np.repeat(reason.reshape(-1), n_bins),
        }
    )
    frame["amplitude_z"] = _z_within_muscle(frame)
    frame = frame[EMG_BINS.columns]

    per_emotion = (
        pd.DataFrame({"emotion": np.repeat(events["trial_type"].astype(str).to_numpy(), n_muscles), "rejected": rejected.reshape(-1)})
        .groupby("emotion")["rejected"].mean().round(6).to_dict()
    )
    fraction = float(rejected.mean())
    usable = fraction <= cfg["max_rejected_fraction"]
    qc = {
        "study": study,
        "participant": participant,
        "arm": arm,
        "recording": files["recording"],
        "sfreq_hz": rec.sfreq,
        "duration_s": round(rec.data.shape[1] / rec.sfreq, 6),
        "line_freq_hz": rec.line_freq,
        "channels": rec.derivations,
        # channels.tsv status = bad, and EMG channels of no muscle: left out, shown here
        "bad_channels": rec.bad_channels,
        "unassigned_channels": rec.unassigned,
        "filter": design.describe(),
        "smoothing_ms": cfg["smoothing_ms"],
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
    }
    return frame, qc, signals


def _z_within_muscle(frame: pd.DataFrame) -> np.ndarray:
    """z-scores per muscle using the mean and SD of the clean rows only."""
    clean = frame[~frame["artefact"]]
    stats = clean.groupby("muscle")["amplitude_uv"].agg(["mean", "std"])
    mean = frame["muscle"].map(stats["mean"])
    sd = frame["muscle"].map(stats["std"])
    return ((frame["amplitude_uv"] - mean) / sd).to_numpy(dtype=float)


def empty_bins() -> pd.DataFrame:
    """An EMG_BINS table with no rows: the output of an excluded participant."""
    return empty_table(EMG_BINS)
