"""sequential.tsv and its figure: a sequential Bayes-factor design (BFDA).

Schoenbrodt & Wagenmakers (2018, Psychon Bull Rev 25:128-142): a study starts with
``n_min`` participants per arm (between; participants, within), computes the JZS Bayes
factor of its t test (:func:`opioidsocial.stats.evidence.log_ttest_bf`, prior scale
``evidence.prior_scale``) and stops for H1 when BF10 >= ``boundary``, for H0 when
BF10 <= 1 / ``boundary``; otherwise it adds ``step`` participants (per arm) and looks
again, up to ``n_max``, where an undecided study ends inconclusive. The design is
simulated ``n_sims`` times under the family's pooled effect (H1; standardised, unit
SD) and under an effect of 0 (H0): the share of studies stopping for H1, for H0 or
ending inconclusive (they sum to 1), each with its Monte Carlo SE, and the mean (with
its SE) and quartiles of the final n.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from opioidsocial.design.assumptions import model_effects
from opioidsocial.design.crossed import MODEL, simulation_family
from opioidsocial.failsafe import stage
from opioidsocial.io.contracts import DESIGN_SEQUENTIAL, META_EFFECTS, META_POOLED, FigureFile
from opioidsocial.io.figures import save_figure
from opioidsocial.io.tables import read_table, read_tsv, write_tsv
from opioidsocial.stats.evidence import log_ttest_bf

log = logging.getLogger(__name__)

OUTCOMES = ("H1", "H0", "inconclusive")


def check_config(config: dict, _source: str) -> list[str]:
    """The sequential design's looks must exist: n_min <= n_max."""
    seq = config["design"]["sequential"]
    if seq["n_min"] > seq["n_max"]:
        return [f"'design.sequential.n_min' = {seq['n_min']} is above 'design.sequential.n_max' = {seq['n_max']}; "
                "lower n_min or raise n_max"]
    return []


def looks(n_min: int, n_max: int, step: int) -> np.ndarray:
    """The n of every look: n_min, n_min + step, ..., and n_max."""
    return np.unique(np.append(np.arange(n_min, n_max + 1, step), n_max))


