"""One mechanism for data that cannot be analysed: stop, or exclude and record why.

Every stage's entry point is decorated with :func:`stage` (the shape of
mne-bids-pipeline's ``failsafe_run``), which declares the outputs the job writes and
their contracts and runs the job inside :func:`failsafe`. A
:class:`~opioidsocial.errors.DataError` raised inside gets the study, participant and
file it is about filled in, and then config ``on_bad_data`` decides: 'fail' re-raises
it; 'exclude' logs it and :func:`write_excluded` writes every declared output empty
(tables without rows, figures and pages that give the reason) with the exclusion in
the job's record: the QC record of a participant, the fit record or the exclusion
list of a study (one :func:`record` row). No stage writes its own. Any other
exception is a bug or a config problem and always propagates.

Exclusions a stage decides itself by a documented rule, below the participant (a
muscle whose electrode gave no signal, a trial whose epoch leaves the recording),
are DataErrors at their ``level`` too: they never stop the job, whatever
``on_bad_data`` says, and :func:`record` turns each into a row of the same shape.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from opioidsocial.errors import DataError
from opioidsocial.io.contracts import EXCLUSIONS, FigureFile, Folder, TextFile
from opioidsocial.io.tables import TableSpec, TsvSpec, write_json, write_table, write_text, write_tsv

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What :func:`failsafe` saw: ``excluded`` is the error when the data were excluded."""

    excluded: DataError | None = None

    @property
    def reason(self) -> str:
        return "" if self.excluded is None else str(self.excluded)


def exclusion(*, study: str, participant: str, level: str, stage: str, reason: str, muscle: str = "", trial: int | None = None) -> dict:
    """One row of the EXCLUSIONS contract (io.contracts): who, at which level, where and why."""
    return {"study": study, "participant": participant, "level": level, "muscle": muscle,
            "trial": "" if trial is None else str(trial), "stage": stage, "reason": reason}


