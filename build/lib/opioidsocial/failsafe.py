"""One mechanism for data that cannot be analysed: stop, or exclude and record why.

Every stage runs its work inside :func:`failsafe` (the shape of mne-bids-pipeline's
``failsafe_run``). A :class:`~opioidsocial.errors.DataError` raised inside gets the
study, participant and file it is about filled in, and then config ``on_bad_data``
decides: 'fail' re-raises it, 'exclude' keeps it on the outcome, and the stage writes
its empty outputs and the exclusion record (:meth:`Outcome.record`) instead. Any
other exception is a bug or a config problem and always propagates.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from opioidsocial.errors import DataError

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What :func:`failsafe` saw: ``excluded`` is the error when the data were excluded."""

    excluded: DataError | None = None

    @property
    def reason(self) -> str:
        return "" if self.excluded is None else str(self.excluded)

    def record(self, *, stage: str) -> dict:
        """The exclusion's row of the EXCLUSIONS contract."""
        err = self.excluded
        return {"study": err.study, "participant": err.participant or "", "stage": stage, "reason": str(err)}


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
