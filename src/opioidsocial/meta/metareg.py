"""Meta-regression: do effects differ with the direction of the manipulation, the drug, the modality?

Within each outcome family the opioid effects (harmonised to "more mu-opioid
signalling") are regressed on one moderator at a time, from ``meta.regression``
(direction, drug, modality, muscle, emotion). Moderators are categorical and
dummy-coded against a reference level (alphabetically first; for direction
``antagonist``, so ``direction[agonist]`` is how much larger the
harmonised effect of agonists is; zero if blocking and stimulating the receptor
act symmetrically). The omnibus test of the moderator is QM (chi^2 for Wald, F
for Knapp-Hartung; Viechtbauer 2010), and R^2 the proportion of tau^2 it
explains (Raudenbush 2009). Because these tests lean on large-sample theory that
few studies do not support, each coefficient and the omnibus test also get a
permutation p-value (the moderator's values permuted against the effects;
Higgins & Thompson 2004; metafor's ``permutest``; ``meta.permutation_iterations``).

Effects of one sample group with the same moderator value are combined first
(:mod:`opioidsocial.meta.overlap`). Families where the moderator does not vary, or
with too few samples for its coefficients, get a row saying so instead of a
model. With few studies such regressions are fragile (Thompson & Higgins 2002);
read them as descriptions, not as tests of mechanisms.

References: Thompson SG, Higgins JPT (2002) Stat Med 21:1559-1573. Higgins JPT,
Thompson SG (2004) Stat Med 23:1663-1682. Raudenbush SW
(2009) in Cooper H et al. (eds) The Handbook of Research Synthesis and
Meta-Analysis, 2nd ed. Viechtbauer W (2010) J Stat Softw 36(3).
"""

from __future__ import annotations

import math

import pandas as pd

from opioidsocial.failsafe import stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import META_EFFECTS, META_REGRESSION
from opioidsocial.io.tables import read_table, write_tsv
from opioidsocial.meta.bias import moderator_permutation
from opioidsocial.meta.overlap import by_sample_group
from opioidsocial.meta.random_effects import MetaAnalysisError, pool

MODERATORS = ("direction", "drug", "modality", "muscle", "emotion")
#: Reference level first; other moderators are ordered alphabetically.
LEVEL_ORDER = {"direction": ("antagonist", "none", "agonist")}



def moderator_values(effects: pd.DataFrame, moderator: str) -> pd.Series:
    """The moderator as categorical labels (direction as agonist / antagonist / none)."""
    if moderator not in MODERATORS:
        raise MetaAnalysisError(f"unknown moderator {moderator!r}; use one of {list(MODERATORS)}")
    if moderator == "direction":
        return effects["direction"].map({1: "agonist", -1: "antagonist", 0: "none"})
    return effects[moderator]


def dummies(labels: pd.DataFrame) -> pd.DataFrame:
    """Columns ``moderator[level]`` for every level present but the reference (first in LEVEL_ORDER, else sorted)."""
    columns = {}
    for moderator in labels.columns:
        values = labels[moderator].astype(str)
        present = set(values)
        order = [lv for lv in LEVEL_ORDER.get(moderator, ()) if lv in present] + sorted(present - set(LEVEL_ORDER.get(moderator, ())))
        for level in order[1:]:
            columns[f"{moderator}[{level}]"] = (values == level).astype(float).to_numpy()
    return pd.DataFrame(columns, index=labels.index)


def regression_table(effects: pd.DataFrame, *, moderators: list[str], method: str, test: str, rho: float, level: float,
                     permutation_iterations: int = 1000, permutation_seed: int = 1) -> pd.DataFrame:
    """One row per family x moderator x term (or one row with a note when no model could be fitted).

    ``permutation_p``/``qm_permutation_p``: the coefficient's and the moderator's p-values
    from permuting the moderator against the effects (:func:`opioidsocial.meta.bias.moderator_permutation`).
    """
    rows = []
    opioid = effects[effects["direction"] != 0]
    for family, fam in opioid.groupby("family", sort=True):
        for moderator in moderators:
            base = {"family": family, "moderator": moderator, "method": method, "test": test}
            values = moderator_values(fam, moderator)
            usable = fam[values.notna()].assign(_level=values[values.notna()].astype(str))
            combined = by_sample_group(usable, yi="yi_harmonised", rho=rho, keys=("_level",))
            if combined["_level"].nunique() < 2:
                rows.append({**base, "k": len(combined), "note": f"{moderator} does not vary in this family ({len(combined)} sample(s))"})
                continue
            X = dummies(combined[["_level"]].rename(columns={"_level": moderator}))
            try:
                fit = pool(combined["yi"], combined["vi"], method=method, test=test, mods=X, level=level)
            except MetaAnalysisError as err:
                rows.append({**base, "k": len(combined), "note": str(err)})
                continue
            df1, df2 = (tuple(fit.qm_df) + (math.nan,))[:2]
            perm_p, qm_perm_p = moderator_permutation(combined["yi"], combined["vi"], X.to_numpy(), method=method, test=test,
                                                      iterations=permutation_iterations, seed=permutation_seed)
            shared = {"k": fit.k, "qm": fit.qm, "qm_df1": df1, "qm_df2": df2, "qm_p": fit.qm_p, "tau2": fit.tau2,
                      "q": fit.q, "q_df": fit.q_df, "q_p": fit.q_p, "r2": fit.r2, "qm_permutation_p": qm_perm_p, "note": ""}
            for coef, term_p in zip(fit.coefficients.to_dict("records"), perm_p):
                rows.append({**base, **shared, **coef, "permutation_p": term_p})
    return pd.DataFrame(rows, columns=list(META_REGRESSION.columns))



@stage("meta_regression", level="run", outputs={"regression": contracts.META_REGRESSION})
def run(*, inputs: dict, outputs: dict, cfg: dict) -> None:
    """The meta_regression job: results/meta/meta_regression.tsv."""
    meta = cfg["meta"]
    effects = read_table(inputs["effects"], META_EFFECTS)
    table = regression_table(effects, moderators=meta["regression"], method=meta["methods"][0], test=meta["tests"][0],
                             rho=meta["overlap_rho"], level=meta["level"], permutation_iterations=meta["permutation_iterations"],
                             permutation_seed=meta["permutation_seed"])
    write_tsv(table, outputs["regression"], META_REGRESSION)
