"""The real-size benchmark still runs the workflow: a two-size miniature of study_scale.

The benchmarks are run by hand, so a change elsewhere (the Snakefile moved, a muscle
renamed) can break them unnoticed until the next measurement; this runs the
end-to-end one on two and three participants with 18-second recordings.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PER_PARTICIPANT = {"emg_preprocess", "emg_qc_figure"}
PER_STUDY = {"emg_study_table", "emg_model", "emg_model_timecourses"}


def test_study_scale_runs_every_size_end_to_end(tmp_path):
    out = tmp_path / "study_scale.json"
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "study_scale.py"), "--sizes", "2", "3", "--minutes", "0.3",
                          "--data", str(tmp_path / "data"), "--out", str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert [size["participants"] for size in result["sizes"]] == [2, 3]
    for size in result["sizes"]:
        # every job of the study ran and left its benchmark file: one per participant and rule, one per study rule
        expected = {**dict.fromkeys(PER_PARTICIPANT, size["participants"]), **dict.fromkeys(PER_STUDY, 1)}
        assert size["jobs"] == expected and set(size["job_s"]) == set(expected)
        assert 0 < size["core_s"] <= result["cores"] * size["wall_s"] + 1e-6
        split = size["python_startup_s"] + size["compute_s"] + size["snakemake_and_idle_s"]
        assert split == pytest.approx(result["cores"] * size["wall_s"])
    # two tiny sizes differ by noise, so only that the fit over sizes was made is checked
    assert all(math.isfinite(result["growth"][measure]["per_participant"]) for measure in ("wall_s", "core_s"))
