"""Job-level PET entry points: per-participant outputs, exclusions, study outputs, stable bytes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import gammaln
from scipy.stats import t as student_t

from opioidsocial.config import SCHEMA_DIR, ConfigError, validate_section
from opioidsocial.io.contracts import EFFECTS, PET_BP
from opioidsocial.io.tables import read_table
from opioidsocial.pet import participant as pet_participant
from opioidsocial.pet import study as pet_study
from opioidsocial.pet.inputs import PetInputError, tac_path
from opioidsocial.pet.models import MODELS
from opioidsocial.pet.traits import check_config, traits_of
from opioidsocial.sheets import load_participants, load_studies
from opioidsocial.simulate.pet import simulate_study


def run_participant(*, study: str, participant: str, tacs: dict, cfg: dict, on_bad_data: str, table: str, qc: str, metadata: dict) -> None:
    """The fit job as its rule calls it."""
    pet_participant.run(inputs=tacs, outputs={"bp": table, "qc": qc}, cfg={"pet": cfg, "on_bad_data": on_bad_data},
                        study=study, participant=participant, metadata=metadata)


def run_study(*, study: str, row: dict, cfg: dict, bp_paths: list, qc_paths: list, bpnd_paths: list, outputs: dict, metadata: dict) -> None:
    """The study job as its rule calls it."""
    sheet = f"{row['path']}/participants.tsv"
    pet_study.run(inputs={"participants": sheet, "bp": bp_paths, "qc": qc_paths, "bpnd": bpnd_paths}, outputs=outputs, cfg={"pet": cfg},
                  study=study, row=row, metadata=metadata)


PARAMS = {
    "participants": 5,
    "rois": {"ventral_striatum": {"bp_nd": 2.4}, "amygdala": {"bp_nd": 2.0}},
    "activation": {"rejection": {"ventral_striatum": 0.08}, "acceptance": {"amygdala": 0.05}},
    "traits": {"resiliency": {"condition": "rejection", "roi": "amygdala", "r": 0.6, "mean": 50, "sd": 10}},
}
OUTPUTS = ["bp", "paired", "correlations", "groups", "effects", "exclusions", "paired_png", "paired_svg", "correlations_png", "correlations_svg"]


def _row(path: Path, kind: str) -> dict:
    return {"study": "s", "modality": "pet", "input": kind, "design": "within", "drug": "social_rejection", "direction": 1,
            "reference": "baseline", "sample_group": "lab", "path": str(path)}


@pytest.fixture(scope="module")
def tac_study(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("pet") / "tacs"
    row = _row(root, "tac")
    simulate_study(study="s", row=row, params=validate_section(PARAMS, "simulate_pet.schema.yaml", source="t"), seed=3)
    # Participant 04's rejection scan lost its reference column: unusable input.
    broken = Path(tac_path(root, "04", "rejection"))
    table = pd.read_csv(broken, sep="\t").drop(columns="occipital")
    table.to_csv(broken, sep="\t", index=False)
    return row


@pytest.fixture
def cfg() -> dict:
    return validate_section({"traits": ["resiliency"]}, "pet.schema.yaml", source="t")


def _fit_all(row: dict, cfg: dict, out: Path) -> tuple[list[str], list[str]]:
    bp, qc = [], []
    for p in ("01", "02", "03", "04", "05"):
        bp.append(str(out / "pet" / f"{p}.parquet"))
        qc.append(str(out / "qc" / f"{p}.json"))
        tacs = {c: tac_path(row["path"], p, c) for c in cfg["conditions"]}
        run_participant(study="s", participant=p, tacs=tacs, cfg=cfg, on_bad_data="exclude", table=bp[-1], qc=qc[-1], metadata={"v": "1"})
    return bp, qc


def _outputs(out: Path) -> dict:
    suffix = {"bp": "bp.parquet", "effects": "effects.parquet", "paired_png": "paired.png", "paired_svg": "paired.svg",
              "correlations_png": "correlations.png", "correlations_svg": "correlations.svg"}
    return {k: str(out / suffix.get(k, f"{k}.tsv")) for k in OUTPUTS}


def test_unusable_input_fails_or_is_excluded_as_configured(tac_study, cfg, tmp_path):
    tacs = {c: tac_path(tac_study["path"], "04", c) for c in cfg["conditions"]}
    with pytest.raises(PetInputError, match="participant '04'.*lacks column"):
        run_participant(study="s", participant="04", tacs=tacs, cfg=cfg, on_bad_data="fail",
                        table=str(tmp_path / "04.parquet"), qc=str(tmp_path / "04.json"), metadata={})
    assert not (tmp_path / "04.parquet").exists() and not (tmp_path / "04.json").exists()
    run_participant(study="s", participant="04", tacs=tacs, cfg=cfg, on_bad_data="exclude",
                    table=str(tmp_path / "04.parquet"), qc=str(tmp_path / "04.json"), metadata={})
    assert read_table(tmp_path / "04.parquet", PET_BP).empty
    qc = json.loads((tmp_path / "04.json").read_text())
    assert qc["usable"] is False and "occipital" in qc["exclusion_reason"]


def test_participant_table_and_qc(tac_study, cfg, tmp_path):
    tacs = {c: tac_path(tac_study["path"], "01", c) for c in cfg["conditions"]}
    run_participant(study="s", participant="01", tacs=tacs, cfg=cfg, on_bad_data="fail",
                    table=str(tmp_path / "01.parquet"), qc=str(tmp_path / "01.json"), metadata={})
    table = read_table(tmp_path / "01.parquet", PET_BP)
    assert len(table) == 2 * 3 * 2  # ROIs x conditions x models
    assert set(table["model"]) == {"SRTM", "Logan"}
    qc = json.loads((tmp_path / "01.json").read_text())
    assert qc["usable"] and qc["fits"] == 12 and set(qc["scans"]) == {"baseline", "rejection", "acceptance"}
    assert qc["scans"]["baseline"]["k2_ref_source"].startswith("median k2/R1")


def test_tac_study_outputs_and_identical_bytes_on_rerun(tac_study, cfg, tmp_path):
    bp, qc = _fit_all(tac_study, cfg, tmp_path / "fits")
    contents = []
    for run in ("a", "b"):
        outputs = _outputs(tmp_path / run)
        run_study(study="s", row=tac_study, cfg=cfg, bp_paths=bp, qc_paths=qc, bpnd_paths=[], outputs=outputs, metadata={"v": "1"})
        contents.append({k: Path(v).read_bytes() for k, v in outputs.items()})
    assert contents[0] == contents[1]

    outputs = _outputs(tmp_path / "a")
    exclusions = pd.read_csv(outputs["exclusions"], sep="\t")
    assert exclusions.loc[exclusions["participant"] == 4, "reason"].str.contains("lacks column").any()
    paired = pd.read_csv(outputs["paired"], sep="\t")
    assert set(paired["model"]) == {"SRTM", "Logan"}
    assert (paired["n"] <= 4).all()  # participant 04 is out
    effects = read_table(outputs["effects"], EFFECTS)
    assert set(effects["measure"]) == {"SMCC", "ZCOR"}
    assert (effects["sample_group"] == "lab").all() and (effects["design"] == "within").all()
    assert len(effects) == 2 * 3 + 2 * 2  # ROIs x contrasts, ROIs x trait x contrasts vs baseline
    assert b"<dc:date>" not in Path(outputs["paired_svg"]).read_bytes()


def test_bpnd_study_skips_fitting(tmp_path, cfg):
    root = tmp_path / "given"
    row = _row(root, "bpnd")
    simulate_study(study="s", row=row, params=validate_section(PARAMS, "simulate_pet.schema.yaml", source="t"), seed=4)
    outputs = _outputs(tmp_path / "out")
    run_study(study="s", row=row, cfg=cfg, bp_paths=[], qc_paths=[], bpnd_paths=[str(root / "bpnd.tsv")], outputs=outputs, metadata={})
    bp = read_table(outputs["bp"], PET_BP)
    assert set(bp["model"]) == {"given"} and bp["fit_ok"].all() and len(bp) == 5 * 2 * 3
    effects = read_table(outputs["effects"], EFFECTS)
    assert effects.loc[effects["measure"] == "SMCC", "n1"].eq(5).all()


def test_trait_selection_errors_name_the_column():
    sheet = pd.DataFrame({"participant": ["01", "02"], "participant_id": ["sub-01", "sub-02"], "age": ["20", "30"],
                          "group": ["mdd", "hc"], "score": ["1.5", "n/a"]})
    assert list(traits_of(sheet, [], study="s").columns) == ["score"]  # group is not numeric, age is not a trait
    with pytest.raises(ConfigError, match="'group' of participants.tsv is not numeric"):
        traits_of(sheet, ["group"], study="s")
    with pytest.raises(ConfigError, match="lists 'mood'"):
        traits_of(sheet, ["mood"], study="s")


def test_reference_must_be_a_configured_condition(tac_study):
    """Checked when the workflow plans the study's job (common.smk), before any fit runs."""
    cfg = validate_section({"conditions": ["rest", "rejection"]}, "pet.schema.yaml", source="t")
    sheet = load_participants(pd.Series(tac_study), schemas=SCHEMA_DIR)
    with pytest.raises(ConfigError, match="reference 'baseline'"):
        check_config(study_row=tac_study, sheet=sheet, cfg=cfg)
    with pytest.raises(ConfigError, match="'openness', which participants.tsv does not have"):
        check_config(study_row=tac_study, sheet=sheet, cfg={**cfg, "conditions": ["baseline", "rejection"], "traits": ["openness"]})


