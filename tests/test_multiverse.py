"""The multiverse: universes numbered stably, every universe of one participant equal to
today's preprocessing run with that universe's settings, and the study's statistics."""

import numpy as np
import pytest

from opioidsocial.emg.preprocess import preprocess_participant
from opioidsocial.emg.trials import participant_cell_means, responses_from_bins
from opioidsocial.io.bids import emg_files
from opioidsocial.io.contracts import MULTIVERSE_CELLS
from opioidsocial.io.tables import conform
from opioidsocial.multiverse.grid import default_universe, universes
from opioidsocial.multiverse.universes import participant_cells

GRID = {"envelope": ["rectify", "rms"], "baseline_method": ["subtract", "ratio", "log_ratio"],
        "zscore": ["none", "within_muscle", "within_participant"], "baseline_s": [[-1.0, 0.0], [-0.5, 0.0]],
        "response_s": [[0.5, 3.5], [0.5, 2.0]], "highpass_hz": [20.0, 28.0]}


def test_universe_numbers_do_not_change_when_a_list_grows(emg_cfg):
    before = universes(GRID, emg_cfg)
    assert len(before) == 144 and before["universe"].is_unique
    after = universes({**GRID, "zscore": [*GRID["zscore"], "none"], "smoothing_ms": [100.0, 50.0]}, emg_cfg)
    assert len(after) == 144 * 4 / 3 * 2
    kept = after.set_index("universe").loc[before["universe"], before.columns[1:]]
    assert (kept.reset_index().astype(str) == before.astype(str)).all().all()
    assert default_universe(before, emg_cfg) == 0


@pytest.fixture(scope="module")
def cells(tiny_emg_study):
    from opioidsocial.config import validate_section

    emg = validate_section({}, "emg.schema.yaml", source="emg")
    return participant_cells(emg_files(tiny_emg_study, "001"), study="tiny", participant="001", arm="placebo", emg=emg, grid=GRID)


@pytest.mark.parametrize("settings", [{}, {"envelope": "rms", "baseline_method": "log_ratio", "zscore": "within_participant"},
                                      {"baseline_method": "ratio", "zscore": "within_muscle", "baseline_s": [-0.5, 0.0], "highpass_hz": 28.0},
                                      {"response_s": [0.5, 2.0], "envelope": "rms"}])
def test_each_universe_is_todays_analysis_with_its_settings(tiny_emg_study, emg_cfg, cells, settings):
    """The participant's cell means of a universe equal today's preprocessing, trial responses and
    participant means run with that universe's settings (the same functions, vectorised)."""
    conform(cells, MULTIVERSE_CELLS)
    assert cells["universe"].nunique() == 144
    cfg = {**emg_cfg, **settings}
    universe = default_universe(universes(GRID, emg_cfg), cfg)
    bins, _, _ = preprocess_participant(emg_files(tiny_emg_study, "001"), study="tiny", participant="001", arm="placebo", cfg=cfg)
    trials = responses_from_bins(bins, window=tuple(cfg["response_s"]), method=cfg["baseline_method"], zscore=cfg["zscore"])
    today = participant_cell_means(trials)
    mine = cells[cells["universe"] == universe].merge(today, on=["participant", "arm", "emotion", "muscle"])
    assert len(mine) == len(today) == (cells["universe"] == universe).sum() > 0
    np.testing.assert_allclose(mine["value"], mine["mean_uv"], rtol=1e-12)


def _study_cells(tiny_emg_study, emg, grid):
    """The tiny study's four participants in two arms: their multiverse cells and today's trial responses."""
    import pandas as pd

    arms = {"001": "placebo", "002": "placebo", "003": "naltrexone", "004": "naltrexone"}
    cells, trials = [], []
    for p, arm in arms.items():
        files = emg_files(tiny_emg_study, p)
        cells.append(participant_cells(files, study="tiny", participant=p, arm=arm, emg=emg, grid=grid))
        bins, _, _ = preprocess_participant(files, study="tiny", participant=p, arm=arm, cfg=emg)
        trials.append(responses_from_bins(bins, window=tuple(emg["response_s"])))
    return pd.concat(cells, ignore_index=True), pd.concat(trials, ignore_index=True)


