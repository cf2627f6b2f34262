"""BIDS-EMG datasets: where a participant's files are, writing them, reading them.

Layout (BIDS 1.10 with the EMG extension): ``sub-<label>/emg/sub-<label>_task-<task>_emg.<ext>``
with ``.bdf`` (BioSemi, 24 bit), ``.edf`` (16 bit) or ``.vhdr`` (BrainVision), beside
``_channels.tsv`` (name, type, units, target_muscle), ``_events.tsv`` (onset,
duration, trial_type = emotion, stimulus, sample) and ``_emg.json`` (SamplingFrequency,
PowerLineFrequency, ...). Raw files are read with MNE-Python. A muscle recorded by
one channel is taken as a bipolar derivation already; a muscle with two channels is
monopolar and the reader forms their difference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from opioidsocial.io.sidecars import emg_sidecar_keys, write_json

RAW_EXTENSIONS = ("bdf", "edf", "vhdr")
# BioSemi ActiveTwo: +-262 mV over 24 bits, i.e. 31.25 nV per bit.
BDF_PHYSICAL_UV = 262144.0
# The facial-EMG placement guideline the simulated electrodes follow (BIDS: Other + description).
SIMULATED_PLACEMENT = "Fridlund & Cacioppo (1986), Guidelines for human electromyographic research"


class BidsError(ValueError):
    """A BIDS-EMG file is missing, unreadable or inconsistent; the message names it."""


def _stem(root: Path, participant: str, task: str) -> Path:
    return root / f"sub-{participant}" / "emg" / f"sub-{participant}_task-{task}"


def emg_files(study: pd.Series | dict, participant: str) -> dict[str, str]:
    """Paths of one participant's recording, channels, events and sidecar.

    The raw format is the first of .bdf, .edf, .vhdr that exists: a fixed lookup of
    the BIDS name, not a glob, so unrelated files are never picked up.
    """
    stem = _stem(Path(study["path"]), participant, study.get("task") or "faces")
    recording = next((Path(f"{stem}_emg.{ext}") for ext in RAW_EXTENSIONS if Path(f"{stem}_emg.{ext}").exists()), None)
    if recording is None:
        raise BidsError(
            f"study '{study['study']}', participant '{participant}': no recording {stem}_emg.(bdf|edf|vhdr); "
            f"add the file or remove sub-{participant} from {Path(study['path']) / 'participants.tsv'}"
        )
    files = {
        "recording": str(recording),
        "channels": f"{stem}_channels.tsv",
        "events": f"{stem}_events.tsv",
        "sidecar": f"{stem}_emg.json",
    }
    if recording.suffix == ".vhdr":
        files["eeg"] = str(recording.with_suffix(".eeg"))
        files["vmrk"] = str(recording.with_suffix(".vmrk"))
    return files


def _channel_names(muscles: list[str], monopolar: bool) -> list[tuple[str, str]]:
    if monopolar:
        return [(f"{m}{i}", m) for m in muscles for i in (1, 2)]
    return [(m, m) for m in muscles]


def write_emg_recording(
    *,
    root: Path,
    participant: str,
    task: str,
    data: np.ndarray,
    sfreq: float,
    muscles: list[str],
    events: pd.DataFrame,
    line_freq: float,
    fmt: str = "bdf",
    monopolar: bool = False,
) -> Path:
    """Write one participant's raw EMG (muscles x samples, microvolt) and its BIDS sidecars.

    With ``monopolar`` each muscle's signal is split over two electrodes against a
    common reference (the derivation the reader has to undo).
    """
    stem = _stem(Path(root), participant, task)
    stem.parent.mkdir(parents=True, exist_ok=True)
    channels = _channel_names(muscles, monopolar)
    if monopolar:
        common = np.random.default_rng(len(data[0])).normal(0.0, 30.0, data.shape[1]).cumsum() / 100
        signals = np.vstack([np.vstack([common + x / 2, common - x / 2]) for x in data])
    else:
        signals = np.asarray(data, dtype=float)
    names = [name for name, _ in channels]
    if fmt in ("bdf", "edf"):
        import edfio

        n_per_record = int(round(sfreq))
        pad = (-signals.shape[1]) % n_per_record
        signals = np.pad(signals, ((0, 0), (0, pad)), mode="edge")
        if fmt == "bdf":
            sigs = [
                edfio.BdfSignal(x, sfreq, label=name, transducer_type="Active electrode", physical_dimension="uV",
                                physical_range=(-BDF_PHYSICAL_UV, BDF_PHYSICAL_UV - 1 / 32), prefiltering="HP:DC LP:417Hz")
                for name, x in zip(names, signals)
            ]
            edfio.Bdf(sigs, data_record_duration=1.0).write(f"{stem}_emg.bdf")
        else:
            sigs = []
            for name, x in zip(names, signals):
                bound = float(np.ceil(np.abs(x).max() * 1.05 + 1.0))
                sigs.append(edfio.EdfSignal(x, sfreq, label=name, physical_dimension="uV", physical_range=(-bound, bound)))
            edfio.Edf(sigs, data_record_duration=1.0).write(f"{stem}_emg.edf")
    elif fmt == "brainvision":
        import pybv

        # pybv takes volts and stores them in the requested unit
        pybv.write_brainvision(data=signals * 1e-6, sfreq=sfreq, ch_names=names, fname_base=f"{stem.name}_emg", folder_out=str(stem.parent),
                               overwrite=True, unit="µV", fmt="binary_float32", resolution=0.01)
    else:
        raise BidsError(f"unknown raw format '{fmt}'; use bdf, edf or brainvision")
    pd.DataFrame(
        {
            "name": names,
            "type": "EMG",
            "units": "uV",
            "target_muscle": [m for _, m in channels],
            "signal_electrode": names,
            # BIDS: a bipolar channel's reference is n/a; a monopolar one names its reference electrode
            "reference": ["common" if monopolar else "n/a"] * len(names),
        }
    ).to_csv(f"{stem}_channels.tsv", sep="\t", index=False, lineterminator="\n")
    events[["onset", "duration", "trial_type", "stimulus", "sample"]].to_csv(
        f"{stem}_events.tsv", sep="\t", index=False, lineterminator="\n", float_format="%.6f"
    )
    sidecar = {
        "TaskName": task,
        "SamplingFrequency": sfreq,
        "PowerLineFrequency": line_freq,
        **emg_sidecar_keys(placement=SIMULATED_PLACEMENT, bipolar=not monopolar),
        "EMGChannelCount": len(names),
        "RecordingDuration": round(signals.shape[1] / sfreq, 6),
        "SoftwareFilters": "n/a",
        "Manufacturer": "simulated (opioidsocial)",
    }
    write_json(f"{stem}_emg.json", sidecar)
    return Path(f"{stem}_emg.{'vhdr' if fmt == 'brainvision' else fmt}")


@dataclass
class EmgRecording:
    """One participant's EMG, one row per muscle, in microvolt."""

    data: np.ndarray
    sfreq: float
    muscles: list[str]
    line_freq: float | None
    derivations: dict[str, str] = field(default_factory=dict)


