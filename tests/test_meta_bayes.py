"""meta.bayes against an independent quadrature in R (tests/fixtures/bayes/make_fixtures.R) and its table and plots.

The R reference evaluates p(y | tau) as a multivariate normal density by its Cholesky
factor and integrates with ``integrate``/``uniroot``; the module uses precision-weighted
closed forms and Gauss-Legendre panels. Measured agreement is about 1e-11 relative; the
tests ask for 1e-7 (1e-4 would be enough for reporting).
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opioidsocial.errors import ConfigError, DataError
from opioidsocial.io.contracts import META_BAYES, META_EFFECTS
from opioidsocial.io.tables import write_table
from opioidsocial.meta.bayes import ANALYSES, BayesMeta, bayes_table, run
from opioidsocial.meta.pooled import pooled_table
from tests.test_meta_harmonise import _studies as harmonised_effects

CASES = json.loads((Path(__file__).parent / "fixtures" / "bayes" / "meta_bayes.json").read_text())["cases"]
SUMMARIES = ("mu_mean", "mu_median", "mu_lb", "mu_ub", "tau_median", "tau_lb", "tau_ub", "pred_lb", "pred_ub", "log_bf10")
TOL = 1e-7


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['name']}-tau{c['tau_prior_scale']}")
def test_matches_independent_r_quadrature(case):
    fit = BayesMeta.fit(np.atleast_1d(case["yi"]), np.atleast_1d(case["vi"]), mu_prior_sd=case["mu_prior_sd"],
                        tau_prior_scale=case["tau_prior_scale"])
    row = fit.row(level=case["level"])
    assert row["k"] == case["k"]
    for name in SUMMARIES:
        assert row[name] == pytest.approx(case[name], rel=TOL, abs=1e-12), name
    assert row["bf10"] == pytest.approx(math.exp(case["log_bf10"]), rel=TOL)


def test_fixtures_cover_two_published_data_sets_and_k1():
    names = {c["name"] for c in CASES}
    assert {"dat.bcg log RR", "dat.raudenbush1985 SMD", "one study (k = 1)"} <= names
    assert {c["k"] for c in CASES if c["name"].startswith("dat.bcg")} == {13}
    assert {c["k"] for c in CASES if c["name"].startswith("dat.raudenbush")} == {19}


def test_tiny_tau_prior_gives_the_conjugate_fixed_effect_posterior():
    """With tau ~ Half-Normal(1e-6) the model is the equal-effects normal model with a N(0, s^2) prior."""
    y, v, s = np.array([0.2, 0.5, -0.1]), np.array([0.04, 0.09, 0.05]), 1.0
    fit = BayesMeta.fit(y, v, mu_prior_sd=s, tau_prior_scale=1e-6)
    precision = (1 / v).sum() + 1 / s**2
    mean = (y / v).sum() / precision
    assert fit.mu_mean == pytest.approx(mean, rel=1e-6)
    assert fit.mu_sd == pytest.approx(math.sqrt(1 / precision), rel=1e-6)
    assert fit.mu_quantile(0.975) == pytest.approx(mean + 1.959963984540054 / math.sqrt(precision), rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 30), seed=st.integers(0, 10_000), scale=st.floats(0.05, 3), spread=st.floats(0, 2))
def test_summaries_are_ordered_and_normalised(k, seed, scale, spread):
    rng = np.random.default_rng(seed)
    v = rng.uniform(1e-4, 1.0, k)
    y = rng.normal(0.3, np.sqrt(v + spread**2))
    row = BayesMeta.fit(y, v, mu_prior_sd=1.0, tau_prior_scale=scale).row(level=0.95)
    assert row["mu_lb"] < row["mu_median"] < row["mu_ub"]
    assert row["pred_lb"] <= row["mu_lb"] and row["mu_ub"] <= row["pred_ub"]
    assert 0 <= row["tau_lb"] < row["tau_median"] < row["tau_ub"]
    assert math.isfinite(row["log_bf10"]) and row["bf10"] > 0


@pytest.mark.parametrize("yi, vi, error", [
    ([0.1, 0.2], [0.05, 0.0], DataError),
    ([0.1], [-0.01], DataError),
    ([], [], DataError),
    ([0.1, np.nan], [0.05, 0.05], DataError),
    ([0.1, 0.2], [0.05], DataError),
])
def test_unusable_effects_raise_a_clear_error(yi, vi, error):
    with pytest.raises(error) as err:
        BayesMeta.fit(yi, vi, mu_prior_sd=1.0, tau_prior_scale=0.5)
    assert err.value.fix


@pytest.mark.parametrize("mu_sd, tau_scale", [(0.0, 0.5), (1.0, 0.0), (-1.0, 0.5)])
def test_non_positive_priors_are_a_config_error(mu_sd, tau_scale):
    with pytest.raises(ConfigError, match="meta.bayes"):
        BayesMeta.fit([0.1, 0.2], [0.05, 0.05], mu_prior_sd=mu_sd, tau_prior_scale=tau_scale)


def test_table_has_the_frequentist_samples_and_sensitivity_rows():
    effects = harmonised_effects()
    table, fits = bayes_table(effects, mu_prior_sd=1.0, tau_prior_scale=0.5, rho=0.5, min_k=2, level=0.95)
    pooled = pooled_table(effects, methods=["REML"], tests=["z"], rho=0.5, min_k=2, level=0.95)
    assert list(table.columns) == list(META_BAYES.columns)
    # Same families, models and number of independent samples as pooled.tsv's pooled rows (overlap
    # combined first); pooled.tsv also names the families too small to pool, with the reason.
    primary = table[table["analysis"] == "primary"]
    fitted = pooled[pooled["note"].fillna("") == ""]
    assert primary[["family", "model", "k"]].reset_index(drop=True).equals(fitted[["family", "model", "k"]].reset_index(drop=True))
    assert set(fits) == set(zip(primary["family"], primary["model"]))
    for _, rows in table.groupby(["family", "model"], sort=False):
        assert list(rows["analysis"]) == [name for name, _ in ANALYSES]
        assert list(rows["tau_prior_scale"]) == pytest.approx([0.5, 0.25, 1.0])


def test_run_bayes_writes_table_and_one_figure_per_family_with_stable_bytes(tmp_path):
    effects = tmp_path / "effects.parquet"
    write_table(harmonised_effects(), effects, META_EFFECTS)
    cfg = {"meta": {"bayes": {"mu_prior_sd": 1.0, "tau_prior_scale": 0.5}, "overlap_rho": 0.5, "min_k": 2, "level": 0.95, "plot_dpi": 120}}
    outputs = []
    for name in ("a", "b"):
        run(inputs={"effects": str(effects)}, outputs={"bayes": str(tmp_path / name / "bayes.tsv"), "posterior": str(tmp_path / name / "posterior")}, cfg=cfg)
        outputs.append({p.relative_to(tmp_path / name): p.read_bytes() for p in sorted((tmp_path / name).rglob("*")) if p.is_file()})
    assert outputs[0] == outputs[1]
    # The PET family has one sample group (hsu2013 + hsu2015), below min_k, so it has no posterior.
    assert {name.name for name in outputs[0] if name.suffix == ".png"} == {"corrugator_to_happy_faces.png", "zygomaticus_to_happy_faces.png"}
