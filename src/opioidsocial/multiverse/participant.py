"""The multiverse participant job: every universe's cell means from one read of the raw recording.

The recording is read once and filtered once per high-pass value of the grid; each
filtering gives every envelope the grid asks for (:func:`opioidsocial.emg.chain.envelopes`:
rectified mean or RMS, per smoothing width). Everything after the envelope runs on
(baseline windows, trials, muscles, bins) arrays with the preprocessing's own
functions (:mod:`opioidsocial.emg.epochs`, :mod:`opioidsocial.emg.artefacts`), so
that the universe of today's settings is, value for value, today's analysis: the
same artefact rules decide which trial x muscle cells are clean in each universe
(they depend on the envelope, the baseline window and ``reject_robust_z``), a
trial's response is its response-window mean as :func:`opioidsocial.emg.epochs.window_response`
defines it, z-scored as ``emg.zscore`` defines (:mod:`opioidsocial.emg.trials`),
and each cell value is the mean of the participant's clean trials of one emotion
and muscle.

The participants are those today's preprocessing found usable (its QC record): every
universe compares the same people, so the universes differ by the analysis alone.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from opioidsocial.emg import artefacts, chain, epochs, filters
from opioidsocial.emg.preprocess import declared_muscles, recorded_signal
from opioidsocial.failsafe import stage
from opioidsocial.io.bids import read_emg, read_events
from opioidsocial.io.contracts import MULTIVERSE_CELLS, QC_RECORD
from opioidsocial.io.labels import emotion_map, face_trials
from opioidsocial.io.sidecars import ENVELOPE
from opioidsocial.io.tables import read_json, write_table
from opioidsocial.multiverse.grid import KEYS, label, universes

log = logging.getLogger(__name__)

#: emg.zscore -> the axes of a (windows, trials, muscles, bins) array its mean and SD run over.
Z_AXES = {"within_muscle": (1, 3), "within_participant": (1, 2, 3)}


def standardise(responses: np.ndarray, corrected: np.ndarray, clean: np.ndarray, zscore: str) -> np.ndarray:
    """Responses (windows, trials, muscles) z-scored by the clean trials' corrected bins (windows, trials, muscles, bins)."""
    if zscore == "none":
        return responses
    axes = Z_AXES[zscore]
    bins = np.where(clean[..., None], corrected, np.nan)
    # a muscle without two clean values has no SD: NaN, and no cell value
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(bins, axis=axes, keepdims=True)
        sd = np.nanstd(bins, axis=axes, ddof=1, keepdims=True)
    return (responses - mean[..., 0]) / sd[..., 0]


