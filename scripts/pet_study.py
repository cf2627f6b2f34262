"""Snakemake entry point: paired tests, trait correlations and effects of one PET study."""
from opioidsocial.pet.study import run_study
from opioidsocial.runlog import job_log

with job_log(snakemake):
    run_study(
        study=snakemake.wildcards.study,
        row=snakemake.params.study,
        cfg=snakemake.params.pet,
        bp_paths=list(snakemake.input.bp),
        qc_paths=list(snakemake.input.qc),
        bpnd_paths=list(snakemake.input.bpnd),
        outputs=dict(snakemake.output.items()),
        metadata=snakemake.params.provenance,
    )
