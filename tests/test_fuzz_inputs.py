"""Property-based tests: malformed input gives our documented errors, never a crash.

Each reader or conversion gets malformed and extreme values (NaN, infinities, signs,
huge numbers, text in number columns) and must either return something that meets
its contract or raise the module's documented error, which names the file; any
other exception is a failure.
"""

from __future__ import annotations

import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opioidsocial.config import SCHEMA_DIR, ConfigError, validate_config
from opioidsocial.io.bids import BidsError, read_channels, read_events
from opioidsocial.meta.published import SummaryStudyError, read_summary
from opioidsocial.pet.inputs import PetInputError, read_bpnd, read_tacs
from opioidsocial.sheets import load_participants
from opioidsocial.stats.escalc import EffectSizeError, escalc

cells = st.text(alphabet=string.printable.replace("\t", "").replace("\n", "").replace("\r", ""), max_size=8)
rows = st.lists(st.lists(cells, min_size=1, max_size=5), max_size=6)
settings_ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _tsv(header: list[str], body: list[list[str]]) -> str:
    return "\n".join("\t".join(r) for r in [header, *body]) + "\n"


@settings_
@given(header=st.lists(st.sampled_from(["onset", "duration", "trial_type", "stimulus", "x"]) | cells, max_size=5), body=rows)
def test_events_reader(tmp_path, header, body):
    path = tmp_path / "events.tsv"
    path.write_text(_tsv(header, body))
    try:
        events = read_events(path)
    except BidsError:
        return
    assert {"onset", "trial_type"} <= set(events.columns)
    assert np.isfinite(events["onset"]).all() and (events["onset"] >= 0).all()


@settings_
@given(header=st.lists(st.sampled_from(["name", "type", "units", "target_muscle"]) | cells, max_size=5), body=rows)
def test_channels_reader(tmp_path, header, body):
    path = tmp_path / "channels.tsv"
    path.write_text(_tsv(header, body))
    try:
        channels = read_channels(path)
    except BidsError:
        return
    assert {"name", "type", "target_muscle"} <= set(channels.columns)


@settings_
@given(
    ids=st.lists(st.sampled_from(["sub-01", "sub-02", "sub-1a", "01", "sub-", "sub-0_1", "sub-ä"]) | cells, min_size=1, max_size=5),
    ages=st.lists(cells | st.sampled_from(["31", "n/a", "-1"]), min_size=5, max_size=5),
)
def test_participants_sheet(tmp_path, ids, ages):
    (tmp_path / "participants.tsv").write_text(_tsv(["participant_id", "arm", "age"], [[i, "placebo", a] for i, a in zip(ids, ages)]))
    try:
        sheet = load_participants({"study": "fuzz", "path": str(tmp_path)}, schemas=SCHEMA_DIR)
    except ConfigError:
        return
    assert sheet["participant"].str.fullmatch(r"[A-Za-z0-9]+").all()
    assert sheet["participant"].is_unique


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10_000) | st.floats(allow_nan=False, allow_infinity=False) | cells,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(cells, inner, max_size=3),
    max_leaves=8,
)


@settings_
@given(emg=st.dictionaries(st.sampled_from(["highpass_hz", "lowpass_hz", "bin_s", "baseline_s", "muscles", "notch", "x"]), json_values, max_size=4))
def test_config_validation(emg):
    try:
        config = validate_config({"emg": emg}, SCHEMA_DIR / "config.schema.yaml")
    except ConfigError as err:
        assert "config:" in str(err)
        return
    assert config["emg"]["highpass_hz"] > 0


def test_yaml_is_loaded_safely(tmp_path):
    """A YAML tag that would construct Python objects is refused, not executed."""
    from opioidsocial.cli import simulate

    (tmp_path / "c.yaml").write_text("studies: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(Exception, match="could not determine a constructor|constructor"):
        simulate(str(tmp_path / "c.yaml"))


# Any float a table can hold, including the ones a typo or an export bug produces.
extreme = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 1e300, 2.0, 3.0, 1.0, -1.0])
SIGNATURES = {
    "SMD": [("n1i", "n2i", "m1i", "m2i", "sd1i", "sd2i"), ("n1i", "n2i", "ti")],
    "SMCC": [("ni", "m1i", "m2i", "sd1i", "sd2i", "ri"), ("ni", "ti")],
    "SMCR": [("ni", "m1i", "m2i", "sd1i", "ri")],
    "ZCOR": [("ni", "ri"), ("ni", "ti")],
    "GEN": [("yi", "vi")],
}


