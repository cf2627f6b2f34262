"""Snakemake entry point: the software versions and the config of this run, to rerun it."""
from opioidsocial.report.software import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
