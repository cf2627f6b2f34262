"""Figures of the PET stage: each participant's TAC fits (QC), paired BPND per ROI with
the change, and trait correlations.

Drawn on bare ``matplotlib.figure.Figure`` objects (no pyplot state, no GUI
backend) and saved with :func:`opioidsocial.io.figures.save_figure`. MOR
activation is plotted positive (BPND(versus) - BPND(condition)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import rcParams
from matplotlib.figure import Figure

from opioidsocial.pet.frames import FrameGrid
from opioidsocial.pet.inputs import Scan
from opioidsocial.pet.paired import Contrast, activation
from opioidsocial.pet.srtm import ReferenceTissue

SIGNIFICANT = 0.05
CURVE_MODELS = ("SRTM", "SRTM2", "MRTM", "MRTM2")


def paired_figure(
    bp: pd.DataFrame, paired: pd.DataFrame, *, conditions: list[str], pairs: list[Contrast], ci_level: float, title: str
) -> Figure:
    """Top row: each participant's BPND across scans per ROI; bottom row: the changes with mean and CI."""
    rois = sorted(bp["roi"].unique())
    # A fixed layout: constrained layout costs seconds for a dozen panels.
    fig = Figure(figsize=(max(4.0, 2.3 * len(rois)), 6.5))
    fig.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.17, wspace=0.35, hspace=0.6)
    axes = fig.subplots(2, len(rois), squeeze=False)
    usable = bp[bp["fit_ok"].astype(bool)]
    changes = {pair.label: activation(bp, pair) for pair in pairs}
    x = np.arange(len(conditions))
    for j, roi in enumerate(rois):
        top, bottom = axes[0, j], axes[1, j]
        wide = usable[usable["roi"] == roi].pivot(index="participant", columns="condition", values="bp_nd").reindex(columns=conditions)
        for _, values in wide.iterrows():
            top.plot(x, values.to_numpy(), color="0.7", linewidth=0.8, marker="o", markersize=2.5)
        top.plot(x, wide.mean().to_numpy(), color="black", linewidth=2.0, marker="o")
        top.set_xticks(x, conditions, rotation=30, ha="right", fontsize=8)
        top.set_title(roi.replace("_", " "), fontsize=9)
        for i, pair in enumerate(pairs):
            change = changes[pair.label][roi].dropna()
            offsets = np.linspace(-0.15, 0.15, len(change)) if len(change) > 1 else np.zeros(len(change))
            bottom.scatter(i + offsets, change.to_numpy(), s=8, color="0.5")
            stats = paired[(paired["contrast"] == pair.label) & (paired["roi"] == roi)]
            if len(stats) and np.isfinite(stats["mean_change"].iloc[0]):
                s = stats.iloc[0]
                if np.isfinite(s["ci_low"]):
                    bottom.errorbar([i + 0.3], [s["mean_change"]], yerr=[[s["mean_change"] - s["ci_low"]], [s["ci_high"] - s["mean_change"]]],
                                    fmt="o", color="black", capsize=3)
                if s["p_adjusted"] < SIGNIFICANT:
                    bottom.annotate("*", (i + 0.3, s["ci_high"]), ha="center", va="bottom", fontsize=12)
        bottom.axhline(0.0, color="0.3", linewidth=0.8, linestyle="--")
        bottom.set_xticks(np.arange(len(pairs)), [p.label for p in pairs], rotation=30, ha="right", fontsize=7)
        if j == 0:
            top.set_ylabel("BPND")
            bottom.set_ylabel("MOR activation (BPND decrease)")
    fig.suptitle(f"{title}  (mean and {100 * ci_level:g} % CI; * adjusted p < {SIGNIFICANT})", fontsize=10)
    return fig


