"""Forest plot per outcome family and a funnel plot, as PNG and SVG with stable bytes.

The forest plot shows every effect of a family on the harmonised scale (effect
of more mu-opioid signalling; direction-0 effects as reported) with its 95 %
confidence interval, coloured by the direction of the manipulation, and below
them each pooled model of the primary analysis (pooled.tsv, first of
``meta.methods``/``meta.tests``) as a diamond spanning its CI, with the
prediction interval as a line (Riley et al. 2011): the range in which the effect
of a new study is expected to fall. Under a diamond, the model's 3PSM
selection-model and PET-PEESE estimates (small_study.tsv) where they exist, as
open markers: sensitivity analyses of selective publication, not corrections. Effects of studies with an evidence.tsv show
their Bayes factor BF10 after the CI.

The funnel plot shows each effect's deviation from its family's pooled estimate
against its standard error, with the pseudo 95 % limits ``+-1.96 SE``; asymmetry
(small studies only on one side) suggests small-study effects (Sterne et al.
2011). Effects of families that were not pooled are left out.

Figures are drawn on matplotlib's object API (no pyplot state) and written by
:func:`opioidsocial.io.figures.save_figure`, so reruns write identical bytes.

References: Lewis S, Clarke M (2001) BMJ 322:1479-1480 (forest plots). Riley RD,
Higgins JPT, Deeks JJ (2011) BMJ 342:d549. Sterne JAC et al. (2011) BMJ 343:d4002.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats

from opioidsocial.failsafe import stage
from opioidsocial.io.contracts import META_EFFECTS, META_POOLED, META_SMALL_STUDY, FigureFile, Folder
from opioidsocial.io.figures import save_figure
from opioidsocial.io.tables import read_table, read_tsv
from opioidsocial.stats.evidence import read_evidence

DIRECTION_COLOURS = {1: "#b2182b", -1: "#2166ac", 0: "#4d4d4d"}
DIRECTION_LABELS = {1: "agonist / release (+1)", -1: "antagonist (-1, sign turned)", 0: "no opioid manipulation (0)"}
#: small_study.tsv analyses drawn under a pooled diamond: label and marker.
ADJUSTED = {"3PSM": ("3PSM selection model", "D"), "pet-peese": ("PET-PEESE", "s")}
SCALE_LABELS = {
    "d": "standardised mean difference (Hedges' g)",
    "z": "Fisher's z",
    "GEN": "effect size (as given)",
}


def slug(text: str) -> str:
    """A file-name-safe version of a family name."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "family"


def save(fig: Figure, stem: Path, *, dpi: int) -> list[Path]:
    """Write ``stem``.png and ``stem``.svg (stable bytes, atomic)."""
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    save_figure(fig, *paths, dpi=dpi)
    return paths


