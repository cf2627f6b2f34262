"""Snakemake entry point: draw one participant's PET TAC-fit quality-control figure."""
import json

from opioidsocial.pet.plots import qc_figure
from opioidsocial.runlog import job_log

with job_log(snakemake):
    with open(snakemake.input.qc, encoding="utf-8") as fh:
        qc = json.load(fh)
    qc_figure(
        study=snakemake.wildcards.study,
        participant=snakemake.wildcards.participant,
        tacs={condition: snakemake.input[condition] for condition in snakemake.params.pet["conditions"]},
        qc=qc,
        bp_path=snakemake.input.bp,
        cfg=snakemake.params.pet,
        png_path=snakemake.output[0],
    )
