"""Snakemake entry point: Bayes factors and equivalence tests of one EMG study's effects."""
from opioidsocial.emg.evidence import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
