"""Raw acquisition files -> a BIDS-EMG 1.11 dataset the workflow reads (``opioidsocial import``).

Method. Each recording of the recordings list is read with MNE-Python
(``mne.io.read_raw``: BioSemi BDF, EDF/EDF+, BrainVision), or, for BIOPAC
AcqKnowledge ``.acq`` files, with bioread (``io.acq``). Its events come from one
of three places, as the study's import map says (schema:
``workflow/schemas/import.schema.yaml``):

- a trigger channel (BioSemi's ``Status``): ``mne.find_events`` on the channel's
  value masked to its low 16 bits, because BioSemi ActiveTwo puts the trigger code
  in bits 0-15 and system state (new epoch, speed mode, CMS in range, battery) in
  bits 16-23 (BioSemi, "ActiveTwo trigger interface"; MNE's ``find_events`` docs);
- annotations (EDF+ TALs; BrainVision markers as MNE names them, ``Stimulus/S253``;
  AcqKnowledge event markers by their text);
- TTL channels, one per condition (``source: channels``, ``io.ttl``): each edge
  is one event; these channels go to events.tsv, not to the signal channels. A
  pulse carries no stimulus identity, so unless the map gives one events.tsv has
  no stimulus column (never an invented id) and the study model drops its
  stimulus effect.

Only events in the map's ``codes`` become rows of events.tsv, with ``trial_type`` =
emotion and ``stimulus`` = the face's identity (written through mne-bids'
``event_metadata``). Only channels in the channel map are written, with their
types; ``target_muscle`` and ``reference`` are added to channels.tsv after
mne-bids (0.20, ``write_raw_bids(..., datatype="emg")``), which does not know them.
BIDS-EMG allows only EDF and BDF, so everything is written as the map's
``format`` (BDF by default; MNE's exporter converts BrainVision, as mne-bids
does). The dataset files (dataset_description.json with BIDSVersion 1.11,
README, participants.tsv/json, events.json) come from ``io.sidecars``, so an
imported dataset and a simulated one are described alike. Dates are those of the
recordings (mne-bids' scans.tsv, the EDF header); nothing records the time of the
import, so importing twice gives the same files.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from opioidsocial.config import SCHEMA_DIR, validate_config
from opioidsocial.errors import ConfigError, DataError
from opioidsocial.io import ttl
from opioidsocial.io.acq import read_acq
from opioidsocial.io.sidecars import (
    ENVELOPE,
    ENVELOPE_FILTERS,
    EVENT_COLUMNS,
    emg_sidecar_keys,
    envelope_descriptions,
    write_dataset_files,
)

log = logging.getLogger("opioidsocial.import")

IMPORT_SCHEMA = SCHEMA_DIR / "import.schema.yaml"
RECORDING_COLUMNS = ("file", "participant_id", "arm")
#: events.source of an import map whose events are pulses on one TTL channel per condition.
TTL_SOURCE = "channels"
#: Characters of an EDF/BDF signal label: longer channel names are cut to it when written.
LABEL_CHARS = 16


class RecordingError(DataError):
    """A recording cannot be imported as its study's import map says."""


@dataclass(frozen=True)
class Imported:
    """What one recording became: its participant, its events and the events left out."""

    participant: str
    n_events: int
    unmapped: dict[str, int]


def load_map(path: str | Path) -> dict:
    """The import map, validated against its schema, with defaults filled in."""
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    # YAML reads `128:` as an integer key; JSON schema and the lookup want text.
    if isinstance(raw.get("channels"), dict):
        raw["channels"] = {str(k): v for k, v in raw["channels"].items()}
    if isinstance(raw.get("events"), dict) and isinstance(raw["events"].get("codes"), dict):
        raw["events"]["codes"] = {str(k): v for k, v in raw["events"]["codes"].items()}
    spec = validate_config(raw, IMPORT_SCHEMA, source=str(path))
    missing = sorted(name for name, ch in spec["channels"].items() if ch["type"] == "EMG" and "muscle" not in ch)
    if missing:
        raise ConfigError(f"{path}: EMG channel(s) {missing} of the channel map have no muscle; add `muscle:` or set `type: MISC`")
    if spec["events"]["source"] == TTL_SOURCE:
        both = sorted(set(spec["events"]["channels"]) & set(spec["channels"]))
        if both:
            raise ConfigError(f"{path}: TTL channel(s) {both} are also in the channel map; TTL channels become events.tsv rows, "
                              "not signal channels: remove them from `channels`")
        given = [ch for ch, c in spec["events"]["channels"].items() if "stimulus" in c]
        if given and len(given) < len(spec["events"]["channels"]):
            raise ConfigError(f"{path}: only TTL channel(s) {given} give a stimulus; give every condition channel one or none")
    elif spec["events"]["source"] != "annotations":
        bad = sorted(code for code in spec["events"]["codes"] if not code.isdigit())
        if bad:
            raise ConfigError(f"{path}: events come from trigger channel '{spec['events']['source']}', whose codes are "
                              f"integers, but the event map has {bad}; use integer codes or `source: annotations`")
    return spec


