# PET: reference-tissue fits (pet.model and pet.check_models) per participant and scan (fan-out, TAC studies), then
# paired tests, trait correlations, effects and figures per study (fan-in; BPND-table
# studies enter here directly).
from opioidsocial.pet.inputs import bpnd_path, sidecar_path, tac_path

TARGETS.extend(f"{RESULTS}/{s}/model/effects.parquet" for s in studies(modality="pet"))
if config["report"]["qc_figures"]:
    TARGETS.append(lambda: [f"{RESULTS}/{s}/qc/{p}.png" for s in studies(modality="pet", input="tac") for p in participants(s)])

# One TAC file per configured condition, named from the sheets and pet.tac_layout
# (never globbed); the fits and their QC figure read the same files. A TAC file's
# JSON sidecar (decay correction) is optional: it is an input when it exists, so
# that editing it reruns the fit.
def pet_scans(wc):
    tacs = {
        c: tac_path(study_row(wc.study)["path"], wc.participant, c, layout=config["pet"]["tac_layout"], seg=config["pet"]["tac_seg"])
        for c in config["pet"]["conditions"]
    }
    sidecars = {f"{c}_sidecar": str(sidecar_path(t)) for c, t in tacs.items() if sidecar_path(t).is_file()}
    return {**tacs, **sidecars}


rule pet_fit:
    input:
        unpack(pet_scans),
    output:
        bp=f"{RESULTS}/{{study}}/pet/{{participant}}.parquet",
        qc=f"{RESULTS}/{{study}}/qc/{{participant}}.json",
    log:
        f"{RESULTS}/logs/pet_fit/{{study}}/{{participant}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/pet_fit/{{study}}/{{participant}}.tsv"
    wildcard_constraints:
        study="|".join(studies(modality="pet", input="tac")) or "(?!)",
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


rule pet_qc_figure:
    input:
        unpack(pet_scans),
        qc=f"{RESULTS}/{{study}}/qc/{{participant}}.json",
        bp=f"{RESULTS}/{{study}}/pet/{{participant}}.parquet",
    output:
        report(
            f"{RESULTS}/{{study}}/qc/{{participant}}.png",
            caption="../report/pet_qc.rst",
            category="2 Quality control",
            subcategory="{study}",
            labels={"participant": "{participant}"},
        ),
    wildcard_constraints:
        study="|".join(studies(modality="pet", input="tac")) or "(?!)",
        participant="[A-Za-z0-9]+",
    log:
        f"{RESULTS}/logs/pet_qc_figure/{{study}}/{{participant}}.log",
    params:
        pet=config["pet"],
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/pet_qc_figure.py"


rule pet_study:
    input:
        participants=lambda wc: f"{study_row(wc.study)['path']}/participants.tsv",
        # BPND-table studies read the table; TAC studies every participant's fits.
        bpnd=lambda wc: [bpnd_path(study_row(wc.study)["path"])] if study_row(wc.study)["input"] == "bpnd" else [],
        bp=lambda wc: [] if study_row(wc.study)["input"] == "bpnd" else expand(f"{RESULTS}/{wc.study}/pet/{{p}}.parquet", p=participants(wc.study)),
        qc=lambda wc: [] if study_row(wc.study)["input"] == "bpnd" else expand(f"{RESULTS}/{wc.study}/qc/{{p}}.json", p=participants(wc.study)),
    output:
        effects=f"{RESULTS}/{{study}}/model/effects.parquet",
        bp=f"{RESULTS}/{{study}}/model/pet_bp.parquet",
        paired=f"{RESULTS}/{{study}}/model/pet_paired.tsv",
        correlations=f"{RESULTS}/{{study}}/model/pet_correlations.tsv",
        groups=f"{RESULTS}/{{study}}/model/pet_groups.tsv",
        exclusions=f"{RESULTS}/{{study}}/exclusions.tsv",
        paired_png=report(f"{RESULTS}/{{study}}/model/pet_paired.png", caption="../report/pet_paired.rst", category="3 Study results", subcategory="{study}", labels={"item": "PET per-ROI changes"}),
        paired_svg=f"{RESULTS}/{{study}}/model/pet_paired.svg",
        correlations_png=report(f"{RESULTS}/{{study}}/model/pet_correlations.png", caption="../report/pet_correlations.rst", category="3 Study results", subcategory="{study}", labels={"item": "PET trait correlations"}),
        correlations_svg=f"{RESULTS}/{{study}}/model/pet_correlations.svg",
    log:
        f"{RESULTS}/logs/pet_study/{{study}}.log",
    wildcard_constraints:
        study="|".join(studies(modality="pet")) or "(?!)",
    params:
        pet=config["pet"],
        study=lambda wc: study_row(wc.study),
        provenance=provenance("pet"),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/pet_study.py"
