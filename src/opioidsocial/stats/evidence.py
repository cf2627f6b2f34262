"""Evidence for an effect and for its absence: JZS Bayes factors and equivalence tests.

A p value above alpha cannot say that an effect is absent. Two tools can:

**JZS Bayes factor of a t test** (Rouder, Speckman, Sun, Morey & Iverson 2009, Psychon
Bull Rev 16:225-237). Under H1 the standardised effect delta has a Cauchy prior with
scale ``rscale`` (written as delta | g ~ N(0, g rscale^2), g ~ Inverse-Gamma(1/2, 1/2)),
under H0 delta = 0; the variance has Jeffreys' prior under both. With the effective
sample size N and df nu (paired / one-sample: N = n, nu = n - 1; two independent
groups with pooled variance: N = n1 n2 / (n1 + n2), nu = n1 + n2 - 2),

    BF10 = int_0^inf (1 + N g r^2)^(-1/2) (1 + t^2 / ((1 + N g r^2) nu))^(-(nu+1)/2)
           p(g) dg  /  (1 + t^2 / nu)^(-(nu+1)/2)             (Rouder et al. 2009, eq. 1).

It is integrated here over u = log g, in log space and shifted by the log integrand's
maximum, between the points where the integrand has fallen by e^-60 on either side
of its mode, so that t = 50 or n = 10,000 neither overflow nor miss the peak.
BayesFactor's ``ttestBF`` (0.9.12-4.4, the version of the fixtures) integrates the
same model over delta instead (the noncentral t density times the Cauchy prior,
``meta.t.bf``, with R's ``integrate`` at its default tolerance); the two integrals are
equal analytically. They agree to 1e-6 relative for every fixture with |t| < 15, and
at t = 15 for n = 20 and 200 (paired) and 4 + 5, 20 + 22, 100 + 100 (two groups); with
fewer people BayesFactor's quadrature drifts from the exact value (at t = 15 by 1.7e-4
for n = 3 and 1.5e-5 for n = 5 or 3 + 3; at t = 30 by up to 0.6 %, at t = 57, n = 6 by 3 %),
while this integral matches Rouder's integral computed by ``integrate(rel.tol = 1e-13)``
and scipy's noncentral t route to 1e-9 (tests/test_evidence.py,
tests/fixtures/bayes/evidence.json). For |t| > 15 BayesFactor prints "t is large;
approximation invoked" but, for the two-sided test used here, still returns its
quadrature.

**JZS Bayes factor of a Pearson correlation** (Ly, Verhagen & Wagenmakers 2016, J Math
Psychol 72:19-32), what ``BayesFactor::correlationBF`` returns: rho has a stretched
Beta(1/kappa, 1/kappa) prior on (-1, 1), and

    BF10 = 2^(1 - 2/kappa) sqrt(pi) / B(1/kappa, 1/kappa)
           Gamma((n + 2/kappa - 1)/2) / Gamma((n + 2/kappa)/2)
           2F1((n-1)/2, (n-1)/2; (n + 2/kappa)/2; r^2).

BayesFactor's ``rscale`` for correlations *is* kappa (its "medium" = 1/3, i.e. a
Beta(3, 3) prior; kappa = 1 is uniform on rho), not the Cauchy scale of the t tests.
The hypergeometric function is summed after Euler's transformation
2F1(a, a; c; z) = (1 - z)^(c - 2a) 2F1(c - a, c - a; c; z), whose parameter
c - a = 1/kappa + 1/2 does not grow with n, so the series stays short and is summed
in log space (BayesFactor sums the untransformed series to at most 2,000 terms).

**Equivalence by two one-sided tests** (TOST; Lakens 2017, Soc Psychol Personal Sci
8:355-362; Schuirmann 1987): the mean difference is tested against the lower bound
-sesoi x SD (H0: difference <= lower) and the upper bound +sesoi x SD (H0: difference
>= upper) with Student t tests; ``tost_p`` is the larger one-sided p value and the
effect is declared equivalent to zero when ``tost_p < alpha``. The SD that scales the
bounds is the pooled SD for two groups (df n1 + n2 - 2) and the SD of the paired
differences for paired data (df n - 1), so ``sesoi`` is on the scale of Cohen's d
or d_z, as in TOSTER's ``tsum_TOST`` with ``eqbound_type = "SMD"``.
The values match R's ``pt`` computed by hand (tests/fixtures/bayes/make_fixtures.R).

**Label**: bf10 >= 3 "evidence for a difference", bf10 <= 1/3 "evidence for no
difference", otherwise "inconclusive" (Jeffreys 1961's "substantial" evidence; the
conventional threshold in psychology, e.g. Wagenmakers et al. 2018).

Differences from R: the large-t accuracy above; ``correlationBF`` returns NA where its
2,000-term series does not converge (r^2 near 1), here the transformed series gives the
value; ``ttestBF`` stops when t is infinite ("data are essentially constant"), here
constant data raise a DataError. No interval (one-sided) nulls, no posterior sampling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special, stats

from opioidsocial.errors import DataError
from opioidsocial.io.contracts import EVIDENCE
from opioidsocial.io.tables import read_tsv

#: Thresholds of the label: BF10 at or above the first, or at or below the second.
EVIDENCE_FOR = 3.0
EVIDENCE_AGAINST = 1.0 / 3.0
LABELS = ("evidence for a difference", "evidence for no difference", "inconclusive")

#: How far (in log units) below its maximum the integrand may fall at the ends of the
#: integration range; e^-60 is far below double precision of the integral.
_LOG_DROP = 60.0
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _check_sizes(n1: int, n2: int | None) -> None:
    if n1 < 2 or (n2 is not None and n2 < 1) or (n2 is not None and n1 + n2 < 3):
        raise DataError(f"a t test needs at least 2 observations (and 3 for two groups); got n1 = {n1}, n2 = {n2}",
                        fix="leave the cell out or collect more participants")


def log_ttest_bf(*, t: float, n1: int, n2: int | None = None, rscale: float) -> float:
    """log BF10 of a paired / one-sample (``n2`` None) or two-sample Student t test."""
    _check_sizes(n1, n2)
    if not math.isfinite(t):
        raise DataError(f"t = {t}: the data are essentially constant, so no Bayes factor can be computed",
                        fix="check the cell for identical values (a flat channel or a constant input)")
    if not rscale > 0:
        raise DataError(f"the prior scale must be positive; got {rscale}", fix="set evidence.prior_scale > 0")
    if n2 is None:
        n_eff, nu = float(n1), float(n1 - 1)
    else:
        n_eff, nu = n1 * n2 / (n1 + n2), float(n1 + n2 - 2)
    log_a = math.log(n_eff * rscale**2)
    half = (nu + 1.0) / 2.0
    null = half * math.log1p(t * t / nu)

    def log_integrand(u: float) -> float:
        if u < -700.0:  # p(g) e^(-1/(2g)) is below e^-1e300 there
            return -math.inf
        spread = float(np.logaddexp(0.0, log_a + u))  # log(1 + N g r^2) without overflowing g = e^u
        # log of the marginal under delta ~ N(0, g r^2), over the null's, times p(g) g du.
        return (-0.5 * spread - half * math.log1p(t * t / nu * math.exp(-spread)) + null
                - _LOG_SQRT_2PI - 0.5 * u - 0.5 * math.exp(-u))

    mode = optimize.minimize_scalar(lambda u: -log_integrand(u), bracket=(-2.0, 2.0)).x
    top = log_integrand(mode)
    lower = _drop_point(log_integrand, mode, top, -1.0)
    upper = _drop_point(log_integrand, mode, top, +1.0)
    area, _ = integrate.quad(lambda u: math.exp(log_integrand(u) - top), lower, upper, points=[mode],
                             epsabs=0.0, epsrel=1e-12, limit=200)
    return top + math.log(area)


def _drop_point(f, mode: float, top: float, direction: float) -> float:
    """The point on the ``direction`` side of ``mode`` where ``f`` has fallen ``_LOG_DROP`` below ``top``."""
    step = direction
    while f(mode + step) > top - _LOG_DROP:
        step *= 2.0
    a, b = sorted((mode, mode + step))
    return optimize.brentq(lambda u: f(u) - (top - _LOG_DROP), a, b)


def log_correlation_bf(*, r: float, n: int, kappa: float) -> float:
    """log BF10 of a Pearson correlation ``r`` of ``n`` pairs (BayesFactor's correlationBF, rscale = kappa)."""
    if n < 3:
        raise DataError(f"a correlation Bayes factor needs at least 3 pairs; got n = {n}", fix="leave the cell out")
    if not abs(r) < 1:
        raise DataError(f"r = {r}: a perfect correlation has no finite Bayes factor",
                        fix="check the trait and BPND columns for duplicated or derived values")
    if not kappa > 0:
        raise DataError(f"the correlation prior scale must be positive; got {kappa}",
                        fix="set evidence.correlation_prior_scale > 0")
    a = (n - 1) / 2.0
    c = (n + 2.0 / kappa) / 2.0
    z = r * r
    log_hyper = (c - 2.0 * a) * math.log1p(-z) + _log_hyp2f1_series(c - a, c, z)
    return ((1.0 - 2.0 / kappa) * math.log(2.0) + 0.5 * math.log(math.pi) - special.betaln(1 / kappa, 1 / kappa)
            + special.gammaln((n + 2.0 / kappa - 1.0) / 2.0) - special.gammaln(c) + log_hyper)


def _log_hyp2f1_series(b: float, c: float, z: float) -> float:
    """log 2F1(b, b; c; z) for b, c > 0 and 0 <= z < 1: every term is positive, summed in log space."""
    if z == 0:
        return 0.0
    total, k0, log_term = -math.inf, 0, 0.0
    chunk = 512
    while True:
        k = np.arange(k0, k0 + chunk, dtype=float)
        # log of term_{k+1} / term_k, accumulated from the last term of the previous chunk.
        steps = 2.0 * np.log(b + k) - np.log(c + k) - np.log1p(k) + math.log(z)
        logs = log_term + np.concatenate([[0.0], np.cumsum(steps[:-1])])
        total = np.logaddexp(total, special.logsumexp(logs))
        log_term = logs[-1] + steps[-1]
        k0 += chunk
        # Past the largest term the ratios fall below z < 1, so the rest is below term / (1 - ratio).
        ratio = math.exp(steps[-1])
        if ratio < 1 and log_term - math.log1p(-ratio) < total - 40.0:
            return float(total)


def tost_p(*, difference: float, sd: float, n1: int, n2: int | None = None, sesoi: float) -> float:
    """Larger one-sided p of the TOST against +-``sesoi`` x ``sd`` (paired if ``n2`` is None)."""
    _check_sizes(n1, n2)
    if not sd > 0:
        raise DataError(f"the SD is {sd}: the data are constant, so no equivalence test can be computed",
                        fix="check the cell for identical values")
    if n2 is None:
        se, df = sd / math.sqrt(n1), n1 - 1
    else:
        se, df = sd * math.sqrt(1.0 / n1 + 1.0 / n2), n1 + n2 - 2
    bound = sesoi * sd
    p_lower = stats.t.sf((difference + bound) / se, df)
    p_upper = stats.t.cdf((difference - bound) / se, df)
    return float(max(p_lower, p_upper))


def label(bf10: float) -> str:
    """The evidence label of a Bayes factor BF10 (thresholds 3 and 1/3)."""
    if bf10 >= EVIDENCE_FOR:
        return LABELS[0]
    if bf10 <= EVIDENCE_AGAINST:
        return LABELS[1]
    return LABELS[2]


@dataclass(frozen=True)
class Evidence:
    """The evidence of one test: which test, sample sizes, t, log BF10, the prior and the TOST (NaN for correlations)."""

    test: str
    n1: int
    n2: int | None
    t: float
    log_bf10: float
    prior_scale: float
    tost_p: float = math.nan
    sesoi: float = math.nan

    def row(self, *, alpha: float) -> dict:
        """The columns of evidence.tsv this test fills."""
        bf10 = math.exp(self.log_bf10)
        return {
            "test": self.test, "n1": self.n1, "n2": self.n2, "t": self.t, "bf10": bf10, "bf01": math.exp(-self.log_bf10),
            "log_bf10": self.log_bf10, "tost_p": self.tost_p,
            "equivalent": None if math.isnan(self.tost_p) else bool(self.tost_p < alpha), "label": label(bf10),
            "prior_scale": self.prior_scale, "sesoi": self.sesoi,
        }


_Z95 = float(stats.norm.ppf(0.975))


def evidence_table(effects: pd.DataFrame, tests: dict[tuple[str, str], Evidence], *, alpha: float) -> pd.DataFrame:
    """One row per row of ``effects`` (keys outcome, contrast) with the evidence of its test.

    ``yi`` and its 95 % Wald interval ``ci_lb``/``ci_ub`` are the effect's, so that the
    table shows each Bayes factor next to the CI it qualifies.
    """
    rows = []
    for effect in effects.sort_values(["study", "outcome", "contrast"]).itertuples():
        key = (effect.outcome, effect.contrast)
        if key not in tests:
            raise DataError(f"effect '{effect.outcome}', '{effect.contrast}' has no participant data to test",
                            study=effect.study, fix="rerun the study's model stage so that effects.parquet and its inputs agree")
        half = _Z95 * math.sqrt(effect.vi)
        rows.append({"study": effect.study, "outcome": effect.outcome, "contrast": effect.contrast, "design": effect.design,
                     "yi": effect.yi, "ci_lb": effect.yi - half, "ci_ub": effect.yi + half, **tests[key].row(alpha=alpha)})
    table = pd.DataFrame(rows, columns=list(EVIDENCE.columns))
    return table.astype({"n1": "int64", "n2": "Int64", "equivalent": "boolean"})


def read_evidence(paths) -> pd.DataFrame:
    """The evidence.tsv tables of several studies as one (no paths: an empty table with the columns)."""
    tables = [read_tsv(path, EVIDENCE) for path in paths]
    return pd.concat(tables, ignore_index=True) if tables else EVIDENCE.empty()


def _finite(values, what: str) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if not np.isfinite(x).all():
        raise DataError(f"{what} holds missing or infinite values", fix="drop them before testing")
    return x


def _check_varies(deviations: np.ndarray) -> None:
    # Exactly equal values (a flat channel) leave rounding noise as their SD, which would
    # give a t of 1e16 instead of the error ttestBF raises ("data are essentially constant").
    if np.ptp(deviations) <= 1e-12 * max(1.0, float(np.max(np.abs(deviations)))):
        raise DataError("the data are essentially constant, so no t test can be computed",
                        fix="check the cell for identical values (a flat channel or a constant input)")


def two_sample(x, y, *, rscale: float, sesoi: float) -> Evidence:
    """Student t test (pooled variance) of mean(x) - mean(y), its JZS BF and TOST."""
    x, y = _finite(x, "group 1"), _finite(y, "group 2")
    n1, n2 = len(x), len(y)
    _check_sizes(n1, n2)
    _check_varies(np.concatenate([x - x.mean(), y - y.mean()]))
    pooled = math.sqrt((np.sum((x - x.mean()) ** 2) + np.sum((y - y.mean()) ** 2)) / (n1 + n2 - 2))
    difference = float(x.mean() - y.mean())
    t = difference / (pooled * math.sqrt(1.0 / n1 + 1.0 / n2))
    return Evidence(test="two-sample t", n1=n1, n2=n2, t=t, log_bf10=log_ttest_bf(t=t, n1=n1, n2=n2, rscale=rscale),
                    prior_scale=rscale, tost_p=tost_p(difference=difference, sd=pooled, n1=n1, n2=n2, sesoi=sesoi), sesoi=sesoi)


def paired(differences, *, rscale: float, sesoi: float) -> Evidence:
    """Paired t test of the mean of ``differences`` against 0, its JZS BF and TOST."""
    d = _finite(differences, "the paired differences")
    n = len(d)
    _check_sizes(n, None)
    _check_varies(d)
    sd = float(d.std(ddof=1))
    t = float(d.mean()) / (sd / math.sqrt(n))
    return Evidence(test="paired t", n1=n, n2=None, t=t, log_bf10=log_ttest_bf(t=t, n1=n, rscale=rscale),
                    prior_scale=rscale, tost_p=tost_p(difference=float(d.mean()), sd=sd, n1=n, sesoi=sesoi), sesoi=sesoi)


def correlation(x, y, *, kappa: float) -> Evidence:
    """Pearson correlation of ``x`` and ``y``, its t statistic and JZS BF (no TOST)."""
    x, y = _finite(x, "x"), _finite(y, "y")
    n = len(x)
    if n < 3 or x.std() == 0 or y.std() == 0:
        raise DataError(f"a correlation needs at least 3 pairs with variation in both; got n = {n}", fix="leave the cell out")
    r = float(np.corrcoef(x, y)[0, 1])
    t = r * math.sqrt((n - 2) / (1.0 - r * r)) if abs(r) < 1 else math.copysign(math.inf, r)
    return Evidence(test="correlation", n1=n, n2=None, t=t, log_bf10=log_correlation_bf(r=r, n=n, kappa=kappa), prior_scale=kappa)
