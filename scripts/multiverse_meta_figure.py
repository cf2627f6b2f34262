"""Snakemake entry point: the specification curves of the pooled effects."""
from opioidsocial.multiverse.meta_figure import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