def read_channels(path: str | Path, *, who: str) -> pd.DataFrame:
    path = Path(path)
    try:
        channels = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise BidsError(f"{who}: cannot read {path} ({err}); it must be a BIDS channels.tsv") from err
    missing = {"name", "type"} - set(channels.columns)
    if missing:
        raise BidsError(f"{who}: {path} lacks column(s) {sorted(missing)}; BIDS channels.tsv needs name and type")
    if "target_muscle" not in channels.columns:
        raise BidsError(f"{who}: {path} has no 'target_muscle' column; add one naming each EMG channel's muscle")
    return channels


def read_events(path: str | Path, *, who: str) -> pd.DataFrame:
    """events.tsv with numeric onsets; ``trial_type`` is the emotion."""
    path = Path(path)
    try:
        events = pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["n/a"])
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise BidsError(f"{who}: cannot read {path} ({err}); it must be a BIDS events.tsv") from err
    missing = {"onset", "trial_type"} - set(events.columns)
    if missing:
        raise BidsError(f"{who}: {path} lacks column(s) {sorted(missing)}")
    # A header without rows has no dtype to check: the caller says there is nothing to epoch.
    if not events.empty and (not pd.api.types.is_numeric_dtype(events["onset"]) or events["onset"].isna().any()):
        raise BidsError(f"{who}: {path} has non-numeric or missing onsets; onsets are seconds from the recording start")
    if "stimulus" not in events.columns:
        events["stimulus"] = events.get("stim_file", events["trial_type"])
    return events


def read_sidecar(path: str | Path, *, who: str) -> dict:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise BidsError(f"{who}: cannot read the EMG sidecar {path} ({err})") from err