def forest(rows: pd.DataFrame, pooled: pd.DataFrame, *, family: str, level: float, adjusted: pd.DataFrame | None = None) -> Figure:
    """Forest plot of one family's effects and its pooled models, with the numbers on the right.

    ``adjusted``: the family's small_study.tsv rows; the ADJUSTED analyses with an
    estimate are drawn under their model's diamond.
    """
    rows = rows.sort_values(["direction", "study", "contrast", "outcome"], kind="stable")
    crit = stats.norm.ppf(0.5 + level / 2)
    se = np.sqrt(rows["vi"].to_numpy())
    y = rows["yi_harmonised"].to_numpy()
    summary = _summary_lines(pooled, adjusted)
    n_rows = len(rows) + (len(summary) + 1 if len(summary) else 0)
    fig = Figure(figsize=(8, 2.4 + 0.3 * n_rows), layout="constrained")
    ax = fig.add_subplot()
    positions = np.arange(n_rows, 0, -1, dtype=float)
    labels, numbers = [], []
    weight = 1 / rows["vi"]
    for pos, row, yi, s, w in zip(positions, rows.itertuples(), y, se, weight / weight.max()):
        colour = DIRECTION_COLOURS[int(row.direction)]
        lo, hi = yi - crit * s, yi + crit * s
        ax.plot([lo, hi], [pos, pos], color=colour, lw=1.2)
        ax.plot([yi], [pos], marker="s", color=colour, ms=3 + 5 * w)
        labels.append(_label(row, family))
        numbers.append(f"{yi:.2f} [{lo:.2f}, {hi:.2f}]{_bf_text(getattr(row, 'bf10', np.nan))}")
    for pos, (kind, fit) in zip(positions[len(rows) + 1:], summary):
        if kind == "pooled":
            ax.fill([fit.ci_lb, fit.estimate, fit.ci_ub, fit.estimate], [pos, pos + 0.3, pos, pos - 0.3], color="black")
            if np.isfinite(fit.pi_lb):
                ax.plot([fit.pi_lb, fit.pi_ub], [pos, pos], color="black", lw=0.8, ls=":")
            labels.append(f"{fit.model} ({fit.method}, {fit.test}, k = {fit.k})")
        else:
            ax.plot([fit.ci_lb, fit.ci_ub], [pos, pos], color="0.35", lw=1)
            ax.plot([fit.estimate], [pos], marker=ADJUSTED[kind][1], mfc="white", mec="0.2", ms=6, lw=0)
            labels.append(f"    {ADJUSTED[kind][0]}")
        numbers.append(f"{fit.estimate:.2f} [{fit.ci_lb:.2f}, {fit.ci_ub:.2f}]")
    shown = list(positions[: len(rows)]) + list(positions[len(rows) + 1:])
    if len(summary):
        ax.axhline(positions[len(rows)], color="0.8", lw=0.5)
    ax.set_yticks(shown, labels, fontsize=8)
    right = ax.twinx()
    right.set_ylim(0.3, n_rows + 0.7)
    right.set_yticks(shown, numbers, fontsize=8)
    right.tick_params(length=0)
    ax.axvline(0, color="0.5", lw=0.7)
    ax.set_ylim(0.3, n_rows + 0.7)
    scale = rows["scale"].iloc[0]
    harmonised = "\n(sign aligned to more mu-opioid signalling)" if (rows["direction"] != 0).any() else ""
    ax.set_xlabel(SCALE_LABELS[scale] + harmonised, fontsize=9)
    ax.set_title(family, fontsize=10)
    present = sorted(rows["direction"].unique(), reverse=True)
    handles = [Line2D([], [], color=DIRECTION_COLOURS[d], marker="s", label=DIRECTION_LABELS[d]) for d in present]
    if len(pooled):
        handles += [Line2D([], [], color="black", marker="D", lw=0, label=f"pooled, {level:.0%} CI"),
                    Line2D([], [], color="black", ls=":", label="prediction interval")]
        shown_kinds = dict.fromkeys(kind for kind, _ in summary if kind != "pooled")
        handles += [Line2D([], [], color="0.35", marker=ADJUSTED[k][1], mfc="white", mec="0.2", label=f"{ADJUSTED[k][0]} (sensitivity)")
                    for k in shown_kinds]
    fig.legend(handles=handles, fontsize=7, loc="outside lower center", ncol=3, frameon=False)
    return fig


def _summary_lines(pooled: pd.DataFrame, adjusted: pd.DataFrame | None) -> list[tuple[str, object]]:
    """Each pooled model, followed by its ADJUSTED estimates that exist (in ADJUSTED order)."""
    lines = []
    for fit in pooled.itertuples():
        lines.append(("pooled", fit))
        if adjusted is None:
            continue
        mine = adjusted[(adjusted["model"] == fit.model) & adjusted["estimate"].notna()]
        lines += [(kind, row) for kind in ADJUSTED for row in mine[mine["analysis"] == kind].itertuples()]
    return lines


def _bf_text(bf10: float) -> str:
    """'  BF10 2.4' after an effect's CI (nothing for effects without a test, e.g. summary studies)."""
    if not np.isfinite(bf10):
        return ""
    return "  BF10 " + (">1000" if bf10 > 1000 else "<0.001" if bf10 < 1e-3 else f"{bf10:.2g}")


def _label(row, family: str) -> str:
    """'study: contrast', or for an outcome merged into a family 'study: <words not in the family> (contrast)'."""
    if row.outcome == family:
        return f"{row.study}: {row.contrast}"
    shared = set(family.split())
    extra = " ".join(word for word in row.outcome.split() if word not in shared)
    return f"{row.study}: {extra or row.outcome} ({row.contrast})"


