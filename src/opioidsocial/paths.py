"""Every file the workflow writes, declared once: where it lives and its contract.

:data:`FILES` pairs each result's path template (under ``{results}``, with the
``{study}`` and ``{participant}`` wildcards kept) with its contract in
:mod:`opioidsocial.io.contracts`: a Parquet ``TableSpec``, a ``TsvSpec``, a JSON
record's schema, or a ``FigureFile``, ``TextFile`` or ``Folder``. The rule files
take every path from :func:`layout` (``P.<name>``), the report's tables and their
pages come from :data:`REPORT_TABLES`, and the tests read the same names.

To add a file: add ``"<name>": File("<template>", <contract>)`` to FILES (a new
table's contract goes in io/contracts.py first), use ``P.<name>`` as the rule's
output under the key the stage writes it by (and as the input of the rules that
read it), and declare the same key and contract in the stage's
``@stage(outputs=...)``. A table that the report shows gets a :class:`ReportTable`
in REPORT_TABLES and a caption workflow/report/<name>.rst. A rule's log, benchmark,
script, environment and captions come from common.smk's ``log_of``,
``benchmark_of``, ``script_of``, ``ENV`` and ``caption_of``. tests/test_paths.py
checks that no rule file spells a path itself, tests/test_stages.py that each rule's
outputs are the files whose contracts its stage declares.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from opioidsocial.io import contracts as c
from opioidsocial.io.contracts import FigureFile, Folder, TextFile


@dataclass(frozen=True)
class File:
    """A file of the workflow: its path template and its contract."""

    template: str
    contract: object


def _figures(key: str, stem: str) -> dict[str, File]:
    """A figure written as PNG and SVG: ``<key>_png`` and ``<key>_svg``."""
    return {f"{key}_{fmt}": File(f"{stem}.{fmt}", FigureFile(fmt)) for fmt in ("png", "svg")}


def _tables(folder: str, specs: dict) -> dict[str, File]:
    """TSV tables of one folder, ``<name>.tsv`` each."""
    return {name: File(f"{folder}/{name}.tsv", spec) for name, spec in specs.items()}


_MODEL = "{results}/{study}/model"
_META = "{results}/meta"
_MULTIVERSE = "{results}/{study}/multiverse"
_PROVENANCE = "{results}/provenance"
_DESIGN = "{results}/design"

FILES = {
    # per participant (fan-out); the modality is in the QC paths, so EMG and PET rules never match each other's files
    "emg_bins": File("{results}/{study}/emg/{participant}.parquet", c.EMG_BINS),
    "emg_qc": File("{results}/{study}/qc/emg/{participant}.json", c.QC_RECORD),
    "emg_qc_signals": File("{results}/{study}/qc/emg/{participant}.signals.parquet", c.EMG_QC_SIGNALS),
    "emg_qc_figure": File("{results}/{study}/qc/emg/{participant}.png", FigureFile("png")),
    "multiverse_envelopes": File(f"{_MULTIVERSE}/{{participant}}/highpass-{{highpass}}.parquet", c.MULTIVERSE_ENVELOPES),
    "pet_bp": File("{results}/{study}/pet/{participant}.parquet", c.PET_BP),
    "pet_qc": File("{results}/{study}/qc/pet/{participant}.json", c.QC_RECORD),
    "pet_qc_figure": File("{results}/{study}/qc/pet/{participant}.png", FigureFile("png")),
    # per study (fan-in)
    "emg_table": File("{results}/{study}/emg_bins.parquet", c.EMG_BINS),
    "exclusions": File("{results}/{study}/exclusions.tsv", c.EXCLUSIONS),
    "trials": File(f"{_MODEL}/trials.parquet", c.TRIAL_RESPONSES),
    "fit": File(f"{_MODEL}/fit.json", c.FIT_RECORD),
    "effects": File(f"{_MODEL}/effects.parquet", c.EFFECTS),
    "effect_samples": File(f"{_MODEL}/effect_samples.parquet", c.EFFECT_SAMPLES),
    "study_bp": File(f"{_MODEL}/pet_bp.parquet", c.PET_BP),
    **_tables(_MODEL, {"fixef": c.EMG_FIXEF, "anova": c.EMG_ANOVA, "varcomp": c.EMG_VARCOMP, "emmeans": c.EMG_EMMEANS,
                       "contrasts": c.EMG_CONTRASTS, "evidence": c.EVIDENCE, "pet_paired": c.PET_PAIRED,
                       "pet_correlations": c.PET_CORRELATIONS, "pet_groups": c.PET_GROUPS}),
    **_figures("emmeans", f"{_MODEL}/emmeans"),
    **_figures("timecourses", f"{_MODEL}/timecourses"),
    **_figures("pet_paired", f"{_MODEL}/pet_paired"),
    **_figures("pet_correlations", f"{_MODEL}/pet_correlations"),
    "multiverse_study_cells": File(f"{_MULTIVERSE}/cells.parquet", c.MULTIVERSE_CELLS),
    **{f"multiverse_{name}": f for name, f in _tables(_MULTIVERSE, {"specifications": c.MULTIVERSE_SPECIFICATIONS,
                                                                    "joint": c.MULTIVERSE_JOINT, "choices": c.MULTIVERSE_CHOICES}).items()},
    "multiverse_curves": File(f"{_MULTIVERSE}/curves.png", FigureFile("png")),
    # the whole run
    "meta_effects": File(f"{_META}/effects.parquet", c.META_EFFECTS),
    **{f"meta_{name}": f for name, f in _tables(_META, {"pooled": c.META_POOLED, "multilevel": c.META_MULTILEVEL,
                                                        "bayes": c.META_BAYES}).items()},
    "meta_regression": File(f"{_META}/meta_regression.tsv", c.META_REGRESSION),
    "meta_leave1out": File(f"{_META}/sensitivity_leave1out.tsv", c.META_LEAVE1OUT),
    "meta_influence": File(f"{_META}/sensitivity_influence.tsv", c.META_INFLUENCE),
    "meta_small_study": File(f"{_META}/small_study.tsv", c.META_SMALL_STUDY),
    "meta_cumulative": File(f"{_META}/cumulative.tsv", c.META_CUMULATIVE),
    "meta_cumulative_plots": File(f"{_META}/cumulative", Folder()),
    "meta_bayes_posterior": File(f"{_META}/bayes_posterior", Folder()),
    "meta_forest": File(f"{_META}/forest", Folder()),
    "meta_multiverse": File(f"{_META}/multiverse.tsv", c.META_MULTIVERSE),
    "meta_multiverse_curves": File(f"{_META}/multiverse.png", FigureFile("png")),
    **_figures("meta_funnel", f"{_META}/funnel"),
    **{f"design_{name}": f for name, f in _tables(_DESIGN, {"retrodesign": c.DESIGN_RETRODESIGN, "sample_size": c.DESIGN_SAMPLE_SIZE,
                                                           "power_sim": c.DESIGN_POWER_SIM, "sequential": c.DESIGN_SEQUENTIAL}).items()},
    "design_power_curve": File(f"{_DESIGN}/power_curve", Folder()),
    "design_sim_chunk": File(f"{_DESIGN}/power_sim/p{{participants}}_s{{stimuli}}_c{{chunk}}.tsv", c.DESIGN_SIM_CHUNK),
    **_figures("design_power_surface", f"{_DESIGN}/power_surface"),
    **_figures("design_sequential_figure", f"{_DESIGN}/sequential"),
    **_tables("{results}", {"overview": c.OVERVIEW, "exclusion_counts": c.EXCLUSION_COUNTS}),
    "all_exclusions": File("{results}/exclusions.tsv", c.EXCLUSIONS),
    **_tables(_PROVENANCE, {"versions": c.VERSIONS}),
    "config_tsv": File(f"{_PROVENANCE}/config.tsv", c.CONFIG_TABLE),
    "config_yaml": File(f"{_PROVENANCE}/config.yaml", TextFile("yaml")),
    # the report's table pages (REPORT_TABLES): of the run, and of one study
    "report_page": File("{results}/report/{name}.html", TextFile("html")),
    "study_report_page": File("{results}/report/{study}/{name}.html", TextFile("html")),
}

#: Where each rule's log and benchmark go (``log_path``, ``benchmark_path``).
LOGS = "{results}/logs"
BENCHMARKS = "{results}/benchmarks"
#: What the start-up check of raw files (opioidsocial.stale.refresh) saw: sizes, ctimes, digests.
RAW_INPUTS_CACHE = f"{LOGS}/raw_inputs.json"


@dataclass(frozen=True)
class ReportTable:
    """A table of the report: the file (a FILES name, a TSV) shown as a sortable page,
    where the report files it, and its label there. ``per_study`` tables have one page
    per study of ``modalities``; the others one for the run."""

    file: str
    category: str
    subcategory: str
    label: str
    modalities: tuple[str, ...] = ()

    @property
    def per_study(self) -> bool:
        return bool(self.modalities)

    @property
    def contract(self):
        return FILES[self.file].contract


_RESULTS = "3 Study results"
_META_TABLES = ("4 Meta-analysis", "Tables")
_DESIGN_TABLES = ("4 Meta-analysis", "Design and power")
#: The report's table pages by name (its caption is workflow/report/<name>.rst).
REPORT_TABLES = {
    "overview": ReportTable("overview", "1 Overview", "Studies", "studies, designs and N"),
    "exclusions": ReportTable("all_exclusions", "1 Overview", "Exclusions", "exclusions with reasons"),
    "exclusion_counts": ReportTable("exclusion_counts", "1 Overview", "Exclusions", "exclusions per study and arm"),
    "emg_contrasts": ReportTable("contrasts", _RESULTS, "{study}", "EMG planned contrasts (table)", ("emg",)),
    "pet_paired_table": ReportTable("pet_paired", _RESULTS, "{study}", "PET paired tests per ROI (table)", ("pet",)),
    "pet_correlations_table": ReportTable("pet_correlations", _RESULTS, "{study}", "PET trait correlations (table)", ("pet",)),
    "pet_groups_table": ReportTable("pet_groups", _RESULTS, "{study}", "PET group differences (table)", ("pet",)),
    "evidence": ReportTable("evidence", _RESULTS, "{study}", "evidence: Bayes factors and equivalence tests (table)", ("emg", "pet")),
    "meta_pooled": ReportTable("meta_pooled", *_META_TABLES, "pooled estimates and heterogeneity"),
    "meta_bayes": ReportTable("meta_bayes", *_META_TABLES, "Bayesian random-effects meta-analysis"),
    "meta_regression": ReportTable("meta_regression", *_META_TABLES, "meta-regression"),
    "meta_multilevel": ReportTable("meta_multilevel", *_META_TABLES, "multilevel models"),
    "meta_sensitivity": ReportTable("meta_small_study", *_META_TABLES, "small-study tests"),
    "meta_cumulative_table": ReportTable("meta_cumulative", *_META_TABLES, "cumulative meta-analysis by year"),
    "meta_leave1out": ReportTable("meta_leave1out", *_META_TABLES, "leave-one-out"),
    "meta_influence": ReportTable("meta_influence", *_META_TABLES, "influence diagnostics"),
    "design_retrodesign": ReportTable("design_retrodesign", *_DESIGN_TABLES, "power, type S and M of past studies"),
    "design_sample_size": ReportTable("design_sample_size", *_DESIGN_TABLES, "sample size for a target power"),
    "design_power_sim": ReportTable("design_power_sim", *_DESIGN_TABLES, "simulated power, crossed design"),
    "design_sequential": ReportTable("design_sequential", *_DESIGN_TABLES, "sequential Bayes-factor design"),
    "versions": ReportTable("versions", "5 Provenance", "Software and config", "software versions"),
    "config": ReportTable("config_tsv", "5 Provenance", "Software and config", "config used (table)"),
}


class Layout(SimpleNamespace):
    """The path patterns of FILES under one results folder: ``P.effects``, or ``P["effects"]`` for a name held in data."""

    def __getitem__(self, name: str) -> str:
        return getattr(self, name)


def layout(results: str) -> Layout:
    """The path patterns under ``results`` by FILES name, with the study and participant wildcards kept."""
    return Layout(**{name: f.template.replace("{results}", str(results)) for name, f in FILES.items()})


def _job_path(base: str, results: str, rule: str, wildcards: tuple[str, ...], suffix: str) -> str:
    parts = [base.replace("{results}", str(results)), rule, *(f"{{{w}}}" for w in wildcards)]
    return "/".join(parts) + suffix


def log_path(results: str, rule: str, *wildcards: str) -> str:
    """``<results>/logs/<rule>[/{study}[/{participant}]].log``: one log per job."""
    return _job_path(LOGS, results, rule, wildcards, ".log")


def benchmark_path(results: str, rule: str, *wildcards: str) -> str:
    """``<results>/benchmarks/<rule>[/{study}[/{participant}]].tsv``: one benchmark per job."""
    return _job_path(BENCHMARKS, results, rule, wildcards, ".tsv")


#: The workflow's own files, relative to the rule files (workflow/rules/) that name
#: them: the software environment, each rule's script and each report item's caption.
ENVIRONMENT = "../../environment.yml"
SCRIPT = "../../scripts/{rule}.py"
CAPTION = "../report/{name}.rst"
