"""A lab's own project: `opioidsocial init`, the workflow imported as a
Snakemake module, the lab's config only, readable and checkable results, a wheel install."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pandas as pd
import pytest
import yaml

from opioidsocial.config import SCHEMA_DIR, canonical_config, validate_config
from opioidsocial.simulate.emg import simulate_trials
from tests.conftest import REPO, WORKFLOW_TINY_EMG, snakemake

pytestmark = pytest.mark.workflow

TRIALS_STUDY = (
    "study\tmodality\tinput\tdesign\tdrug\tdirection\treference\tsample_group\tpath\n"
    "labtrials\temg\ttrials\tbetween\tnaltrexone\t-1\tplacebo\tlab\tdata/trials.csv\n"
)
DESIGN = {"arms": {"placebo": 3, "naltrexone": 3}, "muscles": ["corrugator"], "emotions": ["happy", "angry"], "stimuli_per_emotion": 3,
          "repetitions": 1, "responses": {"corrugator": {"happy": -0.5, "angry": 1.0}}, "arm_effects": {"naltrexone": {"corrugator": {"happy": 0.7}}}}
# What a lab that copied the demo's habits would find merged into its run if the demo's config were loaded behind its own.
DEMO = {"studies": "config/studies.tsv", "on_bad_data": "exclude", "meta": {"methods": ["DL"]},
        "simulate": {"seed": 5, "emg": {"naltrexone2016": WORKFLOW_TINY_EMG}}}


def cli(*args: str, cwd: Path, python: str = sys.executable, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-m", "opioidsocial.cli", *args], cwd=cwd, capture_output=True, text=True, env=env)


def write_trials(path: Path) -> None:
    trials, _ = simulate_trials(study="labtrials", params=DESIGN, seed=4)
    path.parent.mkdir(parents=True, exist_ok=True)
    trials[["participant", "arm", "trial", "stimulus", "emotion", "muscle", "response_uv"]].to_csv(path, index=False)


def run_in(project: Path, *args: str) -> subprocess.CompletedProcess:
    """Snakemake on the project's own Snakefile, with the usual umask of a lab's account."""
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=project, capture_output=True, text=True,
                          timeout=900, preexec_fn=lambda: os.umask(0o022))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """`opioidsocial init`, one tiny trial-table study, run through the workflow imported as a module."""
    project = tmp_path_factory.mktemp("lab") / "project"
    init = cli("init", str(project), cwd=project.parent)
    assert init.returncode == 0, init.stderr
    (project / "config" / "studies.tsv").write_text(TRIALS_STUDY)
    write_trials(project / "data" / "trials.csv")
    run = run_in(project)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    return project


def test_init_writes_a_project_whose_sheet_and_config_validate(tmp_path):
    from opioidsocial.sheets import load_studies

    assert cli("init", "new", cwd=tmp_path).returncode == 0
    new = tmp_path / "new"
    assert sorted(str(p.relative_to(new)) for p in new.rglob("*") if p.is_file()) == ["README.md", "Snakefile", "config/config.yaml", "config/studies.tsv"]
    sheet = load_studies(new / "config" / "studies.tsv", schemas=SCHEMA_DIR)
    assert sorted(sheet["input"]) == ["bids", "bpnd", "summary", "tac", "trials"]  # one example row per input kind
    validate_config(yaml.safe_load((new / "config" / "config.yaml").read_text()) or {}, SCHEMA_DIR / "config.schema.yaml")
    assert f'"{REPO / "workflow" / "Snakefile"}"' in (new / "Snakefile").read_text()
    again = cli("init", "new", cwd=tmp_path)
    assert again.returncode == 2 and "is not empty" in again.stderr


def test_the_module_runs_the_study_and_one_study_says_why_nothing_was_pooled(project):
    pooled = pd.read_csv(project / "results/meta/pooled.tsv", sep="\t")
    assert pooled["note"].str.startswith("not pooled: 1 independent sample(s)").all() and len(pooled) == 2
    assert "meta.min_k = 2 needed" in (project / "results/logs/meta_pool.log").read_text()
    effects = pd.read_parquet(project / "results/labtrials/model/effects.parquet")
    assert set(effects["contrast"]) == {"naltrexone - placebo"} and set(effects["direction"]) == {-1}


def test_the_report_of_the_module_run(project):
    # snakemake[reports] (pygments) is a dependency, so this works after `pip install -e .` alone.
    report = run_in(project, "--report", "report.zip")
    assert report.returncode == 0, report.stderr[-3000:]
    assert (project / "report.zip").stat().st_size > 10_000


def test_results_are_readable_by_the_lab(project):
    written = [p for p in (project / "results").rglob("*") if p.is_file() and ".snakemake" not in p.parts]
    modes = {oct(stat.S_IMODE(p.stat().st_mode)) for p in written}
    assert len(written) > 20 and modes == {"0o644"}


def test_a_raw_file_replaced_with_its_old_time_stamp_is_found(project, tmp_path):
    raw = project / "data" / "trials.csv"
    stamp = raw.stat()
    table = pd.read_csv(raw)
    table.loc[0, "response_uv"] += 1.0
    table.to_csv(raw, index=False)
    os.utime(raw, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # cp -p / rsync -t
    # Snakemake alone would not see it; the workflow does when it starts, and plans the rerun.
    dry = run_in(project, "-n")
    assert "data/trials.csv changed under a kept modification time" in dry.stdout + dry.stderr and "Nothing to be done" not in dry.stdout
    found = cli("stale", cwd=project)
    assert found.returncode == 1
    fix = found.stdout.strip().splitlines()[-1]
    assert "results/labtrials/model/trials.parquet: data/trials.csv changed" in found.stdout
    assert fix == ("fix: snakemake --cores N --forcerun results/labtrials/model/effect_samples.parquet results/labtrials/model/effects.parquet "
                   "results/labtrials/model/trials.parquet")
    rerun = run_in(project, *fix.split()[4:])
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert cli("stale", cwd=project).returncode == 0


def test_a_labs_configfile_is_not_merged_over_the_demos(tmp_path):
    """The demo's config/config.yaml lies in the folder; the lab's --configfile alone counts."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(DEMO))
    lab = {"studies": "lab/studies.tsv", "results": "out"}
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "studies.tsv").write_text(TRIALS_STUDY)
    (tmp_path / "lab" / "config.yaml").write_text(yaml.safe_dump(lab))
    run = snakemake(tmp_path, "--configfile", "lab/config.yaml", "--cores", "1", "out/provenance/config.yaml")
    assert run.returncode == 0, run.stderr[-3000:]
    recorded = yaml.safe_load((tmp_path / "out/provenance/config.yaml").read_text())
    assert recorded == canonical_config(validate_config(lab, SCHEMA_DIR / "config.schema.yaml"), SCHEMA_DIR / "config.schema.yaml")
    assert recorded["on_bad_data"] == "fail" and recorded["simulate"]["emg"] == {} and recorded["meta"]["methods"] == ["REML"]


