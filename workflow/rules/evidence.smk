# Evidence for and against each effect (src/opioidsocial/stats/evidence.py): per study,
# the JZS Bayes factor and the equivalence test (TOST) of every row of effects.parquet
# (config section `evidence`). Across studies: meta.smk's meta_bayes.


TARGETS.extend(get_evidence_files())


rule evidence_emg:
    input:
        samples=P.effect_samples,
        effects=P.effects,
    output:
        evidence=P.evidence,
    log:
        log_of("evidence_emg", "study"),
    benchmark:
        benchmark_of("evidence_emg", "study")
    wildcard_constraints:
        study=EMG_ANY,
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=get_cfg("evidence_emg"),
        row=get_study_columns("study", "design", "reference"),
    script:
        script_of("evidence_emg")


rule evidence_pet:
    input:
        bp=P.study_bp,
        effects=P.effects,
        participants=get_participants_sheet,
    output:
        evidence=P.evidence,
    log:
        log_of("evidence_pet", "study"),
    benchmark:
        benchmark_of("evidence_pet", "study")
    wildcard_constraints:
        study=PET_ANY,
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=get_cfg("evidence_pet"),
        row=get_study_columns("study", "input", "design", "reference", "reference_group"),
    script:
        script_of("evidence_pet")
