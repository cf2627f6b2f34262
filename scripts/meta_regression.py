"""Per-family meta-regressions on direction, drug, modality: results/meta/meta_regression.tsv."""

from opioidsocial.io.tables import read_table, write_tsv
from opioidsocial.meta.harmonise import META_EFFECTS
from opioidsocial.meta.metareg import regression_table
from opioidsocial.runlog import job_log

with job_log(snakemake):
    cfg = snakemake.params.meta
    effects = read_table(snakemake.input.effects, META_EFFECTS)
    table = regression_table(effects, moderators=cfg["regression"], method=cfg["methods"][0], test=cfg["tests"][0], rho=cfg["overlap_rho"], level=cfg["level"])
    write_tsv(table, snakemake.output.regression)
