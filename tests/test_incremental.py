"""Incremental reruns: what Snakemake plans after one change to a finished tiny run.

One real local run of a tiny config (one EMG study, one PET study, the meta-analysis)
records Snakemake's metadata (parameters, code, inputs); each test copies it, makes
one change and reads the job list of a dry run. A change must rerun exactly the jobs
that depend on it: a new participant only that participant's jobs and what is
downstream of its study; an EMG preprocessing parameter the EMG jobs and what depends
on them, never PET; a meta-analysis option only the meta stage; thread counts,
resources and log paths nothing at all.

The "downstream" sets are asked of Snakemake itself (`--forcerun <job's output>` on
the unchanged run), and the tests add what must never be in them (other
participants, other studies, PET), so they hold as stages gain rules.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from opioidsocial.config import load_schema, validate_section
from opioidsocial.paths import layout
from tests.conftest import REPO, SNAKEFILE, WORKFLOW_TINY_EMG, finished_run, snakemake_command
from tests.test_workflow import STUDIES

pytestmark = pytest.mark.workflow

TINY_PET_ROW = "tinypet\tpet\ttac\twithin\tsocial_rejection\t1\tbaseline\ttinypet\tdata/tinypet\t\n"
TINY_CONFIG = {
    "studies": "config/studies.tsv",
    "on_bad_data": "exclude",
    "simulate": {"seed": 1, "emg": {"tinyemg": WORKFLOW_TINY_EMG}, "pet": {"tinypet": {"participants": 3}}},
    # four universes; every grid key listed, so that the rerun-scope test changes each
    "multiverse": {"studies": ["tinyemg"], "permutations": 20, "grid": {
        "envelope": ["rectify"], "baseline_method": ["subtract"], "zscore": ["none", "within_muscle"], "baseline_s": [[-1.0, 0.0]],
        "response_s": [[0.5, 3.5]], "highpass_hz": [20.0, 28.0], "smoothing_ms": [100.0], "reject_robust_z": [3.5]}},
}

# `rule x:` / `localrule x:` headers of a dry run, each followed by indented fields.
_JOB = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):\n((?:[ \t]+\S.*\n?)*)", re.MULTILINE)
_WILDCARDS = re.compile(r"^\s+wildcards: (.*)$", re.MULTILINE)


@pytest.fixture(scope="session")
def tiny_local_run(tmp_path_factory) -> Path:
    """The tiny config simulated and run to the end locally (shared with test_slurm)."""
    return finished_run(tmp_path_factory.mktemp("incremental") / "base", STUDIES + TINY_PET_ROW, TINY_CONFIG)


def planned_jobs(work: Path, *args: str, snakefile: Path = SNAKEFILE) -> set[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run plans, without the target rule `all`."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "--directory", str(work), "--dry-run", "--nocolor", *args]
    run = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    text = run.stdout + run.stderr
    jobs = set()
    for match in _JOB.finditer(text):
        wildcards = _WILDCARDS.search(match.group(2))
        jobs.add((match.group(1), wildcards.group(1) if wildcards else ""))
    if not jobs:
        assert "Nothing to be done" in text, text[-3000:]
    jobs.discard(("all", ""))
    return jobs


def downstream_of(base: Path, output: str) -> set[tuple[str, str]]:
    """The job that writes `output` and every job that depends on it, on the unchanged run."""
    return planned_jobs(base, "--forcerun", output)


def provenance_jobs(base: Path) -> set[tuple[str, str]]:
    """The report's record of the config: it changes with any config value, by design."""
    return downstream_of(base, "report_provenance")


@pytest.fixture
def work(tiny_local_run, tmp_path) -> Path:
    """A copy of the finished run (times and Snakemake metadata kept) to change."""
    copy = tmp_path / "copy"
    shutil.copytree(tiny_local_run, copy, symlinks=True)
    return copy


def _set_config(work: Path, section: str, key: str, value) -> None:
    path = work / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config.setdefault(section, {})[key] = value
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def _participant(wildcards: str) -> str | None:
    found = re.search(r"participant=(\w+)", wildcards)
    return found.group(1) if found else None