# --- Patient-control studies (Hsu et al. 2015 design) ---------------------------------

GROUPS = {"control": {"participants": 9}, "mdd": {"participants": 8, "activation_scale": {"rejection": 0.0}}}


@pytest.fixture(scope="module")
def group_study(tmp_path_factory) -> tuple[dict, dict, Path]:
    root = tmp_path_factory.mktemp("groups") / "given"
    row = {**_row(root, "bpnd"), "reference_group": "control"}
    params = validate_section({**PARAMS, "groups": GROUPS, "sd_activation": 0.02, "bp_nd_error": 0.005}, "simulate_pet.schema.yaml", source="t")
    simulate_study(study="s", row=row, params=params, seed=15)
    out = root.parent / "out"
    cfg = validate_section({"traits": ["resiliency"]}, "pet.schema.yaml", source="t")
    run_study(study="s", row=row, cfg=cfg, bp_paths=[], qc_paths=[], bpnd_paths=[str(root / "bpnd.tsv")], outputs=_outputs(out), metadata={})
    return row, _outputs(out), root


def _independent_group_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, float]:
    """t, p, Hedges' g and its variance from the textbook formulas (Hedges 1981; Borenstein et al. 2009)."""
    n1, n2 = len(a), len(b)
    df = n1 + n2 - 2
    sp = np.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / df)
    t = (a.mean() - b.mean()) / (sp * np.sqrt(1 / n1 + 1 / n2))
    j = np.exp(gammaln(df / 2) - np.log(np.sqrt(df / 2)) - gammaln((df - 1) / 2))
    g = j * (a.mean() - b.mean()) / sp
    return t, 2 * student_t.sf(abs(t), df), g, 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))


