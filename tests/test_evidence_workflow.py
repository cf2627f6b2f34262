"""Evidence and Bayesian meta-analysis end to end: an EMG trial table, a PET BPND table and a summary study."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opioidsocial.io.contracts import EFFECTS, EVIDENCE, META_BAYES
from opioidsocial.io.tables import read_table
from opioidsocial.stats.evidence import LABELS
from tests.conftest import TINY_PET, simulated_workdir, snakemake

pytestmark = pytest.mark.workflow

STUDIES = (
    "study\tmodality\tinput\tdesign\tdrug\tdirection\treference\tsample_group\tpath\n"
    "emgtab\temg\ttrials\tbetween\tnaltrexone\t-1\tplacebo\ttab\tdata/emgtab/trials.csv\n"
    "petgiven\tpet\tbpnd\twithin\tsocial_rejection\t1\tbaseline\tlab\tdata/petgiven\n"
    "sumstudy\tsummary\tsummary\tbetween\tnaltrexone\t-1\tplacebo\tother\tdata/sumstudy/summary.tsv\n"
)
CONFIG = {
    "studies": "config/studies.tsv",
    "simulate": {"seed": 5, "pet": {"petgiven": TINY_PET},
                 "summary": {"sumstudy": {"effects": [{"outcome": "corrugator to happy faces", "report": "t", "n": 30, "effect": -0.3}]}}},
    "pet": {"traits": ["resiliency"]},
    "meta": {"methods": ["REML"], "tests": ["knha"], "multilevel": {"models": [{"name": "by_family", "scope": "family"}]}},
    "evidence": {"sesoi": 0.5},
}


def _trial_table(path: Path) -> None:
    """A between-subjects trial table: 5 participants per arm, naltrexone raising corrugator to happy faces."""
    rng = np.random.default_rng(2)
    rows = []
    for p in range(10):
        arm = ("placebo", "naltrexone")[p % 2]
        for emotion in ("happy", "angry"):
            for muscle in ("corrugator", "zygomaticus"):
                for stimulus in ("s1", "s2", "s3"):
                    shift = 1.5 if (arm, emotion, muscle) == ("naltrexone", "happy", "corrugator") else 0.0
                    rows.append({"participant": f"p{p:02d}", "arm": arm, "stimulus": f"{emotion}_{stimulus}", "emotion": emotion,
                                 "muscle": muscle, "response_uv": rng.normal(shift, 1.0)})
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    work = simulated_workdir(tmp_path_factory.mktemp("evidence"), STUDIES, CONFIG)
    _trial_table(work / "data" / "emgtab" / "trials.csv")
    done = snakemake(work, "--cores", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return work


def test_every_effect_has_its_evidence_row(run):
    for study in ("emgtab", "petgiven"):
        effects = read_table(run / f"results/{study}/model/effects.parquet", EFFECTS)
        evidence = pd.read_csv(run / f"results/{study}/model/evidence.tsv", sep="\t")
        assert list(evidence.columns) == list(EVIDENCE.columns)
        assert sorted(zip(evidence["outcome"], evidence["contrast"])) == sorted(zip(effects["outcome"], effects["contrast"]))
        assert evidence["label"].isin(LABELS).all() and (evidence["sesoi"].dropna() == 0.5).all()
    emg = pd.read_csv(run / "results/emgtab/model/evidence.tsv", sep="\t").set_index("outcome")
    assert set(emg["test"]) == {"two-sample t"} and (emg["n1"] == 5).all() and (emg["n2"] == 5).all()
    assert emg.loc["corrugator to happy faces", "bf10"] > emg.loc["zygomaticus to angry faces", "bf10"]
    pet = pd.read_csv(run / "results/petgiven/model/evidence.tsv", sep="\t")
    assert set(pet["test"]) == {"paired t", "correlation"}


def test_bayesian_meta_analysis_table_plots_and_report_pages(run):
    meta = run / "results" / "meta"
    bayes = pd.read_csv(meta / "bayes.tsv", sep="\t")
    pooled = pd.read_csv(meta / "pooled.tsv", sep="\t", keep_default_na=False, na_values=[""])
    # pooled.tsv also names the families too small to pool (k < min_k), with the reason in `note`.
    pooled = pooled[pooled["note"].isna()]
    assert list(bayes.columns) == list(META_BAYES.columns)
    primary = bayes[bayes["analysis"] == "primary"]
    assert sorted(zip(primary["family"], primary["model"], primary["k"])) == sorted(zip(pooled["family"], pooled["model"], pooled["k"]))
    assert len(bayes) == 3 * len(primary) and (primary["tau_prior_scale"] == 0.5).all()
    assert {p.name for p in (meta / "bayes_posterior").glob("*.png")} == {"corrugator_to_happy_faces.png"}
    for page in ("results/report/meta_bayes.html", "results/report/emgtab/evidence.html", "results/report/petgiven/evidence.html"):
        assert (run / page).stat().st_size > 0, page
