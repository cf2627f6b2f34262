# The one place that reads and validates the config and the sheets, and the
# input functions (get_*) every other rule file uses. Participants come from each
# study's participants.tsv, never from globbing the disk.
from functools import cache

from snakemake.logging import logger

from opioidsocial.config import SCHEMA_DIR, canonical_config, config_hash, step_config, validate_config
from opioidsocial.io.bids import emg_files
from opioidsocial.paths import layout
from opioidsocial.pet.inputs import bpnd_path, sidecar_path, tac_path
from opioidsocial.provenance import versions
from opioidsocial.sheets import load_participants, load_studies
from opioidsocial.stale import refresh, warning

# The installed package's schemas (in a checkout, src/opioidsocial/schemas links to
# workflow/schemas): the same files wherever this workflow is read from, a local
# folder, a module of another project or a snakedeploy'd GitHub copy (whose basedir
# is a URL, not a folder).
SCHEMAS = SCHEMA_DIR
CONFIG_SCHEMA = SCHEMAS / "config.schema.yaml"

config.update(validate_config(config, CONFIG_SCHEMA, source="config"))
RESULTS = config["results"]
P = layout(RESULTS)
STUDIES = load_studies(config["studies"], schemas=SCHEMAS)
# Input functions run once per job; plain dicts keep a 10,000-participant DAG
# from spending its time in pandas indexing.
SHEET_ROWS = {study: row.to_dict() for study, row in STUDIES.iterrows()}

# Raw files whose content changed under a kept modification time (cp -p, rsync -t, tar)
# are given the current time, so that the jobs that read them rerun (opioidsocial.stale).
CHANGED_RAW = refresh(results=RESULTS, cache=f"{P.logs}/raw_inputs.json")
if CHANGED_RAW:
    logger.warning(warning(CHANGED_RAW))

# Each rule file appends the final outputs of its stage; rule `all` collects them.
# An entry may be a function, called only when the DAG is built, for targets that
# depend on participants' sheets (so that --lint works without the data).
TARGETS = []


def get_all_targets(wildcards):
    """Every stage's final outputs (rule all)."""
    found = set()
    for target in TARGETS:
        found.update(target() if callable(target) else [target])
    return sorted(found)


def studies(*, modality=None, input=None):
    """Study ids of the given modality and input kind, in sheet order."""
    return [s for s, row in SHEET_ROWS.items() if modality in (None, row["modality"]) and input in (None, row["input"])]


def one_of(names):
    """A wildcard constraint matching exactly these study ids (none: matches nothing)."""
    return "|".join(names) or "(?!)"


# The study ids each kind of rule is for, as wildcard constraints.
EMG_BIDS = one_of(studies(modality="emg", input="bids"))
EMG_ANY = one_of(studies(modality="emg"))
PET_TAC = one_of(studies(modality="pet", input="tac"))
PET_ANY = one_of(studies(modality="pet"))


wildcard_constraints:
    participant="[A-Za-z0-9]+",


@cache
def participants_table(study):
    return load_participants(SHEET_ROWS[study], schemas=SCHEMAS).set_index("participant", drop=False)


@cache
def _participant_rows(study):
    return participants_table(study).to_dict(orient="index")


def participants(study):
    """Participant labels (without 'sub-') from the study's participants.tsv."""
    return participants_table(study).index.tolist()


def per_participant(pattern, studies_):
    """``pattern`` for every participant of every study in ``studies_``."""
    return [pattern.format(study=s, participant=p) for s in studies_ for p in participants(s)]


@cache
def get_cfg(step):
    """The config keys the step reads (their schema's x-stage names it), canonical."""
    return step_config(config, step, CONFIG_SCHEMA)


def get_canonical_config():
    """The whole config, canonical: what the provenance record writes."""
    return canonical_config(config, CONFIG_SCHEMA)


def get_provenance(step):
    """Recorded in every output's metadata instead of a timestamp: package and
    library versions and the hash of the config keys the step read."""
    return {**versions(), "config_step": step, "config_hash": config_hash(get_cfg(step))}


def study_columns(study, columns):
    """The study's values of these studies.tsv columns ('' for an undeclared column it lacks)."""
    return {c: SHEET_ROWS[study].get(c, "") for c in columns}


def get_study_columns(*columns):
    """Params of the study's values of the studies.tsv ``columns`` its stage reads: not the
    whole row, so that editing another column (a description) reruns nothing."""

    def values(wildcards):
        return study_columns(wildcards.study, columns)

    return values


def get_reference(wildcards):
    return SHEET_ROWS[wildcards.study]["reference"]


def get_arm(wildcards):
    """The participant's arm from participants.tsv."""
    return _participant_rows(wildcards.study)[wildcards.participant]["arm"]


def get_emg_recording(wildcards):
    """The participant's BIDS-EMG files, named from the sheets (never globbed)."""
    return emg_files(SHEET_ROWS[wildcards.study], wildcards.participant)


def get_tac_scans(wildcards):
    """One TAC file per configured condition, named from the sheets and pet.tac_layout
    (never globbed). A TAC file's JSON sidecar (decay correction) is optional: it is
    an input when it exists, so that editing it reruns the fit."""
    root, pet = SHEET_ROWS[wildcards.study]["path"], config["pet"]
    tacs = {c: tac_path(root, wildcards.participant, c, layout=pet["tac_layout"], seg=pet["tac_seg"]) for c in pet["conditions"]}
    sidecars = {f"{c}_sidecar": str(sidecar_path(t)) for c, t in tacs.items() if sidecar_path(t).is_file()}
    return {**tacs, **sidecars}


def get_emg_participants(wildcards):
    """Every participant's binned table and QC record of an EMG study."""
    return {"bins": per_participant(P.emg_bins, [wildcards.study]), "qc": per_participant(P.emg_qc, [wildcards.study])}


def get_emg_model_source(wildcards):
    """The user's trial table (input 'trials') or the preprocessed study table."""
    row = SHEET_ROWS[wildcards.study]
    return row["path"] if row["input"] == "trials" else P.emg_table.format(study=wildcards.study)


def get_pet_study_inputs(wildcards):
    """BPND-table studies read the table; TAC studies every participant's fits."""
    row = SHEET_ROWS[wildcards.study]
    inputs = {"participants": get_participants_sheet(wildcards), "bpnd": [], "bp": [], "qc": []}
    if row["input"] == "bpnd":
        inputs["bpnd"] = [bpnd_path(row["path"])]
    else:
        inputs["bp"] = per_participant(P.pet_bp, [wildcards.study])
        inputs["qc"] = per_participant(P.pet_qc, [wildcards.study])
    return inputs


def get_evidence_files():
    """Every EMG and PET study's evidence table (Bayes factors, equivalence tests)."""
    return [f"{P.model}/evidence.tsv".format(study=s) for s, row in SHEET_ROWS.items() if row["modality"] in ("emg", "pet")]


def get_participants_sheet(wildcards):
    return f"{SHEET_ROWS[wildcards.study]['path']}/participants.tsv"


def effects_files():
    """Every study-level effects table that the meta-analysis pools."""
    return [P.effects.format(study=s) for s, row in SHEET_ROWS.items() if row["modality"] != "summary"]
