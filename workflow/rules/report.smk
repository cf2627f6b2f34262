# The report (`snakemake --report report.zip`): the study overview and exclusion list,
# every table as a sortable HTML page (Snakemake's report only offers a .tsv for
# download), and the software and config that produced the run. The figures are
# report() outputs of their own rules; all items are filed under the numbered
# categories below, which the report lists in alphabetical order.
from collections import namedtuple

from opioidsocial.report.inputs import exclusion_inputs, study_inputs


report: "../report/workflow.rst"


REPORT_STUDIES = [SHEET_ROWS[s] for s in studies()]
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
# The stage outputs (and sheets) the overview counts participants in, per study.
REPORT_STUDY_FILES = {row["study"]: study_inputs(row, RESULTS) for row in REPORT_STUDIES}

# A table of the report: the TSV a stage wrote, its contract in opioidsocial.io.contracts,
# its caption (workflow/report/<name>.rst), where it is filed, its label there, and
# the studies whose {study} it is written for (None for a table of the whole run).
Table = namedtuple("Table", "tsv contract category subcategory label studies")
REPORT_TABLES = {
    "overview": Table(P.overview, "OVERVIEW", "1 Overview", "Studies", "studies, designs and N", None),
    "exclusions": Table(P.all_exclusions, "EXCLUSIONS", "1 Overview", "Exclusions", "exclusions with reasons", None),
    "exclusion_counts": Table(P.exclusion_counts, "EXCLUSION_COUNTS", "1 Overview", "Exclusions", "exclusions per study and arm", None),
    "emg_contrasts": Table(
        f"{P.model}/contrasts.tsv", "EMG_CONTRASTS", "3 Study results", "{study}", "EMG planned contrasts (table)", studies(modality="emg")
    ),
    "pet_paired_table": Table(
        f"{P.model}/pet_paired.tsv", "PET_PAIRED", "3 Study results", "{study}", "PET paired tests per ROI (table)", studies(modality="pet")
    ),
    "pet_correlations_table": Table(
        f"{P.model}/pet_correlations.tsv",
        "PET_CORRELATIONS",
        "3 Study results",
        "{study}",
        "PET trait correlations (table)",
        studies(modality="pet"),
    ),
    "pet_groups_table": Table(
        f"{P.model}/pet_groups.tsv", "PET_GROUPS", "3 Study results", "{study}", "PET group differences (table)", studies(modality="pet")
    ),
    "evidence": Table(
        f"{P.model}/evidence.tsv",
        "EVIDENCE",
        "3 Study results",
        "{study}",
        "evidence: Bayes factors and equivalence tests (table)",
        studies(modality="emg") + studies(modality="pet"),
    ),
    "meta_pooled": Table(f"{P.meta}/pooled.tsv", "META_POOLED", "4 Meta-analysis", "Tables", "pooled estimates and heterogeneity", None),
    "meta_bayes": Table(f"{P.meta}/bayes.tsv", "META_BAYES", "4 Meta-analysis", "Tables", "Bayesian random-effects meta-analysis", None),
    "meta_regression": Table(f"{P.meta}/meta_regression.tsv", "META_REGRESSION", "4 Meta-analysis", "Tables", "meta-regression", None),
    "meta_multilevel": Table(f"{P.meta}/multilevel.tsv", "META_MULTILEVEL", "4 Meta-analysis", "Tables", "multilevel models", None),
    "meta_sensitivity": Table(f"{P.meta}/small_study.tsv", "META_SMALL_STUDY", "4 Meta-analysis", "Tables", "small-study tests", None),
    "meta_leave1out": Table(f"{P.meta}/sensitivity_leave1out.tsv", "META_LEAVE1OUT", "4 Meta-analysis", "Tables", "leave-one-out", None),
    "meta_influence": Table(
        f"{P.meta}/sensitivity_influence.tsv", "META_INFLUENCE", "4 Meta-analysis", "Tables", "influence diagnostics", None
    ),
    "versions": Table(f"{P.provenance}/versions.tsv", "VERSIONS", "5 Provenance", "Software and config", "software versions", None),
    "config": Table(f"{P.provenance}/config.tsv", "CONFIG_TABLE", "5 Provenance", "Software and config", "config used (table)", None),
}
# Where each table's page goes: results/report/[{study}/]<name>.html, and its log.
REPORT_PAGES = {
    name: f"{P.report}/{{study}}/{name}.html" if t.studies is not None else f"{P.report}/{name}.html" for name, t in REPORT_TABLES.items()
}
REPORT_LOGS = {
    name: f"{P.logs}/report/{name}/{{study}}.log" if t.studies is not None else f"{P.logs}/report/{name}.log"
    for name, t in REPORT_TABLES.items()
}
REPORT_BENCHMARKS = {
    name: f"{P.benchmarks}/report/{name}/{{study}}.tsv" if t.studies is not None else f"{P.benchmarks}/report/{name}.tsv"
    for name, t in REPORT_TABLES.items()
}

TARGETS.append(f"{P.provenance}/config.yaml")
for name, table in REPORT_TABLES.items():
    TARGETS.extend(expand(REPORT_PAGES[name], study=table.studies) if table.studies is not None else [REPORT_PAGES[name]])


rule report_overview:
    input:
        studies=[path for files in REPORT_STUDY_FILES.values() for path in files.values()],
        exclusions=exclusion_inputs(REPORT_STUDIES, RESULTS),
    output:
        overview=P.overview,
        exclusions=P.all_exclusions,
        exclusion_counts=P.exclusion_counts,
    log:
        f"{P.logs}/report/overview.log",
    benchmark:
        f"{P.benchmarks}/report/overview.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("report_overview"),
        studies=[study_columns(s, OVERVIEW_COLUMNS) for s in studies()],
        files=REPORT_STUDY_FILES,
    script:
        "../../scripts/report_overview.py"


rule report_provenance:
    output:
        versions=f"{P.provenance}/versions.tsv",
        config_tsv=f"{P.provenance}/config.tsv",
        config_yaml=report(
            f"{P.provenance}/config.yaml",
            caption="../report/config_yaml.rst",
            category="5 Provenance",
            subcategory="Software and config",
            labels={"item": "config used (YAML, to rerun)"},
        ),
    log:
        f"{P.logs}/report/provenance.log",
    benchmark:
        f"{P.benchmarks}/report/provenance.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        # The whole config, canonical, and the versions: the record of this run, so
        # any changed value or upgraded package rewrites it (and nothing else).
        config=get_canonical_config(),
        versions=versions(),
    script:
        "../../scripts/report_provenance.py"


for name, table in REPORT_TABLES.items():

    rule:
        name:
            f"report_table_{name}"
        input:
            tsv=table.tsv,
        output:
            html=report(
                REPORT_PAGES[name],
                caption=f"../report/{name}.rst",
                category=table.category,
                subcategory=table.subcategory,
                labels={"item": table.label},
            ),
        log:
            REPORT_LOGS[name],
        benchmark:
            REPORT_BENCHMARKS[name]
        wildcard_constraints:
            study=one_of(table.studies or []),
        conda:
            "../../environment.yml"
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            title=table.label,
            contract=table.contract,
        script:
            "../../scripts/report_table.py"
