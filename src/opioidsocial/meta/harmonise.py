"""All effects on one table: outcome families, scales and the direction of the manipulation.

Inputs are every study's ``effects.parquet`` (contract EFFECTS) and the converted
rows of every `summary` study (:mod:`opioidsocial.meta.published`). Each effect
gets

* a **family**: the set of effects pooled together. By default the outcome label
  itself, compared normalised (:func:`normalise_label`: lower case, single spaces,
  so one study's 'zygomaticus to Angry  faces' pools with another's 'zygomaticus to
  angry faces'), and named as the first study spells it; the ``outcome`` column
  keeps each study's spelling;
  ``meta.families`` maps labels to families with regular expressions (first full
  match of the normalised label wins, case ignored; the family may use the
  pattern's groups, e.g. ``MOR activation during \\2``);
* its **scale**: ``d`` for the standardised mean differences SMD, SMCC and SMCR,
  which estimate the same standardised effect and may be pooled (Morris & DeShon
  2002), ``z`` for Fisher's z, ``GEN`` for effects given on an unnamed scale. A
  family that mixes scales is an error: map its outcomes to separate families;
* a **harmonised effect** ``yi_harmonised``. The scientific question is whether
  *more* mu-opioid signalling changes a response and in which direction, so an
  effect of an antagonist (direction -1, naltrexone) is turned around
  (``yi * direction``) to read as the effect of more signalling, and an agonist or
  endogenous release (+1: morphine, social rejection) is kept. This assumes that
  blocking and stimulating the receptor act in opposite directions; the pooled
  models per direction (``agonist``/``antagonist`` in pooled.tsv) and the
  meta-regression on direction test exactly that assumption. Effects of arms
  without an opioid manipulation (direction 0, amisulpride) keep their sign and
  are pooled separately (model ``non_opioid``);
* ``muscle`` and ``emotion`` parsed from the outcome label with
  ``meta.outcome_pattern`` (named groups), as moderators for meta-regression.

Sample overlap is not resolved here: ``sample_group`` travels with every effect,
and the models combine or cluster on it (:mod:`opioidsocial.meta.overlap`,
:mod:`opioidsocial.meta.multilevel`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from opioidsocial.errors import DataError
from opioidsocial.failsafe import stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import EFFECTS, META_EFFECTS
from opioidsocial.io.tables import read_table, write_table
from opioidsocial.meta.published import read_summary, year_of
from opioidsocial.stats.escalc import MEASURES

SCALES = {"SMD": "d", "SMCC": "d", "SMCR": "d", "ZCOR": "z", "GEN": "GEN"}

class HarmoniseError(DataError):
    """Effects that cannot be put on one table (bad values, mixed scales in a family, duplicates)."""

    level = "study"


def collect(effect_paths: list[str], summary_studies: list[dict], *, families: list[dict], outcome_pattern: str,
            years: dict | None = None) -> pd.DataFrame:
    """The META_EFFECTS table from effects.parquet files and summary studies (their studies.tsv rows).

    ``years`` maps study ids to their studies.tsv ``year`` (absent or empty: unknown).
    """
    parts = [from_model(read_table(path, EFFECTS), years=years or {}) for path in effect_paths]
    parts += [from_summary(read_summary(row["path"], study_row=row)) for row in summary_studies]
    return harmonise(parts, families=families, outcome_pattern=outcome_pattern)


def from_model(effects: pd.DataFrame, *, years: dict) -> pd.DataFrame:
    """A study's EFFECTS table with the conversion, source and year columns of the meta table."""
    out = effects[EFFECTS.columns].copy()
    out["conversion"] = out["measure"] + ": from the study model"
    out["source"] = "model"
    out["year"] = [year_of(years.get(study)) for study in out["study"]]
    return out


def from_summary(effects: pd.DataFrame) -> pd.DataFrame:
    """A summary study's converted rows (:func:`opioidsocial.meta.published.read_summary`)."""
    out = effects.copy()
    out["source"] = "summary"
    return out


