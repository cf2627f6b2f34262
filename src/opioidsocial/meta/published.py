"""Effects of a `summary` study: statistics reported in a paper, converted to effect sizes.

A study for which only the paper exists enters the meta-analysis through a TSV
with one row per reported effect (columns in workflow/schemas/summary.schema.yaml).
Each row gives one set of statistics, and this module decides which conversion it
calls for and runs it through :func:`opioidsocial.stats.escalc.escalc`:

============================  =========================================  ======
statistics in the row         conversion                                 measure
============================  =========================================  ======
n1 n2 m1 m2 sd1 sd2           Hedges' g (Hedges 1981)                    SMD
t, n1 n2 (between)            Hedges' g from independent-samples t       SMD
n m1 m2 sd1 sd2 r (within)    standardised mean change (Gibbons 1993)    SMCC
n m1 m2 sd1 r, measure SMCR   raw-score standardisation (Becker 1988)    SMCR
t, n (within)                 standardised mean change from paired t     SMCC
r, n                          Fisher's r-to-z                            ZCOR
t, n, measure ZCOR            Fisher's z of r = t / sqrt(t^2 + n - 2)     ZCOR
yi vi                         as given                                   GEN or `measure`
============================  =========================================  ======

The conversion is named in the output (``conversion``), so a reader of
results/meta/effects.parquet can see how every number was obtained. A row with
two sets of statistics (means and a t) is an error rather than a silent choice.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from opioidsocial.config import SCHEMA_DIR, ConfigError, read_sheet
from opioidsocial.errors import DataError
from opioidsocial.stats.escalc import EffectSizeError, escalc

SCHEMA = SCHEMA_DIR / "summary.schema.yaml"
STATS = ("n1", "n2", "n", "m1", "m2", "sd1", "sd2", "r", "t", "yi", "vi")
MEANS = ("m1", "m2", "sd1", "sd2")

#: The columns each conversion needs, by (measure, source).
REQUIRED = {
    ("SMD", "means"): ("n1", "n2", "m1", "m2", "sd1", "sd2"),
    ("SMD", "t"): ("n1", "n2", "t"),
    ("SMCC", "means"): ("n", "m1", "m2", "sd1", "sd2", "r"),
    ("SMCC", "t"): ("n", "t"),
    ("SMCR", "means"): ("n", "m1", "m2", "sd1", "r"),
    ("ZCOR", "r"): ("n", "r"),
    ("ZCOR", "t"): ("n", "t"),
}

CONVERSIONS = {
    ("SMD", "means"): "SMD: Hedges' g from group means and SDs (Hedges 1981)",
    ("SMD", "t"): "SMD: Hedges' g from independent-samples t, d = t sqrt(1/n1 + 1/n2)",
    ("SMCC", "means"): "SMCC: standardised mean change, change-score SD (Gibbons et al. 1993)",
    ("SMCC", "t"): "SMCC: standardised mean change from paired t, d = t / sqrt(n)",
    ("SMCR", "means"): "SMCR: standardised mean change, raw-score SD (Becker 1988)",
    ("ZCOR", "r"): "ZCOR: Fisher's z of r",
    ("ZCOR", "t"): "ZCOR: Fisher's z of r = t / sqrt(t^2 + n - 2)",
}


class SummaryStudyError(DataError):
    """A row of a summary study's TSV cannot be converted; the message names file, line and fix."""


def read_summary(path: str | Path, *, study_row: dict) -> pd.DataFrame:
    """The effects of one summary study: EFFECTS columns plus ``conversion``.

    ``study_row`` is the study's row of studies.tsv (study, drug, direction,
    reference, sample_group). Raises :class:`SummaryStudyError` naming the file
    and line for a missing file, a row that breaks the schema or one that cannot
    be converted.
    """
    path = Path(path)
    study = study_row["study"]
    try:
        sheet = read_sheet(path, SCHEMA, what=f"summary study '{study}'")
    except ConfigError as err:
        raise SummaryStudyError(str(err)) from err
    if sheet.empty:
        raise SummaryStudyError(f"{path}: summary study '{study}' has no rows; add one row per reported effect")
    rows = [_convert(row, line=i + 2, path=path, study_row=study_row) for i, row in enumerate(sheet.to_dict("records"))]
    out = pd.DataFrame(rows)
    dup = out[out.duplicated(["study", "outcome", "contrast"], keep=False)]
    if not dup.empty:
        first = dup.iloc[0]
        raise SummaryStudyError(
            f"{path}: study '{first['study']}', outcome '{first['outcome']}' with contrast '{first['contrast']}' appears {len(dup)} times; "
            "give each effect once (or distinguish the rows by contrast)"
        )
    groups = out.groupby("study", sort=True)["sample_group"].unique()
    mixed = groups[groups.map(len) > 1]
    if len(mixed):
        raise SummaryStudyError(
            f"{path}: study '{mixed.index[0]}' has rows in sample groups {sorted(mixed.iloc[0])}; one study is one sample: "
            "fix the sample_group column (or give the samples different study ids)"
        )
    return out


