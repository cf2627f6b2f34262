"""The one failure mechanism, on every entry point of the workflow.

For every stage of the registry (opioidsocial.stages) a DataError is raised inside
its entry point: under ``on_bad_data: exclude`` the job must record it at its level
and write every output it declares, empty and readable by its contract; under
'fail' it must stop with the study, participant and file named. Also: every
script calls its registry entry, and every error class of the package is a
ConfigError or a DataError.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import logging
import pkgutil
import re
from pathlib import Path

import pandas as pd
import pytest

import opioidsocial
from opioidsocial.errors import ConfigError, DataError, OpioidSocialError
from opioidsocial.failsafe import Record
from opioidsocial.io.contracts import EXCLUSIONS, FigureFile, Folder, TextFile
from opioidsocial.io.tables import TableSpec, TsvSpec, read_json, read_table, read_tsv
from opioidsocial.paths import FILES
from opioidsocial.stages import ENTRY_POINTS, entry_point
from tests.conftest import REPO

SUFFIX = {TableSpec: ".parquet", TsvSpec: ".tsv", Record: ".json"}


class BadInput(DataError):
    """The error raised inside every entry point: about the job's input file 'data'."""

    file_role = "data"


def _raise(**_):
    raise BadInput("the data cannot be analysed", fix="fix the data")


def _path(folder: Path, key: str, contract) -> str:
    if isinstance(contract, FigureFile):
        return str(folder / f"{key}.{contract.fmt}")
    if isinstance(contract, TextFile):
        return str(folder / f"{key}.{contract.suffix}")
    if isinstance(contract, Folder):
        return str(folder / key)
    return str(folder / f"{key}{SUFFIX[type(contract)]}")


def _job(run, policy: str, folder: Path) -> dict:
    """Keyword arguments of one job of ``run``: the policy in its settings, a study and participant."""
    values = {"cfg": {"on_bad_data": policy}, "config": {"on_bad_data": policy}, "study": "s1", "participant": "01",
              "metadata": {"config_hash": "0"}}
    params = inspect.signature(run.__wrapped__).parameters
    kwargs = {name: values.get(name, "x") for name, p in params.items() if name not in ("inputs", "outputs")}
    outputs = {key: _path(folder, key, contract) for key, contract in run.stage.outputs.items()}
    return {"inputs": {"data": str(folder / "input.tsv")}, "outputs": outputs, **kwargs}


def test_the_registry_names_every_script_and_its_entry_point():
    scripts = {path.stem: path for path in (REPO / "scripts").glob("*.py")}
    assert set(scripts) == set(ENTRY_POINTS)
    for rule, path in scripts.items():
        imports = [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ImportFrom)]
        assert any(node.module == ENTRY_POINTS[rule] and [a.name for a in node.names] == ["run"] for node in imports), path
        assert entry_point(rule).stage.rule == rule


def test_one_entry_point_per_module():
    for module in ENTRY_POINTS.values():
        staged = [name for name, obj in vars(importlib.import_module(module)).items()
                  if callable(obj) and hasattr(obj, "stage") and getattr(obj, "__module__", "") == module]
        assert staged == ["run"], (module, staged)


@pytest.mark.parametrize("rule", sorted(ENTRY_POINTS))
def test_exclude_records_the_error_and_writes_the_declared_empty_outputs(rule, tmp_path, monkeypatch, caplog):
    run = entry_point(rule)
    job = _job(run, "exclude", tmp_path)
    monkeypatch.setattr(run, "__wrapped__", _raise)
    with caplog.at_level(logging.WARNING):
        run(**job)
    assert "excluded (on_bad_data: exclude)" in caplog.text and "the data cannot be analysed" in caplog.text
    recorded = False
    for key, contract in run.stage.outputs.items():
        path = Path(job["outputs"][key])
        assert path.exists(), (rule, key)
        if contract is EXCLUSIONS:
            rows = read_tsv(path, EXCLUSIONS)
            study = "s1" if "study" in job else ""
            assert rows[["study", "level", "stage"]].fillna("").values.tolist() == [[study, run.stage.level, rule]]
            recorded = True
        elif isinstance(contract, TsvSpec):
            assert read_tsv(path, contract).empty
        elif isinstance(contract, TableSpec):
            table = read_table(path, contract)
            assert table.empty and list(table.columns) == contract.columns
        elif isinstance(contract, Record):
            record = read_json(path, contract.schema)
            assert record[contract.flag] is False and "the data cannot be analysed" in record[contract.reason]
            assert record["study"] == "s1" and record.get("participant", "01") == "01"
            recorded = True
        elif isinstance(contract, TextFile):
            assert "the data cannot be analysed" in path.read_text()
        elif isinstance(contract, FigureFile):
            assert path.stat().st_size > 0
        else:
            assert path.is_dir()
    # Where the stage has a record of its own (QC, fit record, exclusion list) the exclusion is in it.
    has_record = any(c is EXCLUSIONS or isinstance(c, Record) for c in run.stage.outputs.values())
    assert recorded == has_record


