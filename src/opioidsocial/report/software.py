"""What a reader needs to rerun a run: the software versions and the config used.

The config is the validated one, with every default filled in, so the YAML given
to ``snakemake --configfile`` reproduces the run even if a later version of the
workflow changes a default. Nothing here depends on the clock or the host name.
"""

from __future__ import annotations

import json
import platform

import pandas as pd
import yaml

from opioidsocial.failsafe import stage
from opioidsocial.io import contracts
from opioidsocial.io.contracts import CONFIG_TABLE, VERSIONS, TextFile
from opioidsocial.io.tables import write_text, write_tsv
from opioidsocial.provenance import versions


def versions_table() -> pd.DataFrame:
    """Python and the key packages with their installed versions ('absent' if not installed)."""
    rows = [{"package": "python", "version": platform.python_version()}]
    rows += [{"package": key.removeprefix("version."), "version": value} for key, value in versions().items()]
    return pd.DataFrame(rows).sort_values("package", kind="stable").reset_index(drop=True)


def flatten(config: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Dotted key paths to leaf values; lists and empty mappings are leaves, written as JSON."""
    leaves = []
    for key in sorted(config, key=str):
        value, path = config[key], f"{prefix}{key}"
        if isinstance(value, dict) and value:
            leaves += flatten(value, f"{path}.")
        else:
            leaves.append((path, value if isinstance(value, str) else json.dumps(value, sort_keys=True)))
    return leaves


def config_table(config: dict) -> pd.DataFrame:
    """The config as one row per setting (key as in the schema, e.g. emg.bin_s), sorted by key."""
    return pd.DataFrame(flatten(config), columns=["key", "value"])


def config_yaml(config: dict) -> str:
    """The config as YAML with sorted keys: equal configs give equal bytes."""
    return yaml.safe_dump(config, sort_keys=True, default_flow_style=False, allow_unicode=True)


@stage("report_provenance", level="run", outputs={"versions": contracts.VERSIONS, "config_tsv": contracts.CONFIG_TABLE, "config_yaml": TextFile("yaml")})
def run(*, inputs: dict, outputs: dict, config: dict, versions: dict) -> None:
    """The report_provenance job: versions.tsv, config.tsv and config.yaml of this run.

    ``versions`` is a parameter only so that an upgraded package reruns the job.
    """
    write_tsv(versions_table(), outputs["versions"], VERSIONS)
    write_tsv(config_table(config), outputs["config_tsv"], CONFIG_TABLE)
    write_text(outputs["config_yaml"], config_yaml(config))
