"""Logging for the workflow's scripts: every job writes its own log file.

Every script is ``run_job(snakemake, run)``: the stage's entry point gets the
job's named inputs and outputs, its wildcards and its params as keyword
arguments; messages and any traceback go to ``snakemake.log[0]``, the error is
re-raised so Snakemake marks the job failed, and the log says which study,
participant and file failed.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

from opioidsocial.stale import raw_digests

log = logging.getLogger("opioidsocial")


@contextlib.contextmanager
def job_log(smk):
    """Send this job's log records (and warnings) to its log file."""
    path = Path(smk.log[0]) if len(smk.log) else None
    handler: logging.Handler
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    wildcards = dict(smk.wildcards.items()) if hasattr(smk.wildcards, "items") else {}
    log.info("rule %s %s", smk.rule, " ".join(f"{k}={v}" for k, v in sorted(wildcards.items())))
    try:
        yield log
    except Exception:
        log.exception("failed: rule %s %s; inputs: %s", smk.rule, wildcards, list(map(str, smk.input)))
        raise
    finally:
        root.removeHandler(handler)
        handler.close()


def _plain(value):
    return value if isinstance(value, str) else list(map(str, value))


def run_job(smk, run) -> None:
    """Call ``run(inputs=..., outputs=..., **wildcards, **params)`` for this job, logged.

    A job whose outputs carry ``metadata`` also records there the digests of the raw
    files it read (outside the results folder), so ``opioidsocial stale`` can find
    results older than a raw file that was replaced with its time stamp kept.
    """
    kwargs = {**dict(smk.wildcards.items()), **dict(smk.params.items())}
    if "metadata" in kwargs:
        kwargs["metadata"] = {**kwargs["metadata"], **raw_digests(list(map(str, smk.input)), results=smk.config["results"])}
    with job_log(smk):
        run(inputs={k: _plain(v) for k, v in smk.input.items()}, outputs={k: _plain(v) for k, v in smk.output.items()}, **kwargs)
