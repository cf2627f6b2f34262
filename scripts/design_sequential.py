"""Snakemake entry point: the sequential Bayes-factor design, results/design/sequential.tsv."""
from opioidsocial.design.sequential import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
