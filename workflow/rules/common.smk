# The one place that reads and validates the config and the sheets, and the
# input functions (get_*) every other rule file uses. Participants come from each
# study's participants.tsv, never from globbing the disk.
from functools import cache, partial

from snakemake.logging import logger

from opioidsocial.config import CONFIG_SCHEMA_PATH, SCHEMA_DIR, canonical_config, config_hash, step_config, validate_config
from opioidsocial.errors import ConfigError
from opioidsocial.io.bids import emg_files
from opioidsocial.multiverse.grid import label
from opioidsocial.paths import CAPTION, ENVIRONMENT, FILES, RAW_INPUTS_CACHE, REPORT_TABLES, SCRIPT, benchmark_path, layout, log_path
from opioidsocial.pet.inputs import bpnd_path, sidecar_path, tac_path
from opioidsocial.pet.traits import check_config as check_pet_study
from opioidsocial.provenance import versions
from opioidsocial.report.inputs import exclusion_inputs, study_inputs
from opioidsocial.sheets import load_participants, load_studies, participants_sheet
from opioidsocial.stale import refresh, warning

# The installed package's schemas (in a checkout, src/opioidsocial/schemas links to
# workflow/schemas): the same files wherever this workflow is read from, a local
# folder, a module of another project or a snakedeploy'd GitHub copy (whose basedir
# is a URL, not a folder).
SCHEMAS = SCHEMA_DIR
CONFIG_SCHEMA = CONFIG_SCHEMA_PATH

config.update(validate_config(config, CONFIG_SCHEMA, source="config"))
RESULTS = config["results"]
P = layout(RESULTS)
STUDIES = load_studies(config["studies"], schemas=SCHEMAS)
# Input functions run once per job; plain dicts keep a 10,000-participant DAG
# from spending its time in pandas indexing.
SHEET_ROWS = {study: row.to_dict() for study, row in STUDIES.iterrows()}

# Results made from a raw file whose content changed under a kept modification time
# (cp -p, rsync -t, tar) are dated back before it, so that the jobs that read it rerun
# (opioidsocial.stale).
CHANGED_RAW = refresh(results=RESULTS, cache=RAW_INPUTS_CACHE.format(results=RESULTS))
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
    """BPND-table studies read the table; TAC studies every participant's fits. The
    study's config errors are raised here, before any job runs."""
    row = SHEET_ROWS[wildcards.study]
    check_pet_study(study_row=row, sheet=participants_table(wildcards.study), cfg=get_cfg("pet_study")["pet"])
    inputs = {"participants": get_participants_sheet(wildcards), "bpnd": [], "bp": [], "qc": []}
    if row["input"] == "bpnd":
        inputs["bpnd"] = [bpnd_path(row["path"])]
    else:
        inputs["bp"] = per_participant(P.pet_bp, [wildcards.study])
        inputs["qc"] = per_participant(P.pet_qc, [wildcards.study])
    return inputs


def get_evidence_files():
    """Every EMG and PET study's evidence table (Bayes factors, equivalence tests)."""
    return [P.evidence.format(study=s) for s, row in SHEET_ROWS.items() if row["modality"] in ("emg", "pet")]


def get_participants_sheet(wildcards):
    return participants_sheet(SHEET_ROWS[wildcards.study])


def effects_files():
    """Every study-level effects table that the meta-analysis pools."""
    return [P.effects.format(study=s) for s, row in SHEET_ROWS.items() if row["modality"] != "summary"]


def design_template():
    """The studies.tsv columns the simulation reads of design.template_study (its id and arms)
    when it is an EMG study; None otherwise."""
    study = config["design"]["template_study"]
    if study not in studies(modality="emg"):
        return None
    return study_columns(study, ("study", "reference", "drug"))


def design_skipped():
    """Why the crossed-design simulation does not run (no template EMG study); empty when it does."""
    if design_template() is not None:
        return ""
    emg = studies(modality="emg")
    return (
        f"design.template_study '{config['design']['template_study']}' is not an EMG study of the study sheet "
        f"(EMG studies: {emg or 'none'}); the analytic design tables do not need one"
    )


def get_design_chunks(pattern):
    """Every grid point x chunk of the crossed-design simulation (``pattern``: its output); none
    without a template EMG study."""
    if design_template() is None:
        return []
    sim = config["design"]["simulation"]
    return expand(
        pattern,
        participants=sim["participants_per_arm"],
        stimuli=sim["stimuli_per_emotion"],
        chunk=range(sim["chunks"]),
    )


def get_design_template_files(wildcards):
    """The template study's fit record, variance components and trial table (emg_model's outputs)."""
    study = config["design"]["template_study"]
    return {name: getattr(rules.emg_model.output, name).format(study=study) for name in ("fit", "varcomp", "trials")}


