"""Simulated [11C]carfentanil PET studies: TAC files or a BPND table, with known truth.

The design follows the social rejection/acceptance study (Hsu et al. 2013, Mol
Psychiatry, PMID 23958960): each participant has one scan per condition (baseline,
rejection, acceptance), ROIs rich in mu-opioid receptors, occipital cortex as the
receptor-free reference region, and trait questionnaires.

Truth per participant (all options in workflow/schemas/config/simulate_pet.schema.yaml):

- baseline BPND of each ROI: the ROI's value times a log-normal factor
  (coefficient of variation ``sd_bp_nd``, mean 1);
- MOR activation in condition c, as a decrease of BPND relative to baseline:
  change = BPND_roi x (activation[c][roi] + sd_activation x e), where e is standard
  normal and correlated between the ROIs of one condition (``activation_correlation``),
  independent between conditions; BPND_c = BPND_baseline - change;
- each trait = mean + sd x (r x e[target] + sqrt(1 - r^2) x noise), so its
  population correlation with the true change is r in the target ROI x condition,
  r x activation_correlation in the condition's other ROIs and 0 elsewhere
  (``expected_r`` in truth.json).

TACs: a bolus plasma input (the three-exponential model of Feng et al. 1993,
Int J Biomed Comput 32:95-110, time in minutes), a one-tissue reference region
(K1', k2' per participant) and one-tissue target regions with
k2a = R1 k2' / (1 + BPND), i.e. exactly the assumptions of SRTM, so that the
noise-free recovery test measures framing and numerical error only. Curves are
computed on a 0.1 s grid with the exact convolution of ``pet.frames`` and averaged
over each frame. Noise is Gaussian with the count statistics of a decay-corrected
frame: SD = noise x factor x sqrt(C x C60) x sqrt((10 min / duration) x
exp(lambda (t - 60 min))), where C60 is the region's activity at 60 min, so
``noise`` is the coefficient of variation of a 10-minute frame at 60 minutes.

BPND tables: the true BPND of each hemisphere (midline ROIs: one 'bilateral' value)
times (1 + ``bp_nd_error`` x standard normal), as a lab's own pipeline would report
them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from opioidsocial.config import ConfigError
from opioidsocial.io.tables import write_json, write_tsv
from opioidsocial.pet.frames import FrameGrid, decay_constant, frames_from_durations
from opioidsocial.pet.inputs import bpnd_path, tac_path

# Feng et al. (1993): A1 (per min), A2, A3 and the rates (1/min); tau = delay, min.
_FENG = {"a1": 851.1225, "a2": 21.8798, "a3": 20.8113, "l1": 4.1339, "l2": 0.1191, "l3": 0.0104, "tau": 0.7341}
_SIM_GRID_MIN = 0.1 / 60.0
_REFERENCE_PEAK = 10.0  # scales the input so the reference region peaks near 10 kBq/mL

log = logging.getLogger("opioidsocial.simulate")


def plasma_input(t_min: np.ndarray) -> np.ndarray:
    """Feng's bolus input function (arbitrary units), zero before the delay."""
    f = _FENG
    t = np.clip(t_min - f["tau"], 0.0, None)
    value = (f["a1"] * t - f["a2"] - f["a3"]) * np.exp(-f["l1"] * t) + f["a2"] * np.exp(-f["l2"] * t) + f["a3"] * np.exp(-f["l3"] * t)
    return np.where(t_min > f["tau"], value, 0.0)


