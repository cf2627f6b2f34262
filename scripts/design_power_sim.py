"""Snakemake entry point: the simulation chunks gathered, results/design/power_sim.tsv and the power surface."""
from opioidsocial.design.power_sim import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
