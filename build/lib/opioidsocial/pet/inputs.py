"""Reading and checking the two PET inputs: time-activity curves and BPND tables.

The layouts are documented in ``workflow/schemas/tac.schema.yaml`` and
``workflow/schemas/bpnd.schema.yaml``; every row is validated against those
schemas, then against what the analysis needs (frame order, the reference region,
the configured ROIs and conditions). A problem raises ``PetInputError`` naming the
study, participant and file, what is wrong and how to fix it, before anything is
written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd

from opioidsocial.config import SCHEMA_DIR, load_schema
from opioidsocial.errors import DataError

TAC_PATTERN = "sub-{participant}/ses-{condition}/pet/sub-{participant}_ses-{condition}_tacs.tsv"
BPND_FILE = "bpnd.tsv"
MIN_FRAMES = 4  # SRTM has three parameters
TAC_SCHEMA = SCHEMA_DIR / "tac.schema.yaml"
BPND_SCHEMA = SCHEMA_DIR / "bpnd.schema.yaml"


class PetInputError(DataError):
    """A TAC file or BPND table is unusable; the message names the file and the fix."""


def tac_path(root: str | Path, participant: str, condition: str) -> str:
    """Where the TAC file of one participant and scan lives (see tac.schema.yaml)."""
    return str(Path(root) / TAC_PATTERN.format(participant=participant, condition=condition))


def bpnd_path(root: str | Path) -> str:
    return str(Path(root) / BPND_FILE)


@dataclass(frozen=True)
class Scan:
    """The TACs of one scan: frames in minutes, the reference TAC and one TAC per ROI."""

    condition: str
    start_min: np.ndarray
    end_min: np.ndarray
    reference: np.ndarray
    rois: dict[str, np.ndarray]


def _read_raw(path: Path, where: str) -> pd.DataFrame:
    if not path.is_file():
        raise PetInputError(f"{where}: {path} does not exist; write it (layout in workflow/schemas/) or fix the study's path")
    try:
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise PetInputError(f"{where}: {path} is not a readable tab-separated table ({err})") from err


def _numbers(column: pd.Series, *, path: Path, name: str, where: str, allow_na: bool) -> np.ndarray:
    text = column.str.strip()
    missing = text.isin(["", "n/a", "NA", "NaN", "nan"])
    values = pd.to_numeric(text.where(~missing), errors="coerce")
    bad = values.isna() & ~missing
    if bad.any() or (missing.any() and not allow_na) or np.isinf(values).any():
        first = int(np.flatnonzero(bad | (missing & (not allow_na)) | np.isinf(values))[0])
        raise PetInputError(
            f"{where}: {path} line {first + 2}, column '{name}' = {column.iloc[first]!r} is not a finite number; "
            + ("use 'n/a' for a value not reported" if allow_na else "fix the value or drop the frame")
        )
    return values.to_numpy(dtype=float)


def _validate_rows(df: pd.DataFrame, *, schema_path: str | Path, path: Path, where: str) -> None:
    schema, registry = load_schema(schema_path)
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    problems = []
    for line, row in enumerate(df.to_dict(orient="records"), start=2):
        clean = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        for err in validator.iter_errors(clean):
            col = ".".join(map(str, err.absolute_path)) or "<row>"
            problems.append(f"{path} line {line}, column '{col}': {err.message}")
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise PetInputError(f"{where}: " + "; ".join(problems[:5]) + more + f"; the layout is documented in {schema_path}")


def read_tacs(
    path: str | Path,
    *,
    study: str,
    participant: str,
    condition: str,
    reference_region: str,
    rois: list[str],
) -> Scan:
    """Read one scan's TAC file; ``rois`` empty means every column but the reference."""
    path = Path(path)
    where = f"study '{study}', participant '{participant}', scan '{condition}'"
    raw = _read_raw(path, where)
    missing = [c for c in ("frame_start", "frame_end", reference_region, *rois) if c not in raw.columns]
    if missing:
        raise PetInputError(
            f"{where}: {path} lacks column(s) {missing} (has {list(raw.columns)}); add them, or set "
            "config pet.reference_region / pet.rois to the region names the file uses"
        )
    if len(raw) < MIN_FRAMES:
        raise PetInputError(f"{where}: {path} has {len(raw)} frame(s); at least {MIN_FRAMES} are needed to fit SRTM")
    table = pd.DataFrame({c: _numbers(raw[c], path=path, name=c, where=where, allow_na=False) for c in raw.columns})
    _validate_rows(table, schema_path=TAC_SCHEMA, path=path, where=where)
    start = table["frame_start"].to_numpy() / 60.0
    end = table["frame_end"].to_numpy() / 60.0
    order_problem = np.flatnonzero(start[1:] < end[:-1] - 1e-9)
    if order_problem.size:
        i = int(order_problem[0]) + 1
        raise PetInputError(
            f"{where}: {path} line {i + 2}: frame starts at {table['frame_start'].iloc[i]:g} s, before the previous "
            f"frame ends ({table['frame_end'].iloc[i - 1]:g} s); frames must be in time order and must not overlap"
        )
    short = np.flatnonzero(end <= start)
    if short.size:
        raise PetInputError(f"{where}: {path} line {int(short[0]) + 2}: frame_end must be greater than frame_start")
    if not np.any(table[reference_region].to_numpy() > 0):
        raise PetInputError(
            f"{where}: {path}: the reference region '{reference_region}' has no positive activity; "
            "check that the column holds the reference TAC (config pet.reference_region)"
        )
    roi_names = list(rois) or [c for c in raw.columns if c not in ("frame_start", "frame_end", reference_region)]
    if not roi_names:
        raise PetInputError(f"{where}: {path} has no ROI column besides the reference region '{reference_region}'")
    return Scan(
        condition=condition,
        start_min=start,
        end_min=end,
        reference=table[reference_region].to_numpy(),
        rois={roi: table[roi].to_numpy() for roi in roi_names},
    )


