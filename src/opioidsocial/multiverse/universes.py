"""Every universe's cell means of one participant, from the envelope bins of its filterings.

Everything after the envelope runs on (baseline windows, trials, muscles, bins)
arrays with the preprocessing's own functions (:mod:`opioidsocial.emg.epochs`,
:mod:`opioidsocial.emg.artefacts`), so that the universe of today's settings is, value
for value, today's analysis: the same artefact rules decide which trial x muscle cells
are clean in each universe (they depend on the envelope, the baseline window and
``reject_robust_z``), a trial's response is its response-window mean as
:func:`opioidsocial.emg.epochs.window_response` defines it, z-scored as
``emg.zscore`` defines (:mod:`opioidsocial.emg.trials`), and each cell value is the
mean of the participant's clean trials of one emotion and muscle.

A baseline level is the mean of the envelope's samples in the window: here the
sample-weighted mean of the bins the window spans, which is the same mean summed in
another order (so baseline windows lie on bin edges: :func:`opioidsocial.multiverse.grid.check_multiverse`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from opioidsocial.emg import artefacts, epochs
from opioidsocial.io.contracts import MULTIVERSE_CELLS
from opioidsocial.io.sidecars import ENVELOPE
from opioidsocial.multiverse.grid import KEYS, label, universes
from opioidsocial.multiverse.participant import participant_envelopes

#: emg.zscore -> the axes of a (windows, trials, muscles, bins) array its mean and SD run over.
Z_AXES = {"within_muscle": (1, 3), "within_participant": (1, 2, 3)}

#: Tolerance of bin starts against window edges, s (bin starts are rounded to 1e-9 s).
_EDGE = 1e-9


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


def baseline_levels(bins: np.ndarray, starts: np.ndarray, counts: np.ndarray, window) -> np.ndarray:
    """Each trial x muscle's envelope mean over ``window`` (on bin edges) from its bin means (trials, muscles, bins)."""
    inside = (starts >= window[0] - _EDGE) & (starts < window[1] - _EDGE)
    weights = counts[inside].astype(float)
    return bins[..., inside] @ weights / weights.sum()


def universe_cells(envelopes: pd.DataFrame, *, emg: dict, grid: dict) -> pd.DataFrame:
    """The MULTIVERSE_CELLS rows of one participant (its MULTIVERSE_ENVELOPES rows): every universe x emotion x muscle
    with a clean trial. Keys the grid does not list take their ``emg`` value."""
    if envelopes.empty:
        return MULTIVERSE_CELLS.empty()
    first = envelopes.iloc[0]
    table = universes(grid, emg, envelope_recording=first["recording"] == ENVELOPE)
    number = {tuple(label(v) for v in row[1:]): int(row[0]) for row in table[["universe", *KEYS]].itertuples(index=False)}
    emotion_levels = sorted(envelopes["emotion"].unique())
    blocks, muscles = [], None
    for (hp, kind, smoothing), rows in envelopes.groupby(["highpass_hz", "envelope", "smoothing_ms"], sort=True):
        same = table[(table["highpass_hz"].map(label) == label(hp)) & (table["envelope"] == kind)
                     & (table["smoothing_ms"].astype(float) == smoothing)]
        if same.empty:
            continue
        bins, starts, counts, peak, excluded, emotions, muscles = _arrays(rows)
        codes = np.searchsorted(emotion_levels, emotions)
        windows = _unique(same["baseline_s"])
        bases = np.stack([baseline_levels(bins, starts, counts, w) for w in windows])
        keys = {"envelope": kind, "highpass_hz": hp, "smoothing_ms": smoothing}
        rounded = np.round(starts, 9)
        for z in _unique(same["reject_robust_z"]):
            noisy = (excluded[None]
                     | np.stack([artefacts.outlying_level(b, z=z, min_ratio=emg["reject_min_ratio"]) for b in bases])
                     | artefacts.outlying_level(peak, z=z, min_ratio=emg["reject_min_ratio"])[None])
            for method in _unique(same["baseline_method"]):
                corrected = epochs.apply_baseline(bins[None], bases, method)
                clean = ~(noisy | (bases <= 0)) if method in epochs.DIVIDING else ~noisy
                for window in _unique(same["response_s"]):
                    inside_window = (rounded >= round(window[0], 9)) & (rounded < round(window[1], 9))
                    responses = epochs.window_response(corrected[..., inside_window], method)
                    for zscore in _unique(same["zscore"]):
                        values = cell_means(standardise(responses, corrected, clean, zscore), clean, codes, len(emotion_levels))
                        ids = [number.get(tuple(label(v) for v in _values(keys, reject_robust_z=z, baseline_method=method, response_s=window,
                                                                                 zscore=zscore, baseline_s=w))) for w in windows]
                        blocks += [(u, values[i]) for i, u in enumerate(ids) if u is not None]
    return _long(blocks, study=first["study"], participant=first["participant"], arm=first["arm"], emotions=emotion_levels, muscles=muscles)


def participant_cells(files: dict, *, study: str, participant: str, arm: str, emg: dict, grid: dict, dtype=np.float32) -> pd.DataFrame:
    """What the workflow computes for one participant, in one call: its envelopes at every high-pass value of
    the grid (the participant jobs), then every universe's cell means (the study job)."""
    highpass = grid.get("highpass_hz", [emg["highpass_hz"]])
    envelopes = [participant_envelopes(files, study=study, participant=participant, arm=arm, emg=emg, grid=grid, highpass_hz=hp,
                                       first_highpass=i == 0, dtype=dtype) for i, hp in enumerate(highpass)]
    return universe_cells(pd.concat([e for e in envelopes if not e.empty], ignore_index=True), emg=emg, grid=grid)


def _arrays(rows: pd.DataFrame):
    """(bins (trials, muscles, bins), bin starts, samples per bin, peak and excluded (trials, muscles), emotion per trial, muscles)."""
    rows = rows.sort_values(["trial", "muscle", "bin_start_s"], kind="stable")
    n_t, n_b = rows["trial"].nunique(), rows["bin_start_s"].nunique()
    muscles = sorted(rows["muscle"].unique())
    shape = (n_t, len(muscles), n_b)
    if len(rows) != np.prod(shape):
        raise ValueError(f"multiverse envelopes of {rows['participant'].iloc[0]}: {len(rows)} rows are not trials x muscles x bins {shape}")
    cube = lambda column: rows[column].to_numpy().reshape(shape)  # noqa: E731
    return (cube("value"), cube("bin_start_s")[0, 0], cube("samples")[0, 0], cube("peak")[..., 0], cube("excluded")[..., 0],
            cube("emotion")[:, 0, 0], muscles)


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
