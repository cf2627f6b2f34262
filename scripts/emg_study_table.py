"""Snakemake entry point: gather a study's participants into one EMG table and its exclusion list."""
from opioidsocial.emg.study_table import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
