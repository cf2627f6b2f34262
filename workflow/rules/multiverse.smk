# The multiverse of reasonable EMG analyses (src/opioidsocial/multiverse/): per
# participant and high-pass value one filtering and every envelope of it, per study
# every universe's cell means, the specification curve, its joint tests and what each
# choice explains.

MULTIVERSE = one_of(multiverse_studies())

TARGETS.extend(
    P[name].format(study=s)
    for s in multiverse_studies()
    for name in ("multiverse_specifications", "multiverse_joint", "multiverse_choices", "multiverse_curves")
)
if multiverse_studies():
    TARGETS.extend([P.meta_multiverse, P.meta_multiverse_curves])


rule multiverse_participant:
    input:
        unpack(get_multiverse_recording),
    output:
        envelopes=P.multiverse_envelopes,
    log:
        log_of("multiverse_participant", "study", "participant", "highpass"),
    benchmark:
        benchmark_of("multiverse_participant", "study", "participant", "highpass")
    wildcard_constraints:
        study=MULTIVERSE,
        highpass=r"[0-9.e+-]+",
    conda:
        ENV
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        cfg=get_cfg("multiverse_participant"),
        arm=get_arm,
        first_highpass=get_multiverse_first_highpass,
        metadata=get_provenance("multiverse_participant"),
    script:
        script_of("multiverse_participant")


rule multiverse_study:
    input:
        envelopes=get_multiverse_envelopes,
    output:
        cells=P.multiverse_study_cells,
        specifications=P.multiverse_specifications,
        joint=P.multiverse_joint,
        choices=P.multiverse_choices,
    log:
        log_of("multiverse_study", "study"),
    benchmark:
        benchmark_of("multiverse_study", "study")
    wildcard_constraints:
        study=MULTIVERSE,
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        cfg=get_cfg("multiverse_study"),
        row=get_study_columns("study", "design", "drug", "reference"),
        metadata=get_provenance("multiverse_study"),
    script:
        script_of("multiverse_study")


rule multiverse_figure:
    input:
        specifications=P.multiverse_specifications,
        joint=P.multiverse_joint,
    output:
        png=report(
            P.multiverse_curves,
            caption=caption_of("multiverse_curves"),
            category="4 Multiverse",
            subcategory="{study}",
            labels={"item": "specification curves"},
        ),
    log:
        log_of("multiverse_figure", "study"),
    benchmark:
        benchmark_of("multiverse_figure", "study")
    wildcard_constraints:
        study=MULTIVERSE,
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("multiverse_figure"),
    script:
        script_of("multiverse_figure")


rule multiverse_meta:
    input:
        effects=P.meta_effects,
        specifications=get_multiverse_specifications(),
    output:
        table=P.meta_multiverse,
    log:
        log_of("multiverse_meta"),
    benchmark:
        benchmark_of("multiverse_meta")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        cfg=get_cfg("multiverse_meta"),
    script:
        script_of("multiverse_meta")


rule multiverse_meta_figure:
    input:
        table=P.meta_multiverse,
    output:
        png=report(
            P.meta_multiverse_curves,
            caption=caption_of("multiverse_meta"),
            category="4 Multiverse",
            subcategory="meta-analysis",
            labels={"item": "specification curves of the pooled effects"},
        ),
    log:
        log_of("multiverse_meta_figure"),
    benchmark:
        benchmark_of("multiverse_meta_figure")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("multiverse_meta_figure"),
    script:
        script_of("multiverse_meta_figure")
