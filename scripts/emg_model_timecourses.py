"""Snakemake entry point: plot one EMG study's time courses per arm x emotion x muscle."""
from opioidsocial.emg.study import run_timecourses
from opioidsocial.runlog import run_job

run_job(snakemake, run_timecourses)
