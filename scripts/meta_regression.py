"""Snakemake entry point: per-family meta-regressions on direction, drug, modality, results/meta/meta_regression.tsv."""
from opioidsocial.meta.metareg import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
