"""Snakemake entry point: one TSV of the workflow as a sortable HTML table for the report."""
from opioidsocial.io.tables import write_text
from opioidsocial.report.html_table import tsv_to_html
from opioidsocial.runlog import job_log

with job_log(snakemake):
    study = dict(snakemake.wildcards.items()).get("study")
    title = f"{snakemake.params.title}: {study}" if study else snakemake.params.title
    write_text(snakemake.output.html, tsv_to_html(snakemake.input.tsv, title=title))
