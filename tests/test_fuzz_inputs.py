"""Property-based tests: malformed input gives our documented errors, never a crash."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opioidsocial.config import SCHEMA_DIR, ConfigError, validate_config
from opioidsocial.io.bids import BidsError, read_channels, read_events
from opioidsocial.sheets import load_participants

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
        events = read_events(path, who="fuzz")
    except BidsError:
        return
    assert {"onset", "trial_type", "stimulus"} <= set(events.columns)
    assert not events["onset"].isna().any()


@settings_
@given(header=st.lists(st.sampled_from(["name", "type", "units", "target_muscle"]) | cells, max_size=5), body=rows)
def test_channels_reader(tmp_path, header, body):
    path = tmp_path / "channels.tsv"
    path.write_text(_tsv(header, body))
    try:
        channels = read_channels(path, who="fuzz")
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
