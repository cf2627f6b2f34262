"""The Parquet tables between stages: one schema per data contract.

Each contract is declared once here and used by the writer, the reader and the
tests. Tables are long ("tidy"), sorted by their key columns and written
atomically (temporary name, then ``os.replace``) so that a killed job never
leaves a file that looks complete. No wall-clock time goes into a file, so two
runs on the same input write identical bytes.
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


class TableSchemaError(ValueError):
    """A table does not match its documented contract."""


@dataclass(frozen=True)
class TableSpec:
    """A data contract: the Arrow schema, the sort key and what a row is."""

    name: str
    schema: pa.Schema
    sort_by: tuple[str, ...]
    row: str

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)


def field(name: str, typ: pa.DataType, nullable: bool = False, doc: str = "") -> pa.Field:
    """A column of a data contract, its documentation stored in the Parquet schema."""
    return pa.field(name, typ, nullable=nullable, metadata={"doc": doc} if doc else None)


EMG_BINS = TableSpec(
    name="emg_bins",
    row="participant x trial x muscle x time bin",
    sort_by=("study", "participant", "trial", "muscle", "bin_start_s"),
    schema=pa.schema(
        [
            field("study", pa.string(), doc="study id from studies.tsv"),
            field("participant", pa.string(), doc="BIDS label without 'sub-'"),
            field("arm", pa.string(), doc="treatment arm from participants.tsv"),
            field("trial", pa.int32(), doc="1-based trial number in recording order"),
            field("stimulus", pa.string(), doc="stimulus id from events.tsv"),
            field("emotion", pa.string(), doc="events.tsv trial_type"),
            field("muscle", pa.string(), doc="target muscle from channels.tsv"),
            field("bin_start_s", pa.float64(), doc="bin start relative to stimulus onset, s"),
            field("amplitude_uv", pa.float64(), doc="rectified, smoothed, baseline-corrected amplitude, microvolt"),
            field("amplitude_z", pa.float64(), doc="amplitude_uv z-scored within participant x muscle"),
            field("artefact", pa.bool_(), doc="trial x muscle rejected by an artefact rule"),
            field("artefact_reason", pa.string(), doc="rule(s) that rejected it; empty when clean"),
        ]
    ),
)

PET_BP = TableSpec(
    name="pet_bp",
    row="participant x ROI x condition x model",
    sort_by=("study", "participant", "roi", "condition", "model"),
    schema=pa.schema(
        [
            field("study", pa.string()),
            field("participant", pa.string()),
            field("roi", pa.string()),
            field("condition", pa.string(), doc="baseline | rejection | acceptance (or as configured)"),
            field("model", pa.string(), doc="SRTM | SRTM2 | MRTM | MRTM2 | Logan | ratio | given (config pet.model, pet.check_models)"),
            field("bp_nd", pa.float64(), nullable=True, doc="non-displaceable binding potential"),
            field("r1", pa.float64(), nullable=True, doc="SRTM relative delivery K1/K1'"),
            field("k2", pa.float64(), nullable=True, doc="SRTM k2, 1/min"),
            field("rmse", pa.float64(), nullable=True, doc="root mean squared residual of the fit"),
            field("fit_ok", pa.bool_(), doc="False when the fit failed or is implausible"),
            field("flag_reason", pa.string(), doc="why fit_ok is False; empty otherwise"),
        ]
    ),
)

EFFECTS = TableSpec(
    name="effects",
    row="study x outcome x contrast",
    sort_by=("study", "outcome", "contrast"),
    schema=pa.schema(
        [
            field("study", pa.string()),
            field("outcome", pa.string(), doc="outcome family, e.g. 'zygomaticus to happy faces'"),
            field("contrast", pa.string(), doc="e.g. 'naltrexone - placebo', 'rejection - baseline'"),
            field("yi", pa.float64(), doc="effect size on the measure's scale"),
            field("vi", pa.float64(), doc="its sampling variance"),
            field("n1", pa.int64(), nullable=True, doc="n of group 1 (or of the paired sample)"),
            field("n2", pa.int64(), nullable=True, doc="n of group 2; null for within designs"),
            field("design", pa.string(), doc="between | within"),
            field("direction", pa.int8(), doc="+1 agonist or endogenous release, -1 antagonist"),
            field("sample_group", pa.string(), doc="studies sharing participants share this"),
            field("measure", pa.string(), doc="escalc measure: SMD, SMCC, SMCR, ZCOR or GEN"),
            field("modality", pa.string(), doc="emg | pet | summary"),
            field("drug", pa.string(), doc="drug or manipulation"),
        ]
    ),
)

SPECS = {spec.name: spec for spec in (EMG_BINS, PET_BP, EFFECTS)}


def register(spec: TableSpec) -> TableSpec:
    """Add a stage's own contract (model tables, meta tables) to the registry."""
    SPECS[spec.name] = spec
    return spec


