"""Stale results: raw files that changed since the outputs made from them.

Snakemake reruns a job when an input is newer than its outputs. A corrected raw
file copied over the old one with its time stamp kept (``cp -p``, ``rsync -t``) is
not newer, so its participant's results stay as they were and nothing says so.
Every job that reads raw files (anything outside the results folder) therefore
records their SHA-256 in the metadata of its Parquet outputs (:func:`raw_digests`,
called by :func:`opioidsocial.runlog.run_job`), and ``opioidsocial stale`` compares
them with the files now on disk (:func:`find_stale`), naming the fix.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

#: Parquet key-value metadata key of the digests (write_table prefixes "opioidsocial.").
KEY = "raw_inputs"
_CHUNK = 1 << 20


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def raw_digests(paths: list[str], *, results: str) -> dict:
    """``{KEY: JSON of path -> sha256}`` for the ``paths`` outside ``results``; {} if none."""
    inside = Path(results).resolve()
    raw = sorted({p for p in paths if not Path(p).resolve().is_relative_to(inside) and Path(p).is_file()})
    return {KEY: json.dumps({p: sha256(p) for p in raw}, sort_keys=True)} if raw else {}


@dataclass(frozen=True)
class Stale:
    """An output whose raw input no longer has the digest it was made from."""

    output: str
    raw: str
    reason: str


def find_stale(*, results: str | Path) -> list[Stale]:
    """Every Parquet output under ``results`` whose recorded raw inputs changed or went missing."""
    found = []
    for output in sorted(Path(results).rglob("*.parquet")):
        meta = pq.read_schema(output).metadata or {}
        recorded = meta.get(f"opioidsocial.{KEY}".encode())
        for raw, digest in json.loads(recorded).items() if recorded else ():
            if not Path(raw).is_file():
                found.append(Stale(str(output), raw, "no longer exists"))
            elif sha256(raw) != digest:
                found.append(Stale(str(output), raw, "changed (its content differs from the file the output was made from)"))
    return found


def report(stale: list[Stale]) -> str:
    """What changed, and the command that reruns exactly those outputs and what depends on them."""
    if not stale:
        return "every result matches the raw files it was made from"
    lines = [f"{s.output}: {s.raw} {s.reason}" for s in stale]
    outputs = " ".join(sorted({s.output for s in stale}))
    return "\n".join([*lines, f"fix: snakemake --cores N --forcerun {outputs}"])
