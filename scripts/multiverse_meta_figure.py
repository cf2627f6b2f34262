"""Snakemake entry point: the specification curves of the pooled effects."""
from opioidsocial.multiverse.plots import run_meta
from opioidsocial.runlog import run_job

run_job(snakemake, run_meta)
