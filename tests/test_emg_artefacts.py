import numpy as np
import pytest

from opioidsocial.emg import artefacts, epochs


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
    assert artefacts.flat(np.array([3.0, 0.05]), flat_uv=0.2).tolist() == [False, True]


def test_clipping_of_a_recording_equals_clipping_of_every_epoch():
    """clipped_epochs judges only epochs near a run of equal samples; the answer must not change."""
    rng = np.random.default_rng(6)
    raw = np.round(rng.normal(0, 50, (2, 60_000)))  # integer-valued: neighbours repeat by chance
    raw[0, 10_000:10_006] = raw[0].max() + 9  # a saturated run inside epochs 2 and 3 (they overlap)
    raw[1, 59_990:60_000] = raw[1].min() - 9  # a run near the end, outside every epoch
    raw[1, 30_000:30_004] = raw[1].max() + 9  # four equal samples: shorter than the run
    samples = np.arange(2_000, 55_000, 4_000)
    expected = artefacts.clipped(epochs.cut(raw, samples, sfreq=1000.0, tmin=-1.0, tmax=4.0)[0], run=5)
    got = artefacts.clipped_epochs(raw, samples, sfreq=1000.0, tmin=-1.0, tmax=4.0, run=5)
    assert got.any() and np.array_equal(got, expected)


@pytest.mark.parametrize("run", [2, 3, 5, 8])
def test_clipping_counts_runs_at_either_rail(run):
    raw = np.random.default_rng(run).normal(0, 5, (4, 1, 1000))
    raw[0, 0, 100 : 100 + run] = raw[0, 0].max() + 50  # exactly `run` at the top rail
    raw[1, 0, 200 : 200 + run] = raw[1, 0].min() - 50  # exactly `run` at the bottom rail
    raw[2, 0, 300 : 300 + run - 1] = raw[2, 0].max() + 50  # one sample short
    raw[3, 0, 400 : 400 + run] = 0.0  # a run of equal samples inside the range
    assert artefacts.clipped(raw, run=run)[:, 0].tolist() == [True, True, False, False]