def _read_raw(path: Path, *, who: str, picks: list[str]):
    import mne

    readers = {".bdf": mne.io.read_raw_bdf, ".edf": mne.io.read_raw_edf, ".vhdr": mne.io.read_raw_brainvision}
    if path.suffix not in readers:
        raise BidsError(f"{who}: {path} is not a .bdf, .edf or .vhdr file")
    if not path.is_file() or path.stat().st_size == 0:
        raise BidsError(f"{who}: recording {path} is missing or empty; copy the raw file again")
    try:
        raw = readers[path.suffix](path, preload=False, verbose="error")
    except Exception as err:  # MNE raises many kinds on a corrupt header
        raise BidsError(
            f"{who}: cannot read {path} ({type(err).__name__}: {err}); the file is corrupt or truncated: "
            f"copy it again from the acquisition computer (or set on_bad_data: exclude to go on without it)"
        ) from err
    absent = [c for c in picks if c not in raw.ch_names]
    if absent:
        raise BidsError(f"{who}: channel(s) {absent} listed in channels.tsv are not in {path} (it has {raw.ch_names})")
    return raw


def read_emg(files: dict, *, who: str, muscles: list[str] | None = None) -> EmgRecording:
    """Read a participant's EMG channels by target muscle, bipolar, in microvolt.

    ``muscles`` empty or None means every EMG channel. A requested muscle without a
    channel, a sampling rate that disagrees with the sidecar, a recording shorter than
    the sidecar's RecordingDuration, or non-finite samples are errors naming the file.
    """
    channels = read_channels(files["channels"], who=who)
    sidecar = read_sidecar(files["sidecar"], who=who)
    emg = channels[channels["type"].str.upper() == "EMG"]
    available = list(dict.fromkeys(emg["target_muscle"]))
    wanted = list(muscles) if muscles else available
    absent = [m for m in wanted if m not in available]
    if absent:
        raise BidsError(
            f"{who}: no EMG channel for muscle(s) {absent} in {files['channels']} (it has {available}); "
            "fix target_muscle there or emg.muscles in the config"
        )
    groups = {m: emg.loc[emg["target_muscle"] == m, "name"].tolist() for m in wanted}
    for m, names in groups.items():
        if len(names) > 2:
            raise BidsError(f"{who}: muscle '{m}' has {len(names)} channels in {files['channels']}; expected 1 (bipolar) or 2 (monopolar pair)")
    picks = [n for names in groups.values() for n in names]
    raw = _read_raw(Path(files["recording"]), who=who, picks=picks)
    sfreq = float(raw.info["sfreq"])
    declared = sidecar.get("SamplingFrequency")
    if declared is None or abs(float(declared) - sfreq) > 1e-6 * sfreq:
        raise BidsError(
            f"{who}: {files['recording']} is sampled at {sfreq:g} Hz but {files['sidecar']} says SamplingFrequency "
            f"{declared}; correct the sidecar (or re-export the recording)"
        )
    declared_s = sidecar.get("RecordingDuration")
    if isinstance(declared_s, (int, float)) and raw.n_times < round(declared_s * sfreq) - 1:
        # BrainVision (and some EDF writers) size the recording from the data file,
        # so a copy cut short reads without complaint, only shorter.
        raise BidsError(
            f"{who}: {files['recording']} holds {raw.n_times / sfreq:g} s but {files['sidecar']} says RecordingDuration "
            f"{declared_s:g} s; the file is truncated: copy it again from the acquisition computer"
        )
    try:
        # Reading the picks of an unloaded raw fills one array in ``picks`` order,
        # instead of a preloaded copy plus the copy get_data() returns.
        volts = raw.get_data(picks=picks, verbose="error")
    except Exception as err:
        raise BidsError(f"{who}: {files['recording']} could not be loaded ({type(err).__name__}: {err}); the file is corrupt or truncated") from err
    index = {name: i for i, name in enumerate(picks)}
    derivations = {m: names[0] if len(names) == 1 else f"{names[0]} - {names[1]}" for m, names in groups.items()}
    if all(len(names) == 1 for names in groups.values()):
        data = volts
    else:
        data = np.empty((len(wanted), volts.shape[1]))
        for row, names in enumerate(groups.values()):
            if len(names) == 1:
                data[row] = volts[index[names[0]]]
            else:
                np.subtract(volts[index[names[0]]], volts[index[names[1]]], out=data[row])
        del volts
    data *= 1e6
    bad = [m for m, x in zip(wanted, data) if not np.isfinite(x).all()]
    if bad:
        raise BidsError(f"{who}: {files['recording']} has NaN or infinite samples in {bad}; re-export the recording")
    line = sidecar.get("PowerLineFrequency")
    line_freq = float(line) if isinstance(line, (int, float)) else None
    return EmgRecording(data=data, sfreq=sfreq, muscles=wanted, line_freq=line_freq, derivations=derivations)