@pytest.mark.parametrize("rule", sorted(ENTRY_POINTS))
def test_fail_stops_naming_study_participant_and_file(rule, tmp_path, monkeypatch):
    run = entry_point(rule)
    job = _job(run, "fail", tmp_path)
    monkeypatch.setattr(run, "__wrapped__", _raise)
    with pytest.raises(BadInput) as raised:
        run(**job)
    message = str(raised.value)
    assert job["inputs"]["data"] in message and "fix the data" in message
    if "study" in job:
        assert "study 's1'" in message
    if "participant" in job:
        assert "participant '01'" in message
    assert not any(Path(p).exists() for p in job["outputs"].values())


def test_a_config_error_is_never_excluded(tmp_path, monkeypatch):
    run = entry_point("emg_model")

    def config_problem(**_):
        raise ConfigError("models.formula is wrong")

    job = _job(run, "exclude", tmp_path)
    monkeypatch.setattr(run, "__wrapped__", config_problem)
    with pytest.raises(ConfigError):
        run(**job)


def test_every_error_class_is_a_config_or_a_data_error():
    outside = []
    for info in pkgutil.walk_packages(opioidsocial.__path__, "opioidsocial."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__
                    and obj is not OpioidSocialError and not issubclass(obj, ConfigError | DataError)):
                outside.append(f"{info.name}.{name}")
    assert outside == []


def test_an_excluded_participant_keeps_the_fields_its_study_stage_reads(tmp_path, monkeypatch):
    run = entry_point("emg_preprocess")
    job = _job(run, "exclude", tmp_path)
    monkeypatch.setattr(run, "__wrapped__", _raise)
    job["inputs"]["recording"] = str(tmp_path / "sub-01_emg.bdf")
    job["arm"] = "placebo"
    run(**job)
    qc = json.loads(Path(job["outputs"]["qc"]).read_text())
    assert qc["arm"] == "placebo" and qc["recording"].endswith("sub-01_emg.bdf") and qc["usable"] is False
    assert pd.read_parquet(job["outputs"]["bins"]).empty


def rule_outputs() -> dict[str, dict[str, str]]:
    """{rule: {output key: FILES name}} of every named rule, read from the rule files."""
    found = {}
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"^rule ", path.read_text(), flags=re.M)[1:]:
            name = block.split(":", 1)[0]
            section = re.search(r"^    output:\n(.*?)^    \w+:", block, flags=re.M | re.S)
            if section:
                entries = re.split(r"^        (\w+)=", section.group(1), flags=re.M)[1:]
                found[name] = {key: re.search(r"P\.(\w+)", value).group(1) for key, value in zip(entries[::2], entries[1::2])}
    return found


def test_the_rules_write_what_the_stages_declare():
    """Each rule's outputs are files of the registry whose contracts its stage declares, key by key."""
    outputs = rule_outputs()
    assert set(outputs) == set(ENTRY_POINTS) - {"report_table"}  # the report's tables: one rule per REPORT_TABLES entry
    for rule, files in outputs.items():
        declared = entry_point(rule).stage.outputs
        assert set(files) == set(declared), rule
        for key, name in files.items():
            contract = declared[key].schema if isinstance(declared[key], Record) else declared[key]
            assert FILES[name].contract == contract, (rule, key, name)
