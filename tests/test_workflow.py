"""The tiny workflow end to end: simulate, run Snakemake, check outputs and reruns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from opioidsocial.io.contracts import EMG_BINS, EXCLUSIONS
from opioidsocial.io.tables import read_table, read_tsv
from opioidsocial.paths import layout
from tests.conftest import REPO, SNAKEFILE, WORKFLOW_TINY_EMG, finished_run, simulated_workdir, snakemake

pytestmark = pytest.mark.workflow

STUDIES = (
    "study\tmodality\tinput\tdesign\tdrug\tdirection\treference\tsample_group\tpath\ttask\n"
    "tinyemg\temg\tbids\tbetween\tnaltrexone\t-1\tplacebo\ttiny\tdata/tinyemg\tfaces\n"
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    config = {"studies": "config/studies.tsv", "on_bad_data": "exclude", "simulate": {"seed": 1, "emg": {"tinyemg": WORKFLOW_TINY_EMG}}}
    return finished_run(tmp_path_factory.mktemp("workflow"), STUDIES, config)


def test_one_parquet_and_qc_per_participant(tiny_run):
    for p in ("001", "002", "003", "004"):
        bins = read_table(tiny_run / f"results/tinyemg/emg/{p}.parquet", EMG_BINS)
        assert set(bins["participant"]) <= {p}
        assert (tiny_run / f"results/tinyemg/qc/emg/{p}.json").is_file()
        assert (tiny_run / f"results/logs/emg_preprocess/tinyemg/{p}.log").read_text().strip()
    table = read_table(tiny_run / layout("results").emg_table.format(study="tinyemg"), EMG_BINS)
    exclusions = read_tsv(tiny_run / "results/tinyemg/exclusions.tsv", EXCLUSIONS)
    assert table["participant"].nunique() + (exclusions["level"] == "participant").sum() == 4


def test_second_run_has_nothing_to_do(tiny_run):
    dry = snakemake(tiny_run, "-n", "--cores", "1")
    assert dry.returncode == 0
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_lint_is_clean():
    lint = subprocess.run([sys.executable, "-m", "snakemake", "--lint", "-s", str(SNAKEFILE)], cwd=REPO, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def _planned(args: list[str], cwd: Path) -> dict[str, int]:
    """Jobs per rule of a dry run (the default target)."""
    run = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", *args], cwd=cwd, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    rows = [line.split() for line in run.stdout.split("Job stats:")[1].splitlines()[3:]]
    return {row[0]: int(row[1]) for row in rows if len(row) == 2 and row[0] != "total"}


def test_the_root_snakefile_plans_what_the_workflow_plans(tmp_path):
    """`snakemake` in a checkout (the root Snakefile, with the default profile) and from
    workflow/ plan the same jobs; only the name of the target rule differs."""
    work = simulated_workdir(tmp_path, STUDIES, {"studies": "config/studies.tsv", "simulate": {"seed": 1, "emg": {"tinyemg": WORKFLOW_TINY_EMG}}})
    from_root = _planned(["-s", str(REPO / "Snakefile"), "--directory", str(work)], REPO)
    from_workflow = _planned(["--directory", str(work)], REPO / "workflow")
    assert from_root.pop("default") == from_workflow.pop("all") == 1
    assert from_root == from_workflow and from_root["emg_preprocess"] == 4
