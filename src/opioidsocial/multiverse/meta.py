"""The multiverse meta job: the pooled estimate of every meta-analysis family in every universe its studies share.

The harmonised effects of the meta-analysis (``meta/effects.parquet``) are pooled
once per universe, with each multiverse study's effects replaced by that universe's
(its ``specifications.tsv``), the other studies' effects as they are, by the
primary analysis of ``pooled.tsv`` (the first of ``meta.methods`` and
``meta.tests``, sample groups combined with ``meta.overlap_rho``, models with
``meta.min_k`` samples; :mod:`opioidsocial.meta.pooled`). Only the families that hold an
effect of a multiverse study, in the universes every multiverse study of the family
has: so the meta-analytic conclusion gets its own specification curve.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from opioidsocial.failsafe import stage
from opioidsocial.io.contracts import META_EFFECTS, META_MULTIVERSE, MULTIVERSE_SPECIFICATIONS
from opioidsocial.io.tables import read_table, read_tsv, write_tsv
from opioidsocial.meta.pooled import samples
from opioidsocial.meta.random_effects import pool
from opioidsocial.multiverse.study import grid_columns

log = logging.getLogger(__name__)

KEY = ["study", "contrast", "outcome"]


def meta_multiverse(effects: pd.DataFrame, specs: pd.DataFrame, *, grid: dict, meta: dict) -> pd.DataFrame:
    """META_MULTIVERSE rows: family x model x universe, the primary pooled estimate and its test."""
    studies = set(specs["study"])
    rows = []
    for family, part in effects.groupby("family", sort=True):
        mine = part[part["study"].isin(studies)]
        if mine.empty:
            continue
        theirs = specs.merge(mine[KEY], on=KEY)
        shared = set.intersection(*(set(g["universe"]) for _, g in theirs.groupby("study")))
        for universe in sorted(shared):
            values = theirs[theirs["universe"] == universe].set_index(KEY)[["yi", "vi"]]
            table = part.set_index(KEY)
            replaced = table.index.isin(values.index)
            table.loc[replaced, ["yi", "vi"]] = values.loc[table.index[replaced]].to_numpy()
            table["yi_harmonised"] = np.where(table["direction"] != 0, table["yi"] * table["direction"], table["yi"])
            for _, model, combined in samples(table.reset_index(), rho=meta["overlap_rho"], min_k=meta["min_k"]):
                fit = pool(combined["yi"], combined["vi"], method=meta["methods"][0], test=meta["tests"][0], level=meta["level"])
                rows.append({"family": family, "model": model, "universe": universe, "k": fit.k, "estimate": fit.estimate,
                             "ci_lb": fit.ci_lb, "ci_ub": fit.ci_ub, "p": fit.p})
    out = pd.DataFrame(rows, columns=["family", "model", "universe", "k", "estimate", "ci_lb", "ci_ub", "p"])
    keys = grid_columns(pd.Series(sorted(set(out["universe"]))), grid)
    out = out.merge(keys, on="universe")
    return out[META_MULTIVERSE.expected(out.columns)].sort_values(["family", "model", "universe"], kind="stable").reset_index(drop=True)


@stage("multiverse_meta", level="run", outputs={"table": META_MULTIVERSE})
def run(*, inputs: dict, outputs: dict, cfg: dict) -> None:
    """results/meta/multiverse.tsv from ``inputs`` effects (META_EFFECTS) and specifications (the multiverse studies')."""
    effects = read_table(inputs["effects"], META_EFFECTS)
    specs = pd.concat([read_tsv(p, MULTIVERSE_SPECIFICATIONS) for p in inputs["specifications"]], ignore_index=True)
    table = meta_multiverse(effects, specs, grid=cfg["multiverse"]["grid"], meta=cfg["meta"])
    log.info("meta multiverse: %d family x model x universe rows", len(table))
    write_tsv(table, outputs["table"], META_MULTIVERSE)
