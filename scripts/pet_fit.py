"""Snakemake entry point: fit SRTM and Logan to one participant's PET scans."""
from opioidsocial.pet.participant import run_participant
from opioidsocial.runlog import job_log

with job_log(snakemake):
    run_participant(
        study=snakemake.wildcards.study,
        participant=snakemake.wildcards.participant,
        tacs={condition: snakemake.input[condition] for condition in snakemake.params.pet["conditions"]},
        cfg=snakemake.params.pet,
        on_bad_data=snakemake.params.on_bad_data,
        table=snakemake.output.bp,
        qc=snakemake.output.qc,
        metadata=snakemake.params.provenance,
    )
