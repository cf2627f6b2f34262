"""Snakemake entry point: cumulative meta-analysis by publication year per pooled family."""
from opioidsocial.meta.cumulative import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
