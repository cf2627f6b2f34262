# Design analysis after the meta-analysis (src/opioidsocial/design/): the past studies'
# power, type S and type M errors, sample sizes for the next study, the crossed EMG
# design's power by simulation (one job per grid point x chunk) and a sequential
# Bayes-factor design. Config section `design`.


TARGETS.extend(
    [
        f"{P.design}/retrodesign.tsv",
        f"{P.design}/sample_size.tsv",
        f"{P.design}/power_curve",
        f"{P.design}/power_sim.tsv",
        f"{P.design}/power_surface.png",
        f"{P.design}/sequential.tsv",
        f"{P.design}/sequential.png",
    ]
)


rule design_retrodesign:
    input:
        pooled=rules.meta_pool.output.pooled,
        effects=rules.meta_effects.output.effects,
        small_study=rules.meta_sensitivity.output.small_study,
    output:
        retrodesign=f"{P.design}/retrodesign.tsv",
    log:
        f"{P.logs}/design/retrodesign.log",
    benchmark:
        f"{P.benchmarks}/design/retrodesign.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=get_cfg("design_retrodesign"),
    script:
        "../../scripts/design_retrodesign.py"


rule design_sample_size:
    input:
        pooled=rules.meta_pool.output.pooled,
        effects=rules.meta_effects.output.effects,
        small_study=rules.meta_sensitivity.output.small_study,
    output:
        sample_size=f"{P.design}/sample_size.tsv",
        power_curve=report(
            directory(f"{P.design}/power_curve"),
            patterns=["{name}.png"],
            caption="../report/design_power_curve.rst",
            category="4 Meta-analysis",
            subcategory="Design and power",
            labels={"item": "power curve: {name}"},
        ),
    log:
        f"{P.logs}/design/sample_size.log",
    benchmark:
        f"{P.benchmarks}/design/sample_size.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=get_cfg("design_sample_size"),
    script:
        "../../scripts/design_sample_size.py"


rule design_simulate:
    input:
        unpack(get_design_template_files),
        pooled=rules.meta_pool.output.pooled,
        effects=rules.meta_effects.output.effects,
    output:
        chunk=f"{P.design}/power_sim/p{{participants}}_s{{stimuli}}_c{{chunk}}.tsv",
    log:
        f"{P.logs}/design/simulate/p{{participants}}_s{{stimuli}}_c{{chunk}}.log",
    benchmark:
        f"{P.benchmarks}/design/simulate/p{{participants}}_s{{stimuli}}_c{{chunk}}.tsv"
    wildcard_constraints:
        participants=r"\d+",
        stimuli=r"\d+",
        chunk=r"\d+",
    conda:
        "../../environment.yml"
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        cfg=get_cfg("design_simulate"),
        study=design_template(),
    script:
        "../../scripts/design_simulate.py"


rule design_power_sim:
    input:
        chunks=get_design_chunks(rules.design_simulate.output.chunk),
    output:
        power_sim=f"{P.design}/power_sim.tsv",
        surface_png=report(
            f"{P.design}/power_surface.png",
            caption="../report/design_power_surface.rst",
            category="4 Meta-analysis",
            subcategory="Design and power",
            labels={"item": "simulated power of the crossed design"},
        ),
        surface_svg=f"{P.design}/power_surface.svg",
    log:
        f"{P.logs}/design/power_sim.log",
    benchmark:
        f"{P.benchmarks}/design/power_sim.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=get_cfg("design_power_sim"),
        skipped=design_skipped(),
    script:
        "../../scripts/design_power_sim.py"


rule design_sequential:
    input:
        pooled=rules.meta_pool.output.pooled,
        effects=rules.meta_effects.output.effects,
    output:
        sequential=f"{P.design}/sequential.tsv",
        figure_png=report(
            f"{P.design}/sequential.png",
            caption="../report/design_sequential.rst",
            category="4 Meta-analysis",
            subcategory="Design and power",
            labels={"item": "sequential Bayes-factor design: final n"},
        ),
        figure_svg=f"{P.design}/sequential.svg",
    log:
        f"{P.logs}/design/sequential.log",
    benchmark:
        f"{P.benchmarks}/design/sequential.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=1000,
        runtime=20,
    params:
        cfg=get_cfg("design_sequential"),
    script:
        "../../scripts/design_sequential.py"
