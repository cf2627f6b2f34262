# opioidsocial: per-participant preprocessing -> study models -> meta-analysis -> report.
# Thin on purpose: logic lives in src/opioidsocial, rules in workflow/rules.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


rule all:
    default_target: True
    input:
        get_all_targets,


include: "workflow/rules/emg.smk"
include: "workflow/rules/pet.smk"
include: "workflow/rules/meta.smk"
include: "workflow/rules/evidence.smk"
include: "workflow/rules/report.smk"
