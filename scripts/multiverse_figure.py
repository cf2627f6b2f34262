"""Snakemake entry point: the multiverse figure job."""
from opioidsocial.multiverse.figure import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
