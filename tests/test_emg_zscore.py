"""emg.zscore: trial responses standardised within participant x muscle or within participant."""

import numpy as np
import pandas as pd
import pytest

from opioidsocial.emg.trials import response_unit, responses_from_bins

WINDOW = (0.5, 1.5)


def _bins(seed=3):
    """Two participants x two muscles x six trials x 20 bins of 0.1 s from -0.5 s, a few trials rejected."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in ("01", "02"):
        for trial in range(1, 7):
            for m, scale in (("corrugator", 1.0), ("zygomaticus", 4.0)):
                artefact = bool(rng.random() < 0.2)
                for b in range(20):
                    rows.append({"study": "s", "participant": p, "arm": "placebo", "trial": trial, "stimulus": f"f{trial}", "emotion": "happy",
                                 "muscle": m, "bin_start_s": round(-0.5 + 0.1 * b, 9), "amplitude_uv": scale * rng.normal(2, 1),
                                 "artefact": artefact})
    bins = pd.DataFrame(rows)
    clean = bins[~bins["artefact"]]
    stats = clean.groupby(["participant", "muscle"])["amplitude_uv"].agg(["mean", "std"])
    joined = bins.join(stats, on=["participant", "muscle"])
    bins["amplitude_z"] = (bins["amplitude_uv"] - joined["mean"]) / joined["std"]
    return bins


def test_within_muscle_is_the_window_mean_of_amplitude_z():
    bins = _bins()
    z = responses_from_bins(bins, window=WINDOW, zscore="within_muscle")
    inside = bins[(bins["bin_start_s"] >= 0.5) & (bins["bin_start_s"] < 1.5) & ~bins["artefact"]]
    expected = inside.groupby(["participant", "trial", "muscle"])["amplitude_z"].mean().reset_index()
    merged = z.merge(expected, on=["participant", "trial", "muscle"])
    assert len(merged) == len(z) == len(expected)
    np.testing.assert_allclose(merged["response_uv"], merged["amplitude_z"], rtol=1e-12, atol=1e-12)


def test_within_participant_standardises_over_all_muscles():
    bins = _bins()
    raw = responses_from_bins(bins, window=WINDOW)
    z = responses_from_bins(bins, window=WINDOW, zscore="within_participant")
    for p, group in bins[~bins["artefact"]].groupby("participant"):
        values = group["amplitude_uv"].to_numpy()
        mine = raw["participant"] == p
        np.testing.assert_allclose(z.loc[mine, "response_uv"], (raw.loc[mine, "response_uv"] - values.mean()) / values.std(ddof=1), rtol=1e-12)


@pytest.mark.parametrize("method,zscore,unit", [("subtract", "none", "microvolt"), ("log_ratio", "none", "log_ratio"),
                                                ("ratio", "within_muscle", "z (ratio, within muscle)"),
                                                ("subtract", "within_participant", "z (microvolt, within participant)")])
def test_response_unit(method, zscore, unit):
    assert response_unit(method, zscore) == unit
