"""Snakemake entry point: sample sizes for target powers and the power curves, results/design/sample_size.tsv."""
from opioidsocial.design.sample_size import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
