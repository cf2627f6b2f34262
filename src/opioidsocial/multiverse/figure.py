"""The multiverse figure of a study: a specification curve per contrast x outcome (:mod:`opioidsocial.multiverse.plots`)."""

from __future__ import annotations

from opioidsocial.failsafe import stage
from opioidsocial.io.contracts import MULTIVERSE_JOINT, MULTIVERSE_SPECIFICATIONS, FigureFile
from opioidsocial.io.tables import read_tsv
from opioidsocial.multiverse.plots import plot_curves


@stage("multiverse_figure", level="study", outputs={"png": FigureFile("png")})
def run(*, inputs: dict, outputs: dict, cfg: dict, study: str) -> None:
    """Draw ``outputs`` png from ``inputs`` specifications (MULTIVERSE_SPECIFICATIONS) and joint (MULTIVERSE_JOINT)."""
    spec = read_tsv(inputs["specifications"], MULTIVERSE_SPECIFICATIONS)
    plot_curves(spec, read_tsv(inputs["joint"], MULTIVERSE_JOINT), alpha=cfg["multiverse"]["alpha"], path=outputs["png"])
