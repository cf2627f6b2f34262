"""power_sim.tsv and the power surface: the crossed-design simulation's chunks gathered.

Per grid point (participants per arm x stimuli per emotion): ``n_sims`` simulated
studies, of which ``failed`` fits failed or did not converge and ``singular`` were
singular (:mod:`opioidsocial.design.crossed`); ``power`` is the share of the other
``n_sims - failed - singular`` fits whose planned contrast is significant, and
``power_se`` its Monte Carlo SE sqrt(power (1 - power) / that number). A run without
a template EMG study has one row per grid point with ``n_sims`` 0 and the reason in
``note``, and the figure says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from opioidsocial.failsafe import stage
from opioidsocial.io.contracts import DESIGN_POWER_SIM, DESIGN_SIM_CHUNK, FigureFile
from opioidsocial.io.figures import save_figure
from opioidsocial.io.tables import read_tsv, write_tsv

#: The sum the power of a grid point is taken over.
COUNTS = ["n_sims", "significant", "failed", "singular"]


def gather(chunks: pd.DataFrame) -> pd.DataFrame:
    """One DESIGN_POWER_SIM row per grid point from its chunks' counts."""
    keys = ["participants_per_arm", "stimuli"]
    rows = []
    for (per_arm, stimuli), part in chunks.groupby(keys, sort=True):
        total = part[COUNTS].sum()
        fitted = int(total["n_sims"] - total["failed"] - total["singular"])
        power = total["significant"] / fitted if fitted else np.nan
        notes = sorted({n for n in part["note"].fillna("") if n})
        rows.append({"family": part["family"].fillna("").iloc[0], "participants_per_arm": per_arm, "stimuli": stimuli,
                     "n_sims": int(total["n_sims"]), "power": power,
                     "power_se": np.sqrt(power * (1 - power) / fitted) if fitted else np.nan,
                     "failed": int(total["failed"]), "singular": int(total["singular"]),
                     "effect": part["effect"].iloc[0], "note": "; ".join(notes)})
    return pd.DataFrame(rows, columns=list(DESIGN_POWER_SIM.columns))


def not_simulated(grid: dict, note: str) -> pd.DataFrame:
    """The grid's rows when nothing was simulated, with the reason."""
    rows = [{"family": "", "participants_per_arm": p, "stimuli": s, "n_sims": 0, "failed": 0, "singular": 0, "note": note}
            for p in sorted(grid["participants_per_arm"]) for s in sorted(grid["stimuli_per_emotion"])]
    return pd.DataFrame(rows).reindex(columns=list(DESIGN_POWER_SIM.columns))


def surface(table: pd.DataFrame) -> Figure:
    """Power (with its Monte Carlo SE) over participants per arm, one line per number of stimuli."""
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.subplots()
    done = table[table["n_sims"] > 0]
    for stimuli, rows in done.groupby("stimuli", sort=True):
        ax.errorbar(rows["participants_per_arm"], rows["power"], yerr=1.96 * rows["power_se"], marker="o", capsize=3,
                    label=f"{stimuli} stimuli per emotion")
    if done.empty:
        ax.text(0.5, 0.5, "not simulated:\n" + "\n".join(sorted(set(table["note"].fillna("")))), ha="center", va="center",
                wrap=True, fontsize=8, transform=ax.transAxes)
    else:
        ax.legend(fontsize=8)
        family = done["family"].iloc[0]
        ax.set_title(f"{family}: simulated power of the crossed design (95 % Monte Carlo intervals)", fontsize=9)
    ax.axhline(0.8, color="0.7", lw=0.8, ls=":")
    ax.set_ylim(0, 1)
    ax.set_xlabel("participants per arm")
    ax.set_ylabel("power of the planned contrast")
    return fig


@stage("design_power_sim", level="run",
       outputs={"power_sim": DESIGN_POWER_SIM, "surface_png": FigureFile("png"), "surface_svg": FigureFile("svg")})
def run(*, inputs: dict, outputs: dict, cfg: dict, skipped: str) -> None:
    """The design_power_sim job: power_sim.tsv and the power surface (png, svg).

    ``skipped`` is why no chunk was simulated (no template EMG study), empty otherwise.
    """
    simulation = cfg["design"]["simulation"]
    if skipped:
        table = not_simulated(simulation, skipped)
    else:
        table = gather(pd.concat([read_tsv(path, DESIGN_SIM_CHUNK) for path in sorted(inputs["chunks"])], ignore_index=True))
    write_tsv(table, outputs["power_sim"], DESIGN_POWER_SIM)
    save_figure(surface(table), outputs["surface_png"], outputs["surface_svg"], dpi=cfg["meta"]["plot_dpi"])
