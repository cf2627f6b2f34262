# PET: reference-tissue fits (pet.model and pet.check_models) per participant and scan (fan-out, TAC studies), then
# paired tests, trait correlations, effects and figures per study (fan-in; BPND-table
# studies enter here directly).


TARGETS.extend(P.effects.format(study=s) for s in studies(modality="pet"))
if config["report"]["qc_figures"]:
    TARGETS.append(partial(per_participant, P.pet_qc_figure, studies(modality="pet", input="tac")))


rule pet_fit:
    input:
        unpack(get_tac_scans),
    output:
        bp=P.pet_bp,
        qc=P.pet_qc,
    log:
        log_of("pet_fit", "study", "participant"),
    benchmark:
        benchmark_of("pet_fit", "study", "participant")
    wildcard_constraints:
        study=PET_TAC,
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        cfg=get_cfg("pet_fit"),
        metadata=get_provenance("pet_fit"),
    script:
        script_of("pet_fit")


rule pet_qc_figure:
    input:
        unpack(get_tac_scans),
        qc=P.pet_qc,
        bp=P.pet_bp,
    output:
        png=report(
            P.pet_qc_figure,
            caption=caption_of("pet_qc"),
            category="2 Quality control",
            subcategory="{study}",
            labels={"participant": "{participant}"},
        ),
    log:
        log_of("pet_qc_figure", "study", "participant"),
    benchmark:
        benchmark_of("pet_qc_figure", "study", "participant")
    wildcard_constraints:
        study=PET_TAC,
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=get_cfg("pet_qc_figure"),
    script:
        script_of("pet_qc_figure")


rule pet_study:
    input:
        unpack(get_pet_study_inputs),
    output:
        effects=P.effects,
        bp=P.study_bp,
        paired=P.pet_paired,
        correlations=P.pet_correlations,
        groups=P.pet_groups,
        exclusions=P.exclusions,
        paired_png=report(
            P.pet_paired_png,
            caption=caption_of("pet_paired"),
            category="3 Study results",
            subcategory="{study}",
            labels={"item": "PET per-ROI changes"},
        ),
        paired_svg=P.pet_paired_svg,
        correlations_png=report(
            P.pet_correlations_png,
            caption=caption_of("pet_correlations"),
            category="3 Study results",
            subcategory="{study}",
            labels={"item": "PET trait correlations"},
        ),
        correlations_svg=P.pet_correlations_svg,
    log:
        log_of("pet_study", "study"),
    benchmark:
        benchmark_of("pet_study", "study")
    wildcard_constraints:
        study=PET_ANY,
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("pet_study"),
        row=get_study_columns("study", "input", "design", "drug", "direction", "reference", "sample_group", "reference_group"),
        metadata=get_provenance("pet_study"),
    script:
        script_of("pet_study")
