"""Paired comparisons of BPND between scans, and trait correlations of MOR activation.

Sign convention (used in every table, plot and effect of the PET stage): MOR
activation is a decrease of BPND relative to the comparison scan (endogenous
opioid release competes with [11C]carfentanil; Zubieta et al. 2001, 2003), and is
positive: change = BPND(versus) - BPND(condition). Each condition is compared with
the study's reference scan (baseline), and the other conditions with each other
in config order (rejection vs acceptance: change = BPND(acceptance) -
BPND(rejection), positive when rejection activates more).

Per ROI and contrast, over participants with a usable estimate in both scans:
mean change, its SD, paired t test with confidence interval
(``scipy.stats.ttest_rel``), and the standardised mean change dz with its sampling
variance from ``opioidsocial.stats.escalc`` with measure SMCC: the mean change over
the SD of the changes, times Hedges' exact small-sample correction J(n-1), with
variance 1/n + g^2/(2n) (Gibbons et al. 1993; metafor's SMCC, the values of
DESIGN.md). p-values are adjusted across ROIs within each contrast
(``statsmodels.stats.multitest.multipletests``, Benjamini & Hochberg 1995 by default).

Trait correlations: Pearson's r between each participant's change (condition vs
reference) and each trait (``scipy.stats.pearsonr``, Fisher-z confidence interval),
Fisher's z with variance 1/(n-3) (escalc ZCOR), adjusted across ROIs within each
contrast x trait.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, ttest_rel
from statsmodels.stats.multitest import multipletests

from opioidsocial.io.contracts import PET_CORRELATIONS, PET_PAIRED
from opioidsocial.stats.escalc import MIN_N, escalc

# The contracts' columns without 'model': the study stage adds it per model.
PAIRED_COLUMNS = [c for c in PET_PAIRED.columns if c != "model"]
CORRELATION_COLUMNS = [c for c in PET_CORRELATIONS.columns if c != "model"]


@dataclass(frozen=True)
class Contrast:
    """MOR activation during ``condition`` relative to ``versus``: BPND(versus) - BPND(condition)."""

    condition: str
    versus: str
    reference: str

    @property
    def label(self) -> str:
        return f"{self.versus} - {self.condition}"

    def outcome(self, roi: str) -> str:
        relative = "" if self.versus == self.reference else f" relative to {self.versus}"
        return f"MOR activation in {roi} during {self.condition}{relative}"


def contrasts(conditions: list[str], reference: str) -> list[Contrast]:
    """Every condition vs the reference, then the other conditions pairwise in config order."""
    others = [c for c in conditions if c != reference]
    pairs = [Contrast(c, reference, reference) for c in others]
    pairs += [Contrast(first, second, reference) for i, first in enumerate(others) for second in others[i + 1:]]
    return pairs


def _wide(bp: pd.DataFrame) -> pd.DataFrame:
    """participant x (roi, condition) BPND; NaN where the estimate is not usable."""
    usable = bp.assign(bp_nd=bp["bp_nd"].where(bp["fit_ok"].astype(bool)))
    return usable.pivot(index="participant", columns=["roi", "condition"], values="bp_nd")


def _scans(wide: pd.DataFrame, roi: str, pair: Contrast) -> pd.DataFrame:
    """participant x [versus, condition] BPND of one ROI (NaN where unusable or absent)."""
    cols = [(roi, pair.versus), (roi, pair.condition)]
    if not all(c in wide.columns for c in cols):
        return pd.DataFrame(np.nan, index=wide.index, columns=["versus", "condition"])
    return wide[cols].set_axis(["versus", "condition"], axis=1)


def _adjust(p: pd.Series, method: str) -> pd.Series:
    out = pd.Series(np.nan, index=p.index)
    ok = p.notna()
    if ok.any():
        out[ok] = multipletests(p[ok].to_numpy(), method=method)[1]
    return out


def paired_tests(bp: pd.DataFrame, *, pairs: list[Contrast], ci_level: float, fdr_method: str) -> pd.DataFrame:
    """One row per contrast x ROI (``bp``: participant, roi, condition, bp_nd, fit_ok)."""
    wide = _wide(bp)
    rows = []
    for pair in pairs:
        block = []
        for roi in sorted(bp["roi"].unique()):
            both = _scans(wide, roi, pair).dropna()
            row = {"contrast": pair.label, "condition": pair.condition, "versus": pair.versus, "roi": roi, "n": len(both)}
            if len(both):
                a, b = both["versus"].to_numpy(), both["condition"].to_numpy()
                change = a - b
                row.update(mean_versus=a.mean(), mean_condition=b.mean(), mean_change=change.mean(),
                           percent_change=100 * change.mean() / a.mean())
                if len(both) >= MIN_N["SMCC"] and np.std(change) > 0:
                    test = ttest_rel(a, b)
                    ci = test.confidence_interval(confidence_level=ci_level)
                    row.update(sd_change=change.std(ddof=1), t=test.statistic, df=test.df, p=test.pvalue,
                               ci_low=ci.low, ci_high=ci.high, sd1=a.std(ddof=1), sd2=b.std(ddof=1))
                    if row["sd1"] > 0 and row["sd2"] > 0:
                        row["r_scans"] = float(np.corrcoef(a, b)[0, 1])
            block.append(row)
        block = pd.DataFrame(block).reindex(columns=[*PAIRED_COLUMNS, "sd1", "sd2"])
        sized = block["r_scans"].notna() & (block["r_scans"].abs() < 1)
        if sized.any():
            es = escalc(
                "SMCC", m1i=block.loc[sized, "mean_versus"], m2i=block.loc[sized, "mean_condition"],
                sd1i=block.loc[sized, "sd1"], sd2i=block.loc[sized, "sd2"], ri=block.loc[sized, "r_scans"],
                ni=block.loc[sized, "n"], labels=[f"{pair.label}, {roi}" for roi in block.loc[sized, "roi"]],
            )
            block.loc[sized, "dz"] = es["yi"].to_numpy()
            block.loc[sized, "vi"] = es["vi"].to_numpy()
        block["p_adjusted"] = _adjust(block["p"], fdr_method)
        rows.append(block[PAIRED_COLUMNS])
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=PAIRED_COLUMNS)


def activation(bp: pd.DataFrame, pair: Contrast) -> pd.DataFrame:
    """participant x ROI MOR activation (BPND(versus) - BPND(condition)); NaN if unusable."""
    wide = _wide(bp)
    out = {}
    for roi in sorted(bp["roi"].unique()):
        scans = _scans(wide, roi, pair)
        out[roi] = scans["versus"] - scans["condition"]
    return pd.DataFrame(out, index=wide.index)


def trait_correlations(
    bp: pd.DataFrame, traits: pd.DataFrame, *, pairs: list[Contrast], ci_level: float, fdr_method: str
) -> pd.DataFrame:
    """One row per contrast (vs the reference) x ROI x trait; ``traits`` is indexed by participant."""
    blocks = []
    for pair in (p for p in pairs if p.versus == p.reference):
        change = activation(bp, pair)
        for trait in traits.columns:
            block = []
            for roi in change.columns:
                both = pd.concat([change[roi], traits[trait]], axis=1, join="inner").dropna()
                row = {"contrast": pair.label, "condition": pair.condition, "versus": pair.versus, "roi": roi, "trait": trait, "n": len(both)}
                x, y = both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy()
                if len(both) >= MIN_N["ZCOR"] and np.std(x) > 0 and np.std(y) > 0:
                    test = pearsonr(x, y)
                    ci = test.confidence_interval(confidence_level=ci_level)
                    row.update(r=test.statistic, p=test.pvalue, ci_low=ci.low, ci_high=ci.high)
                block.append(row)
            block = pd.DataFrame(block).reindex(columns=CORRELATION_COLUMNS)
            sized = block["r"].notna() & (block["r"].abs() < 1)
            if sized.any():
                es = escalc("ZCOR", ri=block.loc[sized, "r"], ni=block.loc[sized, "n"],
                            labels=[f"{pair.label}, {roi} x {trait}" for roi in block.loc[sized, "roi"]])
                block.loc[sized, "z"] = es["yi"].to_numpy()
                block.loc[sized, "vi"] = es["vi"].to_numpy()
            block["p_adjusted"] = _adjust(block["p"], fdr_method)
            blocks.append(block)
    return pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame(columns=CORRELATION_COLUMNS)
