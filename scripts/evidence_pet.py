"""Snakemake entry point: Bayes factors and equivalence tests of one PET study's effects."""
from opioidsocial.pet.evidence import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
