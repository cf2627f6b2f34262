"""The multiverse's matrix statistics against scipy's t tests, and the joint tests' definitions by loops."""

import numpy as np
import pytest
from scipy import stats

from opioidsocial.multiverse import joint
from opioidsocial.stats.escalc import hedges_correction


def _data(seed=0, n=14, universes=12):
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(n, 1))
    y = 3 + shared + 0.5 * rng.normal(size=(n, universes))
    y[rng.random(y.shape) < 0.05] = np.nan  # a participant without a clean trial in a universe
    labels = np.array([1.0] * (n // 2) + [0.0] * (n - n // 2))
    return y, labels


def test_between_is_students_t_and_hedges_g_per_universe_and_permutation():
    y, labels = _data()
    perms = joint.relabellings(labels, design="between", permutations=5, rng=np.random.default_rng(1))
    null = joint.between(perms, y)
    for row, lab in [(None, labels), *enumerate(perms)]:
        curve = joint.between(lab, y) if row is None else joint.Curve(*(a[row] for a in (null.n1, null.n2, null.g, null.t, null.df)))
        for c in range(y.shape[1]):
            a, b = y[lab == 1, c], y[lab == 0, c]
            a, b = a[np.isfinite(a)], b[np.isfinite(b)]
            t = stats.ttest_ind(a, b, equal_var=True).statistic
            df = len(a) + len(b) - 2
            assert curve.t[c] == pytest.approx(t, rel=1e-10) and curve.df[c] == df
            assert curve.g[c] == pytest.approx(hedges_correction(df) * t * np.sqrt(1 / len(a) + 1 / len(b)), rel=1e-10)


def test_within_is_the_paired_t_under_sign_flips():
    y, _ = _data(seed=2)
    signs = joint.relabellings(np.ones(len(y)), design="within", permutations=4, rng=np.random.default_rng(3))
    null = joint.within(signs, y)
    for p, s in enumerate(signs):
        for c in range(y.shape[1]):
            d = (s * y[:, c])[np.isfinite(y[:, c])]
            assert null.t[p, c] == pytest.approx(stats.ttest_1samp(d, 0).statistic, rel=1e-10)
            assert null.g[p, c] == pytest.approx(hedges_correction(len(d) - 1) * d.mean() / d.std(ddof=1), rel=1e-10)


def test_joint_p_values_follow_their_definitions():
    """Each p: (1 + relabellings at least as extreme in the observed median's direction) / (1 + relabellings)."""
    y, labels = _data(seed=4, n=20, universes=30)
    y[labels == 1] += 1.5
    perms = joint.relabellings(labels, design="between", permutations=200, rng=np.random.default_rng(5))
    observed, null = joint.between(labels, y), joint.between(perms, y)
    test = joint.joint_test(observed, null, alpha=0.05)
    sign = np.sign(np.median(observed.g))

    def summary(t, g, df):
        p2 = 2 * stats.t.sf(abs(t), df)
        p1 = stats.t.sf(sign * t, df)
        return np.median(g), np.mean((p2 < 0.05) & (np.sign(t) == sign)), stats.norm.isf(p1).sum() / np.sqrt(len(t))

    obs = summary(observed.t, observed.g, observed.df)
    rows = [summary(null.t[p], null.g[p], null.df[p]) for p in range(200)]
    assert test.median_yi == pytest.approx(obs[0]) and test.share_significant == pytest.approx(obs[1])
    assert test.stouffer_z == pytest.approx(obs[2])
    assert test.p_median == pytest.approx((1 + sum(sign * r[0] >= sign * obs[0] for r in rows)) / 201)
    assert test.p_share == pytest.approx((1 + sum(r[1] >= obs[1] for r in rows)) / 201)
    assert test.p_stouffer == pytest.approx((1 + sum(r[2] >= obs[2] for r in rows)) / 201)
    assert test.p_median < 0.05 and test.n_universes == 30


def test_joint_tests_are_calibrated_under_the_null_small():
    """Null studies of the demo's Meier-sized design (every drug effect 0): each joint test of the planned
    outcome rejects at 0.05 in a share whose binomial 95 % CI contains 0.05 (the full 200-study version
    is benchmarks/multiverse.py --calibration)."""
    import yaml

    from opioidsocial.multiverse.calibration import simulated_joint_tests
    from tests.conftest import REPO

    params = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["simulate"]["emg"]["naltrexone2016"]
    null = {**params, "arm_effects": {}}
    rows = [simulated_joint_tests(null, seed=s, permutations=99).set_index("outcome").loc["corrugator to happy faces"] for s in range(30)]
    for test in ("p_median", "p_share", "p_stouffer"):
        rejected = sum(r[test] < 0.05 for r in rows)
        ci = stats.binomtest(rejected, len(rows)).proportion_ci(0.95)
        assert ci.low <= 0.05 <= ci.high, (test, rejected)


def test_study_statistics_do_not_depend_on_the_order_participants_arrive_in():
    """The study job's tables are the same whatever order the participants' files are read in
    (jobs finish in any order under any --cores): seeded relabellings of sorted participants."""
    import pandas as pd

    from opioidsocial.multiverse.study import study_multiverse

    rng = np.random.default_rng(8)
    rows = [{"universe": u, "participant": f"{p:02d}", "arm": "drug" if p % 2 else "placebo", "muscle": "corrugator", "emotion": e,
             "value": rng.normal() + 0.1 * u} for p in range(12) for u in (0, 1000000) for e in ("happy", "angry")]
    cells = pd.DataFrame(rows)
    row = {"study": "s", "reference": "placebo", "drug": "drug", "design": "between"}
    kwargs = {"study_row": row, "grid": {"baseline_method": ["subtract", "ratio"]}, "within": ["emotion", "muscle"], "permutations": 50, "seed": 3,
              "alpha": 0.05}
    first = study_multiverse(cells, **kwargs)
    again = study_multiverse(cells.sample(frac=1, random_state=1).reset_index(drop=True), **kwargs)
    for a, b in zip(first, again):
        pd.testing.assert_frame_equal(a, b)
