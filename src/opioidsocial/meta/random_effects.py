"""Random-effects pooling and meta-regression of one set of effects (``rma.uni``).

``pool(yi, vi, method="REML", test="z", mods=None)`` fits the normal-normal
random-effects model ``y_i = x_i' beta + u_i + e_i``, ``u_i ~ N(0, tau^2)``,
``e_i ~ N(0, v_i)`` and returns what a forest plot and ``pooled.tsv`` need:
the estimate with its Wald (z) or Knapp-Hartung (t, k - p df) confidence interval
(``adhoc``: Knapp-Hartung never narrower than Wald, which it can be when Q is
small; Roever, Knapp & Friede 2015),
the prediction interval for the effect of a new study, tau^2 with its Q-profile
confidence interval, I^2, H^2 and Cochran's Q; with moderators also the
coefficients and the omnibus test of the moderators (QM: chi^2 for Wald, F for
Knapp-Hartung).

tau^2 estimators: FE (equal effects, tau^2 = 0), DL (DerSimonian & Laird 1986),
HE (Hedges 1983), HS (Hunter & Schmidt 2004), SJ (Sidik & Jonkman 2005), ML and
REML (Viechtbauer 2005; REML is the default), EB (Morris 1983) and PM (Paule &
Mandel 1982). Knapp & Hartung (2003) test; Q-profile CI for tau^2 (Viechtbauer
2007); I^2 and H^2 as in Higgins & Thompson (2002), generalised to meta-regression
as metafor does.

:func:`tau2_profile_ci` adds the profile-likelihood CI of tau^2 for ML and REML
(metafor's ``confint(type = "PL")``), :func:`statistics` the bare test statistics
that permutation tests refit many times.

The numerics are those of ``pimeta`` (a port of metafor's ``rma.uni``), which
reproduces metafor 3.8-1 on ``dat.bcg`` for every estimator, both tests, the
prediction interval, the Q-profile CI and the ablat + year meta-regression to
about 1e-10 (tests/test_meta_pool.py; fixtures from
tests/fixtures/metafor/meta_reference.R). Two known differences, neither used
here: pimeta's standard error of the DL tau^2 uses random-effects instead of
fixed-effect weights (0.069 off on dat.bcg), and its PM root is solved more
tightly than metafor's ``uniroot`` tolerance (tau^2 differs by 2.5e-5).

References: Viechtbauer W (2010) J Stat Softw 36(3); Viechtbauer W (2005) J Educ
Behav Stat 30:261-293; Viechtbauer W (2007) Stat Med 26:37-52; Knapp G, Hartung J
(2003) Stat Med 22:2693-2710; Higgins JPT, Thompson SG (2002) Stat Med
21:1539-1558; Roever C, Knapp G, Friede T (2015) BMC Med Res Methodol 15:99; Riley RD, Higgins JPT, Deeks JJ (2011) BMJ 342:d549 (prediction
intervals).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from pimeta.rma_uni import rma
from scipy import optimize, stats

from opioidsocial.errors import DataError
from opioidsocial.io.contracts import POOLED_FIELDS

METHODS = ("REML", "ML", "DL", "HE", "HS", "SJ", "EB", "PM", "FE")
TESTS = ("z", "knha", "adhoc")

#: The fields of one row of pooled.tsv, in order (after family and model).


class MetaAnalysisError(DataError):
    """Effects that cannot be pooled (too few, non-finite, collinear moderators); a family
    of the meta-analysis is what it leaves out."""

    level = "family"


@dataclass(frozen=True)
class Pooled:
    """One fitted random-effects model; the first fields are a row of pooled.tsv.

    For an intercept-only model ``estimate`` is the pooled effect. With moderators
    ``estimate``/``se``/``ci_*`` describe the intercept, ``pi_*`` are NaN,
    ``tau2``/``q`` are the residual heterogeneity, and ``coefficients``, ``qm``,
    ``qm_df``, ``qm_p`` and ``r2`` hold the meta-regression.
    """

    k: int
    estimate: float
    se: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float
    tau2: float
    tau2_ci_lb: float
    tau2_ci_ub: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p: float
    method: str
    test: str
    stat: float = math.nan
    p: float = math.nan
    df: float = math.inf
    coefficients: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    qm: float = math.nan
    qm_df: tuple = ()
    qm_p: float = math.nan
    r2: float = math.nan
    tau2_ci_truncated: bool = False

    def row(self) -> dict:
        """The pooled.tsv fields as a dict."""
        full = asdict(self)
        return {name: full[name] for name in POOLED_FIELDS}


def pool(yi, vi, method: str = "REML", test: str = "z", mods=None, *, level: float = 0.95) -> Pooled:
    """Fit a random-effects model (or meta-regression with ``mods``) to ``yi``, ``vi``.

    ``mods`` is a k x m array or DataFrame of moderator columns without an
    intercept (column names become term names). ``test`` is ``"z"`` (Wald),
    ``"knha"`` (Knapp-Hartung) or ``"adhoc"`` (Knapp-Hartung, at least as wide as Wald). Raises :class:`MetaAnalysisError` for fewer than
    two effects, no residual df, non-finite values or collinear moderators.
    """
    method, test = str(method).upper(), str(test).lower()
    if method not in METHODS:
        raise MetaAnalysisError(f"unknown tau^2 estimator {method!r}; use one of {list(METHODS)}")
    if test not in TESTS:
        raise MetaAnalysisError(f"unknown test {test!r}; use 'z' (Wald), 'knha' (Knapp-Hartung) or 'adhoc'")
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    if y.shape != v.shape:
        raise MetaAnalysisError(f"yi has {y.size} values but vi has {v.size}")
    if not (np.isfinite(y).all() and np.isfinite(v).all() and (v > 0).all()):
        raise MetaAnalysisError("yi must be finite and vi finite and > 0 for every effect")
    names, X = moderator_matrix(mods, y.size)
    p = 1 + (0 if X is None else X.shape[1])
    if y.size < 2 or y.size - p < 1:
        raise MetaAnalysisError(f"{y.size} effect(s) cannot be pooled with {p} coefficient(s); need at least {p + 1}")
    with warnings.catch_warnings():
        # pimeta warns that Knapp-Hartung is not meant for FE models (as metafor does); the caller chose it.
        warnings.simplefilter("ignore")
        fit = _rma(y, v, X, method=method, test=test, level=level)
        ci = fit.confint() if method != "FE" else None
        pred = fit.predict() if (X is None and method != "FE") else None

    nan = math.nan
    df = float(fit.ddf) if fit.ddf is not None else math.inf
    coefficients = pd.DataFrame(
        {
            "term": names,
            "estimate": fit.b,
            "se": fit.se,
            "stat": fit.zval,
            "df": df,
            "p": fit.pval,
            "ci_lb": fit.ci_lb,
            "ci_ub": fit.ci_ub,
        }
    )
    moderated = X is not None
    return Pooled(
        k=int(fit.k),
        estimate=fit.b[0],
        se=fit.se[0],
        ci_lb=fit.ci_lb[0],
        ci_ub=fit.ci_ub[0],
        pi_lb=pred.pi_lb if pred is not None else nan,
        pi_ub=pred.pi_ub if pred is not None else nan,
        tau2=fit.tau2,
        tau2_ci_lb=ci.tau2_lb if ci is not None else nan,
        tau2_ci_ub=ci.tau2_ub if ci is not None else nan,
        i2=fit.I2,
        h2=fit.H2,
        q=fit.QE,
        q_df=int(fit.k - fit.p),
        q_p=fit.QEp,
        method=method,
        test=test,
        stat=fit.zval[0],
        p=fit.pval[0],
        df=df,
        coefficients=coefficients,
        qm=fit.QM if moderated else nan,
        qm_df=tuple(d for d in fit.QMdf if d is not None) if moderated else (),
        qm_p=fit.QMp if moderated else nan,
        r2=fit.R2 if (moderated and fit.R2 is not None) else nan,
        # metafor reports an upper bound at its search limit as "> bound".
        tau2_ci_truncated=bool(ci is not None and ">" in (ci.lb_sign + ci.ub_sign)),
    )


def _rma(y: np.ndarray, v: np.ndarray, X: np.ndarray | None, *, method: str, test: str, level: float):
    """pimeta's fit of checked inputs, its failures as MetaAnalysisError."""
    try:
        return rma(y, v, mods=X, method=method, test=test, level=level)
    except (ValueError, np.linalg.LinAlgError) as err:
        raise MetaAnalysisError(f"the model cannot be fitted: {err}") from err


