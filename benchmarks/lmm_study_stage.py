"""Wall time of the whole study-level EMG stage for a 130-participant study, on 2 cores.

The study follows Korb et al. (2023): 130 participants in three arms (placebo,
naltrexone, amisulpride), zygomaticus and corrugator, happy and angry faces, 8
stimuli per emotion shown twice; the EMG_BINS table (-1 to 4 s in 0.1 s bins,
416,000 rows, 3 % of trial x muscle cells flagged as artefacts) is made from the
trial-level simulator. The stage is what Snakemake runs for a study after
preprocessing: ``emg_model`` (responses, two per-muscle models with the fall-back
ladder, Type III tests, marginal means, planned contrasts, Hedges' g, TSV/JSON/
Parquet outputs, the marginal-means figure) and ``emg_model_timecourses`` (the
time-course figure), run as two fresh processes side by side as ``snakemake
--cores 2`` would. Target: under a minute.

    python benchmarks/lmm_study_stage.py

writes benchmarks/results/lmm_study_stage.json.
"""

from __future__ import annotations

import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

RESULT = Path(__file__).resolve().parent / "results" / "lmm_study_stage.json"
STUDY = {"study": "korb130", "modality": "emg", "input": "bids", "design": "between", "drug": "naltrexone", "direction": -1,
         "reference": "placebo", "sample_group": "korb", "path": ""}
PARAMS = {
    "arms": {"placebo": 43, "naltrexone": 44, "amisulpride": 43},
    "muscles": ["zygomaticus", "corrugator"],
    "emotions": ["happy", "angry"],
    "stimuli_per_emotion": 8,
    "repetitions": 2,
    "responses": {"zygomaticus": {"happy": 1.2, "angry": 0.0}, "corrugator": {"happy": -0.5, "angry": 0.9}},
    "arm_effects": {},
}


def model_job(bins: str, folder: str) -> float:
    start = time.perf_counter()
    from opioidsocial.config import validate_section
    from opioidsocial.emg.study import run as run_model

    names = {"trials": "trials.parquet", "fixef": "fixef.tsv", "anova": "anova.tsv", "varcomp": "varcomp.tsv", "emmeans": "emmeans.tsv",
             "contrasts": "contrasts.tsv", "fit": "fit.json", "effects": "effects.parquet", "plot_png": "emmeans.png", "plot_svg": "emmeans.svg"}
    cfg = {"models": validate_section({}, "models.schema.yaml", source="models"),
           "emg": {"response_s": [0.5, 3.5], "baseline_method": "subtract", "zscore": "none"}, "on_bad_data": "fail"}
    run_model(inputs={"source": bins}, outputs={k: f"{folder}/{v}" for k, v in names.items()}, cfg=cfg, study=STUDY["study"], row=STUDY, metadata={})
    return time.perf_counter() - start


def timecourse_job(bins: str, folder: str) -> float:
    start = time.perf_counter()
    from opioidsocial.emg.plots import plot_time_courses
    from opioidsocial.io.contracts import EMG_BINS
    from opioidsocial.io.tables import read_table

    plot_time_courses(read_table(bins, EMG_BINS), study=STUDY["study"], reference="placebo", window=(0.5, 3.5), level=0.95,
                      paths=(f"{folder}/timecourses.png", f"{folder}/timecourses.svg"))
    return time.perf_counter() - start


def main() -> None:
    from opioidsocial.io.contracts import EMG_BINS
    from opioidsocial.io.tables import write_table
    from opioidsocial.simulate.binned import bins_from_trials
    from opioidsocial.simulate.emg import simulate_trials

    with tempfile.TemporaryDirectory() as tmp:
        trials, _ = simulate_trials(study=STUDY["study"], params=PARAMS, seed=130)
        bins = bins_from_trials(trials, study=STUDY["study"], seed=131, artefact_rate=0.03)
        source = f"{tmp}/emg_bins.parquet"
        write_table(bins, source, EMG_BINS)
        start = time.perf_counter()
        with ProcessPoolExecutor(max_workers=2) as pool:
            model = pool.submit(model_job, source, tmp)
            plots = pool.submit(timecourse_job, source, tmp)
            t_model, t_plots = model.result(), plots.result()
        wall = time.perf_counter() - start
        record = json.loads(Path(f"{tmp}/fit.json").read_text())
    out = {
        "design": "130 participants (43/44/43), 2 muscles x 2 emotions x 8 stimuli x 2 repetitions, EMG_BINS -1..4 s in 0.1 s bins",
        "bins_rows": len(bins),
        "trials": int(sum(m["n_trials"] for m in record["models"])),
        "seconds": {"wall_2_cores": round(wall, 2), "emg_model": round(t_model, 2), "emg_model_timecourses": round(t_plots, 2)},
        "within_a_minute": wall < 60,
        "fallback": {m["by"]["muscle"]: m["fallback"] for m in record["models"]},
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    print(f"{len(bins)} bin rows, {out['trials']} trials: stage {wall:.1f} s wall on 2 cores "
          f"(emg_model {t_model:.1f} s, time courses {t_plots:.1f} s, each including imports)")
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
