"""sample_size.tsv and the power curves: how many participants the next study needs.

For each pooled family x model on the scale of Cohen's d (``scale`` d in effects.parquet;
correlation and generic families have no t-test design and are left out), each design
its studies used (``between``: two independent arms compared on participant cell means,
n per arm; ``within``: paired, n participants), each assumed effect
(:mod:`opioidsocial.design.assumptions`) and each ``design.power``: the smallest whole n
whose two-sided t test at ``design.alpha`` reaches that power, the real root ``n_exact``
and the power at n (:mod:`opioidsocial.design.analytic`, R's ``pwr.t.test``). An assumed
effect of 0 has no such n: ``n`` is empty and ``note`` says why.

The power curve of each family plots the power against n for every assumption, with the
past studies' n (per arm, or participants) marked, so a reader sees at a glance where the
studies stood and how far the curve is from the target.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

from opioidsocial.design.analytic import DESIGNS, n_for_power, t_power
from opioidsocial.design.assumptions import model_effects, read_inputs
from opioidsocial.failsafe import stage
from opioidsocial.io.contracts import DESIGN_SAMPLE_SIZE, Folder
from opioidsocial.io.tables import write_tsv
from opioidsocial.meta.plots import save, slug

log = logging.getLogger(__name__)

ZERO_EFFECT = "assumed effect is 0 (its CI holds 0): no sample size reaches a power above alpha"


def family_designs(effects: pd.DataFrame, *, family: str, model: str) -> list[str]:
    """The t-test designs of a family x model's studies; none when the family is not on the d scale."""
    rows = model_effects(effects, family=family, model=model)
    rows = rows[rows["scale"] == "d"]
    return sorted(set(rows["design"]) & set(DESIGNS))


def sample_size_table(assumed: pd.DataFrame, designs: dict, *, targets: list[float], alpha: float) -> pd.DataFrame:
    """One row per family x model x design x assumption x target power (DESIGN_SAMPLE_SIZE).

    ``designs`` maps (family, model) to its t-test designs (:func:`family_designs`).
    """
    rows = []
    for (family, model), assumptions in assumed.groupby(["family", "model"], sort=True):
        for design in designs.get((family, model), []):
            for a in assumptions.itertuples():
                for target in targets:
                    n_exact = n_for_power(a.assumed_effect, target, design=design, alpha=alpha)
                    row = {"family": family, "model": model, "design": design, "assumed_effect": a.assumed_effect,
                           "assumption": a.assumption, "target_power": target}
                    if n_exact is None:
                        rows.append({**row, "n": None, "n_exact": None, "achieved_power": None, "note": ZERO_EFFECT})
                        continue
                    n = max(2, math.ceil(n_exact - 1e-9))
                    rows.append({**row, "n": n, "n_exact": n_exact,
                                 "achieved_power": float(t_power(a.assumed_effect, n, design=design, alpha=alpha)), "note": ""})
    table = pd.DataFrame(rows, columns=list(DESIGN_SAMPLE_SIZE.columns))
    table["n"] = table["n"].astype("Int64")
    return table


def past_sizes(effects: pd.DataFrame, *, family: str, model: str, design: str) -> pd.Series:
    """Each past study's n per arm (between: mean of the two arms) or participants (within), by study."""
    rows = model_effects(effects, family=family, model=model)
    rows = rows[rows["design"] == design]
    n = rows["n1"].astype(float) if design == "within" else (rows["n1"].astype(float) + rows["n2"].astype(float)) / 2.0
    return n.groupby(rows["study"]).max().dropna()


def power_curve(effects: pd.DataFrame, sizes: pd.DataFrame, *, family: str, targets: list[float], alpha: float) -> Figure:
    """Power against n per model x design of one family, one line per non-zero assumption."""
    panels = sizes[["model", "design"]].drop_duplicates().itertuples(index=False)
    panels = list(panels)
    fig = Figure(figsize=(6.4, 3.2 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, (model, design) in zip(axes, panels):
        rows = sizes[(sizes["model"] == model) & (sizes["design"] == design)]
        past = past_sizes(effects, family=family, model=model, design=design)
        top = max([float(rows["n"].max()) if rows["n"].notna().any() else 0.0, *past.to_numpy() * 1.5, 20.0])
        grid = np.unique(np.round(np.geomspace(2, max(top, 4.0), 200)).astype(int))
        for assumption, line in rows.drop_duplicates("assumption").set_index("assumption")["assumed_effect"].items():
            if line != 0:
                ax.plot(grid, t_power(line, grid, design=design, alpha=alpha), label=f"{assumption}: d = {line:.2f}")
        for target in targets:
            ax.axhline(target, color="0.7", lw=0.8, ls=":")
        for n, studies in past.groupby(past).groups.items():
            ax.axvline(n, color="0.3", lw=0.8, ls="--")
            ax.annotate(", ".join(studies), (n, 0.02), rotation=90, fontsize=7, va="bottom", ha="right")
        ax.set_xscale("log")
        # 1, 2, 5, 10, 20, ... as plain numbers: a range of a decade or two gets readable ticks
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"n: {DESIGNS[design]}")
        ax.set_ylabel(f"power (two-sided, alpha {alpha:g})")
        ax.set_title(f"{family}: {model}, {design}", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
    return fig


@stage("design_sample_size", level="run", outputs={"sample_size": DESIGN_SAMPLE_SIZE, "power_curve": Folder()})
def run(*, inputs: dict, outputs: dict, cfg: dict) -> None:
    """The design_sample_size job: results/design/sample_size.tsv and a power curve per family."""
    design = cfg["design"]
    effects, assumed = read_inputs(inputs, cfg)
    designs = {key: family_designs(effects, family=key[0], model=key[1]) for key in assumed.groupby(["family", "model"]).groups}
    table = sample_size_table(assumed, designs, targets=design["power"], alpha=design["alpha"])
    write_tsv(table, outputs["sample_size"], DESIGN_SAMPLE_SIZE)
    folder = Path(outputs["power_curve"])
    folder.mkdir(parents=True, exist_ok=True)
    for family, sizes in table.groupby("family", sort=True):
        save(power_curve(effects, sizes, family=family, targets=design["power"], alpha=design["alpha"]), folder / slug(family),
             dpi=cfg["meta"]["plot_dpi"])
    log.info("sample sizes for %d families", table["family"].nunique())