@settings_
@given(data=st.data(), measure=st.sampled_from(sorted(SIGNATURES)))
def test_effect_sizes_are_finite_with_positive_variance_or_refused(data, measure):
    names = data.draw(st.sampled_from(SIGNATURES[measure]))
    kwargs = {name: data.draw(st.lists(extreme, min_size=1, max_size=3)) for name in names}
    try:
        es = escalc(measure, **kwargs)
    except EffectSizeError as err:
        assert str(err) and "Traceback" not in str(err)
        return
    assert np.isfinite(es["yi"]).all() and np.isfinite(es["vi"]).all() and (es["vi"] > 0).all()


summary_cells = st.sampled_from(["", "n/a", "0", "1", "2", "20", "-3", "0.5", "-1", "1.5", "inf", "nan", "1e308", "abc", "2.5"])
SUMMARY_HEADER = ["study", "outcome", "design", "n1", "n2", "n", "m1", "m2", "sd1", "sd2", "r", "t", "yi", "vi"]


@settings_
@given(design=st.sampled_from(["between", "within", "x"]), cells=st.lists(summary_cells, min_size=11, max_size=11))
def test_summary_rows_convert_or_name_their_line(tmp_path, design, cells):
    path = tmp_path / "summary.tsv"
    path.write_text(_tsv(SUMMARY_HEADER, [["fuzz", "o", design, *cells]]))
    try:
        effects = read_summary(path, study_row={"study": "fuzz", "drug": "d", "direction": 1, "reference": "placebo", "sample_group": "g"})
    except SummaryStudyError as err:
        assert str(path) in str(err)
        return
    assert np.isfinite(effects["yi"]).all() and (effects["vi"] > 0).all()


tac_cells = st.sampled_from(["0", "60", "120", "-5", "n/a", "", "1e9", "abc", "inf", "30", "1.5", "0.0"])


@settings_
@given(body=st.lists(st.lists(tac_cells, min_size=4, max_size=4), max_size=7))
def test_tac_reader(tmp_path, body):
    path = tmp_path / "tacs.tsv"
    path.write_text(_tsv(["frame_start", "frame_end", "occipital", "amygdala"], body))
    try:
        scan = read_tacs(path, study="fuzz", participant="01", condition="baseline", reference_region="occipital", rois=[],
                         decay_corrected=True, half_life_min=20.364, max_start_min=1.0)
    except PetInputError as err:
        assert "participant '01'" in str(err) and str(path) in str(err)
        return
    assert (np.diff(scan.start_min) > 0).all() and (scan.end_min > scan.start_min).all()
    assert np.isfinite(scan.reference).all() and (scan.reference > 0).any()


@settings_
@given(body=st.lists(st.tuples(st.sampled_from(["sub-01", "sub-02", "sub-09", "01", ""]), st.sampled_from(["vs", "amy", ""]),
                               st.sampled_from(["left", "right", "bilateral", "Left"]), st.sampled_from(["baseline", "rejection", "x"]),
                               st.sampled_from(["2.0", "-1", "-0.5", "n/a", "", "inf", "abc", "1e300"])), max_size=8))
def test_bpnd_reader(tmp_path, body):
    path = tmp_path / "bpnd.tsv"
    path.write_text(_tsv(["participant_id", "roi", "hemisphere", "condition", "bp_nd"], [list(r) for r in body]))
    try:
        cells = read_bpnd(path, study="fuzz", participants=["01", "02"], conditions=["baseline", "rejection"], rois=[], hemispheres="mean")
    except PetInputError as err:
        assert str(path) in str(err)
        return
    given_ = cells["bp_nd"].dropna()
    assert (given_ > -1).all() and np.isfinite(given_).all()
    assert (cells["flag_reason"] == "").eq(cells["bp_nd"].notna()).all()


def test_overflowing_statistics_are_refused_not_pooled_as_infinity():
    """Found by the property test above: these once returned inf or a wrong 0."""
    with pytest.raises(EffectSizeError, match="row 0: the effect size or its variance is not finite"):
        escalc("SMD", n1i=2, n2i=2, ti=2.4e154)
    with pytest.raises(EffectSizeError, match="not finite"):
        escalc("ZCOR", ni=10, ti=1e300)  # r = 1 exactly, not the 0 of 1e300 / sqrt(inf)
    assert escalc("ZCOR", ni=10, ti=1e6)["yi"].iloc[0] > 10
