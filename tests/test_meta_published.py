"""Summary studies: each set of reported statistics is converted as escalc does, bad rows are named."""

from pathlib import Path

import pandas as pd
import pytest

from opioidsocial.meta.published import SummaryStudyError, read_summary
from opioidsocial.stats.escalc import escalc

ROW = {"study": "korb2020", "drug": "naltrexone", "direction": -1, "reference": "placebo", "sample_group": "korb"}
HEADER = "study\toutcome\tcontrast\tdesign\tmeasure\tn1\tn2\tn\tm1\tm2\tsd1\tsd2\tr\tt\tyi\tvi\tdirection\tdrug\tmodality\n"


def _write(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "summary.tsv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return path


def _row(**cells) -> str:
    cols = HEADER.strip().split("\t")
    cells = {"study": "korb2020", "design": "between", **cells}
    return "\t".join(str(cells.get(c, "")) for c in cols)


def test_every_kind_of_statistics_converts_like_escalc(tmp_path):
    path = _write(
        tmp_path,
        _row(outcome="a", n1=20, n2=22, m1=5, m2=4, sd1=2, sd2=2.5),
        _row(outcome="b", n1=20, n2=22, t=2.1),
        _row(outcome="c", design="within", n=20, m1=5, m2=4, sd1=2, sd2=2.5, r=0.6),
        _row(outcome="d", design="within", measure="SMCR", n=20, m1=5, m2=4, sd1=2, r=0.6),
        _row(outcome="e", design="within", n=20, t=2.4),
        _row(outcome="f", design="within", n=30, r=0.45),
        _row(outcome="g", design="within", measure="ZCOR", n=30, t=2.1),
        _row(outcome="h", measure="SMD", yi=0.3, vi=0.05, n1=30, n2=31),
    )
    got = read_summary(path, study_row=ROW).set_index("outcome")
    want = {
        "a": escalc("SMD", n1i=20, n2i=22, m1i=5, m2i=4, sd1i=2, sd2i=2.5),
        "b": escalc("SMD", n1i=20, n2i=22, ti=2.1),
        "c": escalc("SMCC", ni=20, m1i=5, m2i=4, sd1i=2, sd2i=2.5, ri=0.6),
        "d": escalc("SMCR", ni=20, m1i=5, m2i=4, sd1i=2, ri=0.6),
        "e": escalc("SMCC", ni=20, ti=2.4),
        "f": escalc("ZCOR", ni=30, ri=0.45),
        "g": escalc("ZCOR", ni=30, ti=2.1),
        "h": pd.DataFrame({"yi": [0.3], "vi": [0.05]}),
    }
    for outcome, es in want.items():
        assert got.loc[outcome, "yi"] == pytest.approx(es["yi"].iloc[0], abs=1e-12), outcome
        assert got.loc[outcome, "vi"] == pytest.approx(es["vi"].iloc[0], abs=1e-12), outcome
    assert list(got["measure"]) == ["SMD", "SMD", "SMCC", "SMCR", "SMCC", "ZCOR", "ZCOR", "SMD"]
    assert got.loc["a", "yi"] == pytest.approx(0.43102394719, abs=1e-8)
    assert got.loc["b", "conversion"].startswith("SMD: Hedges' g from independent-samples t")
    assert got.loc["h", "conversion"] == "as given (yi, vi)"
    assert (got.loc["a", "n1"], got.loc["a", "n2"]) == (20, 22)
    assert got.loc["c", "n1"] == 20 and pd.isna(got.loc["c", "n2"])
    assert (got["contrast"] == "naltrexone - placebo").all()
    assert (got["direction"] == -1).all() and (got["sample_group"] == "korb").all() and (got["modality"] == "summary").all()


def test_row_overrides_direction_drug_modality_and_contrast(tmp_path):
    path = _write(tmp_path, _row(outcome="a", contrast="amisulpride - placebo", drug="amisulpride", direction=0, modality="emg",
                                 n1=20, n2=22, m1=5, m2=4, sd1=2, sd2=2.5))
    got = read_summary(path, study_row=ROW).iloc[0]
    assert (got["contrast"], got["drug"], got["direction"], got["modality"]) == ("amisulpride - placebo", "amisulpride", 0, "emg")


@pytest.mark.parametrize(
    "row, message",
    [
        (_row(outcome="a", n1=20, n2=22, m1=5, m2=4, sd1=2, sd2=2.5, t=2.0), "give exactly one set of statistics"),
        (_row(outcome="a", n1=20, m1=5, m2=4, sd1=2, sd2=2.5), "SMD from means needs"),
        (_row(outcome="a", n1=20, n2=22, m1=5, m2=4, sd1=-2, sd2=2.5), "line 2 (a, naltrexone - placebo): sd1i is negative"),
        (_row(outcome="a", design="within", n=20, m1=5, m2=4, sd1=2, sd2=2, r=1.2), "ri is outside (-1, 1)"),
        (_row(outcome="a", design="within", measure="SMD", n=20, m1=5, m2=4, sd1=2, sd2=2, r=0.5), "converts to SMCC, not SMD"),
        (_row(outcome="a", design="within", measure="SMCR", n=20, t=2.0), "SMCR cannot be computed from t"),
        (_row(outcome="a", design="sideways", n1=20, n2=22, t=2.0), "'design' = 'sideways' is invalid"),
        (_row(outcome="a", study="other", n1=20, n2=22, t=2.0), "needs its own sample_group"),
        (_row(outcome="a"), "found none"),
        (_row(outcome="a", n1=1, n2=22, m1=5, m2=4, sd1=2, sd2=2.5), "n1i < 2; SMD needs at least 2 participants per sample"),
        (_row(outcome="a", design="within", n=2, t=2.0), "ni < 3; SMCC needs at least 3"),
        (_row(outcome="a", n1=-3, n2=22, t=2.0), "'n1' = -3 is invalid: -3 is less than the minimum of 0"),
        (_row(outcome="a", yi=0.2, vi=-0.1), "vi is not positive; a sampling variance must be > 0"),
        (_row(outcome="a", design="within", n=20, r=-1.0), "ri is outside (-1, 1)"),
        (_row(outcome="a", n1=20, n2=22, t="inf"), "ti is missing or not finite"),
    ],
)
def test_bad_rows_name_file_line_and_fix(tmp_path, row, message):
    path = _write(tmp_path, row)
    with pytest.raises(SummaryStudyError) as err:
        read_summary(path, study_row=ROW)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_duplicate_effects_and_empty_files_are_rejected(tmp_path):
    path = _write(tmp_path, _row(outcome="a", n1=20, n2=22, t=2.0), _row(outcome="a", n1=30, n2=32, t=1.0))
    with pytest.raises(SummaryStudyError, match="appears 2 times"):
        read_summary(path, study_row=ROW)
    with pytest.raises(SummaryStudyError, match="has no rows"):
        read_summary(_write(tmp_path), study_row=ROW)
    with pytest.raises(SummaryStudyError, match="does not exist"):
        read_summary(tmp_path / "missing.tsv", study_row=ROW)
