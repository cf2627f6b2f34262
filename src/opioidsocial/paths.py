"""Every file the workflow writes, declared once: where it lives and its contract.

:data:`FILES` pairs each result's path template (under ``{results}``, with the
``{study}`` and ``{participant}`` wildcards kept) with its contract in
:mod:`opioidsocial.io.contracts`: a Parquet ``TableSpec``, a ``TsvSpec``, a JSON
record's schema, or a ``FigureFile``, ``TextFile`` or ``Folder``. The rule files
take every path from :func:`layout` (``P.<name>``), the report's tables and their
pages come from :data:`REPORT_TABLES`, and the tests read the same names.

To add a file: add ``"<name>": File("<template>", <contract>)`` to FILES, use
``P.<name>`` as the rule's output (and as the input of the rules that read it), and
give the stage's ``@stage(outputs=...)`` the same contract. A table that the report
shows gets a :class:`ReportTable` in REPORT_TABLES and a caption
workflow/report/<name>.rst. Logs and benchmarks are named after their rule
(``log_path``, ``benchmark_path``). tests/test_paths.py checks that no rule file
spells a path itself.
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


_MODEL = "{results}/{study}/model"
_META = "{results}/meta"
_PROVENANCE = "{results}/provenance"

FILES = {
    # per participant (fan-out); the modality is in the QC paths, so EMG and PET rules never match each other's files
    "emg_bins": File("{results}/{study}/emg/{participant}.parquet", c.EMG_BINS),
    "emg_qc": File("{results}/{study}/qc/emg/{participant}.json", c.QC_RECORD),
    "emg_qc_signals": File("{results}/{study}/qc/emg/{participant}.signals.parquet", c.EMG_QC_SIGNALS),
    "emg_qc_figure": File("{results}/{study}/qc/emg/{participant}.png", FigureFile("png")),
    "pet_bp": File("{results}/{study}/pet/{participant}.parquet", c.PET_BP),
    "pet_qc": File("{results}/{study}/qc/pet/{participant}.json", c.QC_RECORD),
    "pet_qc_figure": File("{results}/{study}/qc/pet/{participant}.png", FigureFile("png")),
    # per study (fan-in)
    "emg_table": File("{results}/{study}/emg_bins.parquet", c.EMG_BINS),
    "exclusions": File("{results}/{study}/exclusions.tsv", c.EXCLUSIONS),
    "trials": File(f"{_MODEL}/trials.parquet", c.TRIAL_RESPONSES),
    "fixef": File(f"{_MODEL}/fixef.tsv", c.EMG_FIXEF),
    "anova": File(f"{_MODEL}/anova.tsv", c.EMG_ANOVA),
    "varcomp": File(f"{_MODEL}/varcomp.tsv", c.EMG_VARCOMP),
    "emmeans": File(f"{_MODEL}/emmeans.tsv", c.EMG_EMMEANS),
    "contrasts": File(f"{_MODEL}/contrasts.tsv", c.EMG_CONTRASTS),
    "fit": File(f"{_MODEL}/fit.json", c.FIT_RECORD),
    "effects": File(f"{_MODEL}/effects.parquet", c.EFFECTS),
    "emmeans_png": File(f"{_MODEL}/emmeans.png", FigureFile("png")),
    "emmeans_svg": File(f"{_MODEL}/emmeans.svg", FigureFile("svg")),
    "timecourses_png": File(f"{_MODEL}/timecourses.png", FigureFile("png")),
    "timecourses_svg": File(f"{_MODEL}/timecourses.svg", FigureFile("svg")),
    "evidence": File(f"{_MODEL}/evidence.tsv", c.EVIDENCE),
    "study_bp": File(f"{_MODEL}/pet_bp.parquet", c.PET_BP),
    "pet_paired": File(f"{_MODEL}/pet_paired.tsv", c.PET_PAIRED),
    "pet_correlations": File(f"{_MODEL}/pet_correlations.tsv", c.PET_CORRELATIONS),
    "pet_groups": File(f"{_MODEL}/pet_groups.tsv", c.PET_GROUPS),
    "pet_paired_png": File(f"{_MODEL}/pet_paired.png", FigureFile("png")),
    "pet_paired_svg": File(f"{_MODEL}/pet_paired.svg", FigureFile("svg")),
    "pet_correlations_png": File(f"{_MODEL}/pet_correlations.png", FigureFile("png")),
    "pet_correlations_svg": File(f"{_MODEL}/pet_correlations.svg", FigureFile("svg")),
    # the whole run
    "meta_effects": File(f"{_META}/effects.parquet", c.META_EFFECTS),
    "meta_pooled": File(f"{_META}/pooled.tsv", c.META_POOLED),
    "meta_regression": File(f"{_META}/meta_regression.tsv", c.META_REGRESSION),
    "meta_multilevel": File(f"{_META}/multilevel.tsv", c.META_MULTILEVEL),
    "meta_leave1out": File(f"{_META}/sensitivity_leave1out.tsv", c.META_LEAVE1OUT),
    "meta_influence": File(f"{_META}/sensitivity_influence.tsv", c.META_INFLUENCE),
    "meta_small_study": File(f"{_META}/small_study.tsv", c.META_SMALL_STUDY),
    "meta_bayes": File(f"{_META}/bayes.tsv", c.META_BAYES),
    "meta_bayes_posterior": File(f"{_META}/bayes_posterior", Folder()),
    "meta_forest": File(f"{_META}/forest", Folder()),
    "meta_funnel_png": File(f"{_META}/funnel.png", FigureFile("png")),
    "meta_funnel_svg": File(f"{_META}/funnel.svg", FigureFile("svg")),
    "overview": File("{results}/overview.tsv", c.OVERVIEW),
    "all_exclusions": File("{results}/exclusions.tsv", c.EXCLUSIONS),
    "exclusion_counts": File("{results}/exclusion_counts.tsv", c.EXCLUSION_COUNTS),
    "versions": File(f"{_PROVENANCE}/versions.tsv", c.VERSIONS),
    "config_tsv": File(f"{_PROVENANCE}/config.tsv", c.CONFIG_TABLE),
    "config_yaml": File(f"{_PROVENANCE}/config.yaml", TextFile("yaml")),
    # the report's table pages (REPORT_TABLES): of the run, and of one study
    "report_page": File("{results}/report/{name}.html", TextFile("html")),
    "study_report_page": File("{results}/report/{study}/{name}.html", TextFile("html")),
}

#: Where each rule's log and benchmark go (``log_path``, ``benchmark_path``).
LOGS = "{results}/logs"
BENCHMARKS = "{results}/benchmarks"


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
    "meta_leave1out": ReportTable("meta_leave1out", *_META_TABLES, "leave-one-out"),
    "meta_influence": ReportTable("meta_influence", *_META_TABLES, "influence diagnostics"),
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
