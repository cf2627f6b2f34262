# PET: SRTM and Logan fits per participant and scan (fan-out, TAC studies), then
# paired tests, trait correlations, effects and figures per study (fan-in; BPND-table
# studies enter here directly).
import re

from opioidsocial.pet.inputs import bpnd_path, tac_path


def _one_of(ids):
    """Wildcard regex matching exactly these study ids (or nothing)."""
    return "|".join(map(re.escape, ids)) or "(?!)"


def pet_tacs(wildcards):
    """One TAC file per configured condition, named from the sheets (never globbed)."""
    root = study_row(wildcards.study)["path"]
    return {c: tac_path(root, wildcards.participant, c) for c in config["pet"]["conditions"]}


def pet_study_inputs(wildcards):
    if study_row(wildcards.study)["input"] == "bpnd":
        return {"bpnd": bpnd_path(study_row(wildcards.study)["path"])}
    ids = participants(wildcards.study)
    return {
        "bp": expand(f"{RESULTS}/{wildcards.study}/pet/{{p}}.parquet", p=ids),
        "qc": expand(f"{RESULTS}/{wildcards.study}/qc/{{p}}.json", p=ids),
    }


TARGETS.extend(f"{RESULTS}/{s}/model/effects.parquet" for s in studies(modality="pet"))

# The QC and exclusion paths are shared with the EMG stage; PET studies are PET's.
ruleorder: pet_fit > emg_preprocess
ruleorder: pet_study > emg_study_table


rule pet_fit:
    input:
        unpack(pet_tacs),
    output:
        bp=f"{RESULTS}/{{study}}/pet/{{participant}}.parquet",
        qc=f"{RESULTS}/{{study}}/qc/{{participant}}.json",
    log:
        f"{RESULTS}/logs/pet_fit/{{study}}/{{participant}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/pet_fit/{{study}}/{{participant}}.tsv"
    wildcard_constraints:
        study=_one_of(studies(modality="pet", input="tac")),
        participant="[A-Za-z0-9]+",
    params:
        pet=config["pet"],
        on_bad_data=config["on_bad_data"],
        provenance=provenance("pet"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/pet_fit.py"


rule pet_study:
    input:
        unpack(pet_study_inputs),
        participants=lambda wc: f"{study_row(wc.study)['path']}/participants.tsv",
    output:
        effects=f"{RESULTS}/{{study}}/model/effects.parquet",
        bp=f"{RESULTS}/{{study}}/model/pet_bp.parquet",
        paired=f"{RESULTS}/{{study}}/model/pet_paired.tsv",
        correlations=f"{RESULTS}/{{study}}/model/pet_correlations.tsv",
        exclusions=f"{RESULTS}/{{study}}/exclusions.tsv",
        paired_png=report(f"{RESULTS}/{{study}}/model/pet_paired.png", caption="../report/pet_paired.rst", category="PET", subcategory="{study}"),
        paired_svg=f"{RESULTS}/{{study}}/model/pet_paired.svg",
        correlations_png=report(f"{RESULTS}/{{study}}/model/pet_correlations.png", caption="../report/pet_correlations.rst", category="PET", subcategory="{study}"),
        correlations_svg=f"{RESULTS}/{{study}}/model/pet_correlations.svg",
    log:
        f"{RESULTS}/logs/pet_study/{{study}}.log",
    wildcard_constraints:
        study=_one_of(studies(modality="pet")),
    params:
        pet=config["pet"],
        study=lambda wc: study_row(wc.study).to_dict(),
        provenance=provenance("pet"),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/pet_study.py"
