import pytest
import yaml

from opioidsocial.config import SCHEMA_DIR, ConfigError, validate_config, validate_section
from opioidsocial.emg.settings import window_problems
from opioidsocial.sheets import load_participants, load_studies
from tests.conftest import REPO, TINY_EMG


def test_demo_config_is_valid_and_defaults_are_filled():
    config = validate_config(yaml.safe_load((REPO / "config/config.yaml").read_text()), SCHEMA_DIR / "config.schema.yaml")
    assert config["emg"]["highpass_hz"] == 20.0
    assert config["emg"]["filter_order"] == 4  # a default the demo does not set
    assert config["simulate"]["emg"]["korb2023"]["sfreq"] == 2048


def test_misspelt_key_gets_the_closest_valid_one():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) 'lowpas_hz' \(did you mean 'lowpass_hz'\?\) in 'emg'"):
        validate_config({"emg": {"lowpas_hz": 400}}, SCHEMA_DIR / "config.schema.yaml")


def test_wrong_type_is_named_with_its_path():
    with pytest.raises(ConfigError, match=r"'emg.bin_s' = 'wide' is invalid"):
        validate_config({"emg": {"bin_s": "wide"}}, SCHEMA_DIR / "config.schema.yaml")


def test_baseline_after_response_window_is_an_error(emg_cfg):
    problems = window_problems({**emg_cfg, "baseline_s": [0.0, 1.0], "response_s": [0.5, 3.0]})
    assert len(problems) == 1 and "must end before" in problems[0]


def test_out_of_range_values_stop_the_config_when_it_is_loaded():
    """Cross-key mistakes are caught by validate_config (common.smk), before any job runs."""
    schema = SCHEMA_DIR / "config.schema.yaml"
    with pytest.raises(ConfigError, match=r"^config: emg.baseline_s \[0.0, 1.0\] must end before emg.response_s \[0.5, 3.0\] starts$"):
        validate_config({"emg": {"baseline_s": [0.0, 1.0], "response_s": [0.5, 3.0]}}, schema)
    with pytest.raises(ConfigError, match=r"'emg.highpass_hz' = 600 Hz must be below 'emg.lowpass_hz' = 500 Hz"):
        validate_config({"emg": {"highpass_hz": 600}}, schema)
    with pytest.raises(ConfigError, match=r"'emg.smoothing_ms' = -5 is invalid: -5 is less than the minimum of 0 \(Width of the centred moving average"):
        validate_config({"emg": {"smoothing_ms": -5}}, schema)
    with pytest.raises(ConfigError, match=r"'on_bad_data' = 'skip' is invalid: 'skip' is not one of \['fail', 'exclude'\]"):
        validate_config({"on_bad_data": "skip"}, schema)


def test_band_pass_above_the_nyquist_limit_of_a_simulated_study(tmp_path):
    config = {"emg": {"highpass_hz": 300, "lowpass_hz": 1000}, "simulate": {"emg": {"tinyemg": {**TINY_EMG, "sfreq": 512}}}}
    with pytest.raises(ConfigError, match=r"'simulate.emg.tinyemg.sfreq' = 512 Hz allows a band up to 230.4 Hz .*lower emg.highpass_hz"):
        validate_config(config, SCHEMA_DIR / "config.schema.yaml")


def test_a_section_validated_alone_gets_the_same_checks():
    with pytest.raises(ConfigError, match=r"^emg: 'emg.highpass_hz' = 40 Hz must be below 'emg.lowpass_hz' = 30 Hz"):
        validate_section({"highpass_hz": 40, "lowpass_hz": 30}, "emg.schema.yaml", source="emg")


def test_unknown_top_level_key_and_nested_misspelling():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) 'on_bad_dat' \(did you mean 'on_bad_data'\?\) in '<top level>'"):
        validate_config({"on_bad_dat": "exclude"}, SCHEMA_DIR / "config.schema.yaml")


def _sheet(tmp_path, body):
    (tmp_path / "participants.tsv").write_text(body)
    return {"study": "s", "path": str(tmp_path)}


def test_duplicate_participant_is_an_error(tmp_path):
    row = _sheet(tmp_path, "participant_id\tarm\nsub-01\tplacebo\nsub-01\tnaltrexone\n")
    with pytest.raises(ConfigError, match=r"duplicate participant_id \['sub-01'\]"):
        load_participants(row, schemas=SCHEMA_DIR)