def test_group_differences_match_the_textbook_formulas(group_study):
    _, outputs, root = group_study
    groups = pd.read_csv(outputs["groups"], sep="\t", dtype={"group": str})
    sheet = pd.read_csv(root / "participants.tsv", sep="\t").assign(participant=lambda d: d["participant_id"].str.removeprefix("sub-"))
    bp = read_table(outputs["bp"], PET_BP)
    wide = bp.pivot(index=["participant", "roi"], columns="condition", values="bp_nd")
    change = (wide["baseline"] - wide["rejection"]).unstack("roi")
    label = sheet.set_index("participant")["group"].reindex(change.index)
    rows = groups[(groups["contrast"] == "baseline - rejection")].set_index("roi")
    assert set(groups["group"]) == {"mdd"} and (groups["reference_group"] == "control").all()
    for roi in change.columns:
        a, b = change.loc[label == "mdd", roi].to_numpy(), change.loc[label == "control", roi].to_numpy()
        t, p, g, vi = _independent_group_difference(a, b)
        r = rows.loc[roi]
        assert (r["n_group"], r["n_reference"]) == (8, 9)
        assert r["t"] == pytest.approx(t, rel=1e-9) and r["p"] == pytest.approx(p, rel=1e-9)
        assert r["g"] == pytest.approx(g, rel=1e-9) and r["vi"] == pytest.approx(vi, rel=1e-9)


