"""The summary-study simulator (every conversion path, truth, stable bytes) and stable plot bytes."""

import json

import numpy as np
import pytest

from opioidsocial.meta.harmonise import from_summary, harmonise
from opioidsocial.meta.plots import write_plots
from opioidsocial.meta.pooled import pooled_table
from opioidsocial.meta.published import read_summary
from opioidsocial.simulate.summary import simulate_study

ROW = {"study": "korb2020", "drug": "naltrexone", "direction": -1, "reference": "placebo", "sample_group": "korb"}
EFFECTS = [
    {"outcome": "zygomaticus to happy faces", "report": "means", "n": 40, "effect": -0.2, "modality": "emg"},
    {"outcome": "corrugator to happy faces", "report": "t", "n": 40, "effect": 0.3},
    {"outcome": "corrugator to angry faces", "report": "given", "n": 40, "effect": 0.1},
    {"outcome": "zygomaticus to happy faces", "contrast": "amisulpride - placebo", "drug": "amisulpride", "direction": 0, "report": "means", "n": 40},
    {"outcome": "liking", "design": "within", "report": "means", "n": 24, "effect": -0.3},
    {"outcome": "wanting", "design": "within", "report": "t", "n": 24, "effect": -0.3, "retest_r": 0.2},
    {"outcome": "liking with zygomaticus", "contrast": "correlation", "direction": 0, "design": "within", "report": "correlation", "n": 40, "effect": 0.35},
]


def _simulate(tmp_path, name="a", *, effects=EFFECTS, seed=5, decimals=2):
    row = {**ROW, "path": str(tmp_path / name / "summary.tsv")}
    simulate_study(study="korb2020", row=row, params={"effects": effects, "decimals": decimals}, seed=seed)
    return row


def test_every_conversion_runs_and_bytes_are_stable(tmp_path):
    a, b = _simulate(tmp_path, "a"), _simulate(tmp_path, "b")
    assert open(a["path"], "rb").read() == open(b["path"], "rb").read()
    got = read_summary(a["path"], study_row=a)
    assert list(got["measure"]) == ["SMD", "SMD", "SMD", "SMD", "SMCC", "SMCC", "ZCOR"]
    assert got["conversion"].nunique() == 6
    assert list(got["direction"]) == [-1, -1, -1, 0, -1, -1, 0]
    truth = json.loads((tmp_path / "a" / "truth.json").read_text())
    assert truth["seed"] == 5 and len(truth["effects"]) == 7
    assert truth["effects"][5]["true_yi"] == pytest.approx(-0.3 / np.sqrt(2 * 0.8))
    assert open(_simulate(tmp_path, "c", seed=6)["path"], "rb").read() != open(a["path"], "rb").read()


def test_large_samples_recover_the_true_effects(tmp_path):
    big = [{**e, "n": 4000} for e in EFFECTS]
    row = _simulate(tmp_path, "big", effects=big, decimals=4)
    got = read_summary(row["path"], study_row=row)
    truth = json.loads((tmp_path / "big" / "truth.json").read_text())["effects"]
    for (_, r), t in zip(got.iterrows(), truth):
        # Hedges' g is unbiased; five SEs allow for chance over the seven effects.
        assert abs(r["yi"] - t["true_yi"]) < 5 * np.sqrt(r["vi"]), (t["outcome"], r["yi"], t["true_yi"])


def test_plots_have_stable_bytes_and_no_dates(tmp_path):
    rows = [_simulate(tmp_path, f"s{i}", effects=EFFECTS[:2], seed=i) for i in range(3)]
    parts = []
    for i, row in enumerate(rows):
        part = read_summary(row["path"], study_row=row).assign(sample_group=f"g{i}", study=f"s{i}")
        parts.append(from_summary(part))
    effects = harmonise(parts, families=[], outcome_pattern="^(?P<muscle>\\w+) to (?P<emotion>\\w+) faces$")
    pooled = pooled_table(effects, methods=["REML"], tests=["knha"], rho=0.5, min_k=2, level=0.95)
    assert (pooled["k"] == 3).all() and list(pooled["family"]) == ["corrugator to happy faces", "zygomaticus to happy faces"]
    out = []
    for run in ("x", "y"):
        out.append(write_plots(effects, pooled, forest_dir=tmp_path / run / "forest", funnel_stem=tmp_path / run / "funnel",
                               method="REML", test="knha", level=0.95, dpi=60))
    names = sorted(p.name for p in out[0])
    assert "zygomaticus_to_happy_faces.svg" in names and "funnel.png" in names
    assert len(names) == 2 * (effects["family"].nunique() + 1)
    for p, q in zip(out[0], out[1]):
        assert p.read_bytes() == q.read_bytes(), p.name
    svg = (tmp_path / "x" / "funnel.svg").read_text()
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert b"Software" not in (tmp_path / "x" / "funnel.png").read_bytes()[:200]


def test_simulator_rejects_unknown_options(tmp_path):
    from opioidsocial.config import ConfigError

    with pytest.raises(ConfigError, match="effectsize"):
        simulate_study(study="korb2020", row={**ROW, "path": str(tmp_path / "s.tsv")},
                       params={"effects": [{"outcome": "x", "report": "t", "n": 10, "effectsize": 1}]}, seed=1)
