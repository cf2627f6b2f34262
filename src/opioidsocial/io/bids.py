"""BIDS-EMG datasets: where a participant's files are, writing them, reading them.

Layout (BIDS 1.11, the ``emg`` datatype): ``sub-<label>/emg/sub-<label>_task-<task>_emg.<ext>``
with ``.bdf`` (BioSemi, 24 bit) or ``.edf`` (16 bit), beside ``_channels.tsv`` (name,
type, units required; target_muscle, status, sampling_frequency, reference
recommended), ``_events.tsv`` (onset, duration, trial_type, stimulus, sample;
which trial_types are faces of which emotion is the study's event map's,
``io.labels``) and ``_emg.json`` (SamplingFrequency, PowerLineFrequency, RecordingDuration,
...), as the spec and ``mne_bids.write_raw_bids(..., datatype="emg")`` (0.20) write
them. ``.vhdr`` (BrainVision) is read too, as a convenience outside BIDS-EMG, which
allows only EDF and BDF.

Reading follows the spec's channels.tsv: ``status = bad`` channels are left out and
listed in the returned record; ``target_muscle`` is recommended, not required, so a
study's channel map (config ``emg.channel_muscles``) supplies it where it is absent,
and ``n/a`` means the channel is no muscle's. Before any sample is used, the header
is held against the file size and each channel's rate against the recording's, the
channels.tsv ``sampling_frequency`` and the sidecar (``io.headers``), and the length
against ``RecordingDuration`` both ways. MNE-Python reads the samples. A muscle
recorded by one channel is taken as a bipolar derivation already; a muscle with two
channels is monopolar and the reader forms their difference.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from opioidsocial.errors import DataError
from opioidsocial.io.labels import MISSING, declared_spelling, undeclared
from opioidsocial.io.sidecars import ENVELOPE, ENVELOPE_FILTERS, emg_sidecar_keys, envelope_descriptions, write_json

RAW_EXTENSIONS = ("bdf", "edf", "vhdr")
# BioSemi ActiveTwo: +-262 mV over 24 bits, i.e. 31.25 nV per bit.
BDF_PHYSICAL_UV = 262144.0
# The facial-EMG placement guideline the simulated electrodes follow (BIDS: Other + description).
SIMULATED_PLACEMENT = "Fridlund & Cacioppo (1986), Guidelines for human electromyographic research"


class BidsError(DataError):
    """A BIDS-EMG file is missing, unreadable or inconsistent; the fields name it and the fix."""


def _stem(root: Path, participant: str, task: str) -> Path:
    return root / f"sub-{participant}" / "emg" / f"sub-{participant}_task-{task}"


def emg_files(study_row: pd.Series | dict, participant: str) -> dict[str, str]:
    """Paths of one participant's recording, channels, events and sidecar.

    The raw format is the first of .bdf, .edf, .vhdr that exists: a fixed lookup of
    the BIDS name, not a glob, so unrelated files are never picked up.
    """
    stem = _stem(Path(study_row["path"]), participant, study_row.get("task") or "faces")
    recording = next((Path(f"{stem}_emg.{ext}") for ext in RAW_EXTENSIONS if Path(f"{stem}_emg.{ext}").exists()), None)
    if recording is None:
        sheet = Path(study_row["path"]) / "participants.tsv"
        raise BidsError(f"no recording {stem}_emg.(bdf|edf|vhdr)", study=study_row["study"], participant=participant,
                        file=sheet, fix=f"add the file or remove sub-{participant} from {sheet}")
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
    # EDF and BDF labels hold 16 characters (one more for the electrode digit);
    # channels.tsv's target_muscle keeps the full name, which is what the reader maps.
    labels = [m[:15] for m in muscles]
    if len(set(labels)) < len(labels):
        raise ValueError(f"muscle names {muscles} do not stay distinct as 15-character channel labels")
    if monopolar:
        return [(f"{label}{i}", m) for label, m in zip(labels, muscles) for i in (1, 2)]
    return list(zip(labels, muscles))


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
    signal: str = "raw",
) -> Path:
    """Write one participant's raw EMG (muscles x samples, microvolt) and its BIDS sidecars.

    With ``monopolar`` each muscle's signal is split over two electrodes against a
    common reference (the derivation the reader has to undo). A ``signal`` of
    ``envelope`` (integrated EMG) is said in channels.tsv ``description`` and the
    sidecar's HardwareFilters (``io.sidecars``).
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
        raise BidsError(f"unknown raw format '{fmt}'", fix="use bdf, edf or brainvision")
    envelope = signal == ENVELOPE
    pd.DataFrame(
        {
            "name": names,
            "type": "EMG",
            "units": "uV",
            "target_muscle": [m for _, m in channels],
            "signal_electrode": names,
            # BIDS: a bipolar channel's reference is n/a; a monopolar one names its reference electrode
            "reference": ["common" if monopolar else "n/a"] * len(names),
            **({"description": envelope_descriptions(len(names))} if envelope else {}),
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
        **({"HardwareFilters": ENVELOPE_FILTERS} if envelope else {}),
    }
    write_json(f"{stem}_emg.json", sidecar)
    return Path(f"{stem}_emg.{'vhdr' if fmt == 'brainvision' else fmt}")


@dataclass
class EmgRecording:
    """One participant's EMG, one row per muscle, in microvolt.

    ``bad_channels`` (name -> channels.tsv status_description) were marked bad and
    left out; ``unassigned`` are EMG channels with no target muscle (``n/a``, or not in
    the study's channel map), also left out. Both are for the QC record.
    """

    data: np.ndarray
    sfreq: float
    muscles: list[str]
    line_freq: float | None
    derivations: dict[str, str] = field(default_factory=dict)
    bad_channels: dict[str, str] = field(default_factory=dict)
    unassigned: list[str] = field(default_factory=list)


@contextmanager
def _about(*, study: str | None, participant: str | None):
    """Name the study and participant on every BidsError raised inside (the fields the
    exclusion record reads)."""
    try:
        yield
    except BidsError as err:
        err.study, err.participant = err.study or study, err.participant or participant
        raise


def _check_number(value, *, key: str, path: Path, optional: bool = False) -> None:
    """A sidecar value must be a number: "2048 Hz" is an error naming the key, not a float() traceback later."""
    if value is None or (optional and value == "n/a"):
        if optional:
            return
        raise BidsError(f"{path} has no {key}", file=path, fix=f"add \"{key}\": <number> (BIDS-EMG requires it)")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
        raise BidsError(f"{path}: {key} is {json.dumps(value)}, not a positive number", file=path,
                        fix=f"write {key} as a bare number in its BIDS unit (e.g. \"SamplingFrequency\": 2048, in Hz)"
                            + (", or \"n/a\"" if optional else ""))


def read_channels(path: str | Path, *, channel_muscles: dict[str, str] | None = None) -> pd.DataFrame:
    """channels.tsv with a ``target_muscle`` for every row (``n/a`` if none).

    ``channel_muscles`` (channel name -> muscle, from the study's channel map) fills
    in or overrides target_muscle, so a dataset written without that column (as
    mne-bids writes it) can be analysed.
    """
    path = Path(path)
    try:
        channels = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise BidsError(f"cannot read {path} ({err})", file=path, fix="it must be a BIDS channels.tsv") from err
    missing = {"name", "type"} - set(channels.columns)
    if missing:
        raise BidsError(f"{path} lacks column(s) {sorted(missing)}", file=path, fix="BIDS channels.tsv needs name, type and units")
    repeated = sorted(set(channels.loc[channels["name"].duplicated(), "name"]))
    if repeated:
        raise BidsError(f"{path} lists channel(s) {repeated} more than once", file=path,
                        fix="give every channel one row (BIDS channels.tsv: names are unique)")
    if "target_muscle" not in channels.columns and not channel_muscles:
        raise BidsError(f"{path} has no 'target_muscle' column and the study has no channel map", file=path,
                        fix="add a target_muscle column naming each EMG channel's muscle, or map channels to muscles "
                            "in the config (emg.channel_muscles: {<study>: {<channel>: <muscle>}})")
    unknown = sorted(set(channel_muscles or {}) - set(channels["name"]))
    if unknown:
        raise BidsError(f"the channel map names channel(s) {unknown} that {path} does not list (it has {channels['name'].tolist()})",
                        file=path, fix="correct emg.channel_muscles for this study")
    listed = channels.get("target_muscle", pd.Series("n/a", index=channels.index)).str.strip()
    listed = listed.where(~listed.str.casefold().isin(MISSING), "n/a")
    mapping = channel_muscles or {}
    return channels.assign(target_muscle=[mapping.get(name, muscle) for name, muscle in zip(channels["name"], listed)])


def read_events(path: str | Path) -> pd.DataFrame:
    """events.tsv, every row's onset checked to be a finite number of seconds >= 0.

    ``trial_type`` stays text (``n/a`` included): which rows are faces is the study's
    event map's to say (:mod:`opioidsocial.io.labels`). The stimulus id is the
    ``stimulus`` column, or BIDS' ``stim_file`` where that is what a dataset has;
    with neither, there is no stimulus column (never one made up from trial_type).
    """
    path = Path(path)
    try:
        # Labels and onsets as written (stimulus 007 is not the number 7; an onset 'n/a' is reported as such).
        events = pd.read_csv(path, sep="\t", dtype=dict.fromkeys(("onset", "trial_type", "stimulus", "stim_file"), str), keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise BidsError(f"cannot read {path} ({err})", file=path, fix="it must be a BIDS events.tsv") from err
    missing = {"onset", "trial_type"} - set(events.columns)
    if missing:
        raise BidsError(f"{path} lacks column(s) {sorted(missing)}", file=path, fix="BIDS events.tsv needs onset and duration; this workflow also trial_type")
    if not isinstance(events.index, pd.RangeIndex):
        # pandas takes the leading fields of rows longer than the header as an index.
        raise BidsError(f"{path} has rows with more fields than its header", file=path,
                        fix="every row needs one tab-separated value per header column (n/a for none)")
    onset = pd.to_numeric(events["onset"].str.strip(), errors="coerce")
    bad = events.index[~(np.isfinite(onset) & (onset >= 0))]
    if len(bad):
        line = int(bad[0]) + 2  # the header is line 1
        raise BidsError(f"{path}, line {line}: onset '{events.loc[bad[0], 'onset']}' is not a finite number of seconds >= 0 "
                        f"({len(bad)} such row(s))", file=path, fix="onsets are seconds from the recording start (BIDS events.tsv)")
    events["onset"] = onset.astype(float)
    if "stimulus" not in events.columns and "stim_file" in events.columns:
        events["stimulus"] = events["stim_file"]
    return events


def read_sidecar(path: str | Path) -> dict:
    """The EMG sidecar, with SamplingFrequency, PowerLineFrequency and RecordingDuration checked to be numbers."""
    path = Path(path)
    try:
        sidecar = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise BidsError(f"cannot read the EMG sidecar {path} ({err})", file=path, fix="it must be a JSON object (BIDS _emg.json)") from err
    if not isinstance(sidecar, dict):
        raise BidsError(f"the EMG sidecar {path} is not a JSON object", file=path, fix="it must be a JSON object (BIDS _emg.json)")
    _check_number(sidecar.get("SamplingFrequency"), key="SamplingFrequency", path=path)
    for key in ("PowerLineFrequency", "RecordingDuration"):
        _check_number(sidecar.get(key), key=key, path=path, optional=True)
    return sidecar


def _read_raw(path: Path, *, picks: list[str]):
    """The unloaded MNE raw and, for EDF/BDF, the record layout its header was checked against."""
    import mne

    # io.headers imports BidsError from this module, so it is imported here, not at the top.
    from opioidsocial.io.headers import brainvision_parts, record_layout

    readers = {".bdf": mne.io.read_raw_bdf, ".edf": mne.io.read_raw_edf, ".vhdr": mne.io.read_raw_brainvision}
    if path.suffix not in readers:
        raise BidsError(f"{path} is not a .bdf, .edf or .vhdr file", file=path, fix="BIDS-EMG recordings are EDF or BDF")
    if not path.is_file() or path.stat().st_size == 0:
        raise BidsError(f"recording {path} is missing or empty", file=path, fix="copy the raw file again")
    layout = None
    if path.suffix == ".vhdr":
        brainvision_parts(path)
    else:
        layout = record_layout(path)
    try:
        raw = readers[path.suffix](path, preload=False, verbose="error")
    except Exception as err:  # MNE raises many kinds on a corrupt header
        raise BidsError(
            f"cannot read {path} ({type(err).__name__}: {err}); the file is corrupt or truncated", file=path,
            fix="copy it again from the acquisition computer (or set on_bad_data: exclude to go on without it)",
        ) from err
    absent = [c for c in picks if c not in raw.ch_names]
    if absent:
        raise BidsError(f"channel(s) {absent} listed in channels.tsv are not in {path} (it has {raw.ch_names})", file=path,
                        fix="correct the channel names in channels.tsv")
    return raw, layout


def _channel_rates(raw, layout) -> dict[str, float]:
    """Each channel's stored rate (Hz). MNE resamples every EDF/BDF channel to the fastest,
    so only the header tells a slower one; MNE's channels follow the header's order, minus
    the annotation signals (and with duplicate labels renamed, hence by position)."""
    from opioidsocial.io.headers import ANNOTATION_LABELS

    if layout is None:
        return dict.fromkeys(raw.ch_names, float(raw.info["sfreq"]))
    signals = [n for label, n in zip(layout.labels, layout.samples_per_record) if label not in ANNOTATION_LABELS]
    if len(signals) != len(raw.ch_names):
        raise BidsError(f"the header of {raw.filenames[0]} lists {len(signals)} signals but MNE reads {len(raw.ch_names)} channels",
                        file=raw.filenames[0], fix="re-export the recording; its header is not one this reader can check")
    return {name: n / layout.record_s for name, n in zip(raw.ch_names, signals)}


def _check_rates(*, files: dict, channels: pd.DataFrame, picks: list[str], rates: dict[str, float], sfreq: float, sidecar: dict) -> None:
    recording = files["recording"]
    for name in picks:
        if abs(rates[name] - sfreq) > 1e-6 * sfreq:
            raise BidsError(f"channel '{name}' of {recording} is stored at {rates[name]:g} Hz, the recording at {sfreq:g} Hz "
                            "(MNE would resample it and the result is not that channel's signal)", file=recording,
                            fix="re-export the recording with every EMG channel at one rate, or mark the channel bad in channels.tsv")
    if "sampling_frequency" in channels.columns:
        declared = channels.set_index("name")["sampling_frequency"]
        for name in picks:
            value = declared[name].strip()
            try:
                rate = None if value in ("", "n/a") else float(value)
            except ValueError:
                rate = float("nan")
            if rate is not None and not abs(rate - rates[name]) <= 1e-6 * rates[name]:
                raise BidsError(f"{files['channels']} gives channel '{name}' sampling_frequency '{value}' but {recording} stores it at {rates[name]:g} Hz",
                                file=files["channels"], fix="correct the sampling_frequency column (a number in Hz, or n/a)")
    declared = sidecar["SamplingFrequency"]
    if abs(float(declared) - sfreq) > 1e-6 * sfreq:
        raise BidsError(f"{recording} is sampled at {sfreq:g} Hz but {files['sidecar']} says SamplingFrequency {declared}",
                        file=files["sidecar"], fix="correct the sidecar (or re-export the recording)")


def _check_duration(*, files: dict, n_times: int, sfreq: float, layout, declared_s: float | None) -> None:
    """Length against RecordingDuration, both ways.

    EDF/BDF hold whole data records, and writers (MNE's export among them) pad the last
    one, so a file may be up to one record longer than the signal; mne-bids writes the
    time of the last sample ((n - 1) / sfreq). Anything beyond that is a wrong file.
    """
    if declared_s is None:
        return
    held = n_times / sfreq
    slack = (layout.record_s if layout is not None else 0.0) + 1.0 / sfreq
    if held < declared_s - slack:
        # BrainVision (and some EDF writers) size the recording from the data file,
        # so a copy cut short reads without complaint, only shorter.
        raise BidsError(f"{files['recording']} holds {held:g} s but {files['sidecar']} says RecordingDuration {declared_s:g} s",
                        file=files["recording"], fix="the file is truncated: copy it again from the acquisition computer")
    if held > declared_s + slack:
        raise BidsError(f"{files['recording']} holds {held:g} s but {files['sidecar']} says RecordingDuration {declared_s:g} s",
                        file=files["sidecar"], fix="the recording is longer than its sidecar says: it is not the recording the sidecar "
                                                   "describes, or RecordingDuration is wrong; correct one of them")


def read_emg(files: dict, *, study: str | None = None, participant: str | None = None,
             muscles: list[str] | None = None, channel_muscles: dict[str, str] | None = None,
             declared_muscles: list[str] | None = None) -> EmgRecording:
    """Read a participant's EMG channels by target muscle, bipolar, in microvolt.

    ``muscles`` empty or None means every EMG channel that has a muscle and is not
    marked bad. ``channel_muscles`` is the study's channel map (see read_channels).
    A requested muscle without a usable channel, a header that does not fit its file,
    a channel stored at another rate than the recording (or than channels.tsv's
    sampling_frequency, or the sidecar's SamplingFrequency says), a length that
    disagrees with RecordingDuration, or non-finite samples are errors naming the
    file and the fix, with ``study`` and ``participant`` as fields.
    ``declared_muscles`` (the study's declared set, ``io.labels``) turns every
    channel's muscle into its declared spelling; one not declared is an error naming
    the closest declared one. None: take the labels as they are (a reader of
    recordings whose labels were checked already).
    """
    with _about(study=study, participant=participant):
        return _read_emg(files, muscles=muscles, channel_muscles=channel_muscles, declared=declared_muscles, participant=participant)


def _declared_muscles(channels: pd.DataFrame, *, declared: list[str], path: str, participant: str | None) -> pd.DataFrame:
    """channels with each muscle in its declared spelling; an undeclared one is an error."""
    spelled = []
    for name, muscle in zip(channels["name"], channels["target_muscle"]):
        spelling = "n/a" if muscle == "n/a" else declared_spelling(muscle, declared)
        if spelling is None:
            where = f"{'sub-' + participant if participant else 'the'}'s channels.tsv (channel '{name}')"
            raise BidsError(undeclared(muscle, declared, what="muscle", where=where), file=path,
                            fix="correct target_muscle there (or the study's emg.channel_muscles), or declare the muscle in emg.muscle_names")
        spelled.append(spelling)
    return channels.assign(target_muscle=spelled)


def _read_emg(files: dict, *, muscles: list[str] | None, channel_muscles: dict[str, str] | None, declared: list[str] | None,
              participant: str | None) -> EmgRecording:
    channels = read_channels(files["channels"], channel_muscles=channel_muscles)
    sidecar = read_sidecar(files["sidecar"])
    emg = channels[channels["type"].str.strip().str.upper() == "EMG"]
    if emg.empty:
        # Else nothing is picked and reading the recording fails as if it were corrupt.
        raise BidsError(
            f"{files['channels']} has no channel of type EMG (types: {sorted(set(channels['type']))})", file=files["channels"],
            fix="set the type column of the EMG channels there to EMG (BIDS-EMG channel type)",
        )
    status = emg.get("status", pd.Series("good", index=emg.index)).str.strip().str.lower()
    if declared is not None:
        # Bad channels are left out whatever they are called, so only the others are held to the declared set.
        emg = pd.concat([_declared_muscles(emg[status != "bad"], declared=declared, path=files["channels"], participant=participant),
                         emg[status == "bad"]]).sort_index()
    bad = emg[status == "bad"]
    bad_channels = dict(zip(bad["name"], bad.get("status_description", pd.Series("n/a", index=bad.index))))
    usable = emg[(status != "bad") & (emg["target_muscle"] != "n/a")]
    unassigned = sorted(emg.loc[(status != "bad") & (emg["target_muscle"] == "n/a"), "name"])
    available = list(dict.fromkeys(usable["target_muscle"]))
    wanted = list(muscles) if muscles else available
    absent = [m for m in wanted if m not in available]
    if absent:
        marked = sorted(bad.loc[bad["target_muscle"].isin(absent), "name"])
        raise BidsError(
            f"no EMG channel for muscle(s) {absent} in {files['channels']} (it has {available})"
            + (f"; channel(s) {marked} of those are marked bad there" if marked else ""),
            file=files["channels"], fix="fix target_muscle there (or the study's emg.channel_muscles) or emg.muscles in the config",
        )
    if not wanted:
        raise BidsError(
            f"{files['channels']} has no usable EMG channel (marked bad: {sorted(bad['name'])}; no target muscle: {unassigned})",
            file=files["channels"], fix="give the EMG channels a target_muscle (or the study an emg.channel_muscles map) and status good",
        )
    groups = {m: usable.loc[usable["target_muscle"] == m, "name"].tolist() for m in wanted}
    for m, names in groups.items():
        if len(names) > 2:
            raise BidsError(f"muscle '{m}' has {len(names)} channels in {files['channels']}", file=files["channels"],
                            fix="expected 1 (bipolar) or 2 (monopolar pair); mark the others bad or set their target_muscle to n/a")
    picks = [n for names in groups.values() for n in names]
    raw, layout = _read_raw(Path(files["recording"]), picks=picks)
    sfreq = float(raw.info["sfreq"])
    _check_rates(files=files, channels=channels, picks=picks, rates=_channel_rates(raw, layout), sfreq=sfreq, sidecar=sidecar)
    _check_duration(files=files, n_times=raw.n_times, sfreq=sfreq, layout=layout, declared_s=sidecar.get("RecordingDuration"))
    try:
        # Reading the picks of an unloaded raw fills one array in ``picks`` order,
        # instead of a preloaded copy plus the copy get_data() returns.
        volts = raw.get_data(picks=picks, verbose="error")
    except Exception as err:
        raise BidsError(f"{files['recording']} could not be loaded ({type(err).__name__}: {err}); the file is corrupt or truncated",
                        file=files["recording"], fix="copy it again from the acquisition computer") from err
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
    nonfinite = [m for m, x in zip(wanted, data) if not np.isfinite(x).all()]
    if nonfinite:
        raise BidsError(f"{files['recording']} has NaN or infinite samples in {nonfinite}", file=files["recording"], fix="re-export the recording")
    line = sidecar.get("PowerLineFrequency")
    line_freq = float(line) if isinstance(line, (int, float)) else None
    return EmgRecording(data=data, sfreq=sfreq, muscles=wanted, line_freq=line_freq, derivations=derivations,
                        bad_channels=bad_channels, unassigned=unassigned)