def test_reports_need_nothing_beyond_the_package():
    # `snakemake --report` needs pygments, which only snakemake's reports extra brings.
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("snakemake[reports]") for d in dependencies)


def test_a_wheel_installed_elsewhere_simulates_a_tiny_design(tmp_path):
    """No source checkout: the schemas and templates come from the package itself."""
    # Built from a copy: setuptools writes build/ and *.egg-info into the source folder.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(".git", ".snakemake", "results", "data", "build", "__pycache__", "*.egg-info"))
    wheel = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert wheel.returncode == 0, wheel.stderr
    # Dependencies come from the environment running the tests (a user's venv or the
    # system Python: `system_site_packages` would see the base interpreter's, not the
    # venv's); only the package itself is installed.
    venv.create(tmp_path / "env", with_pip=True)
    python = str(tmp_path / "env" / "bin" / "python")
    env_site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], capture_output=True, text=True, check=True).stdout.strip()
    ours = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]
    (Path(env_site) / "test_dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    install = subprocess.run([python, "-m", "pip", "install", "--no-deps", "--ignore-installed", "-q", *map(str, (tmp_path / "dist").glob("*.whl"))],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    work = tmp_path / "work"
    (work / "config").mkdir(parents=True)
    (work / "config" / "studies.tsv").write_text(
        "study\tmodality\tinput\tdesign\tdrug\tdirection\treference\tsample_group\tpath\ttask\n"
        "tinyemg\temg\tbids\tbetween\tnaltrexone\t-1\tplacebo\ttiny\tdata/tinyemg\tfaces\n")
    (work / "config" / "config.yaml").write_text(yaml.safe_dump({"simulate": {"seed": 1, "emg": {"tinyemg": WORKFLOW_TINY_EMG}}}))
    where = subprocess.run([python, "-c", "import opioidsocial; print(opioidsocial.__file__)"], capture_output=True, text=True, env=env, cwd=work)
    assert where.stdout.startswith(str(tmp_path / "env")), where.stdout + where.stderr
    sim = cli("simulate", "--config", "config/config.yaml", cwd=work, python=python, env=env)
    assert sim.returncode == 0, sim.stderr
    assert sorted(p.name for p in (work / "data" / "tinyemg").glob("sub-*")) == ["sub-001", "sub-002", "sub-003", "sub-004"]
    assert cli("init", "project", cwd=work, python=python, env=env).returncode == 0
