"""Snakemake entry point: fit one EMG study's models and write contrasts, effects and plots."""
from opioidsocial.emg.study import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