def cell_means(values: np.ndarray, clean: np.ndarray, emotion_codes: np.ndarray, n_emotions: int) -> np.ndarray:
    """(windows, emotions, muscles) means of the clean, finite trial values (windows, trials, muscles); NaN for none."""
    keep = clean & np.isfinite(values)
    onehot = (emotion_codes[None, :] == np.arange(n_emotions)[:, None]).astype(float)
    sums = np.einsum("et,wtm->wem", onehot, np.where(keep, values, 0.0))
    counts = np.einsum("et,wtm->wem", onehot, keep.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def participant_cells(files: dict, *, study: str, participant: str, arm: str, emg: dict, grid: dict) -> pd.DataFrame:
    """The MULTIVERSE_CELLS rows of one participant: every universe x emotion x muscle with a clean trial."""
    who = {"study": study, "participant": participant}
    events, _ = face_trials(read_events(files["events"]), mapping=emotion_map(emg, study=study), file=files["events"], participant=participant)
    rec = read_emg(files, **who, muscles=emg["muscles"] or None, channel_muscles=emg["channel_muscles"].get(study),
                   declared_muscles=declared_muscles(emg))
    envelope_recording = recorded_signal(emg, study=study, files=files) == ENVELOPE
    table = universes(grid, emg, envelope_recording=envelope_recording)
    number = {tuple(label(v) for v in row[1:]): int(row[0]) for row in table[["universe", *KEYS]].itertuples(index=False)}
    emotion_levels = sorted(events["emotion"].unique())
    codes = events["emotion"].map({e: i for i, e in enumerate(emotion_levels)}).to_numpy()
    tmin, tmax, n = emg["tmin_s"], emg["tmax_s"], rec.data.shape[1]
    blocks, envs = [], {}
    for hp in _unique(table["highpass_hz"]):
        mine = table[table["highpass_hz"].map(label) == label(hp)]
        kinds = sorted({(e, float(s)) for e, s in zip(mine["envelope"], mine["smoothing_ms"])})
        if envelope_recording:
            envs = {(e, s): chain.smooth_envelope(rec.data, sfreq=rec.sfreq, smoothing_ms=s, snippet=(0, 0), onset_s=0.0)[0] for e, s in kinds}
            sd = rec.data.std(axis=1)
        else:
            fd = filters.design(sfreq=rec.sfreq, low_hz=hp, high_hz=emg["lowpass_hz"], order=emg["filter_order"], line_freq=rec.line_freq,
                                notch=emg["notch"], notch_q=emg["notch_q"])
            # the previous high-pass value's envelopes are cut into epochs already: their memory is reused
            envs, sd = chain.envelopes(rec.data, fd, sfreq=rec.sfreq, kinds=kinds, reuse=envs)
        flat = artefacts.flat(sd, flat_uv=emg["flat_uv"])
        for (kind, smoothing), env in envs.items():
            pad = smoothing / 2000.0 if envelope_recording else epochs.padding_s(highpass_hz=hp, smoothing_ms=smoothing)
            samples, inside = epochs.onset_samples(events["onset"].to_numpy(), sfreq=rec.sfreq, n_samples=n, tmin=tmin, tmax=tmax, pad_s=pad)
            if not inside.any():
                continue
            samples = samples[inside]
            clipped = artefacts.clipped_epochs(rec.data, samples, sfreq=rec.sfreq, tmin=tmin, tmax=tmax, run=emg["clip_run"])
            env_ep, times = epochs.cut(env, samples, sfreq=rec.sfreq, tmin=tmin, tmax=tmax)
            bins, starts = epochs.bin_means(env_ep, times, bin_s=emg["bin_s"], tmin=tmin, tmax=tmax)
            peak = env_ep.max(axis=-1)
            same = mine[(mine["envelope"] == kind) & (mine["smoothing_ms"].astype(float) == smoothing)]
            windows = _unique(same["baseline_s"])
            bases = np.stack([epochs.baseline_level(env_ep, times, tuple(w)) for w in windows])
            keys = {"envelope": kind, "highpass_hz": hp, "smoothing_ms": smoothing}
            for z in _unique(same["reject_robust_z"]):
                noisy = (flat[None, None, :] | clipped[None]
                         | np.stack([artefacts.outlying_level(b, z=z, min_ratio=emg["reject_min_ratio"]) for b in bases])
                         | artefacts.outlying_level(peak, z=z, min_ratio=emg["reject_min_ratio"])[None])
                for method in _unique(same["baseline_method"]):
                    corrected = epochs.apply_baseline(bins[None], bases, method)
                    clean = ~(noisy | (bases <= 0)) if method in epochs.DIVIDING else ~noisy
                    for window in _unique(same["response_s"]):
                        rounded = np.round(starts, 9)
                        inside_window = (rounded >= round(window[0], 9)) & (rounded < round(window[1], 9))
                        responses = epochs.window_response(corrected[..., inside_window], method)
                        for zscore in _unique(same["zscore"]):
                            values = cell_means(standardise(responses, corrected, clean, zscore), clean, codes[inside], len(emotion_levels))
                            ids = [number.get(tuple(label(v) for v in _values(keys, reject_robust_z=z, baseline_method=method, response_s=window,
                                                                                     zscore=zscore, baseline_s=w))) for w in windows]
                            blocks += [(u, values[i]) for i, u in enumerate(ids) if u is not None]
    return _long(blocks, study=study, participant=participant, arm=arm, emotions=emotion_levels, muscles=rec.muscles)


def _values(fixed: dict, **more) -> list:
    both = {**fixed, **more}
    return [both[k] for k in KEYS]


def _unique(column: pd.Series) -> list:
    """The distinct grid values of a column (lists are windows), in first-seen order."""
    seen = {}
    for value in column:
        seen.setdefault(label(value), value)
    return list(seen.values())


def _long(blocks: list[tuple[int, np.ndarray]], *, study: str, participant: str, arm: str, emotions: list[str], muscles: list[str]) -> pd.DataFrame:
    if not blocks:
        return MULTIVERSE_CELLS.empty()
    n_e, n_m = len(emotions), len(muscles)
    values = np.stack([v for _, v in blocks])
    frame = pd.DataFrame({
        "study": study, "universe": np.repeat([u for u, _ in blocks], n_e * n_m).astype(np.int64), "participant": participant, "arm": arm,
        "muscle": np.tile(np.array(muscles, dtype=object), len(blocks) * n_e),
        "emotion": np.tile(np.repeat(np.array(emotions, dtype=object), n_m), len(blocks)),
        "value": values.reshape(-1),
    })
    return frame[np.isfinite(frame["value"])].reset_index(drop=True)


@stage("multiverse_participant", level="participant", outputs={"cells": MULTIVERSE_CELLS})
def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, participant: str, arm: str, metadata: dict) -> None:
    """Write ``outputs`` cells (MULTIVERSE_CELLS) for one participant; ``inputs`` are its BIDS files by role and
    ``qc``, today's QC record. A participant today's preprocessing found unusable gets an empty table (the
    study job leaves it out); a recording that cannot carry a universe's setting (a high-pass edge above its
    band) is a DataError of this participant, so ``on_bad_data`` decides."""
    qc = read_json(inputs["qc"], QC_RECORD)
    cells = MULTIVERSE_CELLS.empty()
    if qc["usable"]:
        files = {k: v for k, v in inputs.items() if k != "qc"}
        cells = participant_cells(files, study=study, participant=participant, arm=arm, emg=cfg["emg"], grid=cfg["multiverse"]["grid"])
    log.info("%s/%s: %d universe x cell values", study, participant, len(cells))
    write_table(cells, outputs["cells"], MULTIVERSE_CELLS, metadata=metadata)
