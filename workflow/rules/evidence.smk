# Evidence for and against each effect (src/opioidsocial/stats/evidence.py): per study,
# the JZS Bayes factor and the equivalence test (TOST) of every row of effects.parquet;
# across studies, a Bayesian random-effects meta-analysis of every family
# (src/opioidsocial/meta/bayes.py). Config sections `evidence` and `meta.bayes`.

EVIDENCE_STUDIES = studies(modality="emg") + studies(modality="pet")

TARGETS.extend(f"{RESULTS}/{s}/model/evidence.tsv" for s in EVIDENCE_STUDIES)
TARGETS.extend([f"{META}/bayes.tsv", f"{META}/bayes_posterior"])


rule evidence_emg:
    input:
        trials=f"{RESULTS}/{{study}}/model/trials.parquet",
        effects=f"{RESULTS}/{{study}}/model/effects.parquet",
    output:
        evidence=f"{RESULTS}/{{study}}/model/evidence.tsv",
    log:
        f"{RESULTS}/logs/evidence_emg/{{study}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evidence_emg/{{study}}.tsv"
    wildcard_constraints:
        study="|".join(studies(modality="emg")) or "(?!)",
    params:
        study=lambda wildcards: study_row(wildcards.study),
        contrast_within=config["models"]["contrast_within"],
        # Only the keys it reads, so that the correlation prior does not rerun EMG studies.
        evidence={key: config["evidence"][key] for key in ("prior_scale", "sesoi", "alpha")},
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/evidence_emg.py"


rule evidence_pet:
    input:
        bp=f"{RESULTS}/{{study}}/model/pet_bp.parquet",
        effects=f"{RESULTS}/{{study}}/model/effects.parquet",
        participants=lambda wc: f"{study_row(wc.study)['path']}/participants.tsv",
    output:
        evidence=f"{RESULTS}/{{study}}/model/evidence.tsv",
    log:
        f"{RESULTS}/logs/evidence_pet/{{study}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evidence_pet/{{study}}.tsv"
    wildcard_constraints:
        study="|".join(studies(modality="pet")) or "(?!)",
    params:
        study=lambda wildcards: study_row(wildcards.study),
        conditions=config["pet"]["conditions"],
        traits=config["pet"]["traits"],
        model=config["pet"]["model"],
        evidence=config["evidence"],
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/evidence_pet.py"


rule meta_bayes:
    input:
        effects=f"{META}/effects.parquet",
    output:
        bayes=f"{META}/bayes.tsv",
        posterior=report(
            directory(f"{META}/bayes_posterior"),
            patterns=["{name}.png"],
            caption="../report/meta_bayes_posterior.rst",
            category="4 Meta-analysis",
            subcategory="Plots",
            labels={"item": "Bayesian posterior of mu and tau: {name}"},
        ),
    log:
        f"{RESULTS}/logs/meta/bayes.log",
    benchmark:
        f"{RESULTS}/benchmarks/meta/bayes.tsv"
    params:
        bayes=config["meta"]["bayes"],
        overlap_rho=config["meta"]["overlap_rho"],
        min_k=config["meta"]["min_k"],
        level=config["meta"]["level"],
        dpi=config["meta"]["plot_dpi"],
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/meta_bayes.py"
