"""Snakemake entry point: leave-one-out, influence and small-study tests per pooled family."""
from opioidsocial.meta.sensitivity import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
