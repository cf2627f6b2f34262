"""The multiverse participant job: one filtering of one recording, every envelope the grid asks of it.

A job is one participant x one high-pass value of the grid: it reads the recording
once, filters it once (:func:`opioidsocial.emg.chain.envelopes`) and keeps, for each
envelope (``envelope`` x ``smoothing_ms`` of the grid), what every universe of that
filtering is computed from (:mod:`opioidsocial.multiverse.universes`): the bin means
of each trial x muscle epoch with each bin's number of samples, the epoch's largest
envelope sample, and the artefacts that do not depend on the universe's later
choices (a flat channel, a clipped epoch). Every other grid key (baseline window and
method, z-scoring, response window, rejection threshold) acts on these bins in the
study job. So a value added to those keys runs no participant job, and a high-pass
value added runs one new job per participant: the old filterings are kept.

A recording that is already an envelope is not filtered: the job of the grid's first
high-pass value holds its envelopes (the grid's first ``envelope``, every
``smoothing_ms``), the others have no rows. The participants are those today's
preprocessing found usable (its QC record): every universe compares the same people,
so the universes differ by the analysis alone.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from opioidsocial.emg import artefacts, chain, epochs, filters
from opioidsocial.emg.preprocess import declared_muscles, recorded_signal
from opioidsocial.failsafe import stage
from opioidsocial.io.bids import read_emg, read_events
from opioidsocial.io.contracts import MULTIVERSE_ENVELOPES, QC_RECORD
from opioidsocial.io.labels import emotion_map, face_trials
from opioidsocial.io.sidecars import ENVELOPE
from opioidsocial.io.tables import read_json, write_table

log = logging.getLogger(__name__)


def envelope_kinds(grid: dict, emg: dict, *, envelope_recording: bool) -> list[tuple[str, float]]:
    """(envelope, smoothing_ms) of every envelope of one filtering: the grid's values, else the ``emg`` ones.

    A recording that is an envelope has one kind, the first (it is not rectified here).
    """
    kinds = grid.get("envelope", [emg["envelope"]])
    return sorted({(kind, float(s)) for kind in (kinds[:1] if envelope_recording else kinds)
                   for s in grid.get("smoothing_ms", [emg["smoothing_ms"]])})


def participant_envelopes(files: dict, *, study: str, participant: str, arm: str, emg: dict, grid: dict, highpass_hz: float,
                          first_highpass: bool, dtype=np.float32) -> pd.DataFrame:
    """The MULTIVERSE_ENVELOPES rows of one participant filtered at ``highpass_hz`` (``grid``: its envelope and smoothing_ms lists).

    ``first_highpass``: whether ``highpass_hz`` is the grid's first value, whose job holds a
    recording that is already an envelope. ``dtype`` float64 filters in double precision.
    """
    who = {"study": study, "participant": participant}
    envelope_recording = recorded_signal(emg, study=study, files=files) == ENVELOPE
    if envelope_recording and not first_highpass:
        return MULTIVERSE_ENVELOPES.empty()
    events, _ = face_trials(read_events(files["events"]), mapping=emotion_map(emg, study=study), file=files["events"], participant=participant)
    rec = read_emg(files, **who, muscles=emg["muscles"] or None, channel_muscles=emg["channel_muscles"].get(study),
                   declared_muscles=declared_muscles(emg))
    kinds = envelope_kinds(grid, emg, envelope_recording=envelope_recording)
    if envelope_recording:
        envs = {(kind, s): chain.smooth_envelope(rec.data, sfreq=rec.sfreq, smoothing_ms=s, snippet=(0, 0), onset_s=0.0)[0] for kind, s in kinds}
        sd = rec.data.std(axis=1)
    else:
        fd = filters.design(sfreq=rec.sfreq, low_hz=highpass_hz, high_hz=emg["lowpass_hz"], order=emg["filter_order"], line_freq=rec.line_freq,
                            notch=emg["notch"], notch_q=emg["notch_q"])
        envs, sd = chain.envelopes(rec.data, fd, sfreq=rec.sfreq, kinds=kinds, dtype=dtype)
    flat = artefacts.flat(sd, flat_uv=emg["flat_uv"])
    tmin, tmax = emg["tmin_s"], emg["tmax_s"]
    trial = np.arange(1, len(events) + 1)
    frames = []
    for (kind, smoothing), env in envs.items():
        pad = smoothing / 2000.0 if envelope_recording else epochs.padding_s(highpass_hz=highpass_hz, smoothing_ms=smoothing)
        samples, inside = epochs.onset_samples(events["onset"].to_numpy(), sfreq=rec.sfreq, n_samples=rec.data.shape[1], tmin=tmin,
                                               tmax=tmax, pad_s=pad)
        if not inside.any():
            continue
        samples = samples[inside]
        bins, starts, counts, peak = epochs.binned_epochs(env, samples, sfreq=rec.sfreq, tmin=tmin, tmax=tmax, bin_s=emg["bin_s"])
        excluded = flat[None, :] | artefacts.clipped_epochs(rec.data, samples, sfreq=rec.sfreq, tmin=tmin, tmax=tmax, run=emg["clip_run"])
        frames.append(_long(bins, starts=starts, counts=counts, peak=peak, excluded=excluded, trial=trial[inside],
                            emotion=events["emotion"].to_numpy()[inside], muscles=rec.muscles,
                            block={"envelope": kind, "smoothing_ms": smoothing, "highpass_hz": float(highpass_hz)}))
    if not frames:
        return MULTIVERSE_ENVELOPES.empty()
    out = pd.concat(frames, ignore_index=True)
    for key, value in {"study": study, "participant": participant, "arm": arm, "recording": ENVELOPE if envelope_recording else "raw"}.items():
        out[key] = value
    return out[MULTIVERSE_ENVELOPES.columns]


def _long(bins: np.ndarray, *, starts, counts, peak, excluded, trial, emotion, muscles: list[str], block: dict) -> pd.DataFrame:
    """(trials, muscles, bins) arrays as rows, trial-major."""
    n_t, n_m, n_b = bins.shape
    per_cell = lambda a: np.repeat(np.asarray(a).reshape(-1), n_b)  # noqa: E731  (trial x muscle values, one per bin)
    return pd.DataFrame({
        **block,
        "trial": np.repeat(trial, n_m * n_b).astype(np.int64),
        "emotion": np.repeat(emotion, n_m * n_b),
        "muscle": np.tile(np.repeat(np.array(muscles, dtype=object), n_b), n_t),
        "bin_start_s": np.tile(starts, n_t * n_m),
        "value": bins.reshape(-1),
        "samples": np.tile(counts, n_t * n_m).astype(np.int64),
        "peak": per_cell(peak).astype(float),
        "excluded": per_cell(excluded).astype(bool),
    })


@stage("multiverse_participant", level="participant", outputs={"envelopes": MULTIVERSE_ENVELOPES})
def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, participant: str, highpass: str, arm: str, first_highpass: bool,
        metadata: dict) -> None:
    """Write ``outputs`` envelopes (MULTIVERSE_ENVELOPES) of one participant filtered at ``highpass`` Hz (whether it
    is the grid's first value: ``first_highpass``); ``inputs`` are its BIDS files by role and ``qc``, today's QC
    record. A participant today's preprocessing found unusable gets an empty table (the study job leaves it
    out); a recording that cannot carry the high-pass edge is a DataError of this participant, so
    ``on_bad_data`` decides."""
    qc = read_json(inputs["qc"], QC_RECORD)
    table = MULTIVERSE_ENVELOPES.empty()
    # the job reads the grid's envelope and smoothing_ms lists alone; a grid without them has no multiverse section here
    grid = cfg.get("multiverse", {}).get("grid", {})
    if qc["usable"]:
        files = {k: v for k, v in inputs.items() if k != "qc"}
        table = participant_envelopes(files, study=study, participant=participant, arm=arm, emg=cfg["emg"], grid=grid,
                                      highpass_hz=float(highpass), first_highpass=first_highpass)
    log.info("%s/%s: %d envelope bins filtered at %s Hz", study, participant, len(table), highpass)
    write_table(table, outputs["envelopes"], MULTIVERSE_ENVELOPES, metadata=metadata)
