"""Snakemake entry point: one grid point x chunk of the crossed-design power simulation."""
from opioidsocial.design.crossed import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
