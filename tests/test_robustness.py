"""Bad data: a clear error before anything is written, or an exclusion, and the study goes on.

The unit tests break one file of one simulated participant and check that the job's
error names the study, the participant, the file and the fix, and that no output of
that participant exists afterwards (or, under on_bad_data: exclude, that the same
message becomes the exclusion reason). Then the safety checks: no shell commands in
rules, YAML only safe-loaded, model formulas parsed and never evaluated.

The workflow tests run the EMG stage of one tiny study (3 placebo, 2 naltrexone
participants; one placebo participant's BDF file truncated) with `--keep-going` and
`on_bad_data: exclude`. tests/test_faults.py reruns the same data with one core and
with a kill, and compares them byte for byte with this run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from opioidsocial.emg.participant import run
from opioidsocial.errors import DataError
from opioidsocial.io.bids import emg_files
from opioidsocial.io.contracts import EFFECTS
from opioidsocial.io.tables import read_table
from opioidsocial.provenance import KEY_PACKAGES
from opioidsocial.stats.lmm import LmmError, fit
from tests.conftest import REPO, WORKFLOW_TINY_EMG, simulated_workdir, snakemake_command
from tests.test_workflow import STUDIES

CORRUPT = "003"  # a placebo participant: the placebo arm keeps two, enough for the model
CONFIG = {
    "studies": "config/studies.tsv",
    "on_bad_data": "exclude",
    "simulate": {"seed": 1, "emg": {"tinyemg": {**WORKFLOW_TINY_EMG, "arms": {"placebo": 3, "naltrexone": 2}}}},
}


def _break(files: dict, what: str) -> dict:
    """Damage one participant's files the way ``what`` says; return config changes."""
    if what == "empty recording":
        open(files["recording"], "wb").close()
    elif what == "corrupt header":
        with open(files["recording"], "r+b") as fh:
            fh.write(b"\xff" * 200)
    elif what == "every event after the end":
        _edit_events(files, lambda events: events.assign(onset=events["onset"] + 10_000.0))
    elif what in BAD_ONSETS:
        _edit_events(files, lambda events: events.assign(onset=events["onset"].astype(str).where(events.index != 3, BAD_ONSETS[what])))
    elif what == "face row without stimulus id":
        _edit_events(files, lambda events: events.assign(stimulus=events["stimulus"].where(events.index != 4, "n/a")))
    elif what == "trial_type typo":
        _edit_events(files, lambda events: events.assign(trial_type=events["trial_type"].where(events.index != 2, "hapy")))
    elif what == "muscle typo":
        channels = pd.read_csv(files["channels"], sep="\t")
        channels.loc[0, "target_muscle"] = "corugator"
        channels.to_csv(files["channels"], sep="\t", index=False)
    elif what == "no events":
        Path(files["events"]).write_text("onset\tduration\ttrial_type\tstimulus\n")
    elif what == "band above Nyquist":
        return {"highpass_hz": 950.0, "lowpass_hz": 1000.0}  # 2048 Hz allows up to 921.6 Hz
    elif what == "muscle without channel":
        return {"muscles": ["corrugator", "frontalis"]}
    elif what == "sidecar disagrees":
        Path(files["sidecar"]).write_text(Path(files["sidecar"]).read_text().replace('"SamplingFrequency": 2048', '"SamplingFrequency": 1000'))
    return {}


#: onset cells that are not a time: what a hand-edited or mne-bids-written events.tsv can hold
BAD_ONSETS = {"onset n/a": "n/a", "onset text": "3.0s", "onset infinite": "inf", "onset negative": "-0.5"}


def _edit_events(files: dict, change) -> None:
    events = pd.read_csv(files["events"], sep="\t", dtype={"stimulus": str})
    change(events).to_csv(files["events"], sep="\t", index=False)


