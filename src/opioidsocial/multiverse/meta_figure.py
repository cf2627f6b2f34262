"""The specification curves of the pooled effects: one per meta-analysis family x model (:mod:`opioidsocial.multiverse.plots`)."""

from __future__ import annotations

from opioidsocial.failsafe import stage
from opioidsocial.io.contracts import META_MULTIVERSE, FigureFile
from opioidsocial.io.tables import read_tsv
from opioidsocial.multiverse.plots import plot_meta_curves


@stage("multiverse_meta_figure", level="run", outputs={"png": FigureFile("png")})
def run(*, inputs: dict, outputs: dict, cfg: dict) -> None:
    """Draw ``outputs`` png from ``inputs`` table (META_MULTIVERSE)."""
    plot_meta_curves(read_tsv(inputs["table"], META_MULTIVERSE), path=outputs["png"])
