# PET: reference-tissue fits (pet.model and pet.check_models) per participant and scan (fan-out, TAC studies), then
# paired tests, trait correlations, effects and figures per study (fan-in; BPND-table
# studies enter here directly).


TARGETS.extend(P.effects.format(study=s) for s in studies(modality="pet"))
if config["report"]["qc_figures"]:
    TARGETS.append(lambda: per_participant(P.pet_qc_figure, studies(modality="pet", input="tac")))


rule pet_fit:
    input:
        unpack(get_tac_scans),
    output:
        bp=P.pet_bp,
        qc=P.pet_qc,
    log:
        f"{P.logs}/pet_fit/{{study}}/{{participant}}.log",
    benchmark:
        f"{P.benchmarks}/pet_fit/{{study}}/{{participant}}.tsv"
    wildcard_constraints:
        study=PET_TAC,
    conda:
        "../../environment.yml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        cfg=get_cfg("pet_fit"),
        metadata=get_provenance("pet_fit"),
    script:
        "../../scripts/pet_fit.py"


rule pet_qc_figure:
    input:
        unpack(get_tac_scans),
        qc=P.pet_qc,
        bp=P.pet_bp,
    output:
        png=report(
            P.pet_qc_figure,
            caption="../report/pet_qc.rst",
            category="2 Quality control",
            subcategory="{study}",
            labels={"participant": "{participant}"},
        ),
    log:
        f"{P.logs}/pet_qc_figure/{{study}}/{{participant}}.log",
    benchmark:
        f"{P.benchmarks}/pet_qc_figure/{{study}}/{{participant}}.tsv"
    wildcard_constraints:
        study=PET_TAC,
    conda:
        "../../environment.yml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=get_cfg("pet_qc_figure"),
    script:
        "../../scripts/pet_qc_figure.py"


rule pet_study:
    input:
        unpack(get_pet_study_inputs),
    output:
        effects=P.effects,
        bp=P.study_bp,
        paired=f"{P.model}/pet_paired.tsv",
        correlations=f"{P.model}/pet_correlations.tsv",
        groups=f"{P.model}/pet_groups.tsv",
        exclusions=P.exclusions,
        paired_png=report(
            f"{P.model}/pet_paired.png",
            caption="../report/pet_paired.rst",
            category="3 Study results",
            subcategory="{study}",
            labels={"item": "PET per-ROI changes"},
        ),
        paired_svg=f"{P.model}/pet_paired.svg",
        correlations_png=report(
            f"{P.model}/pet_correlations.png",
            caption="../report/pet_correlations.rst",
            category="3 Study results",
            subcategory="{study}",
            labels={"item": "PET trait correlations"},
        ),
        correlations_svg=f"{P.model}/pet_correlations.svg",
    log:
        f"{P.logs}/pet_study/{{study}}.log",
    benchmark:
        f"{P.benchmarks}/pet_study/{{study}}.tsv"
    wildcard_constraints:
        study=PET_ANY,
    conda:
        "../../environment.yml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("pet_study"),
        row=get_study_columns("study", "input", "design", "drug", "direction", "reference", "sample_group", "reference_group"),
        metadata=get_provenance("pet_study"),
    script:
        "../../scripts/pet_study.py"
