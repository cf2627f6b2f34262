"""Where every file between stages lives under the results folder: spelt once, here.

The rule files, the report's input lists and the tests take their paths from
:func:`layout`; ``{study}`` and ``{participant}`` stay wildcards. Kept free of heavy
imports: Snakemake reads it while it parses the workflow, for every cluster job too.
"""

from __future__ import annotations

from types import SimpleNamespace

TEMPLATES = {
    # per participant (fan-out); the modality is in the QC paths, so EMG and PET rules never match each other's files
    "emg_bins": "{results}/{study}/emg/{participant}.parquet",
    "emg_qc": "{results}/{study}/qc/emg/{participant}.json",
    "emg_qc_signals": "{results}/{study}/qc/emg/{participant}.signals.parquet",
    "emg_qc_figure": "{results}/{study}/qc/emg/{participant}.png",
    "pet_bp": "{results}/{study}/pet/{participant}.parquet",
    "pet_qc": "{results}/{study}/qc/pet/{participant}.json",
    "pet_qc_figure": "{results}/{study}/qc/pet/{participant}.png",
    # per study (fan-in)
    "emg_table": "{results}/{study}/emg_trials.parquet",
    "exclusions": "{results}/{study}/exclusions.tsv",
    "model": "{results}/{study}/model",
    "trials": "{results}/{study}/model/trials.parquet",
    "fit": "{results}/{study}/model/fit.json",
    "effects": "{results}/{study}/model/effects.parquet",
    "effect_samples": "{results}/{study}/model/effect_samples.parquet",
    "study_bp": "{results}/{study}/model/pet_bp.parquet",
    # the whole run
    "meta": "{results}/meta",
    "overview": "{results}/overview.tsv",
    "all_exclusions": "{results}/exclusions.tsv",
    "exclusion_counts": "{results}/exclusion_counts.tsv",
    "provenance": "{results}/provenance",
    "report": "{results}/report",
    "logs": "{results}/logs",
    "benchmarks": "{results}/benchmarks",
}


def layout(results: str) -> SimpleNamespace:
    """The path patterns under ``results``, with the study and participant wildcards kept."""
    return SimpleNamespace(**{name: template.replace("{results}", str(results)) for name, template in TEMPLATES.items()})
