# Study-level EMG models (fan-in): mixed models, planned contrasts, Hedges' g and
# figures per EMG study, from the preprocessed study table (input 'bids') or from
# the user's own trial table (input 'trials', mapped in models.trial_columns).


TARGETS.extend(f"{RESULTS}/{s}/model/effects.parquet" for s in studies(modality="emg"))
TARGETS.extend(f"{RESULTS}/{s}/model/timecourses.png" for s in studies(modality="emg", input="bids"))


rule emg_model:
    input:
        # The user's trial table (input 'trials') or the preprocessed study table.
        source=lambda wc: study_row(wc.study)["path"] if study_row(wc.study)["input"] == "trials" else f"{RESULTS}/{wc.study}/emg_trials.parquet",
    output:
        trials=f"{RESULTS}/{{study}}/model/trials.parquet",
        fixef=f"{RESULTS}/{{study}}/model/fixef.tsv",
        anova=f"{RESULTS}/{{study}}/model/anova.tsv",
        varcomp=f"{RESULTS}/{{study}}/model/varcomp.tsv",
        emmeans=f"{RESULTS}/{{study}}/model/emmeans.tsv",
        contrasts=f"{RESULTS}/{{study}}/model/contrasts.tsv",
        fit=f"{RESULTS}/{{study}}/model/fit.json",
        effects=f"{RESULTS}/{{study}}/model/effects.parquet",
        plot_png=report(f"{RESULTS}/{{study}}/model/emmeans.png", caption="../report/emg_model_emmeans.rst", category="3 Study results", subcategory="{study}", labels={"item": "EMG marginal means"}),
        plot_svg=f"{RESULTS}/{{study}}/model/emmeans.svg",
    log:
        f"{RESULTS}/logs/emg_model/{{study}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/emg_model/{{study}}.tsv"
    wildcard_constraints:
        study="|".join(studies(modality="emg")) or "(?!)",
    params:
        study=lambda wildcards: study_row(wildcards.study),
        models=config["models"],
        window=config["emg"]["response_s"],
        on_bad_data=config["on_bad_data"],
        provenance=provenance("models"),
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/emg_model.py"


rule emg_model_timecourses:
    input:
        table=f"{RESULTS}/{{study}}/emg_trials.parquet",
    output:
        png=report(f"{RESULTS}/{{study}}/model/timecourses.png", caption="../report/emg_model_timecourses.rst", category="3 Study results", subcategory="{study}", labels={"item": "EMG time courses"}),
        svg=f"{RESULTS}/{{study}}/model/timecourses.svg",
    log:
        f"{RESULTS}/logs/emg_model_timecourses/{{study}}.log",
    wildcard_constraints:
        study="|".join(studies(modality="emg", input="bids")) or "(?!)",
    params:
        reference=lambda wildcards: study_row(wildcards.study)["reference"],
        window=config["emg"]["response_s"],
        level=config["models"]["level"],
    resources:
        mem_mb=4000,
        runtime=10,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/emg_model_timecourses.py"
