"""Snakemake entry point: plot one EMG study's time courses per arm x emotion x muscle."""
from opioidsocial.emg.plots import plot_time_courses
from opioidsocial.io.tables import EMG_BINS, read_table
from opioidsocial.runlog import job_log

with job_log(snakemake):
    plot_time_courses(
        read_table(snakemake.input.table, EMG_BINS),
        study=snakemake.wildcards.study,
        reference=snakemake.params.reference,
        window=tuple(snakemake.params.window),
        level=snakemake.params.level,
        paths=(snakemake.output.png, snakemake.output.svg),
    )