def exclusion_table(rows: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """Exclusion rows as the EXCLUSIONS table, in one order: study, participant, level, muscle,
    trial (as a number: trial 2 before trial 10), stage, reason."""
    table = pd.DataFrame(rows, columns=list(EXCLUSIONS.columns)).fillna("").astype(str)
    order = list(EXCLUSIONS.columns)
    return table.sort_values(order, key=lambda c: c.str.zfill(12) if c.name == "trial" else c, kind="stable").reset_index(drop=True)


def record(err: DataError, *, stage: str) -> dict:
    """The EXCLUSIONS row of a DataError at its level (participant, muscle, trial)."""
    return exclusion(study=err.study, participant=err.participant or "", level=err.level, stage=stage, reason=str(err),
                     muscle=err.muscle or "", trial=err.trial)


@contextlib.contextmanager
def failsafe(*, on_bad_data: str, study: str | None = None, participant: str | None = None, files: dict | None = None) -> Iterator[Outcome]:
    """Apply ``on_bad_data`` to the DataErrors raised in the block.

    ``files`` maps the roles of the job's input files ('recording', 'events', ...) to
    their paths; an error whose class names a ``file_role`` but no file gets that one.
    """
    outcome = Outcome()
    try:
        yield outcome
    except DataError as err:
        culprit = (files or {}).get(err.file_role) if err.file_role else None
        named = err.about(study=study, participant=participant, file=culprit)
        if on_bad_data != "exclude":
            if named is err:
                raise
            raise named from err
        log.warning("excluded (on_bad_data: exclude): %s", named)
        outcome.excluded = named


def qc_exclusions(qc: dict, *, stage: str) -> list[dict]:
    """The EXCLUSIONS rows a QC record carries: the participant's own when it is not
    usable, else those below it (muscles, trials) listed in its ``exclusions``."""
    if qc["usable"]:
        return list(qc.get("exclusions", []))
    return [exclusion(study=qc["study"], participant=qc["participant"], level="participant", stage=stage, reason=qc["exclusion_reason"])]


# -- What a stage declares: its outputs, and how each is written when the job is excluded --

@dataclass(frozen=True)
class Record:
    """A JSON record of the job (``schema`` in io.contracts) that says whether its data
    were usable (``flag``) and why not (``reason``); ``fields`` are job arguments or
    input roles copied into it, ``extra`` the other values an excluded record has."""

    schema: dict
    flag: str = "usable"
    reason: str = "exclusion_reason"
    fields: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


Contract = TableSpec | TsvSpec | Record | FigureFile | TextFile | Folder


@dataclass(frozen=True)
class StageSpec:
    """What :func:`stage` knows of an entry point: its rule, the level one job is for
    ('participant', 'study' or 'run') and its outputs by name with their contracts."""

    rule: str
    level: str
    outputs: dict[str, Contract]


def stage(rule: str, *, level: str, outputs: dict[str, Contract]) -> Callable:
    """Declare an entry point ``run(*, inputs, outputs, ...)`` and apply ``on_bad_data`` to it.

    ``on_bad_data`` comes from the job's ``cfg`` (or, for the provenance record, its
    whole ``config``); ``study`` and ``participant`` from its arguments, when the job
    is for one. The undecorated function stays reachable as ``__wrapped__``.
    """
    spec = StageSpec(rule=rule, level=level, outputs=outputs)

    def decorate(run: Callable) -> Callable:
        @functools.wraps(run)
        def entry(*, inputs: dict, outputs: dict, **kwargs) -> None:
            missing = sorted(set(spec.outputs) - set(outputs))
            if missing:
                raise TypeError(f"{rule}: outputs {missing} are declared but not given")
            settings = kwargs.get("cfg", kwargs.get("config", {}))
            with failsafe(on_bad_data=settings.get("on_bad_data", "fail"), study=kwargs.get("study"),
                          participant=kwargs.get("participant"), files=inputs) as outcome:
                entry.__wrapped__(inputs=inputs, outputs=outputs, **kwargs)
            if outcome.excluded:
                write_excluded(spec, outputs, outcome.excluded, job={**inputs, **kwargs})

        entry.stage = spec
        return entry

    return decorate


def write_excluded(spec: StageSpec, paths: dict, err: DataError, *, job: dict) -> None:
    """Write every declared output of an excluded job, records first (a table is only
    ever next to the record that explains it), the exclusion in its record."""
    reason = str(err)
    order = sorted(spec.outputs, key=lambda key: not isinstance(spec.outputs[key], Record | TsvSpec))
    for key in order:
        contract, path = spec.outputs[key], paths[key]
        if isinstance(contract, Record):
            who = {"study": err.study or job.get("study", "")}
            if spec.level == "participant":
                who["participant"] = err.participant or job.get("participant", "")
            copied = {name: job[name] for name in contract.fields if name in job}
            write_json(path, {**who, **copied, **contract.extra, contract.flag: False, contract.reason: reason}, schema=contract.schema)
        elif contract is EXCLUSIONS:
            # A study's (or the run's) job writes nothing for anyone: what it excludes is its whole unit.
            row = {**record(err, stage=spec.rule), "level": spec.level}
            write_tsv(exclusion_table([row]), path, EXCLUSIONS)
        elif isinstance(contract, TsvSpec):
            write_tsv(contract.empty(), path, contract)
        elif isinstance(contract, TableSpec):
            write_table(contract.empty(), path, contract, metadata=job.get("metadata"))
        elif isinstance(contract, FigureFile):
            from opioidsocial.io.figures import note_figure, save_figure

            save_figure(note_figure(f"excluded (on_bad_data: exclude):\n{reason}"), path)
        elif isinstance(contract, TextFile):
            write_text(path, f"excluded (on_bad_data: exclude): {reason}\n")
        else:
            Path(path).mkdir(parents=True, exist_ok=True)
