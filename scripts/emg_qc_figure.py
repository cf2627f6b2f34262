"""Snakemake entry point: draw one participant's EMG quality-control figure."""
import json

from opioidsocial.emg.qc_figure import qc_figure
from opioidsocial.runlog import job_log

with job_log(snakemake):
    with open(snakemake.input.qc, encoding="utf-8") as fh:
        qc = json.load(fh)
    files = {k: v for k, v in snakemake.input.items() if k != "qc"}
    qc_figure(files=files, qc=qc, cfg=snakemake.params.emg, png_path=snakemake.output[0])
