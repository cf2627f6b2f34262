"""Snakemake entry point: gather a study's participants into one EMG table."""
from opioidsocial.emg.study import gather
from opioidsocial.runlog import job_log

with job_log(snakemake):
    gather(
        bins_paths=list(snakemake.input.bins),
        qc_paths=list(snakemake.input.qc),
        table_path=snakemake.output.table,
        exclusions_path=snakemake.output.exclusions,
        metadata=snakemake.params.provenance,
    )