def load_recordings(path: str | Path) -> pd.DataFrame:
    """The recordings list: file (relative to the list), participant label (without 'sub-'), arm, extra columns."""
    path = Path(path)
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in RECORDING_COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError(f"{path}: missing column(s) {missing}; the recordings list needs {list(RECORDING_COLUMNS)}")
    table["participant"] = table["participant_id"].str.strip().str.removeprefix("sub-")
    invalid = table.loc[~table["participant"].str.fullmatch(r"[A-Za-z0-9]+"), "participant_id"].tolist()
    duplicated = table.loc[table["participant"].duplicated(), "participant_id"].tolist()
    if invalid or duplicated:
        raise ConfigError(f"{path}: participant_id must be unique letters and digits (BIDS labels); "
                          f"invalid: {invalid}, repeated: {duplicated}")
    table["file"] = [str((path.parent / f).resolve()) for f in table["file"]]
    return table.sort_values("participant").reset_index(drop=True)


def decode_triggers(raw, *, channel: str, mask: int) -> tuple[np.ndarray, np.ndarray]:
    """Onset samples and codes of the trigger channel's changes, after masking.

    Every change to a non-zero masked value is an event (``shortest_event=1``): a
    trigger held one sample is still a trigger.
    """
    import mne

    found = mne.find_events(raw, stim_channel=channel, mask=mask, mask_type="and", shortest_event=1,
                            initial_event=True, verbose="error")
    return found[:, 0] - raw.first_samp, found[:, 2]


def _ttl_events(raw, *, spec: dict, who: dict) -> pd.DataFrame:
    """Events from one TTL channel per condition (io.ttl): sample, emotion and, where the map gives one, stimulus."""
    ev = spec["events"]
    data = {name: raw.get_data(picks=[name])[0] for name in ev["channels"]}
    found = ttl.channel_events(data, sfreq=raw.info["sfreq"], threshold=ev.get("threshold"), edge=ev["edge"],
                               min_interval_s=ev["min_interval_s"], who=who)
    rows = pd.DataFrame(found, columns=["sample", "key"])
    rows["emotion"] = [ev["channels"][k]["emotion"] for k in rows["key"]]
    if any("stimulus" in c for c in ev["channels"].values()):
        rows["stimulus"] = [ev["channels"][k]["stimulus"] for k in rows["key"]]
    return rows


def _event_channels(events: dict) -> list[str]:
    """The channels the events are read from: the TTL channels, the trigger channel, or none (annotations)."""
    if events["source"] == TTL_SOURCE:
        return list(events["channels"])
    return [] if events["source"] == "annotations" else [events["source"]]


def file_labels(names: list[str], *, who: dict) -> dict[str, str]:
    """Channel name -> its label in the written EDF/BDF, which holds 16 characters (``EMG (30 - 500 Hz)`` -> ``EMG (30 - 500 Hz``)."""
    labels = {name: name[:LABEL_CHARS] for name in names}
    cut = [n for n in names if len(n) > LABEL_CHARS]
    if len(set(labels.values())) < len(labels):
        raise RecordingError(f"channel names {cut} are no longer distinct when cut to the {LABEL_CHARS} characters an EDF/BDF label holds",
                             **who, fix="rename the channels in the acquisition software before exporting")
    return labels


