# Meta-analysis across studies (src/opioidsocial/meta/): harmonise every effect, then
# pool per outcome family, meta-regress, fit the multilevel model, check sensitivity
# and plot. Works on summary studies alone when no study has an effects.parquet.

META = f"{RESULTS}/meta"
META_TABLES = ["pooled", "meta_regression", "multilevel", "sensitivity_leave1out", "sensitivity_influence", "small_study"]
# The studies.tsv rows of the summary studies (their TSV of published statistics is at `path`).
SUMMARY_STUDIES = [study_row(s) for s in studies(modality="summary")]


TARGETS.extend(
    [f"{META}/effects.parquet", *(f"{META}/{name}.tsv" for name in META_TABLES), f"{META}/forest", f"{META}/funnel.png", f"{META}/funnel.svg"]
)


rule meta_effects:
    input:
        effects=effects_files(),
        summaries=[row["path"] for row in SUMMARY_STUDIES],
    output:
        effects=f"{META}/effects.parquet",
    log:
        f"{RESULTS}/logs/meta/effects.log",
    benchmark:
        f"{RESULTS}/benchmarks/meta/effects.tsv"
    params:
        meta=config["meta"],
        summaries=SUMMARY_STUDIES,
        provenance=provenance("meta"),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/meta_effects.py"


rule meta_pool:
    input:
        effects=f"{META}/effects.parquet",
    output:
        pooled=f"{META}/pooled.tsv",
    log:
        f"{RESULTS}/logs/meta/pool.log",
    benchmark:
        f"{RESULTS}/benchmarks/meta/pool.tsv"
    params:
        meta=config["meta"],
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/meta_pool.py"


rule meta_regression:
    input:
        effects=f"{META}/effects.parquet",
    output:
        regression=f"{META}/meta_regression.tsv",
    log:
        f"{RESULTS}/logs/meta/regression.log",
    benchmark:
        f"{RESULTS}/benchmarks/meta/regression.tsv"
    params:
        meta=config["meta"],
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/meta_regression.py"


rule meta_multilevel:
    input:
        effects=f"{META}/effects.parquet",
    output:
        multilevel=f"{META}/multilevel.tsv",
    log:
        f"{RESULTS}/logs/meta/multilevel.log",
    benchmark:
        f"{RESULTS}/benchmarks/meta/multilevel.tsv"
    params:
        meta=config["meta"],
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/meta_multilevel.py"


rule meta_sensitivity:
    input:
        effects=f"{META}/effects.parquet",
    output:
        leave1out=f"{META}/sensitivity_leave1out.tsv",
        influence=f"{META}/sensitivity_influence.tsv",
        small_study=f"{META}/small_study.tsv",
    log:
        f"{RESULTS}/logs/meta/sensitivity.log",
    benchmark:
        f"{RESULTS}/benchmarks/meta/sensitivity.tsv"
    params:
        meta=config["meta"],
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/meta_sensitivity.py"


rule meta_plots:
    input:
        effects=f"{META}/effects.parquet",
        pooled=f"{META}/pooled.tsv",
        # Each study's Bayes factors, shown next to its effects' CIs (workflow/rules/evidence.smk).
        evidence=[f"{RESULTS}/{s}/model/evidence.tsv" for s in studies(modality="emg") + studies(modality="pet")],
    output:
        forest=report(
            directory(f"{META}/forest"),
            patterns=["{name}.png"],
            caption="../report/meta_forest.rst",
            category="4 Meta-analysis",
            subcategory="Plots",
            labels={"item": "forest plot: {name}"},
        ),
        funnel_png=report(f"{META}/funnel.png", caption="../report/meta_funnel.rst", category="4 Meta-analysis", subcategory="Plots", labels={"item": "funnel plot"}),
        funnel_svg=f"{META}/funnel.svg",
    log:
        f"{RESULTS}/logs/meta/plots.log",
    benchmark:
        f"{RESULTS}/benchmarks/meta/plots.tsv"
    params:
        meta=config["meta"],
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/meta_plots.py"
