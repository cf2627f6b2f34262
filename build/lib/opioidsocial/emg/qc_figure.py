"""A participant's EMG quality-control figure, for the report.

Per muscle: a few seconds of the raw and the band-passed, notched signal around
the first stimulus (is the recording plausible, did the filter remove drift and
mains?), and Welch power spectra before and after filtering (is the line noise
gone, is the 20-500 Hz band intact?). Below: the share of trials rejected per
emotion and rule, from the QC record.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import signal  # noqa: E402

from opioidsocial.emg import filters  # noqa: E402
from opioidsocial.io.bids import read_emg, read_events  # noqa: E402
from opioidsocial.io.contracts import QC_RECORD  # noqa: E402
from opioidsocial.io.figures import save_figure  # noqa: E402
from opioidsocial.io.tables import read_json  # noqa: E402

SNIPPET_S = (-1.0, 3.0)


def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, participant: str) -> None:
    """The QC figure job: ``inputs`` are the participant's BIDS files and its QC record (qc)."""
    files = {role: path for role, path in inputs.items() if role != "qc"}
    qc_figure(files=files, qc=read_json(inputs["qc"], QC_RECORD), cfg=cfg["emg"], png_path=outputs["png"])


def qc_figure(*, files: dict, qc: dict, cfg: dict, png_path: str) -> None:
    """Draw and save the QC figure (PNG) of one participant."""
    who = f"study '{qc['study']}', participant '{qc['participant']}'"
    if "channels" not in qc:
        fig, ax = plt.subplots(figsize=(8, 2))
        ax.axis("off")
        ax.text(0.01, 0.5, f"{who}\nexcluded before preprocessing:\n{qc['exclusion_reason']}", va="center", wrap=True)
        _save(fig, png_path)
        return
    rec = read_emg(files, study=qc["study"], participant=qc["participant"], muscles=list(qc["channels"]),
                   channel_muscles=cfg["channel_muscles"].get(qc["study"]))
    design = filters.design(sfreq=rec.sfreq, low_hz=cfg["highpass_hz"], high_hz=cfg["lowpass_hz"], order=cfg["filter_order"],
                            line_freq=rec.line_freq, notch=cfg["notch"], notch_q=cfg["notch_q"])
    onset = float(read_events(files["events"], who=who)["onset"].iloc[0])
    start = max(0, int((onset + SNIPPET_S[0]) * rec.sfreq))
    stop = min(rec.data.shape[1], int((onset + SNIPPET_S[1]) * rec.sfreq))
    n = len(rec.muscles)
    fig, axes = plt.subplots(n + 1, 2, figsize=(11, 2.3 * (n + 1)), constrained_layout=True)
    for row, muscle in enumerate(rec.muscles):
        raw = rec.data[row]
        filtered = filters.apply(raw[None, :], design)[0]
        t = np.arange(start, stop) / rec.sfreq - onset
        ax = axes[row, 0]
        ax.plot(t, raw[start:stop] - np.median(raw[start:stop]), lw=0.4, color="0.6", label="raw (median removed)")
        ax.plot(t, filtered[start:stop], lw=0.4, color="C0", label="filtered")
        ax.axvline(0, color="k", lw=0.8, ls=":")
        ax.set(title=f"{muscle}: around the first stimulus", xlabel="time from onset (s)", ylabel="µV")
        ax.legend(loc="upper right", fontsize=7, frameon=False)
        ax = axes[row, 1]
        for x, label, colour in ((raw - raw.mean(), "raw", "0.6"), (filtered, "filtered", "C0")):
            f, p = signal.welch(x, fs=rec.sfreq, nperseg=int(rec.sfreq))
            ax.semilogy(f, p, lw=0.7, color=colour, label=label)
            if label == "raw":
                # notches are deep; show six decades below the EMG band, not the bottom of a notch
                ax.set_ylim(np.median(p[(f > 20) & (f < 450)]) * 1e-6, p.max() * 10)
        for edge in design.describe()["bandpass_hz"]:
            ax.axvline(edge, color="k", lw=0.6, ls="--")
        ax.set(title=f"{muscle}: power spectrum", xlabel="Hz", ylabel="µV²/Hz", xlim=(0, min(rec.sfreq / 2, 600)))
        ax.legend(loc="upper right", fontsize=7, frameon=False)
    ax = axes[n, 0]
    emotions = sorted(qc["rejected_fraction_by_emotion"])
    ax.bar(emotions, [100 * qc["rejected_fraction_by_emotion"][e] for e in emotions], color="C3")
    ax.set(title="rejected trial x muscle cells per emotion", ylabel="%", ylim=(0, 100))
    ax = axes[n, 1]
    rules = sorted({r for m in qc["muscles"].values() for r in m["reasons"]})
    bottom = np.zeros(len(rec.muscles))
    for i, rule in enumerate(rules):
        counts = np.array([qc["muscles"][m]["reasons"][rule] for m in rec.muscles], dtype=float)
        ax.bar(rec.muscles, counts, bottom=bottom, label=rule, color=f"C{i + 1}")
        bottom += counts
    ax.set(title=f"rejections by rule (of {qc['n_trials']} trials)", ylabel="trials")
    ax.legend(fontsize=7, frameon=False)
    fig.suptitle(f"{who}: {'usable' if qc['usable'] else 'EXCLUDED: ' + qc['exclusion_reason']}", fontsize=10)
    _save(fig, png_path)


def _save(fig, path: str) -> None:
    try:
        save_figure(fig, path, dpi=90)
    finally:
        plt.close(fig)
