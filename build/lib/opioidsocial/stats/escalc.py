"""Effect sizes and their sampling variances, as metafor's ``escalc`` computes them.

Every effect that enters the meta-analysis is put on one of four scales:

``SMD``
    Hedges' g for two independent groups: the mean difference over the pooled SD,
    times the exact small-sample correction
    ``J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))`` with ``m = n1 + n2 - 2``
    (Hedges 1981), and the large-sample variance
    ``1/n1 + 1/n2 + g^2 / (2 (n1 + n2))`` (metafor's default ``vtype="LS"``;
    Borenstein et al. 2009, eq. 4.20 with Hedges' correction applied to d).
    From an independent-samples t statistic, ``d = t sqrt(1/n1 + 1/n2)``.
``SMCC``
    Standardised mean change with change-score standardisation for a paired design
    (n participants measured twice, correlation r):
    ``g = J(n-1) (m1 - m2) / sd_diff`` with
    ``sd_diff = sqrt(sd1^2 + sd2^2 - 2 r sd1 sd2)`` and variance
    ``1/n + g^2 / (2 n)`` (Gibbons et al. 1993; Morris & DeShon 2002). From a paired
    t statistic, ``(m1 - m2) / sd_diff = t / sqrt(n)``.
``SMCR``
    Standardised mean change with raw-score standardisation (by ``sd1``, the SD of
    the reference/first measurement): ``g = J(n-1) (m1 - m2) / sd1`` with variance
    ``2 (1 - r) / n + g^2 / (2 n)`` (Becker 1988; Morris 2000).
``ZCOR``
    Fisher's r-to-z, ``z = atanh(r)``, variance ``1/(n - 3)`` (Fisher 1921;
    Borenstein et al. 2009, ch. 6). From the t statistic of a correlation,
    ``r = t / sqrt(t^2 + n - 2)``.
``GEN``
    ``yi`` and ``vi`` as given (a published effect size with its variance).

The formulas are those of metafor 3.8-1 (Viechtbauer 2010) and reproduce its
output to machine precision (tests/test_escalc.py; DESIGN.md reference values).
pimeta's ``escalc`` covers SMD and ZCOR but not the paired measures SMCC/SMCR or
t statistics, so the few lines are written here once for all measures.

Inputs are validated row by row: a negative SD, a sample too small for the
measure, a correlation outside (-1, 1) or a missing value raises
:class:`EffectSizeError` naming the row (or its label) and what to fix, instead of
returning NaN as metafor does.

References: Hedges LV (1981) J Educ Stat 6:107-128. Becker BJ (1988) Br J Math Stat
Psychol 41:257-278. Gibbons RD, Hedeker DR, Davis JM (1993) J Educ Stat 18:271-279.
Morris SB (2000) Br J Math Stat Psychol 53:17-29.
Morris SB, DeShon RP (2002) Psychol Methods 7:105-125. Borenstein M, Hedges LV,
Higgins JPT, Rothstein HR (2009) Introduction to Meta-Analysis, Wiley.
Viechtbauer W (2010) J Stat Softw 36(3):1-48.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import gammaln

from opioidsocial.errors import DataError

MEASURES = ("SMD", "SMCC", "SMCR", "ZCOR", "GEN")

#: Smallest sample for which each measure's correction and variance are defined.
MIN_N = {"SMD": 2, "SMCC": 3, "SMCR": 3, "ZCOR": 4}


class EffectSizeError(DataError):
    """Statistics that cannot be converted to an effect size (bad or missing values)."""


def hedges_correction(m) -> np.ndarray:
    """Hedges' (1981) exact small-sample correction J(m) for ``m`` degrees of freedom."""
    m = np.asarray(m, dtype=float)
    return np.exp(gammaln(m / 2) - 0.5 * np.log(m / 2) - gammaln((m - 1) / 2))


