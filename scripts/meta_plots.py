"""Snakemake entry point: forest plot per family and the funnel plot (PNG and SVG)."""
from opioidsocial.meta.plots import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
