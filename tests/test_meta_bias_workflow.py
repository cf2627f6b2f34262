"""The meta stage with meta.methods [PM, REML] on metafor's data sets entered as a `summary` study.

dat.hine1989 (risk differences, no years) and dat.bcg (log risk ratios with years) are
one summary TSV of given yi/vi; the workflow's outputs must equal metafor's
(tests/fixtures/metafor/bias_reference.R), so the whole path from the summary input
to small_study.tsv, pooled.tsv and cumulative.tsv is checked, not only the Python API.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from opioidsocial.io.contracts import META_CUMULATIVE, META_POOLED, META_SMALL_STUDY
from opioidsocial.io.tables import read_tsv
from tests.conftest import snakemake
from tests.test_meta_bias import BCG, HINE, REF

pytestmark = pytest.mark.workflow

HINE_OUTCOME, BCG_OUTCOME = "hine mortality risk difference", "bcg tuberculosis log risk ratio"
STUDIES = ("study\tmodality\tinput\tdesign\tdrug\tdirection\treference\tsample_group\tpath\n"
           "metafor\tsummary\tsummary\tbetween\tlidocaine\t1\tcontrol\tmetafor\tdata/metafor/summary.tsv\n")


def _summary() -> pd.DataFrame:
    hine = pd.DataFrame({"study": [f"hine{s}" for s in HINE["study"]], "outcome": HINE_OUTCOME, "year": pd.NA,
                         "yi": HINE["yi"], "vi": HINE["vi"]})
    bcg = pd.DataFrame({"study": [f"bcg{t}" for t in BCG["trial"]], "outcome": BCG_OUTCOME, "year": BCG["year"],
                        "yi": BCG["yi"], "vi": BCG["vi"]})
    rows = pd.concat([hine, bcg], ignore_index=True)
    # Every trial is its own sample; GEN: effects given on their own scale.
    return rows.assign(sample_group=rows["study"], contrast="treatment - control", design="between", measure="GEN")


@pytest.fixture(scope="module")
def bias_run(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("bias")
    (work / "config").mkdir()
    (work / "config" / "studies.tsv").write_text(STUDIES)
    config = {"studies": "config/studies.tsv", "meta": {"methods": ["PM", "REML"], "tests": ["z"],
                                                         "multilevel": {"models": [{"name": "by_family", "scope": "family"}]}}}
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (work / "data" / "metafor").mkdir(parents=True)
    _summary().to_csv(work / "data" / "metafor" / "summary.tsv", sep="\t", index=False, float_format="%.17g")
    run = snakemake(work, "--cores", "2")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    return work / "results" / "meta"


def test_small_study_rows_match_metafor_with_pm_first(bias_run):
    small = read_tsv(bias_run / "small_study.tsv", META_SMALL_STUDY)
    for outcome, data in ((HINE_OUTCOME, "hine1989"), (BCG_OUTCOME, "bcg")):
        rows = small[(small["family"] == outcome) & (small["model"] == "opioid_aligned")]
        assert list(rows["analysis"]) == ["egger", "egger", "trimfill", "3PSM", "4PSM", "pet", "peese", "pet-peese", "permutation"]
        egger = rows[rows["analysis"] == "egger"].set_index("method")
        for method in ("PM", "REML"):
            ref = [REF[f"{data}/egger/{method}_z/{x}"] for x in ("stat", "p", "est")]
            assert tuple(egger.loc[method, ["statistic", "p", "estimate"]]) == pytest.approx(ref, rel=1e-4)
        by = rows.set_index("analysis")
        for name in ("pet", "peese"):
            assert by.loc[name, "estimate"] == pytest.approx(REF[f"{data}/petpeese/{name}/est"], rel=1e-6)
    hine = small[small["family"] == HINE_OUTCOME].set_index("analysis")
    assert hine.loc["permutation", "p"] == REF["hine1989/permutation_pm/p"] == 0.0625
    assert hine.loc["permutation", "statistic"] == pytest.approx(REF["hine1989/permutation_pm/stat"], rel=1e-6)
    assert hine.loc["permutation", "exact"] and hine.loc["permutation", "iterations"] == 64
    assert hine.loc["pet-peese", "estimate"] == hine.loc["peese", "estimate"]
    bcg = small[small["family"] == BCG_OUTCOME].set_index("analysis")
    assert not bcg.loc["permutation", "exact"] and bcg.loc["permutation", "iterations"] == 1000
    # No BCG trial is significantly harmful: the 3PSM has no estimate, only the reason.
    assert np.isnan(bcg.loc["3PSM", "estimate"]) and bcg.loc["3PSM", "k_per_interval"] == "0,13"
    assert "no study has a one-sided p-value in (0, 0.025]" in bcg.loc["3PSM", "warning"]


def test_pooled_has_profile_likelihood_ci_for_reml_only(bias_run):
    pooled = read_tsv(bias_run / "pooled.tsv", META_POOLED)
    bcg = pooled[(pooled["family"] == BCG_OUTCOME) & (pooled["model"] == "opioid_aligned")].set_index("method")
    assert bcg.loc["REML", "tau2"] == pytest.approx(REF["bcg/tau2_ci/REML/tau2"], rel=1e-6)
    assert (bcg.loc["REML", "tau2_pl_lb"], bcg.loc["REML", "tau2_pl_ub"]) == pytest.approx(
        (REF["bcg/tau2_ci/REML/pl_lb"], REF["bcg/tau2_ci/REML/pl_ub"]), rel=1e-4)
    assert np.isnan(bcg.loc["PM", ["tau2_pl_lb", "tau2_pl_ub"]].astype(float)).all()


def test_cumulative_by_year_matches_metafor_and_skips_undated_samples(bias_run):
    cum = read_tsv(bias_run / "cumulative.tsv", META_CUMULATIVE)
    assert set(cum["family"]) == {BCG_OUTCOME}  # hine1989 has no years
    rows = cum[cum["model"] == "opioid_aligned"]
    assert (rows["method"] == "PM").all() and list(rows["k"]) == list(range(1, 14))
    for name in ("estimate", "ci_lb", "ci_ub", "tau2"):
        np.testing.assert_allclose(rows[name], REF[f"bcg/cumul/PM/{name}"], rtol=1e-4, atol=1e-10, err_msg=name)
    figures = sorted(p.name for p in (bias_run / "cumulative").iterdir() if not p.name.startswith("."))
    assert figures == ["bcg_tuberculosis_log_risk_ratio.png", "bcg_tuberculosis_log_risk_ratio.svg"]
    assert (bias_run / "forest" / "hine_mortality_risk_difference.png").is_file()
