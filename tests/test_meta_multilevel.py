"""pool_multilevel against metafor rma.mv + clubSandwich CR2 fixtures (tests/fixtures/metafor/meta_reference.R)."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opioidsocial.meta.multilevel import pool_multilevel
from opioidsocial.meta.random_effects import MetaAnalysisError

FIX = Path(__file__).parent / "fixtures" / "metafor"
REF = json.loads((FIX / "multilevel.json").read_text())
ML = pd.read_csv(FIX / "multilevel_data.tsv", sep="\t")
K11 = pd.read_csv(FIX / "konstantopoulos2011.tsv", sep="\t")


def _list(x):
    return x if isinstance(x, list) else [x]


def _check(fit, ref, *, tol=1e-5):
    c = fit.coefficients
    rob = ref["robust"]
    np.testing.assert_allclose(c["estimate"], _list(ref["b"]), atol=tol)
    np.testing.assert_allclose(c["se_model"], _list(ref["se"]), atol=tol)
    np.testing.assert_allclose(c["se"], _list(rob["se"]), atol=tol)
    np.testing.assert_allclose(c["df"], _list(rob["df"]), atol=tol * 10)
    np.testing.assert_allclose(c["p"], _list(rob["pval"]), atol=tol)
    np.testing.assert_allclose(c["ci_lb"], _list(rob["ci_lb"]), atol=tol)
    np.testing.assert_allclose(c["ci_ub"], _list(rob["ci_ub"]), atol=tol)
    np.testing.assert_allclose([fit.sigma2[lv] for lv in fit.levels], _list(ref["sigma2"]), atol=tol)
    assert fit.q == pytest.approx(ref["QE"], rel=1e-8)


def test_three_level_sample_group_model():
    fit = pool_multilevel(ML["yi"], ML["vi"], ML["study"], ML["sample_group"])
    assert fit.levels == ("sample_group", "study", "effect")
    assert (fit.k, fit.n_studies, fit.n_clusters) == (len(ML), 8, 6)
    _check(fit, REF["sample_group"])
    assert math.isnan(fit.qm)


def test_moderator_with_htz_test():
    fit = pool_multilevel(ML["yi"], ML["vi"], ML["study"], ML["sample_group"], mods=ML[["direction"]])
    _check(fit, REF["sample_group_direction"])
    htz = REF["sample_group_direction"]["htz"]
    assert fit.qm == pytest.approx(htz["Fstat"], rel=1e-5)
    assert fit.qm_df == pytest.approx((htz["df_num"], htz["df_denom"]), rel=1e-5)
    assert fit.qm_p == pytest.approx(htz["p_val"], rel=1e-5)
    # With one coefficient HTZ is the Satterthwaite t test squared.
    row = fit.coefficients.iloc[1]
    assert fit.qm == pytest.approx(row["stat"] ** 2, rel=1e-8)
    assert fit.qm_df[1] == pytest.approx(row["df"], rel=1e-8)


def test_several_moderators_htz_matches_clubsandwich():
    mods = pd.get_dummies(ML["muscle"], drop_first=True, dtype=float)
    mods.insert(0, "direction", ML["direction"])
    fit = pool_multilevel(ML["yi"], ML["vi"], ML["study"], ML["sample_group"], mods=mods)
    ref = REF["sample_group_direction_muscle"]
    _check(fit, ref)
    htz = ref["htz"]
    assert fit.qm == pytest.approx(htz["Fstat"], rel=1e-6)
    assert fit.qm_df == pytest.approx((htz["df_num"], htz["df_denom"]), rel=1e-6)
    assert fit.qm_p == pytest.approx(htz["p_val"], rel=1e-6)


def test_konstantopoulos2011_districts_as_clusters():
    # district/school: schools are the "studies", one effect each, so the effect level is left out.
    fit = pool_multilevel(K11["yi"], K11["vi"], K11["school"], K11["district"])
    assert fit.levels == ("sample_group", "study")
    _check(fit, REF["konstantopoulos2011"])


def test_too_few_sample_groups():
    with pytest.raises(MetaAnalysisError, match="1 sample group"):
        pool_multilevel([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], ["a", "a", "b"], ["g", "g", "g"])
