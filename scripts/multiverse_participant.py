"""Snakemake entry point: the multiverse participant job."""
from opioidsocial.multiverse.participant import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
