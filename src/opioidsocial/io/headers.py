"""Raw-file headers checked before MNE reads the samples.

EDF and BDF (Kemp et al. 1992, "A simple format for exchange of digitized
polygraphic recordings"; Kemp & Olivan 2003, EDF+; BioSemi's 24-bit BDF) store
fixed-size data records: a 256-byte main header, 256 bytes per signal, then
``n_records`` records, each holding ``samples_per_record[i]`` samples of every signal
i in turn, 2 bytes a sample (EDF) or 3 (BDF). MNE reads what the header says and
quietly resamples every signal to the fastest one, so a header that gives one
channel the wrong samples per record yields noise, not an error. Here the header is
parsed on its own and held against the file size (header + records x record bytes
must be the size exactly, as every vendor file in tests/data/vendor/ is), and
each signal's rate (samples per record / record duration) is reported for the
reader to hold against the sidecars.

BrainVision (``.vhdr`` + ``.vmrk`` + ``.eeg``; Brain Products, "BrainVision Core
Data Format 1.0") names its data and marker files in the header's
``[Common Infos]``; a missing one is reported as missing, by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from opioidsocial.io.bids import BidsError

MAIN_HEADER_BYTES = 256
# Per-signal header fields before samples-per-record: label 16, transducer 80,
# physical dimension 8, physical min/max 8+8, digital min/max 8+8, prefiltering 80.
SIGNAL_FIELDS_BEFORE_SPR = 216
ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")


class HeaderError(BidsError):
    """A raw file's header contradicts itself or the file; the fields name the file."""


@dataclass(frozen=True)
class RecordLayout:
    """What an EDF/BDF header says about the data records."""

    labels: list[str]
    samples_per_record: list[int]
    n_records: int
    record_s: float
    bytes_per_sample: int

    def rate(self, label: str) -> float:
        """Sampling rate of a signal, Hz."""
        return self.samples_per_record[self.labels.index(label)] / self.record_s


def _field(raw: bytes, start: int, width: int) -> str:
    return raw[start:start + width].decode("ascii", errors="replace").strip()


def record_layout(path: Path) -> RecordLayout:
    """Parse an EDF/BDF header and check it against the file size.

    Raises HeaderError (naming the file and, where one is at fault, the channel)
    if the header cannot be parsed or its records do not add up to the file.
    """
    size = path.stat().st_size
    truncated = "the file is corrupt or truncated"
    fix = "copy it again from the acquisition computer (or set on_bad_data: exclude to go on without it)"
    with open(path, "rb") as fh:
        main = fh.read(MAIN_HEADER_BYTES)
        try:
            header_bytes, n_signals = int(_field(main, 184, 8)), int(_field(main, 252, 4))
            n_records, record_s = int(_field(main, 236, 8)), float(_field(main, 244, 8))
        except ValueError as err:
            raise HeaderError(f"cannot read the header of {path} ({err}); {truncated}", file=path, fix=fix) from err
        if n_signals < 1 or header_bytes != MAIN_HEADER_BYTES * (n_signals + 1) or size < header_bytes or record_s <= 0:
            raise HeaderError(f"the header of {path} is inconsistent ({n_signals} signals in {header_bytes} header bytes, "
                              f"file of {size} bytes, records of {record_s} s); {truncated}", file=path, fix=fix)
        signals = fh.read(header_bytes - MAIN_HEADER_BYTES)
    labels = [_field(signals, 16 * i, 16) for i in range(n_signals)]
    offset = SIGNAL_FIELDS_BEFORE_SPR * n_signals
    try:
        spr = [int(_field(signals, offset + 8 * i, 8)) for i in range(n_signals)]
    except ValueError as err:
        raise HeaderError(f"the samples per record in the header of {path} are not numbers ({err}); {truncated}", file=path, fix=fix) from err
    bytes_per_sample = 3 if main[:1] == b"\xff" else 2
    record_bytes = sum(spr) * bytes_per_sample
    # -1 = "unknown" (a recording not closed properly): then the size must be whole records.
    records_in_file, rest = divmod(size - header_bytes, record_bytes) if record_bytes else (0, size - header_bytes)
    if rest or (n_records != -1 and records_in_file != n_records):
        per_channel = ", ".join(f"{name} {n}" for name, n in zip(labels, spr) if name not in ANNOTATION_LABELS)
        raise HeaderError(
            f"{path} holds {size - header_bytes} data bytes, but its header gives {n_records} records of {record_bytes} bytes "
            f"(samples per record: {per_channel}); a channel's samples per record are wrong or {truncated}",
            file=path, fix="re-export the recording from the acquisition software; do not analyse it as is")
    return RecordLayout(labels=labels, samples_per_record=spr, n_records=records_in_file, record_s=record_s, bytes_per_sample=bytes_per_sample)


def brainvision_parts(vhdr: Path) -> dict[str, Path]:
    """The data and marker files a BrainVision header names; an error if one is missing."""
    text = vhdr.read_text(encoding="utf-8", errors="replace")
    parts = {}
    for key, kind in (("DataFile", "data"), ("MarkerFile", "marker")):
        match = re.search(rf"^\s*{key}\s*=\s*(.+?)\s*$", text, flags=re.MULTILINE)
        if match is None:
            continue  # no such line: MNE's reader says what is wrong with the header
        part = vhdr.parent / match.group(1)
        if not part.is_file():
            raise HeaderError(f"{vhdr} names the {kind} file '{match.group(1)}' ({key}=), which is not there ({part})",
                              file=vhdr, fix=f"copy {part.name} beside the header, or correct {key}= in {vhdr.name}")
        parts[kind] = part
    return parts