def test_todays_analysis_is_one_universe_with_todays_effects(tiny_emg_study, emg_cfg):
    """specifications' rows of the default universe equal effects.parquet's yi and vi (study_effects, as the
    model stage computes them), to rounding of the sums' order."""
    from opioidsocial.emg.effects import study_effects
    from opioidsocial.multiverse.study import study_multiverse

    grid = {"baseline_method": ["subtract", "log_ratio"], "zscore": ["none", "within_participant"], "envelope": ["rectify", "rms"]}
    cells, trials = _study_cells(tiny_emg_study, emg_cfg, grid)
    row = {"study": "tiny", "reference": "placebo", "drug": "naltrexone", "design": "between", "direction": -1, "sample_group": "tiny"}
    spec, joints, choices = study_multiverse(cells, study_row=row, grid=grid, within=["emotion", "muscle"], permutations=20, seed=1, alpha=0.05)
    today, _ = study_effects(trials, study_row=row)
    default = spec[spec["universe"] == default_universe(universes(grid, emg_cfg), emg_cfg)].merge(today, on=["contrast", "outcome"])
    assert len(default) == len(today) > 0
    np.testing.assert_allclose(default["yi_x"], default["yi_y"], rtol=1e-12)
    np.testing.assert_allclose(default["vi_x"], default["vi_y"], rtol=1e-12)
    assert (default["n1_x"] == default["n1_y"]).all()
    assert set(spec["envelope"]) == {"rectify", "rms"} and spec["universe"].nunique() == 8
    # the t test is Student's: its g from t equals yi
    g_from_t = spec["t"] * np.sqrt(1 / spec["n1"] + 1 / spec["n2"].astype(float)) * _hedges(spec["df"])
    np.testing.assert_allclose(g_from_t, spec["yi"], rtol=1e-9)
    assert len(joints) == len(today) and joints["p_median"].between(1 / 21, 1).all()
    assert set(choices["choice"]) == set(grid) and choices["variance_explained"].between(0, 1).all()


def _hedges(df):
    from opioidsocial.stats.escalc import hedges_correction

    return hedges_correction(df.to_numpy(dtype=float))


def test_meta_multiverse_pools_each_universe_with_the_primary_model():
    """Universe by universe: the multiverse studies' effects replaced by the universe's, the others kept,
    pooled as pooled.tsv's primary row (first method and test) pools them."""
    import pandas as pd

    from opioidsocial.meta.pooled import pooled_table
    from opioidsocial.multiverse.meta import meta_multiverse

    effects = pd.DataFrame({
        "family": "zygomaticus to happy faces", "study": ["a", "b", "c"], "outcome": "zygomaticus to happy faces",
        "contrast": "naltrexone - placebo", "yi": [0.3, -0.1, 0.5], "vi": [0.2, 0.1, 0.3], "direction": [-1, -1, 1],
        "sample_group": ["a", "b", "c"],
    })
    effects["yi_harmonised"] = effects["yi"] * effects["direction"]
    grid = {"zscore": ["none", "within_muscle"]}
    specs = pd.DataFrame({"study": ["a", "a", "b", "b"], "universe": [0, 100000, 0, 100000], "contrast": "naltrexone - placebo",
                          "outcome": "zygomaticus to happy faces", "yi": [0.3, 0.6, -0.1, -0.4], "vi": [0.2, 0.25, 0.1, 0.12]})
    meta = {"methods": ["REML", "DL"], "tests": ["knha", "z"], "overlap_rho": 0.5, "min_k": 2, "level": 0.95}
    table = meta_multiverse(effects, specs, grid=grid, meta=meta)
    assert set(table["model"]) == {"opioid_aligned", "antagonist"}
    table = table[table["model"] == "opioid_aligned"]
    assert list(table["universe"]) == [0, 100000] and list(table["zscore"]) == ["none", "within_muscle"]
    for universe, yi, vi in ((0, [0.3, -0.1], [0.2, 0.1]), (100000, [0.6, -0.4], [0.25, 0.12])):
        replaced = effects.assign(yi=yi + [0.5], vi=vi + [0.3])
        replaced["yi_harmonised"] = replaced["yi"] * replaced["direction"]
        primary = pooled_table(replaced, methods=["REML"], tests=["knha"], rho=0.5, min_k=2, level=0.95).iloc[0]
        row = table[table["universe"] == universe].iloc[0]
        assert row["k"] == primary["k"] == 3
        np.testing.assert_allclose(row[["estimate", "ci_lb", "ci_ub"]].to_numpy(float), primary[["estimate", "ci_lb", "ci_ub"]].to_numpy(float), rtol=1e-12)
        assert 0 < row["p"] < 1


