"""Snakemake entry point: Bayes factors and equivalence tests of one EMG study's effects."""
# ruff: noqa: F821  (`snakemake` is injected by the script: directive)
from opioidsocial.emg.evidence import run_emg_evidence
from opioidsocial.runlog import job_log

with job_log(snakemake):
    run_emg_evidence(
        trials=snakemake.input.trials,
        effects=snakemake.input.effects,
        study=snakemake.params.study,
        contrast_within=snakemake.params.contrast_within,
        cfg=snakemake.params.evidence,
        output=snakemake.output.evidence,
    )
