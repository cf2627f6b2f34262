"""Simulated published summary statistics: a `summary` study with a known truth.

A study that exists only as a paper enters the meta-analysis through the
statistics it reports. To exercise every conversion of
:mod:`opioidsocial.meta.published` end to end, this simulator draws
participant-level data for each configured effect (normal outcomes with the true
standardised effect; bivariate normal for paired designs and correlations),
computes what a paper would print (group means and SDs, a Student or paired t, a
correlation, or Hedges' g with its variance), rounds it to ``decimals`` places,
and writes the TSV at the study's ``path`` (format:
workflow/schemas/summary.schema.yaml), with the true effects in ``truth.json``
next to it. Options: workflow/schemas/config/simulate_summary.schema.yaml.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from opioidsocial.config import SCHEMA_DIR, load_schema, validate_section
from opioidsocial.io.tables import write_json, write_tsv
from opioidsocial.stats.escalc import escalc

SCHEMA = "simulate_summary.schema.yaml"
#: Defaults of one effect's options, read from the schema (the config validator fills objects, not array items).
EFFECT_DEFAULTS = {
    key: prop["default"]
    for key, prop in load_schema(SCHEMA_DIR / "config" / SCHEMA)[0]["properties"]["effects"]["items"]["properties"].items()
    if "default" in prop
}

COLUMNS = ("study", "outcome", "contrast", "design", "measure", "n1", "n2", "n", "m1", "m2", "sd1", "sd2", "r", "t",
           "yi", "vi", "direction", "drug", "modality", "year", "note")


def simulate_study(*, study: str, row: dict, params: dict, seed: int) -> None:
    """Write the summary TSV of ``study`` at ``row["path"]`` and its truth.json."""
    params = validate_section(params, SCHEMA, source=f"simulate.summary.{study}")
    rng = np.random.default_rng(seed)
    decimals = params["decimals"]
    rows, truth = [], []
    for spec in params["effects"]:
        spec = {**EFFECT_DEFAULTS, **spec}
        drug = spec.get("drug", row["drug"])
        contrast = spec.get("contrast", f"{drug} - {row['reference']}")
        reported = _report(spec, rng=rng, decimals=decimals)
        rows.append({
            "study": study, "outcome": spec["outcome"], "contrast": contrast, "design": spec["design"],
            **reported, "direction": spec.get("direction"), "drug": spec.get("drug"), "modality": spec["modality"],
            # The paper's publication year, from its studies.tsv row (empty when the row has none).
            "year": row.get("year"), "note": f"simulated; true {'r' if spec['report'] == 'correlation' else 'd'} = {spec['effect']}",
        })
        truth.append({"outcome": spec["outcome"], "contrast": contrast, "report": spec["report"], "design": spec["design"],
                      "n": spec["n"], "true_effect": spec["effect"], **_true_yi(spec)})
    path = Path(row["path"])
    table = pd.DataFrame(rows, columns=list(COLUMNS)).astype({c: "Int64" for c in ("n1", "n2", "n", "direction", "year")})
    write_tsv(table, path)
    write_json(path.parent / "truth.json", {"study": study, "seed": seed, "effects": truth})


def _true_yi(spec: dict) -> dict:
    """The true effect on the scale the meta-analysis converts the report to."""
    if spec["report"] == "correlation":
        return {"measure": "ZCOR", "true_yi": float(np.arctanh(spec["effect"]))}
    if spec["design"] == "within":
        # SMCC standardises by the SD of the differences, sd * sqrt(2 (1 - r)).
        return {"measure": "SMCC", "true_yi": spec["effect"] / float(np.sqrt(2 * (1 - spec["retest_r"])))}
    return {"measure": "SMD", "true_yi": float(spec["effect"])}


def _report(spec: dict, *, rng: np.random.Generator, decimals: int) -> dict:
    """The statistics one simulated paper prints for one effect."""
    n, d, mean, sd = spec["n"], spec["effect"], spec["mean"], spec["sd"]
    if spec["report"] == "correlation":
        x = rng.multivariate_normal([0, 0], [[1, d], [d, 1]], size=n)
        return {"n": n, "r": round(float(np.corrcoef(x.T)[0, 1]), decimals)}
    if spec["design"] == "between":
        drug = rng.normal(mean + d * sd, sd, size=n)
        ref = rng.normal(mean, sd, size=n)
        sizes = {"n1": n, "n2": n}
        t = stats.ttest_ind(drug, ref).statistic
    else:
        rho = spec["retest_r"]
        pairs = rng.multivariate_normal([mean + d * sd, mean], sd**2 * np.array([[1, rho], [rho, 1]]), size=n)
        drug, ref = pairs[:, 0], pairs[:, 1]
        sizes = {"n": n}
        t = stats.ttest_rel(drug, ref).statistic
    m1, m2, sd1, sd2 = drug.mean(), ref.mean(), drug.std(ddof=1), ref.std(ddof=1)
    if spec["report"] == "t":
        return {**sizes, "t": round(float(t), decimals)}
    if spec["report"] == "given":
        es = escalc("SMD", n1i=n, n2i=n, m1i=m1, m2i=m2, sd1i=sd1, sd2i=sd2) if spec["design"] == "between" else escalc(
            "SMCC", ni=n, m1i=m1, m2i=m2, sd1i=sd1, sd2i=sd2, ri=np.corrcoef(drug, ref)[0, 1])
        measure = "SMD" if spec["design"] == "between" else "SMCC"
        return {**sizes, "measure": measure, "yi": round(float(es["yi"].iloc[0]), decimals + 2), "vi": round(float(es["vi"].iloc[0]), decimals + 2)}
    out = {**sizes, "m1": round(float(m1), decimals), "m2": round(float(m2), decimals),
           "sd1": round(float(sd1), decimals), "sd2": round(float(sd2), decimals)}
    if spec["design"] == "within":
        out["r"] = round(float(np.corrcoef(drug, ref)[0, 1]), decimals)
    return out
