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


def _keys(node: dict, resolver, prefix: str) -> list[str]:
    """One bullet per key, nested objects with dotted names."""
    lines = []
    for key, sub in node.get("properties", {}).items():
        sub, sub_resolver = resolve_ref(sub, resolver)
        name = f"{prefix}{key}"
        facts = [_type(sub)]
        if "default" in sub:
            facts.append(f"default `{json.dumps(sub['default'])}`")
        if "x-stage" in sub:
            facts.append("reruns " + (", ".join(f"`{s}`" for s in sub["x-stage"]) or "nothing"))
        lines.append(f"- **`{name}`** ({'; '.join(f for f in facts if f)}): {_text(sub)}".rstrip(": "))
        if sub.get("type") == "object" and "properties" in sub:
            lines += _keys(sub, sub_resolver, f"{name}.")
    return lines


def config_reference() -> str:
    """The text of config/README.md."""
    schema, registry = load_schema(CONFIG_SCHEMA_PATH)
    resolver = registry.resolver(base_uri=schema["$id"])
    out = ["# Configuration reference", "",
           "Generated from `workflow/schemas/` by `python -m opioidsocial.config_docs > config/README.md`; do not edit by hand.",
           "A run starts from these defaults plus the config given (`--configfile`, or the demo's `config/config.yaml`",
           "when none is given). *reruns* names the Snakemake rules whose jobs a change of the key reruns.", "",
           _text(schema), ""]
    top = {k: v for k, v in schema["properties"].items() if "$ref" not in v}
    out += ["## Top level", "", *_keys({"properties": top}, resolver, ""), ""]
    for key, sub in schema["properties"].items():
        if "$ref" not in sub:
            continue
        node, sub_resolver = resolve_ref(sub, resolver)
        out += [f"## `{key}`: {node.get('title', '')}", "", _text(node), "", *_keys(node, sub_resolver, f"{key}."), ""]
    for name, what in SHEETS.items():
        sheet, sheet_registry = load_schema(SCHEMA_DIR / name)
        columns = _keys(sheet, sheet_registry.resolver(base_uri=sheet["$id"]), "")
        out += [f"## Sheet: {what}", "", _text(sheet), "", f"Required columns: {', '.join(sheet.get('required', []))}.", "", *columns, ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(config_reference())
