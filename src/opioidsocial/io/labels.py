"""The labels of a study's factors, as declared: which events are faces, and their spellings.

A label read from a participant's files (a channel's ``target_muscle``, an event's
``trial_type``) is matched against the study's declared set with case and
surrounding whitespace ignored, and becomes the declared spelling, so ``Happy``
and ``happy `` are one level and every participant's table says ``happy``. The
declared sets come from the config (``workflow/schemas/config/emg.schema.yaml``):

- muscles: ``emg.muscle_names`` and ``emg.muscles`` (and so the channel map's
  muscles must be among them too);
- emotions: the study's event map ``emg.trial_types.<study>`` (emotion -> the
  trial_type values of its faces) or, for a study without one, ``emg.emotions``,
  each emotion being the trial_type of its faces;
- arms: the study's participants.tsv (checked in :mod:`opioidsocial.sheets`).

A muscle label that is not declared is an error naming the participant, the file
and the closest declared label (``difflib``'s ratio, the measure of Python's own
"did you mean"). An event whose trial_type is no face's is not a trial (responses,
boundaries, ``n/a``): it is ignored and counted in the QC record, unless it is a
near miss of a declared emotion (``hapy``), which is an error, because a face
would otherwise be dropped without a word.
"""

from __future__ import annotations

import difflib

import pandas as pd

from opioidsocial.errors import DataError

#: How alike two labels must be (difflib ratio) to count as one mistyped for the other:
#: 'corugator'/'corrugator' 0.95, 'hapy'/'happy' 0.89, 'Response/R255'/'angry' 0.22.
NEAR_MISS = 0.8
#: How events.tsv and channels.tsv spell "no value" (BIDS), and what pandas makes of an empty cell.
MISSING = ("", "n/a")
#: The stimulus id of every trial of a study whose events (or trial table) have no stimulus column.
NO_STIMULUS = "n/a"


class LabelError(DataError):
    """A participant's label that the study did not declare; the message names the closest declared one."""


def normalise(label: str) -> str:
    """The form labels are compared in: no surrounding whitespace, case folded."""
    return str(label).strip().casefold()


def variants(labels) -> list[list[str]]:
    """The groups of distinct spellings that are one label (case and surrounding whitespace ignored)."""
    groups: dict[str, list[str]] = {}
    for label in labels:
        spelled = groups.setdefault(normalise(label), [])
        if label not in spelled:
            spelled.append(label)
    return [spelled for spelled in groups.values() if len(spelled) > 1]


def closest(label: str, declared) -> str | None:
    """The declared label most like ``label``, if any is a near miss of it."""
    by_form = {normalise(d): d for d in declared}
    found = difflib.get_close_matches(normalise(label), list(by_form), n=1, cutoff=NEAR_MISS)
    return by_form[found[0]] if found else None


def declared_spelling(label: str, declared) -> str | None:
    """``label`` as the declared set spells it, or None when it is not declared."""
    return {normalise(d): d for d in declared}.get(normalise(label))


def undeclared(label: str, declared, *, what: str, where: str) -> str:
    """The message for a label outside the declared set: the closest declared one, or the set."""
    near = closest(label, declared)
    hint = f"did you mean '{near}'?" if near else f"the declared {what}s are {sorted(declared)}"
    return f"{what} '{label}' in {where} is not declared: {hint}"


def emotion_map(cfg: dict, *, study: str) -> dict[str, str]:
    """trial_type (normalised) -> emotion, from the study's event map or ``emg.emotions``."""
    declared = cfg["trial_types"].get(study) or {emotion: [emotion] for emotion in cfg["emotions"]}
    return {normalise(value): emotion for emotion, values in declared.items() for value in values}


def face_trials(events: pd.DataFrame, *, mapping: dict[str, str], file: str, participant: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """The face rows of a checked events.tsv as (onset, emotion, stimulus), and the other rows counted by trial_type.

    ``mapping`` is :func:`emotion_map`'s. ``stimulus`` is ``n/a`` when events.tsv has
    no stimulus column (the study model then drops its stimulus effect and says so);
    a face row without a stimulus id where the column exists is an error naming the row.
    """
    kind = events["trial_type"].fillna("n/a").astype(str)
    emotion = kind.map(lambda value: mapping.get(normalise(value)))
    faces = emotion.notna()
    emotions = sorted(set(mapping.values()))
    for line, value in zip(events.index[~faces], kind[~faces]):
        if normalise(value) not in MISSING and closest(value, emotions):
            raise LabelError(undeclared(value, emotions, what="trial_type", where=f"sub-{participant}'s events.tsv, line {line + 2}"),
                             file=file, fix="correct that row's trial_type, or map it in emg.trial_types for this study")
    trials = pd.DataFrame({"onset": events.loc[faces, "onset"].to_numpy(dtype=float), "emotion": emotion[faces].to_numpy(dtype=object)})
    if "stimulus" in events.columns:
        stimulus = events.loc[faces, "stimulus"].fillna("").astype(str).str.strip()
        blank = stimulus[stimulus.str.casefold().isin(MISSING)]
        if len(blank):
            raise DataError(f"{file}, line {int(blank.index[0]) + 2}: face row ({kind[blank.index[0]]}) has no stimulus id "
                            f"({len(blank)} such row(s))", file=file,
                            fix="give every face row its stimulus id, or drop the stimulus column to model without a stimulus effect")
        trials["stimulus"] = stimulus.to_numpy(dtype=object)
    else:
        trials["stimulus"] = NO_STIMULUS
    ignored = kind[~faces].value_counts().sort_index()
    return trials, {str(value): int(n) for value, n in ignored.items()}
