"""Bayesian random-effects meta-analysis by numerical integration over tau (bayesmeta's method).

The normal-normal hierarchical model

    y_i | mu, tau ~ N(mu, v_i + tau^2),   mu ~ N(0, mu_prior_sd^2),   tau ~ Half-Normal(tau_prior_scale)

has, for fixed tau, a normal conditional posterior of mu: precision
P(tau) = sum w_i + 1 / mu_prior_sd^2 with w_i = 1 / (v_i + tau^2), mean
m(tau) = sum w_i y_i / P(tau). The marginal likelihood p(y | tau) (mu integrated out)
is closed-form too, so the joint posterior needs only a one-dimensional integral over
tau: p(tau | y) is p(y | tau) p(tau) normalised numerically, and the marginal
posterior of mu is the mixture of N(m(tau), 1/P(tau)) over it; a new study's true
effect is the mixture of N(m(tau), 1/P(tau) + tau^2). This is how R's bayesmeta
works (Röver 2020, J Stat Softw 93(6)), without MCMC. bayesmeta approximates the
mixture on a grid chosen by the DIRECT algorithm to a bounded divergence; here every
integral over tau is a composite 32-point Gauss-Legendre rule on 16 panels between the
points where the integrand has fallen by e^-60 from its maximum, which is exact to
about 1e-10 for these smooth integrands. Quantiles are roots of the mixture CDFs.

``bf10`` is the ratio of the marginal likelihoods of the data, each integrated over the
same tau prior: with mu ~ N(0, mu_prior_sd^2) against mu = 0 (bayesmeta's ``bayesfactor``
for the effect, given a proper prior on mu). Unlike a BF for a t test it depends on
``mu_prior_sd``: a wider prior on mu lowers it (the Jeffreys-Lindley effect).

Priors: Half-Normal(0.5) for tau on the scale of standardised mean differences is
discussed by Röver, Bender, Dias et al. (2021, Res Synth Methods 12:448-474) as weakly
informative (it puts 95 % of its mass below tau = 0.98, "fairly high" heterogeneity);
N(0, 1) for mu covers every plausible standardised effect. A sensitivity analysis
repeats each fit with the tau scale halved and doubled.

Overlapping samples: exactly as in the frequentist pooling
(:func:`opioidsocial.meta.pooled.samples`), the effects of one sample group in a
family/model are first combined into one by their GLS mean with the assumed
correlation ``meta.overlap_rho`` between their errors
(:mod:`opioidsocial.meta.overlap`; metafor's ``aggregate.escalc``), so ``k`` counts
independent samples and nobody enters twice; families with fewer than ``meta.min_k``
samples are not fitted, as in pooled.tsv.

Validation: against an independent nested quadrature with R's ``integrate`` and
``uniroot`` on metafor's ``dat.bcg`` (log risk ratios) and ``dat.raudenbush1985``
(standardised mean differences), to 1e-4 (tests/test_meta_bayes.py;
tests/fixtures/bayes/make_fixtures.R). bayesmeta itself is not installed here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import optimize, special, stats

from opioidsocial.errors import ConfigError, DataError
from opioidsocial.failsafe import stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import META_BAYES, META_EFFECTS, Folder
from opioidsocial.io.tables import read_table, write_tsv
from opioidsocial.meta.plots import save, slug
from opioidsocial.meta.pooled import samples

#: The prior analyses of every family/model: name and factor on the tau prior scale.
ANALYSES = (("primary", 1.0), ("tau scale x 0.5", 0.5), ("tau scale x 2", 2.0))

_LOG_DROP = 60.0
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(32)
_PANELS = 16


def _composite(log_f: Callable[[np.ndarray], np.ndarray], lo: float, hi: float, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights x exp(log_f - shift) of the composite Gauss-Legendre rule on [lo, hi]."""
    edges = np.linspace(lo, hi, _PANELS + 1)
    half = np.diff(edges)[:, None] / 2.0
    x = (edges[:-1, None] + half * (_NODES[None, :] + 1.0)).ravel()
    w = (half * _WEIGHTS[None, :]).ravel()
    return x, w * np.exp(log_f(x) - shift)


