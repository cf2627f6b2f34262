"""Specification curves (Simonsohn, Simmons & Nelson 2020): one per contrast x outcome of a study,
and one per family x model of the meta-analysis (the pooled estimate with its CI; filled where
the CI excludes 0).

The upper panel shows every universe's effect (Hedges' g or the standardised mean
change) sorted from smallest to largest, with its 95 % confidence interval
(g +- 1.96 sqrt(vi)); universes significant at ``multiverse.alpha`` (two-sided) are
filled, others hollow, and universe 0 (every key at its first listed value: today's
analysis when the grid lists today's values first) is marked in red. The panel
beneath shows which value of each choice each universe used; the title gives the
joint tests' p-values (median, share significant, Stouffer).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from opioidsocial.io.contracts import MULTIVERSE_KEYS  # noqa: E402
from opioidsocial.io.figures import save_figure  # noqa: E402

Z95 = 1.959963984540054


def plot_curves(spec: pd.DataFrame, joints: pd.DataFrame, *, alpha: float, path: str) -> None:
    """All of a study's specification curves in one figure, one (curve, choices) pair per contrast x outcome."""
    half = Z95 * np.sqrt(spec["vi"])
    curves = spec.assign(estimate=spec["yi"], low=spec["yi"] - half, high=spec["yi"] + half, significant=spec["p"] < alpha)
    titles = {}
    for t in joints.itertuples(index=False):
        titles[(t.contrast, t.outcome)] = (f"{t.contrast}, {t.outcome}\nmedian g {t.median_yi:.2f} (p {t.p_median:.3g}), "
                                           f"{t.share_significant:.0%} significant (p {t.p_share:.3g}), "
                                           f"Stouffer Z {t.stouffer_z:.2f} (p {t.p_stouffer:.3g})")
    _draw(curves, ["contrast", "outcome"], titles=titles, marked=(f"p < {alpha:g}", "not significant"), ylabel="effect (g)", path=path)


def plot_meta_curves(table: pd.DataFrame, *, path: str) -> None:
    """The pooled effect of each family x model in every universe (results/meta/multiverse.tsv)."""
    curves = table.assign(low=table["ci_lb"], high=table["ci_ub"], significant=(table["ci_lb"] > 0) | (table["ci_ub"] < 0))
    titles = {(f, m): f"{f} ({m}): k {int(g['k'].max())}, {(g['ci_lb'] > 0).mean() + (g['ci_ub'] < 0).mean():.0%} of universes' CIs exclude 0"
              for (f, m), g in table.groupby(["family", "model"])}
    _draw(curves, ["family", "model"], titles=titles, marked=("CI excludes 0", "CI includes 0"), ylabel="pooled effect", path=path)


def _draw(curves: pd.DataFrame, by: list[str], *, titles: dict, marked: tuple[str, str], ylabel: str, path: str) -> None:
    """One (curve, choices) pair of panels per group of ``by``: estimate, low, high, significant, universe and the grid keys."""
    keys = [k for k in MULTIVERSE_KEYS if k in curves.columns and curves[k].nunique() > 1]
    rows = [(k, v) for k in keys for v in sorted(curves[k].astype(str).unique())]
    groups = list(curves.groupby(by, sort=True))
    heights = [h for _ in groups for h in (3.0, 0.22 * max(len(rows), 1))]
    height = sum(heights) + 0.9 * len(groups) or 2.0
    fig, axes = plt.subplots(2 * max(len(groups), 1), 1, figsize=(9, height), gridspec_kw={"height_ratios": heights or [1, 1]}, squeeze=False)
    for i, (group, part) in enumerate(groups):
        curve, choice = axes[2 * i, 0], axes[2 * i + 1, 0]
        part = part.sort_values(["estimate", "universe"], kind="stable").reset_index(drop=True)
        x = np.arange(len(part))
        significant = part["significant"].to_numpy(dtype=bool)
        curve.vlines(x, part["low"], part["high"], color="0.75", linewidth=0.8)
        curve.scatter(x[significant], part["estimate"][significant], s=10, color="tab:blue", label=marked[0], zorder=3)
        curve.scatter(x[~significant], part["estimate"][~significant], s=10, facecolor="white", edgecolor="tab:blue", label=marked[1], zorder=3)
        default = (part["universe"] == 0).to_numpy()
        curve.scatter(x[default], part["estimate"][default], s=40, marker="D", color="tab:red", label="universe 0", zorder=4)
        curve.axhline(0, color="black", linewidth=0.6)
        curve.set_xlim(-1, len(part))
        curve.set_xticks([])
        curve.set_ylabel(ylabel)
        curve.set_title(titles.get(group, ", ".join(map(str, group))), fontsize=9, loc="left")
        curve.legend(fontsize=7, loc="best", frameon=True, framealpha=0.8)
        for r, (key, value) in enumerate(rows):
            used = (part[key].astype(str) == value).to_numpy()
            choice.scatter(x[used], np.full(used.sum(), r), s=4, marker="s", color="0.2")
        choice.set_yticks(range(len(rows)))
        choice.set_yticklabels([f"{k} {v}" for k, v in rows], fontsize=7)
        choice.set_ylim(len(rows) - 0.5, -0.5)
        choice.set_xlim(-1, len(part))
        choice.set_xlabel("universe (sorted by effect)", fontsize=8)
        choice.tick_params(axis="x", labelsize=7)
    # fixed margins (tight_layout measures every label: slow, and spreads the panels apart)
    fig.subplots_adjust(left=0.22, right=0.98, top=1 - 0.7 / height, bottom=0.45 / height, hspace=0.35)
    save_figure(fig, path)
    plt.close(fig)
