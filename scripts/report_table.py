"""Snakemake entry point: one TSV of the workflow as a sortable HTML table for the report."""
from opioidsocial.report.html_table import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
