"""Every entry point of the workflow, by rule: the registry the scripts and the tests check against.

Each rule's script (``scripts/<rule>.py``) is ``run_job(snakemake, run)`` with the
``run`` of the module named here (one entry point per module). Each ``run`` is
declared with :func:`opioidsocial.failsafe.stage`, which names its outputs and their
contracts and applies ``on_bad_data`` to it (``run.stage``). The report's table
pages are one entry, ``report_table``, for all their rules.

A new stage: write its module with a ``@stage(...)``-decorated ``run``, its script,
its rule (with ``cfg=get_cfg("<rule>")`` in params and the rule in the x-stage of
``on_bad_data``) and add it here; tests/test_stages.py then checks it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

#: Rule (and script) name -> the module whose ``run`` it calls.
ENTRY_POINTS = {
    "emg_preprocess": "opioidsocial.emg.participant",
    "emg_qc_figure": "opioidsocial.emg.qc_figure",
    "emg_study_table": "opioidsocial.emg.study_table",
    "emg_model": "opioidsocial.emg.study",
    "emg_model_timecourses": "opioidsocial.emg.timecourses",
    "pet_fit": "opioidsocial.pet.participant",
    "pet_qc_figure": "opioidsocial.pet.qc_figure",
    "pet_study": "opioidsocial.pet.study",
    "evidence_emg": "opioidsocial.emg.evidence",
    "evidence_pet": "opioidsocial.pet.evidence",
    "meta_effects": "opioidsocial.meta.harmonise",
    "meta_pool": "opioidsocial.meta.pooled",
    "meta_regression": "opioidsocial.meta.metareg",
    "meta_multilevel": "opioidsocial.meta.multilevel",
    "meta_sensitivity": "opioidsocial.meta.sensitivity",
    "meta_cumulative": "opioidsocial.meta.cumulative",
    "meta_plots": "opioidsocial.meta.plots",
    "meta_bayes": "opioidsocial.meta.bayes",
    "multiverse_participant": "opioidsocial.multiverse.participant",
    "multiverse_study": "opioidsocial.multiverse.study",
    "multiverse_figure": "opioidsocial.multiverse.figure",
    "multiverse_meta": "opioidsocial.multiverse.meta",
    "multiverse_meta_figure": "opioidsocial.multiverse.meta_figure",
    "report_overview": "opioidsocial.report.overview",
    "report_provenance": "opioidsocial.report.software",
    "report_table": "opioidsocial.report.html_table",
}


def entry_point(rule: str) -> Callable:
    """The ``run`` of ``rule`` (its declaration is ``run.stage``)."""
    return importlib.import_module(ENTRY_POINTS[rule]).run
