# The workflow is workflow/Snakefile (the Snakemake workflow catalog's layout); this
# file keeps `snakemake` and `snakemake -s Snakefile` in a clone of this repository working.
include: "workflow/Snakefile"