def _events(raw, *, spec: dict, who: dict) -> tuple[pd.DataFrame, dict[str, int]]:
    """The mapped events (sample, emotion, stimulus) and the counts of the unmapped ones."""
    source, codes = spec["events"]["source"], spec["events"].get("codes", {})
    if source == TTL_SOURCE:
        return _ttl_events(raw, spec=spec, who=who), {}
    if source == "annotations":
        sfreq = raw.info["sfreq"]
        keys = [str(d) for d in raw.annotations.description]
        samples = np.round(raw.annotations.onset * sfreq).astype(int)
    else:
        samples, values = decode_triggers(raw, channel=source, mask=spec["events"]["mask"])
        keys = [str(v) for v in values]
    mapped = [k in codes for k in keys]
    unmapped = pd.Series([k for k, m in zip(keys, mapped) if not m], dtype=str).value_counts().sort_index().to_dict()
    if not any(mapped):
        raise RecordingError(f"no event of {who['file']} is in the event map (it has {sorted(set(keys))})", **who,
                           fix="add its codes or annotation texts to events.codes in the import map")
    rows = pd.DataFrame({"sample": np.asarray(samples)[mapped], "key": np.asarray(keys)[mapped]})
    rows["emotion"] = [codes[k]["emotion"] for k in rows["key"]]
    rows["stimulus"] = [codes[k]["stimulus"] for k in rows["key"]]
    return rows.sort_values("sample", kind="stable").reset_index(drop=True), unmapped


def import_recording(*, row: pd.Series, spec: dict, out: Path, study: str) -> Imported:
    """Write one recording of the list as ``sub-<label>/emg/`` of the dataset at ``out``."""
    import mne
    import mne_bids

    who = {"study": study, "participant": row["participant"], "file": row["file"]}
    channels = spec["channels"]
    wanted = [*channels, *_event_channels(spec["events"])]
    if row["file"].lower().endswith(".acq"):
        raw = read_acq(row["file"], picks=wanted, volts={n for n, ch in channels.items() if ch["type"] == "EMG"}, who=who)
    else:
        try:
            raw = mne.io.read_raw(row["file"], preload=False, verbose="error")
        except Exception as err:  # MNE raises many kinds on a missing or corrupt file
            raise RecordingError(f"cannot read {row['file']} ({type(err).__name__}: {err})", **who,
                                 fix="check the path in the recordings list and that the file is complete") from err
    for where, names in (("channel map", channels), ("event map", wanted[len(channels):])):
        absent = sorted(set(names) - set(raw.ch_names))
        if absent:
            raise RecordingError(f"the {where} names channel(s) {absent} that {row['file']} does not have (it has {raw.ch_names})",
                                 **who, fix="correct the channel names in the import map")
    events, unmapped = _events(raw, spec=spec, who=who)
    # The events are taken; the annotations would otherwise be written as events too.
    raw.set_annotations(None)
    raw.pick(list(channels)).load_data(verbose="error")
    labels = file_labels(list(channels), who=who)
    raw.rename_channels(labels, verbose="error")
    channels = {labels[name]: ch for name, ch in channels.items()}
    raw.set_channel_types({name: ch["type"].lower() for name, ch in channels.items()}, verbose="error")
    raw.info["line_freq"] = spec["line_freq"]
    emotions = sorted(set(events["emotion"]))
    event_id = {emotion: code for code, emotion in enumerate(emotions, start=1)}
    array = np.column_stack([events["sample"] + raw.first_samp, np.zeros(len(events), int), events["emotion"].map(event_id)])
    path = mne_bids.BIDSPath(subject=row["participant"], task=spec["task"], datatype="emg", root=out)
    scheme = emg_sidecar_keys(placement=spec["placement"], bipolar=all(ch["reference"] == "n/a" for ch in channels.values()))
    metadata = events[[c for c in ("emotion", "stimulus") if c in events.columns]].rename(columns={"emotion": "trial_type"})
    # With event_metadata mne-bids takes trial_type from it, not from event_id.
    mne_bids.write_raw_bids(
        raw, path, events=array, event_id=event_id, event_metadata=metadata,
        extra_columns_descriptions={k: v["Description"] for k, v in EVENT_COLUMNS.items() if k in metadata.columns},
        format=spec["format"], allow_preload=True, overwrite=True, emg_placement=scheme["EMGPlacementScheme"], verbose="error",
    )
    _complete_sidecars(path=path, channels=channels, scheme=scheme, signal=spec["signal"])
    return Imported(participant=row["participant"], n_events=len(events), unmapped=unmapped)


