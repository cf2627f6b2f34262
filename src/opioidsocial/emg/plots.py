"""Study-level EMG figures (PNG and SVG) for the report.

* Time courses: the baseline-corrected amplitude of every time bin, averaged over a
  participant's clean trials and then over the participants of each arm, with a
  t-based confidence band across participants (the participant is the unit of
  inference), one panel per muscle x emotion, the response window shaded.
* Marginal means: the model's estimated marginal means of each arm per emotion and
  muscle with their confidence intervals (Satterthwaite df).

Files are written by :func:`opioidsocial.io.figures.save_figure` (byte-identical
across runs, atomic).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from opioidsocial.io.figures import save_figure  # noqa: E402

#: Arm colours in arm order (the reference arm first, in grey).
PALETTE = ("#6b6b6b", "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00")
#: Axis labels of the response units (models.response_unit, emg.baseline_method).
UNIT_LABELS = {"microvolt": "µV", "z": "z", "ratio": "ratio to baseline", "log_ratio": "log ratio to baseline",
               "percent": "% change from baseline"}


def time_course_summary(bins: pd.DataFrame, *, level: float) -> pd.DataFrame:
    """Mean and CI across participants of each arm x muscle x emotion x time bin."""
    clean = bins[~bins["artefact"]]
    per_person = clean.groupby(["arm", "muscle", "emotion", "participant", "bin_start_s"], sort=True, observed=True)["amplitude_uv"].mean()
    grouped = per_person.groupby(["arm", "muscle", "emotion", "bin_start_s"], sort=True, observed=True)
    out = grouped.agg(mean_uv="mean", sd_uv="std", n="size").reset_index()
    half = stats.t.ppf(0.5 + level / 2, np.maximum(out["n"] - 1, 1)) * out["sd_uv"] / np.sqrt(out["n"])
    out["ci_low"] = out["mean_uv"] - half.where(out["n"] > 1)
    out["ci_high"] = out["mean_uv"] + half.where(out["n"] > 1)
    return out


def plot_time_courses(bins: pd.DataFrame, *, study: str, reference: str, window: tuple[float, float], level: float, paths: tuple[str, str],
                      unit: str = "microvolt") -> None:
    """Grid of muscles (rows) x emotions (columns), one line and band per arm."""
    summary = time_course_summary(bins, level=level)
    muscles = sorted(summary["muscle"].unique())
    emotions = sorted(summary["emotion"].unique())
    arms = _arm_order(summary["arm"], reference)
    fig, axes = plt.subplots(len(muscles), len(emotions), figsize=(3.2 * len(emotions), 2.4 * len(muscles)), sharex=True, squeeze=False)
    for i, muscle in enumerate(muscles):
        for j, emotion in enumerate(emotions):
            ax = axes[i, j]
            ax.axvspan(*window, color="#f0f0f0", zorder=0)
            ax.axhline(0.0, color="black", lw=0.5)
            for k, arm in enumerate(arms):
                cell = summary[(summary["muscle"] == muscle) & (summary["emotion"] == emotion) & (summary["arm"] == arm)]
                colour = PALETTE[k % len(PALETTE)]
                ax.fill_between(cell["bin_start_s"], cell["ci_low"], cell["ci_high"], color=colour, alpha=0.2, lw=0)
                ax.plot(cell["bin_start_s"], cell["mean_uv"], color=colour, lw=1.2, label=arm)
            if i == 0:
                ax.set_title(f"{emotion} faces", fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{muscle}\namplitude ({UNIT_LABELS.get(unit, unit)})", fontsize=8)
            if i == len(muscles) - 1:
                ax.set_xlabel("time from onset (s)", fontsize=8)
            ax.tick_params(labelsize=7)
    axes[0, -1].legend(fontsize=7, frameon=False)
    fig.suptitle(f"{study}: EMG time courses, mean and {level:.0%} CI across participants", fontsize=10)
    fig.tight_layout()
    _save(fig, paths)


def plot_marginal_means(emmeans: pd.DataFrame, *, study: str, level: float, paths: tuple[str, str], reference: str | None = None,
                        unit: str = "microvolt") -> None:
    """One panel per muscle: each arm's marginal mean per emotion with its CI (or a note that there are none)."""
    if emmeans.empty:
        fig, ax = plt.subplots(figsize=(6.0, 2.0))
        ax.axis("off")
        ax.text(0.5, 0.5, f"{study}: no marginal means", ha="center", va="center", fontsize=8, wrap=True)
        _save(fig, paths)
        return
    muscles = sorted(emmeans["muscle"].unique()) if "muscle" in emmeans else [None]
    emotions = sorted(emmeans["emotion"].unique()) if "emotion" in emmeans else [None]
    arms = _arm_order(emmeans["arm"], reference or emmeans["arm"].iloc[0])
    width = 0.45 / len(arms)
    fig, axes = plt.subplots(1, len(muscles), figsize=(1.0 + 0.9 * len(emotions) * len(muscles), 3.0), sharey=True, squeeze=False)
    for i, muscle in enumerate(muscles):
        ax = axes[0, i]
        ax.axhline(0.0, color="black", lw=0.5)
        for k, arm in enumerate(arms):
            rows = emmeans[emmeans["arm"] == arm]
            if muscle is not None:
                rows = rows[rows["muscle"] == muscle]
            rows = rows.set_index("emotion").reindex(emotions) if emotions[0] is not None else rows
            x = np.arange(len(emotions)) - 0.225 + width * (k + 0.5)
            y = rows["emmean"].to_numpy()
            err = np.vstack([y - rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy() - y])
            ax.errorbar(x, y, yerr=err, fmt="o", ms=4, capsize=2, color=PALETTE[k % len(PALETTE)], label=arm)
        ax.set_xticks(np.arange(len(emotions)), [e or "all" for e in emotions], fontsize=8)
        ax.set_title(muscle or "all muscles", fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0, 0].set_ylabel(f"estimated marginal mean ({UNIT_LABELS.get(unit, unit)})", fontsize=8)
    axes[0, -1].legend(fontsize=7, frameon=False)
    fig.suptitle(f"{study}: marginal means with {level:.0%} CI", fontsize=10)
    fig.tight_layout()
    _save(fig, paths)


def _save(fig, paths: tuple[str, str]) -> None:
    """Write ``fig`` to the PNG and SVG paths (stable bytes, atomic) and release it from pyplot."""
    try:
        save_figure(fig, *paths, dpi=150)
    finally:
        plt.close(fig)


def _arm_order(arms: pd.Series, reference: str) -> list[str]:
    present = sorted(set(map(str, arms)))
    return ([reference] if reference in present else []) + [a for a in present if a != reference]
