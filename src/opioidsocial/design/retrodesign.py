"""retrodesign.tsv: could each past study have found the effect the meta-analysis pools?

For every study effect of every pooled family x model and every assumed true effect
(:mod:`opioidsocial.design.assumptions`), the power of the study's estimate, its type S
error (the chance that a significant estimate has the wrong sign) and its type M error
(how many times larger than the truth a significant estimate is on average), from the
study's standard error by the closed forms of :func:`opioidsocial.design.analytic.retrodesign`
at ``design.alpha``. A power of 0.2 with a type M of 2.5 says: a study of that size
finds the effect one time in five, and when it does, it reports it 2.5 times too large.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from opioidsocial.design.analytic import retrodesign
from opioidsocial.design.assumptions import model_effects, read_inputs
from opioidsocial.failsafe import stage
from opioidsocial.io.contracts import DESIGN_RETRODESIGN
from opioidsocial.io.tables import write_tsv


def retrodesign_table(effects: pd.DataFrame, assumed: pd.DataFrame, *, alpha: float) -> pd.DataFrame:
    """One row per family x model x study effect x assumption (the DESIGN_RETRODESIGN contract)."""
    frames = []
    for (family, model), assumptions in assumed.groupby(["family", "model"], sort=True):
        studies = model_effects(effects, family=family, model=model)
        for assumption in assumptions.itertuples():
            se = np.sqrt(studies["vi"].to_numpy(dtype=float))
            power, type_s, type_m = retrodesign(assumption.assumed_effect, se, alpha=alpha)
            frames.append(pd.DataFrame({
                "family": family, "model": model, "study": studies["study"].to_numpy(), "contrast": studies["contrast"].to_numpy(),
                "outcome": studies["outcome"].to_numpy(), "se": se, "assumed_effect": assumption.assumed_effect,
                "assumption": assumption.assumption, "power": power, "type_s": type_s, "type_m": type_m,
            }))
    if not frames:
        return DESIGN_RETRODESIGN.empty()
    return pd.concat(frames, ignore_index=True)[list(DESIGN_RETRODESIGN.columns)]


@stage("design_retrodesign", level="run", outputs={"retrodesign": DESIGN_RETRODESIGN})
def run(*, inputs: dict, outputs: dict, cfg: dict) -> None:
    """The design_retrodesign job: results/design/retrodesign.tsv."""
    effects, assumed = read_inputs(inputs, cfg)
    write_tsv(retrodesign_table(effects, assumed, alpha=cfg["design"]["alpha"]), outputs["retrodesign"], DESIGN_RETRODESIGN)
