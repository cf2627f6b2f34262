# The one place that reads and validates the config and the sheets, and the
# input functions every other rule file uses. Participants come from each study's
# participants.tsv, never from globbing the disk.
from pathlib import Path

import pandas as pd

from opioidsocial.config import validate_config
from opioidsocial.sheets import load_studies, load_participants

SCHEMAS = Path(workflow.basedir) / "workflow" / "schemas"

config.update(validate_config(config, SCHEMAS / "config.schema.yaml", source="config"))
RESULTS = config["results"]
STUDIES = load_studies(config["studies"], schemas=SCHEMAS)

# Each rule file appends the final outputs of its stage; rule `all` collects them.
TARGETS = []


def all_targets():
    return sorted(set(TARGETS))


def studies(*, modality=None, input=None):
    """Study ids of the given modality and input kind, in sheet order."""
    rows = STUDIES
    if modality is not None:
        rows = rows[rows["modality"] == modality]
    if input is not None:
        rows = rows[rows["input"] == input]
    return rows.index.tolist()


def study_row(study):
    return STUDIES.loc[study]


def participants(study):
    """Participant labels (without 'sub-') from the study's participants.tsv."""
    return load_participants(STUDIES.loc[study], schemas=SCHEMAS)["participant"].tolist()


def participants_sheet(wildcards):
    return str(Path(STUDIES.loc[wildcards.study, "path"]) / "participants.tsv")


def effects_files():
    """Every study-level effects table that the meta-analysis pools."""
    return [f"{RESULTS}/{s}/model/effects.parquet" for s in STUDIES.index if STUDIES.loc[s, "modality"] != "summary"]
