"""Simulators that write real study files (BIDS-EMG, PET TACs and BPND tables,
published summary statistics) with known true effects in a ``truth.json`` sidecar.

Every study draws from its own seeded stream (``study_seed``), so the same config
writes the same bytes and adding a study leaves the others unchanged.
"""

from __future__ import annotations

import hashlib


def study_seed(master: int, study: str) -> int:
    """A per-study seed derived from the master seed and the study id."""
    digest = hashlib.sha256(f"{master}:{study}".encode()).digest()
    return int.from_bytes(digest[:8], "little")

