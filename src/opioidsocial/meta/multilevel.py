"""Multilevel meta-analysis with cluster-robust (CR2) inference by sample group.

One study contributes several effects (muscles, emotions, ROIs), and some studies
report on the same people (Korb 2020 and 2023; Hsu 2013 and 2015). Pooling such
effects as if they were independent overstates the evidence. The model here is
``rma.mv(yi, vi, random = ~ 1 | sample_group/study/effect)`` (Konstantopoulos
2011; Van den Noortgate et al. 2013): random intercepts for each sample group,
each study within it, and each effect within a study. Levels that add no
grouping (every sample group holds one study; every study one effect) are left
out, because their variance is not identified separately.

Inference does not trust that working model: the coefficients are tested with
the CR2 ("bias-reduced linearisation") cluster-robust variance with clusters =
sample groups and Satterthwaite degrees of freedom (Bell & McCaffrey 2002;
Tipton 2015), and several coefficients together with the approximate Hotelling
T^2-Z test (HTZ; Tipton & Pustejovsky 2015), as clubSandwich computes them. With
few sample groups the degrees of freedom are small and the intervals wide; that
is the honest answer, not a defect (Tipton recommends caution when df < 4).

The model fit and the CR2 variance are pimeta's ``rma_mv``/``robust``
(``clubSandwich=True``), validated against metafor 3.8-1 + clubSandwich 0.5.8 on
``dat.konstantopoulos2011`` and a simulated sample-group data set
(tests/fixtures/metafor/meta_reference.R) to about 1e-6. pimeta has no
multi-coefficient small-sample Wald test, so HTZ is computed here following
clubSandwich's ``Wald_testing``, from the CR2 variance ``robust`` returns and the
CR2 adjustment matrices rebuilt from the fit's public model matrix and marginal
covariance (pimeta keeps its own in a private function).

References: Konstantopoulos S (2011) Res Synth Methods 2:61-76. Van den Noortgate
W et al. (2013) Behav Res Methods 45:576-594. Bell RM, McCaffrey DF (2002) Surv
Methodol 28:169-181. Tipton E (2015) Psychol Methods 20:375-393. Tipton E,
Pustejovsky JE (2015) J Educ Behav Stat 40:604-634. Pustejovsky JE, Tipton E
(2018) J Bus Econ Stat 36:672-683.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pimeta.rma_mv import rma_mv, robust
from scipy import stats

from opioidsocial.failsafe import stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import META_EFFECTS, META_MULTILEVEL
from opioidsocial.io.tables import read_table, write_tsv
from opioidsocial.meta.metareg import dummies, moderator_values
from opioidsocial.meta.random_effects import MetaAnalysisError, moderator_matrix

LEVELS = ("sample_group", "study", "effect")


@dataclass(frozen=True)
class Multilevel:
    """A fitted multilevel model with CR2 inference by sample group.

    ``coefficients`` has one row per term: estimate, model-based ``se_model``,
    CR2 ``se``, Satterthwaite ``df``, ``stat`` (t), ``p`` and the CI. ``sigma2``
    maps each level to its variance (NaN for a level left out). ``qm``/``qm_df``/
    ``qm_p`` are the HTZ test of all moderator coefficients (NaN without mods).
    """

    k: int
    n_studies: int
    n_clusters: int
    method: str
    coefficients: pd.DataFrame
    sigma2: dict
    q: float
    q_df: int
    q_p: float
    qm: float = math.nan
    qm_df: tuple = ()
    qm_p: float = math.nan
    levels: tuple = field(default=())

    @property
    def estimate(self) -> float:
        return float(self.coefficients["estimate"].iloc[0])


def pool_multilevel(yi, vi, study, sample_group, *, mods=None, method: str = "REML", level: float = 0.95) -> Multilevel:
    """Pool effects nested in studies nested in sample groups; CR2 tests by sample group.

    ``study`` and ``sample_group`` are labels, one per effect. ``mods`` as in
    :func:`opioidsocial.meta.random_effects.pool`. Raises :class:`MetaAnalysisError`
    with fewer sample groups than coefficients + 1, or non-finite inputs.
    """
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    data = pd.DataFrame({"study": np.asarray(study, dtype=str), "sample_group": np.asarray(sample_group, dtype=str)})
    if not (len(data) == y.size == v.size):
        raise MetaAnalysisError(f"yi, vi, study and sample_group must have one value per effect ({y.size}, {v.size}, {len(data)})")
    if not (np.isfinite(y).all() and np.isfinite(v).all() and (v > 0).all()):
        raise MetaAnalysisError("yi must be finite and vi finite and > 0 for every effect")
    method = str(method).upper()
    if method not in ("REML", "ML"):
        raise MetaAnalysisError(f"multilevel models are fitted by REML or ML, not {method!r}")
    names, X = moderator_matrix(mods, y.size)
    p = len(names)
    # A study id is only unique within its sample group in the nesting formula.
    data["study"] = data["sample_group"] + ":" + data["study"]
    data["effect"] = [f"e{i}" for i in range(y.size)]
    n_clusters = data["sample_group"].nunique()
    n_studies = data["study"].nunique()
    if n_clusters < p + 1:
        raise MetaAnalysisError(
            f"{n_clusters} sample group(s) cannot support cluster-robust tests of {p} coefficient(s); need at least {p + 1}"
        )
    levels = ["sample_group"]
    if n_studies > n_clusters:
        levels.append("study")
    if y.size > n_studies:
        levels.append("effect")
    if y.size - p < 1:
        raise MetaAnalysisError(f"{y.size} effects cannot be pooled with {p} coefficient(s)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = rma_mv(y, v, mods=X, data=data, random="~ 1 | " + "/".join(levels), method=method, level=100 * level)
            rob = robust(fit, cluster=data["sample_group"].to_numpy(), clubSandwich=True, vcov="CR2")
        except (ValueError, np.linalg.LinAlgError) as err:
            raise MetaAnalysisError(f"the multilevel model cannot be fitted: {err}") from err
    coefficients = pd.DataFrame(
        {
            "term": names,
            "estimate": rob["beta"],
            "se_model": fit.se,
            "se": rob["se"],
            "stat": rob["zval"],
            "df": rob["dfs"],
            "p": rob["pval"],
            "ci_lb": rob["ci_lb"],
            "ci_ub": rob["ci_ub"],
        }
    )
    sigma2 = {name: math.nan for name in LEVELS}
    sigma2.update(zip(levels, map(float, fit.sigma2)))
    qm, qm_df, qm_p = (math.nan, (), math.nan)
    if p > 1:
        qm, qm_df, qm_p = htz_test(fit, vcov=rob["vb"], cluster=data["sample_group"].to_numpy(), terms=list(range(1, p)))
    return Multilevel(
        k=int(y.size),
        n_studies=int(n_studies),
        n_clusters=int(n_clusters),
        method=method,
        coefficients=coefficients,
        sigma2=sigma2,
        q=float(fit.qe),
        q_df=int(fit.qe_df),
        q_p=float(fit.qe_p),
        qm=qm,
        qm_df=qm_df,
        qm_p=qm_p,
        levels=tuple(levels),
    )


def htz_test(fit, *, vcov: np.ndarray, cluster: np.ndarray, terms: list[int]) -> tuple[float, tuple[float, float], float]:
    """Approximate Hotelling T^2-Z test that the coefficients ``terms`` are all zero.

    Follows clubSandwich's ``Wald_testing`` (Tipton & Pustejovsky 2015): the Wald
    statistic with the CR2 variance ``vcov`` (from ``robust``), and degrees of
    freedom from the variance of the CR2 estimator under the working model.
    Returns (F, (q, df), p).
    """
    E_list, X_list, Omega_list, B = _cr2_parts(fit, cluster)
    beta = np.asarray(fit.beta, dtype=float)
    p = beta.size
    C = np.eye(p)[terms]
    q = C.shape[0]
    L = np.linalg.cholesky(B)
    # G_j = C B E_j chol(Omega_j) and H_j = C B E_j X_j chol(B), per cluster (clubSandwich's GH).
    G = [C @ B @ E @ np.linalg.cholesky(Om) for E, Om in zip(E_list, Omega_list)]
    H = np.stack([C @ B @ E @ Xj @ L for E, Xj in zip(E_list, X_list)], axis=2)  # q x p x J
    J = H.shape[2]
    P = -np.einsum("suj,tuk->stjk", H, H)
    idx = np.arange(J)
    P[:, :, idx, idx] += np.stack([g @ g.T for g in G], axis=2)
    omega = np.einsum("stjj->st", P)
    evals, evecs = np.linalg.eigh(omega)
    omega_nsqrt = (evecs / np.sqrt(evals)) @ evecs.T
    Bjk = np.einsum("as,stjk,tb->abjk", omega_nsqrt, P, omega_nsqrt)
    var = np.einsum("stjk,tsjk->st", Bjk, Bjk) + np.einsum("ssjk,ttjk->st", Bjk, Bjk)
    nu = q * (q + 1) / var.sum()
    b = C @ beta
    wald = float(b @ np.linalg.solve(C @ vcov @ C.T, b))
    df = nu - q + 1
    f_stat = max(df / nu, 0.0) * wald / q
    p_value = float(stats.f.sf(f_stat, q, df)) if df > 0 else math.nan
    return float(f_stat), (float(q), float(df)), p_value


def _cr2_parts(fit, cluster: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Per-cluster CR2 adjusted estimating matrices E_j, model matrices X_j, working covariances M_j, and the bread B.

    clubSandwich's ``vcovCR(type = "CR2", inverse_var = TRUE)`` for ``rma.mv``
    (Pustejovsky & Tipton 2018): W = M^-1, B = (X'WX)^-1, and per cluster
    E_j = X_j' W_j A_j with A_j = L_j (L_j' (I - X_j B X_j' W_j) M_j L_j)^(-1/2) L_j',
    L_j the Cholesky factor of M_j. Clusters in first-seen order, as R's factor levels.
    """
    X, M = np.asarray(fit.X, dtype=float), np.asarray(fit.M, dtype=float)
    W = np.linalg.inv(M)
    B = np.linalg.inv(X.T @ W @ X)
    _, first, codes = np.unique(cluster, return_index=True, return_inverse=True)
    E_list, X_list, Omega_list = [], [], []
    for code in np.argsort(first):
        g = np.flatnonzero(codes == code)
        Xj, Mj = X[g], M[np.ix_(g, g)]
        XWj = Xj.T @ W[np.ix_(g, g)]
        L = np.linalg.cholesky(Mj)
        G = L.T @ (np.eye(g.size) - Xj @ B @ XWj) @ Mj @ L
        evals, evecs = np.linalg.eigh(G)
        # clubSandwich's matrix power: eigenvalues that are numerically zero stay zero.
        G_nsqrt = (evecs * np.where(evals > 1e-12, evals, np.inf) ** -0.5) @ evecs.T
        E_list.append(XWj @ (L @ G_nsqrt @ L.T))
        X_list.append(Xj)
        Omega_list.append(Mj)
    return E_list, X_list, Omega_list, B


