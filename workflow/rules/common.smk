# The one place that reads and validates the config and the sheets, and the
# input functions every other rule file uses. Participants come from each study's
# participants.tsv, never from globbing the disk.
from functools import cache
from pathlib import Path

from opioidsocial.config import config_hash, validate_config
from opioidsocial.io.bids import emg_files
from opioidsocial.provenance import versions
from opioidsocial.sheets import load_studies, load_participants

SCHEMAS = Path(workflow.basedir) / "workflow" / "schemas"

config.update(validate_config(config, SCHEMAS / "config.schema.yaml", source="config"))
RESULTS = config["results"]
STUDIES = load_studies(config["studies"], schemas=SCHEMAS)
# Input functions run once per job; plain dicts keep a 10,000-participant DAG
# from spending its time in pandas indexing.
SHEET_ROWS = {study: row.to_dict() for study, row in STUDIES.iterrows()}

# Each rule file appends the final outputs of its stage; rule `all` collects them.
# An entry may be a function, called only when the DAG is built, for targets that
# depend on participants' sheets (so that --lint works without the data).
TARGETS = []


def all_targets():
    found = set()
    for target in TARGETS:
        found.update(target() if callable(target) else [target])
    return sorted(found)


def studies(*, modality=None, input=None):
    """Study ids of the given modality and input kind, in sheet order."""
    rows = STUDIES
    if modality is not None:
        rows = rows[rows["modality"] == modality]
    if input is not None:
        rows = rows[rows["input"] == input]
    return rows.index.tolist()


def study_row(study):
    """The study's row of the studies sheet, as a dict."""
    return SHEET_ROWS[study]


@cache
def participants_table(study):
    return load_participants(SHEET_ROWS[study], schemas=SCHEMAS).set_index("participant", drop=False)


@cache
def _participant_rows(study):
    return participants_table(study).to_dict(orient="index")


def participants(study):
    """Participant labels (without 'sub-') from the study's participants.tsv."""
    return participants_table(study).index.tolist()


def participant_info(study, participant):
    """The participant's row of participants.tsv, as a dict."""
    return _participant_rows(study)[participant]


def emg_recording(wildcards):
    """The participant's BIDS-EMG files, named from the sheets (never globbed)."""
    return emg_files(study_row(wildcards.study), wildcards.participant)


def provenance(section):
    """Recorded in every output's metadata instead of a timestamp: package and
    library versions and the hash of the config section that produced it."""
    return {**versions(), "config_section": section, "config_hash": config_hash(config[section])}


def effects_files():
    """Every study-level effects table that the meta-analysis pools."""
    return [f"{RESULTS}/{s}/model/effects.parquet" for s, row in SHEET_ROWS.items() if row["modality"] != "summary"]
