"""A BIOPAC-style study end to end: acquisition files (integrated EMG, TTL channels) -> import -> workflow."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from opioidsocial.io.importer import import_study
from opioidsocial.simulate.emg import simulate_acquisition
from tests.conftest import WORKFLOW_TINY_EMG, snakemake

pytestmark = pytest.mark.workflow

STUDIES = (
    "study\tmodality\tinput\tdesign\tdrug\tdirection\treference\tsample_group\tpath\ttask\n"
    "biopac\temg\tbids\tbetween\tnaltrexone\t-1\tplacebo\tlab\tdata/biopac\tfaces\n"
)
# integrated EMG at 100 Hz and a drug effect large enough for 4 participants per arm
DESIGN = {**WORKFLOW_TINY_EMG, "signal": "envelope", "sfreq": 100, "arms": {"placebo": 4, "naltrexone": 4},
          "arm_effects": {"naltrexone": {"corrugator": {"happy": 3.0}}}}


@pytest.fixture(scope="module")
def biopac_run(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("biopac_workflow")
    map_path, recordings = simulate_acquisition(study="biopac", params=DESIGN, seed=2, out=work / "acquisition")
    import_study(map_path=map_path, recordings_path=recordings, out=work / "data" / "biopac", study="biopac")
    (work / "config").mkdir()
    (work / "config" / "studies.tsv").write_text(STUDIES)
    config = {"studies": "config/studies.tsv", "on_bad_data": "exclude", "meta": {"methods": ["DL"]}}
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    run = snakemake(work, "--cores", "2", "results/biopac/model/fit.json")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    return work


def test_the_drug_effect_is_recovered_from_acquisition_files(biopac_run):
    truth = json.loads((biopac_run / "acquisition" / "truth.json").read_text())
    effect = next(c["effect_uv"] for c in truth["contrasts"] if c["muscle"] == "corrugator" and c["emotion"] == "happy")
    contrasts = pd.read_csv(biopac_run / "results/biopac/model/contrasts.tsv", sep="\t")
    row = contrasts[(contrasts["muscle"] == "corrugator") & (contrasts["emotion"] == "happy")].iloc[0]
    assert row["ci_low"] <= effect <= row["ci_high"] and row["ci_low"] > 0


def test_the_model_has_no_stimulus_effect_and_the_qc_says_envelope(biopac_run):
    fit = json.loads((biopac_run / "results/biopac/model/fit.json").read_text())
    assert "(1 | stimulus) dropped" in fit["stimulus_effect"] and "stimulus" not in fit["models"][0]["formula_used"]
    assert fit["response_unit"] == "microvolt"
    qc = json.loads(next((biopac_run / "results/biopac/qc/emg").glob("*.json")).read_text())
    assert qc["filter"] == "envelope: no filtering"


def test_log_ratio_baseline_reruns_and_is_recorded_in_fit_json(biopac_run):
    config = yaml.safe_load((biopac_run / "config" / "config.yaml").read_text())
    (biopac_run / "config" / "config.yaml").write_text(yaml.safe_dump({**config, "emg": {"baseline_method": "log_ratio"}}))
    run = snakemake(biopac_run, "--cores", "2", "results/biopac/model/fit.json")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    fit = json.loads((biopac_run / "results/biopac/model/fit.json").read_text())
    assert fit["response_unit"] == "log_ratio"
    contrasts = pd.read_csv(biopac_run / "results/biopac/model/contrasts.tsv", sep="\t")
    row = contrasts[(contrasts["muscle"] == "corrugator") & (contrasts["emotion"] == "happy")].iloc[0]
    assert row["ci_low"] > 0  # the drug raises the response over baseline: a positive log ratio difference