def escalc(
    measure: str,
    *,
    n1i=None,
    n2i=None,
    m1i=None,
    m2i=None,
    sd1i=None,
    sd2i=None,
    ni=None,
    ri=None,
    ti=None,
    yi=None,
    vi=None,
    labels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Effect sizes ``yi`` and sampling variances ``vi``, one row per input row.

    Arguments are scalars or array-likes of one common length (as in metafor).
    Which arguments a measure needs:

    - ``SMD``: ``n1i, n2i`` and either ``m1i, m2i, sd1i, sd2i`` or ``ti``;
    - ``SMCC``: ``ni`` and either ``m1i, m2i, sd1i, sd2i, ri`` or ``ti``;
    - ``SMCR``: ``ni, m1i, m2i, sd1i, ri``;
    - ``ZCOR``: ``ni`` and either ``ri`` or ``ti``;
    - ``GEN``: ``yi, vi``.

    ``labels`` name the rows in error messages (e.g. ``"korb2020: corrugator"``);
    without them rows are named by their 0-based position.

    Raises :class:`EffectSizeError` for an unknown measure, a missing argument, or
    a value out of range (negative SD, zero pooled SD, ``n`` below ``MIN_N``,
    correlation outside (-1, 1), non-positive ``vi``), naming the row.
    """
    measure = str(measure).upper()
    if measure not in MEASURES:
        raise EffectSizeError(f"unknown effect-size measure {measure!r}; use one of {list(MEASURES)}")
    args = dict(n1i=n1i, n2i=n2i, m1i=m1i, m2i=m2i, sd1i=sd1i, sd2i=sd2i, ni=ni, ri=ri, ti=ti, yi=yi, vi=vi)
    given = {name: value for name, value in args.items() if value is not None}
    length = _common_length(given)
    arr = {name: np.broadcast_to(np.asarray(value, dtype=float), (length,)) for name, value in given.items()}
    names = list(labels) if labels is not None else [f"row {i}" for i in range(length)]
    if len(names) != length:
        raise EffectSizeError(f"escalc: {len(names)} labels for {length} rows; give one label per row")
    check = _Checker(arr, names, measure)
    # Values the checks let through can still overflow (a mean of 1e300, an SD of
    # 1e-300): those rows are named below instead of entering a pool as inf.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        out = _compute(measure, arr, check)
    check.finite_result(out)
    return out


def _compute(measure: str, arr: dict, check: _Checker) -> pd.DataFrame:
    if measure == "GEN":
        check.required("yi", "vi")
        check.positive("vi")
        return _frame(arr["yi"], arr["vi"])

    from_t = "ti" in arr
    if measure == "SMD":
        check.required("n1i", "n2i", *(("ti",) if from_t else ("m1i", "m2i", "sd1i", "sd2i")))
        check.min_n("n1i", "n2i")
        n1, n2 = arr["n1i"], arr["n2i"]
        if from_t:
            d = arr["ti"] * np.sqrt(1 / n1 + 1 / n2)
        else:
            check.nonnegative("sd1i", "sd2i")
            sdp = np.sqrt(((n1 - 1) * arr["sd1i"] ** 2 + (n2 - 1) * arr["sd2i"] ** 2) / (n1 + n2 - 2))
            check.nonzero(sdp, "pooled SD")
            d = (arr["m1i"] - arr["m2i"]) / sdp
        g = hedges_correction(n1 + n2 - 2) * d
        return _frame(g, 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2)))

    if measure == "ZCOR":
        check.required("ni", "ti" if from_t else "ri")
        check.min_n("ni")
        n = arr["ni"]
        # hypot, not sqrt(t^2 + n - 2): a huge t must give r near 1, not inf / inf.
        r = arr["ti"] / np.hypot(arr["ti"], np.sqrt(n - 2)) if from_t else arr["ri"]
        if not from_t:
            check.correlation("ri")
        return _frame(np.arctanh(r), 1 / (n - 3))

    # Paired designs: SMCC and SMCR.
    if measure == "SMCC" and from_t:
        check.required("ni", "ti")
        check.min_n("ni")
        n = arr["ni"]
        g = hedges_correction(n - 1) * arr["ti"] / np.sqrt(n)
        return _frame(g, 1 / n + g**2 / (2 * n))
    if measure == "SMCR" and from_t:
        raise EffectSizeError(
            "SMCR cannot be computed from a t statistic (it needs the SD of the first measurement); "
            "give m1, m2, sd1 and r, or use SMCC for a paired t"
        )
    sds = ("sd1i", "sd2i") if measure == "SMCC" else ("sd1i",)
    check.required("ni", "m1i", "m2i", "ri", *sds)
    check.min_n("ni")
    check.nonnegative(*sds)
    check.correlation("ri")
    n, r = arr["ni"], arr["ri"]
    if measure == "SMCC":
        sd = np.sqrt(arr["sd1i"] ** 2 + arr["sd2i"] ** 2 - 2 * r * arr["sd1i"] * arr["sd2i"])
        check.nonzero(sd, "SD of the differences")
    else:
        sd = arr["sd1i"]
        check.nonzero(sd, "sd1i")
    g = hedges_correction(n - 1) * (arr["m1i"] - arr["m2i"]) / sd
    base = 1 / n if measure == "SMCC" else 2 * (1 - r) / n
    return _frame(g, base + g**2 / (2 * n))


def _frame(yi, vi) -> pd.DataFrame:
    return pd.DataFrame({"yi": np.asarray(yi, dtype=float), "vi": np.asarray(vi, dtype=float)})


def _common_length(given: dict) -> int:
    lengths = {name: np.size(value) for name, value in given.items() if np.ndim(value) > 0}
    distinct = set(lengths.values()) - {1}
    if len(distinct) > 1:
        raise EffectSizeError(f"escalc: arguments have different lengths {lengths}; give one value per row")
    return distinct.pop() if distinct else 1


class _Checker:
    """Row-wise validation with messages that name the row and the fix."""

    def __init__(self, arr: dict, names: list[str], measure: str):
        self.arr, self.names, self.measure = arr, names, measure

    def _fail(self, bad: np.ndarray, what: str, fix: str) -> None:
        rows = [self.names[i] for i in np.flatnonzero(bad)]
        if rows:
            shown = ", ".join(rows[:5]) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
            raise EffectSizeError(f"{self.measure}: {shown}: {what}; {fix}")

    def required(self, *names: str) -> None:
        absent = [n for n in names if n not in self.arr]
        if absent:
            raise EffectSizeError(f"{self.measure} needs {list(names)}; missing {absent}")
        for name in names:
            self._fail(~np.isfinite(self.arr[name]), f"{name} is missing or not finite", f"give a finite {name}")

    def min_n(self, *names: str) -> None:
        low = MIN_N[self.measure]
        for name in names:
            n = self.arr[name]
            self._fail(n < low, f"{name} < {low}", f"{self.measure} needs at least {low} participants per sample")

    def nonnegative(self, *names: str) -> None:
        for name in names:
            self._fail(self.arr[name] < 0, f"{name} is negative", "standard deviations must be >= 0 (was a SE or a signed value given?)")

    def nonzero(self, values: np.ndarray, what: str) -> None:
        self._fail(~(values > 0), f"{what} is zero or undefined", "check the SDs (and r)")

    def positive(self, name: str) -> None:
        self._fail(~(self.arr[name] > 0), f"{name} is not positive", "a sampling variance must be > 0")

    def finite_result(self, out: pd.DataFrame) -> None:
        self._fail(
            ~(np.isfinite(out["yi"]) & np.isfinite(out["vi"])).to_numpy(), "the effect size or its variance is not finite",
            "a value is out of any plausible range (check units and decimal separators)",
        )

    def correlation(self, name: str) -> None:
        r = self.arr[name]
        self._fail(~((r > -1) & (r < 1)), f"{name} is outside (-1, 1)", "give a correlation strictly between -1 and 1")
