"""Sensitivity of each pooled family: leave-one-out, influence, small-study effects.

Run on the same independent samples and the same primary model (first of
``meta.methods`` and ``meta.tests``) as pooled.tsv:

* **leave-one-out**: the model refitted without each sample group in turn
  (Viechtbauer 2010), showing whether one sample carries the conclusion;
* **influence** diagnostics of Viechtbauer & Cheung (2010): externally
  studentised residuals, DFFITS, Cook's distance, covariance ratio, tau^2 and Q
  when a sample is left out, hat values and weights, and metafor's flag for
  influential samples (DFFITS, Cook's distance, hat value or DFBETAS beyond
  metafor's cut-offs), for every tau^2 estimator. They are computed with Wald (z)
  inference whatever ``meta.tests`` says: that is their definition in
  Viechtbauer & Cheung (2010);
* **small-study effects** (small_study.tsv, one row per analysis): Egger's
  regression test (the standard error as moderator; Egger et al. 1997; Sterne &
  Egger 2005) with its limit estimate, for every estimator of ``meta.methods``
  (:mod:`opioidsocial.meta.bias`); Duval & Tweedie's (2000) trim-and-fill (L0
  estimator; the filled estimate's CI is a Wald interval, as metafor's refit
  gives), implemented in :mod:`opioidsocial.meta.trimfill` so that a centre
  resting on a single study is that study, as in metafor; the 3PSM and 4PSM
  step-function selection models (:mod:`opioidsocial.meta.selection`); PET,
  PEESE and PET-PEESE; and the sign-flip permutation test of the pooled effect
  (``meta.permutation_iterations``, seeded by ``meta.permutation_seed``). The
  bias analyses need many studies: with fewer than ``meta.small_study_min_k``
  (default 10; Sterne et al. 2011) they are still computed but every row carries
  a warning that they cannot tell publication bias from chance or heterogeneity;
  at such k they are sensitivity analyses, not corrections (Carter et al. 2019).
  The permutation test is the exception: it is meant for small k.

Influence, Egger and trim-and-fill are validated
against metafor 3.8-1 on dat.bcg (tests/test_meta_sensitivity.py): trim-and-fill
imputes one study on the right and gives -0.6571, as DESIGN.md states.

References: Viechtbauer W, Cheung MWL (2010) Res Synth Methods 1:112-125. Egger M
et al. (1997) BMJ 315:629-634. Duval S, Tweedie R (2000) Biometrics 56:455-463.
Sterne JAC et al. (2011) BMJ 343:d4002. Carter EC et al. (2019) Adv Methods Pract
Psychol Sci 2:115-144.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

from opioidsocial.failsafe import stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import META_EFFECTS, META_INFLUENCE, META_LEAVE1OUT, META_SMALL_STUDY
from opioidsocial.io.tables import read_table, write_tsv
from opioidsocial.meta import bias, pooled, selection
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
    """Viechtbauer & Cheung (2010) influence diagnostics (Wald inference), one row per sample.

    As metafor's ``influence.rma.uni`` for an intercept-only model: each sample
    left out in turn (tau^2 re-estimated), with its flag for influential samples.
    """
    y, v = samples["yi"].to_numpy(), samples["vi"].to_numpy()
    k = len(y)
    full = pool(y, v, method=method, test="z")
    w = 1.0 / (v + full.tau2)
    hat = w / w.sum()
    rows = []
    for i in range(k):
        keep = np.arange(k) != i
        left = pool(y[keep], v[keep], method=method, test="z")
        change = full.estimate - left.estimate
        rows.append({
            "rstudent": (y[i] - left.estimate) / np.sqrt(v[i] + left.se**2 + left.tau2),
            "dffits": change / np.sqrt(hat[i] * (left.tau2 + v[i])),
            "cook_d": change**2 / full.se**2,
            "cov_r": left.se**2 / full.se**2,
            "tau2_del": left.tau2,
            "q_del": left.q,
            # DFBETAS: the change in units of the full data's SE at the left-out tau^2.
            "dfbetas": change * np.sqrt((1.0 / (v + left.tau2)).sum()),
        })
    inf = pd.DataFrame(rows)
    influential = ((inf["dffits"].abs() > 3 * np.sqrt(1 / (k - 1))) | (stats.chi2.cdf(inf["cook_d"], 1) > 0.5)
                   | (hat > 3 / k) | (inf["dfbetas"].abs() > 1))
    return pd.DataFrame({
        "sample_group": samples["sample_group"].to_numpy(),
        "studies": samples["label"].to_numpy(),
        **{name: inf[name].to_numpy() for name in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "q_del")},
        "hat": hat,
        "weight": 100 * hat,
        "influential": influential.to_numpy(dtype=bool),
    })


def small_study(samples: pd.DataFrame, *, methods: list[str], test: str, min_k: int, level: float = 0.95,
                permutation_iterations: int = 1000, permutation_seed: int = 1) -> pd.DataFrame:
    """Small-study analyses of one model (the META_SMALL_STUDY rows; ``methods[0]`` is the primary estimator).

    Egger's test for every estimator in ``methods``; trim-and-fill, the 3PSM and 4PSM
    selection models, PET, PEESE, PET-PEESE and the permutation test with the primary
    one. Every row but the permutation test's warns when k < ``min_k``.
    """
    y, v = samples["yi"].to_numpy(), samples["vi"].to_numpy()
    k, method = len(y), methods[0]
    few = (f"k = {k} < {min_k}: too few studies for small-study tests to distinguish publication bias "
           "from chance or heterogeneity (Sterne et al. 2011)") if k < min_k else ""
    rows = [bias.egger(y, v, method=m, test=test, level=level) for m in methods]
    tf = trimfill(y, v, method=method)
    rows.append({"analysis": "trimfill", "estimate": tf.filled.estimate, "ci_lb": tf.filled.ci_lb, "ci_ub": tf.filled.ci_ub,
                 "k0": tf.k0, "side": tf.side, "test": "z"})
    for name, steps in selection.MODELS.items():
        fit = selection.selection_model(y, v, steps=steps, equal_effects=method == "FE", level=level)
        deltas = dict(zip(("delta_2", "delta_3"), fit.delta))
        rows.append({"analysis": name, "statistic": fit.lrt, "df": float(fit.df), "p": fit.p, "estimate": fit.estimate,
                     "se": fit.se, "ci_lb": fit.ci_lb, "ci_ub": fit.ci_ub, "tau2": fit.tau2, **deltas,
                     "k_per_interval": ",".join(map(str, fit.k_per_interval)), "test": "LRT", "warning": fit.warning})
    rows += bias.pet_peese(y, v, level=level)
    perm = bias.permutation(y, v, method=method, test=test, iterations=permutation_iterations, seed=permutation_seed)
    table = pd.DataFrame([*rows, perm]).reindex(columns=[c for c in META_SMALL_STUDY.columns if c not in ("family", "model")])
    table["k"] = k
    table["method"] = table["method"].fillna(method)
    table["warning"] = [
        "; ".join(w for w in (own, "" if analysis == "permutation" else few) if isinstance(w, str) and w)
        for own, analysis in zip(table["warning"], table["analysis"])
    ]
    table["k0"] = table["k0"].astype("Int64")
    table["iterations"] = table["iterations"].astype("Int64")
    return table


def sensitivity_tables(family_samples, *, methods: list[str], test: str, level: float, small_study_min_k: int,
                       permutation_iterations: int = 1000, permutation_seed: int = 1) -> dict[str, pd.DataFrame]:
    """leave1out, influence and small_study tables over (family, model, samples) from :func:`opioidsocial.meta.pooled.samples`.

    Models with fewer than three samples have nothing to leave out and no slope
    to estimate; they are logged and skipped.
    """
    parts = {"leave1out": [], "influence": [], "small_study": []}
    for family, model, samples in family_samples:
        if len(samples) < 3:
            log.info("family '%s', model %s: %d samples; sensitivity analyses need at least 3", family, model, len(samples))
            continue
        method = methods[0]
        keys = {"family": family, "model": model, "method": method}
        parts["leave1out"].append(leave_one_out(samples, method=method, test=test, level=level).assign(**keys, test=test))
        parts["influence"].append(influence_table(samples, method=method).assign(**keys, test="z"))
        rows = small_study(samples, methods=methods, test=test, min_k=small_study_min_k, level=level,
                           permutation_iterations=permutation_iterations, permutation_seed=permutation_seed)
        for warning in dict.fromkeys(w for w in rows["warning"] if w):
            log.warning("family '%s', model %s: %s", family, model, warning)
        parts["small_study"].append(rows.assign(family=family, model=model))
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
    tables = sensitivity_tables(pooled.samples(effects, rho=meta["overlap_rho"], min_k=meta["min_k"]), methods=meta["methods"],
                                test=meta["tests"][0], level=meta["level"], small_study_min_k=meta["small_study_min_k"],
                                permutation_iterations=meta["permutation_iterations"], permutation_seed=meta["permutation_seed"])
    for name, table in tables.items():
        write_tsv(table, outputs[name], TABLES[name])
