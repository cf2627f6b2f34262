"""One effect per sample group: combining effects that come from the same people.

When two reports describe the same participants (Korb et al. 2020 and 2023; Hsu
et al. 2013 and 2015), or one study contributes two effects to a family, a
univariate random-effects model would count those people twice. Before pooling a
family, the effects of each sample group are therefore combined into one, as
metafor's ``aggregate.escalc`` does: with the sampling covariance
``rho sqrt(v_i v_j)`` between effects of one group (an assumed correlation, since
papers do not report it), the combined effect is the generalised least-squares
mean ``(1' V^-1 1)^-1 1' V^-1 y`` with variance ``(1' V^-1 1)^-1``
(Borenstein et al. 2009, ch. 24; Viechtbauer 2010). ``rho`` is
``meta.overlap_rho``; rho = 1 would say the reports are the same data, rho = 0
that they are independent. The multilevel model (:mod:`opioidsocial.meta.multilevel`)
handles the same dependence without assuming rho, by cluster-robust inference.

Validated against ``aggregate(escalc(...), cluster, rho = 0.6)`` of metafor 3.8-1
(tests/fixtures/metafor/aggregate_rho06.tsv).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def combine(yi, vi, *, rho: float) -> tuple[float, float]:
    """GLS mean and variance of effects on one sample with correlation ``rho`` between their errors."""
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.size == 1:
        return float(y[0]), float(v[0])
    sd = np.sqrt(v)
    V = rho * np.outer(sd, sd)
    np.fill_diagonal(V, v)
    w = np.linalg.solve(V, np.ones_like(y))
    var = 1.0 / w.sum()
    return float(var * (w @ y)), float(var)


def by_sample_group(effects: pd.DataFrame, *, yi: str, rho: float, keys: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per sample group (and ``keys``): combined ``yi``/``vi``, the studies and effects it holds.

    Returns columns ``sample_group``, ``*keys``, ``yi``, ``vi``, ``n_effects`` and
    ``label`` (the studies, e.g. 'korb2020 + korb2023'), sorted by the group columns.
    """
    rows = []
    for group, part in effects.groupby(["sample_group", *keys], sort=True):
        group = group if isinstance(group, tuple) else (group,)
        y, v = combine(part[yi], part["vi"], rho=rho)
        rows.append({
            **dict(zip(["sample_group", *keys], group)),
            "yi": y,
            "vi": v,
            "n_effects": len(part),
            "label": " + ".join(sorted(set(part["study"]))),
        })
    return pd.DataFrame(rows, columns=["sample_group", *keys, "yi", "vi", "n_effects", "label"])
