"""Snakemake entry point: fit one EMG study's models and write contrasts, effects and plots."""
from opioidsocial.emg.models import run_study
from opioidsocial.runlog import job_log

with job_log(snakemake):
    run_study(
        source=snakemake.input.source,
        study=dict(snakemake.params.study),
        cfg=snakemake.params.models,
        window=tuple(snakemake.params.window),
        outputs=dict(snakemake.output),
        on_bad_data=snakemake.params.on_bad_data,
        metadata=snakemake.params.provenance,
    )
