"""Sensitivity of each pooled family: leave-one-out, influence, small-study effects.

Run on the same independent samples and the same primary model (first of
``meta.methods`` and ``meta.tests``) as pooled.tsv:

* **leave-one-out**: the model refitted without each sample group in turn
  (Viechtbauer 2010), showing whether one sample carries the conclusion;
* **influence** diagnostics of Viechtbauer & Cheung (2010): externally
  studentised residuals, DFFITS, Cook's distance, covariance ratio, tau^2 and Q
  when a sample is left out, hat values and weights, and metafor's flag for
  influential samples. They are computed with Wald (z) inference whatever
  ``meta.tests`` says: that is their definition in Viechtbauer & Cheung (2010),
  and pimeta's Knapp-Hartung variant departs from metafor's (rstudent by up to
  0.035 and cov_r by 0.048 on dat.bcg);
* **small-study effects**: Egger's regression test (the standard error as
  moderator; Egger et al. 1997; Sterne & Egger 2005) with its limit estimate,
  and Duval & Tweedie's (2000) trim-and-fill (L0 estimator; the filled estimate's
  CI is a Wald interval, as metafor's refit gives), implemented in
  :mod:`opioidsocial.meta.trimfill` so that a centre resting on a single study is
  that study, as in metafor. Both need many studies: with fewer than
  ``meta.small_study_min_k`` (default 10; Sterne et al. 2011) they are still
  computed but every row carries a warning that they cannot tell publication
  bias from chance or heterogeneity.

Influence and Egger come from pimeta; they and trim-and-fill are validated
against metafor 3.8-1 on dat.bcg (tests/test_meta_sensitivity.py): trim-and-fill
imputes one study on the right and gives -0.6571, as DESIGN.md states.

References: Viechtbauer W, Cheung MWL (2010) Res Synth Methods 1:112-125. Egger M
et al. (1997) BMJ 315:629-634. Duval S, Tweedie R (2000) Biometrics 56:455-463.
Sterne JAC et al. (2011) BMJ 343:d4002.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from pimeta.publication_bias import regtest
from pimeta.sensitivity import influence

from opioidsocial.failsafe import stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import META_EFFECTS, META_INFLUENCE, META_LEAVE1OUT, META_SMALL_STUDY
from opioidsocial.io.tables import read_table, write_tsv
from opioidsocial.meta import pooled
from opioidsocial.meta.random_effects import pool
from opioidsocial.meta.trimfill import trimfill

log = logging.getLogger(__name__)

def leave_one_out(samples: pd.DataFrame, *, method: str, test: str, level: float) -> pd.DataFrame:
    """The model refitted without each sample (rows of :func:`opioidsocial.meta.overlap.by_sample_group`)."""
    rows = []
    for i, left in enumerate(samples["label"]):
        rest = samples.drop(index=samples.index[i])
        fit = pool(rest["yi"], rest["vi"], method=method, test=test, level=level)
        rows.append({"left_out": left, **{k: getattr(fit, k) for k in ("k", "estimate", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "i2", "q", "q_p")}})
    return pd.DataFrame(rows)


def influence_table(samples: pd.DataFrame, *, method: str) -> pd.DataFrame:
    """Viechtbauer & Cheung (2010) influence diagnostics (Wald inference), one row per sample."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inf = influence(samples["yi"].to_numpy(), samples["vi"].to_numpy(), method=method, test="z")
    return pd.DataFrame({
        "sample_group": samples["sample_group"].to_numpy(),
        "studies": samples["label"].to_numpy(),
        "rstudent": inf.rstudent,
        "dffits": inf.dffits,
        "cook_d": inf.cook_d,
        "cov_r": inf.cov_r,
        "tau2_del": inf.tau2_del,
        "q_del": inf.qe_del,
        "hat": inf.hat,
        "weight": inf.weight,
        "influential": np.asarray(inf.is_infl, dtype=bool),
    })


def small_study(samples: pd.DataFrame, *, method: str, test: str, min_k: int) -> pd.DataFrame:
    """Egger's regression test and trim-and-fill, with a warning when k < ``min_k``."""
    y, v = samples["yi"].to_numpy(), samples["vi"].to_numpy()
    k = len(y)
    warning = (f"k = {k} < {min_k}: too few studies for small-study tests to distinguish publication bias "
               "from chance or heterogeneity (Sterne et al. 2011)") if k < min_k else ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eg = regtest(y, v, model="rma", method=method, test=test)
    tf = trimfill(y, v, method=method)
    return pd.DataFrame([
        {"analysis": "egger", "k": k, "statistic": eg.stat, "df": float(eg.df) if test != "z" else np.inf, "p": eg.p,
         "estimate": eg.intercept, "ci_lb": eg.intercept_ci_lower, "ci_ub": eg.intercept_ci_upper,
         "k0": pd.NA, "side": "", "test": test, "warning": warning},
        {"analysis": "trimfill", "k": k, "statistic": np.nan, "df": np.nan, "p": np.nan,
         "estimate": tf.filled.estimate, "ci_lb": tf.filled.ci_lb, "ci_ub": tf.filled.ci_ub,
         "k0": tf.k0, "side": tf.side, "test": "z", "warning": warning},
    ])


def sensitivity_tables(family_samples, *, method: str, test: str, level: float, small_study_min_k: int) -> dict[str, pd.DataFrame]:
    """leave1out, influence and small_study tables over (family, model, samples) from :func:`opioidsocial.meta.pooled.samples`.

    Models with fewer than three samples have nothing to leave out and no slope
    to estimate; they are logged and skipped.
    """
    parts = {"leave1out": [], "influence": [], "small_study": []}
    for family, model, samples in family_samples:
        if len(samples) < 3:
            log.info("family '%s', model %s: %d samples; sensitivity analyses need at least 3", family, model, len(samples))
            continue
        keys = {"family": family, "model": model, "method": method}
        parts["leave1out"].append(leave_one_out(samples, method=method, test=test, level=level).assign(**keys, test=test))
        parts["influence"].append(influence_table(samples, method=method).assign(**keys, test="z"))
        bias = small_study(samples, method=method, test=test, min_k=small_study_min_k).assign(**keys)
        if (bias["warning"] != "").any():
            log.warning("family '%s', model %s: %s", family, model, bias["warning"].iloc[0])
        parts["small_study"].append(bias)
    return {
        name: pd.concat(frames, ignore_index=True)[list(TABLES[name].columns)] if frames else TABLES[name].empty()
        for name, frames in parts.items()
    }


#: The job's outputs and their contracts.
TABLES = {"leave1out": META_LEAVE1OUT, "influence": META_INFLUENCE, "small_study": META_SMALL_STUDY}


@stage("meta_sensitivity", level="run", outputs={"leave1out": contracts.META_LEAVE1OUT, "influence": contracts.META_INFLUENCE, "small_study": contracts.META_SMALL_STUDY})
def run(*, inputs: dict, outputs: dict, cfg: dict) -> None:
    """The meta_sensitivity job: leave-one-out, influence and small-study tables."""
    meta = cfg["meta"]
    effects = read_table(inputs["effects"], META_EFFECTS)
    tables = sensitivity_tables(pooled.samples(effects, rho=meta["overlap_rho"], min_k=meta["min_k"]), method=meta["methods"][0], test=meta["tests"][0],
                                level=meta["level"], small_study_min_k=meta["small_study_min_k"])
    for name, table in tables.items():
        write_tsv(table, outputs[name], TABLES[name])
