"""Snakemake entry point: the software versions and the config of this run, to rerun it."""
from opioidsocial.io.tables import write_text, write_tsv
from opioidsocial.report.software import config_table, config_yaml, versions_table
from opioidsocial.runlog import job_log

with job_log(snakemake):
    config = dict(snakemake.params.config)
    write_tsv(versions_table(), snakemake.output.versions)
    write_tsv(config_table(config), snakemake.output.config_tsv)
    write_text(snakemake.output.config_yaml, config_yaml(config))
