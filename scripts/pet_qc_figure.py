"""Snakemake entry point: draw one participant's PET TAC-fit quality-control figure."""
from opioidsocial.pet.qc_figure import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
