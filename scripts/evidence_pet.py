"""Snakemake entry point: Bayes factors and equivalence tests of one PET study's effects."""
# ruff: noqa: F821  (`snakemake` is injected by the script: directive)
from opioidsocial.pet.evidence import run_pet_evidence
from opioidsocial.runlog import job_log

with job_log(snakemake):
    run_pet_evidence(
        bp=snakemake.input.bp,
        effects=snakemake.input.effects,
        study=snakemake.params.study,
        conditions=snakemake.params.conditions,
        traits=snakemake.params.traits,
        model=snakemake.params.model,
        cfg=snakemake.params.evidence,
        output=snakemake.output.evidence,
    )