def harmonise(parts: list[pd.DataFrame], *, families: list[dict], outcome_pattern: str) -> pd.DataFrame:
    """Stack the parts (from :func:`from_model` / :func:`from_summary`) into the META_EFFECTS table."""
    columns = [*EFFECTS.columns, "conversion", "source", "year"]
    # The publication year is optional: a part without it has unknown years.
    frames = [(p if "year" in p else p.assign(year=None))[columns] for p in parts if len(p)]
    if not frames:
        raise HarmoniseError("no effects to meta-analyse: no study produced effects and no summary study has rows")
    table = pd.concat(frames, ignore_index=True)
    _check_values(table)
    labels = table["outcome"].map(normalise_label)
    # A label no meta.families rule maps is its own family, named as the first study
    # (in study order) spells it, so equal spellings keep their name.
    spelled = table.assign(label=labels).sort_values(["study", "outcome"]).drop_duplicates("label").set_index("label")["outcome"].to_dict()
    table["family"] = [family_of(label, families, unmapped=spelled[label]) for label in labels]
    table["scale"] = table["measure"].map(SCALES)
    table["direction"] = table["direction"].astype("int8")
    table["year"] = pd.array([year_of(y) for y in table["year"]], dtype="Int64")
    table["yi_harmonised"] = np.where(table["direction"] != 0, table["yi"] * table["direction"], table["yi"])
    pattern = re.compile(outcome_pattern)
    parsed = [pattern.fullmatch(o) for o in labels]
    for name in ("muscle", "emotion"):
        table[name] = [m.groupdict().get(name) if m else None for m in parsed]
    _check_scales(table)
    return table[META_EFFECTS.columns]


def normalise_label(label: str) -> str:
    """An outcome label as effects are pooled by it: lower case, single spaces."""
    return " ".join(label.split()).lower()


def family_of(label: str, families: list[dict], *, unmapped: str | None = None) -> str:
    """The family of a normalised outcome label: the first ``meta.families`` pattern that
    matches it fully (case ignored), else ``unmapped`` (default: the label itself)."""
    for rule in families:
        match = re.fullmatch(rule["pattern"], label, flags=re.IGNORECASE)
        if match:
            return match.expand(rule["family"])
    return label if unmapped is None else unmapped


def _check_values(table: pd.DataFrame) -> None:
    def where(mask) -> str:
        r = table[mask].iloc[0]
        return f"study '{r['study']}', outcome '{r['outcome']}', contrast '{r['contrast']}'"

    bad = ~(np.isfinite(table["yi"]) & np.isfinite(table["vi"]) & (table["vi"] > 0))
    if bad.any():
        raise HarmoniseError(f"{where(bad)}: yi must be finite and vi finite and > 0; rerun or fix that study's model")
    bad = ~table["direction"].isin([-1, 0, 1])
    if bad.any():
        raise HarmoniseError(f"{where(bad)}: direction must be -1, 0 or +1")
    bad = ~table["measure"].isin(MEASURES)
    if bad.any():
        raise HarmoniseError(f"{where(bad)}: unknown measure '{table[bad].iloc[0]['measure']}'; use one of {list(MEASURES)}")
    dup = pd.DataFrame({"study": table["study"], "outcome": table["outcome"].map(normalise_label), "contrast": table["contrast"]}).duplicated(keep=False)
    if dup.any():
        raise HarmoniseError(f"{where(dup)} appears more than once; every study x outcome x contrast must be unique")


def _check_scales(table: pd.DataFrame) -> None:
    for family, rows in table.groupby("family", sort=True):
        scales = sorted(rows["scale"].unique())
        if len(scales) > 1:
            parts = "; ".join(f"{s}: {sorted(set(rows.loc[rows['scale'] == s, 'study']))}" for s in scales)
            raise HarmoniseError(
                f"family '{family}' mixes effect-size scales ({parts}); effects on different scales cannot be pooled. "
                "Give the outcomes different labels or map them to separate families with meta.families"
            )


@stage("meta_effects", level="run", outputs={"effects": contracts.META_EFFECTS})
def run(*, inputs: dict, outputs: dict, cfg: dict, summaries: list[dict], metadata: dict, years: dict) -> None:
    """The meta_effects job: every study's effects and the summary studies, harmonised (``years``: study -> studies.tsv year)."""
    meta = cfg["meta"]
    table = collect(list(inputs["effects"]), summaries, families=meta["families"], outcome_pattern=meta["outcome_pattern"], years=years)
    write_table(table, outputs["effects"], META_EFFECTS, metadata=metadata)
