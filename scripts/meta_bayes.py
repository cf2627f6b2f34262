"""Snakemake entry point: Bayesian random-effects meta-analysis per family, with posterior plots."""
# ruff: noqa: F821  (`snakemake` is injected by the script: directive)
from opioidsocial.meta.bayes import run_bayes
from opioidsocial.runlog import job_log

with job_log(snakemake):
    run_bayes(
        effects=snakemake.input.effects,
        cfg=snakemake.params.bayes,
        rho=snakemake.params.overlap_rho,
        min_k=snakemake.params.min_k,
        level=snakemake.params.level,
        table=snakemake.output.bayes,
        figures=snakemake.output.posterior,
        dpi=snakemake.params.dpi,
    )
