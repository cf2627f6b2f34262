"""Multilevel models with CR2 inference by sample group: results/meta/multilevel.tsv."""

from opioidsocial.io.tables import read_table, write_tsv
from opioidsocial.meta.harmonise import META_EFFECTS
from opioidsocial.meta.multilevel import multilevel_table
from opioidsocial.runlog import job_log

with job_log(snakemake):
    cfg = snakemake.params.meta
    effects = read_table(snakemake.input.effects, META_EFFECTS)
    table = multilevel_table(effects, models=cfg["multilevel"]["models"], method=cfg["multilevel"]["method"], level=cfg["level"])
    write_tsv(table, snakemake.output.multilevel)
