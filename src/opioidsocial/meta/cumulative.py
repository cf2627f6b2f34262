"""Cumulative meta-analysis by publication year, as metafor's ``cumul()``.

Each pooled model (same independent samples and primary estimator and test as
pooled.tsv) is refitted as its samples are added in order of publication year,
oldest first (ties keep the samples' order, as R's ``order`` does): the row for
the i-th sample is the model of the first i. A sample group's year is the earliest
``year`` of its studies (studies.tsv, or a summary row's own). The first row is the
first sample itself with its Wald interval and tau^2 = 0, as metafor gives for one
study.

The sequence shows whether the first, often larger, effect has shrunk as later
studies arrived (a decline effect; Ioannidis 2005 calls this the Proteus
phenomenon): with the first naltrexone study positive and later ones null, that is
the pattern a reader should see at a glance. It is descriptive; the cumulative
CIs are not corrected for looking repeatedly.

A model with a sample of unknown year has no cumulative analysis (logged).
Validated against metafor 3.8-1 on dat.bcg (tests/test_meta_bias.py).

References: Lau J et al. (1992) N Engl J Med 327:248-254. Ioannidis JPA (2005)
PLoS Med 2:e124.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from opioidsocial.failsafe import stage
from opioidsocial.io.contracts import META_CUMULATIVE, META_EFFECTS, Folder
from opioidsocial.io.tables import read_table, write_tsv
from opioidsocial.meta import pooled
from opioidsocial.meta.plots import save, slug
from opioidsocial.meta.random_effects import pool

log = logging.getLogger(__name__)


def cumulative(yi, vi, years, labels, *, method: str, test: str, level: float = 0.95) -> pd.DataFrame:
    """One row per added sample (oldest first): added_study, year, k, estimate, ci_lb, ci_ub, tau2."""
    order = np.argsort(np.asarray(years), kind="stable")
    y, v = np.asarray(yi, dtype=float)[order], np.asarray(vi, dtype=float)[order]
    crit = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for i in range(1, len(y) + 1):
        if i == 1:
            half = crit * np.sqrt(v[0])
            fit = {"estimate": y[0], "ci_lb": y[0] - half, "ci_ub": y[0] + half, "tau2": 0.0}
        else:
            p = pool(y[:i], v[:i], method=method, test=test, level=level)
            fit = {"estimate": p.estimate, "ci_lb": p.ci_lb, "ci_ub": p.ci_ub, "tau2": p.tau2}
        rows.append({"added_study": np.asarray(labels)[order][i - 1], "year": int(np.asarray(years)[order][i - 1]), "k": i, **fit})
    return pd.DataFrame(rows)


def sample_years(effects: pd.DataFrame) -> pd.Series:
    """The earliest publication year of each sample group's studies (NaN when any of them has none)."""
    years = effects.groupby("sample_group")["year"]
    return years.min().where(years.count() == years.size(), np.nan)


def cumulative_table(effects: pd.DataFrame, *, method: str, test: str, rho: float, min_k: int, level: float) -> pd.DataFrame:
    """The META_CUMULATIVE rows of every pooled model whose samples all have a year."""
    years = sample_years(effects)
    parts = []
    for family, model, samples in pooled.samples(effects, rho=rho, min_k=min_k):
        sample_year = samples["sample_group"].map(years)
        if sample_year.isna().any():
            unknown = sorted(samples.loc[sample_year.isna(), "label"])
            log.warning("family '%s', model %s: no cumulative meta-analysis, samples %s have no year "
                        "(give `year` in studies.tsv or the summary rows)", family, model, unknown)
            continue
        rows = cumulative(samples["yi"], samples["vi"], sample_year.astype(int), samples["label"], method=method, test=test, level=level)
        parts.append(rows.assign(family=family, model=model, method=method, test=test))
    if not parts:
        return META_CUMULATIVE.empty()
    return pd.concat(parts, ignore_index=True)[list(META_CUMULATIVE.columns)]


def figure(table: pd.DataFrame, *, family: str, level: float) -> Figure:
    """The cumulative estimates of one family's models, one panel per model, oldest sample at the top."""
    models = list(dict.fromkeys(table["model"]))
    n = max(len(rows) for _, rows in table.groupby("model"))
    fig = Figure(figsize=(4 + 3 * len(models), 1.6 + 0.35 * n), layout="constrained")
    axes = fig.subplots(1, len(models), squeeze=False)[0]
    for ax, model in zip(axes, models):
        rows = table[table["model"] == model]
        pos = np.arange(len(rows), 0, -1)
        ax.hlines(pos, rows["ci_lb"], rows["ci_ub"], color="black", lw=1)
        ax.plot(rows["estimate"], pos, "o", color="black", ms=4)
        ax.axvline(0, color="0.5", lw=0.7)
        ax.set_yticks(pos, [f"+ {s} ({y})" for s, y in zip(rows["added_study"], rows["year"])], fontsize=7)
        ax.set_ylim(0.4, len(rows) + 0.6)
        ax.set_title(model, fontsize=9)
        ax.set_xlabel(f"pooled estimate, {level:.0%} CI", fontsize=8)
    fig.suptitle(f"{family}: cumulative meta-analysis by year", fontsize=10)
    return fig


@stage("meta_cumulative", level="run", outputs={"cumulative": META_CUMULATIVE, "figures": Folder()})
def run(*, inputs: dict, outputs: dict, cfg: dict) -> None:
    """The meta_cumulative job: results/meta/cumulative.tsv and one figure per family."""
    meta = cfg["meta"]
    effects = read_table(inputs["effects"], META_EFFECTS)
    table = cumulative_table(effects, method=meta["methods"][0], test=meta["tests"][0], rho=meta["overlap_rho"],
                             min_k=meta["min_k"], level=meta["level"])
    write_tsv(table, outputs["cumulative"], META_CUMULATIVE)
    folder = Path(outputs["figures"])
    folder.mkdir(parents=True, exist_ok=True)
    for family, rows in table.groupby("family", sort=True):
        save(figure(rows, family=family, level=meta["level"]), folder / slug(family), dpi=meta["plot_dpi"])
