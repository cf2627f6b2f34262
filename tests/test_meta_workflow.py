"""The meta stage end to end on summary studies alone: simulate, run, rerun, identical bytes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from opioidsocial.io.contracts import META_EFFECTS
from opioidsocial.io.tables import read_table
from opioidsocial.paths import log_path
from tests.conftest import finished_run, snakemake

pytestmark = pytest.mark.workflow

STUDIES = "study\tmodality\tinput\tdesign\tdrug\tdirection\treference\tsample_group\tpath\n" + "".join(
    f"{s}\tsummary\tsummary\tbetween\t{drug}\t{d}\tplacebo\t{g}\tdata/{s}/summary.tsv\n"
    for s, drug, d, g in [("nal_a", "naltrexone", -1, "a"), ("nal_b", "naltrexone", -1, "b"), ("nal_b2", "naltrexone", -1, "b"),
                          ("mor_c", "morphine", 1, "c"), ("mor_d", "morphine", 1, "d")]
)
EFFECT = [{"outcome": "zygomaticus to happy faces", "report": "means", "n": 30, "effect": -0.3},
          {"outcome": "corrugator to happy faces", "report": "t", "n": 30, "effect": 0.2}]
META_OUT = ["effects.parquet", "pooled.tsv", "meta_regression.tsv", "multilevel.tsv", "sensitivity_leave1out.tsv",
            "sensitivity_influence.tsv", "small_study.tsv", "cumulative.tsv", "funnel.png", "funnel.svg"]


@pytest.fixture(scope="module")
def meta_run(tmp_path_factory) -> Path:
    sim = {s: {"effects": EFFECT} for s in ("nal_a", "nal_b", "nal_b2", "mor_c", "mor_d")}
    config = {"studies": "config/studies.tsv", "simulate": {"seed": 3, "summary": sim},
              "meta": {"methods": ["REML", "DL"], "multilevel": {"models": [{"name": "by_family", "scope": "family"}]}}}
    return finished_run(tmp_path_factory.mktemp("meta"), STUDIES, config)


def test_outputs_from_summary_studies_alone(meta_run):
    meta = meta_run / "results" / "meta"
    for name in META_OUT:
        assert (meta / name).is_file(), name
    effects = read_table(meta / "effects.parquet", META_EFFECTS)
    assert len(effects) == 10 and set(effects["source"]) == {"summary"}
    pooled = pd.read_csv(meta / "pooled.tsv", sep="\t")
    zyg = pooled[(pooled["family"] == "zygomaticus to happy faces") & (pooled["model"] == "opioid_aligned")]
    assert set(zyg["k"]) == {4}  # nal_b and nal_b2 share sample group b
    assert len(zyg) == 4 and set(zyg["method"]) == {"REML", "DL"} and set(zyg["test"]) == {"knha", "z"}
    assert set(pooled["model"]) == {"opioid_aligned", "agonist", "antagonist"}
    assert sorted(p.name for p in (meta / "forest").iterdir() if not p.name.startswith(".")) == [
        "corrugator_to_happy_faces.png", "corrugator_to_happy_faces.svg", "zygomaticus_to_happy_faces.png", "zygomaticus_to_happy_faces.svg"]
    small = pd.read_csv(meta / "small_study.tsv", sep="\t")
    # Every estimator of meta.methods has its Egger test; all but the permutation test warn at k < 10.
    assert sorted(small.loc[small["analysis"] == "egger", "method"].unique()) == ["DL", "REML"]
    assert small.loc[small["analysis"] != "permutation", "warning"].str.contains("k = 4 < 10").all()
    assert (small.loc[small["analysis"] == "permutation", "exact"]).all()
    multilevel = pd.read_csv(meta / "multilevel.tsv", sep="\t")
    assert (multilevel["n_sample_groups"] == 4).all() and (multilevel["k"] == 5).all()


def test_rerun_has_nothing_to_do_and_forced_rerun_writes_identical_bytes(meta_run):
    dry = snakemake(meta_run, "--cores", "2", "-n")
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr
    meta = meta_run / "results" / "meta"
    before = {p: p.read_bytes() for p in sorted(meta.rglob("*")) if p.is_file()}
    again = snakemake(meta_run, "--cores", "2", "--forcerun", "meta_effects")
    assert again.returncode == 0, again.stderr[-3000:]
    after = {p: p.read_bytes() for p in sorted(meta.rglob("*")) if p.is_file()}
    assert before.keys() == after.keys()
    assert [p.name for p in before if before[p] != after[p]] == []


def test_bad_summary_row_fails_with_a_clear_message(meta_run, tmp_path):
    bad = meta_run / "data" / "nal_a" / "summary.tsv"
    text = bad.read_text()
    try:
        lines = text.splitlines()
        cells = lines[1].split("\t")
        cells[lines[0].split("\t").index("sd1")] = "-1"
        bad.write_text("\n".join([lines[0], "\t".join(cells), *lines[2:]]) + "\n")
        run = snakemake(meta_run, "--cores", "2")
        assert run.returncode != 0
        log = Path(log_path(meta_run / "results", "meta_effects")).read_text()
        assert "sd1i is negative" in log and "nal_a" in log
        assert not list((meta_run / "results" / "meta").glob(".effects.parquet.*"))
    finally:
        bad.write_text(text)
