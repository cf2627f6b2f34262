# Design analysis after the meta-analysis (src/opioidsocial/design/): the past studies'
# power, type S and type M errors, sample sizes for the next study, the crossed EMG
# design's power by simulation (one job per grid point x chunk) and a sequential
# Bayes-factor design. Config section `design`.


TARGETS.extend(
    [
        P.design_retrodesign,
        P.design_sample_size,
        P.design_power_curve,
        P.design_power_sim,
        P.design_power_surface_png,
        P.design_sequential,
        P.design_sequential_figure_png,
    ]
)


rule design_retrodesign:
    input:
        pooled=rules.meta_pool.output.pooled,
        effects=rules.meta_effects.output.effects,
        small_study=rules.meta_sensitivity.output.small_study,
    output:
        retrodesign=P.design_retrodesign,
    log:
        log_of("design_retrodesign"),
    benchmark:
        benchmark_of("design_retrodesign")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=get_cfg("design_retrodesign"),
    script:
        script_of("design_retrodesign")


rule design_sample_size:
    input:
        pooled=rules.meta_pool.output.pooled,
        effects=rules.meta_effects.output.effects,
        small_study=rules.meta_sensitivity.output.small_study,
    output:
        sample_size=P.design_sample_size,
        power_curve=report(
            directory(P.design_power_curve),
            patterns=folder_patterns("design_power_curve"),
            caption=caption_of("design_power_curve"),
            category="4 Meta-analysis",
            subcategory="Design and power",
            labels={"item": "power curve: {name}"},
        ),
    log:
        log_of("design_sample_size"),
    benchmark:
        benchmark_of("design_sample_size")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=get_cfg("design_sample_size"),
    script:
        script_of("design_sample_size")


rule design_simulate:
    input:
        unpack(get_design_template_files),
        pooled=rules.meta_pool.output.pooled,
        effects=rules.meta_effects.output.effects,
    output:
        chunk=P.design_sim_chunk,
    log:
        log_of("design_simulate", "participants", "stimuli", "chunk"),
    benchmark:
        benchmark_of("design_simulate", "participants", "stimuli", "chunk")
    wildcard_constraints:
        participants=r"\d+",
        stimuli=r"\d+",
        chunk=r"\d+",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        cfg=get_cfg("design_simulate"),
        study_row=design_template(),
    script:
        script_of("design_simulate")


rule design_power_sim:
    input:
        chunks=get_design_chunks(rules.design_simulate.output.chunk),
    output:
        power_sim=P.design_power_sim,
        surface_png=report(
            P.design_power_surface_png,
            caption=caption_of("design_power_surface"),
            category="4 Meta-analysis",
            subcategory="Design and power",
            labels={"item": "simulated power of the crossed design"},
        ),
        surface_svg=P.design_power_surface_svg,
    log:
        log_of("design_power_sim"),
    benchmark:
        benchmark_of("design_power_sim")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=get_cfg("design_power_sim"),
        skipped=design_skipped(),
    script:
        script_of("design_power_sim")


rule design_sequential:
    input:
        pooled=rules.meta_pool.output.pooled,
        effects=rules.meta_effects.output.effects,
    output:
        sequential=P.design_sequential,
        figure_png=report(
            P.design_sequential_figure_png,
            caption=caption_of("design_sequential"),
            category="4 Meta-analysis",
            subcategory="Design and power",
            labels={"item": "sequential Bayes-factor design: final n"},
        ),
        figure_svg=P.design_sequential_figure_svg,
    log:
        log_of("design_sequential"),
    benchmark:
        benchmark_of("design_sequential")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=20,
    params:
        cfg=get_cfg("design_sequential"),
    script:
        script_of("design_sequential")
