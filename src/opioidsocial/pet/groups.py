"""Patient-control PET studies: group differences of MOR activation, correlations per group.

A study declares a group factor in config/studies.tsv (``reference_group``, e.g.
'control'); participants.tsv then has a ``group`` column (Hsu et al. 2015: 17
medication-free patients with major depression, 18 controls, the rejection /
acceptance paradigm). Per contrast (``paired.contrasts``), ROI and group other than
the reference group, over participants with a usable estimate in both scans:

- the MOR activation of each participant (BPND(versus) - BPND(condition), the sign
  convention of ``paired``), its mean and SD per group;
- the difference group - reference group with Student's two-sample t test and its
  confidence interval (``scipy.stats.ttest_ind``, equal variances, the pooled SD
  that Hedges' g uses);
- Hedges' g of the change scores with its sampling variance from
  ``opioidsocial.stats.escalc`` measure SMD (pooled SD, exact small-sample
  correction J(n1 + n2 - 2), variance 1/n1 + 1/n2 + g^2 / (2 (n1 + n2)); Hedges
  1981, metafor's SMD): positive when the group releases more than the reference group;
- p-values adjusted across ROIs within each contrast x group (config pet.fdr_method).

Trait correlations per group are ``paired.trait_correlations`` on each group's
participants, with a ``group`` column ('all' is the whole sample).
"""

from __future__ import annotations

import pandas as pd
from scipy.stats import ttest_ind

from opioidsocial.io.contracts import PET_GROUPS
from opioidsocial.pet.paired import Contrast, activation, adjust, trait_correlations
from opioidsocial.stats.escalc import MIN_N, escalc

# The contract's columns without 'model': the study stage adds it per model.
GROUP_COLUMNS = [c for c in PET_GROUPS.columns if c != "model"]
ALL = "all"


def correlation_outcome(pair: Contrast, roi: str, trait: str, group: str = ALL) -> str:
    """The EFFECTS outcome of a trait correlation: a group's ends 'in <group>', the whole sample's not."""
    return f"{pair.outcome(roi)} x {trait}{'' if group == ALL else f' in {group}'}"


def difference_labels(pair: Contrast, roi: str, group: str, reference_group: str) -> tuple[str, str]:
    """The EFFECTS (outcome, contrast) of a group's difference from the reference group in the change."""
    difference = f"{group} - {reference_group}"
    return f"{pair.outcome(roi)}: {difference}", f"{pair.label}, {difference}"


def group_differences(
    bp: pd.DataFrame, groups: pd.Series, *, reference_group: str, pairs: list[Contrast], ci_level: float, fdr_method: str
) -> pd.DataFrame:
    """One row per contrast x group x ROI; ``groups`` maps participant to group label."""
    others = sorted(set(groups) - {reference_group})
    blocks = []
    for pair in pairs:
        change = activation(bp, pair)
        for group in others:
            block = []
            labels = groups.reindex(change.index)
            for roi in change.columns:
                a = change.loc[labels == group, roi].dropna().to_numpy()
                b = change.loc[labels == reference_group, roi].dropna().to_numpy()
                row = {"contrast": pair.label, "condition": pair.condition, "versus": pair.versus, "roi": roi, "group": group,
                       "reference_group": reference_group, "n_group": len(a), "n_reference": len(b)}
                if len(a) and len(b):
                    row.update(mean_group=a.mean(), mean_reference=b.mean(), difference=a.mean() - b.mean())
                if len(a) >= MIN_N["SMD"] and len(b) >= MIN_N["SMD"]:
                    row.update(sd_group=a.std(ddof=1), sd_reference=b.std(ddof=1))
                    if row["sd_group"] > 0 or row["sd_reference"] > 0:
                        test = ttest_ind(a, b)
                        ci = test.confidence_interval(confidence_level=ci_level)
                        row.update(t=test.statistic, df=test.df, p=test.pvalue, ci_low=ci.low, ci_high=ci.high)
                block.append(row)
            block = pd.DataFrame(block).reindex(columns=GROUP_COLUMNS)
            sized = block["t"].notna()
            if sized.any():
                es = escalc(
                    "SMD", m1i=block.loc[sized, "mean_group"], m2i=block.loc[sized, "mean_reference"],
                    sd1i=block.loc[sized, "sd_group"], sd2i=block.loc[sized, "sd_reference"],
                    n1i=block.loc[sized, "n_group"], n2i=block.loc[sized, "n_reference"],
                    labels=[f"{pair.label}, {roi}, {group} - {reference_group}" for roi in block.loc[sized, "roi"]],
                )
                block.loc[sized, "g"] = es["yi"].to_numpy()
                block.loc[sized, "vi"] = es["vi"].to_numpy()
            block["p_adjusted"] = adjust(block["p"], fdr_method)
            blocks.append(block)
    return pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame(columns=GROUP_COLUMNS)


def correlations_by_group(
    bp: pd.DataFrame, traits: pd.DataFrame, groups: pd.Series | None, *, pairs: list[Contrast], ci_level: float, fdr_method: str
) -> pd.DataFrame:
    """``trait_correlations`` over everyone (group 'all') and, with groups, within each group."""
    def correlate(rows: pd.DataFrame, scores: pd.DataFrame, label: str) -> pd.DataFrame:
        return trait_correlations(rows, scores, pairs=pairs, ci_level=ci_level, fdr_method=fdr_method).assign(group=label)

    blocks = [correlate(bp, traits, ALL)]
    for group in sorted(set(groups)) if groups is not None else []:
        people = groups.index[groups == group]
        blocks.append(correlate(bp[bp["participant"].isin(people)], traits.loc[traits.index.isin(people)], group))
    return pd.concat(blocks, ignore_index=True)