def multilevel_table(effects: pd.DataFrame, *, models: list[dict], method: str, level: float) -> pd.DataFrame:
    """Rows of multilevel.tsv: one per model x scope x term (or one with a note when not fitted).

    Each entry of ``models`` is ``{name, scope, moderators}``: scope ``family`` fits
    every family's opioid effects separately, ``all`` fits the opioid effects of
    all families on the ``d`` scale together (with the moderators, so that
    families of different meaning are compared rather than averaged).
    """
    opioid = effects[effects["direction"] != 0]
    rows = []
    for spec in models:
        mods = list(spec.get("moderators", []))
        if spec["scope"] == "family":
            scopes = list(opioid.groupby("family", sort=True))
        else:
            scopes = [("all", opioid[opioid["scale"] == "d"])]
        for scope, part in scopes:
            base = {"model": spec["name"], "scope": scope, "method": method}
            labels = pd.DataFrame({m: moderator_values(part, m) for m in mods}, index=part.index)
            complete = labels.notna().all(axis=1)
            part, labels = part[complete], labels[complete]
            dropped = int((~complete).sum())
            note = f"{dropped} effect(s) without {'/'.join(mods)} left out" if dropped else ""
            try:
                X = dummies(labels) if mods else None
                fit = pool_multilevel(part["yi_harmonised"], part["vi"], part["study"], part["sample_group"],
                                      mods=X if X is not None and X.shape[1] else None, method=method, level=level)
            except MetaAnalysisError as err:
                rows.append({**base, "k": len(part), "n_studies": part["study"].nunique(),
                             "n_sample_groups": part["sample_group"].nunique(), "note": "; ".join(filter(None, [note, str(err)]))})
                continue
            df1, df2 = (tuple(fit.qm_df) + (math.nan, math.nan))[:2]
            shared = {
                "k": fit.k, "n_studies": fit.n_studies, "n_sample_groups": fit.n_clusters,
                **{f"sigma2_{lv}": fit.sigma2[lv] for lv in LEVELS},
                "q": fit.q, "q_df": fit.q_df, "q_p": fit.q_p, "qm": fit.qm, "qm_df1": df1, "qm_df2": df2, "qm_p": fit.qm_p,
                "note": note,
            }
            for coef in fit.coefficients.to_dict("records"):
                rows.append({**base, **shared, **coef})
    return pd.DataFrame(rows, columns=list(META_MULTILEVEL.columns))


@stage("meta_multilevel", level="run", outputs={"multilevel": contracts.META_MULTILEVEL})
def run(*, inputs: dict, outputs: dict, cfg: dict) -> None:
    """The meta_multilevel job: results/meta/multilevel.tsv."""
    meta = cfg["meta"]
    effects = read_table(inputs["effects"], META_EFFECTS)
    table = multilevel_table(effects, models=meta["multilevel"]["models"], method=meta["multilevel"]["method"], level=meta["level"])
    write_tsv(table, outputs["multilevel"], META_MULTILEVEL)
