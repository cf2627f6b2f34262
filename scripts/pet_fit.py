"""Snakemake entry point: fit SRTM and Logan to one participant's PET scans."""
from opioidsocial.pet.participant import run
from opioidsocial.runlog import run_job

run_job(snakemake, run)
