"""Snakemake entry point: draw one participant's EMG quality-control figure."""
from opioidsocial.emg.qc_figure import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
