"""Forest plot per family and the funnel plot (PNG and SVG)."""

from pathlib import Path

import pandas as pd

from opioidsocial.io.tables import read_table
from opioidsocial.meta.harmonise import META_EFFECTS
from opioidsocial.meta.plots import write_plots
from opioidsocial.runlog import job_log
from opioidsocial.stats.evidence import read_evidence

with job_log(snakemake):
    cfg = snakemake.params.meta
    effects = read_table(snakemake.input.effects, META_EFFECTS)
    pooled = pd.read_csv(snakemake.input.pooled, sep="\t")
    write_plots(effects, pooled, forest_dir=snakemake.output.forest, funnel_stem=Path(snakemake.output.funnel_png).with_suffix(""), method=cfg["methods"][0],
                test=cfg["tests"][0], level=cfg["level"], dpi=cfg["plot_dpi"], evidence=read_evidence(snakemake.input.evidence))