def _complete_sidecars(*, path, channels: dict, scheme: dict, signal: str) -> None:
    """Add what mne-bids does not know: target_muscle and reference, placement and reference scheme, an envelope signal."""
    tsv = path.copy().update(suffix="channels", extension=".tsv").fpath
    table = pd.read_csv(tsv, sep="\t", dtype=str, keep_default_na=False)
    table["target_muscle"] = [channels[n].get("muscle", "n/a") for n in table["name"]]
    table["reference"] = [channels[n]["reference"] for n in table["name"]]
    if signal == ENVELOPE:
        emg = table["type"] == "EMG"
        table["description"] = "n/a"
        table.loc[emg, "description"] = envelope_descriptions(int(emg.sum()))
    table.to_csv(tsv, sep="\t", index=False, lineterminator="\n")
    sidecar_path = path.copy().update(suffix="emg", extension=".json").fpath
    sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
    sidecar = {k: v for k, v in sidecar.items() if k != "EMGPlacementSchemeDescription"}
    envelope = {"HardwareFilters": ENVELOPE_FILTERS} if signal == ENVELOPE else {}
    sidecar_path.write_text(json.dumps({**sidecar, **scheme, **envelope}, indent=4) + "\n", encoding="utf-8")


def _readme(spec: dict, *, map_name: str) -> str:
    """What the dataset is and how it was made: the channel map and the event map, in words."""
    channels = "\n".join(f"- {name}: {ch['type']}" + (f", {ch['muscle']}" if "muscle" in ch else "")
                         + ("" if ch["reference"] == "n/a" else f", referenced to {ch['reference']}")
                         for name, ch in sorted(spec["channels"].items()))
    source = spec["events"]["source"]
    if source == TTL_SOURCE:
        ev = spec["events"]
        level = "half of each channel's range" if ev.get("threshold") is None else f"{ev['threshold']:g}"
        origin = f"TTL channels ({ev['edge']} edges, threshold {level})"
        mapping = ev["channels"]
    else:
        origin = "annotations" if source == "annotations" else f"trigger channel {source} (value & {spec['events']['mask']})"
        mapping = spec["events"]["codes"]
    codes = "\n".join(f"- {key}: {c['emotion']}, stimulus {c.get('stimulus', 'n/a')}" for key, c in sorted(mapping.items()))
    return (f"{spec['name']}\n\nFacial EMG (task '{spec['task']}') imported from the acquisition files by "
            f"`opioidsocial import` with the import map {map_name}, through MNE-BIDS.\n\n"
            f"Channels written (name: type, muscle):\n{channels}\n\n"
            f"Events from {origin}; only these codes were written (code: emotion = trial_type, stimulus):\n{codes}\n")


def import_study(*, map_path: str | Path, recordings_path: str | Path, out: str | Path, study: str | None = None) -> list[Imported]:
    """Import every recording of the list into a new BIDS-EMG dataset at ``out``.

    ``out`` must not exist or be empty: the command never merges into, or
    overwrites, a dataset it did not just write.
    """
    import mne_bids

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not empty; import into a new folder (the command never overwrites a dataset)")
    spec = load_map(map_path)
    recordings = load_recordings(recordings_path)
    study = study or out.name
    done = [import_recording(row=row, spec=spec, out=out, study=study) for _, row in recordings.iterrows()]
    extra = [c for c in recordings.columns if c not in (*RECORDING_COLUMNS, "participant")]
    sheet = recordings.assign(participant_id="sub-" + recordings["participant"])[["participant_id", "arm", *extra]]
    sheet.to_csv(out / "participants.tsv", sep="\t", index=False, lineterminator="\n")
    write_dataset_files(
        root=out, name=spec["name"], arms=sorted(set(recordings["arm"])), readme=_readme(spec, map_name=Path(map_path).name),
        generated_by={"Name": "opioidsocial import", "Description": f"converted with MNE-BIDS {mne_bids.__version__}"},
        extra_columns={c: {"Description": f"{c}, from the recordings list"} for c in extra}, events_json=False,
    )
    for item in done:
        log.info("sub-%s: %d events%s", item.participant, item.n_events,
                 f"; left out (not in the event map): {item.unmapped}" if item.unmapped else "")
    return done
