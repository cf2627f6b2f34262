"""Snakemake entry point: Bayesian random-effects meta-analysis per family, with posterior plots."""
from opioidsocial.meta.bayes import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
