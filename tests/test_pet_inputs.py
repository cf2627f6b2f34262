"""PET inputs: TAC files and BPND tables are read as documented, bad ones are refused clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from opioidsocial.pet.inputs import BPND_SCHEMA, TAC_PATTERN, TAC_SCHEMA, PetInputError, read_bpnd, read_tacs, tac_path

HEADER = "frame_start\tframe_end\toccipital\tventral_striatum\tamygdala\n"
FRAMES = "".join(f"{s}\t{s + 60}\t{1 + i}\t{2 + i}\t{3 + i}\n" for i, s in enumerate(range(0, 300, 60)))


def _tac(tmp_path: Path, text: str) -> Path:
    path = Path(tac_path(tmp_path, "01", "baseline"))
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def _read(path: Path, rois=()):
    return read_tacs(path, study="s", participant="01", condition="baseline", reference_region="occipital", rois=list(rois),
                     decay_corrected=True, half_life_min=20.364, max_start_min=1.0)


def test_layout_is_the_documented_one():
    assert tac_path("data/x", "07", "rejection") == "data/x/sub-07/ses-rejection/pet/sub-07_ses-rejection_tacs.tsv"
    documented = yaml.safe_load(TAC_SCHEMA.read_text())["description"]
    assert TAC_PATTERN.replace("{participant}", "<label>").replace("{condition}", "<condition>") in documented


def test_tac_file_is_read_in_minutes_with_every_roi(tmp_path):
    scan = _read(_tac(tmp_path, HEADER + FRAMES))
    np.testing.assert_allclose(scan.start_min, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(scan.end_min, [1, 2, 3, 4, 5])
    assert list(scan.rois) == ["ventral_striatum", "amygdala"]
    np.testing.assert_allclose(scan.reference, [1, 2, 3, 4, 5])
    assert list(_read(_tac(tmp_path / "b", HEADER + FRAMES), rois=["amygdala"]).rois) == ["amygdala"]


@pytest.mark.parametrize(
    ("text", "rois", "message"),
    [
        (HEADER.replace("occipital", "cerebellum") + FRAMES, (), "lacks column(s) ['occipital']"),
        (HEADER + FRAMES, ("thalamus",), "lacks column(s) ['thalamus']"),
        (HEADER + FRAMES.replace("\t3\t4\t5", "\tn/a\t4\t5"), (), "column 'occipital' = 'n/a' is not a finite number"),
        (HEADER + FRAMES.replace("120\t180", "100\t180"), (), "before the previous frame ends"),
        (HEADER + FRAMES + "60\t120\t1\t1\t1\n", (), "line 7: frame starts at 60 s, before the previous frame ends (300 s)"),
        (HEADER + FRAMES.replace("240\t300", "240\t240"), (), "frame_end must be greater than frame_start"),
        (HEADER + FRAMES.replace("0\t60\t1", "-5\t60\t1"), (), "less than the minimum"),
        (HEADER + FRAMES.split("\n", 2)[0] + "\n", (), "at least 4 are needed"),
        (HEADER + "".join(f"{s}\t{s + 60}\t0\t1\t1\n" for s in range(0, 300, 60)), (), "has no positive activity"),
    ],
    ids=["no_reference", "missing_roi", "n/a", "overlap", "backwards", "empty_frame", "negative_time", "too_few", "zero_reference"],
)
def test_bad_tac_files_raise_errors_naming_file_participant_and_fix(tmp_path, text, rois, message):
    path = _tac(tmp_path, text)
    with pytest.raises(PetInputError) as err:
        _read(path, rois)
    assert message in str(err.value)
    assert "participant '01'" in str(err.value) and str(path) in str(err.value)


def test_missing_tac_file_names_the_expected_path(tmp_path):
    with pytest.raises(PetInputError, match="does not exist"):
        _read(tmp_path / "nope.tsv")


BPND = (
    "participant_id\troi\themisphere\tcondition\tbp_nd\tnote\n"
    "sub-01\tvs\tleft\tbaseline\t2.0\tx\n"
    "sub-01\tvs\tright\tbaseline\t2.2\t\n"
    "sub-01\tvs\tleft\trejection\t1.8\t\n"
    "sub-01\tvs\tright\trejection\tn/a\t\n"
    "sub-01\tpag\tbilateral\tbaseline\t1.5\t\n"
    "sub-01\tpag\tbilateral\trejection\t1.4\t\n"
    "sub-02\tvs\tleft\tbaseline\t2.4\t\n"
    "sub-02\tvs\tleft\trejection\t2.3\t\n"
)


def _bpnd(tmp_path: Path, text: str, **kw):
    path = tmp_path / "bpnd.tsv"
    path.write_text(text)
    args = {"study": "s", "participants": ["01", "02", "03"], "conditions": ["baseline", "rejection"], "rois": [], "hemispheres": "mean"}
    return read_bpnd(path, **{**args, **kw})


def test_bpnd_table_averages_hemispheres_and_flags_every_missing_cell(tmp_path):
    cells = _bpnd(tmp_path, BPND).set_index(["participant", "roi", "condition"])
    assert len(cells) == 3 * 2 * 2  # every participant x roi x condition
    assert cells.loc[("01", "vs", "baseline"), "bp_nd"] == pytest.approx(2.1)
    assert cells.loc[("01", "pag", "rejection"), "bp_nd"] == pytest.approx(1.4)
    assert np.isnan(cells.loc[("01", "vs", "rejection"), "bp_nd"])
    assert cells.loc[("01", "vs", "rejection"), "flag_reason"] == "n/a in bpnd.tsv"
    assert cells.loc[("02", "vs", "baseline"), "flag_reason"] == "only one hemisphere given"
    assert cells.loc[("03", "pag", "baseline"), "flag_reason"] == "missing from bpnd.tsv"
    assert (cells["flag_reason"] == "").sum() == 3


def test_bpnd_separate_hemispheres_become_rois(tmp_path):
    cells = _bpnd(tmp_path, BPND, hemispheres="separate")
    assert sorted(cells["roi"].unique()) == ["pag", "vs_left", "vs_right"]
    ok = cells[cells["flag_reason"] == ""].set_index(["participant", "roi", "condition"])
    assert ok.loc[("02", "vs_left", "rejection"), "bp_nd"] == pytest.approx(2.3)


@pytest.mark.parametrize(
    ("text", "kw", "message"),
    [
        (BPND + "sub-09\tvs\tleft\tbaseline\t2.0\t\n", {}, "participants.tsv does not list"),
        (BPND + "sub-01\tvs\tleft\tbaseline\t2.0\t\n", {}, "rows for the same participant"),
        (BPND + "sub-01\tvs\tbilateral\tacceptance\t2.0\t\n", {"conditions": ["baseline", "rejection", "acceptance"]}, "both 'bilateral' and left/right"),
        (BPND + "sub-01\tvs\tleft\tplacebo\t2.0\t\n", {}, "not in config pet.conditions"),
        (BPND.replace("\tleft\trejection", "\tLeft\trejection"), {}, "'Left' is not one of"),
        (BPND.replace("1.5", "high"), {}, "is not a finite number"),
        (BPND.replace("1.5", "-1.5"), {}, "line 6, column 'bp_nd': -1.5 is less than or equal to the minimum of -1"),
        (BPND.replace("1.5", "inf"), {}, "line 6, column 'bp_nd' = 'inf' is not a finite number"),
        (BPND, {"rois": ["amygdala"]}, "no rows for ROI(s) ['amygdala']"),
        (BPND.replace("bp_nd\t", "bpnd\t"), {}, "lacks column(s) ['bp_nd']"),
    ],
    ids=["unknown_participant", "duplicate", "mixed_sides", "unknown_condition", "bad_hemisphere", "not_number", "below_minus_one", "infinite", "missing_roi", "no_column"],
)
def test_bad_bpnd_tables_raise_clear_errors(tmp_path, text, kw, message):
    with pytest.raises(PetInputError) as err:
        _bpnd(tmp_path, text, **kw)
    assert message in str(err.value)
    assert "bpnd.tsv" in str(err.value)


def test_bpnd_schema_documents_the_columns():
    schema = yaml.safe_load(BPND_SCHEMA.read_text())
    assert schema["required"] == ["participant_id", "roi", "hemisphere", "condition", "bp_nd"]
    assert all(prop.get("description") for prop in schema["properties"].values())
