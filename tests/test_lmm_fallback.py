"""The fall-back ladder for singular fits, and the consistency of t and F tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from opioidsocial.stats.fallback import ZERO_SD, fit_with_fallback, fixed_part, simplify
from opioidsocial.stats.lmm import LmmError, fit
from opioidsocial.stats.satterthwaite import f_test


def design(*, sd_slope: float, sd_stimulus: float, seed: int = 7) -> pd.DataFrame:
    """Two arms x two emotions, crossed participants x stimuli, seeded."""
    rng = np.random.default_rng(seed)
    stimuli = [(f"{e}{k}", e) for e in ("angry", "happy") for k in range(6)]
    stim_dev = {s: rng.normal(0, sd_stimulus) for s, _ in stimuli}
    rows = []
    for p in range(24):
        arm = ("placebo", "naltrexone")[p % 2]
        u0, u1 = rng.normal(0, 0.6), rng.normal(0, sd_slope)
        for stimulus, emotion in stimuli:
            for _ in range(2):
                happy = emotion == "happy"
                y = 0.3 + 0.8 * happy + 0.5 * happy * (arm == "naltrexone") + u0 + u1 * happy + stim_dev[stimulus] + rng.normal(0, 0.8)
                rows.append({"participant": f"p{p:02d}", "arm": arm, "stimulus": stimulus, "emotion": emotion, "y": y})
    data = pd.DataFrame(rows)
    data["arm"] = pd.Categorical(data["arm"], categories=["placebo", "naltrexone"])
    return data


def test_steps_rewrite_the_random_part():
    data = design(sd_slope=0.3, sd_stimulus=0.3).assign(muscle=lambda d: np.where(d.index % 2, "zyg", "cor"))
    formula = "y ~ arm * emotion + (1 + emotion * muscle | participant) + (1 | stimulus)"
    assert fixed_part(formula) == "y ~ arm * emotion"
    text, frame = simplify(formula, data, step="no correlations")
    assert text == (
        "y ~ arm * emotion + (1 | participant) + (0 + emotion_angry | participant) + (0 + muscle_cor | participant)"
        " + (0 + emotion_angry.muscle_cor | participant) + (1 | stimulus)"
    )
    # Deviation coding: +1 for the level, -1 for the last level (happy, zyg).
    emotion = np.where(data["emotion"] == "angry", 1.0, -1.0)
    muscle = np.where(data["muscle"] == "cor", 1.0, -1.0)
    np.testing.assert_array_equal(frame["emotion_angry"], emotion)
    np.testing.assert_array_equal(frame["emotion_angry.muscle_cor"], emotion * muscle)
    assert "emotion_angry" not in data.columns  # the caller's data are left alone
    assert simplify(formula, data, step="no slopes")[0] == "y ~ arm * emotion + (1 | participant) + (1 | stimulus)"
    with pytest.raises(LmmError, match="unknown fall-back step"):
        simplify(formula, data, step="drop everything")


def test_a_good_fit_needs_no_fallback():
    data = design(sd_slope=0.5, sd_stimulus=0.4)
    model, attempts = fit_with_fallback("y ~ arm * emotion + (1 + emotion | participant) + (1 | stimulus)", data)
    assert [a["step"] for a in attempts] == ["as specified"]
    assert model.converged and not model.singular


def test_zero_variances_are_dropped_and_recorded():
    # No stimulus and no slope variance in truth: the maximal fit is singular.
    data = design(sd_slope=0.0, sd_stimulus=0.0, seed=4)
    formula = "y ~ arm * emotion + (1 + emotion | participant) + (1 | stimulus)"
    model, attempts = fit_with_fallback(formula, data)
    assert [a["step"] for a in attempts] == ["as specified", "no correlations", "no zero variances"]
    assert [a["singular"] for a in attempts] == [True, True, False]
    assert model.formula == attempts[-1]["formula"]
    assert model.converged and not model.singular
    uncorrelated = fit(attempts[1]["formula"], simplify(formula, data, step="no correlations")[1])
    zero = {uncorrelated.grouping[g] + "|" + t for (g, t), sd in uncorrelated.sd_re.items() if sd < ZERO_SD * uncorrelated.sigma}
    kept = {model.grouping[g] + "|" + t for g, t in model.sd_re.index}
    assert zero and not zero & kept
    assert kept | zero == {uncorrelated.grouping[g] + "|" + t for g, t in uncorrelated.sd_re.index}
    # Removing zero-variance terms leaves the likelihood and the fixed effects as they were.
    assert model.reml_criterion == pytest.approx(uncorrelated.reml_criterion, rel=1e-6)
    np.testing.assert_allclose(model.fixef, uncorrelated.fixef, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.se, uncorrelated.se, rtol=1e-3)


def test_single_row_f_test_is_the_squared_t_test():
    data = design(sd_slope=0.5, sd_stimulus=0.4)
    model = fit("y ~ arm * emotion + (1 + emotion | participant) + (1 | stimulus)", data)
    table = model.coef_table().set_index("term")
    row = (model.fixef.index == "armnaltrexone:emotionhappy").astype(float)
    test = f_test(row, beta=model.fixef.to_numpy(), grad=model.gradient)
    assert test["num_df"] == 1
    assert test["f"] == pytest.approx(table.loc["armnaltrexone:emotionhappy", "t"] ** 2, rel=1e-10)
    assert test["den_df"] == pytest.approx(table.loc["armnaltrexone:emotionhappy", "df"], rel=1e-10)
    assert test["p"] == pytest.approx(table.loc["armnaltrexone:emotionhappy", "p"], rel=1e-8)
