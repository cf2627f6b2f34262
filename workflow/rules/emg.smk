# Facial EMG: one preprocessing job per participant (fan-out), then per study the
# table of usable participants, the mixed models with planned contrasts, Hedges' g
# and figures (fan-in; input 'trials' studies enter at the model).


TARGETS.extend(P.effects.format(study=s) for s in studies(modality="emg"))
TARGETS.extend(f"{P.model}/timecourses.png".format(study=s) for s in studies(modality="emg", input="bids"))
if config["report"]["qc_figures"]:
    TARGETS.append(lambda: per_participant(P.emg_qc_figure, studies(modality="emg", input="bids")))


rule emg_preprocess:
    input:
        unpack(get_emg_recording),
    output:
        bins=P.emg_bins,
        qc=P.emg_qc,
        signals=P.emg_qc_signals,
    log:
        f"{P.logs}/emg_preprocess/{{study}}/{{participant}}.log",
    benchmark:
        f"{P.benchmarks}/emg_preprocess/{{study}}/{{participant}}.tsv"
    wildcard_constraints:
        study=EMG_BIDS,
    conda:
        "../../environment.yml"
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        cfg=get_cfg("emg_preprocess"),
        arm=get_arm,
        metadata=get_provenance("emg_preprocess"),
    script:
        "../../scripts/emg_preprocess.py"


# Drawn from the preprocessing job's outputs only: one read of each recording per run.
rule emg_qc_figure:
    input:
        qc=P.emg_qc,
        signals=P.emg_qc_signals,
    output:
        png=report(
            P.emg_qc_figure,
            caption="../report/emg_qc.rst",
            category="2 Quality control",
            subcategory="{study}",
            labels={"participant": "{participant}"},
        ),
    log:
        f"{P.logs}/emg_qc_figure/{{study}}/{{participant}}.log",
    benchmark:
        f"{P.benchmarks}/emg_qc_figure/{{study}}/{{participant}}.tsv"
    wildcard_constraints:
        study=EMG_BIDS,
    conda:
        "../../environment.yml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/emg_qc_figure.py"


rule emg_study_table:
    input:
        unpack(get_emg_participants),
    output:
        table=P.emg_table,
        exclusions=P.exclusions,
    log:
        f"{P.logs}/emg_study_table/{{study}}.log",
    benchmark:
        f"{P.benchmarks}/emg_study_table/{{study}}.tsv"
    wildcard_constraints:
        study=EMG_BIDS,
    conda:
        "../../environment.yml"
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        metadata=get_provenance("emg_study_table"),
    script:
        "../../scripts/emg_study_table.py"


rule emg_model:
    input:
        source=get_emg_model_source,
    output:
        trials=P.trials,
        fixef=f"{P.model}/fixef.tsv",
        anova=f"{P.model}/anova.tsv",
        varcomp=f"{P.model}/varcomp.tsv",
        emmeans=f"{P.model}/emmeans.tsv",
        contrasts=f"{P.model}/contrasts.tsv",
        fit=P.fit,
        effects=P.effects,
        samples=P.effect_samples,
        plot_png=report(
            f"{P.model}/emmeans.png",
            caption="../report/emg_model_emmeans.rst",
            category="3 Study results",
            subcategory="{study}",
            labels={"item": "EMG marginal means"},
        ),
        plot_svg=f"{P.model}/emmeans.svg",
    log:
        f"{P.logs}/emg_model/{{study}}.log",
    benchmark:
        f"{P.benchmarks}/emg_model/{{study}}.tsv"
    wildcard_constraints:
        study=EMG_ANY,
    conda:
        "../../environment.yml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        cfg=get_cfg("emg_model"),
        row=get_study_columns("study", "input", "design", "drug", "direction", "reference", "sample_group"),
        metadata=get_provenance("emg_model"),
    script:
        "../../scripts/emg_model.py"


rule emg_model_timecourses:
    input:
        table=P.emg_table,
    output:
        png=report(
            f"{P.model}/timecourses.png",
            caption="../report/emg_model_timecourses.rst",
            category="3 Study results",
            subcategory="{study}",
            labels={"item": "EMG time courses"},
        ),
        svg=f"{P.model}/timecourses.svg",
    log:
        f"{P.logs}/emg_model_timecourses/{{study}}.log",
    benchmark:
        f"{P.benchmarks}/emg_model_timecourses/{{study}}.tsv"
    wildcard_constraints:
        study=EMG_BIDS,
    conda:
        "../../environment.yml"
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        cfg=get_cfg("emg_model_timecourses"),
        reference=get_reference,
    script:
        "../../scripts/emg_model_timecourses.py"