def test_patients_smaller_rejection_response_is_found_and_enters_the_effects(group_study):
    _, outputs, _ = group_study
    effects = read_table(outputs["effects"], EFFECTS)
    smd = effects[effects["measure"] == "SMD"]
    assert (smd["design"] == "between").all() and (smd["direction"] == 0).all()
    assert smd["n1"].eq(8).all() and smd["n2"].eq(9).all()
    assert smd["outcome"].str.endswith(": mdd - control").all()
    # ventral striatum is activated by rejection (PARAMS), patients not at all (scale 0).
    vs = smd[smd["outcome"] == "MOR activation in ventral_striatum during rejection: mdd - control"]
    assert len(vs) == 1 and vs["yi"].iloc[0] < -1.0
    # Correlations per group, and the whole sample as 'all'.
    correlations = pd.read_csv(outputs["correlations"], sep="\t")
    assert set(correlations["group"]) == {"all", "control", "mdd"}
    assert effects["outcome"].str.endswith("x resiliency in mdd").any()
    assert (effects.loc[effects["measure"] == "ZCOR", "direction"] == 1).all()


def test_within_studies_write_an_empty_group_table(tac_study, cfg, tmp_path):
    bp, qc = _fit_all(tac_study, cfg, tmp_path / "fits")
    outputs = _outputs(tmp_path / "out")
    run_study(study="s", row=tac_study, cfg=cfg, bp_paths=bp, qc_paths=qc, bpnd_paths=[], outputs=outputs, metadata={})
    groups = pd.read_csv(outputs["groups"], sep="\t")
    assert groups.empty and "g" in groups.columns
    assert set(pd.read_csv(outputs["correlations"], sep="\t")["group"]) == {"all"}


@pytest.mark.parametrize(
    ("sheet", "message"),
    [
        ("participant_id\tsex\nsub-01\tF\nsub-02\tM\n", "participant(s) ['sub-01', 'sub-02'] have no group"),
        ("participant_id\tgroup\nsub-01\tcontrol\nsub-02\t\n", "participant(s) ['sub-02'] have no group"),
        ("participant_id\tgroup\nsub-01\tmdd\nsub-02\tmdd\n", "must include the reference group 'control'"),
    ],
    ids=["no_column", "missing_group", "no_reference_group"],
)
def test_group_sheets_are_checked(tmp_path, sheet, message):
    (tmp_path / "participants.tsv").write_text(sheet)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        load_participants(pd.Series({"study": "s", "path": str(tmp_path), "reference_group": "control"}), schemas=SCHEMA_DIR)


def test_simulated_groups_need_the_studys_reference_group(tmp_path):
    params = validate_section({**PARAMS, "groups": GROUPS}, "simulate_pet.schema.yaml", source="t")
    with pytest.raises(ConfigError, match="reference_group"):
        simulate_study(study="s", row=_row(tmp_path, "bpnd"), params=params, seed=1)


@pytest.mark.parametrize("model", MODELS)
def test_every_model_runs_through_the_study_stage_as_the_primary_estimate(tac_study, tmp_path, model):
    cfg = validate_section({"traits": ["resiliency"], "model": model, "check_models": []}, "pet.schema.yaml", source="t")
    bp, qc = _fit_all(tac_study, cfg, tmp_path / "fits")
    outputs = _outputs(tmp_path / "out")
    run_study(study="s", row=tac_study, cfg=cfg, bp_paths=bp, qc_paths=qc, bpnd_paths=[], outputs=outputs, metadata={})
    table = read_table(outputs["bp"], PET_BP)
    assert set(table["model"]) == {model} and table.loc[table["participant"] != "04", "fit_ok"].all()
    effects = read_table(outputs["effects"], EFFECTS)
    assert set(effects["measure"]) == {"SMCC", "ZCOR"} and len(effects) == 2 * 3 + 2 * 2
    assert set(pd.read_csv(outputs["paired"], sep="\t")["model"]) == {model}
    assert Path(outputs["paired_png"]).stat().st_size > 0


def test_only_pet_studies_may_name_a_reference_group(tmp_path):
    path = tmp_path / "studies.tsv"
    path.write_text("study\tmodality\tinput\tdesign\tdrug\tdirection\treference\tsample_group\tpath\treference_group\n"
                    "e\temg\tbids\tbetween\tnaltrexone\t-1\tplacebo\tg\tdata/e\tcontrol\n")
    with pytest.raises(ConfigError, match="study 'e' names reference_group 'control', which only PET studies use"):
        load_studies(path, schemas=SCHEMA_DIR)
