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
    return STUDIES.loc[study]


@cache
def participants_table(study):
    return load_participants(STUDIES.loc[study], schemas=SCHEMAS).set_index("participant", drop=False)


def participants(study):
    """Participant labels (without 'sub-') from the study's participants.tsv."""
    return participants_table(study).index.tolist()


def participant_info(study, participant):
    """The participant's row of participants.tsv, as a dict."""
    return participants_table(study).loc[participant].to_dict()


def emg_recording(wildcards):
    """The participant's BIDS-EMG files, named from the sheets (never globbed)."""
    return emg_files(study_row(wildcards.study), wildcards.participant)


def provenance(section):
    """Recorded in every output's metadata instead of a timestamp: package and
    library versions and the hash of the config section that produced it."""
    return {**versions(), "config_section": section, "config_hash": config_hash(config[section])}


def effects_files():
    """Every study-level effects table that the meta-analysis pools."""
    return [f"{RESULTS}/{s}/model/effects.parquet" for s in STUDIES.index if STUDIES.loc[s, "modality"] != "summary"]
