# The report (`snakemake --report report.zip`): the study overview and exclusion list,
# every table as a sortable HTML page (Snakemake's report only offers a .tsv for
# download), and the software and config that produced the run. The figures are
# report() outputs of their own rules; all items are filed under the numbered
# categories below, which the report lists in alphabetical order.


report: caption_of("workflow")


TARGETS.append(P.config_yaml)
TARGETS.extend(report_pages())


rule report_overview:
    input:
        studies=get_report_study_files(),
        exclusions=get_report_exclusion_files(),
    output:
        overview=P.overview,
        exclusions=P.all_exclusions,
        exclusion_counts=P.exclusion_counts,
    log:
        log_of("report_overview"),
    benchmark:
        benchmark_of("report_overview")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=get_cfg("report_overview"),
        studies=report_overview_rows(),
        files=report_study_files(),
    script:
        script_of("report_overview")


rule report_provenance:
    output:
        versions=P.versions,
        config_tsv=P.config_tsv,
        config_yaml=report(
            P.config_yaml,
            caption=caption_of("config_yaml"),
            category="5 Provenance",
            subcategory="Software and config",
            labels={"item": "config used (YAML, to rerun)"},
        ),
    log:
        log_of("report_provenance"),
    benchmark:
        benchmark_of("report_provenance")
    conda:
        ENV
    resources:
        mem_mb=500,
        runtime=5,
    params:
        # The whole config, canonical, and the versions: the record of this run, so
        # any changed value or upgraded package rewrites it (and nothing else).
        config=get_canonical_config(),
        versions=versions(),
    script:
        script_of("report_provenance")


for name, table in REPORT_TABLES.items():

    rule:
        name:
            f"report_table_{name}"
        input:
            tsv=P[table.file],
        output:
            html=report(
                report_page(name),
                caption=caption_of(name),
                category=table.category,
                subcategory=table.subcategory,
                labels={"item": table.label},
            ),
        log:
            report_job_file(log_of, name),
        benchmark:
            report_job_file(benchmark_of, name)
        wildcard_constraints:
            study=one_of(report_studies(table)),
        conda:
            ENV
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            cfg=get_cfg("report_table"),
            title=table.label,
            contract=table.contract,
        script:
            script_of("report_table")
