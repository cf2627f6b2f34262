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
from opioidsocial.multiverse.participant import participant_cells

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
