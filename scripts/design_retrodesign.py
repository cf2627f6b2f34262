"""Snakemake entry point: power, type S and type M of every past study effect, results/design/retrodesign.tsv."""
from opioidsocial.design.retrodesign import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
