"""config/README.md, generated from the schemas: every key, its type, default, the
steps it reaches and its description, so that nobody has to read code or YAML
schemas to set an option (mne-bids-pipeline generates its docs the same way).

    python -m opioidsocial.config_docs > config/README.md

``tests/test_config_docs.py`` checks that the file is current.
"""

from __future__ import annotations

import json
import sys

from opioidsocial.config import CONFIG_SCHEMA_PATH, SCHEMA_DIR, load_schema, resolve_ref

SHEETS = {"studies.schema.yaml": "config/studies.tsv", "participants.schema.yaml": "participants.tsv of each dataset",
          "summary.schema.yaml": "the TSV of a `summary` study"}


def _text(node: dict) -> str:
    return " ".join(str(node.get("description", "")).split())


def _type(node: dict) -> str:
    kinds = node.get("type", "")
    text = " or ".join(kinds) if isinstance(kinds, list) else str(kinds)
    if "enum" in node:
        text += " (" + ", ".join(json.dumps(v) for v in node["enum"]) + ")"
    return text


def _reruns(stages: list[str] | None) -> str:
    if stages is None:
        return "read by `opioidsocial simulate`, not by the workflow"
    return "reruns " + (", ".join(f"`{s}`" for s in stages) or "nothing")


def _keys(node: dict, resolver, prefix: str, stages: list[str] | None = None) -> list[str]:
    """One bullet per key, nested objects with dotted names.

    A key without its own ``x-stage`` reaches the steps of the nearest enclosing key
    that has one (the step config takes that key whole), and says so.
    """
    lines = []
    for key, sub in node.get("properties", {}).items():
        sub, sub_resolver = resolve_ref(sub, resolver)
        name = f"{prefix}{key}"
        own = sub.get("x-stage", stages)
        facts = [_type(sub)]
        if "default" in sub:
            facts.append(f"default `{json.dumps(sub['default'])}`")
        if own is not None or prefix.startswith("simulate."):
            facts.append(_reruns(own))
        elif "properties" in sub:
            facts.append("reruns what its keys below say")
        lines.append(f"- **`{name}`** ({'; '.join(f for f in facts if f)}): {_text(sub)}".rstrip(": "))
        if sub.get("type") == "object" and "properties" in sub:
            lines += _keys(sub, sub_resolver, f"{name}.", own)
    return lines


#: The keys a lab sets for its own data before anything else, and why.
FIRST_KEYS = [
    ("studies", "the study sheet: one row per study, its design, drug, direction, reference arm and data path"),
    ("on_bad_data", "stop at a participant whose data cannot be analysed, or exclude and record them"),
    ("emg.trial_types", "the event map: which trial_type values of events.tsv are faces of which emotion"),
    ("emg.channel_muscles", "the channel map: which channel records which muscle, where channels.tsv does not say"),
    ("emg.tmin_s", "epoch start around each face"),
    ("emg.tmax_s", "epoch end"),
    ("emg.baseline_s", "the pre-stimulus window each trial is corrected by"),
    ("emg.response_s", "the window the study models average the response over"),
    ("models.formula", "the mixed model of each EMG study"),
    ("meta.methods", "the meta-analytic estimators; the first is the primary one"),
]


def _lookup(schema: dict, resolver, dotted: str) -> tuple[dict, list[str] | None]:
    """The schema node of a dotted key and the steps it reaches."""
    node, stages = {"properties": schema["properties"]}, None
    for part in dotted.split("."):
        node, resolver = resolve_ref(node["properties"][part], resolver)
        stages = node.get("x-stage", stages)
    return node, stages


def _first_keys(schema: dict, resolver) -> list[str]:
    rows = ["| key | what a lab sets it for | default | reruns |", "|---|---|---|---|"]
    for dotted, why in FIRST_KEYS:
        node, stages = _lookup(schema, resolver, dotted)
        default = json.dumps(node.get("default")).replace("|", "\\|")  # a formula's bars are no cell borders
        rows.append(f"| `{dotted}` | {why} | `{default}` | {', '.join(f'`{s}`' for s in stages or []) or 'nothing'} |")
    return rows


def config_reference() -> str:
    """The text of config/README.md."""
    schema, registry = load_schema(CONFIG_SCHEMA_PATH)
    resolver = registry.resolver(base_uri=schema["$id"])
    out = ["# Configuration reference", "",
           "Generated from `workflow/schemas/` by `python -m opioidsocial.config_docs > config/README.md`; do not edit by hand.",
           "A run starts from these defaults plus the config given (`--configfile`, or the demo's `config/config.yaml`",
           "when none is given). *reruns* names the Snakemake rules whose jobs a change of the key reruns.", "",
           _text(schema), ""]
    out += ["## Keys labs change first", "", *_first_keys(schema, resolver), "",
            "The study sheet's columns are at the end of this page; `emg.muscle_names` and `emg.emotions` declare",
            "the labels a lab's data may use.", ""]
    top = {k: v for k, v in schema["properties"].items() if "$ref" not in v}
    out += ["## Top level", "", *_keys({"properties": top}, resolver, ""), ""]
    # The analysis sections first; the demo's simulator last.
    sections = sorted((k for k, v in schema["properties"].items() if "$ref" in v), key=lambda k: k == "simulate")
    for key in sections:
        sub = schema["properties"][key]
        node, sub_resolver = resolve_ref(sub, resolver)
        out += [f"## `{key}`: {node.get('title', '')}", "", _text(node), "", *_keys(node, sub_resolver, f"{key}."), ""]
    for name, what in SHEETS.items():
        sheet, sheet_registry = load_schema(SCHEMA_DIR / name)
        columns = _keys(sheet, sheet_registry.resolver(base_uri=sheet["$id"]), "")
        out += [f"## Sheet: {what}", "", _text(sheet), "", f"Required columns: {', '.join(sheet.get('required', []))}.", "", *columns, ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(config_reference())
