"""Every file one stage writes and another reads: its declared contract, once.

Parquet tables have a :class:`~opioidsocial.io.tables.TableSpec` (Arrow schema with a
doc per column, sort key), TSV tables a :class:`~opioidsocial.io.tables.TsvSpec`
(column order, the factor columns that may lead, the label columns read as text),
and the per-participant QC record a JSON schema (:data:`QC_RECORD`). Writers and
readers go through :mod:`opioidsocial.io.tables` with these, and the tests check
the outputs against them. Column lists are not repeated anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from opioidsocial.io.tables import TableSpec, TsvSpec, field

# -- Parquet: per participant ------------------------------------------------------

EMG_BINS = TableSpec(
    name="emg_bins",
    row="participant x trial x muscle x time bin",
    sort_by=("study", "participant", "trial", "muscle", "bin_start_s"),
    schema=pa.schema(
        [
            field("study", pa.string(), doc="study id from studies.tsv"),
            field("participant", pa.string(), doc="BIDS label without 'sub-'"),
            field("arm", pa.string(), doc="treatment arm from participants.tsv"),
            field("trial", pa.int32(), doc="1-based trial number in recording order"),
            field("stimulus", pa.string(), doc="stimulus id from events.tsv; n/a when it has no stimulus column"),
            field("emotion", pa.string(), doc="the face's emotion: events.tsv trial_type through the study's event map (emg.trial_types)"),
            field("muscle", pa.string(), doc="target muscle from channels.tsv"),
            field("bin_start_s", pa.float64(), doc="bin start relative to stimulus onset, s"),
            field("amplitude_uv", pa.float64(), doc="rectified, smoothed, baseline-corrected amplitude, microvolt"),
            field("amplitude_z", pa.float64(), doc="amplitude_uv z-scored within participant x muscle"),
            field("artefact", pa.bool_(), doc="trial x muscle rejected by an artefact rule"),
            field("artefact_reason", pa.string(), doc="rule(s) that rejected it; empty when clean"),
        ]
    ),
)

EMG_QC_SIGNALS = TableSpec(
    name="emg_qc_signals",
    row="participant x muscle x kind x signal x point",
    sort_by=("study", "participant", "muscle", "kind", "signal", "x"),
    schema=pa.schema(
        [
            field("study", pa.string()),
            field("participant", pa.string()),
            field("muscle", pa.string(), doc="target muscle from channels.tsv"),
            field("kind", pa.string(), doc="snippet (around the first stimulus) | spectrum (power spectral density)"),
            field("signal", pa.string(), doc="raw | filtered (band-pass and notches)"),
            field("x", pa.float64(), doc="snippet: time from the first onset, s; spectrum: frequency, Hz"),
            field("value", pa.float64(), doc="snippet: microvolt; spectrum: microvolt^2 / Hz"),
        ]
    ),
)

MULTIVERSE_ENVELOPES = TableSpec(
    name="multiverse_envelopes",
    row="filtering x envelope x smoothing x trial x muscle x time bin of one participant (opioidsocial.multiverse.participant)",
    sort_by=("study", "participant", "highpass_hz", "envelope", "smoothing_ms", "trial", "muscle", "bin_start_s"),
    schema=pa.schema(
        [
            field("study", pa.string()),
            field("participant", pa.string()),
            field("arm", pa.string(), doc="treatment arm from participants.tsv"),
            field("recording", pa.string(), doc="raw (filtered here) | envelope (already an envelope: not filtered, one envelope kind)"),
            field("highpass_hz", pa.float64(), doc="the high-pass edge of the filtering (the grid's first value for an envelope recording)"),
            field("envelope", pa.string(), doc="rectify | rms (emg.envelope)"),
            field("smoothing_ms", pa.float64(), doc="moving-window width (emg.smoothing_ms)"),
            field("trial", pa.int64(), doc="1-based face trial number in recording order"),
            field("emotion", pa.string(), doc="the face's emotion through the study's event map"),
            field("muscle", pa.string(), doc="target muscle from channels.tsv"),
            field("bin_start_s", pa.float64(), doc="bin start relative to stimulus onset, s (emg.bin_s bins from emg.tmin_s)"),
            field("value", pa.float64(), doc="mean of the envelope over the bin's samples, microvolt"),
            field("samples", pa.int64(), doc="samples in the bin: baseline levels are the sample-weighted means of the bins they span"),
            field("peak", pa.float64(), doc="largest envelope sample of the trial x muscle epoch, microvolt (the peak artefact rule)"),
            field("excluded", pa.bool_(), doc="flat channel or clipped epoch: rejected in every universe of this filtering"),
        ]
    ),
)

MULTIVERSE_CELLS = TableSpec(
    name="multiverse_cells",
    row="universe x participant x arm x muscle x emotion with a clean trial",
    sort_by=("study", "universe", "participant", "arm", "muscle", "emotion"),
    schema=pa.schema(
        [
            field("study", pa.string()),
            field("universe", pa.int64(), doc="universe number (opioidsocial.multiverse.grid: one digit per grid key)"),
            field("participant", pa.string()),
            field("arm", pa.string(), doc="treatment arm from participants.tsv"),
            field("muscle", pa.string()),
            field("emotion", pa.string()),
            field("value", pa.float64(), doc="mean response of the participant's clean trials in the cell, in the universe's unit"),
        ]
    ),
)

PET_BP = TableSpec(
    name="pet_bp",
    row="participant x ROI x condition x model",
    sort_by=("study", "participant", "roi", "condition", "model"),
    schema=pa.schema(
        [
            field("study", pa.string()),
            field("participant", pa.string()),
            field("roi", pa.string()),
            field("condition", pa.string(), doc="baseline | rejection | acceptance (or as configured)"),
            field("model", pa.string(), doc="SRTM | SRTM2 | MRTM | MRTM2 | Logan | ratio | given (config pet.model, pet.check_models)"),
            field("bp_nd", pa.float64(), nullable=True, doc="non-displaceable binding potential"),
            field("r1", pa.float64(), nullable=True, doc="SRTM relative delivery K1/K1'"),
            field("k2", pa.float64(), nullable=True, doc="SRTM k2, 1/min"),
            field("rmse", pa.float64(), nullable=True, doc="root mean squared residual of the fit"),
            field("fit_ok", pa.bool_(), doc="False when the fit failed or is implausible"),
            field("flag_reason", pa.string(), doc="why fit_ok is False; empty otherwise"),
        ]
    ),
)

EFFECTS = TableSpec(
    name="effects",
    row="study x outcome x contrast",
    sort_by=("study", "outcome", "contrast"),
    schema=pa.schema(
        [
            field("study", pa.string()),
            field("outcome", pa.string(), doc="outcome family, e.g. 'zygomaticus to happy faces'"),
            field("contrast", pa.string(), doc="e.g. 'naltrexone - placebo', 'rejection - baseline'"),
            field("yi", pa.float64(), doc="effect size on the measure's scale"),
            field("vi", pa.float64(), doc="its sampling variance"),
            field("n1", pa.int64(), nullable=True, doc="n of group 1 (or of the paired sample)"),
            field("n2", pa.int64(), nullable=True, doc="n of group 2; null for within designs"),
            field("design", pa.string(), doc="between | within"),
            field("direction", pa.int8(), doc="+1 agonist or endogenous release, -1 antagonist"),
            field("sample_group", pa.string(), doc="studies sharing participants share this"),
            field("measure", pa.string(), doc="escalc measure: SMD, SMCC, SMCR, ZCOR or GEN"),
            field("modality", pa.string(), doc="emg | pet | summary"),
            field("drug", pa.string(), doc="drug or manipulation"),
        ]
    ),
)

EFFECT_SAMPLES = TableSpec(
    name="emg_effect_samples",
    row="study x outcome x contrast x sample x participant: the participant cell means an EMG effect is computed from",
    sort_by=("study", "outcome", "contrast", "sample", "participant"),
    schema=pa.schema(
        [
            field("study", pa.string()),
            field("outcome", pa.string(), doc="the effect's outcome (EFFECTS key)"),
            field("contrast", pa.string(), doc="the effect's contrast (EFFECTS key)"),
            field("sample", pa.string(), doc="arm (the contrast's drug arm) | reference (the study's reference arm)"),
            field("participant", pa.string(), doc="within-subjects studies: only participants measured in both arms"),
            field("mean", pa.float64(), doc="the participant's mean response in the cell, in the model's response unit"),
        ]
    ),
)

TRIAL_RESPONSES = TableSpec(
    name="emg_trial_responses",
    row="participant x trial x muscle",
    sort_by=("study", "participant", "trial", "muscle"),
    schema=pa.schema(
        [pa.field(name, pa.string(), nullable=False) for name in ("study", "participant", "arm")]
        + [pa.field("trial", pa.int32(), nullable=False, metadata={"doc": "1-based trial number"})]
        + [pa.field(name, pa.string(), nullable=False) for name in ("stimulus", "emotion", "muscle")]
        + [pa.field("response_uv", pa.float64(), nullable=False, metadata={"doc": "mean baseline-corrected amplitude over the response window, microvolt"})]
    ),
)

META_EFFECTS = TableSpec(
    name="meta_effects",
    row="family x study x outcome x contrast",
    sort_by=("family", "study", "outcome", "contrast"),
    schema=pa.schema(
        [
            field("family", pa.string(), doc="outcome family the effect is pooled in (meta.families)"),
            field("study", pa.string()),
            field("outcome", pa.string(), doc="outcome label as the study reports it"),
            field("contrast", pa.string(), doc="e.g. 'naltrexone - placebo'"),
            field("yi", pa.float64(), doc="effect size, contrast as labelled (manipulation minus reference)"),
            field("vi", pa.float64(), doc="its sampling variance"),
            field("yi_harmonised", pa.float64(), doc="yi * direction (effect of more mu-opioid signalling); yi when direction is 0"),
            field("n1", pa.int64(), nullable=True),
            field("n2", pa.int64(), nullable=True),
            field("design", pa.string(), doc="between | within"),
            field("direction", pa.int8(), doc="+1 agonist or endogenous release, -1 antagonist, 0 no opioid manipulation"),
            field("sample_group", pa.string(), doc="studies sharing participants share this"),
            field("measure", pa.string(), doc="SMD, SMCC, SMCR, ZCOR or GEN"),
            field("scale", pa.string(), doc="d (SMD/SMCC/SMCR), z (ZCOR) or GEN: only one scale per family"),
            field("conversion", pa.string(), doc="how yi was obtained (formula and reference)"),
            field("source", pa.string(), doc="model (a study's effects.parquet) | summary (published statistics)"),
            field("modality", pa.string(), doc="emg | pet | summary"),
            field("drug", pa.string()),
            field("muscle", pa.string(), nullable=True, doc="from meta.outcome_pattern; null when the label has none"),
            field("emotion", pa.string(), nullable=True, doc="from meta.outcome_pattern; null when the label has none"),
            field("year", pa.int64(), nullable=True, doc="publication year (studies.tsv or the summary row); orders the cumulative meta-analysis"),
        ]
    ),
)

# -- Exclusions (every stage that excludes writes these rows) ------------------------

#: What an exclusion removes (DataError.level): a whole participant, one muscle of a
#: participant (no usable signal), one trial of a participant (all its muscles), or
#: one PET ROI of one scan (a failed or implausible fit). A study-level job excluded
#: under ``on_bad_data: exclude`` lists its whole study (level 'study'; not counted here).
EXCLUSION_LEVELS = ("participant", "muscle", "trial", "roi")
EXCLUSIONS = TsvSpec(
    name="exclusions", row="excluded participant, muscle, trial or PET fit, with its level, the stage and the reason",
    columns=("study", "participant", "level", "muscle", "trial", "stage", "reason"),
    text=("study", "participant", "level", "muscle", "trial", "stage", "reason"),
)
#: Exclusions per study x arm, and the participants enrolled there (report overview).
EXCLUSION_COUNTS = TsvSpec(
    name="exclusion_counts", row="study x arm",
    columns=("study", "arm", "n_enrolled", *(f"excluded_{level}s" for level in EXCLUSION_LEVELS)), text=("study", "arm"),
)

# -- The QC record of one participant (EMG preprocessing, PET fits) ----------------

#: What every stage that reads a QC record relies on; each modality adds its own
#: details (filters, channels, rejections; fits and flags), described in the
#: README's "Outputs" section.
QC_RECORD = {
    "type": "object",
    "required": ["study", "participant", "usable", "exclusion_reason"],
    "properties": {
        "study": {"type": "string"},
        "participant": {"type": "string"},
        "usable": {"type": "boolean", "description": "false: the participant is excluded, for exclusion_reason"},
        "exclusion_reason": {"type": "string", "description": "empty when usable"},
        "exclusions": {
            "type": "array",
            "description": "exclusions below the participant (muscles, trials) in a usable participant, as EXCLUSIONS rows",
            "items": {
                "type": "object",
                "required": list(EXCLUSIONS.columns),
                "properties": {name: {"type": "string"} for name in EXCLUSIONS.columns},
                "additionalProperties": False,
            },
        },
    },
}

#: The EMG model stage's record of what was fitted (results/{study}/model/fit.json):
#: the report's overview reads whether the study was estimable.
FIT_RECORD = {
    "type": "object",
    "required": ["study", "estimable", "not_estimable_reason", "models", "data"],
    "properties": {
        "study": {"type": "string"},
        "estimable": {"type": "boolean", "description": "false: no contrast could be estimated, for not_estimable_reason"},
        "not_estimable_reason": {"type": ["string", "null"]},
        "models": {"type": "array", "description": "one entry per fitted model (models.by subset), with every fall-back attempt"},
        "data": {"type": "object", "description": "rows read, excluded and dropped on the way to the model"},
    },
}

# -- TSV tables ---------------------------------------------------------------------

#: Cell factors of the EMG models that lead a table's columns when the model has them.
CELL_FACTORS = ("muscle", "emotion")


OVERVIEW = TsvSpec(
    name="overview", row="study",
    columns=("study", "modality", "input", "design", "drug", "direction", "sample_group", "n_enrolled", "n_analysed", "description"),
)
EMG_FIXEF = TsvSpec(name="emg_fixef", row="model x fixed-effect term", leading=CELL_FACTORS,
                    columns=("term", "estimate", "se", "df", "t", "p", "ci_low", "ci_high"))
EMG_ANOVA = TsvSpec(name="emg_anova", row="model x Type III term", leading=CELL_FACTORS, columns=("term", "num_df", "den_df", "f", "p"))
EMG_VARCOMP = TsvSpec(name="emg_varcomp", row="model x variance component", leading=CELL_FACTORS,
                      columns=("group", "term1", "term2", "vcov", "sdcor"))
EMG_EMMEANS = TsvSpec(name="emg_emmeans", row="arm x cell", leading=CELL_FACTORS, columns=("arm", "emmean", "se", "df", "ci_low", "ci_high"))
EMG_CONTRASTS = TsvSpec(
    name="emg_contrasts", row="arm - reference x cell", leading=CELL_FACTORS,
    columns=("arm", "reference", "contrast", "estimate", "se", "df", "t", "p", "ci_low", "ci_high", "p_adjusted", "adjust"),
)
PET_PAIRED = TsvSpec(
    name="pet_paired", row="model x contrast x ROI",
    columns=("model", "contrast", "roi", "condition", "versus", "n", "mean_versus", "mean_condition", "mean_change", "sd_change",
             "percent_change", "t", "df", "p", "ci_low", "ci_high", "r_scans", "dz", "vi", "p_adjusted"),
)
PET_CORRELATIONS = TsvSpec(
    name="pet_correlations", row="model x group (or 'all') x contrast x trait x ROI",
    columns=("model", "group", "contrast", "trait", "roi", "condition", "versus", "n", "r", "p", "ci_low", "ci_high", "z", "vi", "p_adjusted"),
)
PET_GROUPS = TsvSpec(
    name="pet_groups", row="model x contrast x group x ROI: the group difference of the change from the reference condition",
    columns=("model", "contrast", "group", "roi", "condition", "versus", "reference_group", "n_group", "n_reference", "mean_group",
             "mean_reference", "sd_group", "sd_reference", "difference", "t", "df", "p", "ci_low", "ci_high", "g", "vi", "p_adjusted"),
)
EVIDENCE = TsvSpec(
    name="evidence", row="study x outcome x contrast (one per row of the study's effects.parquet)",
    columns=("study", "outcome", "contrast", "design", "test", "n1", "n2", "yi", "ci_lb", "ci_ub", "t",
             "bf10", "bf01", "log_bf10", "tost_p", "equivalent", "label", "prior_scale", "sesoi"),
    text=("outcome", "contrast"),
)
#: The multiverse's grid keys (opioidsocial.multiverse.grid.KEYS) as they may lead its tables.
MULTIVERSE_KEYS = ("envelope", "baseline_method", "zscore", "baseline_s", "response_s", "highpass_hz", "smoothing_ms", "reject_robust_z")
MULTIVERSE_SPECIFICATIONS = TsvSpec(
    name="multiverse_specifications", row="universe x contrast x outcome; a column per grid key (windows 'a,b'; n/a where it does not apply)",
    leading=("study", "universe", *MULTIVERSE_KEYS), columns=("contrast", "outcome", "n1", "n2", "yi", "vi", "t", "df", "p"),
    text=("contrast", "outcome", *MULTIVERSE_KEYS),
)
MULTIVERSE_JOINT = TsvSpec(
    name="multiverse_joint", row="contrast x outcome: the joint tests of its specification curve",
    columns=("study", "contrast", "outcome", "n_universes", "median_yi", "share_significant", "stouffer_z", "p_median", "p_share",
             "p_stouffer", "permutations", "seed"),
    text=("contrast", "outcome"),
)
MULTIVERSE_CHOICES = TsvSpec(
    name="multiverse_choices", row="contrast x outcome x grid key: share of the variance of yi across universes its main effect explains",
    columns=("study", "contrast", "outcome", "choice", "n_values", "variance_explained"), text=("contrast", "outcome", "choice"),
)
META_MULTIVERSE = TsvSpec(
    name="meta_multiverse", row="family x model x universe shared by the family's multiverse studies: the primary pooled estimate",
    leading=("family", "model", "universe", *MULTIVERSE_KEYS), columns=("k", "estimate", "ci_lb", "ci_ub", "p"),
    text=("family", "model", *MULTIVERSE_KEYS),
)
POOLED_FIELDS = ("k", "estimate", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "tau2_ci_lb", "tau2_ci_ub",
                 "i2", "h2", "q", "q_df", "q_p", "method", "test")
# A family x model with too few samples is one row with its k and the reason in `note`
# (no estimator, no test), so a run that pools nothing says why in the table itself.
# tau2_pl_lb/ub: the profile-likelihood CI of tau^2, for ML and REML only (empty otherwise).
META_POOLED = TsvSpec(name="meta_pooled", row="family x model x estimator x test",
                      columns=("family", "model", *POOLED_FIELDS, "tau2_pl_lb", "tau2_pl_ub", "note"))
META_REGRESSION = TsvSpec(
    name="meta_regression", row="family x moderator x term",
    columns=("family", "moderator", "term", "k", "estimate", "se", "stat", "df", "p", "ci_lb", "ci_ub",
             "qm", "qm_df1", "qm_df2", "qm_p", "tau2", "q", "q_df", "q_p", "r2", "method", "test",
             "permutation_p", "qm_permutation_p", "note"),
)
META_MULTILEVEL = TsvSpec(
    name="meta_multilevel", row="model x scope x term",
    columns=("model", "scope", "term", "k", "n_studies", "n_sample_groups", "estimate", "se_model", "se", "stat", "df", "p",
             "ci_lb", "ci_ub", "sigma2_sample_group", "sigma2_study", "sigma2_effect", "q", "q_df", "q_p",
             "qm", "qm_df1", "qm_df2", "qm_p", "method", "note"),
)
META_LEAVE1OUT = TsvSpec(
    name="meta_leave1out", row="family x model x study left out",
    columns=("family", "model", "left_out", "k", "estimate", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "i2", "q", "q_p", "method", "test"),
)
META_INFLUENCE = TsvSpec(
    name="meta_influence", row="family x model x sample group",
    columns=("family", "model", "sample_group", "studies", "rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "q_del", "hat", "weight",
             "influential", "method", "test"),
)
#: analysis: egger (one row per tau^2 estimator of meta.methods), trimfill, 3PSM, 4PSM, pet, peese, pet-peese,
#: permutation. se and tau2 where the analysis has them; delta_2/delta_3 and k_per_interval (studies per p-value
#: interval, e.g. '7,30') belong to the selection models, iterations and exact to the permutation test, note to
#: pet-peese (which intercept it took); empty where an analysis has none.
META_SMALL_STUDY = TsvSpec(
    name="meta_small_study", row="family x model x analysis (x estimator for egger)",
    columns=("family", "model", "analysis", "k", "statistic", "df", "p", "estimate", "ci_lb", "ci_ub", "k0", "side",
             "se", "tau2", "delta_2", "delta_3", "k_per_interval", "iterations", "exact", "method", "test", "note", "warning"),
    text=("k_per_interval", "note", "warning"),
)
#: Cumulative meta-analysis by year: the model refitted as each sample is added (oldest first).
META_CUMULATIVE = TsvSpec(
    name="meta_cumulative", row="family x model x sample added (in order of year)",
    columns=("family", "model", "added_study", "year", "k", "estimate", "ci_lb", "ci_ub", "tau2", "method", "test"),
    text=("added_study",),
)
META_BAYES = TsvSpec(
    name="meta_bayes", row="family x model x prior analysis",
    columns=("family", "model", "analysis", "mu_prior_sd", "tau_prior_scale", "k", "level",
             "mu_mean", "mu_sd", "mu_median", "mu_lb", "mu_ub", "tau_median", "tau_lb", "tau_ub",
             "pred_lb", "pred_ub", "bf10", "log_bf10"),
)
VERSIONS = TsvSpec(name="versions", row="package", columns=("package", "version"))
CONFIG_TABLE = TsvSpec(name="config_table", row="config key", columns=("key", "value"), text=("key", "value"))

# -- Design analysis (src/opioidsocial/design/) --------------------------------------

#: What each design table assumes the true effect to be: the primary pooled estimate, the
#: bound of its CI nearer to zero (0 when the CI holds 0), and bias-adjusted estimates.
DESIGN_ASSUMPTIONS = ("pooled", "ci_bound", "3PSM", "pet-peese")
DESIGN_RETRODESIGN = TsvSpec(
    name="design_retrodesign", row="family x model x study effect x assumption",
    columns=("family", "model", "study", "contrast", "outcome", "se", "assumed_effect", "assumption", "power", "type_s", "type_m"),
    text=("family", "model", "study", "contrast", "outcome", "assumption"),
)
DESIGN_SAMPLE_SIZE = TsvSpec(
    name="design_sample_size", row="family x model x design x assumption x target power",
    columns=("family", "model", "design", "assumed_effect", "assumption", "target_power", "n", "n_exact", "achieved_power", "note"),
    text=("family", "model", "design", "assumption", "note"),
)
#: One job's share of the crossed-design simulation (one grid point x chunk of simulations).
DESIGN_SIM_CHUNK = TsvSpec(
    name="design_sim_chunk", row="grid point x chunk of simulations",
    columns=("family", "participants_per_arm", "stimuli", "chunk", "n_sims", "significant", "failed", "singular", "effect", "note"),
    text=("family", "note"),
)
DESIGN_POWER_SIM = TsvSpec(
    name="design_power_sim", row="grid point (participants per arm x stimuli per emotion)",
    columns=("family", "participants_per_arm", "stimuli", "n_sims", "power", "power_se", "failed", "singular", "effect", "note"),
    text=("family", "note"),
)
DESIGN_SEQUENTIAL = TsvSpec(
    name="design_sequential", row="family x design x hypothesis simulated under",
    columns=("family", "design", "hypothesis", "true_effect", "boundary", "n_min", "n_max", "step", "n_sims",
             "p_h1", "p_h1_se", "p_h0", "p_h0_se", "p_inconclusive", "p_inconclusive_se",
             "n_mean", "n_mean_se", "n_q25", "n_median", "n_q75", "note"),
    text=("family", "design", "hypothesis", "note"),
)

# -- Files that are not tables: figures, pages and records of the run ---------------

@dataclass(frozen=True)
class FigureFile:
    """A figure file (``fmt`` png or svg); excluded, it shows the reason."""

    fmt: str


@dataclass(frozen=True)
class TextFile:
    """A text file (an HTML page, a YAML record); excluded, it holds the reason."""

    suffix: str


@dataclass(frozen=True)
class Folder:
    """A folder of figures (one per family, named as ``pattern``); excluded, it is empty."""

    pattern: str = "{name}.png"