def conform(df: pd.DataFrame, spec: TableSpec, *, source: str = "<table>") -> pa.Table:
    """Check ``df`` against ``spec``; return an Arrow table, sorted, in contract order.

    Raises TableSchemaError naming ``source`` when a column is missing, unexpected,
    of the wrong type, or null where the contract forbids it.
    """
    missing = [c for c in spec.columns if c not in df.columns]
    extra = [c for c in df.columns if c not in spec.columns]
    if missing or extra:
        raise TableSchemaError(
            f"{source}: table '{spec.name}' "
            + (f"lacks column(s) {missing}" if missing else "")
            + (" and " if missing and extra else "")
            + (f"has unexpected column(s) {extra}" if extra else "")
            + f"; expected exactly {spec.columns}"
        )
    df = df[spec.columns]
    for column in spec.schema:
        if not column.nullable and df[column.name].isna().any():
            raise TableSchemaError(
                f"{source}: column '{column.name}' of table '{spec.name}' has missing values "
                f"but the contract requires a value in every row"
            )
    try:
        table = pa.Table.from_pandas(df, schema=spec.schema, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as err:
        raise TableSchemaError(f"{source}: table '{spec.name}' has a column of the wrong type: {err}") from err
    if spec.sort_by:
        table = table.sort_by([(c, "ascending") for c in spec.sort_by])
    # Drop pandas' own metadata (index layout, library versions) from the file.
    return table.replace_schema_metadata({b"opioidsocial.table": spec.name.encode()})


def _atomic_target(path: Path) -> tuple[int, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A writer killed outright (SIGKILL, power loss) skips its cleanup and leaves its
    # temporary behind; the rerun that writes the target removes it, so a finished
    # run holds no debris however often it was interrupted.
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        stale.unlink(missing_ok=True)
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")


def write_table(df: pd.DataFrame, path: str | os.PathLike, spec: TableSpec, *, metadata: dict | None = None) -> None:
    """Validate and atomically write one contract table to Parquet.

    ``metadata`` (strings only: versions, config hash) goes into the file's
    key-value metadata; it must not contain anything that changes between runs.
    """
    path = Path(path)
    table = conform(df, spec, source=str(path))
    meta = dict(table.schema.metadata or {})
    for key, value in sorted((metadata or {}).items()):
        meta[f"opioidsocial.{key}".encode()] = str(value).encode()
    table = table.replace_schema_metadata(meta)
    fd, tmp = _atomic_target(path)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd", write_statistics=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_table(path: str | os.PathLike, spec: TableSpec) -> pd.DataFrame:
    """Read a contract table and check it; raise TableSchemaError naming the file."""
    path = Path(path)
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as err:
        raise TableSchemaError(f"{path}: cannot be read as Parquet ({err}); delete it and rerun the step that writes it") from err
    df = table.to_pandas()
    conform(df, spec, source=str(path))
    return df[spec.columns]


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write a text file (TSV, JSON, report fragments)."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Atomically write a binary file (figures)."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, obj) -> None:
    """Atomically write JSON with sorted keys, so equal content gives equal bytes."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=False, default=_json_default) + "\n")


def write_tsv(df: pd.DataFrame, path: str | os.PathLike, *, float_format: str = "%.10g") -> None:
    """Atomically write a TSV with a fixed float format (stable bytes across runs)."""
    write_text(path, df.to_csv(sep="\t", index=False, float_format=float_format, lineterminator="\n"))


def _json_default(value):
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
