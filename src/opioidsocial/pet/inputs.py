"""Reading and checking the two PET inputs: time-activity curves and BPND tables.

The layouts are documented in ``workflow/schemas/tac.schema.yaml`` and
``workflow/schemas/bpnd.schema.yaml``; every row is validated against those
schemas, then against what the analysis needs (frame order, the reference region,
the configured ROIs and conditions). A problem raises ``PetInputError`` (a
``DataError``) naming the study, participant and file, what is wrong and how to fix
it, before anything is written.

Checks on TAC files that a fit would otherwise survive with a biased BPND:

- region columns: a duplicated header (pandas would silently rename the second
  ``thalamus.1``, so the raw header line is read), a region name that is not an
  identifier (the rule of config pet.rois; such names break the meta-analysis
  families), and columns that are frame timing rather than regions
  (``NON_REGION_COLUMNS``);
- a first frame that starts later than config ``pet.max_start_min`` after
  injection (every model integrates from injection);
- decay correction: the sidecar's BIDS-PET ``ImageDecayCorrected`` (or config
  ``pet.decay_corrected``) says whether activities are corrected; if not, each
  frame is corrected with the mean decay over the frame,
  lambda (t1 - t0) / (exp(-lambda t0) - exp(-lambda t1)), the standard frame
  correction for activity that is constant within the frame.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd

from opioidsocial.config import SCHEMA_DIR, load_schema
from opioidsocial.errors import DataError
from opioidsocial.pet.frames import decay_constant

#: The model of a BPND-table study's rows: the binding potentials as the table gives them.
GIVEN = "given"


def primary_model(study_input: str, pet_model: str) -> str:
    """The estimate a PET study's effects, evidence and counts use: config pet.model, or 'given' for a BPND table."""
    return GIVEN if study_input == "bpnd" else pet_model

TAC_PATTERN = "sub-{participant}/ses-{condition}/pet/sub-{participant}_ses-{condition}_tacs.tsv"
# PETPrep's PET-BIDS derivatives draft; {seg} is "_seg-<label>" or empty.
PETPREP_PATTERN = "sub-{participant}/ses-{condition}/pet/sub-{participant}_ses-{condition}{seg}_desc-preproc_tacs.tsv"
FRAME_COLUMNS = ("frame_start", "frame_end")
# Frame timing and bookkeeping columns that TAC exports carry beside the regions.
NON_REGION_COLUMNS = ("frame_duration", "frame_mid", "mid_time", "midtime", "time", "duration", "frame", "frame_number", "weight", "weights")
REGION_NAME = re.compile(r"^[A-Za-z0-9_]+$")  # the pattern of config pet.rois
BPND_FILE = "bpnd.tsv"
MIN_FRAMES = 4  # SRTM has three parameters
TAC_SCHEMA = SCHEMA_DIR / "tac.schema.yaml"
BPND_SCHEMA = SCHEMA_DIR / "bpnd.schema.yaml"


class PetInputError(DataError):
    """A TAC file or BPND table is unusable; the message names the file and the fix."""


def tac_path(root: str | Path, participant: str, condition: str, *, layout: str = "bids", seg: str = "") -> str:
    """Where the TAC file of one participant and scan lives (see tac.schema.yaml)."""
    if layout == "bids":
        name = TAC_PATTERN.format(participant=participant, condition=condition)
    elif layout == "petprep":
        name = PETPREP_PATTERN.format(participant=participant, condition=condition, seg=f"_seg-{seg}" if seg else "")
    else:
        raise ValueError(f"unknown TAC layout '{layout}' (bids or petprep)")
    return str(Path(root) / name)


def sidecar_path(tac: str | Path) -> Path:
    """The TAC file's JSON sidecar: the same name with .json (BIDS inheritance of one level)."""
    return Path(tac).with_suffix(".json")


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
    decay: dict = field(default_factory=dict)


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


def _header(path: Path) -> list[str]:
    """The column names as written (pandas renames a duplicate 'x' to 'x.1')."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.startswith("#"):
                return [name.strip() for name in line.rstrip("\r\n").split("\t")]
    return []


def _check_region_columns(header: list[str], *, fitted: list[str], path: Path, where: str, ids: dict) -> None:
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise PetInputError(
            f"{where}: {path} has column '{duplicated[0]}' more than once", **ids,
            fix="keep one column per region (or give the regions distinct names)",
        )
    for name in fitted:
        if name.lower() in NON_REGION_COLUMNS:
            raise PetInputError(
                f"{where}: {path} column '{name}' is frame timing, not a region", **ids,
                fix="drop it (frames are given by frame_start and frame_end), or list the regions to fit in config pet.rois",
            )
        if not REGION_NAME.match(name):
            raise PetInputError(
                f"{where}: {path} region column '{name}' is not an identifier (letters, digits, underscore)", **ids,
                fix="rename the column (e.g. spaces and hyphens to '_'), or list the regions to fit in config pet.rois",
            )


def _decay_state(path: Path, *, configured: bool, where: str, ids: dict) -> dict:
    """Whether the activities are decay-corrected: the sidecar wins over the config."""
    sidecar = sidecar_path(path)
    state = {"config": configured, "sidecar": None, "decay_corrected": configured, "source": "config pet.decay_corrected"}
    if sidecar.is_file():
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise PetInputError(f"{where}: {sidecar} is not valid JSON ({err})", **{**ids, "file": str(sidecar)},
                                fix="fix the sidecar or remove it") from err
        value = meta.get("ImageDecayCorrected") if isinstance(meta, dict) else None
        if value is not None:
            if not isinstance(value, bool):
                raise PetInputError(f"{where}: {sidecar}: ImageDecayCorrected is {value!r}, not true or false",
                                    **{**ids, "file": str(sidecar)}, fix="write true or false (BIDS-PET)")
            state.update(sidecar=value, decay_corrected=value, source=str(sidecar))
    state["disagreement"] = state["sidecar"] is not None and state["sidecar"] != configured
    return state


def decay_correction(start_min: np.ndarray, end_min: np.ndarray, *, half_life_min: float) -> np.ndarray:
    """Per frame, the factor that corrects a frame's mean activity for decay to injection."""
    lam = decay_constant(half_life_min)
    return lam * (end_min - start_min) / (np.exp(-lam * start_min) - np.exp(-lam * end_min))


