"""Stale results: raw files that changed since the outputs made from them.

Snakemake reruns a job when an input is newer than its outputs. A corrected raw
file copied over the old one with its time stamp kept (``cp -p``, ``rsync -t``) is
not newer, so its participant's results stay as they were and nothing says so.
Every job that reads raw files (anything outside the results folder) therefore
records their SHA-256 in the metadata of its Parquet outputs (:func:`raw_digests`,
called by :func:`opioidsocial.runlog.run_job`), and ``opioidsocial stale`` compares
them with the files now on disk (:func:`find_stale`), naming the fix.

The workflow does the same when it starts (:func:`refresh`, from common.smk),
cheaply: it re-hashes only the raw files whose size or ctime differ from its last
look (``cp -p`` and ``rsync -t`` restore the modification time, never the ctime),
kept in a cache beside the logs, and reads only the Parquet footers that changed.
The results made from a raw file found changed under a kept time stamp are dated
back to just before that file (the raw data are never touched: they may be
read-only, and their dates are the lab's record), so Snakemake's own rule (an input
newer than its outputs) reruns exactly the jobs that read it and what depends on
them.
"""

from __future__ import annotations

import hashlib
import json
import os
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


def _load(path: Path) -> dict:
    try:
        cache = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"outputs": {}, "raw": {}}
    return cache if isinstance(cache, dict) and {"outputs", "raw"} <= set(cache) else {"outputs": {}, "raw": {}}


def _recorded(results: Path, cached: dict) -> dict[str, dict[str, str]]:
    """Each Parquet output's recorded raw digests; a footer is read only when its file changed."""
    found = {}
    for output in sorted(results.rglob("*.parquet")):
        stat, key = output.stat(), str(output)
        hit = cached.get(key)
        if hit and hit[:2] == [stat.st_mtime_ns, stat.st_size]:
            found[key] = hit[2]
            continue
        recorded = (pq.read_schema(output).metadata or {}).get(f"opioidsocial.{KEY}".encode())
        found[key] = json.loads(recorded) if recorded else {}
        cached[key] = [stat.st_mtime_ns, stat.st_size, found[key]]
    return found


def _digest(raw: str, cached: dict) -> str:
    """The raw file's SHA-256, hashed again only when its size or ctime moved."""
    stat = os.stat(raw)
    hit = cached.get(raw)
    if hit and hit[:2] == [stat.st_size, stat.st_ctime_ns]:
        return hit[2]
    digest = sha256(raw)
    cached[raw] = [stat.st_size, stat.st_ctime_ns, digest]
    return digest


def refresh(*, results: str | Path, cache: str | Path) -> list[Stale]:
    """Find the outputs whose raw inputs changed while keeping their time stamps, and make Snakemake see it.

    Each such output gets a modification time one second before its raw file's, so
    that Snakemake reruns the jobs that read it. Returns what was found, for the
    warning; ``cache`` keeps the sizes, ctimes and digests seen.
    """
    results, cache = Path(results), Path(cache)
    if not results.is_dir():
        return []
    seen = _load(cache)
    stale = []
    outputs = _recorded(results, seen["outputs"])
    for output, digests in outputs.items():
        for raw, digest in sorted(digests.items()):
            if Path(raw).is_file() and _digest(raw, seen["raw"]) != digest and os.stat(raw).st_mtime_ns <= os.stat(output).st_mtime_ns:
                stale.append(Stale(output, raw, "changed under a kept modification time"))
    for s in stale:
        older = os.stat(s.raw).st_mtime_ns - 10**9
        if os.stat(s.output).st_mtime_ns > older:
            os.utime(s.output, ns=(os.stat(s.output).st_atime_ns, older))
    # Outputs gone since are dropped from the cache.
    seen["outputs"] = {k: v for k, v in seen["outputs"].items() if k in outputs}
    cache.parent.mkdir(parents=True, exist_ok=True)
    # Whole or not at all: cluster jobs read the workflow (and this cache) too.
    partial = cache.with_name(f".{cache.name}.{os.getpid()}")
    partial.write_text(json.dumps(seen, sort_keys=True))
    os.replace(partial, cache)
    return stale


def warning(stale: list[Stale]) -> str:
    """The start-up warning: each changed raw file and the results it invalidates, which now rerun."""
    by_raw: dict[str, list[str]] = {}
    for s in stale:
        by_raw.setdefault(s.raw, []).append(s.output)
    return "\n".join(f"{raw} changed under a kept modification time (restored with cp -p, rsync -t or tar?); "
                     f"rerunning the jobs that read it, invalidating {', '.join(sorted(outputs))}" for raw, outputs in sorted(by_raw.items()))