def noise_free_tacs(
    *, start_min: np.ndarray, end_min: np.ndarray, k1_ref: float, k2_ref: float, targets: dict[str, tuple[float, float]],
    dose: float = 1.0,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Frame-mean reference and target TACs; ``targets`` maps ROI to (BPND, R1)."""
    fine = FrameGrid(start_min, end_min, _SIM_GRID_MIN)
    cp = dose * plasma_input(fine.grid)
    reference = fine.frame_means(k1_ref * fine.convolve_exp(cp, k2_ref))
    rois = {
        roi: fine.frame_means(r1 * k1_ref * fine.convolve_exp(cp, r1 * k2_ref / (1.0 + bp_nd)))
        for roi, (bp_nd, r1) in targets.items()
    }
    return reference, rois


def _input_scale(*, start_min, end_min, k1_ref, k2_ref) -> float:
    reference, _ = noise_free_tacs(start_min=start_min, end_min=end_min, k1_ref=k1_ref, k2_ref=k2_ref, targets={})
    return _REFERENCE_PEAK / float(reference.max())


def frame_noise_sd(tac: np.ndarray, *, start_min: np.ndarray, end_min: np.ndarray, noise: float, half_life_min: float) -> np.ndarray:
    """SD of each frame's noise (see the module docstring)."""
    mid = 0.5 * (start_min + end_min)
    level = float(np.interp(60.0, mid, tac))
    scale = (10.0 / (end_min - start_min)) * np.exp(decay_constant(half_life_min) * (mid - 60.0))
    return noise * np.sqrt(np.clip(tac, 0.0, None) * max(level, 0.0) * scale)


def _draw_truth(*, participants: list[str], conditions: list[str], reference: str, params: dict, rng: np.random.Generator) -> dict:
    rois = params["rois"]
    names = list(rois)
    rho = params["activation_correlation"]
    truth = {}
    activation_z = {}
    for p in participants:
        factor = np.exp(params["sd_bp_nd"] * rng.standard_normal(len(names)) - params["sd_bp_nd"] ** 2 / 2)
        base = {roi: rois[roi]["bp_nd"] * f for roi, f in zip(names, factor, strict=False)}
        bp = {roi: {reference: base[roi]} for roi in names}
        activation_z[p] = {}
        for cond in conditions:
            if cond == reference:
                continue
            shared = rng.standard_normal()
            z = np.sqrt(rho) * shared + np.sqrt(1 - rho) * rng.standard_normal(len(names))
            activation_z[p][cond] = dict(zip(names, z, strict=False))
            for roi, e in zip(names, z, strict=False):
                mean = params["activation"].get(cond, {}).get(roi, 0.0)
                bp[roi][cond] = base[roi] - rois[roi]["bp_nd"] * (mean + params["sd_activation"] * e)
        truth[p] = {
            "bp_nd": bp,
            "r1": {roi: rois[roi]["r1"] * float(np.exp(params["sd_r1"] * rng.standard_normal())) for roi in names},
            "k2_ref": params["k2_ref"] * float(np.exp(params["sd_k2_ref"] * rng.standard_normal())),
            "dose": {c: float(np.exp(params["dose_cv"] * rng.standard_normal())) for c in conditions},
        }
    traits = {}
    for trait, spec in params["traits"].items():
        r = spec["r"]
        traits[trait] = {
            p: spec["mean"] + spec["sd"] * (r * activation_z[p][spec["condition"]][spec["roi"]] + np.sqrt(1 - r * r) * rng.standard_normal())
            for p in participants
        }
    return {"participants": truth, "traits": traits}


def _expected_r(params: dict, conditions: list[str], reference: str) -> dict:
    out = {}
    for trait, spec in params["traits"].items():
        out[trait] = {
            cond: {roi: (spec["r"] if roi == spec["roi"] else spec["r"] * params["activation_correlation"]) if cond == spec["condition"] else 0.0
                   for roi in params["rois"]}
            for cond in conditions if cond != reference
        }
    return out


def _check(study: str, row: dict, params: dict) -> list[str]:
    conditions = list(params["conditions"])
    reference = row["reference"]
    problems = []
    if reference not in conditions:
        problems.append(f"the study's reference '{reference}' (studies.tsv) is not among conditions {conditions}")
    for cond, rois in params["activation"].items():
        if cond not in conditions or cond == reference:
            problems.append(f"activation condition '{cond}' must be one of the non-reference conditions")
        problems += [f"activation ROI '{r}' of '{cond}' is not in rois" for r in rois if r not in params["rois"]]
    for trait, spec in params["traits"].items():
        if spec["condition"] not in conditions or spec["condition"] == reference:
            problems.append(f"trait '{trait}': condition '{spec['condition']}' must be a non-reference condition")
        if spec["roi"] not in params["rois"]:
            problems.append(f"trait '{trait}': roi '{spec['roi']}' is not in rois")
    if params["reference_region"] in params["rois"]:
        problems.append(f"reference_region '{params['reference_region']}' must not also be an ROI")
    if row["input"] not in ("tac", "bpnd"):
        problems.append(f"studies.tsv input '{row['input']}' cannot be simulated as PET (tac or bpnd)")
    return [f"simulate.pet.{study}: {p}" for p in problems]


def simulate_study(*, study: str, row: dict, params: dict, seed: int) -> None:
    """Write a PET study into ``row['path']``: participants.tsv, TACs or bpnd.tsv, truth.json.

    ``params`` is the study's entry of config ``simulate.pet`` with defaults filled in.
    """
    problems = _check(study, row, params)
    if problems:
        raise ConfigError("\n".join(problems))
    rng = np.random.default_rng(seed)
    root = Path(row["path"])
    conditions = list(params["conditions"])
    reference = row["reference"]
    width = max(2, len(str(params["participants"])))
    participants = [f"{i:0{width}d}" for i in range(1, params["participants"] + 1)]
    drawn = _draw_truth(participants=participants, conditions=conditions, reference=reference, params=params, rng=rng)
    truth_p, traits = drawn["participants"], drawn["traits"]

    sheet = pd.DataFrame(
        {
            "participant_id": [f"sub-{p}" for p in participants],
            "sex": rng.choice(["F", "M"], size=len(participants)),
            "age": rng.integers(19, 36, size=len(participants)),
            **{t: [round(traits[t][p], 2) for p in participants] for t in params["traits"]},
        }
    )
    write_tsv(sheet, root / "participants.tsv")

    if row["input"] == "tac":
        _write_tacs(root=root, participants=participants, conditions=conditions, truth=truth_p, params=params, rng=rng)
    else:
        _write_bpnd(root=root, participants=participants, conditions=conditions, truth=truth_p, params=params, rng=rng)

    mean_change = {
        cond: {roi: spec["bp_nd"] * params["activation"].get(cond, {}).get(roi, 0.0) for roi, spec in params["rois"].items()}
        for cond in conditions if cond != reference
    }
    write_json(
        root / "truth.json",
        {
            "study": study,
            "seed": seed,
            "input": row["input"],
            "sign": "change = BPND at reference - BPND in condition; positive = MOR activation",
            "generative_model": "Feng 1993 bolus input; one-tissue reference and targets (SRTM assumptions hold exactly)",
            "conditions": conditions,
            "reference": reference,
            "reference_region": params["reference_region"],
            "population_bp_nd": {roi: spec["bp_nd"] for roi, spec in params["rois"].items()},
            "population_mean_change": mean_change,
            "population_sd_change": {roi: spec["bp_nd"] * params["sd_activation"] for roi, spec in params["rois"].items()},
            "traits": params["traits"],
            "expected_r": _expected_r(params, conditions, reference),
            "participants": truth_p,
        },
    )


def _write_tacs(*, root: Path, participants, conditions, truth: dict, params: dict, rng: np.random.Generator) -> None:
    start, end = frames_from_durations(params["frames"])
    scale = _input_scale(start_min=start, end_min=end, k1_ref=params["k1_ref"], k2_ref=params["k2_ref"])
    half_life = params["half_life_min"]
    for i, p in enumerate(participants, start=1):
        log.info("  %s: participant %d/%d (sub-%s)", root.name, i, len(participants), p)
        t = truth[p]
        for cond in conditions:
            targets = {roi: (t["bp_nd"][roi][cond], t["r1"][roi]) for roi in params["rois"]}
            reference, rois = noise_free_tacs(
                start_min=start, end_min=end, k1_ref=params["k1_ref"], k2_ref=t["k2_ref"], targets=targets,
                dose=scale * t["dose"][cond],
            )
            columns = {"frame_start": np.round(start * 60.0, 3), "frame_end": np.round(end * 60.0, 3)}
            for name, tac, factor in [
                (params["reference_region"], reference, params["reference_noise"]),
                *((roi, rois[roi], params["rois"][roi]["noise"]) for roi in params["rois"]),
            ]:
                sd = frame_noise_sd(tac, start_min=start, end_min=end, noise=params["noise"] * factor, half_life_min=half_life)
                columns[name] = tac + sd * rng.standard_normal(tac.size)
            write_tsv(pd.DataFrame(columns), Path(tac_path(root, p, cond)), float_format="%.6g")


def _write_bpnd(*, root: Path, participants, conditions, truth: dict, params: dict, rng: np.random.Generator) -> None:
    rows = []
    for p in participants:
        for roi, spec in params["rois"].items():
            for hemisphere in ("left", "right") if spec["lateral"] else ("bilateral",):
                for cond in conditions:
                    value = truth[p]["bp_nd"][roi][cond] * (1.0 + params["bp_nd_error"] * rng.standard_normal())
                    rows.append({"participant_id": f"sub-{p}", "roi": roi, "hemisphere": hemisphere, "condition": cond, "bp_nd": value})
    write_tsv(pd.DataFrame(rows), Path(bpnd_path(root)), float_format="%.6g")
