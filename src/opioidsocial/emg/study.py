"""The EMG model stage: a study's mixed models, planned contrasts, effects and figures.

:func:`run_model` fits the models of the study table (:mod:`opioidsocial.emg.study_table`)
or of the user's trial table. For each EMG study the trial-level responses (:mod:`opioidsocial.emg.trials`) are
modelled as facial-mimicry studies model them today: a linear mixed model with the
arm x emotion (x muscle) fixed effects, random intercepts and slopes by participant
and random intercepts by stimulus (Barr et al. 2013, J Mem Lang 68:255-278), fitted
by REML per muscle or jointly (``models.by``). Inference is lmerTest's:
Satterthwaite df, t tests, Type III F tests (Kuznetsova et al. 2017)
(:mod:`opioidsocial.stats.lmm`). A singular or non-converged fit goes down the
documented fall-back ladder (:mod:`opioidsocial.stats.fallback`) and every attempt
is written to ``fit.json``.

The planned contrasts are each arm minus the study's reference arm in every emotion
x muscle cell, computed from the estimated marginal means (other factors averaged
with equal weights), with Satterthwaite df and a multiplicity correction across the
study's whole family of contrasts (statsmodels ``multipletests``; Holm 1979 by
default).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import pandas as pd
from statsmodels.stats.multitest import multipletests

from opioidsocial.emg.effects import effect_samples, study_effects
from opioidsocial.emg.plots import plot_marginal_means
from opioidsocial.emg.trials import read_bins_responses, read_user_trials, response_unit
from opioidsocial.errors import ConfigError, DataError
from opioidsocial.failsafe import Record, stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import CELL_FACTORS, EFFECT_SAMPLES, EFFECTS, FIT_RECORD, TRIAL_RESPONSES, FigureFile
from opioidsocial.io.labels import NO_STIMULUS
from opioidsocial.io.tables import write_json, write_table, write_tsv
from opioidsocial.sheets import check_drug_arm
from opioidsocial.stats.fallback import fit_with_fallback, fixed_part
from opioidsocial.stats.lmm import LmmError, LmmFit, fit, parse

log = logging.getLogger(__name__)


class EmgModelError(ConfigError):
    """The study sheet or the model settings do not fit the study's data: the sheet or the
    config must change, so no ``on_bad_data`` setting excludes it."""


class StudyNotEstimable(DataError):
    """After exclusions a study lacks the arms its contrasts need (e.g. no reference arm left)."""

    level = "study"


@dataclass(frozen=True)
class StudyModel:
    """One fitted model of a study: its subset (``by`` values), the fit and the attempts."""

    by: dict[str, str]
    fit: LmmFit
    attempts: list[dict]
    data: pd.DataFrame


def sheet_spelling(trials: pd.DataFrame, *, study_row: dict, source: str) -> pd.DataFrame:
    """``trials`` with the arms that the sheet's ``drug`` and ``reference`` name in the sheet's spelling.

    Arms are matched without regard to case and surrounding spaces (``Oxazepam`` is
    the sheet's ``oxazepam``), so the drug's effects carry the sheet's direction and
    every output spells the arm one way. A drug that names no arm is an error: its
    effects would otherwise all get direction 0 without a word.
    """
    arms = sorted(map(str, trials["arm"].unique()))
    if len(arms) > 1:  # else check_design says a contrast needs two arms (under on_bad_data)
        check_drug_arm(study_row, arms=arms, source=source)
    spelling = {a: study_row[key] for key in ("drug", "reference") for a in arms if a.strip().casefold() == study_row[key].strip().casefold()}
    return trials.assign(arm=trials["arm"].map(lambda a: spelling.get(a, a)))


def check_design(trials: pd.DataFrame, *, study_row: dict, where: str | None = None) -> None:
    """The reference arm exists, there is another arm, and arms vary as the design says.

    ``where`` names the data in messages (default: the study).
    """
    where = where or f"study '{study_row['study']}'"
    reference = study_row["reference"]
    arms = sorted(map(str, trials["arm"].unique()))
    if reference not in arms:
        raise StudyNotEstimable(
            f"{where}: reference arm '{reference}' (study sheet) is not among the arms {arms} of the usable trials; "
            "fix `reference` or the arm labels, or see the exclusions"
        )
    if len(arms) < 2:
        raise StudyNotEstimable(f"{where}: only arm {arms} has usable trials; a drug contrast needs at least two arms")
    per_participant = trials.groupby("participant")["arm"].nunique()
    if study_row["design"] == "between" and (per_participant > 1).any():
        raise EmgModelError(
            f"{where} is 'between' in the study sheet, but participant(s) {sorted(per_participant[per_participant > 1].index)[:5]} "
            "have trials in more than one arm; set design 'within' or fix the arm labels"
        )
    if study_row["design"] == "within" and (per_participant < 2).all():
        raise EmgModelError(f"{where} is 'within' in the study sheet, but every participant has trials in one arm only; set design 'between'")


#: A variable name in a formula term.
_NAME = re.compile(r"[A-Za-z_.][A-Za-z0-9_.]*")


def stimulus_formula(formula: str, trials: pd.DataFrame, *, study: str) -> tuple[str, str]:
    """The formula to fit, and what fit.json says about the stimulus effect.

    A study whose events.tsv files have no stimulus column has no stimulus ids: its
    random terms grouped by stimulus are dropped (modelling ``(1 | stimulus)`` with
    the emotion standing in would model the emotion twice). A formula that uses
    stimulus otherwise (a fixed effect, a slope) cannot be fitted without it.
    """
    absent = trials["stimulus"] == NO_STIMULUS
    if not absent.any():
        return formula, "as in the formula (events.tsv stimulus ids)"
    if not absent.all():
        without = sorted(trials.loc[absent, "participant"].unique())
        raise StudyNotEstimable(f"participant(s) {without[:5]} have no stimulus ids (no stimulus column in events.tsv), the others do",
                                study=study, level="study", fix="give every participant's events.tsv the same stimulus column")
    kept, dropped = [], []
    insists = "stimulus" in parse(formula).fixed_variables
    for term in re.findall(r"\([^()]*\|[^()]*\)", formula):
        slopes, grouping = term[1:-1].split("|", 1)
        insists |= "stimulus" in _NAME.findall(slopes)
        (dropped if "stimulus" in _NAME.findall(grouping) else kept).append(term)
    if insists:
        raise EmgModelError(f"study '{study}': models.formula '{formula}' uses stimulus beyond a random intercept, but the study has "
                            "no stimulus ids (no stimulus column in events.tsv, or models.trial_columns.stimulus: null); "
                            "add the stimulus ids or remove stimulus from the formula")
    if not dropped:
        return formula, "not in the formula"
    fitted = " + ".join([fixed_part(formula), *kept])
    return fitted, f"no stimulus ids (no stimulus column in events.tsv, or models.trial_columns.stimulus: null): {' + '.join(dropped)} dropped from the formula"


def fit_study(trials: pd.DataFrame, *, study_row: dict, cfg: dict) -> list[StudyModel]:
    """Fit the configured model to each ``by`` subset of the study's trials."""
    name, formula, by = study_row["study"], cfg["formula"], list(cfg["by"])
    parsed = parse(formula)
    clash = sorted(set(by) & set(parsed.all_variables))
    if clash:
        raise EmgModelError(f"study '{name}': models.by {clash} must not appear in models.formula '{formula}' (one model is fitted per value)")
    if "arm" not in parsed.fixed_variables:
        raise EmgModelError(f"study '{name}': models.formula '{formula}' has no fixed effect of 'arm', so no drug contrast can be estimated")
    data = trials.copy()
    data["arm"] = pd.Categorical(data["arm"], categories=[study_row["reference"], *sorted(set(data["arm"]) - {study_row["reference"]})])
    groups = data.groupby(by, sort=True, observed=True) if by else [((), data)]
    models = []
    for key, subset in groups:
        labels = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        where = f"study '{name}'" + "".join(f", {k} {v}" for k, v in labels.items())
        check_design(subset, study_row=study_row, where=where)
        try:
            if cfg["fallback"]:
                result, attempts = fit_with_fallback(formula, subset, reml=cfg["reml"])
            else:
                result = fit(formula, subset, reml=cfg["reml"])
                attempts = [{"step": "as specified", "formula": formula, "converged": result.converged, "singular": result.singular, "messages": list(result.messages)}]
        except LmmError as err:
            raise EmgModelError(f"{where}: {err}") from err
        missing = [f for f in cfg["contrast_within"] if f not in by and f not in result.levels]
        if missing:
            raise EmgModelError(
                f"{where}: models.contrast_within lists {missing}, which the model '{result.formula}' has no factor for; "
                "add it to models.formula or models.by, or remove it from models.contrast_within"
            )
        log.info("%s: %s (%s; converged %s, singular %s)", where, result.formula, attempts[-1]["step"], result.converged, result.singular)
        models.append(StudyModel(by=labels, fit=result, attempts=attempts, data=subset))
    return models


def fixed_effects(models: list[StudyModel], *, level: float) -> pd.DataFrame:
    return _stack(models, lambda m: m.fit.coef_table(level=level))


def type3(models: list[StudyModel]) -> pd.DataFrame:
    return _stack(models, lambda m: m.fit.anova())


def variance_components(models: list[StudyModel]) -> pd.DataFrame:
    """lme4's ``as.data.frame(VarCorr(fit))``: group, term1, term2, vcov, sdcor."""

    def table(m: StudyModel) -> pd.DataFrame:
        sd = m.fit.sd_re
        rows = [{"group": g, "term1": t, "term2": "", "vcov": s**2, "sdcor": s} for (g, t), s in sd.items()]
        rows += [{"group": g, "term1": a, "term2": b, "vcov": c * sd[(g, a)] * sd[(g, b)], "sdcor": c} for (g, a, b), c in m.fit.corr_re.items()]
        rows.append({"group": "Residual", "term1": "", "term2": "", "vcov": m.fit.sigma**2, "sdcor": m.fit.sigma})
        return pd.DataFrame(rows)

    return _stack(models, table)


def marginal_means(models: list[StudyModel], *, within: list[str], level: float) -> pd.DataFrame:
    return _cells_first(_stack(models, lambda m: m.fit.emmeans(_specs(m, within), level=level)))


def planned_contrasts(models: list[StudyModel], *, reference: str, within: list[str], level: float, adjust: str) -> pd.DataFrame:
    """Each arm minus ``reference`` in every cell of ``within``, adjusted across the family."""
    frames = []
    for m in models:
        specs = _specs(m, within)
        cells, L = m.fit.marginal_rows(specs)
        cell_factors = specs[1:]
        keys = cells[cell_factors].astype(str).agg("\x1f".join, axis=1) if cell_factors else pd.Series("", index=cells.index)
        ref_rows = {k: i for i, (k, arm) in enumerate(zip(keys, cells["arm"])) if arm == reference}
        rows, labels = [], []
        for i, (k, arm) in enumerate(zip(keys, cells["arm"])):
            if arm != reference:
                rows.append(L.iloc[i].to_numpy() - L.iloc[ref_rows[k]].to_numpy())
                labels.append({**m.by, **{f: cells.iloc[i][f] for f in cell_factors}, "arm": arm})
        tests = m.fit.contrast(pd.DataFrame(rows, columns=L.columns), level=level)
        frames.append(pd.concat([pd.DataFrame(labels), tests.reset_index(drop=True)], axis=1))
    table = pd.concat(frames, ignore_index=True)
    table.insert(table.columns.get_loc("arm") + 1, "reference", reference)
    table.insert(table.columns.get_loc("reference") + 1, "contrast", table["arm"].astype(str) + " - " + reference)
    order = ["arm", *[f for f in ("muscle", "emotion") if f in table.columns]]
    table = _cells_first(table.sort_values(order, kind="stable").reset_index(drop=True))
    if adjust == "none":
        table["p_adjusted"] = table["p"]
    else:
        table["p_adjusted"] = multipletests(table["p"].to_numpy(), method=adjust)[1]
    table["adjust"] = adjust
    return table


def fit_record(models: list[StudyModel], *, study_row: dict, cfg: dict, counts: dict, window: tuple[float, float] | None,
               skipped: list[dict], stimulus: str | None) -> dict:
    """What was fitted, on how much data, every fall-back step taken and every effect left out.

    ``stimulus`` says how the stimulus effect was modelled (:func:`stimulus_formula`).
    """
    return {
        "study": study_row["study"],
        "input": study_row["input"],
        "design": study_row["design"],
        "reference": study_row["reference"],
        "response_window_s": list(window) if window else None,
        "formula": cfg["formula"],
        "stimulus_effect": stimulus,
        "response_unit": cfg["response_unit"],
        "by": list(cfg["by"]),
        "reml": cfg["reml"],
        "adjust": cfg["adjust"],
        "level": cfg["level"],
        "data": counts,
        "estimable": True,
        "not_estimable_reason": None,
        "effects_skipped": skipped,
        "models": [
            {
                "by": m.by,
                "formula_used": m.fit.formula,
                "fallback": [a["step"] for a in m.attempts[1:]],
                "attempts": m.attempts,
                "converged": m.fit.converged,
                "singular": m.fit.singular,
                "n_participants": int(m.data["participant"].nunique()),
                "n_participants_by_arm": {str(k): int(v) for k, v in m.data.groupby("arm", observed=True)["participant"].nunique().items()},
                "n_trials": m.fit.n_obs,
                "n_groups": m.fit.n_groups,
            }
            for m in models
        ],
    }


#: The TSV outputs of the model stage and their contracts.
MODEL_TABLES = {"fixef": contracts.EMG_FIXEF, "anova": contracts.EMG_ANOVA, "varcomp": contracts.EMG_VARCOMP,
                "emmeans": contracts.EMG_EMMEANS, "contrasts": contracts.EMG_CONTRASTS}


@stage("emg_model", level="study", outputs={
    "trials": contracts.TRIAL_RESPONSES, **MODEL_TABLES, "effects": contracts.EFFECTS, "samples": contracts.EFFECT_SAMPLES,
    "fit": Record(contracts.FIT_RECORD, flag="estimable", reason="not_estimable_reason", extra={"models": [], "data": {}}),
    "plot_png": FigureFile("png"), "plot_svg": FigureFile("svg")})
def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, row: dict, metadata: dict) -> None:
    """Read a study's trials, fit its models and write every output of the model stage.

    ``inputs`` source is the study's EMG_BINS table (input 'bids') or the user's trial
    table (input 'trials'); ``row`` is the study's sheet row; ``outputs`` maps trials,
    fixef, anova, varcomp, emmeans, contrasts, fit, effects, samples (the participant
    cell means of each effect, which its evidence is tested on), plot_png, plot_svg to
    paths. A study whose exclusions left no contrast to estimate fails, or with
    ``on_bad_data: exclude`` gets empty tables and says why in ``fit.json``.
    """
    models_cfg = cfg["models"]
    window = tuple(cfg["emg"]["response_s"])
    if row["input"] == "trials":
        trials, counts = read_user_trials(inputs["source"], study=study, columns=models_cfg["trial_columns"],
                                          drop_missing=models_cfg["drop_missing_responses"])
        unit = models_cfg["response_unit"]
    else:
        method, zscore = cfg["emg"]["baseline_method"], cfg["emg"]["zscore"]
        trials, counts = read_bins_responses(inputs["source"], window=window, method=method, zscore=zscore)
        unit = response_unit(method, zscore)
    trials = sheet_spelling(trials, study_row=row, source=inputs["source"])
    models_cfg = {**models_cfg, "response_unit": unit}
    check_design(trials, study_row=row)
    formula, stimulus = stimulus_formula(models_cfg["formula"], trials, study=study)
    models = fit_study(trials, study_row=row, cfg={**models_cfg, "formula": formula})
    within = list(models_cfg["contrast_within"])
    level = models_cfg["level"]
    tables = {
        "fixef": fixed_effects(models, level=level),
        "anova": type3(models),
        "varcomp": variance_components(models),
        "emmeans": marginal_means(models, within=within, level=level),
        "contrasts": planned_contrasts(models, reference=row["reference"], within=within, level=level, adjust=models_cfg["adjust"]),
    }
    cells = tuple(f for f in CELL_FACTORS if f in within)
    effects, skipped = study_effects(trials, study_row=row, within=cells)
    for item in skipped:
        log.warning("study '%s': no effect for %s, %s: %s", study, item["contrast"], item["outcome"], item["reason"])
    record = fit_record(models, study_row=row, cfg=models_cfg, counts=counts, window=window, skipped=skipped, stimulus=stimulus)
    _write_outputs(outputs, trials=trials, tables=tables, effects=effects, samples=effect_samples(trials, effects, study_row=row, within=cells),
                   record=record, study_row=row, cfg=models_cfg, metadata=metadata)


