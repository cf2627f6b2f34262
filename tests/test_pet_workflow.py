"""The PET stage end to end: simulate a TAC study and a BPND-table study, run Snakemake."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from opioidsocial.io.tables import EFFECTS, PET_BP, read_table
from tests.conftest import REPO

pytestmark = pytest.mark.workflow

STUDIES = (
    "study\tmodality\tinput\tdesign\tdrug\tdirection\treference\tsample_group\tpath\n"
    "pettac\tpet\ttac\twithin\tsocial_rejection\t1\tbaseline\tlab\tdata/pettac\n"
    "petgiven\tpet\tbpnd\twithin\tsocial_rejection\t1\tbaseline\tlab\tdata/petgiven\n"
)
SMALL = {
    "participants": 4,
    "rois": {"ventral_striatum": {"bp_nd": 2.4}, "pag": {"bp_nd": 1.6, "lateral": False}},
    "activation": {"rejection": {"ventral_striatum": 0.06}},
    "traits": {"resiliency": {"condition": "rejection", "roi": "ventral_striatum", "r": 0.6, "mean": 50, "sd": 10}},
}


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir), *args]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=900)


def _config(work: Path, participants: int) -> None:
    config = {
        "studies": "config/studies.tsv",
        "simulate": {"seed": 1, "pet": {"pettac": {**SMALL, "participants": participants}, "petgiven": SMALL}},
        "pet": {"traits": ["resiliency"]},
    }
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture(scope="module")
def pet_run(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("petflow")
    (work / "config").mkdir()
    (work / "config" / "studies.tsv").write_text(STUDIES)
    _config(work, 4)
    sim = subprocess.run([sys.executable, "-m", "opioidsocial.cli", "simulate", "--config", "config/config.yaml"], cwd=work, capture_output=True, text=True)
    assert sim.returncode == 0, sim.stderr
    run = _snakemake(work, "--cores", "2")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    return work


def test_tac_study_runs_from_tacs_to_effects(pet_run):
    for p in ("01", "02", "03", "04"):
        table = read_table(pet_run / f"results/pettac/pet/{p}.parquet", PET_BP)
        assert set(table["participant"]) == {p} and set(table["model"]) == {"SRTM", "Logan"}
        assert (pet_run / f"results/pettac/qc/{p}.json").is_file()
        assert (pet_run / f"results/logs/pet_fit/pettac/{p}.log").read_text().strip()
    effects = read_table(pet_run / "results/pettac/model/effects.parquet", EFFECTS)
    assert set(effects["measure"]) == {"SMCC", "ZCOR"}
    for name in ("pet_paired.png", "pet_paired.svg", "pet_correlations.png", "pet_correlations.svg", "pet_paired.tsv"):
        assert (pet_run / "results/pettac/model" / name).stat().st_size > 0


def test_bpnd_study_enters_at_the_study_level(pet_run):
    assert not (pet_run / "results/petgiven/pet").exists()
    bp = read_table(pet_run / "results/petgiven/model/pet_bp.parquet", PET_BP)
    assert set(bp["model"]) == {"given"}
    assert len(read_table(pet_run / "results/petgiven/model/effects.parquet", EFFECTS)) > 0


def test_a_new_participant_reruns_only_its_fit_and_the_study(pet_run, tmp_path):
    dry = _snakemake(pet_run, "-n", "--cores", "1")
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr
    # A fifth participant arrives: the same study simulated with 5 participants has it.
    extra = tmp_path / "extra"
    shutil.copytree(pet_run / "config", extra / "config")
    _config(extra, 5)
    sim = subprocess.run([sys.executable, "-m", "opioidsocial.cli", "simulate", "--config", "config/config.yaml", "--study", "pettac"],
                         cwd=extra, capture_output=True, text=True)
    assert sim.returncode == 0, sim.stderr
    new_row = (extra / "data/pettac/participants.tsv").read_text().splitlines()[-1]
    assert new_row.startswith("sub-05")
    shutil.copytree(extra / "data/pettac/sub-05", pet_run / "data/pettac/sub-05")
    with open(pet_run / "data/pettac/participants.tsv", "a", encoding="utf-8") as fh:
        fh.write(new_row + "\n")
    dry = _snakemake(pet_run, "-n", "--cores", "1")
    assert dry.returncode == 0, dry.stderr[-3000:]
    text = dry.stdout + dry.stderr
    assert "wildcards: study=pettac, participant=05" in text, text
    for p in ("01", "02", "03", "04"):
        assert f"participant={p}" not in text, text
    assert "rule pet_study" in text and "wildcards: study=petgiven" not in text, text
