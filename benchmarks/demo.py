"""The demo's EMG designs and one config section, for the simulation benchmarks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from opioidsocial.config import validate_section
from opioidsocial.sheets import load_studies

ROOT = Path(__file__).resolve().parents[1]


def demo_emg(section: str) -> tuple[dict, pd.DataFrame, dict]:
    """(config section ``section`` validated, the study sheet, the simulated EMG designs) of config/config.yaml."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg = validate_section(config.get(section) or {}, f"{section}.schema.yaml", source=section)
    sheet = load_studies(ROOT / "config" / "studies.tsv", schemas=ROOT / "workflow" / "schemas")
    return cfg, sheet, config["simulate"]["emg"]