def statistics(yi, vi, *, method: str, test: str, mods: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """The coefficients' z (or t) statistics and QM (NaN without moderators), without the intervals :func:`pool` adds.

    For permutation tests, which refit one checked set of effects many times.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = _rma(np.asarray(yi, dtype=float), np.asarray(vi, dtype=float), mods, method=method, test=test, level=0.95)
    return np.asarray(fit.zval, dtype=float), float(fit.QM) if mods is not None else math.nan


def _profile_loglik(y: np.ndarray, v: np.ndarray, tau2: float, *, restricted: bool) -> float:
    """(Restricted) log-likelihood of the intercept-only model at ``tau2``, the mean profiled out (constants dropped)."""
    w = 1.0 / (v + tau2)
    mu = (w @ y) / w.sum()
    ll = -0.5 * (np.log(v + tau2).sum() + (w * (y - mu) ** 2).sum())
    return ll - 0.5 * math.log(w.sum()) if restricted else ll


def tau2_profile_ci(yi, vi, *, method: str, tau2: float, level: float = 0.95) -> tuple[float, float]:
    """Profile-likelihood CI of tau^2 for an ML or REML fit with estimate ``tau2`` (metafor's ``confint(type = "PL")``).

    The bounds are where twice the drop of the (restricted) log-likelihood from its
    maximum reaches the chi^2(1) quantile; the lower bound is 0 when tau^2 = 0 is
    inside. Other estimators have no likelihood: (NaN, NaN).
    """
    if method not in ("ML", "REML"):
        return math.nan, math.nan
    y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    restricted = method == "REML"
    top = _profile_loglik(y, v, tau2, restricted=restricted)
    crit = stats.chi2.ppf(level, 1)

    def excess(t: float) -> float:
        return 2 * (top - _profile_loglik(y, v, t, restricted=restricted)) - crit

    lower = 0.0 if excess(0.0) <= 0 else optimize.brentq(excess, 0.0, tau2, xtol=1e-14, rtol=1e-12)
    high = max(10 * tau2, 1.0)
    while excess(high) < 0:
        high *= 10
    return float(lower), float(optimize.brentq(excess, tau2, high, xtol=1e-14, rtol=1e-12))


def moderator_matrix(mods, k: int) -> tuple[list[str], np.ndarray | None]:
    """Term names (with the intercept) and the k x m moderator matrix (None without moderators)."""
    if mods is None:
        return ["intrcpt"], None
    if isinstance(mods, pd.DataFrame):
        names, X = [str(c) for c in mods.columns], mods.to_numpy(dtype=float)
    else:
        X = np.asarray(mods, dtype=float)
        X = X.reshape(-1, 1) if X.ndim == 1 else X
        names = [f"mods{j + 1}" for j in range(X.shape[1])]
    if X.shape[0] != k:
        raise MetaAnalysisError(f"mods has {X.shape[0]} rows for {k} effects")
    if not np.isfinite(X).all():
        raise MetaAnalysisError("mods has missing or non-finite values")
    if X.shape[1] == 0:
        return ["intrcpt"], None
    if np.linalg.matrix_rank(np.column_stack([np.ones(k), X])) < X.shape[1] + 1:
        raise MetaAnalysisError(f"moderators {names} are constant or collinear in these effects")
    return ["intrcpt", *names], X
