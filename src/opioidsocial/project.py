"""``opioidsocial init DIR``: a new project folder for a lab's own studies.

The folder holds a commented ``config/config.yaml``, a ``config/studies.tsv`` with
the header and one example row per input kind, a ``Snakefile`` that imports this
workflow as a Snakemake module (the lab's config only, never the demo's) and a
README saying how to run it. The files are templates shipped in the package
(``opioidsocial/templates``), read with importlib.resources so that a wheel install
has them too.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from opioidsocial.config import SCHEMA_DIR
from opioidsocial.errors import ConfigError

#: template name -> where it goes in the new project.
FILES = {"config.yaml": "config/config.yaml", "studies.tsv": "config/studies.tsv", "Snakefile": "Snakefile", "README.md": "README.md"}


def workflow_snakefile() -> str:
    """The workflow this package belongs to: a source checkout's workflow/Snakefile.

    A wheel holds no workflow; the project's Snakefile then names the placeholder
    that its README explains how to fill.
    """
    snakefile = SCHEMA_DIR.resolve().parent / "Snakefile"
    return str(snakefile) if snakefile.is_file() else "<path of opioidsocial's workflow/Snakefile>"


def init_project(*, target: str | Path) -> list[Path]:
    """Write a new project into ``target`` (new or empty); return the files written."""
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise ConfigError(f"{target} is not empty; opioidsocial init writes a new project only (give a new folder)")
    templates = importlib.resources.files("opioidsocial") / "templates"
    snakefile = workflow_snakefile()
    written = []
    for name, where in FILES.items():
        path = target / where
        path.parent.mkdir(parents=True, exist_ok=True)
        text = (templates / name).read_text(encoding="utf-8")
        path.write_text(text.replace("{snakefile}", snakefile) if name in ("Snakefile", "README.md") else text, encoding="utf-8")
        written.append(path)
    return written
