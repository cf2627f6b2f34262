"""The errors this package raises on purpose, and what each one is about.

A leaf module (it imports nothing of ours), so every layer can raise these without
import cycles. Facts travel as fields, not only as message text, so that the one
exclusion mechanism (:mod:`opioidsocial.failsafe`) can record who and what was
excluded without reading prose back:

- :class:`ConfigError`: the config or a sheet is wrong; nothing has run yet.
- :class:`DataError`: one study's, participant's, muscle's or trial's data cannot be
  analysed as configured. It names the study, participant and file it is about and
  the fix; with ``on_bad_data: exclude`` it becomes a row of the exclusion list at
  its ``level`` instead of stopping the run.

Every other error of the package is a subclass of one of these two, declared beside
the code that raises it with a docstring saying what it is about (``BidsError``,
``PetInputError``, ``LmmError``, ``EmgModelError``, ...); tests/test_stages.py
checks that no other kind exists.
"""

from __future__ import annotations

import copy


class OpioidSocialError(Exception):
    """Base of every error raised on purpose here: its message is meant for the user."""


class ConfigError(OpioidSocialError, ValueError):
    """The config or a sheet is invalid; the message says where and how to fix it."""


class DataError(OpioidSocialError, ValueError):
    """Data that cannot be analysed as configured, with the facts as fields.

    ``problem`` says what is wrong, ``fix`` what to do about it; ``study``,
    ``participant`` and ``file`` say where, and may be filled in later by a caller
    that knows them (:meth:`about`), because filters and epochs see only arrays.
    ``level`` is what an exclusion removes: 'study', 'participant', 'muscle' or 'trial'
    (and, for PET, 'roi': one ROI of one scan); ``muscle`` and ``trial`` say which,
    at those levels.
    """

    level = "participant"
    #: The input file (by its role in the job, e.g. 'events') that an error of this
    #: kind is about when the code raising it sees only arrays.
    file_role: str | None = None

    def __init__(self, problem: str, *, study: str | None = None, participant: str | None = None,
                 file: str | None = None, fix: str | None = None, level: str | None = None,
                 muscle: str | None = None, trial: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.study = study
        self.participant = participant
        self.file = None if file is None else str(file)
        self.fix = fix
        self.muscle = muscle
        self.trial = trial
        if level is not None:
            self.level = level

    def about(self, *, study: str | None = None, participant: str | None = None, file: str | None = None) -> DataError:
        """This error with the fields it lacks filled in (the ones it has are kept); a copy if any changed."""
        given = {"study": study, "participant": participant, "file": None if file is None else str(file)}
        missing = {key: value for key, value in given.items() if value is not None and getattr(self, key) is None}
        if not missing:
            return self
        named = copy.copy(self)
        named.__dict__.update(missing)
        return named

    @property
    def who(self) -> str:
        parts = [f"study '{self.study}'" if self.study else "", f"participant '{self.participant}'" if self.participant else ""]
        return ", ".join(p for p in parts if p)

    def __str__(self) -> str:
        text = self.problem
        if self.file and self.file not in text:
            text += f" (file: {self.file})"
        if self.who and not text.startswith(self.who):
            text = f"{self.who}: {text}"
        return f"{text}; {self.fix}" if self.fix else text