def _t_statistics(rng: np.random.Generator, *, effect: float, design: str, n_sims: int, at: np.ndarray) -> np.ndarray:
    """t of every simulated study at every look (n_sims x looks), from unit-SD normal data."""
    n_max = int(at[-1])

    def running(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total, squares = np.cumsum(values, axis=1)[:, at - 1], np.cumsum(values**2, axis=1)[:, at - 1]
        mean = total / at
        return mean, (squares - at * mean**2) / (at - 1)

    if design == "within":
        mean, var = running(rng.normal(effect, 1.0, size=(n_sims, n_max)))
        return mean / np.sqrt(var / at)
    mean_ref, var_ref = running(rng.normal(0.0, 1.0, size=(n_sims, n_max)))
    mean_drug, var_drug = running(rng.normal(effect, 1.0, size=(n_sims, n_max)))
    return (mean_drug - mean_ref) / np.sqrt((var_ref + var_drug) / 2.0 * 2.0 / at)


def simulate(rng: np.random.Generator, *, effect: float, design: str, boundary: float, n_min: int, n_max: int, step: int,
             n_sims: int, rscale: float) -> tuple[np.ndarray, np.ndarray]:
    """(outcome index into OUTCOMES, final n) of ``n_sims`` sequential studies."""
    at = looks(n_min, n_max, step)
    t = _t_statistics(rng, effect=effect, design=design, n_sims=n_sims, at=at)
    bound = math.log(boundary)
    outcome, final = np.full(n_sims, 2), np.full(n_sims, int(at[-1]))
    active = np.ones(n_sims, dtype=bool)
    for j, n in enumerate(at):
        n2 = None if design == "within" else int(n)
        for i in np.flatnonzero(active):
            log_bf = log_ttest_bf(t=float(t[i, j]), n1=int(n), n2=n2, rscale=rscale)
            if log_bf >= bound or log_bf <= -bound:
                outcome[i], final[i], active[i] = (0 if log_bf >= bound else 1), int(n), False
    return outcome, final


def summarise(outcome: np.ndarray, final: np.ndarray) -> dict:
    """Stopping probabilities with their Monte Carlo SEs and the final n's mean (SE) and quartiles."""
    n = len(outcome)
    row = {}
    for k, name in enumerate(("p_h1", "p_h0", "p_inconclusive")):
        p = float(np.mean(outcome == k))
        row[name], row[f"{name}_se"] = p, math.sqrt(p * (1 - p) / n)
    q25, q50, q75 = np.percentile(final, [25, 50, 75])
    return {**row, "n_mean": float(final.mean()), "n_mean_se": float(final.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan,
            "n_q25": q25, "n_median": q50, "n_q75": q75}


def family_design(effects: pd.DataFrame, family: str) -> str:
    """between when any of the family's studies compares independent arms, else within."""
    designs = set(model_effects(effects, family=family, model=MODEL)["design"])
    return "between" if "between" in designs or not designs else "within"


def figure(results: dict, *, family: str, design: str, at: np.ndarray) -> Figure:
    """The share of studies ending at each look, per stopping outcome, under H1 and under H0."""
    fig = Figure(figsize=(6.4, 5.0), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    width = 0.8 * float(np.min(np.diff(at))) / len(OUTCOMES) if len(at) > 1 else 1.0
    for ax, (hypothesis, (outcome, final, effect)) in zip(axes, results.items()):
        for k, name in enumerate(OUTCOMES):
            share = [np.mean((outcome == k) & (final == n)) for n in at]
            ax.bar(at + (k - 1) * width, share, width=width, label=f"stopped for {name}" if k < 2 else name)
        ax.set_title(f"simulated under {hypothesis} (d = {effect:.2f})", fontsize=9)
        ax.set_ylabel("share of studies")
        ax.legend(fontsize=7)
    axes[-1].set_xlabel("final n per arm" if design == "between" else "final n (participants)")
    fig.suptitle(f"{family}: sequential Bayes-factor design", fontsize=10)
    return fig


@stage("design_sequential", level="run",
       outputs={"sequential": DESIGN_SEQUENTIAL, "figure_png": FigureFile("png"), "figure_svg": FigureFile("svg")})
def run(*, inputs: dict, outputs: dict, cfg: dict) -> None:
    """The design_sequential job: sequential.tsv and the figure of the final n (png, svg)."""
    design, meta = cfg["design"], cfg["meta"]
    seq = design["sequential"]
    effects = read_table(inputs["effects"], META_EFFECTS)
    pooled = read_tsv(inputs["pooled"], META_POOLED)
    family, d, note = simulation_family(pooled, effects, family=design.get("family"), method=meta["methods"][0], test=meta["tests"][0],
                                        modality=None)
    settings = {"boundary": seq["boundary"], "n_min": seq["n_min"], "n_max": seq["n_max"], "step": seq["step"]}
    rows, results = [], {}
    if family is None:
        rows.append({"family": "", "design": "", "hypothesis": "", **settings, "n_sims": 0, "note": note})
        fig = Figure(figsize=(6.4, 2.0))
        fig.text(0.5, 0.5, f"no sequential design: {note}", ha="center", va="center", wrap=True, fontsize=8)
    else:
        kind = family_design(effects, family)
        for k, (hypothesis, effect) in enumerate((("H1", abs(d)), ("H0", 0.0))):
            rng = np.random.default_rng(np.random.SeedSequence([design["seed"], k]))
            outcome, final = simulate(rng, effect=effect, design=kind, n_sims=seq["n_sims"], rscale=cfg["evidence"]["prior_scale"],
                                      **settings)
            results[hypothesis] = (outcome, final, effect)
            rows.append({"family": family, "design": kind, "hypothesis": hypothesis, "true_effect": effect, **settings,
                         "n_sims": seq["n_sims"], **summarise(outcome, final), "note": ""})
            log.info("%s under %s: %s", family, hypothesis, rows[-1])
        fig = figure(results, family=family, design=kind, at=looks(seq["n_min"], seq["n_max"], seq["step"]))
    write_tsv(pd.DataFrame(rows).reindex(columns=list(DESIGN_SEQUENTIAL.columns)), outputs["sequential"], DESIGN_SEQUENTIAL)
    save_figure(fig, outputs["figure_png"], outputs["figure_svg"], dpi=meta["plot_dpi"])