@pytest.mark.parametrize(
    ("what", "culprit", "message"),
    [
        ("empty recording", "recording", "is missing or empty; copy the raw file again"),
        ("corrupt header", "recording", "the file is corrupt or truncated"),
        ("every event after the end", "events", "outside the recording (0 to"),
        *((what, "events", f"line 5: onset '{cell}' is not a finite number of seconds >= 0") for what, cell in BAD_ONSETS.items()),
        ("face row without stimulus id", "events", "line 6: face row (happy) has no stimulus id"),
        ("trial_type typo", "events", "trial_type 'hapy' in sub-001's events.tsv, line 4 is not declared: did you mean 'happy'?"),
        ("muscle typo", "channels", "muscle 'corugator' in sub-001's channels.tsv (channel 'corrugator') is not declared: did you mean 'corrugator'?"),
        ("no events", "events", "lists no face trials"),
        ("band above Nyquist", "recording", "band-pass 950-1000 Hz is not realisable at 2048 Hz"),
        ("muscle without channel", "channels", "no EMG channel for muscle(s) ['frontalis']"),
        ("sidecar disagrees", "sidecar", "sampled at 2048 Hz but"),
    ],
)
def test_a_broken_file_stops_the_participant_before_it_writes_anything(tiny_emg_study, emg_cfg, tmp_path, what, culprit, message):
    shutil.copytree(Path(tiny_emg_study["path"]) / "sub-001", tmp_path / "sub-001")
    files = emg_files({**tiny_emg_study, "path": str(tmp_path)}, "001")
    cfg = {**emg_cfg, **_break(files, what)}
    out = {"bins": str(tmp_path / "out/001.parquet"), "qc": str(tmp_path / "out/001.json"), "signals": str(tmp_path / "out/001.signals.parquet")}
    job = dict(inputs=files, outputs=out, study="tiny", participant="001", arm="placebo", metadata={})
    with pytest.raises(DataError) as err:
        run(**job, cfg={"emg": cfg, "on_bad_data": "fail"})
    text = str(err.value)
    assert text.startswith("study 'tiny', participant '001': ") and message in text
    assert files[culprit] in text and err.value.fix and text.endswith(err.value.fix)
    assert not (tmp_path / "out").exists()
    # Under on_bad_data: exclude the same message becomes the participant's exclusion reason.
    run(**job, cfg={"emg": cfg, "on_bad_data": "exclude"})
    qc = json.loads(Path(out["qc"]).read_text())
    assert qc["usable"] is False and qc["exclusion_reason"] == text
    assert pq.read_table(out["bins"]).num_rows == 0


# The EMG stage of the study: per-participant tables and QC records, the QC figures
# of the corrupt participant and of one usable participant, the study table and
# exclusions, the model and its figures. The meta-analysis and the report are left
# out to keep the three runs of this study (here and in test_faults) within CI's time.
TARGETS = (
    "results/tinyemg/qc/emg/001.png",
    f"results/tinyemg/qc/emg/{CORRUPT}.png",
    "results/tinyemg/model/effects.parquet",
    "results/tinyemg/model/timecourses.png",
)


def emg_stage_command(work: Path, *args: str) -> list[str]:
    """The command line of a run of the EMG stage (TARGETS) in `work`."""
    return snakemake_command(work, *args, *TARGETS)


# One template and one reference run per test session, shared with test_faults.
# A memo, not a session fixture: a fixture imported into a second module is a second
# fixture there, and its run would be repeated.
_ONCE: dict[str, Path] = {}


def template(factory: pytest.TempPathFactory) -> Path:
    """Config, sheets and simulated raw data, with participant 003's recording truncated."""
    if "template" not in _ONCE:
        _ONCE["template"] = _make_template(factory.mktemp("robust_template"))
    return _ONCE["template"]


def _make_template(work: Path) -> Path:
    simulated_workdir(work, STUDIES, CONFIG)
    recording = work / f"data/tinyemg/sub-{CORRUPT}/emg/sub-{CORRUPT}_task-faces_emg.bdf"
    with open(recording, "r+b") as fh:
        fh.truncate(300)  # inside the header: what an interrupted copy leaves
    return work


def copy_of_template(factory: pytest.TempPathFactory, dest: Path) -> Path:
    shutil.copytree(template(factory), dest)
    return dest


