"""Saving figures with reproducible bytes, atomically.

Matplotlib writes the date and its version into PNG and SVG metadata and random ids
into SVG unless told otherwise; both would make two runs differ. Every stage saves
its figures through here.
"""

from __future__ import annotations

import io
import os

import matplotlib

from opioidsocial.io.tables import write_bytes

METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}


def save_figure(fig, *paths: str | os.PathLike, dpi: int = 120) -> None:
    """Write ``fig`` to each path, in the format its extension names (png or svg)."""
    with matplotlib.rc_context({"svg.hashsalt": "opioidsocial", "svg.fonttype": "path"}):
        for path in paths:
            fmt = os.fspath(path).rsplit(".", 1)[-1].lower()
            if fmt not in METADATA:
                raise ValueError(f"{path}: figures are written as .png or .svg")
            buffer = io.BytesIO()
            fig.savefig(buffer, format=fmt, dpi=dpi, metadata=METADATA[fmt])
            write_bytes(path, buffer.getvalue())


def note_figure(text: str):
    """A figure that only says ``text`` (an output whose data were excluded)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.0, 2.0))
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.01, 0.5, text, va="center", wrap=True)
    return fig
