"""Snakemake entry point: harmonise every study's effects and the summary studies into results/meta/effects.parquet."""
from opioidsocial.meta.harmonise import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
