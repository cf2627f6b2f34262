"""The EMG time-course figure of a study: mean responses per arm x emotion x muscle over the epoch."""

from __future__ import annotations

from opioidsocial.emg.epochs import BASELINE_UNITS
from opioidsocial.emg.plots import plot_time_courses
from opioidsocial.failsafe import stage
from opioidsocial.io.contracts import EMG_BINS, FigureFile
from opioidsocial.io.tables import read_table


@stage("emg_model_timecourses", level="study", outputs={"png": FigureFile("png"), "svg": FigureFile("svg")})
def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, reference: str) -> None:
    """Plot the study's mean time courses per arm x emotion x muscle (png and svg)."""
    plot_time_courses(read_table(inputs["table"], EMG_BINS), study=study, reference=reference, window=tuple(cfg["emg"]["response_s"]),
                      level=cfg["models"]["level"], paths=(outputs["png"], outputs["svg"]),
                      unit=BASELINE_UNITS[cfg["emg"]["baseline_method"]])
