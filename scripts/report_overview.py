"""Snakemake entry point: the run's study overview and its list of every exclusion."""
from opioidsocial.report.overview import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
