# The multiverse of reasonable EMG analyses (src/opioidsocial/multiverse/): per
# participant every universe's cell means from one read of the recording, per study
# the specification curve, its joint tests and what each choice explains.

MULTIVERSE = one_of(multiverse_studies())

TARGETS.extend(
    f"{P.multiverse}/{name}".format(study=s)
    for s in multiverse_studies()
    for name in ("specifications.tsv", "joint.tsv", "choices.tsv", "curves.png")
)
if multiverse_studies():
    TARGETS.extend([f"{P.meta}/multiverse.tsv", f"{P.meta}/multiverse.png"])


rule multiverse_participant:
    input:
        unpack(get_multiverse_recording),
    output:
        cells=P.multiverse_cells,
    log:
        f"{P.logs}/multiverse_participant/{{study}}/{{participant}}.log",
    benchmark:
        f"{P.benchmarks}/multiverse_participant/{{study}}/{{participant}}.tsv"
    wildcard_constraints:
        study=MULTIVERSE,
    conda:
        "../../environment.yml"
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        cfg=get_cfg("multiverse_participant"),
        arm=get_arm,
        metadata=get_provenance("multiverse_participant"),
    script:
        "../../scripts/multiverse_participant.py"


rule multiverse_study:
    input:
        cells=get_multiverse_cells,
    output:
        cells=f"{P.multiverse}/cells.parquet",
        specifications=f"{P.multiverse}/specifications.tsv",
        joint=f"{P.multiverse}/joint.tsv",
        choices=f"{P.multiverse}/choices.tsv",
    log:
        f"{P.logs}/multiverse_study/{{study}}.log",
    benchmark:
        f"{P.benchmarks}/multiverse_study/{{study}}.tsv"
    wildcard_constraints:
        study=MULTIVERSE,
    conda:
        "../../environment.yml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        cfg=get_cfg("multiverse_study"),
        row=get_study_row,
        metadata=get_provenance("multiverse_study"),
    script:
        "../../scripts/multiverse_study.py"


rule multiverse_figure:
    input:
        specifications=f"{P.multiverse}/specifications.tsv",
        joint=f"{P.multiverse}/joint.tsv",
    output:
        png=report(
            f"{P.multiverse}/curves.png",
            caption="../report/multiverse_curves.rst",
            category="4 Multiverse",
            subcategory="{study}",
            labels={"item": "specification curves"},
        ),
    log:
        f"{P.logs}/multiverse_figure/{{study}}.log",
    benchmark:
        f"{P.benchmarks}/multiverse_figure/{{study}}.tsv"
    wildcard_constraints:
        study=MULTIVERSE,
    conda:
        "../../environment.yml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("multiverse_figure"),
    script:
        "../../scripts/multiverse_figure.py"


rule multiverse_meta:
    input:
        effects=f"{P.meta}/effects.parquet",
        specifications=get_multiverse_specifications(),
    output:
        table=f"{P.meta}/multiverse.tsv",
    log:
        f"{P.logs}/meta/multiverse.log",
    benchmark:
        f"{P.benchmarks}/meta/multiverse.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        cfg=get_cfg("multiverse_meta"),
    script:
        "../../scripts/multiverse_meta.py"


rule multiverse_meta_figure:
    input:
        table=f"{P.meta}/multiverse.tsv",
    output:
        png=report(
            f"{P.meta}/multiverse.png",
            caption="../report/multiverse_meta.rst",
            category="4 Multiverse",
            subcategory="meta-analysis",
            labels={"item": "specification curves of the pooled effects"},
        ),
    log:
        f"{P.logs}/meta/multiverse_figure.log",
    benchmark:
        f"{P.benchmarks}/meta/multiverse_figure.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/multiverse_meta_figure.py"
