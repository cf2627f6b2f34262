import numpy as np
import pytest

from opioidsocial.emg import artefacts


def test_movement_bursts_are_caught_and_strong_genuine_responses_spared():
    rng = np.random.default_rng(0)
    peaks = rng.normal(8.0, 0.3, (40, 2))
    peaks[5, 0] = 12.0  # a strong genuine response: 1.5x the median, many robust SDs
    peaks[17, 1] = 60.0  # a movement burst: 7.5x
    hit = artefacts.outlying_level(peaks, z=3.5, min_ratio=3.0)
    assert hit[17, 1]
    assert hit.sum() == 1


def test_clipping_needs_a_run_at_the_extreme():
    rng = np.random.default_rng(1)
    raw = rng.normal(0, 5, (6, 2, 2000))
    raw[2, 1, 500:520] = raw[2, 1].max() + 50  # saturated at a rail
    raw[4, 0, 900:903] = raw[4, 0].max() + 50  # three equal samples: shorter than the run
    out = artefacts.clipped(raw, run=5)
    assert out[2, 1]
    assert out.sum() == 1


def test_flat_channel():
    rng = np.random.default_rng(2)
    filtered = np.vstack([rng.normal(0, 3, 5000), rng.normal(0, 0.05, 5000)])
    assert artefacts.flat(filtered, flat_uv=0.2).tolist() == [False, True]


@pytest.mark.parametrize("run", [2, 3, 5, 8])
def test_clipping_counts_runs_at_either_rail(run):
    raw = np.random.default_rng(run).normal(0, 5, (4, 1, 1000))
    raw[0, 0, 100 : 100 + run] = raw[0, 0].max() + 50  # exactly `run` at the top rail
    raw[1, 0, 200 : 200 + run] = raw[1, 0].min() - 50  # exactly `run` at the bottom rail
    raw[2, 0, 300 : 300 + run - 1] = raw[2, 0].max() + 50  # one sample short
    raw[3, 0, 400 : 400 + run] = 0.0  # a run of equal samples inside the range
    assert artefacts.clipped(raw, run=run)[:, 0].tolist() == [True, True, False, False]
