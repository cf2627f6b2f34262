"""pooled.tsv: every outcome family pooled by random-effects models.

For each family the harmonised effects (:mod:`opioidsocial.meta.harmonise`) are
pooled in up to four models:

``opioid_aligned``
    every effect of an opioid manipulation, as the effect of more mu-opioid
    signalling (antagonist effects turned around): the answer to "does changing
    mu-opioid signalling change this response, and in which direction";
``agonist`` / ``antagonist``
    the same, within agonist (+1) or antagonist (-1) effects only, when a family
    has both: if blocking and stimulating the receptor act in opposite directions
    the two agree; the meta-regression on direction tests the difference;
``non_opioid``
    effects of arms without an opioid manipulation (direction 0), on their own.

Effects from one sample group are first combined into one
(:mod:`opioidsocial.meta.overlap`), so ``k`` is the number of independent samples.
A model with fewer than ``meta.min_k`` samples is not fitted: it is one row with
its ``k`` and the reason in ``note`` (and a warning in the log), so a run with too
few studies says so in pooled.tsv and in the report.
Every tau^2 estimator in ``meta.methods`` and every test in ``meta.tests`` gives a
row; the first of each is the primary analysis that plots, sensitivity analyses
and meta-regressions use. ML and REML rows also give the profile-likelihood CI of
tau^2 (Viechtbauer 2007; ``tau2_pl_lb``/``tau2_pl_ub``) beside the Q-profile one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pandas as pd

from opioidsocial.failsafe import stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import META_EFFECTS, META_POOLED
from opioidsocial.io.tables import read_table, write_tsv
from opioidsocial.meta.overlap import by_sample_group
from opioidsocial.meta.random_effects import pool, tau2_profile_ci

log = logging.getLogger(__name__)

MODELS = ("opioid_aligned", "agonist", "antagonist", "non_opioid")


def model_subsets(effects: pd.DataFrame) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(family, model, effects) for every model a family supports, in sorted order."""
    for family, rows in effects.groupby("family", sort=True):
        opioid = rows[rows["direction"] != 0]
        subsets = {"opioid_aligned": opioid, "non_opioid": rows[rows["direction"] == 0]}
        if opioid["direction"].nunique() > 1:
            subsets["agonist"] = opioid[opioid["direction"] > 0]
            subsets["antagonist"] = opioid[opioid["direction"] < 0]
        for model in MODELS:
            if model in subsets and len(subsets[model]):
                yield family, model, subsets[model]


def samples(effects: pd.DataFrame, *, rho: float, min_k: int) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(family, model, one combined effect per sample group) for models with at least ``min_k`` samples."""
    for family, model, combined in all_samples(effects, rho=rho):
        if len(combined) >= min_k:
            yield family, model, combined


def all_samples(effects: pd.DataFrame, *, rho: float) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(family, model, one combined effect per sample group) for every model a family supports."""
    for family, model, rows in model_subsets(effects):
        yield family, model, by_sample_group(rows, yi="yi_harmonised", rho=rho)


def too_few(k: int, *, min_k: int) -> str:
    """Why a model with ``k`` independent samples is not pooled."""
    return f"not pooled: {k} independent sample(s) (sample groups), meta.min_k = {min_k} needed"


def pooled_table(effects: pd.DataFrame, *, methods: list[str], tests: list[str], rho: float, min_k: int, level: float) -> pd.DataFrame:
    """One row per family x model x tau^2 estimator x test (the META_POOLED contract).

    A model with fewer than ``min_k`` samples is one row with ``k`` and the reason in ``note``.
    """
    rows = []
    for family, model, combined in all_samples(effects, rho=rho):
        if len(combined) < min_k:
            log.warning("family '%s', model %s: %s", family, model, too_few(len(combined), min_k=min_k))
            rows.append({"family": family, "model": model, "k": len(combined), "note": too_few(len(combined), min_k=min_k)})
            continue
        for method in methods:
            for test in tests:
                fit = pool(combined["yi"], combined["vi"], method=method, test=test, level=level)
                if fit.tau2_ci_truncated:
                    log.warning("family '%s', model %s, %s: the Q-profile CI of tau^2 reaches the search limit %g (metafor prints '>')",
                                family, model, method, fit.tau2_ci_ub)
                pl_lb, pl_ub = tau2_profile_ci(combined["yi"], combined["vi"], method=method, tau2=fit.tau2, level=level)
                rows.append({"family": family, "model": model, **fit.row(), "tau2_pl_lb": pl_lb, "tau2_pl_ub": pl_ub, "note": ""})
    return pd.DataFrame(rows, columns=list(META_POOLED.columns))


@stage("meta_pool", level="run", outputs={"pooled": contracts.META_POOLED})
def run(*, inputs: dict, outputs: dict, cfg: dict) -> None:
    """The meta_pool job: results/meta/pooled.tsv from the harmonised effects."""
    meta = cfg["meta"]
    effects = read_table(inputs["effects"], META_EFFECTS)
    table = pooled_table(effects, methods=meta["methods"], tests=meta["tests"], rho=meta["overlap_rho"], min_k=meta["min_k"], level=meta["level"])
    write_tsv(table, outputs["pooled"], META_POOLED)
