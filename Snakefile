# The workflow's entry point in a checkout: `snakemake` here runs workflow/Snakefile
# (the form other projects import as a module). An include keeps the report's
# captions, but never the default target of the file it includes: rule `default` is.
include: "workflow/Snakefile"


rule default:
    default_target: True
    input:
        get_all_targets,
