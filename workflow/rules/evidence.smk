# Evidence for and against each effect (src/opioidsocial/stats/evidence.py): per study,
# the JZS Bayes factor and the equivalence test (TOST) of every row of effects.parquet;
# across studies, a Bayesian random-effects meta-analysis of every family
# (src/opioidsocial/meta/bayes.py). Config sections `evidence` and `meta.bayes`.


TARGETS.extend(get_evidence_files())
TARGETS.extend([f"{P.meta}/bayes.tsv", f"{P.meta}/bayes_posterior"])


rule evidence_emg:
    input:
        samples=P.effect_samples,
        effects=P.effects,
    output:
        evidence=f"{P.model}/evidence.tsv",
    log:
        f"{P.logs}/evidence_emg/{{study}}.log",
    benchmark:
        f"{P.benchmarks}/evidence_emg/{{study}}.tsv"
    wildcard_constraints:
        study=EMG_ANY,
    conda:
        "../../environment.yml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=get_cfg("evidence_emg"),
        row=get_study_columns("study", "design", "reference"),
    script:
        "../../scripts/evidence_emg.py"


rule evidence_pet:
    input:
        bp=P.study_bp,
        effects=P.effects,
        participants=get_participants_sheet,
    output:
        evidence=f"{P.model}/evidence.tsv",
    log:
        f"{P.logs}/evidence_pet/{{study}}.log",
    benchmark:
        f"{P.benchmarks}/evidence_pet/{{study}}.tsv"
    wildcard_constraints:
        study=PET_ANY,
    conda:
        "../../environment.yml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=get_cfg("evidence_pet"),
        row=get_study_columns("study", "input", "design", "reference", "reference_group"),
    script:
        "../../scripts/evidence_pet.py"


rule meta_bayes:
    input:
        effects=rules.meta_effects.output.effects,
    output:
        bayes=f"{P.meta}/bayes.tsv",
        posterior=report(
            directory(f"{P.meta}/bayes_posterior"),
            patterns=["{name}.png"],
            caption="../report/meta_bayes_posterior.rst",
            category="4 Meta-analysis",
            subcategory="Plots",
            labels={"item": "Bayesian posterior of mu and tau: {name}"},
        ),
    log:
        f"{P.logs}/meta/bayes.log",
    benchmark:
        f"{P.benchmarks}/meta/bayes.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("meta_bayes"),
    script:
        "../../scripts/meta_bayes.py"
