# Meta-analysis across studies (src/opioidsocial/meta/): harmonise every effect, then
# pool per outcome family, meta-regress, fit the multilevel model, check sensitivity,
# the cumulative meta-analysis by year, plot, and the Bayesian random-effects meta-analysis of every family (config
# `meta.bayes`). Works on summary studies alone when no study has an effects.parquet.


TARGETS.extend(
    [
        P.meta_effects,
        P.meta_pooled,
        P.meta_regression,
        P.meta_multilevel,
        P.meta_leave1out,
        P.meta_influence,
        P.meta_small_study,
        P.meta_cumulative,
        P.meta_cumulative_plots,
        P.meta_forest,
        P.meta_funnel_png,
        P.meta_funnel_svg,
        P.meta_bayes,
        P.meta_bayes_posterior,
    ]
)


rule meta_effects:
    input:
        effects=effects_files(),
        summaries=get_summary_files(),
    output:
        effects=P.meta_effects,
    log:
        log_of("meta_effects"),
    benchmark:
        benchmark_of("meta_effects")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("meta_effects"),
        summaries=summary_study_rows(),
        years=study_years(),
        metadata=get_provenance("meta_effects"),
    script:
        script_of("meta_effects")


rule meta_pool:
    input:
        effects=rules.meta_effects.output.effects,
    output:
        pooled=P.meta_pooled,
    log:
        log_of("meta_pool"),
    benchmark:
        benchmark_of("meta_pool")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("meta_pool"),
    script:
        script_of("meta_pool")


rule meta_regression:
    input:
        effects=rules.meta_effects.output.effects,
    output:
        regression=P.meta_regression,
    log:
        log_of("meta_regression"),
    benchmark:
        benchmark_of("meta_regression")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("meta_regression"),
    script:
        script_of("meta_regression")


rule meta_multilevel:
    input:
        effects=rules.meta_effects.output.effects,
    output:
        multilevel=P.meta_multilevel,
    log:
        log_of("meta_multilevel"),
    benchmark:
        benchmark_of("meta_multilevel")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        cfg=get_cfg("meta_multilevel"),
    script:
        script_of("meta_multilevel")


rule meta_sensitivity:
    input:
        effects=rules.meta_effects.output.effects,
    output:
        leave1out=P.meta_leave1out,
        influence=P.meta_influence,
        small_study=P.meta_small_study,
    log:
        log_of("meta_sensitivity"),
    benchmark:
        benchmark_of("meta_sensitivity")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        cfg=get_cfg("meta_sensitivity"),
    script:
        script_of("meta_sensitivity")


rule meta_cumulative:
    input:
        effects=rules.meta_effects.output.effects,
    output:
        cumulative=P.meta_cumulative,
        figures=report(
            directory(P.meta_cumulative_plots),
            patterns=folder_patterns("meta_cumulative_plots"),
            caption=caption_of("meta_cumulative"),
            category="4 Meta-analysis",
            subcategory="Plots",
            labels={"item": "cumulative meta-analysis: {name}"},
        ),
    log:
        log_of("meta_cumulative"),
    benchmark:
        benchmark_of("meta_cumulative")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("meta_cumulative"),
    script:
        script_of("meta_cumulative")


rule meta_plots:
    input:
        effects=rules.meta_effects.output.effects,
        pooled=rules.meta_pool.output.pooled,
        # The 3PSM and PET-PEESE estimates shown under each pooled diamond.
        small_study=rules.meta_sensitivity.output.small_study,
        # Each study's Bayes factors, shown next to its effects' CIs (workflow/rules/evidence.smk).
        evidence=get_evidence_files(),
    output:
        forest=report(
            directory(P.meta_forest),
            patterns=folder_patterns("meta_forest"),
            caption=caption_of("meta_forest"),
            category="4 Meta-analysis",
            subcategory="Plots",
            labels={"item": "forest plot: {name}"},
        ),
        funnel_png=report(
            P.meta_funnel_png,
            caption=caption_of("meta_funnel"),
            category="4 Meta-analysis",
            subcategory="Plots",
            labels={"item": "funnel plot"},
        ),
        funnel_svg=P.meta_funnel_svg,
    log:
        log_of("meta_plots"),
    benchmark:
        benchmark_of("meta_plots")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("meta_plots"),
    script:
        script_of("meta_plots")


rule meta_bayes:
    input:
        effects=rules.meta_effects.output.effects,
    output:
        bayes=P.meta_bayes,
        posterior=report(
            directory(P.meta_bayes_posterior),
            patterns=folder_patterns("meta_bayes_posterior"),
            caption=caption_of("meta_bayes_posterior"),
            category="4 Meta-analysis",
            subcategory="Plots",
            labels={"item": "Bayesian posterior of mu and tau: {name}"},
        ),
    log:
        log_of("meta_bayes"),
    benchmark:
        benchmark_of("meta_bayes")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("meta_bayes"),
    script:
        script_of("meta_bayes")
