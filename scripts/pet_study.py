"""Snakemake entry point: paired tests, trait correlations and effects of one PET study."""
from opioidsocial.pet.study import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
