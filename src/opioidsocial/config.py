"""Validation of the workflow config and the sample sheets against the JSON schemas.

The schemas in ``workflow/schemas/`` are the documentation of every option. This
module fills in their defaults, and turns jsonschema's messages into errors that
name the key, the file and the fix (with the closest valid key for a misspelt one).
Snakemake's own ``validate`` is not used for the config because it neither fills
defaults inside objects the user left out nor suggests a correction.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import importlib
import importlib.resources
import json
from functools import cache
from pathlib import Path

import jsonschema
import pandas as pd
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from opioidsocial.errors import ConfigError


def load_schema(path: str | Path) -> tuple[dict, Registry]:
    """Load a YAML/JSON schema and a registry that resolves its relative ``$ref``s."""
    return _load_schema(str(Path(path).resolve()))


@cache
def _load_schema(resolved: str) -> tuple[dict, Registry]:
    # Schemas are read-only here, so one parsed copy per file serves every call.
    path = Path(resolved)
    schema = yaml.safe_load(path.read_text())
    schema["$id"] = path.as_uri()

    @cache
    def retrieve(uri: str) -> Resource:
        target = Path(uri.removeprefix("file://"))
        contents = yaml.safe_load(target.read_text())
        contents.setdefault("$id", target.as_uri())
        return Resource.from_contents(contents, default_specification=DRAFT202012)

    registry = Registry(retrieve=retrieve).with_resource(
        schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012)
    )
    return schema, registry


def resolve_ref(node: dict, resolver) -> tuple[dict, object]:
    """The schema node a ``$ref`` chain ends at, and the resolver for its own references."""
    while "$ref" in node:
        resolved = resolver.lookup(node["$ref"])
        node, resolver = resolved.contents, resolved.resolver
    return node, resolver


def _fill_defaults(data, node: dict, resolver):
    """Insert schema defaults, creating objects the user omitted when they have defaults."""
    node, resolver = resolve_ref(node, resolver)
    if not isinstance(data, dict) or node.get("type") != "object":
        return data
    for key, sub in node.get("properties", {}).items():
        sub_node, sub_resolver = resolve_ref(sub, resolver)
        if key not in data:
            if "default" in sub_node:
                data[key] = copy.deepcopy(sub_node["default"])
            elif sub_node.get("type") == "object" and "properties" in sub_node:
                data[key] = {}
            else:
                continue
        _fill_defaults(data[key], sub_node, sub_resolver)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        for key in data:
            if key not in node.get("properties", {}):
                _fill_defaults(data[key], extra, resolver)
    return data


def _where(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def _message(error: jsonschema.ValidationError, source: str) -> str:
    where = _where(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        return (
            f"{source}: unknown key(s) {', '.join(hints)} in '{where}'. "
            f"Valid keys there: {', '.join(allowed)}. Every key is documented in workflow/schemas/."
        )
    if error.validator == "required":
        return f"{source}: '{where}' is missing a required key: {error.message}"
    described = error.schema.get("description") if isinstance(error.schema, dict) else None
    # The key's own documentation says what a valid value looks like: the fix.
    hint = f" ({' '.join(described.split())})" if described else ""
    return f"{source}: '{where}' = {error.instance!r} is invalid: {error.message}{hint}"


def validate_config(config: dict, schema_path: str | Path, *, source: str = "config") -> dict:
    """Return a copy of ``config`` with defaults filled in, or raise ConfigError."""
    schema, registry = load_schema(schema_path)
    data = copy.deepcopy(config)
    _fill_defaults(data, schema, registry.resolver(base_uri=schema["$id"]))
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        raise ConfigError("\n".join(_message(e, source) for e in errors))
    # Cross-key checks live with their modality (e.g. opioidsocial.emg.settings); the
    # schema names them, so this generic validator imports no stage's code.
    problems = []
    for target in schema.get("x-checks", []):
        module, _, name = target.rpartition(".")
        problems += getattr(importlib.import_module(module), name)(data, source)
    if problems:
        raise ConfigError("\n".join(f"{source}: {p}" for p in problems))
    return data


#: The schemas ship inside the package (a wheel has no workflow/ folder); in a source
#: checkout src/opioidsocial/schemas links to workflow/schemas, which the rules read.
SCHEMA_DIR = Path(str(importlib.resources.files("opioidsocial") / "schemas"))
#: The config's schema; the sections' schemas are in SCHEMA_DIR/config/.
CONFIG_SCHEMA_PATH = SCHEMA_DIR / "config.schema.yaml"


def validate_section(section: dict, schema_name: str, *, source: str) -> dict:
    """Validate one config section against its schema in workflow/schemas/config/.

    For callers outside Snakemake (the CLI, tests, benchmarks) that hold a section only.
    """
    return validate_config(section, SCHEMA_DIR / "config" / schema_name, source=source)


def step_config(config: dict, step: str, schema_path: str | Path) -> dict:
    """The part of a validated ``config`` that the workflow step ``step`` reads.

    Each key's schema names the steps (Snakemake rules) whose outputs it can change,
    as ``x-stage``; a rule's params hold exactly those keys, so changing a key reruns
    only the jobs it can affect (after mne-bids-pipeline's per-step ``get_config``).
    The result is canonical: keys sorted, numbers of ``type: number`` as floats and
    sequences as lists, so that key order, filled-in defaults and equal spellings of
    one value (20 and 20.0) never trigger a rerun.
    """
    schema, registry = load_schema(schema_path)
    return _step_part(config, schema, registry.resolver(base_uri=schema["$id"]), step) or {}


def canonical_config(config: dict, schema_path: str | Path) -> dict:
    """The whole validated config in the canonical form of :func:`step_config`."""
    schema, registry = load_schema(schema_path)
    return _canonical(config, schema, registry.resolver(base_uri=schema["$id"]))


def _step_part(data, node: dict, resolver, step: str):
    if "x-stage" in node:
        return _canonical(data, node, resolver) if step in node["x-stage"] else None
    node, resolver = resolve_ref(node, resolver)
    if not isinstance(data, dict) or "properties" not in node:
        return None
    part = {}
    for key in sorted(data):
        if key in node["properties"]:
            value = _step_part(data[key], node["properties"][key], resolver, step)
            if value is not None:
                part[key] = value
    return part or None


def _canonical(value, node: dict, resolver):
    node, resolver = resolve_ref(node, resolver)
    kinds = node.get("type", [])
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if isinstance(value, dict):
        props, extra = node.get("properties", {}), node.get("additionalProperties")
        return {k: _canonical(v, props.get(k, extra if isinstance(extra, dict) else {}), resolver) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        items = node.get("items", {})
        return [_canonical(v, items if isinstance(items, dict) else {}, resolver) for v in value]
    if "number" in kinds and "integer" not in kinds and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def config_hash(config: dict) -> str:
    """A short stable hash of a config: recorded in outputs instead of a timestamp."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_sheet(path: str | Path, schema_path: str | Path, *, what: str, filled: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a TSV sheet and validate every row against a row schema.

    Columns are read as strings first so that ids such as ``007`` keep their zeros;
    the schema's types then convert numbers and booleans. ``filled`` names columns
    whose cells this sheet must fill even where the schema has a default (the arm
    of a between-subjects study: its default would make an arm of its own).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what}: sheet {path} does not exist; create it or fix the path in the config")
    try:
        sheet = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment="#")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise ConfigError(f"{what}: {path} is not a readable tab-separated sheet ({err})") from err
    schema, registry = load_schema(schema_path)
    props = schema.get("properties", {})
    missing = [c for c in schema.get("required", []) if c not in sheet.columns]
    if missing:
        raise ConfigError(f"{what}: {path} lacks required column(s) {missing}; columns are documented in {schema_path}")
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    rows = []
    problems = []
    for i, raw in enumerate(sheet.to_dict(orient="records"), start=2):
        row = {k: _coerce(v, props.get(k, {})) for k, v in raw.items() if v != ""}
        problems += [f"{path} line {i}: '{key}' is empty; fill it ({' '.join(props[key]['description'].split())})" for key in filled if key not in row]
        for key, sub in props.items():
            if key not in row and "default" in sub:
                row[key] = sub["default"]
        for err in validator.iter_errors(row):
            problems.append(f"{path} line {i}: {_message(err, what).split(': ', 1)[1]}")
        rows.append(row)
    if problems:
        raise ConfigError("\n".join(problems))
    return pd.DataFrame(rows, columns=list(dict.fromkeys([*sheet.columns, *props])))


def _coerce(value: str, prop: dict):
    kinds = prop.get("type", "string")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    for kind in kinds:
        try:
            if kind == "integer":
                return int(value)
            if kind == "number":
                return float(value)
            if kind == "boolean" and value.lower() in ("true", "false"):
                return value.lower() == "true"
        except ValueError:
            continue
    return value


def check_unique(sheet: pd.DataFrame, column: str, *, path: str | Path) -> None:
    """Raise ConfigError if ``column`` repeats a value (a participant listed twice)."""
    dup = sheet[column][sheet[column].duplicated()].unique().tolist()
    if dup:
        raise ConfigError(
            f"{path}: duplicate {column} {dup}; each must appear once (remove or rename the repeated rows)"
        )
