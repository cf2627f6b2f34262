"""Snakemake entry point: preprocess one participant's facial EMG."""
from opioidsocial.emg.participant import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
