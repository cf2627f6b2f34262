"""Snakemake entry point: multilevel models with CR2 inference by sample group, results/meta/multilevel.tsv."""
from opioidsocial.meta.multilevel import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
