"""Rerun scope: a changed config key reruns exactly the steps its schema names.

Every key of the emg, models, pet and meta sections carries ``x-stage``: the rules
whose outputs it can change, which are the only rules that receive it as a
parameter (``get_cfg`` in common.smk). On a finished tiny run (one EMG, one PET
study and the meta-analysis), each key in turn gets another valid value and
Snakemake's ``--summary`` gives every output's status against its own record
(params, set of inputs, code). The rules with a changed record must be exactly the
key's x-stage rules and the provenance record (which records the whole config by
design); every other job that reruns does so only because its inputs are rewritten
upstream. (A dry run's "reason" cannot show this: a job below a rerun is reported
for its inputs alone; and ``--list-changes params`` lists unchanged files in
Snakemake 9.27.) The expectation comes from the schema, not a hand list, so a new
key is checked the day it is added.

Also: rerunning with the provenance record's config (every default filled in, keys
sorted) plans nothing.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from opioidsocial.config import ConfigError, load_schema, resolve_ref, validate_config
from tests.conftest import REPO, SNAKEFILE
from tests.test_incremental import tiny_local_run  # noqa: F401  (the shared finished run)

pytestmark = pytest.mark.workflow

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
SECTIONS = ("emg", "models", "pet", "meta", "evidence", "design", "multiverse")
# The record of the run's config: it changes with any value, by design.
ALWAYS = {"report_provenance"}

# What --summary may say of an output of a finished run whose config changed.
SUMMARY_STATUSES = {"ok", "params changed", "set of input files changed"}


def staged_keys() -> list[tuple[tuple[str, ...], dict, list[str]]]:
    """(key path, schema node, x-stage rules) of every key of SECTIONS that names its stages."""
    schema, registry = load_schema(SCHEMA)
    found = []

    def walk(node, resolver, path):
        if "x-stage" in node:
            found.append((path, resolve_ref(node, resolver)[0], list(node["x-stage"])))
            return
        node, resolver = resolve_ref(node, resolver)
        for key, sub in node.get("properties", {}).items():
            walk(sub, resolver, (*path, key))

    resolver = registry.resolver(base_uri=schema["$id"])
    for section in SECTIONS:
        walk(schema["properties"][section], resolver, (section,))
    return found


def test_every_key_names_its_stages():
    """No leaf of the modelled sections is without x-stage (on itself or a parent)."""
    schema, registry = load_schema(SCHEMA)
    missing = []

    def walk(node, resolver, path):
        if "x-stage" in node:
            return
        node, resolver = resolve_ref(node, resolver)
        props = node.get("properties")
        if not props:
            missing.append(".".join(path))
        for key, sub in (props or {}).items():
            walk(sub, resolver, (*path, key))

    resolver = registry.resolver(base_uri=schema["$id"])
    for section in SECTIONS:
        walk(schema["properties"][section], resolver, (section,))
    assert not missing, f"keys without x-stage: {missing}"


def candidates(value, node: dict):
    """Other values for a key, most plausible first: its schema examples, then perturbations."""
    yield from (other for other in _candidates(value, node) if other != value)


def _candidates(value, node: dict):
    yield from node.get("examples", [])
    if isinstance(value, bool):
        yield not value
    elif "enum" in node:
        yield from (e for e in node["enum"] if e != value)
    elif isinstance(value, int):
        yield from (value + 1, value - 1)
    elif isinstance(value, float):
        yield from ((value * f if value else value + f - 1) for f in (0.9, 1.1))
    elif isinstance(value, str):
        yield value + "x"
    elif isinstance(value, list):
        # A shorter list first: it names only what the data already have (conditions, ROIs).
        if value:
            yield value[:-1]
            for first in candidates(value[0], node.get("items", {})):
                yield [first, *value[1:]]
        yield [*value, *(["corrugator"] if node.get("items", {}).get("type") == "string" else [])]
    elif isinstance(value, dict):
        props = node.get("properties", {})
        for key in sorted(value):
            for other in candidates(value[key], props.get(key, {})):
                yield {**value, key: other}


# Keys whose valid values name studies of the sheet, which a schema cannot check: their
# other value in the tiny run (the schema's examples name the demo's studies).
SHEET_VALUES = {("multiverse", "studies"): []}


def changed_config(base: dict, path: tuple[str, ...], node: dict) -> dict:
    """``base`` with the key at ``path`` set to the first candidate that passes validation."""
    full = validate_config(base, SCHEMA)
    current = full
    for key in path:
        current = current[key]
    for other in [SHEET_VALUES[path]] if path in SHEET_VALUES else candidates(current, node):
        trial = copy.deepcopy(base)
        target = trial
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = other
        try:
            validate_config(trial, SCHEMA)
        except ConfigError:
            continue
        return trial
    raise AssertionError(f"no valid other value for {'.'.join(path)}: give it `examples` in its schema")


def snakemake(work: Path, *args: str) -> str:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(work), "--nocolor", *args]
    run = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    return run.stdout


def summary(work: Path, *args: str) -> tuple[set[str], set[str]]:
    """(rules with jobs, rules with an output whose recorded params, input set or code differ), from ``--summary``."""
    rows = [line.split("\t") for line in snakemake(work, "--summary", *args).splitlines()]
    statuses = {(row[2], row[4]) for row in rows[1:] if len(row) >= 5}
    assert statuses and all(status in SUMMARY_STATUSES for _, status in statuses), statuses
    return {rule for rule, _ in statuses}, {rule for rule, status in statuses if status != "ok"}


def test_each_key_reruns_exactly_its_stages(tiny_local_run, tmp_path):  # noqa: F811
    base = yaml.safe_load((tiny_local_run / "config" / "config.yaml").read_text())
    rules, changed = summary(tiny_local_run)
    assert changed == set()
    keys = staged_keys()

    def check(item):
        path, node, stages = item
        configfile = tmp_path / f"{'.'.join(path)}.yaml"
        configfile.write_text(yaml.safe_dump(changed_config(base, path, node), sort_keys=False))
        # A rule whose inputs the new value moves to files the tiny data lack (pet.tac_layout:
        # petprep names) has no jobs then: Snakemake takes its existing outputs as given.
        present, rerun = summary(tiny_local_run, "--configfile", str(configfile))
        expected = (set(stages) & rules & present) | ALWAYS
        return ".".join(path), rerun, expected

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(check, keys))
    wrong = {key: {"rerun": sorted(rerun), "x-stage": sorted(expected)} for key, rerun, expected in results if rerun != expected}
    assert len(results) == len(keys) > 40
    assert not wrong, wrong


def test_rerun_with_the_provenance_config_plans_nothing(tiny_local_run, tmp_path):  # noqa: F811
    work = tmp_path / "copy"
    shutil.copytree(tiny_local_run, work, symlinks=True)
    recorded = work / "results" / "provenance" / "config.yaml"
    assert "Nothing to be done" in snakemake(work, "--dry-run", "--configfile", str(recorded))


# The rules each studies.tsv column reruns on a finished run: the rules that read it (it
# is in their params: common.smk hands each rule the columns its stage reads, never the
# whole row) and those whose input files it names (path; task names a BIDS-EMG study's
# recordings). `study`, `modality` and `input` say which study it is and which rules it
# has: another value is another study, with results of its own.
IDENTITY = {"study", "modality", "input"}
SHEET_RERUNS = {
    # The EMG study's (a PET study 'between' needs an arm per participant, which the tiny one has not).
    "design": {"emg_model", "evidence_emg", "multiverse_study", "report_overview"},
    "drug": {"emg_model", "multiverse_study", "pet_study", "report_overview"},
    "direction": {"emg_model", "pet_study", "report_overview"},
    "reference": {"emg_model", "emg_model_timecourses", "evidence_emg", "multiverse_study", "pet_study", "evidence_pet", "report_overview"},
    "sample_group": {"emg_model", "pet_study", "report_overview"},
    "reference_group": {"pet_study", "evidence_pet", "report_overview"},
    "path": {"emg_preprocess", "multiverse_participant", "pet_fit", "pet_qc_figure", "pet_study", "evidence_pet", "report_overview"},
    # The PET study's task: PET reads none (the EMG study's task names its files, as path does).
    "task": set(),
    # Shown in the overview table only: no model, no evidence.
    "description": {"report_overview"},
    # Orders the cumulative meta-analysis: carried on every effect into meta/effects.parquet.
    "year": {"meta_effects"},
}
# Another valid value per study (tinyemg, tinypet). drug: the EMG arm in another spelling
# (it must name an arm); reference: the other arm or condition.
SHEET_CHANGES = {
    "design": {"tinyemg": "within"},
    "drug": {"tinyemg": "Naltrexone", "tinypet": "rejection_task"},
    "direction": {"tinyemg": "1", "tinypet": "-1"},
    "reference": {"tinyemg": "naltrexone", "tinypet": "rejection"},
    "sample_group": {"tinyemg": "tiny2", "tinypet": "tinypet2"},
    "reference_group": {"tinypet": "control"},
    "path": {"tinyemg": "data/tinyemg_moved", "tinypet": "data/tinypet_moved"},
    "task": {"tinypet": "rest"},
    "description": {"tinyemg": "a new description", "tinypet": "another"},
    "year": {"tinyemg": "2016", "tinypet": "2013"},
}


def test_every_studies_column_is_covered():
    schema, _ = load_schema(REPO / "workflow" / "schemas" / "studies.schema.yaml")
    columns = {*schema["properties"], "description"}
    assert set(SHEET_RERUNS) | IDENTITY == columns and set(SHEET_CHANGES) == set(SHEET_RERUNS)


def _changed_sheet(work: Path, column: str) -> None:
    """``work``'s studies.tsv with ``column`` changed in every study it is given for."""
    sheet = work / "config" / "studies.tsv"
    rows = [line.split("\t") for line in sheet.read_text().splitlines()]
    if column not in rows[0]:  # an optional column the tiny sheet leaves out
        rows = [[*rows[0], column], *[[*r, ""] for r in rows[1:]]]
    at = rows[0].index(column)
    for row in rows[1:]:
        row[at] = SHEET_CHANGES[column].get(row[0], row[at])
    sheet.write_text("".join("\t".join(r) + "\n" for r in rows))
    if column == "path":
        for old, new in SHEET_CHANGES["path"].items():
            (work / new).symlink_to((work / "data" / old).resolve(), target_is_directory=True)
    if column == "reference_group":
        # Every participant of the PET study in a group (two groups): what reference_group needs.
        people = work / "data" / "tinypet" / "participants.tsv"
        lines = people.read_text().splitlines()
        people.write_text("\n".join([f"{lines[0]}\tgroup", *(f"{line}\t{'control' if i % 2 else 'mdd'}" for i, line in enumerate(lines[1:]))]) + "\n")


def test_each_studies_column_reruns_exactly_the_rules_that_read_it(tiny_local_run, tmp_path):  # noqa: F811
    rules, changed = summary(tiny_local_run)
    assert changed == set()

    def check(column):
        work = tmp_path / column
        shutil.copytree(tiny_local_run, work, symlinks=True)
        _changed_sheet(work, column)
        rows = [line.split("\t") for line in snakemake(work, "--summary").splitlines()]
        # A rewritten participants.tsv (reference_group) or a moved data folder (path) is
        # also newer than the outputs: Snakemake reports that first.
        statuses = {(row[2], row[4]) for row in rows[1:] if len(row) >= 5}
        assert all(status in {*SUMMARY_STATUSES, "updated input files"} for _, status in statuses), statuses
        return column, {rule for rule, status in statuses if status != "ok"}, SHEET_RERUNS[column] & rules

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(check, SHEET_RERUNS))
    wrong = {column: {"rerun": sorted(rerun), "expected": sorted(expected)} for column, rerun, expected in results if rerun != expected}
    assert not wrong, wrong
