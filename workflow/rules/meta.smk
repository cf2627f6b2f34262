# Meta-analysis across studies (src/opioidsocial/meta/): harmonise every effect, then
# pool per outcome family, meta-regress, fit the multilevel model, check sensitivity
# and plot. Works on summary studies alone when no study has an effects.parquet.

META_TABLES = ["pooled", "meta_regression", "multilevel", "sensitivity_leave1out", "sensitivity_influence", "small_study"]
# The studies.tsv columns read of the summary studies (their TSV of published statistics is at `path`).
SUMMARY_STUDIES = [
    study_columns(s, ("study", "path", "drug", "direction", "reference", "sample_group")) for s in studies(modality="summary")
]


TARGETS.extend(
    [
        f"{P.meta}/effects.parquet",
        *(f"{P.meta}/{name}.tsv" for name in META_TABLES),
        f"{P.meta}/forest",
        f"{P.meta}/funnel.png",
        f"{P.meta}/funnel.svg",
    ]
)


rule meta_effects:
    input:
        effects=effects_files(),
        summaries=[row["path"] for row in SUMMARY_STUDIES],
    output:
        effects=f"{P.meta}/effects.parquet",
    log:
        f"{P.logs}/meta/effects.log",
    benchmark:
        f"{P.benchmarks}/meta/effects.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("meta_effects"),
        summaries=SUMMARY_STUDIES,
        metadata=get_provenance("meta_effects"),
    script:
        "../../scripts/meta_effects.py"


rule meta_pool:
    input:
        effects=rules.meta_effects.output.effects,
    output:
        pooled=f"{P.meta}/pooled.tsv",
    log:
        f"{P.logs}/meta/pool.log",
    benchmark:
        f"{P.benchmarks}/meta/pool.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("meta_pool"),
    script:
        "../../scripts/meta_pool.py"


rule meta_regression:
    input:
        effects=rules.meta_effects.output.effects,
    output:
        regression=f"{P.meta}/meta_regression.tsv",
    log:
        f"{P.logs}/meta/regression.log",
    benchmark:
        f"{P.benchmarks}/meta/regression.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("meta_regression"),
    script:
        "../../scripts/meta_regression.py"


rule meta_multilevel:
    input:
        effects=rules.meta_effects.output.effects,
    output:
        multilevel=f"{P.meta}/multilevel.tsv",
    log:
        f"{P.logs}/meta/multilevel.log",
    benchmark:
        f"{P.benchmarks}/meta/multilevel.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        cfg=get_cfg("meta_multilevel"),
    script:
        "../../scripts/meta_multilevel.py"


rule meta_sensitivity:
    input:
        effects=rules.meta_effects.output.effects,
    output:
        leave1out=f"{P.meta}/sensitivity_leave1out.tsv",
        influence=f"{P.meta}/sensitivity_influence.tsv",
        small_study=f"{P.meta}/small_study.tsv",
    log:
        f"{P.logs}/meta/sensitivity.log",
    benchmark:
        f"{P.benchmarks}/meta/sensitivity.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        cfg=get_cfg("meta_sensitivity"),
    script:
        "../../scripts/meta_sensitivity.py"


rule meta_plots:
    input:
        effects=rules.meta_effects.output.effects,
        pooled=rules.meta_pool.output.pooled,
        # Each study's Bayes factors, shown next to its effects' CIs (workflow/rules/evidence.smk).
        evidence=get_evidence_files(),
    output:
        forest=report(
            directory(f"{P.meta}/forest"),
            patterns=["{name}.png"],
            caption="../report/meta_forest.rst",
            category="4 Meta-analysis",
            subcategory="Plots",
            labels={"item": "forest plot: {name}"},
        ),
        funnel_png=report(
            f"{P.meta}/funnel.png",
            caption="../report/meta_funnel.rst",
            category="4 Meta-analysis",
            subcategory="Plots",
            labels={"item": "funnel plot"},
        ),
        funnel_svg=f"{P.meta}/funnel.svg",
    log:
        f"{P.logs}/meta/plots.log",
    benchmark:
        f"{P.benchmarks}/meta/plots.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("meta_plots"),
    script:
        "../../scripts/meta_plots.py"
