"""Snakemake entry point: the multiverse study job."""
from opioidsocial.multiverse.study import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
