"""Snakemake entry point: draw one participant's PET TAC-fit quality-control figure."""
from opioidsocial.pet.plots import run_qc_figure
from opioidsocial.runlog import run_job

run_job(snakemake, run_qc_figure)
