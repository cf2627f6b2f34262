"""BIOPAC AcqKnowledge recordings (``.acq``) as MNE raw objects, through bioread.

bioread (uwmadison-chm/bioread, MIT) reads AcqKnowledge 3.x-5.x files, compressed or
not. An ``.acq`` file may hold channels of different rates (a 3.9 Hz respiration
channel beside 2 kHz EMG): only the channels asked for are taken, and they must share
one rate; the workflow's filters and windows assume one rate, so a slower channel is
an error naming it, never resampled. Units are converted to volts for MNE (which
writes them as the BIDS channels.tsv units); a channel that is not in volts keeps
its values (a MISC channel such as skin conductance). Two channels of one name are
told apart as ``<name> [1]``, ``<name> [2]``. AcqKnowledge's event markers (text and
sample index at the file's fastest rate) become annotations with that text, so an
import map with ``source: annotations`` maps them like EDF+ annotations.
"""

from __future__ import annotations

import collections

import numpy as np

from opioidsocial.errors import DataError

#: Volts per unit of the unit names AcqKnowledge writes.
TO_VOLTS = {"v": 1.0, "volts": 1.0, "mv": 1e-3, "millivolts": 1e-3, "µv": 1e-6, "uv": 1e-6, "microvolts": 1e-6}


class AcqError(DataError):
    """An AcqKnowledge file that cannot be imported as its import map says."""

    file_role = "recording"


def channel_names(names: list[str]) -> list[str]:
    """The file's channel names, with repeated names numbered (``Analog input [1]``, ``Analog input [2]``)."""
    counts = collections.Counter(names)
    seen: collections.Counter = collections.Counter()
    out = []
    for name in names:
        seen[name] += 1
        out.append(f"{name} [{seen[name]}]" if counts[name] > 1 else name)
    return out


def read_acq(path: str, *, picks: list[str], volts: set[str], who: dict):
    """The ``picks`` channels of an ``.acq`` file as an ``mne.io.RawArray`` with its markers as annotations.

    ``volts`` are the picked channels that must be voltages (EMG): another unit is an error.
    """
    import bioread
    import mne

    try:
        datafile = bioread.read_file(path)
    except Exception as err:  # bioread raises many kinds on a corrupt or unsupported file
        raise AcqError(f"bioread cannot read {path} ({type(err).__name__}: {err})", **who,
                       fix="open it in AcqKnowledge and save it again (uncompressed, File > Save As), or check it is complete") from err
    names = channel_names([ch.name for ch in datafile.channels])
    by_name = dict(zip(names, datafile.channels))
    absent = [p for p in picks if p not in by_name]
    if absent:
        raise AcqError(f"the import map names channel(s) {absent} that {path} does not have (it has {names})", **who,
                       fix="correct the channel names in the import map (copy them from this list)")
    rates = {p: float(by_name[p].samples_per_second) for p in picks}
    fastest = max(rates.values())
    slow = sorted(p for p, rate in rates.items() if rate < fastest)
    if slow:
        raise AcqError(f"mapped channel(s) {[f'{p} ({rates[p]:g} Hz)' for p in slow]} of {path} are sampled slower than the other "
                       f"mapped channels ({fastest:g} Hz); channels are never resampled", **who,
                       fix="leave the slower channel out of the import map, or record every mapped channel at one rate")
    scales = []
    for p in picks:
        unit = str(by_name[p].units).strip()
        scale = TO_VOLTS.get(unit.lower())
        if scale is None and p in volts:
            raise AcqError(f"EMG channel '{p}' of {path} is in '{unit}', not a voltage", **who,
                           fix="map a channel recorded in V, mV or µV as EMG (others as MISC)")
        scales.append(1.0 if scale is None else scale)
    n = min(by_name[p].point_count for p in picks)
    data = np.vstack([np.asarray(by_name[p].data[:n], dtype=float) * s for p, s in zip(picks, scales)])
    raw = mne.io.RawArray(data, mne.create_info(picks, fastest, "misc"), verbose="error")
    markers = list(datafile.event_markers)
    base = float(datafile.samples_per_second)
    onsets = np.array([m.sample_index / base for m in markers])
    inside = onsets < n / fastest
    raw.set_annotations(mne.Annotations(onsets[inside], 0.0, [m.text or "n/a" for m, i in zip(markers, inside) if i]))
    return raw
