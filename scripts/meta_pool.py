"""Random-effects pooling per outcome family: results/meta/pooled.tsv."""

from opioidsocial.io.tables import read_table, write_tsv
from opioidsocial.meta.harmonise import META_EFFECTS
from opioidsocial.meta.pooled import pooled_table
from opioidsocial.runlog import job_log

with job_log(snakemake):
    cfg = snakemake.params.meta
    effects = read_table(snakemake.input.effects, META_EFFECTS)
    table = pooled_table(effects, methods=cfg["methods"], tests=cfg["tests"], rho=cfg["overlap_rho"], min_k=cfg["min_k"], level=cfg["level"])
    write_tsv(table, snakemake.output.pooled)
