# Facial EMG: one preprocessing job per participant (fan-out), then one study table.


TARGETS.extend(f"{RESULTS}/{s}/emg_trials.parquet" for s in studies(modality="emg", input="bids"))
if config["report"]["qc_figures"]:
    TARGETS.append(
        lambda: [f"{RESULTS}/{s}/qc/{p}.png" for s in studies(modality="emg", input="bids") for p in participants(s)]
    )


rule emg_preprocess:
    input:
        unpack(emg_recording),
    output:
        bins=f"{RESULTS}/{{study}}/emg/{{participant}}.parquet",
        qc=f"{RESULTS}/{{study}}/qc/{{participant}}.json",
    log:
        f"{RESULTS}/logs/emg_preprocess/{{study}}/{{participant}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/emg_preprocess/{{study}}/{{participant}}.tsv"
    wildcard_constraints:
        study="|".join(studies(modality="emg", input="bids")) or "(?!)",
        participant="[A-Za-z0-9]+",
    params:
        emg=config["emg"],
        on_bad_data=config["on_bad_data"],
        arm=lambda wildcards: participant_info(wildcards.study, wildcards.participant)["arm"],
        provenance=provenance("emg"),
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/emg_preprocess.py"


rule emg_study_table:
    input:
        bins=lambda wc: expand(f"{RESULTS}/{wc.study}/emg/{{p}}.parquet", p=participants(wc.study)),
        qc=lambda wc: expand(f"{RESULTS}/{wc.study}/qc/{{p}}.json", p=participants(wc.study)),
    output:
        table=f"{RESULTS}/{{study}}/emg_trials.parquet",
        exclusions=f"{RESULTS}/{{study}}/exclusions.tsv",
    wildcard_constraints:
        study="|".join(studies(modality="emg", input="bids")) or "(?!)",
    log:
        f"{RESULTS}/logs/emg_study_table/{{study}}.log",
    params:
        provenance=provenance("emg"),
    resources:
        mem_mb=4000,
        runtime=10,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/emg_study_table.py"


rule emg_qc_figure:
    input:
        unpack(emg_recording),
        qc=f"{RESULTS}/{{study}}/qc/{{participant}}.json",
    output:
        report(
            f"{RESULTS}/{{study}}/qc/{{participant}}.png",
            caption="../report/emg_qc.rst",
            category="2 Quality control",
            subcategory="{study}",
            labels={"participant": "{participant}"},
        ),
    wildcard_constraints:
        study="|".join(studies(modality="emg", input="bids")) or "(?!)",
        participant="[A-Za-z0-9]+",
    log:
        f"{RESULTS}/logs/emg_qc_figure/{{study}}/{{participant}}.log",
    params:
        emg=config["emg"],
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/emg_qc_figure.py"