def read_tacs(
    path: str | Path,
    *,
    study: str,
    participant: str,
    condition: str,
    reference_region: str,
    rois: list[str],
    decay_corrected: bool,
    half_life_min: float,
    max_start_min: float,
) -> Scan:
    """Read one scan's TAC file; ``rois`` empty means every column but the reference.

    ``decay_corrected`` is the config's word for files without a sidecar;
    activities that are not corrected come back corrected (``Scan.decay`` says how).
    """
    path = Path(path)
    where = f"study '{study}', participant '{participant}', scan '{condition}'"
    ids = {"study": study, "participant": participant, "file": str(path)}
    raw = _read_raw(path, where)
    header = _header(path)
    fitted = list(rois) or [c for c in header if c not in (*FRAME_COLUMNS, reference_region)]
    _check_region_columns(header, fitted=fitted, path=path, where=where, ids=ids)
    missing = [c for c in (*FRAME_COLUMNS, reference_region, *rois) if c not in raw.columns]
    if missing:
        raise PetInputError(
            f"{where}: {path} lacks column(s) {missing} (has {list(raw.columns)}); add them, or set "
            "config pet.reference_region / pet.rois to the region names the file uses", **ids
        )
    if len(raw) < MIN_FRAMES:
        raise PetInputError(f"{where}: {path} has {len(raw)} frame(s); at least {MIN_FRAMES} are needed to fit SRTM", **ids)
    table = pd.DataFrame({c: _numbers(raw[c], path=path, name=c, where=where, allow_na=False) for c in raw.columns})
    _validate_rows(table, schema_path=TAC_SCHEMA, path=path, where=where)
    start = table["frame_start"].to_numpy() / 60.0
    end = table["frame_end"].to_numpy() / 60.0
    order_problem = np.flatnonzero(start[1:] < end[:-1] - 1e-9)
    if order_problem.size:
        i = int(order_problem[0]) + 1
        raise PetInputError(
            f"{where}: {path} line {i + 2}: frame starts at {table['frame_start'].iloc[i]:g} s, before the previous "
            f"frame ends ({table['frame_end'].iloc[i - 1]:g} s); frames must be in time order and must not overlap", **ids
        )
    short = np.flatnonzero(end <= start)
    if short.size:
        raise PetInputError(f"{where}: {path} line {int(short[0]) + 2}: frame_end must be greater than frame_start", **ids)
    if start[0] > max_start_min:
        raise PetInputError(
            f"{where}: {path}: the first frame starts {start[0]:g} min after injection, later than config "
            f"pet.max_start_min = {max_start_min:g} min; every model integrates the TACs from injection, so BPND "
            "would be biased", **ids,
            fix="add the early frames (the scan must start at injection), or exclude the scan",
        )
    if not np.any(table[reference_region].to_numpy() > 0):
        raise PetInputError(
            f"{where}: {path}: the reference region '{reference_region}' has no positive activity; "
            "check that the column holds the reference TAC (config pet.reference_region)", **ids
        )
    if not fitted:
        raise PetInputError(f"{where}: {path} has no ROI column besides the reference region '{reference_region}'", **ids)
    decay = _decay_state(path, configured=decay_corrected, where=where, ids=ids)
    factor = 1.0 if decay["decay_corrected"] else decay_correction(start, end, half_life_min=half_life_min)
    decay["corrected_here"] = not decay["decay_corrected"]
    return Scan(
        condition=condition,
        start_min=start,
        end_min=end,
        reference=table[reference_region].to_numpy() * factor,
        rois={roi: table[roi].to_numpy() * factor for roi in fitted},
        decay=decay,
    )


def read_scan(path: str | Path, *, study: str, participant: str, condition: str, cfg: dict) -> Scan:
    """``read_tacs`` with the options of config ``pet``."""
    return read_tacs(
        path, study=study, participant=participant, condition=condition, reference_region=cfg["reference_region"],
        rois=cfg["rois"], decay_corrected=cfg["decay_corrected"], half_life_min=cfg["half_life_min"],
        max_start_min=cfg["max_start_min"],
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