def funnel(effects: pd.DataFrame, pooled: pd.DataFrame) -> Figure:
    """Deviation of each effect from its family's pooled estimate against its standard error."""
    centre = pooled.set_index(["family", "model"])["estimate"]
    model = np.where(effects["direction"] != 0, "opioid_aligned", "non_opioid")
    keys = list(zip(effects["family"], model))
    known = np.array([key in centre.index for key in keys], dtype=bool)
    data = effects[known]
    dev = data["yi_harmonised"].to_numpy() - np.array([centre[key] for key, ok in zip(keys, known) if ok])
    se = np.sqrt(data["vi"].to_numpy())
    fig = Figure(figsize=(6, 5), layout="constrained")
    ax = fig.add_subplot()
    top = max(se.max() * 1.1, 0.1) if len(se) else 1.0
    grid = np.linspace(0, top, 50)
    ax.plot(-1.96 * grid, grid, color="0.6", lw=0.8, ls="--")
    ax.plot(1.96 * grid, grid, color="0.6", lw=0.8, ls="--")
    ax.axvline(0, color="0.4", lw=0.8)
    markers = {"emg": "o", "pet": "^", "summary": "s"}
    handles = []
    for modality in sorted(data["modality"].unique()):
        sel = (data["modality"] == modality).to_numpy()
        ax.scatter(dev[sel], se[sel], marker=markers.get(modality, "D"), s=22, alpha=0.8,
                   color=[DIRECTION_COLOURS[int(d)] for d in data["direction"][sel]])
        handles.append(Line2D([], [], color="0.4", marker=markers.get(modality, "D"), lw=0, label=modality))
    handles += [Line2D([], [], color=DIRECTION_COLOURS[d], marker="o", lw=0, label=DIRECTION_LABELS[d])
                for d in sorted(data["direction"].unique(), reverse=True)]
    ax.set_ylim(top, 0)
    ax.set_xlabel("deviation from the family's pooled estimate")
    ax.set_ylabel("standard error")
    ax.set_title(f"Funnel plot ({len(data)} effects in {data['family'].nunique()} pooled families)", fontsize=10)
    if len(data):
        ax.legend(handles=handles, fontsize=7)
    return fig


def write_plots(effects: pd.DataFrame, pooled: pd.DataFrame, *, forest_dir: str | Path, funnel_stem: str | Path,
                method: str, test: str, level: float, dpi: int, evidence: pd.DataFrame | None = None,
                small_study: pd.DataFrame | None = None) -> list[Path]:
    """Forest plots (one per family, named by :func:`slug`) into ``forest_dir`` and the funnel plot.

    With ``evidence`` (the studies' evidence.tsv rows), each effect's CI is followed by
    its JZS Bayes factor BF10 (:mod:`opioidsocial.stats.evidence`); with ``small_study``
    (small_study.tsv), the 3PSM and PET-PEESE estimates follow each pooled diamond.
    """
    if evidence is not None:
        effects = effects.merge(evidence[["study", "outcome", "contrast", "bf10"]], on=["study", "outcome", "contrast"], how="left")
    primary = pooled[(pooled["method"] == method) & (pooled["test"] == test)]
    forest_dir = Path(forest_dir)
    forest_dir.mkdir(parents=True, exist_ok=True)
    written, used = [], set()
    for family, rows in effects.groupby("family", sort=True):
        name = slug(family)
        while name in used:
            name += "_"
        used.add(name)
        adjusted = small_study[small_study["family"] == family] if small_study is not None else None
        fig = forest(rows, primary[primary["family"] == family], family=family, level=level, adjusted=adjusted)
        written += save(fig, forest_dir / name, dpi=dpi)
    written += save(funnel(effects, primary), Path(funnel_stem), dpi=dpi)
    return written


@stage("meta_plots", level="run", outputs={"forest": Folder(), "funnel_png": FigureFile("png"), "funnel_svg": FigureFile("svg")})
def run(*, inputs: dict, outputs: dict, cfg: dict) -> None:
    """The meta_plots job: forest plots (directory ``outputs`` forest) and the funnel plot."""
    meta = cfg["meta"]
    write_plots(read_table(inputs["effects"], META_EFFECTS), read_tsv(inputs["pooled"], META_POOLED), forest_dir=outputs["forest"],
                funnel_stem=Path(outputs["funnel_png"]).with_suffix(""), method=meta["methods"][0], test=meta["tests"][0],
                level=meta["level"], dpi=meta["plot_dpi"], evidence=read_evidence(inputs["evidence"]),
                small_study=read_tsv(inputs["small_study"], META_SMALL_STUDY))