def test_participant_ids_must_be_bids_labels(tmp_path):
    row = _sheet(tmp_path, "participant_id\tarm\nsub-0_1\tplacebo\n")
    with pytest.raises(ConfigError, match="line 2.*participant_id"):
        load_participants(row, schemas=SCHEMA_DIR)


def test_labels_keep_leading_zeros(tmp_path):
    row = _sheet(tmp_path, "participant_id\tarm\tage\nsub-007\tplacebo\t31\n")
    sheet = load_participants(row, schemas=SCHEMA_DIR)
    assert sheet["participant"].tolist() == ["007"] and sheet["age"].tolist() == [31]


def test_study_sheet_of_the_demo_loads():
    sheet = load_studies(REPO / "config/studies.tsv", schemas=SCHEMA_DIR)
    assert {"naltrexone2016", "korb2023", "morphine2022"} <= set(sheet.index)
    assert sheet.loc["naltrexone2016", "direction"] == -1


def test_sheet_missing_a_column_names_it_and_the_schema(tmp_path):
    path = tmp_path / "studies.tsv"
    path.write_text("study\tmodality\tinput\tdesign\tdrug\tdirection\treference\tpath\nx\temg\tbids\tbetween\tnal\t-1\tplacebo\tdata/x\n")
    with pytest.raises(ConfigError, match=r"studies.tsv lacks required column\(s\) \['sample_group'\]; columns are documented in .*studies.schema.yaml"):
        load_studies(path, schemas=SCHEMA_DIR)
    row = _sheet(tmp_path, "arm\nplacebo\n")
    with pytest.raises(ConfigError, match=r"participants.tsv lacks required column\(s\) \['participant_id'\]"):
        load_participants(row, schemas=SCHEMA_DIR)


def test_undeclared_study_and_inconsistent_study_rows_are_named(tmp_path):
    from opioidsocial.cli import simulate

    (tmp_path / "studies.tsv").write_text((REPO / "config/studies.tsv").read_text())
    config = {"studies": str(tmp_path / "studies.tsv"), "simulate": {"emg": {"nostudy": TINY_EMG}}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"simulate.emg.nostudy names a study that is not in .*studies.tsv; add its row there"):
        simulate(str(tmp_path / "c.yaml"))
    sheet = load_studies(REPO / "config/studies.tsv", schemas=SCHEMA_DIR)
    bad = tmp_path / "bad.tsv"
    bad.write_text((REPO / "config/studies.tsv").read_text().replace("\temg\tbids\t", "\temg\ttac\t", 1))
    with pytest.raises(ConfigError, match=r"has input 'tac', which is for modality pet, not emg"):
        load_studies(bad, schemas=SCHEMA_DIR)
    assert len(sheet) > 3


def test_no_schema_repeats_a_key():
    """YAML keeps the last of two equal keys in silence: a second x-stage or default would hide the first."""

    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        assert not repeated, f"{node.start_mark}: repeated key(s) {repeated}"
        return loader.construct_mapping(node, deep)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    schemas = sorted((REPO / "workflow" / "schemas").rglob("*.yaml"))
    assert len(schemas) > 10
    for path in schemas:
        loader = Strict(path.read_text())
        try:
            loader.get_single_data()
        finally:
            loader.dispose()


def test_a_random_term_the_model_stage_cannot_fit_stops_the_config_naming_it():
    """lme4 accepts '||'; the model stage does not fit it: a ConfigError before any job, not a TypeError inside one."""
    schema = SCHEMA_DIR / "config.schema.yaml"
    formula = "response_uv ~ arm * emotion + (1 + emotion || participant) + (1 | stimulus)"
    with pytest.raises(ConfigError) as err:
        validate_config({"models": {"formula": formula}}, schema)
    text = str(err.value)
    assert text.startswith(f"config: models.formula '{formula}': the term '(1 + emotion || participant)' has uncorrelated random effects")
    assert "supported are correlated terms '(1 | g)', '(1 + x | g)' or '(0 + x | g)'" in text and "(1 | stimulus)'" not in text.split(":", 2)[2]
    with pytest.raises(ConfigError, match=r"models.formula 'response_uv ~ arm \+ \(1 \| ' is not a valid lme4 formula"):
        validate_config({"models": {"formula": "response_uv ~ arm + (1 | "}}, schema)
    # What the default and the documented examples write passes.
    for ok in ("response_uv ~ arm * emotion * muscle + (1 + emotion * muscle | participant) + (1 | stimulus:muscle)",
               "response_uv ~ arm + (0 + emotion | participant)"):
        validate_config({"models": {"formula": ok}, "emg": {}}, schema)
