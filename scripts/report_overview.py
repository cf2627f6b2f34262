"""Snakemake entry point: the run's study overview and its list of every exclusion."""
from opioidsocial.io.tables import write_tsv
from opioidsocial.report.overview import gather_exclusions, overview
from opioidsocial.runlog import job_log

with job_log(snakemake):
    write_tsv(overview(list(snakemake.params.studies), files=dict(snakemake.params.files), pet_model=snakemake.params.pet_model),
              snakemake.output.overview)
    write_tsv(gather_exclusions(list(snakemake.input.exclusions)), snakemake.output.exclusions)