def read_bpnd(
    path: str | Path,
    *,
    study: str,
    participants: list[str],
    conditions: list[str],
    rois: list[str],
    hemispheres: str,
) -> pd.DataFrame:
    """A BPND table as long rows (participant, roi, condition, bp_nd, flag_reason).

    Every participant x ROI x condition cell is present: a cell missing from the
    file, or reported as n/a, has bp_nd NaN and says why in flag_reason.
    Hemispheres are averaged ('mean', both must be given) or kept as separate ROIs
    named <roi>_left / <roi>_right ('separate').
    """
    path = Path(path)
    where = f"study '{study}'"
    raw = _read_raw(path, where)
    required = ["participant_id", "roi", "hemisphere", "condition", "bp_nd"]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise PetInputError(f"{where}: {path} lacks column(s) {missing}; the columns are documented in {BPND_SCHEMA}")
    table = raw[required].copy()
    table["bp_nd"] = _numbers(raw["bp_nd"], path=path, name="bp_nd", where=where, allow_na=True)
    _validate_rows(table, schema_path=BPND_SCHEMA, path=path, where=where)
    table["participant"] = table["participant_id"].str.removeprefix("sub-")

    unknown = sorted(set(table["participant"]) - set(participants))
    if unknown:
        raise PetInputError(
            f"{where}: {path} has participant(s) {['sub-' + p for p in unknown]} that participants.tsv does not list; "
            "add them to participants.tsv or remove their rows"
        )
    other = sorted(set(table["condition"]) - set(conditions))
    if other:
        raise PetInputError(f"{where}: {path} has condition(s) {other} not in config pet.conditions {conditions}; add them there or remove the rows")
    dup = table.duplicated(["participant", "roi", "hemisphere", "condition"], keep=False)
    if dup.any():
        first = table[dup].iloc[0]
        raise PetInputError(
            f"{where}: {path} has {int(dup.sum())} rows for the same participant x roi x hemisphere x condition, e.g. "
            f"sub-{first['participant']} {first['roi']} {first['hemisphere']} {first['condition']}; keep one row each"
        )
    sides = table.groupby("roi")["hemisphere"].agg(lambda h: set(h))
    mixed = sorted(roi for roi, h in sides.items() if "bilateral" in h and len(h) > 1)
    if mixed:
        raise PetInputError(f"{where}: {path}: ROI(s) {mixed} have both 'bilateral' and left/right rows; use one or the other")
    if rois:
        absent = [r for r in rois if r not in sides.index]
        if absent:
            raise PetInputError(f"{where}: {path} has no rows for ROI(s) {absent} of config pet.rois (it has {sorted(sides.index)})")
        table = table[table["roi"].isin(rois)]

    table["reason"] = np.where(table["bp_nd"].isna(), "n/a in " + path.name, "")
    if hemispheres == "separate":
        table["roi"] = np.where(table["hemisphere"] == "bilateral", table["roi"], table["roi"] + "_" + table["hemisphere"])
        cells = table[["participant", "roi", "condition", "bp_nd", "reason"]]
    else:
        lateral = sides[sides.map(lambda h: "bilateral" not in h)].index
        grouped = table.groupby(["participant", "roi", "condition"], sort=True)
        cells = grouped.agg(bp_nd=("bp_nd", "mean"), reason=("reason", lambda r: "; ".join(sorted(set(r) - {""})))).reset_index()
        count = grouped["bp_nd"].count().reset_index(drop=True)
        one_side = cells["roi"].isin(lateral) & (count < 2) & (cells["reason"] == "")
        cells.loc[one_side, "reason"] = "only one hemisphere given"
        cells.loc[cells["reason"] != "", "bp_nd"] = np.nan

    full = pd.MultiIndex.from_product(
        [sorted(participants), sorted(cells["roi"].unique()), list(conditions)], names=["participant", "roi", "condition"]
    )
    cells = cells.set_index(["participant", "roi", "condition"]).reindex(full).reset_index()
    cells["reason"] = cells["reason"].fillna(f"missing from {path.name}")
    return cells.rename(columns={"reason": "flag_reason"})