def correlation_figure(correlations: pd.DataFrame, *, title: str) -> Figure:
    """Heat map of r: ROIs x (trait, condition), * where the adjusted p < 0.05."""
    if correlations.empty:
        fig = Figure(figsize=(4.0, 2.0), layout="constrained")
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "no trait columns to correlate", ha="center", va="center")
        return fig
    table = correlations.assign(column=correlations["trait"] + "\n" + correlations["condition"])
    columns = list(dict.fromkeys(table.sort_values(["trait", "condition"])["column"]))
    r = table.pivot(index="roi", columns="column", values="r").reindex(columns=columns)
    p = table.pivot(index="roi", columns="column", values="p_adjusted").reindex(columns=columns)
    fig = Figure(figsize=(1.3 * len(columns) + 2.5, 0.45 * len(r) + 1.8), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(r.to_numpy(dtype=float), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    for i in range(r.shape[0]):
        for j in range(r.shape[1]):
            value = r.iat[i, j]
            if np.isfinite(value):
                star = "*" if p.iat[i, j] < SIGNIFICANT else ""
                ax.text(j, i, f"{value:.2f}{star}", ha="center", va="center", fontsize=8, color="white" if abs(value) > 0.6 else "black")
    ax.set_xticks(np.arange(len(columns)), columns, fontsize=8)
    ax.set_yticks(np.arange(len(r)), [roi.replace("_", " ") for roi in r.index], fontsize=8)
    fig.colorbar(image, ax=ax, label="Pearson r with MOR activation")
    ax.set_title(f"{title}  (* adjusted p < {SIGNIFICANT})", fontsize=10)
    return fig


def tac_fit_figure(scans: dict[str, Scan], fits: pd.DataFrame, *, cfg: dict, title: str) -> Figure:
    """Per scan (column): each ROI's measured TAC (points) and SRTM fit (line), the residuals below.

    ``fits`` holds the participant's SRTM rows of the PET_BP table; a fit flagged as
    failed or implausible is drawn dashed and its ROI marked in the legend.
    """
    fig = Figure(figsize=(max(5.0, 4.2 * len(scans)), 6.0))
    fig.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.2, wspace=0.3, hspace=0.15)
    axes = fig.subplots(2, len(scans), squeeze=False, sharex="col", gridspec_kw={"height_ratios": [3, 1.4]})
    colours = rcParams["axes.prop_cycle"].by_key()["color"]
    for j, (condition, scan) in enumerate(scans.items()):
        tissue = ReferenceTissue(grid=FrameGrid(scan.start_min, scan.end_min, cfg["grid_s"] / 60.0), reference=scan.reference,
                                 weights=np.ones(scan.reference.size), bounds=cfg["srtm"]["bounds"])
        mid = 0.5 * (scan.start_min + scan.end_min)
        top, bottom = axes[0, j], axes[1, j]
        top.plot(mid, scan.reference, color="0.4", linewidth=1.0, label=f"{cfg['reference_region']} (reference)")
        for i, (roi, tac) in enumerate(sorted(scan.rois.items())):
            colour = colours[i % len(colours)]
            fit = fits[(fits["condition"] == condition) & (fits["roi"] == roi)]
            top.plot(mid, tac, "o", markersize=2.5, color=colour)
            if fit.empty or not np.isfinite(fit[["r1", "k2", "bp_nd"]].to_numpy(dtype=float)).all():
                top.plot([], [], "o", color=colour, label=f"{roi} (no SRTM estimate)")
                continue
            f = fit.iloc[0]
            predicted = tissue.predict(float(f["r1"]), float(f["k2"]), float(f["bp_nd"]))
            style = "-" if f["fit_ok"] else "--"
            top.plot(mid, predicted, style, color=colour, linewidth=1.2,
                     label=f"{roi}: BPND {f['bp_nd']:.2f}" + ("" if f["fit_ok"] else " FLAGGED"))
            bottom.plot(mid, tac - predicted, style, marker="o", markersize=2, color=colour, linewidth=0.8)
        bottom.axhline(0.0, color="0.3", linewidth=0.8)
        top.set_title(condition, fontsize=10)
        bottom.set_xlabel("time (min, frame mid)")
        if j == 0:
            top.set_ylabel("activity (TAC units)")
            bottom.set_ylabel("residual")
        top.legend(fontsize=6, loc="upper right")
    fig.suptitle(title, fontsize=10)
    return fig


def excluded_figure(*, title: str, reason: str) -> Figure:
    """A participant whose input was unusable: the reason, where the fits would be."""
    fig = Figure(figsize=(8.0, 2.0))
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.01, 0.5, f"{title}\nexcluded before fitting:\n{reason}", va="center", wrap=True)
    return fig
