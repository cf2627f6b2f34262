# The report (`snakemake --report report.zip`): the study overview and exclusion list,
# every table as a sortable HTML page (Snakemake's report only offers a .tsv for
# download), and the software and config that produced the run. The figures are
# report() outputs of their own rules; all items are filed under the numbered
# categories below, which the report lists in alphabetical order.
from collections import namedtuple

from opioidsocial.provenance import versions
from opioidsocial.report.inputs import exclusion_inputs, study_inputs


report: "../report/workflow.rst"


REPORT = f"{RESULTS}/report"
REPORT_STUDIES = [study_row(s) for s in studies()]
# The stage outputs (and sheets) the overview counts participants in, per study.
REPORT_STUDY_FILES = {row["study"]: study_inputs(row, RESULTS) for row in REPORT_STUDIES}

# A table of the report: the TSV a stage wrote, its caption (workflow/report/<name>.rst),
# where it is filed, its label there, and the studies whose {study} it is written for
# (None for a table of the whole run).
Table = namedtuple("Table", "tsv category subcategory label studies")
REPORT_TABLES = {
    "overview": Table(f"{RESULTS}/overview.tsv", "1 Overview", "Studies", "studies, designs and N", None),
    "exclusions": Table(f"{RESULTS}/exclusions.tsv", "1 Overview", "Exclusions", "exclusions with reasons", None),
    "emg_contrasts": Table(f"{RESULTS}/{{study}}/model/contrasts.tsv", "3 Study results", "{study}", "EMG planned contrasts (table)", studies(modality="emg")),
    "pet_paired_table": Table(f"{RESULTS}/{{study}}/model/pet_paired.tsv", "3 Study results", "{study}", "PET paired tests per ROI (table)", studies(modality="pet")),
    "pet_correlations_table": Table(f"{RESULTS}/{{study}}/model/pet_correlations.tsv", "3 Study results", "{study}", "PET trait correlations (table)", studies(modality="pet")),
    "evidence": Table(f"{RESULTS}/{{study}}/model/evidence.tsv", "3 Study results", "{study}", "evidence: Bayes factors and equivalence tests (table)", studies(modality="emg") + studies(modality="pet")),
    "meta_pooled": Table(f"{META}/pooled.tsv", "4 Meta-analysis", "Tables", "pooled estimates and heterogeneity", None),
    "meta_bayes": Table(f"{META}/bayes.tsv", "4 Meta-analysis", "Tables", "Bayesian random-effects meta-analysis", None),
    "meta_regression": Table(f"{META}/meta_regression.tsv", "4 Meta-analysis", "Tables", "meta-regression", None),
    "meta_multilevel": Table(f"{META}/multilevel.tsv", "4 Meta-analysis", "Tables", "multilevel models", None),
    "meta_sensitivity": Table(f"{META}/small_study.tsv", "4 Meta-analysis", "Tables", "small-study tests", None),
    "meta_leave1out": Table(f"{META}/sensitivity_leave1out.tsv", "4 Meta-analysis", "Tables", "leave-one-out", None),
    "meta_influence": Table(f"{META}/sensitivity_influence.tsv", "4 Meta-analysis", "Tables", "influence diagnostics", None),
    "versions": Table(f"{RESULTS}/provenance/versions.tsv", "5 Provenance", "Software and config", "software versions", None),
    "config": Table(f"{RESULTS}/provenance/config.tsv", "5 Provenance", "Software and config", "config used (table)", None),
}
# Where each table's page goes: results/report/[{study}/]<name>.html, and its log.
REPORT_PAGES = {name: f"{REPORT}/{{study}}/{name}.html" if t.studies is not None else f"{REPORT}/{name}.html" for name, t in REPORT_TABLES.items()}
REPORT_LOGS = {name: f"{RESULTS}/logs/report/{name}/{{study}}.log" if t.studies is not None else f"{RESULTS}/logs/report/{name}.log" for name, t in REPORT_TABLES.items()}

TARGETS.append(f"{RESULTS}/provenance/config.yaml")
for name, table in REPORT_TABLES.items():
    TARGETS.extend(expand(REPORT_PAGES[name], study=table.studies) if table.studies is not None else [REPORT_PAGES[name]])


rule report_overview:
    input:
        studies=[path for files in REPORT_STUDY_FILES.values() for path in files.values()],
        exclusions=exclusion_inputs(REPORT_STUDIES, RESULTS),
    output:
        overview=f"{RESULTS}/overview.tsv",
        exclusions=f"{RESULTS}/exclusions.tsv",
    log:
        f"{RESULTS}/logs/report/overview.log",
    params:
        studies=REPORT_STUDIES,
        files=REPORT_STUDY_FILES,
        pet_model=config["pet"]["model"],
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    script:
        "../../scripts/report_overview.py"


rule report_provenance:
    output:
        versions=f"{RESULTS}/provenance/versions.tsv",
        config_tsv=f"{RESULTS}/provenance/config.tsv",
        config_yaml=report(
            f"{RESULTS}/provenance/config.yaml",
            caption="../report/config_yaml.rst",
            category="5 Provenance",
            subcategory="Software and config",
            labels={"item": "config used (YAML, to rerun)"},
        ),
    log:
        f"{RESULTS}/logs/report/provenance.log",
    params:
        # Parameters, so that a changed config or an upgraded package rewrites these files.
        config=config,
        versions=versions(),
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../environment.yml"
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
        wildcard_constraints:
            study="|".join(table.studies or []) or "(?!)",
        params:
            title=table.label,
        resources:
            mem_mb=1000,
            runtime=5,
        conda:
            "../../environment.yml"
        script:
            "../../scripts/report_table.py"
