"""Harmonise every study's effects and the summary studies into results/meta/effects.parquet."""

from opioidsocial.io.tables import write_table
from opioidsocial.meta.harmonise import META_EFFECTS, collect
from opioidsocial.runlog import job_log

with job_log(snakemake):
    cfg = snakemake.params.meta
    table = collect(list(snakemake.input.effects), snakemake.params.summaries, families=cfg["families"], outcome_pattern=cfg["outcome_pattern"])
    write_table(table, snakemake.output.effects, META_EFFECTS, metadata=snakemake.params.provenance)