def test_finished_run_has_nothing_to_do(tiny_local_run):
    assert planned_jobs(tiny_local_run) == set()


def test_new_participant_reruns_only_its_jobs_and_its_study_downstream(tiny_local_run, work):
    study = work / "data" / "tinyemg"
    with open(study / "participants.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    # A fifth participant: a copy of sub-004's recording under the new label.
    for source in (study / "sub-004").rglob("*"):
        if source.is_file():
            target = study / "sub-005" / source.relative_to(study / "sub-004").parent / source.name.replace("sub-004", "sub-005")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    with open(study / "participants.tsv", "a", newline="") as handle:
        csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n").writerow({**rows[-1], "participant_id": "sub-005"})

    planned = planned_jobs(work)

    # Every per-participant job sub-004 has, now for sub-005; no other participant's.
    every_job = planned_jobs(tiny_local_run, "--forceall")
    new_participant = {(rule, w.replace("participant=004", "participant=005")) for rule, w in every_job if _participant(w) == "004"}
    assert ("emg_preprocess", "study=tinyemg, participant=005") in new_participant
    assert {job for job in planned if _participant(job[1])} == new_participant
    # Above the participants: what depends on the study's table or its multiverse, and nothing else.
    paths = layout("results")
    above = downstream_of(tiny_local_run, paths.emg_table.format(study="tinyemg")) | downstream_of(
        tiny_local_run, paths.multiverse_specifications.format(study="tinyemg"))
    assert {job for job in planned if not _participant(job[1])} == above
    assert not any(rule.startswith("pet_") or "study=tinypet" in w for rule, w in planned)


def test_emg_parameter_reruns_emg_and_downstream_not_pet(tiny_local_run, work):
    _set_config(work, "emg", "smoothing_ms", 80.0)

    planned = planned_jobs(work)

    assert planned == downstream_of(tiny_local_run, "emg_preprocess") | provenance_jobs(tiny_local_run)
    assert {w for rule, w in planned if rule == "emg_preprocess"} == {f"study=tinyemg, participant={p}" for p in ("001", "002", "003", "004")}
    assert not any(rule.startswith("pet_") for rule, _ in planned)


def test_meta_option_reruns_only_the_meta_stage(tiny_local_run, work):
    level = validate_section({}, "meta.schema.yaml", source="meta")["level"]
    _set_config(work, "meta", "level", 0.9 if level != 0.9 else 0.95)

    planned = planned_jobs(work)

    # Only the steps that read meta.level (its schema's x-stage), and what depends on them.
    stages = load_schema(REPO / "workflow" / "schemas" / "config" / "meta.schema.yaml")[0]["properties"]["level"]["x-stage"]
    # Of those steps, the ones this run has (a rule without wildcards, as the meta multiverse,
    # becomes a job when forced by name even where no multiverse study asks for it).
    run = planned_jobs(tiny_local_run, "--forceall")
    expected = set().union(*(downstream_of(tiny_local_run, rule) for rule in stages)) & run
    assert planned == expected | provenance_jobs(tiny_local_run)
    assert ("meta_effects", "") not in planned
    assert planned and all(rule.startswith(("meta_", "multiverse_meta", "design_", "report_")) for rule, _ in planned)


def _set_grid(work: Path, key: str, values: list) -> None:
    path = work / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["multiverse"]["grid"][key] = values
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def test_a_grid_value_added_runs_only_the_new_universes_work(tiny_local_run, work):
    """A value added after the envelope (here z-scoring) runs no participant job: the study job computes the
    universes from the kept envelope bins. A high-pass value added runs one new filtering per participant and
    keeps the old ones."""
    study_and_below = downstream_of(tiny_local_run, layout("results").multiverse_specifications.format(study="tinyemg"))
    assert ("multiverse_study", "study=tinyemg") in study_and_below and not any(_participant(w) for _, w in study_and_below)
    grid = yaml.safe_load((work / "config" / "config.yaml").read_text())["multiverse"]["grid"]

    _set_grid(work, "zscore", [*grid["zscore"], "within_participant"])
    assert planned_jobs(work) == study_and_below | provenance_jobs(tiny_local_run)

    _set_grid(work, "zscore", grid["zscore"])
    _set_grid(work, "highpass_hz", [*grid["highpass_hz"], 24.0])
    planned = planned_jobs(work)
    assert {job for job in planned if _participant(job[1])} == {
        ("multiverse_participant", f"study=tinyemg, participant={p}, highpass=24") for p in ("001", "002", "003", "004")}
    assert {job for job in planned if not _participant(job[1])} == study_and_below | provenance_jobs(tiny_local_run)


def test_multiverse_is_the_same_whatever_the_cores(tiny_local_run, work):
    """The multiverse jobs rerun on one core write the bytes the two-core run wrote."""
    paths = layout("results")
    outputs = sorted((tiny_local_run / "results" / "tinyemg" / "multiverse").rglob("*.*")) + [
        tiny_local_run / paths.meta_multiverse, tiny_local_run / paths.meta_multiverse_curves]
    assert len(outputs) > 8
    run = subprocess.run(snakemake_command(work, "--cores", "1", "--forcerun", "multiverse_participant"), cwd=work, capture_output=True,
                         text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "multiverse_study" in run.stdout + run.stderr
    differ = [p.relative_to(tiny_local_run).as_posix() for p in outputs if p.read_bytes() != (work / p.relative_to(tiny_local_run)).read_bytes()]
    assert not differ


def test_threads_resources_and_log_paths_trigger_nothing(tiny_local_run, tmp_path):
    assert planned_jobs(tiny_local_run, "--cores", "2", "--set-threads", "emg_preprocess=2", "emg_model=2", "pet_fit=2", "--set-resources", "emg_preprocess:mem_mb=3000") == set()

    # The same workflow with every log file moved to another directory.
    moved = tmp_path / "workflow_copy"
    moved.mkdir()
    shutil.copy2(REPO / "environment.yml", moved / "environment.yml")
    shutil.copytree(REPO / "workflow", moved / "workflow")
    shutil.copytree(REPO / "scripts", moved / "scripts")
    # Every rule's log is log_of(...) in common.smk.
    common = moved / "workflow" / "rules" / "common.smk"
    common.write_text(common.read_text().replace("return log_path(RESULTS, rule", 'return log_path(RESULTS + "_moved", rule'))
    assert 'log_path(RESULTS + "_moved"' in common.read_text()
    assert planned_jobs(tiny_local_run, snakefile=moved / "workflow" / "Snakefile") == set()


def test_raw_content_changed_under_a_kept_time_stamp_is_noticed_and_rerun(tiny_local_run, work):
    """cp -p, rsync -t, tar: new content, old mtime. The workflow warns at start and reruns what read the file."""
    events = work / "data" / "tinyemg" / "sub-002" / "emg" / "sub-002_task-faces_events.tsv"
    stamp = events.stat()
    events.write_text(events.read_text().replace("\t", " \t", 1))  # one byte more, the same events
    os.utime(events, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))

    dry = subprocess.run(snakemake_command(work, "--dry-run", "--nocolor"), cwd=work, capture_output=True, text=True, timeout=900)
    assert dry.returncode == 0, dry.stderr[-3000:]
    said = dry.stdout + dry.stderr  # Snakemake's log goes to stdout in a dry run
    relative = events.relative_to(work).as_posix()
    assert f"{relative} changed under a kept modification time" in said, said[-3000:]
    assert "invalidating results/tinyemg/emg/002.parquet" in said
    # The jobs Snakemake itself reruns for a changed recording of sub-002, and no other participant's.
    assert planned_jobs(work) == downstream_of(tiny_local_run, "results/tinyemg/emg/002.parquet")

    run = subprocess.run(snakemake_command(work, "--cores", "2"), cwd=work, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    after = subprocess.run(snakemake_command(work, "--dry-run"), cwd=work, capture_output=True, text=True, timeout=900)
    assert "Nothing to be done" in after.stdout and "changed under a kept modification time" not in after.stdout + after.stderr
