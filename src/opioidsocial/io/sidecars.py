"""The dataset-level and recording-level BIDS-EMG metadata this package writes.

One place for what the simulator (``simulate.emg``) and the importer
(``io.importer``) put beside the recordings, so both write the same valid
BIDS-EMG 1.11 (BEP042; https://bids-specification.readthedocs.io/en/v1.11.0/,
"Electromyography"): ``dataset_description.json`` with a 1.11 ``BIDSVersion``, a
``README``, ``participants.json`` describing every column of participants.tsv, an
``events.json`` describing the columns of events.tsv that BIDS does not define
(``stimulus``), and the EMG sidecar keys the spec requires: ``RecordingType``,
``EMGPlacementScheme`` (one of ``ChannelSpecific``, ``Measured``, ``Other``; ``Other``
with ``EMGPlacementSchemeDescription``) and ``EMGReference`` (``Bipolar``, or
``ChannelSpecific`` with a ``reference`` column in channels.tsv).

Files are written with sorted keys and no dates, so a rewrite of the same
dataset is byte-identical. ``bids_validator_report`` runs the official
schema-based validator (``bids-validator-deno``, PyPI) and returns its issues.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

BIDS_VERSION = "1.11.0"
PLACEMENT_SCHEMES = ("ChannelSpecific", "Measured", "Other")
VALIDATOR = "bids-validator-deno"

# Described at the dataset root: the validator warns about events.tsv columns that no
# sidecar describes (it counts `sample` among them although BIDS-EEG defines it).
EVENT_COLUMNS = {
    "trial_type": {"Description": "emotion of the face shown (the workflow's emotion factor)"},
    "stimulus": {"Description": "identity of the stimulus (face video) shown; a crossed random factor of the models"},
    "sample": {"Description": "onset as a sample index from the start of the recording (0-based)"},
}


#: The two kinds of EMG recording (config ``emg.signal``, import map ``signal``).
ENVELOPE = "envelope"

#: How a dataset says its EMG channels are already envelopes (rectified and integrated
#: by the amplifier or the acquisition software): channels.tsv ``description`` starts
#: with this, and the sidecar's ``HardwareFilters`` (:data:`ENVELOPE_FILTERS`) says so,
#: both keys BIDS defines, so the validator accepts them. The preprocessing reads the
#: description when the config does not declare the study's signal.
ENVELOPE_DESCRIPTION = "envelope"
ENVELOPE_FILTERS = {"Envelope": {"Description": "EMG rectified and integrated (smoothed) before it was stored: an amplitude envelope, "
                                                "not raw EMG"}}


def envelope_descriptions(n: int) -> list[str]:
    """channels.tsv ``description`` values of ``n`` EMG channels that hold envelopes."""
    return [f"{ENVELOPE_DESCRIPTION}: integrated EMG (rectified and smoothed when recorded)"] * n


def write_json(path: Path | str, content: dict) -> None:
    Path(path).write_text(json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def emg_sidecar_keys(*, placement: str, bipolar: bool) -> dict:
    """The required EMG sidecar keys that describe the electrodes (BIDS 1.11).

    ``placement`` is a free-text placement guideline (``Other`` + description), or
    one of the spec's scheme names taken as is. Monopolar pairs reference each
    channel to an electrode named in channels.tsv's ``reference`` column.
    """
    scheme = {"EMGPlacementScheme": placement} if placement in PLACEMENT_SCHEMES else {
        "EMGPlacementScheme": "Other", "EMGPlacementSchemeDescription": placement}
    return {**scheme, "EMGReference": "Bipolar" if bipolar else "ChannelSpecific", "RecordingType": "continuous"}


def write_dataset_files(*, root: Path | str, name: str, readme: str, arms: list[str], generated_by: dict,
                        extra_columns: dict | None = None, events_json: bool = True) -> None:
    """dataset_description.json, README, participants.json and the dataset-level events.json.

    ``extra_columns`` describes participants.tsv columns beyond participant_id and
    arm (column -> BIDS column description). The events.json at the root applies
    to every recording's events.tsv by the inheritance principle; ``events_json``
    False leaves it out where each recording has its own (mne-bids writes one), as
    the validator warns about a sidecar that overrides another.
    """
    root = Path(root)
    write_json(root / "dataset_description.json", {
        "Name": name, "BIDSVersion": BIDS_VERSION, "DatasetType": "raw", "GeneratedBy": [generated_by]})
    (root / "README").write_text(readme.rstrip() + "\n", encoding="utf-8")
    write_json(root / "participants.json", {
        "participant_id": {"Description": "participant label"},
        "arm": {"Description": "randomised treatment arm", "Levels": {a: a for a in sorted(arms)}},
        **(extra_columns or {}),
    })
    if events_json:
        write_json(root / "events.json", EVENT_COLUMNS)


def bids_validator_report(root: Path | str) -> dict[str, list[dict]]:
    """Run the official BIDS validator on ``root``; its issues by severity.

    Raises FileNotFoundError when the validator is not installed
    (``pip install bids-validator-deno``).
    """
    exe = shutil.which(VALIDATOR)
    if exe is None:
        raise FileNotFoundError(f"{VALIDATOR} is not installed; pip install {VALIDATOR}")
    run = subprocess.run([exe, str(root), "--format", "json"], capture_output=True, text=True, timeout=300, check=False)
    try:
        issues = json.loads(run.stdout)["issues"]["issues"]
    except (json.JSONDecodeError, KeyError) as err:
        raise RuntimeError(f"{VALIDATOR} gave no JSON report on {root} (exit {run.returncode}): {run.stderr[-2000:]}") from err
    report: dict[str, list[dict]] = {"error": [], "warning": []}
    for issue in issues:
        report.setdefault(issue["severity"], []).append(issue)
    return report
