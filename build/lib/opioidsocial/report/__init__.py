"""What `snakemake --report` shows beyond the stages' own outputs: the study
overview and exclusion list, tables as sortable HTML, and the software and config
that produced a run."""
