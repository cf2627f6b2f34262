# Facial EMG: one preprocessing job per participant (fan-out), then per study the
# table of usable participants, the mixed models with planned contrasts, Hedges' g
# and figures (fan-in; input 'trials' studies enter at the model).


TARGETS.extend(P.effects.format(study=s) for s in studies(modality="emg"))
TARGETS.extend(P.timecourses_png.format(study=s) for s in studies(modality="emg", input="bids"))
if config["report"]["qc_figures"]:
    TARGETS.append(partial(per_participant, P.emg_qc_figure, studies(modality="emg", input="bids")))


rule emg_preprocess:
    input:
        unpack(get_emg_recording),
    output:
        bins=P.emg_bins,
        qc=P.emg_qc,
        signals=P.emg_qc_signals,
    log:
        log_of("emg_preprocess", "study", "participant"),
    benchmark:
        benchmark_of("emg_preprocess", "study", "participant")
    wildcard_constraints:
        study=EMG_BIDS,
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        cfg=get_cfg("emg_preprocess"),
        arm=get_arm,
        metadata=get_provenance("emg_preprocess"),
    script:
        script_of("emg_preprocess")


# Drawn from the preprocessing job's outputs only: one read of each recording per run.
rule emg_qc_figure:
    input:
        qc=P.emg_qc,
        signals=P.emg_qc_signals,
    output:
        png=report(
            P.emg_qc_figure,
            caption=caption_of("emg_qc"),
            category="2 Quality control",
            subcategory="{study}",
            labels={"participant": "{participant}"},
        ),
    log:
        log_of("emg_qc_figure", "study", "participant"),
    benchmark:
        benchmark_of("emg_qc_figure", "study", "participant")
    wildcard_constraints:
        study=EMG_BIDS,
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=get_cfg("emg_qc_figure"),
    script:
        script_of("emg_qc_figure")


rule emg_study_table:
    input:
        unpack(get_emg_participants),
    output:
        table=P.emg_table,
        exclusions=P.exclusions,
    log:
        log_of("emg_study_table", "study"),
    benchmark:
        benchmark_of("emg_study_table", "study")
    wildcard_constraints:
        study=EMG_BIDS,
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        cfg=get_cfg("emg_study_table"),
        metadata=get_provenance("emg_study_table"),
    script:
        script_of("emg_study_table")


rule emg_model:
    input:
        source=get_emg_model_source,
    output:
        trials=P.trials,
        fixef=P.fixef,
        anova=P.anova,
        varcomp=P.varcomp,
        emmeans=P.emmeans,
        contrasts=P.contrasts,
        fit=P.fit,
        effects=P.effects,
        samples=P.effect_samples,
        plot_png=report(
            P.emmeans_png,
            caption=caption_of("emg_model_emmeans"),
            category="3 Study results",
            subcategory="{study}",
            labels={"item": "EMG marginal means"},
        ),
        plot_svg=P.emmeans_svg,
    log:
        log_of("emg_model", "study"),
    benchmark:
        benchmark_of("emg_model", "study")
    wildcard_constraints:
        study=EMG_ANY,
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        cfg=get_cfg("emg_model"),
        row=get_study_columns("study", "input", "design", "drug", "direction", "reference", "sample_group"),
        metadata=get_provenance("emg_model"),
    script:
        script_of("emg_model")


rule emg_model_timecourses:
    input:
        table=P.emg_table,
    output:
        png=report(
            P.timecourses_png,
            caption=caption_of("emg_model_timecourses"),
            category="3 Study results",
            subcategory="{study}",
            labels={"item": "EMG time courses"},
        ),
        svg=P.timecourses_svg,
    log:
        log_of("emg_model_timecourses", "study"),
    benchmark:
        benchmark_of("emg_model_timecourses", "study")
    wildcard_constraints:
        study=EMG_BIDS,
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        cfg=get_cfg("emg_model_timecourses"),
        reference=get_reference,
    script:
        script_of("emg_model_timecourses")
