"""EMG_BINS tables made directly from simulated trial responses.

The study stage (models, contrasts, effects, plots) reads a study's EMG_BINS table.
Tests and benchmarks of that stage need such tables for many participants quickly,
without writing BDF files and preprocessing them: here each simulated trial
response (:func:`opioidsocial.simulate.emg.simulate_trials`) is spread over the
simulator's response time course and binned, with white bin-level noise, so the
response-window mean of a trial's bins recovers its response up to that noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from opioidsocial.simulate.emg import response_shape


def bins_from_trials(trials: pd.DataFrame, *, study: str, seed: int, bin_s: float = 0.1, epoch_s: tuple[float, float] = (-1.0, 4.0),
                     stimulus_s: float = 4.0, sd_bin_uv: float = 0.3, artefact_rate: float = 0.0) -> pd.DataFrame:
    """One EMG_BINS row per trial x muscle x bin; ``artefact_rate`` flags random trial x muscle cells."""
    rng = np.random.default_rng(seed)
    starts = np.round(np.arange(epoch_s[0], epoch_s[1] - bin_s / 2, bin_s), 9)
    shape = response_shape(starts + bin_s / 2, stimulus_s=stimulus_s)
    n, k = len(trials), len(starts)
    amplitude = trials["response_uv"].to_numpy()[:, None] * shape[None, :] + rng.normal(0.0, sd_bin_uv, (n, k))
    flagged = rng.random(n) < artefact_rate
    out = trials.loc[np.repeat(np.arange(n), k), ["participant", "arm", "trial", "stimulus", "emotion", "muscle"]].reset_index(drop=True)
    out.insert(0, "study", study)
    out["trial"] = out["trial"].astype("int32")
    out["bin_start_s"] = np.tile(starts, n)
    out["amplitude_uv"] = amplitude.ravel()
    z = out.groupby(["participant", "muscle"])["amplitude_uv"].transform(lambda a: (a - a.mean()) / a.std())
    out["amplitude_z"] = z.to_numpy()
    out["artefact"] = np.repeat(flagged, k)
    out["artefact_reason"] = np.where(out["artefact"], "simulated", "")
    return out
