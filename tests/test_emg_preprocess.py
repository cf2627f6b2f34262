import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from opioidsocial.emg.participant import run
from opioidsocial.emg.preprocess import preprocess_participant
from opioidsocial.errors import DataError
from opioidsocial.io.bids import emg_files
from opioidsocial.io.contracts import EMG_BINS
from opioidsocial.io.tables import conform, read_table
from opioidsocial.simulate.emg import simulate_study
from tests.conftest import TINY_EMG


def _run(row, participant, cfg):
    """The EMG_BINS rows and QC record (the QC signals are tested in test_emg_chain.py)."""
    return preprocess_participant(emg_files(row, participant), study=row["study"], participant=participant, arm="placebo", cfg=cfg)[:2]


def test_output_matches_the_contract(tiny_emg_study, emg_cfg):
    bins, qc = _run(tiny_emg_study, "001", emg_cfg)
    conform(bins, EMG_BINS)
    n_trials = 2 * 3 * 2
    assert qc["n_trials"] == n_trials
    assert len(bins) == n_trials * 2 * 50  # trials x muscles x 0.1 s bins over [-1, 4) s
    assert bins["bin_start_s"].min() == -1.0 and bins["bin_start_s"].max() == pytest.approx(3.9)
    base = bins[(bins["bin_start_s"] < 0) & ~bins["artefact"]]
    assert abs(base["amplitude_uv"].mean()) < 0.05  # baseline-corrected


def test_injected_artefacts_are_caught_and_clean_trials_spared(tiny_emg_study, emg_cfg):
    truth = json.loads((Path(tiny_emg_study["path"]) / "truth.json").read_text())
    injected = truth["injected_artefacts"]
    assert {a["kind"] for a in injected} >= {"movement", "clipped"}  # the fixture injects them
    caught, bad_cells, false_alarms, clean_cells = 0, 0, 0, 0
    for p in ("001", "002", "003", "004"):
        bins, _ = _run(tiny_emg_study, p, emg_cfg)
        cells = bins.drop_duplicates(["trial", "muscle"]).set_index(["trial", "muscle"])
        mine = [a for a in injected if a["participant"] == p]
        flat = {a["muscle"] for a in mine if a["kind"] == "flat"}
        expected = {(a["trial"], a["muscle"]) for a in mine if a["trial"] is not None}
        for (trial, muscle), row in cells.iterrows():
            bad = (trial, muscle) in expected or muscle in flat
            if bad:
                bad_cells += 1
                caught += bool(row["artefact"])
            else:
                clean_cells += 1
                false_alarms += bool(row["artefact"])
    assert bad_cells > 0 and caught == bad_cells
    assert false_alarms <= 0.02 * clean_cells


def test_response_direction_is_recovered(tiny_emg_study, emg_cfg):
    """Zygomaticus responds to happy faces, corrugator relaxes (simulated truth)."""
    bins, _ = _run(tiny_emg_study, "002", emg_cfg)
    window = bins[(bins["bin_start_s"] >= 0.5) & (bins["bin_start_s"] < 3.5) & ~bins["artefact"]]
    means = window.groupby(["muscle", "emotion"])["amplitude_uv"].mean()
    assert means["zygomaticus", "happy"] > 0.5
    assert means["zygomaticus", "happy"] > means["zygomaticus", "angry"] + 0.5
    assert means["corrugator", "angry"] > means["corrugator", "happy"] + 0.5


def test_simulator_same_seed_same_bytes(tmp_path):
    digests = []
    for name in ("a", "b"):
        row = {"study": "x", "path": str(tmp_path / name), "task": "faces", "reference": "placebo"}
        simulate_study(study="x", row=row, params={**TINY_EMG, "arms": {"placebo": 1, "naltrexone": 1}}, seed=3)
        files = sorted(p for p in (tmp_path / name).rglob("*") if p.is_file())
        digests.append({str(p.relative_to(tmp_path / name)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files})
    assert digests[0] == digests[1]
    assert any(k.endswith("_emg.bdf") for k in digests[0])


def test_unusable_participant_is_excluded_or_fails_by_policy(tiny_emg_study, emg_cfg, tmp_path):
    files = emg_files(tiny_emg_study, "001")
    strict = {**emg_cfg, "max_rejected_fraction": 0.0, "reject_robust_z": 0.01, "reject_min_ratio": 1.0}
    kwargs = dict(inputs=files, study="tiny", participant="001", arm="placebo", metadata={})

    def outputs(name):
        return {"bins": str(tmp_path / f"{name}.parquet"), "qc": str(tmp_path / f"{name}.json"), "signals": str(tmp_path / f"{name}.signals.parquet")}

    with pytest.raises(DataError, match="participant '001'.*rejected"):
        run(outputs=outputs("f"), cfg={"emg": strict, "on_bad_data": "fail"}, **kwargs)
    assert not list(tmp_path.iterdir())  # nothing half-written
    run(outputs=outputs("e"), cfg={"emg": strict, "on_bad_data": "exclude"}, **kwargs)
    qc = json.loads((tmp_path / "e.json").read_text())
    assert qc["usable"] is False and "rejected" in qc["exclusion_reason"]
    assert read_table(tmp_path / "e.parquet", EMG_BINS).empty


def test_z_scores_are_standardised_over_clean_rows(tiny_emg_study, emg_cfg):
    bins, _ = _run(tiny_emg_study, "003", emg_cfg)
    clean = bins[~bins["artefact"]]
    stats = clean.groupby("muscle")["amplitude_z"].agg(["mean", "std"])
    assert np.allclose(stats["mean"], 0, atol=1e-9) and np.allclose(stats["std"], 1, atol=1e-9)
