"""Job-level PET entry points: per-participant outputs, exclusions, study outputs, stable bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from opioidsocial.config import ConfigError, validate_section
from opioidsocial.io.contracts import EFFECTS, PET_BP
from opioidsocial.io.tables import read_table
from opioidsocial.pet import participant as pet_participant
from opioidsocial.pet import study as pet_study
from opioidsocial.pet.inputs import PetInputError, tac_path
from opioidsocial.pet.study import traits_of
from opioidsocial.simulate.pet import simulate_study


def run_participant(*, study: str, participant: str, tacs: dict, cfg: dict, on_bad_data: str, table: str, qc: str, metadata: dict) -> None:
    """The fit job as its rule calls it."""
    pet_participant.run(inputs=tacs, outputs={"bp": table, "qc": qc}, cfg={"pet": cfg, "on_bad_data": on_bad_data},
                        study=study, participant=participant, metadata=metadata)


def run_study(*, study: str, row: dict, cfg: dict, bp_paths: list, qc_paths: list, bpnd_paths: list, outputs: dict, metadata: dict) -> None:
    """The study job as its rule calls it."""
    pet_study.run(inputs={"bp": bp_paths, "qc": qc_paths, "bpnd": bpnd_paths}, outputs=outputs, cfg={"pet": cfg},
                  study=study, row=row, metadata=metadata)


PARAMS = {
    "participants": 5,
    "rois": {"ventral_striatum": {"bp_nd": 2.4}, "amygdala": {"bp_nd": 2.0}},
    "activation": {"rejection": {"ventral_striatum": 0.08}, "acceptance": {"amygdala": 0.05}},
    "traits": {"resiliency": {"condition": "rejection", "roi": "amygdala", "r": 0.6, "mean": 50, "sd": 10}},
}
OUTPUTS = ["bp", "paired", "correlations", "effects", "exclusions", "paired_png", "paired_svg", "correlations_png", "correlations_svg"]


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


def test_reference_must_be_a_configured_condition(tac_study, tmp_path):
    cfg = validate_section({"conditions": ["rest", "rejection"]}, "pet.schema.yaml", source="t")
    with pytest.raises(ConfigError, match="reference 'baseline'"):
        run_study(study="s", row=tac_study, cfg=cfg, bp_paths=[], qc_paths=[], bpnd_paths=[], outputs=_outputs(tmp_path), metadata={})
