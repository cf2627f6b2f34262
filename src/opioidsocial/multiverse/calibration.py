"""Simulated studies for the calibration and power of the joint tests.

Each study is drawn by the EMG simulator's generative model
(:func:`opioidsocial.simulate.emg.simulate_trials`) and binned
(:func:`opioidsocial.simulate.binned.bins_from_trials`), so that its universes are
the study stage's own ``emg.zscore`` x ``emg.response_s`` choices
(:func:`opioidsocial.emg.trials.responses_from_bins`), without writing and
preprocessing recordings: the joint tests' calibration depends on the relabelling
and on the dependence between universes, which these universes share with the
preprocessing ones, not on how the bins were made.
"""

from __future__ import annotations

import pandas as pd

from opioidsocial.emg.trials import participant_cell_means, responses_from_bins
from opioidsocial.multiverse.grid import KEYS, universes
from opioidsocial.multiverse.study import study_multiverse
from opioidsocial.simulate.binned import bins_from_trials
from opioidsocial.simulate.emg import simulate_trials

#: The universes of a simulated study: the choices the study stage makes from bins.
GRID = {"zscore": ["none", "within_muscle", "within_participant"], "response_s": [[0.5, 3.5], [0.5, 2.0]]}


def simulated_joint_tests(params: dict, *, seed: int, permutations: int, alpha: float = 0.05) -> pd.DataFrame:
    """The joint tests (MULTIVERSE_JOINT rows) of one simulated between-subjects study with ``params`` (simulate.emg)."""
    trials, _ = simulate_trials(study="simulated", params=params, seed=seed)
    bins = bins_from_trials(trials, study="simulated", seed=seed + 1)
    table = universes(GRID, dict.fromkeys(KEYS))
    cells = []
    for row in table.itertuples(index=False):
        means = participant_cell_means(responses_from_bins(bins, window=tuple(row.response_s), zscore=row.zscore))
        cells.append(means.rename(columns={"mean_uv": "value"}).assign(universe=row.universe))
    cells = pd.concat(cells, ignore_index=True)
    reference = "placebo"
    drug = next(a for a in params["arms"] if a != reference)
    study = {"study": "simulated", "reference": reference, "drug": drug, "design": "between"}
    _, joints, _ = study_multiverse(cells, study_row=study, grid=GRID, within=["emotion", "muscle"], permutations=permutations, seed=seed,
                                    alpha=alpha)
    return joints
