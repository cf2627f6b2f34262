"""Writing and reading the files between stages, checked against their contracts.

The contracts themselves are declared once, in :mod:`opioidsocial.io.contracts`;
this module holds the mechanics every writer and reader uses. Tables are long ("tidy"), sorted by their key columns and written
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

from opioidsocial.errors import DataError


class TableSchemaError(DataError):
    """A table does not match its documented contract (the message names the file)."""


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

    def empty(self) -> pd.DataFrame:
        """A table of this contract with no rows (an excluded participant's, a study's without effects)."""
        return pd.DataFrame(columns=self.columns)


#: Columns that hold labels in every table: read as text, so participant 007 is not 7.
LABELS = ("study", "participant", "stimulus")


@dataclass(frozen=True)
class TsvSpec:
    """A TSV contract: its columns in order, and the factor columns that may lead them.

    ``leading`` columns (model factors such as muscle or emotion) precede
    ``columns`` when the table has them, in this order; ``text`` columns are read as
    strings, so that a label such as participant 007 is not the number 7.
    """

    name: str
    row: str
    columns: tuple[str, ...]
    leading: tuple[str, ...] = ()
    text: tuple[str, ...] = ()

    def expected(self, present) -> list[str]:
        return [c for c in self.leading if c in present] + list(self.columns)

    def check(self, columns, *, source: str) -> None:
        expected = self.expected(columns)
        if list(columns) != expected:
            raise TableSchemaError(
                f"{source}: table '{self.name}' has columns {list(columns)}, expected {expected}; "
                "rerun the step that writes it (its contract is in opioidsocial.io.contracts)"
            )

    def empty(self) -> pd.DataFrame:
        return pd.DataFrame(columns=list(self.columns))


def field(name: str, typ: pa.DataType, nullable: bool = False, doc: str = "") -> pa.Field:
    """A column of a data contract, its documentation stored in the Parquet schema."""
    return pa.field(name, typ, nullable=nullable, metadata={"doc": doc} if doc else None)


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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    # mkstemp creates 0600 whatever the umask; the renamed file must get the mode an
    # ordinary open() would (0644 under umask 022), or the rest of the lab cannot read it.
    os.fchmod(fd, 0o666 & ~_umask())
    return fd, tmp


def _umask() -> int:
    # The only portable way to read the umask is to set it and put it back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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


def write_json(path: str | os.PathLike, obj, schema: dict | None = None) -> None:
    """Atomically write JSON with sorted keys, so equal content gives equal bytes.

    A record between stages passes its ``schema`` (io.contracts) and is checked first.
    """
    if schema is not None:
        _check_json(obj, schema, source=str(path))
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=False, default=_json_default) + "\n")


def write_tsv(df: pd.DataFrame, path: str | os.PathLike, spec: TsvSpec | None = None, *, float_format: str = "%.10g") -> None:
    """Atomically write a TSV with a fixed float format (stable bytes across runs).

    A table between stages passes its ``spec`` and is checked against it; sheets and
    data files the simulator writes have their own schemas in workflow/schemas/.
    """
    if spec is not None:
        spec.check(df.columns, source=str(path))
    write_text(path, df.to_csv(sep="\t", index=False, float_format=float_format, lineterminator="\n"))


def read_tsv(path: str | os.PathLike, spec: TsvSpec) -> pd.DataFrame:
    """Read a contract TSV and check its columns; raise TableSchemaError naming the file."""
    try:
        df = pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""], dtype={c: str for c in (*LABELS, *spec.text)})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise TableSchemaError(f"{path}: cannot be read as a TSV ({err}); delete it and rerun the step that writes it") from err
    spec.check(df.columns, source=str(path))
    return df


def read_json(path: str | os.PathLike, schema: dict) -> dict:
    """Read a JSON record between stages (the QC record) and check it against its schema."""
    try:
        with open(path, encoding="utf-8") as fh:
            record = json.load(fh)
    except (OSError, json.JSONDecodeError) as err:
        raise TableSchemaError(f"{path}: cannot be read as JSON ({err}); delete it and rerun the step that writes it") from err
    _check_json(record, schema, source=str(path))
    return record


def _check_json(record, schema: dict, *, source: str) -> None:
    import jsonschema

    try:
        jsonschema.validate(record, schema)
    except jsonschema.ValidationError as err:
        raise TableSchemaError(f"{source}: does not match its contract: {err.message}") from err


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
