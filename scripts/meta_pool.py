"""Snakemake entry point: random-effects pooling per outcome family, results/meta/pooled.tsv."""
from opioidsocial.meta.pooled import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