def _write_outputs(outputs: dict, *, trials: pd.DataFrame, tables: dict, effects: pd.DataFrame, samples: pd.DataFrame, record: dict, study_row: dict,
                   cfg: dict, metadata: dict | None) -> None:
    write_table(trials, outputs["trials"], TRIAL_RESPONSES, metadata=metadata)
    write_table(samples, outputs["samples"], EFFECT_SAMPLES, metadata=metadata)
    for key, spec in MODEL_TABLES.items():
        write_tsv(tables.get(key, spec.empty()), outputs[key], spec)
    write_json(outputs["fit"], record, schema=FIT_RECORD)
    plot_marginal_means(tables.get("emmeans", contracts.EMG_EMMEANS.empty()), study=study_row["study"], reference=study_row["reference"],
                        level=cfg["level"], paths=(outputs["plot_png"], outputs["plot_svg"]), unit=cfg["response_unit"])
    # The pooled table last: its presence means the whole stage finished.
    write_table(effects, outputs["effects"], EFFECTS, metadata=metadata)


def _specs(m: StudyModel, within: list[str]) -> list[str]:
    return ["arm", *[f for f in within if f in m.fit.levels and f not in m.by]]


def _cells_first(table: pd.DataFrame) -> pd.DataFrame:
    """Muscle and emotion as the first columns, whether they came from ``by`` or the model."""
    cells = [c for c in ("muscle", "emotion") if c in table.columns]
    return table[cells + [c for c in table.columns if c not in cells]]


def _stack(models: list[StudyModel], table) -> pd.DataFrame:
    """Per-model tables stacked, each row labelled with its model's ``by`` values."""
    frames = []
    for m in models:
        frame = table(m)
        for i, (key, value) in enumerate(m.by.items()):
            frame.insert(i, key, value)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(str)
    return out

