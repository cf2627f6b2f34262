"""escalc against DESIGN.md's metafor values (1e-8) and metafor fixtures (tests/fixtures/metafor/escalc.R)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opioidsocial.stats.escalc import EffectSizeError, escalc

FIXTURES = Path(__file__).parent / "fixtures" / "metafor"
ARGS = ["n1i", "n2i", "m1i", "m2i", "sd1i", "sd2i", "ni", "ri", "ti"]


def _one(df):
    assert list(df.columns) == ["yi", "vi"] and len(df) == 1
    return df["yi"].iloc[0], df["vi"].iloc[0]


def test_smd_design_values():
    g, v = _one(escalc("SMD", m1i=5, m2i=4, sd1i=2, sd2i=2.5, n1i=20, n2i=22))
    assert g == pytest.approx(0.43102394719, abs=1e-8)
    assert v == pytest.approx(0.09766623168, abs=1e-8)


def test_smcc_design_values():
    g, v = _one(escalc("SMCC", m1i=5, m2i=4, sd1i=2, sd2i=2.5, ni=20, ri=0.6))
    assert g == pytest.approx(0.46562491485, abs=1e-8)
    assert v == pytest.approx(0.05542016403, abs=1e-8)


def test_smcr_design_values():
    g, v = _one(escalc("SMCR", m1i=5, m2i=4, sd1i=2, ni=20, ri=0.6))
    assert g == pytest.approx(0.47995517646, abs=1e-8)
    assert v == pytest.approx(0.04575892429, abs=1e-8)


def test_zcor_design_values():
    z, v = _one(escalc("ZCOR", ri=0.45, ni=30))
    assert z == pytest.approx(0.4847, abs=5e-5)
    assert v == pytest.approx(0.0370, abs=5e-5)


def test_metafor_fixture_rows():
    ref = pd.read_csv(FIXTURES / "escalc.tsv", sep="\t")
    for (measure, _source), rows in ref.groupby(["measure", "source"], sort=False):
        kwargs = {a: rows[a].to_numpy() for a in ARGS if rows[a].notna().all()}
        got = escalc(measure, **kwargs)
        np.testing.assert_allclose(got["yi"], rows["yi"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(got["vi"], rows["vi"], rtol=0, atol=1e-12)


def test_smd_from_t_equals_smd_from_means():
    n1, n2, m1, m2, s = 20.0, 22.0, 5.0, 4.0, 2.2
    t = (m1 - m2) / (s * np.sqrt(1 / n1 + 1 / n2))
    a = escalc("SMD", m1i=m1, m2i=m2, sd1i=s, sd2i=s, n1i=n1, n2i=n2)
    b = escalc("SMD", ti=t, n1i=n1, n2i=n2)
    pd.testing.assert_frame_equal(a, b, rtol=1e-13)


def test_smcc_from_paired_t_equals_smcc_from_means():
    n, m1, m2, s1, s2, r = 20.0, 5.0, 4.0, 2.0, 2.5, 0.6
    sdd = np.sqrt(s1**2 + s2**2 - 2 * r * s1 * s2)
    t = (m1 - m2) / (sdd / np.sqrt(n))
    a = escalc("SMCC", m1i=m1, m2i=m2, sd1i=s1, sd2i=s2, ni=n, ri=r)
    b = escalc("SMCC", ti=t, ni=n)
    pd.testing.assert_frame_equal(a, b, rtol=1e-13)


@settings(max_examples=50, deadline=None)
@given(r=st.floats(-0.99, 0.99), n=st.integers(4, 500))
def test_zcor_from_t_round_trips(r, n):
    t = r * np.sqrt((n - 2) / (1 - r**2))
    a = escalc("ZCOR", ri=r, ni=n)
    b = escalc("ZCOR", ti=t, ni=n)
    np.testing.assert_allclose(b["yi"], a["yi"], atol=1e-10)
    np.testing.assert_allclose(b["vi"], a["vi"], atol=0)


def test_vectorised_with_scalar_broadcast():
    df = escalc("SMD", m1i=[5, 6], m2i=4, sd1i=2, sd2i=2.5, n1i=20, n2i=22)
    assert len(df) == 2 and df["yi"].iloc[0] == pytest.approx(0.43102394719, abs=1e-8)
    assert df["yi"].iloc[1] > df["yi"].iloc[0]


def test_gen_passes_values_through():
    df = escalc("GEN", yi=[0.1, -0.2], vi=[0.04, 0.05])
    assert df["yi"].tolist() == [0.1, -0.2] and df["vi"].tolist() == [0.04, 0.05]


@pytest.mark.parametrize(
    "measure, kwargs, message",
    [
        ("SMD", dict(m1i=[5, 5], m2i=4, sd1i=[2, -2], sd2i=2.5, n1i=20, n2i=22), "row 1: sd1i is negative"),
        ("SMD", dict(m1i=5, m2i=4, sd1i=2, sd2i=2.5, n1i=1, n2i=22), "n1i < 2"),
        ("SMD", dict(m1i=5, m2i=4, sd1i=0, sd2i=0, n1i=10, n2i=22), "pooled SD is zero"),
        ("SMD", dict(m1i=5, m2i=4, sd1i=2, n1i=10, n2i=22), "missing ['sd2i']"),
        ("SMD", dict(m1i=np.nan, m2i=4, sd1i=2, sd2i=2, n1i=10, n2i=22), "m1i is missing"),
        ("SMCC", dict(m1i=5, m2i=4, sd1i=2, sd2i=2.5, ni=20, ri=1.0), "ri is outside (-1, 1)"),
        ("SMCR", dict(m1i=5, m2i=4, sd1i=2, ni=2, ri=0.5), "ni < 3"),
        ("SMCR", dict(ti=2.0, ni=20), "SMCR cannot be computed from a t statistic"),
        ("ZCOR", dict(ri=-1.2, ni=30), "outside (-1, 1)"),
        ("ZCOR", dict(ri=0.2, ni=3), "ni < 4"),
        ("GEN", dict(yi=0.1, vi=0.0), "vi is not positive"),
        ("MD", dict(yi=0.1, vi=0.1), "unknown effect-size measure"),
        ("SMD", dict(m1i=[1, 2, 3], m2i=[1, 2], sd1i=1, sd2i=1, n1i=5, n2i=5), "different lengths"),
    ],
)
def test_bad_values_raise_documented_error(measure, kwargs, message):
    with pytest.raises(EffectSizeError) as err:
        escalc(measure, **kwargs)
    assert message in str(err.value)
    assert isinstance(err.value, ValueError)


def test_error_names_labelled_row():
    with pytest.raises(EffectSizeError, match="korb2020: corrugator: sd2i is negative"):
        escalc("SMD", m1i=[5, 5], m2i=4, sd1i=2, sd2i=[2, -1], n1i=20, n2i=22, labels=["korb2020: zygomaticus", "korb2020: corrugator"])
