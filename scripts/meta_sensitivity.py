"""Leave-one-out, influence and small-study tests per pooled family: results/meta/sensitivity_*.tsv."""

from opioidsocial.io.tables import read_table, write_tsv
from opioidsocial.meta.harmonise import META_EFFECTS
from opioidsocial.meta.pooled import samples
from opioidsocial.meta.sensitivity import sensitivity_tables
from opioidsocial.runlog import job_log

with job_log(snakemake):
    cfg = snakemake.params.meta
    effects = read_table(snakemake.input.effects, META_EFFECTS)
    tables = sensitivity_tables(samples(effects, rho=cfg["overlap_rho"], min_k=cfg["min_k"]), method=cfg["methods"][0], test=cfg["tests"][0],
                                level=cfg["level"], small_study_min_k=cfg["small_study_min_k"])
    for name, table in tables.items():
        write_tsv(table, snakemake.output[name])
