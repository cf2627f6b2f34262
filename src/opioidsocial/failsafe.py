"""One mechanism for data that cannot be analysed: stop, or exclude and record why.

Every stage runs its work inside :func:`failsafe` (the shape of mne-bids-pipeline's
``failsafe_run``). A :class:`~opioidsocial.errors.DataError` raised inside gets the
study, participant and file it is about filled in, and then config ``on_bad_data``
decides: 'fail' re-raises it, 'exclude' keeps it on the outcome, and the stage writes
its empty outputs and the exclusion record (:func:`record`) instead. Any
other exception is a bug or a config problem and always propagates.

Exclusions a stage decides itself by a documented rule, below the participant (a
muscle whose electrode gave no signal, a trial whose epoch leaves the recording),
are DataErrors at their ``level`` too: they never stop the job, whatever
``on_bad_data`` says, and :func:`record` turns each into a row of the same shape.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from opioidsocial.errors import DataError
from opioidsocial.io.contracts import EXCLUSIONS

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
def failsafe(*, on_bad_data: str, study: str, participant: str | None = None, files: dict | None = None) -> Iterator[Outcome]:
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