def _support(log_f: Callable[[np.ndarray], np.ndarray], scale: float) -> tuple[float, float, float]:
    """Where ``log_f`` (on tau >= 0) is within e^-60 of its maximum: (lo, hi, max)."""
    grid = np.concatenate([[0.0], np.geomspace(1e-6 * scale, 1e3 * scale, 600)])
    values = log_f(grid)
    best = int(np.argmax(values))
    left, right = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    if right > left:
        found = optimize.minimize_scalar(lambda t: -log_f(np.array([t]))[0], bounds=(left, right), method="bounded",
                                         options={"xatol": 1e-12 * scale})
        top = max(values[best], -found.fun)
    else:
        top = values[best]
    inside = np.nonzero(values > top - _LOG_DROP)[0]
    lo = grid[max(inside[0] - 1, 0)]
    hi = grid[min(inside[-1] + 1, len(grid) - 1)]
    return float(lo), float(hi), float(top)


@dataclass(frozen=True)
class BayesMeta:
    """The posterior of the normal-normal model for effects ``y`` with variances ``v``."""

    y: np.ndarray
    v: np.ndarray
    mu_prior_sd: float
    tau_prior_scale: float

    @classmethod
    def fit(cls, yi, vi, *, mu_prior_sd: float, tau_prior_scale: float) -> BayesMeta:
        y = np.asarray(yi, dtype=float)
        v = np.asarray(vi, dtype=float)
        if y.ndim != 1 or y.shape != v.shape or y.size == 0:
            raise DataError(f"need one variance per effect and at least one effect; got {y.size} effects and {v.size} variances",
                            fix="check the family's effects")
        if not (np.isfinite(y).all() and np.isfinite(v).all()):
            raise DataError("an effect or its sampling variance is missing or infinite", fix="drop or fix that effect")
        if (v <= 0).any():
            raise DataError(f"sampling variances must be positive; got {v[v <= 0].tolist()}",
                            fix="an effect with zero variance claims infinite precision: check its n and SDs")
        if not (mu_prior_sd > 0 and tau_prior_scale > 0):
            raise ConfigError(f"meta.bayes: mu_prior_sd ({mu_prior_sd}) and tau_prior_scale ({tau_prior_scale}) must be positive")
        return cls(y=y, v=v, mu_prior_sd=float(mu_prior_sd), tau_prior_scale=float(tau_prior_scale))

    # --- conditional quantities, vectorised over tau ---------------------------------
    def _conditional(self, tau: np.ndarray, *, null: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(log p(y | tau) [mu integrated, or mu = 0], mean m(tau), precision P(tau))."""
        tau = np.atleast_1d(tau)
        total = self.v[None, :] + tau[:, None] ** 2
        w = 1.0 / total
        base = -0.5 * (self.y.size * math.log(2 * math.pi) + np.log(total).sum(axis=1))
        wyy = (w * self.y**2).sum(axis=1)
        if null:
            return base - 0.5 * wyy, np.zeros_like(tau), np.full_like(tau, np.inf)
        precision = w.sum(axis=1) + 1.0 / self.mu_prior_sd**2
        mean = (w * self.y).sum(axis=1) / precision
        loglik = base - math.log(self.mu_prior_sd) - 0.5 * np.log(precision) - 0.5 * (wyy - precision * mean**2)
        return loglik, mean, precision

    def tau_prior_density(self, t) -> np.ndarray:
        return np.exp(self._log_prior(np.asarray(t, dtype=float)))

    def _log_prior(self, tau: np.ndarray) -> np.ndarray:
        c = self.tau_prior_scale
        return math.log(2.0) - 0.5 * math.log(2 * math.pi * c * c) - 0.5 * (tau / c) ** 2

    def _log_joint(self, tau: np.ndarray, *, null: bool = False) -> np.ndarray:
        return self._conditional(tau, null=null)[0] + self._log_prior(np.atleast_1d(tau))

    def _log_evidence(self, *, null: bool) -> float:
        def log_f(t):
            return self._log_joint(t, null=null)
        lo, hi, top = _support(log_f, self._scale)
        _, w = _composite(log_f, lo, hi, top)
        return top + math.log(w.sum())

    @cached_property
    def _scale(self) -> float:
        return max(self.tau_prior_scale, float(np.std(self.y)), float(np.sqrt(self.v.max())))

    @cached_property
    def _posterior(self) -> tuple[float, float, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(lo, hi, log max) of the tau posterior's support, and its nodes, normalised weights, m and P there."""
        lo, hi, top = _support(self._log_joint, self._scale)
        tau, w = _composite(self._log_joint, lo, hi, top)
        _, mean, precision = self._conditional(tau)
        return lo, hi, top + math.log(w.sum()), tau, w / w.sum(), mean, precision

    # --- summaries -------------------------------------------------------------------
    @property
    def log_bf10(self) -> float:
        return self._posterior[2] - self._log_evidence(null=True)

    @property
    def mu_mean(self) -> float:
        _, _, _, _, w, mean, _ = self._posterior
        return float(w @ mean)

    @property
    def mu_sd(self) -> float:
        _, _, _, _, w, mean, precision = self._posterior
        return float(math.sqrt(w @ (1.0 / precision + mean**2) - self.mu_mean**2))

    def mu_quantile(self, p: float) -> float:
        _, _, _, _, w, mean, precision = self._posterior
        return _mixture_quantile(p, w, mean, np.sqrt(1.0 / precision))

    def predictive_quantile(self, p: float) -> float:
        _, _, _, tau, w, mean, precision = self._posterior
        return _mixture_quantile(p, w, mean, np.sqrt(1.0 / precision + tau**2))

    def tau_cdf(self, t: float) -> float:
        lo, _, log_z, *_ = self._posterior
        if t <= lo:
            return 0.0
        _, w = _composite(self._log_joint, lo, t, log_z)
        return float(min(w.sum(), 1.0))

    def tau_quantile(self, p: float) -> float:
        lo, hi, *_ = self._posterior
        if self.tau_cdf(lo) >= p:
            return lo
        return float(optimize.brentq(lambda t: self.tau_cdf(t) - p, lo, hi, xtol=1e-12, rtol=1e-12))

    def tau_density(self, t) -> np.ndarray:
        return np.exp(self._log_joint(np.asarray(t, dtype=float)) - self._posterior[2])

    def mu_density(self, x) -> np.ndarray:
        _, _, _, _, w, mean, precision = self._posterior
        return stats.norm.pdf(np.asarray(x, dtype=float)[:, None], mean[None, :], np.sqrt(1.0 / precision)[None, :]) @ w

    def row(self, *, level: float) -> dict:
        """The summary columns of bayes.tsv (central intervals at ``level``)."""
        lower, upper = (1.0 - level) / 2.0, (1.0 + level) / 2.0
        log_bf = self.log_bf10
        return {
            "mu_prior_sd": self.mu_prior_sd, "tau_prior_scale": self.tau_prior_scale, "k": int(self.y.size), "level": level,
            "mu_mean": self.mu_mean, "mu_sd": self.mu_sd, "mu_median": self.mu_quantile(0.5),
            "mu_lb": self.mu_quantile(lower), "mu_ub": self.mu_quantile(upper),
            "tau_median": self.tau_quantile(0.5), "tau_lb": self.tau_quantile(lower), "tau_ub": self.tau_quantile(upper),
            "pred_lb": self.predictive_quantile(lower), "pred_ub": self.predictive_quantile(upper),
            "bf10": math.exp(log_bf), "log_bf10": log_bf,
        }


def _mixture_quantile(p: float, w: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> float:
    """The ``p`` quantile of the normal mixture sum w_j N(mean_j, sd_j^2)."""
    lo, hi = float(np.min(mean - 12 * sd)), float(np.max(mean + 12 * sd))
    def cdf(x):
        return float(w @ special.ndtr((x - mean) / sd)) - p
    return float(optimize.brentq(cdf, lo, hi, xtol=1e-13, rtol=1e-13))


def bayes_table(effects: pd.DataFrame, *, mu_prior_sd: float, tau_prior_scale: float, rho: float, min_k: int,
                level: float) -> tuple[pd.DataFrame, dict[tuple[str, str], BayesMeta]]:
    """bayes.tsv (the META_BAYES contract) and the primary fit of every family/model (for the plots)."""
    rows, primary = [], {}
    for family, model, combined in samples(effects, rho=rho, min_k=min_k):
        for analysis, factor in ANALYSES:
            fit = BayesMeta.fit(combined["yi"], combined["vi"], mu_prior_sd=mu_prior_sd, tau_prior_scale=factor * tau_prior_scale)
            rows.append({"family": family, "model": model, "analysis": analysis, **fit.row(level=level)})
            if factor == 1.0:
                primary[(family, model)] = fit
    return pd.DataFrame(rows, columns=list(META_BAYES.columns)), primary


def posterior_figure(fits: dict[str, BayesMeta], *, family: str, level: float) -> Figure:
    """Posterior densities of mu and tau of one family's models (primary prior), priors dashed."""
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    ax_mu, ax_tau = fig.subplots(1, 2)
    lower, upper = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    for colour, (model, fit) in zip(("#b2182b", "#2166ac", "#1b7837", "#4d4d4d"), fits.items()):
        lo, hi = fit.mu_quantile(0.0005), fit.mu_quantile(0.9995)
        x = np.linspace(lo - 0.2 * (hi - lo), hi + 0.2 * (hi - lo), 400)
        ax_mu.plot(x, fit.mu_density(x), color=colour, lw=1.4, label=f"{model} (k = {fit.y.size}, BF10 = {math.exp(fit.log_bf10):.3g})")
        ax_mu.axvspan(fit.mu_quantile(lower), fit.mu_quantile(upper), color=colour, alpha=0.08)
        t = np.linspace(0.0, fit.tau_quantile(0.999) * 1.2, 400)
        ax_tau.plot(t, fit.tau_density(t), color=colour, lw=1.4)
    first = next(iter(fits.values()))
    ax_mu.plot(x, stats.norm.pdf(x, 0, first.mu_prior_sd), color="0.5", ls="--", lw=0.8, label=f"prior N(0, {first.mu_prior_sd:g}^2)")
    ax_tau.plot(t, first.tau_prior_density(t), color="0.5", ls="--", lw=0.8, label=f"prior Half-Normal({first.tau_prior_scale:g})")
    ax_mu.axvline(0, color="0.6", lw=0.6)
    ax_mu.set_xlabel("mu (pooled effect)", fontsize=9)
    ax_tau.set_xlabel("tau (between-study SD)", fontsize=9)
    for ax in (ax_mu, ax_tau):
        ax.set_ylabel("posterior density", fontsize=9)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7, frameon=False)
    fig.suptitle(f"{family}: posterior (shaded: central {level:.0%} interval of mu)", fontsize=10)
    return fig


@stage("meta_bayes", level="run", outputs={"bayes": contracts.META_BAYES, "posterior": Folder()})
def run(*, inputs: dict, outputs: dict, cfg: dict) -> None:
    """The meta_bayes job: bayes.tsv and one posterior figure per family (``outputs`` posterior/<slug>.png, .svg)."""
    meta = cfg["meta"]
    out, fits = bayes_table(read_table(inputs["effects"], META_EFFECTS), mu_prior_sd=meta["bayes"]["mu_prior_sd"],
                            tau_prior_scale=meta["bayes"]["tau_prior_scale"], rho=meta["overlap_rho"], min_k=meta["min_k"], level=meta["level"])
    write_tsv(out, outputs["bayes"], META_BAYES)
    figures = Path(outputs["posterior"])
    figures.mkdir(parents=True, exist_ok=True)
    for family in sorted({family for family, _ in fits}):
        chosen = {model: fit for (fam, model), fit in fits.items() if fam == family}
        fig = posterior_figure(chosen, family=family, level=meta["level"])
        save(fig, figures / slug(family), dpi=meta["plot_dpi"])
