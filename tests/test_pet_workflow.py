"""The PET stage end to end: simulate a TAC study and a BPND-table study, run Snakemake."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from opioidsocial.io.contracts import EFFECTS, PET_BP
from opioidsocial.io.tables import read_table
from tests.conftest import TINY_PET, finished_run, simulate, snakemake

pytestmark = pytest.mark.workflow

STUDIES = (
    "study\tmodality\tinput\tdesign\tdrug\tdirection\treference\tsample_group\tpath\treference_group\n"
    "pettac\tpet\ttac\twithin\tsocial_rejection\t1\tbaseline\tlab\tdata/pettac\t\n"
    "petgiven\tpet\tbpnd\twithin\tsocial_rejection\t1\tbaseline\tlab\tdata/petgiven\tcontrol\n"
)
# The BPND-table study is a patient-control study (Hsu et al. 2015 design, tiny).
GROUPS = {"control": {"participants": 3}, "mdd": {"participants": 3, "activation_scale": {"rejection": 0.3}}}
# pet.model is MRTM2 and every other model runs as a check, so all six go through the workflow.
MODELS = ["MRTM2", "SRTM", "SRTM2", "MRTM", "Logan", "ratio"]


def _config(participants: int) -> dict:
    return {
        "studies": "config/studies.tsv",
        "simulate": {"seed": 1, "pet": {"pettac": {**TINY_PET, "participants": participants}, "petgiven": {**TINY_PET, "groups": GROUPS}}},
        "pet": {"traits": ["resiliency"], "model": MODELS[0], "check_models": MODELS[1:]},
    }


@pytest.fixture(scope="module")
def pet_run(tmp_path_factory) -> Path:
    return finished_run(tmp_path_factory.mktemp("petflow"), STUDIES, _config(4))


def test_tac_study_runs_from_tacs_to_effects(pet_run):
    for p in ("01", "02", "03", "04"):
        table = read_table(pet_run / f"results/pettac/pet/{p}.parquet", PET_BP)
        assert set(table["participant"]) == {p} and set(table["model"]) == set(MODELS)
        assert (pet_run / f"results/pettac/qc/pet/{p}.json").is_file()
        assert (pet_run / f"results/logs/pet_fit/pettac/{p}.log").read_text().strip()
    effects = read_table(pet_run / "results/pettac/model/effects.parquet", EFFECTS)
    assert set(effects["measure"]) == {"SMCC", "ZCOR"}
    for name in ("pet_paired.png", "pet_paired.svg", "pet_correlations.png", "pet_correlations.svg", "pet_paired.tsv"):
        assert (pet_run / "results/pettac/model" / name).stat().st_size > 0
    assert set(pd.read_csv(pet_run / "results/pettac/model/pet_paired.tsv", sep="\t")["model"]) == set(MODELS)
    assert (pet_run / "results/pettac/qc/pet/01.png").stat().st_size > 0
    assert (pet_run / "results/report/pettac/pet_groups_table.html").is_file()


def test_patient_control_study_reports_the_group_difference_per_roi(pet_run):
    groups = pd.read_csv(pet_run / "results/petgiven/model/pet_groups.tsv", sep="\t")
    assert set(groups["group"]) == {"mdd"} and set(groups["roi"]) == {"ventral_striatum", "pag"}
    assert groups["g"].notna().all()
    effects = read_table(pet_run / "results/petgiven/model/effects.parquet", EFFECTS)
    smd = effects[effects["measure"] == "SMD"]
    assert len(smd) == 2 * 3 and (smd["direction"] == 0).all() and smd["n1"].eq(3).all() and smd["n2"].eq(3).all()
    assert (pet_run / "results/report/petgiven/pet_groups_table.html").is_file()
    # Each group difference has its Bayes factor, from the same two-sample t test on the change scores.
    evidence = pd.read_csv(pet_run / "results/petgiven/model/evidence.tsv", sep="\t").set_index(["outcome", "contrast"])
    for r in groups.itertuples():
        label = next(c for c in smd["contrast"] if c.startswith(r.contrast + ",") and c.endswith(f"{r.group} - {r.reference_group}"))
        outcome = smd.loc[smd["contrast"] == label, "outcome"]
        row = evidence.loc[(next(o for o in outcome if f" {r.roi} " in f" {o} "), label)]
        assert row["t"] == pytest.approx(r.t, rel=1e-9) and row["n1"] == r.n_group and row["n2"] == r.n_reference


def test_bpnd_study_enters_at_the_study_level(pet_run):
    assert not (pet_run / "results/petgiven/pet").exists()
    bp = read_table(pet_run / "results/petgiven/model/pet_bp.parquet", PET_BP)
    assert set(bp["model"]) == {"given"}
    assert len(read_table(pet_run / "results/petgiven/model/effects.parquet", EFFECTS)) > 0


def test_a_new_participant_reruns_only_its_fit_and_the_study(pet_run, tmp_path):
    dry = snakemake(pet_run, "-n", "--cores", "1")
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr
    # A fifth participant arrives: the same study simulated with 5 participants has it.
    extra = tmp_path / "extra"
    (extra / "config").mkdir(parents=True)
    (extra / "config" / "studies.tsv").write_text(STUDIES)
    (extra / "config" / "config.yaml").write_text(yaml.safe_dump(_config(5), sort_keys=False))
    simulate(extra, "--study", "pettac")
    new_row = (extra / "data/pettac/participants.tsv").read_text().splitlines()[-1]
    assert new_row.startswith("sub-05")
    shutil.copytree(extra / "data/pettac/sub-05", pet_run / "data/pettac/sub-05")
    with open(pet_run / "data/pettac/participants.tsv", "a", encoding="utf-8") as fh:
        fh.write(new_row + "\n")
    dry = snakemake(pet_run, "-n", "--cores", "1")
    assert dry.returncode == 0, dry.stderr[-3000:]
    text = dry.stdout + dry.stderr
    assert "wildcards: study=pettac, participant=05" in text, text
    for p in ("01", "02", "03", "04"):
        assert f"participant={p}" not in text, text
    assert "rule pet_study" in text and "wildcards: study=petgiven" not in text, text
