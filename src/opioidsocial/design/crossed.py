"""One chunk of the crossed-design power simulation (results/design/power_sim/...).

The EMG studies present faces of two or more emotions, several stimuli per emotion and
several trials per stimulus to every participant of two or more arms, and fit a mixed
model per muscle (:mod:`opioidsocial.emg.study`). A study of a given size is simulated
here as the template study (``design.template_study``) was fitted:

* its formula (the one fit.json says was fitted for the family's muscle, after any
  fall-back) and its variance components from varcomp.tsv: participant random
  intercept and emotion slope with their correlation, stimulus random intercept,
  residual;
* its trials per stimulus and two of its emotions: the family's emotion and the first
  other one;
* two arms, the template's drug and reference arm, ``participants_per_arm`` each, and
  ``stimuli`` distinct faces per emotion, seen by every participant.

The drug effect is the family's pooled effect (a standardised d on participant cell
means, as the studies' effects are computed) put back on the response scale with the
template's SD of a participant's cell mean, sqrt(participant variance of the cell +
residual variance / trials per cell), and added in the family's emotion only: the
drug x emotion effect. The planned contrast, drug minus reference in that emotion, is
tested from the fitted model's marginal means with Satterthwaite df at ``design.alpha``
(unadjusted: the one planned contrast of the design). A fit that fails or does not
converge is counted in ``failed``, a singular fit in ``singular``; neither counts as a
non-significant study (simr's users' most common complaint): power is the share of
the other fits that are significant.
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import pandas as pd

from opioidsocial.design.assumptions import model_effects, primary_rows
from opioidsocial.errors import DataError
from opioidsocial.failsafe import stage
from opioidsocial.io.contracts import DESIGN_SIM_CHUNK, EMG_VARCOMP, FIT_RECORD, META_EFFECTS, META_POOLED, TRIAL_RESPONSES
from opioidsocial.io.tables import read_json, read_table, read_tsv, write_tsv
from opioidsocial.stats.fallback import simplify
from opioidsocial.stats.lmm import LmmError, fit, parse

log = logging.getLogger(__name__)

#: The model the simulation assumes for the family's effect (pooled.tsv's model column).
MODEL = "opioid_aligned"
#: The columns a simulated study has; a template formula using others cannot be reproduced.
SIMULATED = ("participant", "arm", "emotion", "stimulus")


class TemplateError(DataError):
    """The template study cannot give a simulation (no usable fit, or terms it does not model);
    the job notes it in its row instead of stopping."""

    level = "study"


def simulation_family(pooled: pd.DataFrame, effects: pd.DataFrame, *, family: str | None, method: str, test: str,
                      modality: str | None = "emg") -> tuple[str | None, float | None, str]:
    """(family, pooled opioid_aligned estimate, note) of the family the simulations assume.

    ``family`` None: the first family in sorted order with a pooled estimate on the d
    scale and an effect of ``modality`` (any, when None). The note says why none was found.
    """
    rows = primary_rows(pooled, method=method, test=test)
    rows = rows[rows["model"] == MODEL]
    eligible = []
    for row in rows.itertuples():
        studies = model_effects(effects, family=row.family, model=MODEL)
        if (studies["scale"] == "d").all() and (modality is None or (studies["modality"] == modality).any()):
            eligible.append((row.family, float(row.estimate)))
    if family is not None:
        found = [e for e in eligible if e[0] == family]
        if not found:
            return None, None, f"design.family '{family}' has no pooled {MODEL} estimate on the d scale (see pooled.tsv)"
        return *found[0], ""
    if not eligible:
        kind = f"with {modality} effects " if modality else ""
        return None, None, f"no family {kind}was pooled ({MODEL}, d scale): nothing to simulate"
    return *eligible[0], ""


def _loading(term: str, emotion: str, levels: list[str]) -> float:
    """How much of a participant's random effect ``term`` is in the cell of ``emotion``.

    ``(Intercept)``: all of it; ``emotion<level>`` (the formula's treatment-coded slope):
    in that level only; ``emotion_<level>`` (the fall-back's deviation-coded slope,
    :mod:`opioidsocial.stats.fallback`): +1 in that level, -1 in the last level.
    """
    if term == "(Intercept)":
        return 1.0
    for level in levels:
        if term == f"emotion{level}":
            return float(emotion == level)
        if term == f"emotion_{level}":
            return float(emotion == level) - float(emotion == levels[-1])
    raise TemplateError(f"participant random term '{term}' is not simulated (only intercepts and emotion slopes)")


def template_components(varcomp: pd.DataFrame, *, levels: list[str], cells: tuple[str, str]) -> dict:
    """The covariance of a participant's effects in the two ``cells`` (emotions), the stimulus SD
    and the residual SD, from the varcomp.tsv rows of one model; ``levels``: the model's emotions."""
    # The fall-back splits a term into groups participant, participant.1, ... (lme4's labels).
    group = varcomp["group"].str.replace(r"\.\d+$", "", regex=True)
    unknown = sorted(set(group) - {"participant", "stimulus", "Residual"})
    if unknown:
        raise TemplateError(f"random-effect groups {unknown} are not simulated (only participant, stimulus and the residual)")
    part = varcomp[group == "participant"]
    term2 = part["term2"].astype(object).where(part["term2"].notna(), "")
    sds = dict(zip(part.loc[term2 == "", "term1"], part.loc[term2 == "", "sdcor"].astype(float)))
    terms = list(sds)
    cov = np.diag([sds[t] ** 2 for t in terms])
    for r in part[term2 != ""].itertuples():
        i, j = terms.index(r.term1), terms.index(r.term2)
        cov[i, j] = cov[j, i] = float(r.vcov)
    loadings = np.array([[_loading(t, e, levels) for t in terms] for e in cells]).reshape(2, len(terms))
    stimulus = varcomp.loc[(group == "stimulus") & (varcomp["term1"] == "(Intercept)"), "vcov"]
    return {"participant_cov": loadings @ cov @ loadings.T, "stimulus_sd": math.sqrt(float(stimulus.sum())),
            "residual_sd": math.sqrt(float(varcomp.loc[group == "Residual", "vcov"].iloc[0]))}


def simulate_study(rng: np.random.Generator, *, per_arm: int, stimuli: int, repetitions: int, components: dict,
                   arms: tuple[str, str], emotions: tuple[str, str], effect: float, response: str = "response") -> pd.DataFrame:
    """One simulated crossed study: participant x emotion x stimulus x repetition rows, the ``response`` column.

    ``arms`` is (reference, drug), ``emotions`` (other, target); ``effect`` is added to the
    drug arm's target-emotion cell, on the response scale.
    """
    n = 2 * per_arm
    participant = np.repeat(np.arange(n), 2 * stimuli * repetitions)
    emotion = np.tile(np.repeat([0, 1], stimuli * repetitions), n)
    stimulus = np.tile(np.repeat(np.arange(2 * stimuli), repetitions), n)
    drug = participant >= per_arm
    cells = rng.multivariate_normal(np.zeros(2), components["participant_cov"], size=n, method="eigh"
                                    ) if components["participant_cov"].any() else np.zeros((n, 2))
    faces = rng.normal(0.0, components["stimulus_sd"], size=2 * stimuli)
    noise = rng.normal(0.0, components["residual_sd"], size=len(participant))
    values = cells[participant, emotion] + faces[stimulus] + noise + effect * (drug & (emotion == 1))
    width = len(str(n))
    participants = np.array([f"p{i:0{width}d}" for i in range(n)], dtype=object)
    faces_ids = np.array([f"{emotions[s // stimuli]}{s % stimuli}" for s in range(2 * stimuli)], dtype=object)
    return pd.DataFrame({
        "participant": participants[participant],
        "arm": pd.Categorical(np.where(drug, arms[1], arms[0]), categories=list(arms)),
        "emotion": np.asarray(emotions, dtype=object)[emotion],
        "stimulus": faces_ids[stimulus],
        response: values,
    })


def contrast_p(data: pd.DataFrame, *, formula: str, arms: tuple[str, str], target: str, configured: str | None = None) -> tuple[str, float]:
    """(status, p) of drug minus reference in the target emotion: status ok, failed or singular.

    ``formula`` is the one the template fitted; when the fall-back gave it deviation-coded
    slope columns, they are added as the fall-back adds them to ``configured``'s data.
    """
    try:
        if configured is not None and configured != formula:
            data = simplify(configured, data, step="no correlations")[1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fit(formula, data)
    except (LmmError, ValueError, np.linalg.LinAlgError, RuntimeError) as err:
        log.debug("simulated fit failed: %s", err)
        return "failed", math.nan
    if not result.converged:
        return "failed", math.nan
    if result.singular:
        return "singular", math.nan
    cells, L = result.marginal_rows(["arm", "emotion"])
    index = {(str(a), str(e)): i for i, (a, e) in enumerate(zip(cells["arm"], cells["emotion"]))}
    row = L.iloc[index[(arms[1], target)]] - L.iloc[index[(arms[0], target)]]
    return "ok", float(result.contrast(row.to_frame().T)["p"].iloc[0])


def chunk_seed(seed: int, per_arm: int, stimuli: int, chunk: int) -> np.random.SeedSequence:
    """The seed of one grid point x chunk: independent of every other job and of the job order."""
    return np.random.SeedSequence([seed, per_arm, stimuli, chunk])


def chunk_sizes(n_sims: int, chunks: int) -> list[int]:
    """``n_sims`` split into ``chunks`` nearly equal parts (the first ones one larger)."""
    return [n_sims // chunks + (i < n_sims % chunks) for i in range(chunks)]


def template(inputs: dict, *, study_row: dict, family: str, effects: pd.DataFrame) -> dict:
    """What the simulation takes from the template study: formula, components, arms, emotions, trials."""
    record = read_json(inputs["fit"], FIT_RECORD)
    if not record["estimable"]:
        raise TemplateError(f"the template study '{study_row['study']}' was not estimable: {record['not_estimable_reason']}")
    rows = model_effects(effects, family=family, model=MODEL)
    muscle = rows["muscle"].dropna().iloc[0] if rows["muscle"].notna().any() else None
    target = rows["emotion"].dropna().iloc[0] if rows["emotion"].notna().any() else None
    trials = read_table(inputs["trials"], TRIAL_RESPONSES)
    models = record["models"]
    chosen = next((m for m in models if m["by"].get("muscle") == muscle), models[0])
    if "muscle" in chosen["by"] and chosen["by"]["muscle"] != muscle:
        log.warning("the template study has no model of the family's muscle %s: the variance components of %s are used",
                    muscle, chosen["by"]["muscle"])
    if "muscle" in chosen["by"]:
        trials = trials[trials["muscle"] == chosen["by"]["muscle"]]
    formula = chosen["formula_used"]
    parsed = parse(formula)
    indicators = {f"emotion_{e}" for e in sorted(trials["emotion"].unique())}
    extra = sorted(set(parsed.all_variables) - set(SIMULATED) - indicators - {parsed.response})
    if extra:
        raise TemplateError(f"the template's formula '{formula}' uses {extra}, which a simulated study of one muscle does not have")
    emotions = sorted(trials["emotion"].unique())
    if target not in emotions:
        raise TemplateError(f"the family's emotion '{target}' is not among the template's emotions {emotions}")
    other = next(e for e in emotions if e != target)
    if len(emotions) > 2 and set(parsed.all_variables) & indicators:
        raise TemplateError(f"the template's formula '{formula}' has the fall-back's slope columns of {len(emotions)} emotions; "
                            "a simulated study has two")
    per_cell = trials.groupby(["participant", "emotion"]).size()
    repetitions = max(1, round(float((trials.groupby(["participant", "stimulus"]).size()).median())))
    varcomp = read_tsv(inputs["varcomp"], EMG_VARCOMP)
    if "muscle" in varcomp.columns:
        varcomp = varcomp[varcomp["muscle"] == chosen["by"].get("muscle")]
    components = template_components(varcomp, levels=emotions, cells=(other, target))
    # The SD of a participant's cell mean in the template: what the pooled d is a multiple of.
    cell_sd = math.sqrt(components["participant_cov"][1, 1] + components["residual_sd"] ** 2 / float(per_cell.median()))
    return {"formula": formula, "configured": record["formula"], "response": parsed.response, "components": components, "repetitions": repetitions,
            "arms": (study_row["reference"], study_row["drug"]), "emotions": (other, target), "cell_sd": cell_sd}


def simulate_chunk(spec: dict, *, per_arm: int, stimuli: int, n: int, seed: np.random.SeedSequence, d: float,
                   alpha: float) -> dict:
    """significant, failed, singular counts and the response-scale effect of ``n`` simulated studies."""
    rng = np.random.default_rng(seed)
    effect = abs(d) * spec["cell_sd"]
    counts = {"ok": 0, "failed": 0, "singular": 0, "significant": 0}
    for _ in range(n):
        data = simulate_study(rng, per_arm=per_arm, stimuli=stimuli, repetitions=spec["repetitions"], components=spec["components"],
                              arms=spec["arms"], emotions=spec["emotions"], effect=effect, response=spec["response"])
        status, p = contrast_p(data, formula=spec["formula"], arms=spec["arms"], target=spec["emotions"][1],
                               configured=spec.get("configured"))
        counts[status] += 1
        counts["significant"] += int(status == "ok" and p < alpha)
    return {**counts, "effect": effect}


@stage("design_simulate", level="run", outputs={"chunk": DESIGN_SIM_CHUNK})
def run(*, inputs: dict, outputs: dict, cfg: dict, participants: str, stimuli: str, chunk: str, study_row: dict) -> None:
    """The design_simulate job: one grid point x chunk of simulated studies, one DESIGN_SIM_CHUNK row."""
    design, meta = cfg["design"], cfg["meta"]
    per_arm, n_stimuli, index = int(participants), int(stimuli), int(chunk)
    n = chunk_sizes(design["simulation"]["n_sims"], design["simulation"]["chunks"])[index]
    effects = read_table(inputs["effects"], META_EFFECTS)
    pooled = read_tsv(inputs["pooled"], META_POOLED)
    family, d, note = simulation_family(pooled, effects, family=design.get("family"), method=meta["methods"][0], test=meta["tests"][0])
    row = {"family": family or "", "participants_per_arm": per_arm, "stimuli": n_stimuli, "chunk": index, "n_sims": 0,
           "significant": 0, "failed": 0, "singular": 0, "effect": None, "note": note}
    if family is not None:
        try:
            spec = template(inputs, study_row=study_row, family=family, effects=effects)
        except TemplateError as err:
            log.warning("crossed-design simulation skipped: %s", err)
            row["note"] = f"not simulated: {err}"
        else:
            counts = simulate_chunk(spec, per_arm=per_arm, stimuli=n_stimuli, n=n, d=d, alpha=design["alpha"],
                                    seed=chunk_seed(design["seed"], per_arm, n_stimuli, index))
            row.update(n_sims=n, significant=counts["significant"], failed=counts["failed"], singular=counts["singular"],
                       effect=counts["effect"])
            log.info("%d participants per arm, %d stimuli, chunk %d: %d of %d significant (%d failed, %d singular)",
                     per_arm, n_stimuli, index, counts["significant"], n, counts["failed"], counts["singular"])
    write_tsv(pd.DataFrame([row], columns=list(DESIGN_SIM_CHUNK.columns)), outputs["chunk"], DESIGN_SIM_CHUNK)