def test_curves_are_drawn(tmp_path, tiny_emg_study, emg_cfg):
    """The study's specification curves and the meta curves are written as PNG figures."""
    from PIL import Image

    from opioidsocial.multiverse.plots import plot_curves, plot_meta_curves
    from opioidsocial.multiverse.study import study_multiverse

    grid = {"zscore": ["none", "within_participant"]}
    cells, _ = _study_cells(tiny_emg_study, emg_cfg, grid)
    row = {"study": "tiny", "reference": "placebo", "drug": "naltrexone", "design": "between"}
    spec, joints, _ = study_multiverse(cells, study_row=row, grid=grid, within=["emotion", "muscle"], permutations=10, seed=1, alpha=0.05)
    plot_curves(spec, joints, alpha=0.05, path=tmp_path / "curves.png")
    meta = spec.assign(family=spec["outcome"], model="opioid_aligned", k=2, estimate=spec["yi"], ci_lb=spec["yi"] - 1, ci_ub=spec["yi"] + 1)
    plot_meta_curves(meta, path=tmp_path / "meta.png")
    for name in ("curves.png", "meta.png"):
        assert Image.open(tmp_path / name).size[1] > 400


def test_filter_keys_do_not_apply_to_envelope_recordings(tmp_path, emg_cfg):
    """A study recorded as envelopes has one universe per combination of the other keys, and its
    specifications write envelope and highpass_hz as n/a."""
    from opioidsocial.multiverse.study import grid_columns
    from opioidsocial.simulate.emg import simulate_study
    from tests.conftest import TINY_EMG

    row = {"study": "env", "path": str(tmp_path / "env"), "task": "faces", "reference": "placebo"}
    simulate_study(study="env", row=row, params={**TINY_EMG, "signal": "envelope"}, seed=3)
    grid = {"envelope": ["rectify", "rms"], "baseline_method": ["subtract", "ratio"], "highpass_hz": [20.0, 28.0]}
    cells = participant_cells(emg_files(row, "001"), study="env", participant="001", arm="placebo", emg=emg_cfg, grid=grid)
    assert sorted(cells["universe"].unique()) == [0, 1_000_000]  # baseline_method is the second digit of eight
    keys = grid_columns(cells["universe"].drop_duplicates(), grid)
    assert (keys["envelope"] == "n/a").all() and (keys["highpass_hz"] == "n/a").all()
    assert list(keys["baseline_method"]) == ["subtract", "ratio"]


def test_participant_job_applies_on_bad_data(tmp_path, tiny_emg_study, emg_cfg):
    """A high-pass edge the recording cannot carry fails naming the file, or with exclude gives an empty table."""
    import json

    from opioidsocial.errors import DataError
    from opioidsocial.io.contracts import MULTIVERSE_ENVELOPES
    from opioidsocial.io.tables import read_table
    from opioidsocial.multiverse.participant import run

    files = emg_files(tiny_emg_study, "001")
    qc = tmp_path / "qc.json"
    qc.write_text(json.dumps({"study": "tiny", "participant": "001", "usable": True, "exclusion_reason": ""}))
    cfg = {"emg": emg_cfg}  # a grid that lists neither envelope nor smoothing_ms: the job's config has no multiverse section
    args = {"inputs": {**files, "qc": str(qc)}, "outputs": {"envelopes": str(tmp_path / "envelopes.parquet")}, "study": "tiny",
            "participant": "001", "highpass": "5000", "first_highpass": False, "arm": "placebo", "metadata": {}}
    with pytest.raises(DataError, match="highpass_hz"):
        run(cfg={**cfg, "on_bad_data": "fail"}, **args)
    run(cfg={**cfg, "on_bad_data": "exclude"}, **args)
    assert read_table(tmp_path / "envelopes.parquet", MULTIVERSE_ENVELOPES).empty


@pytest.mark.parametrize("multiverse, emg, message", [
    ({"studies": ["a"], "grid": {"baseline_s": [[-1.0, 0.0], [-0.25, 0.0]]}}, {}, r"baseline window -0.25,0 s does not start and end on a bin edge"),
    ({"studies": ["a"], "grid": {"zscore": ["none"]}}, {"baseline_s": [-0.95, 0.0]}, r"baseline window -0.95,0 s .* emg.bin_s that divides them"),
    ({"studies": ["a"], "grid": {"highpass_hz": [20.0, 600.0]}}, {}, r"multiverse.grid.highpass_hz 600 must be below emg.lowpass_hz"),
    ({"studies": ["a"], "grid": {"response_s": [[-0.5, 2.0]]}}, {}, r"must end before multiverse.grid.response_s"),
])
def test_grid_settings_a_universe_cannot_have_stop_the_run(multiverse, emg, message):
    """Each names the key and the fix; the bin-edge rule applies only when a study's multiverse is on."""
    from opioidsocial.config import CONFIG_SCHEMA_PATH, ConfigError, validate_config

    with pytest.raises(ConfigError, match=message):
        validate_config({"multiverse": multiverse, "emg": emg}, CONFIG_SCHEMA_PATH, source="config")
    if "baseline" in message:
        validate_config({"multiverse": {**multiverse, "studies": []}, "emg": emg}, CONFIG_SCHEMA_PATH, source="config")