def _given(value) -> bool:
    """False for an empty cell (None or NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def year_of(value) -> int | None:
    """A studies.tsv year (absent, empty or a float from a column with gaps) as an int or None."""
    return None if value is None or pd.isna(value) else int(value)


def _convert(row: dict, *, line: int, path: Path, study_row: dict) -> dict:
    where = f"{path} line {line}"
    study = row["study"]
    # A file may hold many published studies; each names its own sample, so that
    # effects of different people are never taken as one sample.
    sample_group = row.get("sample_group") if _given(row.get("sample_group")) else None
    if study != study_row["study"] and sample_group is None:
        raise SummaryStudyError(
            f"{where}: study '{study}' is not this file's row in studies.tsv ('{study_row['study']}'), so it needs its own "
            "sample_group (equal only for studies that share participants); fill the sample_group column or fix the study column"
        )
    sample_group = sample_group or study_row["sample_group"]
    has = {name for name in STATS if _given(row.get(name))}
    drug = row.get("drug") if _given(row.get("drug")) else study_row["drug"]
    contrast = row.get("contrast") if _given(row.get("contrast")) else f"{drug} - {study_row['reference']}"
    label = f"{where} ({row['outcome']}, {contrast})"
    measure, source, kwargs = _plan(row, has=has, where=where)
    try:
        es = escalc(measure, labels=[label], **kwargs) if source != "given" else escalc("GEN", yi=row["yi"], vi=row["vi"], labels=[label])
    except EffectSizeError as err:
        raise SummaryStudyError(f"{err} (summary study '{study}' of {path})") from err
    between = row["design"] == "between"
    n1 = row.get("n1") if between or not _given(row.get("n")) else row["n"]
    n2 = row.get("n2") if between else None
    return {
        "study": study,
        "outcome": row["outcome"],
        "contrast": contrast,
        "yi": float(es["yi"].iloc[0]),
        "vi": float(es["vi"].iloc[0]),
        "n1": int(n1) if _given(n1) else None,
        "n2": int(n2) if _given(n2) else None,
        "design": row["design"],
        "direction": int(row["direction"]) if _given(row.get("direction")) else int(study_row["direction"]),
        "sample_group": sample_group,
        "measure": measure,
        "modality": row.get("modality") if _given(row.get("modality")) else "summary",
        "drug": drug,
        # The studies.tsv row's year is its own study's, not that of other studies in the file.
        "year": int(row["year"]) if _given(row.get("year")) else (
            year_of(study_row.get("year")) if study == study_row["study"] else None),
        "conversion": "as given (yi, vi)" if source == "given" else CONVERSIONS[(measure, source)],
    }


def _plan(row: dict, *, has: set, where: str) -> tuple[str, str, dict]:
    """Which measure and statistics a row calls for: (measure, source, escalc kwargs)."""
    stated = row.get("measure") if _given(row.get("measure")) else None
    between = row["design"] == "between"
    kinds = [kind for kind, names in (("given", {"yi", "vi"}), ("t", {"t"}), ("means", set(MEANS))) if has & names]
    if not kinds and "r" in has:
        kinds = ["r"]
    if len(kinds) != 1:
        found = sorted(has)
        raise SummaryStudyError(
            f"{where}: give exactly one set of statistics (means and SDs, t, r, or yi and vi); found {found or 'none'}"
        )
    source = kinds[0]
    if source == "given":
        return stated or "GEN", "given", {}
    if source == "r" or (source == "t" and stated == "ZCOR"):
        if stated not in (None, "ZCOR"):
            raise SummaryStudyError(f"{where}: a correlation converts to ZCOR, not {stated}; fix or drop the measure column")
        measure = "ZCOR"
    else:
        measure = "SMD" if between else (stated if stated == "SMCR" else "SMCC")
        if stated not in (None, measure):
            raise SummaryStudyError(
                f"{where}: a {row['design']} design with {source} converts to {measure}, not {stated}; "
                "check the design column or drop the measure column"
            )
    if (measure, source) not in REQUIRED:
        raise SummaryStudyError(f"{where}: {measure} cannot be computed from {source}; give means, SDs and r instead")
    missing = [name for name in REQUIRED[(measure, source)] if name not in has]
    if missing:
        raise SummaryStudyError(
            f"{where}: {measure} from {source} needs {list(REQUIRED[(measure, source)])}; {missing} are empty"
        )
    return measure, source, {_ESCALC_ARG[name]: float(row[name]) for name in REQUIRED[(measure, source)]}


_ESCALC_ARG = {"n1": "n1i", "n2": "n2i", "n": "ni", "m1": "m1i", "m2": "m2i", "sd1": "sd1i", "sd2": "sd2i", "r": "ri", "t": "ti"}
