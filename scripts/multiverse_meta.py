"""Snakemake entry point: the multiverse meta job."""
from opioidsocial.multiverse.meta import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
