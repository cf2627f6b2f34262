"""Snakemake entry point: plot one EMG study's time courses per arm x emotion x muscle."""
from opioidsocial.emg.timecourses import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