def multiverse_studies():
    """The EMG studies (input bids) of multiverse.studies; any other name stops the run before a job starts."""
    wanted = config["multiverse"]["studies"]
    usable = studies(modality="emg", input="bids")
    wrong = [s for s in wanted if s not in usable]
    if wrong:
        raise ConfigError(
            f"config: multiverse.studies {wrong} are not EMG studies with BIDS recordings in the study sheet; use some of {usable}"
        )
    return wanted


def get_multiverse_recording(wildcards):
    """The participant's BIDS-EMG files and today's QC record (which participants are usable)."""
    return {**get_emg_recording(wildcards), "qc": P.emg_qc.format(**wildcards)}


def multiverse_highpass():
    """The labels of the grid's high-pass values (emg.highpass_hz's if it lists none): one participant job each."""
    return [label(v) for v in config["multiverse"]["grid"].get("highpass_hz", [config["emg"]["highpass_hz"]])]


def get_multiverse_first_highpass(wildcards):
    """Whether the participant job's high-pass value is the grid's first (whose job holds a recording that
    is already an envelope): not the whole list, so that a value added to it runs only the new value's jobs."""
    return wildcards.highpass == multiverse_highpass()[0]


def get_multiverse_envelopes(wildcards):
    """Every participant's envelopes of the study, one file per high-pass value."""
    return [
        P.multiverse_envelopes.format(study=wildcards.study, participant=p, highpass=h)
        for p in participants(wildcards.study)
        for h in multiverse_highpass()
    ]


def get_multiverse_specifications():
    """The specifications of every multiverse study (the meta multiverse pools them)."""
    return [P.multiverse_specifications.format(study=s) for s in multiverse_studies()]


def summary_study_rows():
    """The studies.tsv columns read of the summary studies (their TSV of published statistics is at `path`)."""
    return [study_columns(s, ("study", "path", "drug", "direction", "reference", "sample_group")) for s in studies(modality="summary")]


def study_years():
    """Publication years of studies.tsv (order the cumulative meta-analysis; empty: unknown)."""
    return {s: row.get("year") for s, row in SHEET_ROWS.items()}


def get_summary_files():
    return [row["path"] for row in summary_study_rows()]


# -- Where each rule's files are: its log, benchmark, script, environment and captions,
# all from opioidsocial.paths (the rule files spell no path).
ENV = ENVIRONMENT


def log_of(rule, *wildcards):
    """The job's log: results/logs/<rule>[/{study}[/{participant}]].log."""
    return log_path(RESULTS, rule, *wildcards)


def benchmark_of(rule, *wildcards):
    return benchmark_path(RESULTS, rule, *wildcards)


def script_of(rule):
    return SCRIPT.format(rule=rule)


def folder_patterns(name):
    """The file names in a folder output of FILES (its figures, one per family)."""
    return [FILES[name].contract.pattern]


def caption_of(name):
    """A report item's caption, workflow/report/<name>.rst."""
    return CAPTION.format(name=name)


# -- The report: its tables (opioidsocial.paths.REPORT_TABLES) and the overview's inputs.


def report_studies(table):
    """The studies a per-study table of the report has a page for (none for a table of the run)."""
    return [s for m in table.modalities for s in studies(modality=m)]


def report_page(name):
    """The page of report table ``name``: results/report/[{study}/]<name>.html."""
    template = P.study_report_page if REPORT_TABLES[name].per_study else P.report_page
    return template.replace("{name}", name)


def report_job_file(kind, name):
    """The log or benchmark (``kind``: log_of, benchmark_of) of a report table's job."""
    return kind(f"report_table_{name}", *(["study"] if REPORT_TABLES[name].per_study else []))


def report_pages():
    """Every page of every report table."""
    return [report_page(n).format(study=s) for n, t in REPORT_TABLES.items() for s in (report_studies(t) if t.per_study else [None])]


def report_study_rows():
    """Every study's row of the studies sheet, in sheet order: where the overview's files are."""
    return [SHEET_ROWS[s] for s in studies()]


# The studies.tsv columns the overview reads: its own (description included) and what checking participants.tsv needs.
OVERVIEW_COLUMNS = (
    "study",
    "modality",
    "input",
    "design",
    "drug",
    "direction",
    "reference",
    "sample_group",
    "reference_group",
    "description",
)


def report_overview_rows():
    """What the overview lists of every study, in sheet order."""
    return [study_columns(s, OVERVIEW_COLUMNS) for s in studies()]


def report_study_files():
    """The stage outputs (and sheets) the overview counts participants in, per study."""
    return {row["study"]: study_inputs(row, RESULTS) for row in report_study_rows()}


def get_report_study_files():
    return [path for files in report_study_files().values() for path in files.values()]


def get_report_exclusion_files():
    return exclusion_inputs(report_study_rows(), RESULTS)