def reference_run(factory: pytest.TempPathFactory) -> Path:
    """The uninterrupted run on two cores with --keep-going."""
    if "reference" not in _ONCE:
        work = copy_of_template(factory, factory.mktemp("robust") / "run")
        run = subprocess.run(emg_stage_command(work, "--cores", "2", "--keep-going"), check=False, cwd=work, capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
        _ONCE["reference"] = work
    return _ONCE["reference"]


@pytest.fixture
def robust_run(tmp_path_factory) -> Path:
    return reference_run(tmp_path_factory)


@pytest.mark.workflow
def test_the_corrupt_participant_is_excluded_with_its_file_and_reason(robust_run):
    exclusions = pd.read_csv(robust_run / "results/tinyemg/exclusions.tsv", sep="\t", dtype=str)
    assert exclusions[["study", "participant", "stage"]].values.tolist() == [["tinyemg", CORRUPT, "emg_preprocess"]]
    reason = exclusions["reason"].iloc[0]
    assert f"participant '{CORRUPT}'" in reason and f"sub-{CORRUPT}_task-faces_emg.bdf" in reason
    assert "corrupt or truncated" in reason
    qc = json.loads((robust_run / f"results/tinyemg/qc/emg/{CORRUPT}.json").read_text())
    assert qc["usable"] is False and qc["exclusion_reason"] == reason


@pytest.mark.workflow
def test_the_model_runs_on_the_others_and_states_its_n(robust_run):
    fit = json.loads((robust_run / "results/tinyemg/model/fit.json").read_text())
    assert fit["estimable"]
    for model in fit["models"]:
        assert model["n_participants"] == 4
        assert model["n_participants_by_arm"] == {"naltrexone": 2, "placebo": 2}
    effects = read_table(robust_run / "results/tinyemg/model/effects.parquet", EFFECTS)
    assert len(effects) > 0
    assert (effects["n1"] == 2).all() and (effects["n2"] == 2).all()
    trials = pq.read_table(robust_run / "results/tinyemg/model/trials.parquet").to_pandas()
    assert CORRUPT not in set(trials["participant"]) and trials["participant"].nunique() == 4


@pytest.mark.workflow
def test_every_parquet_output_records_versions_and_config_hash(robust_run):
    outputs = sorted((robust_run / "results").rglob("*.parquet"))
    assert len(outputs) == 14  # 5 participants' bins and QC signals, the study table, model trials, effects and their samples
    for path in outputs:
        meta = pq.read_schema(path).metadata
        assert meta[b"opioidsocial.version.opioidsocial"] not in (b"", b"absent"), path
        assert {f"opioidsocial.version.{name}".encode() for name in KEY_PACKAGES} <= set(meta), path
        assert len(meta[b"opioidsocial.config_hash"]) == 16, path


def test_no_rule_runs_a_shell_command():
    """Rules run package code through `script:`: no shell line can be fed a wildcard."""
    rule_files = [REPO / "workflow" / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]
    assert len(rule_files) > 3
    shell = [f"{p.name}:{i}" for p in rule_files for i, line in enumerate(p.read_text().splitlines(), 1) if re.match(r"\s*shell\s*:", line)]
    assert shell == []


def test_yaml_is_only_ever_safe_loaded():
    unsafe = re.compile(r"yaml\.(load|unsafe_load|full_load|load_all)\s*\(|Loader\s*=")
    sources = [p for d in ("src", "scripts", "workflow", "benchmarks", "tests") for p in (REPO / d).rglob("*") if p.suffix in (".py", ".smk")]
    sources.append(REPO / "workflow" / "Snakefile")
    found = [f"{p.relative_to(REPO)}:{i}" for p in sources for i, line in enumerate(p.read_text().splitlines(), 1) if unsafe.search(line)]
    assert found == []


@pytest.mark.parametrize(
    "formula",
    [
        "response ~ __import__('os').system('touch {marker}') + (1 | participant)",
        "__import__('os').system('touch {marker}') ~ arm + (1 | participant)",
        "response ~ I(__import__('os').system('touch {marker}')) + (1 | participant)",
        "response ~ arm + (1 | participant); __import__('os').system('touch {marker}')",
    ],
)
def test_a_formula_is_parsed_never_evaluated(tmp_path, formula):
    marker = tmp_path / "pwned"
    data = pd.DataFrame({"response": [1.0, 2.0, 3.0, 4.0], "arm": ["a", "b"] * 2, "participant": ["1", "1", "2", "2"]})
    with pytest.raises(LmmError, match="is not a valid lme4 formula"):
        fit(formula.format(marker=marker), data)
    assert not marker.exists()
