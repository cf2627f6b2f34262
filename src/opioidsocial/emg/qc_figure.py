"""A participant's EMG quality-control figure, for the report.

Per muscle: a few seconds of the raw and the band-passed, notched signal around
the first stimulus (is the recording plausible, did the filter remove drift and
mains?), and power spectra before and after filtering (is the line noise gone, is
the 20-500 Hz band intact?). Below: the share of trials rejected per emotion and
rule, from the QC record. Everything drawn comes from the preprocessing job's
outputs (the QC record and the EMG_QC_SIGNALS table, see
:mod:`opioidsocial.emg.chain`): this job never reads the recording. A recording
that is already an envelope shows the envelope as recorded and smoothed, and says
"envelope: no filtering" instead of a spectrum.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from opioidsocial.failsafe import stage  # noqa: E402
from opioidsocial.io.contracts import EMG_QC_SIGNALS, QC_RECORD, FigureFile  # noqa: E402
from opioidsocial.io.figures import save_figure  # noqa: E402
from opioidsocial.io.tables import read_json, read_table  # noqa: E402


@stage("emg_qc_figure", level="participant", outputs={"png": FigureFile("png")})
def run(*, inputs: dict, outputs: dict, cfg: dict, study: str, participant: str) -> None:
    """The QC figure job: ``inputs`` are the participant's QC record (qc) and signals (EMG_QC_SIGNALS)."""
    qc_figure(qc=read_json(inputs["qc"], QC_RECORD), signals=read_table(inputs["signals"], EMG_QC_SIGNALS), png_path=outputs["png"])


def qc_figure(*, qc: dict, signals, png_path: str) -> None:
    """Draw and save the QC figure (PNG) of one participant."""
    who = f"study '{qc['study']}', participant '{qc['participant']}'"
    if "channels" not in qc:
        fig, ax = plt.subplots(figsize=(8, 2))
        ax.axis("off")
        ax.text(0.01, 0.5, f"{who}\nexcluded before preprocessing:\n{qc['exclusion_reason']}", va="center", wrap=True)
        _save(fig, png_path)
        return
    muscles = list(qc["channels"])
    curves = {key: (group["x"].to_numpy(), group["value"].to_numpy()) for key, group in signals.groupby(["muscle", "kind", "signal"])}
    n = len(muscles)
    # Fixed margins, not constrained_layout: measuring every tick label to place the
    # axes took half of this job's time, and the layout is the same for every participant.
    height = 2.3 * (n + 1)
    fig, axes = plt.subplots(n + 1, 2, figsize=(11, height), squeeze=False)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.55 / height, top=1 - 0.6 / height, wspace=0.22, hspace=0.75)
    for row, muscle in enumerate(muscles):
        if isinstance(qc["filter"], str):
            _envelope_panels(axes[row], curves, muscle=muscle, note=qc["filter"])
            continue
        t, raw = curves[muscle, "snippet", "raw"]
        ax = axes[row, 0]
        ax.plot(t, raw - np.median(raw), lw=0.4, color="0.6", label="raw (median removed)")
        ax.plot(t, curves[muscle, "snippet", "filtered"][1], lw=0.4, color="C0", label="filtered")
        ax.axvline(0, color="k", lw=0.8, ls=":")
        ax.set(title=f"{muscle}: around the first stimulus", xlabel="time from onset (s)", ylabel="µV")
        ax.legend(loc="upper right", fontsize=7, frameon=False)
        ax = axes[row, 1]
        for label, colour in (("raw", "0.6"), ("filtered", "C0")):
            f, p = curves[muscle, "spectrum", label]
            ax.semilogy(f, p, lw=0.7, color=colour, label=label)
            if label == "raw":
                # notches are deep; show six decades below the EMG band, not the bottom of a notch
                ax.set_ylim(np.median(p[(f > 20) & (f < 450)]) * 1e-6, p.max() * 10)
        for edge in qc["filter"]["bandpass_hz"]:
            ax.axvline(edge, color="k", lw=0.6, ls="--")
        ax.set(title=f"{muscle}: power spectrum", xlabel="Hz", ylabel="µV²/Hz", xlim=(0, min(qc["sfreq_hz"] / 2, 600)))
        ax.legend(loc="upper right", fontsize=7, frameon=False)
    ax = axes[n, 0]
    emotions = sorted(qc["rejected_fraction_by_emotion"])
    ax.bar(emotions, [100 * qc["rejected_fraction_by_emotion"][e] for e in emotions], color="C3")
    ax.set(title="rejected trial x muscle cells per emotion", ylabel="%", ylim=(0, 100))
    ax = axes[n, 1]
    rules = sorted({r for m in qc["muscles"].values() for r in m["reasons"]})
    bottom = np.zeros(len(muscles))
    for i, rule in enumerate(rules):
        counts = np.array([qc["muscles"][m]["reasons"][rule] for m in muscles], dtype=float)
        ax.bar(muscles, counts, bottom=bottom, label=rule, color=f"C{i + 1}")
        bottom += counts
    ax.set(title=f"rejections by rule (of {qc['n_trials']} trials)", ylabel="trials")
    ax.legend(fontsize=7, frameon=False)
    fig.suptitle(f"{who}: {'usable' if qc['usable'] else 'EXCLUDED: ' + qc['exclusion_reason']}", fontsize=10)
    _save(fig, png_path)


def _envelope_panels(axes, curves: dict, *, muscle: str, note: str) -> None:
    """A recording that is already an envelope: the envelope as recorded and smoothed, and no spectrum."""
    t, recorded = curves[muscle, "snippet", "raw"]
    ax = axes[0]
    ax.plot(t, recorded, lw=0.6, color="0.6", label="envelope as recorded")
    ax.plot(t, curves[muscle, "snippet", "filtered"][1], lw=0.8, color="C0", label="smoothed")
    ax.axvline(0, color="k", lw=0.8, ls=":")
    ax.set(title=f"{muscle}: envelope around the first stimulus ({note})", xlabel="time from onset (s)", ylabel="µV")
    ax.legend(loc="upper right", fontsize=7, frameon=False)
    axes[1].axis("off")
    axes[1].text(0.02, 0.5, f"{muscle}: {note}\n(integrated EMG: not band-passed, notched or rectified;\n"
                 "a spectrum of an envelope says nothing about mains or movement)", va="center", fontsize=8)


def _save(fig, path: str) -> None:
    try:
        save_figure(fig, path, dpi=90)
    finally:
        plt.close(fig)
