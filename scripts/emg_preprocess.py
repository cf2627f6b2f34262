"""Snakemake entry point: preprocess one participant's facial EMG."""
from opioidsocial.emg.study import run_participant
from opioidsocial.runlog import job_log

with job_log(snakemake):
    run_participant(
        files=dict(snakemake.input),
        bins_path=snakemake.output.bins,
        qc_path=snakemake.output.qc,
        study=snakemake.wildcards.study,
        participant=snakemake.wildcards.participant,
        arm=snakemake.params.arm,
        cfg=snakemake.params.emg,
        on_bad_data=snakemake.params.on_bad_data,
        metadata=snakemake.params.provenance,
    )
