"""The repository stands on its own and speaks to its users.

A user clones the repository and nothing else, so no tracked file may read or name a
folder beside the clone or a path of the machine it was written on; and the docs, code
and config describe the project as it is, not the history of its development (a reader
cannot know what a work session or a ticket number referred to).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The words and paths looked for are spelt in pieces, so that this file passes its own scan.
_TICKET, _END, _SITTING, _ASSISTANT, _BESIDE = "iss" + "ue", "st" + "op", "sess" + "ion", "hel" + "per", "sha" + "red"


def _phrase(*words: str) -> str:
    return " ".join(words)


#: Words of a development diary, not of a user's documentation.
DIARY = re.compile(rf"\bthis {_END}\b|\b(this|previous|last|earlier) {_SITTING}\b|\b{_TICKET}s? ?#?\d+\b|\b{_ASSISTANT}s?\b|\bbefore {_TICKET}\b",
                   re.IGNORECASE)
#: A folder beside the clone, or an absolute path of a developer's machine.
OUTSIDE = re.compile(rf"\.\./{_BESIDE}\b|(?<![\w.])/(work|root|home|Users)/")


def tracked_text_files() -> list[Path]:
    """The files a clone has (git's list; the tree minus build folders without git)."""
    try:
        names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".snakemake", "results", "data", "build", "__pycache__", ".pytest_cache"}
        names = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]
    files = []
    for name in names:
        path = ROOT / name
        if not path.is_file():
            continue
        head = path.read_bytes()[:8192]
        if b"\0" in head:
            continue  # binary: recordings, Parquet, images
        files.append(path)
    return files


def offending_lines(pattern: re.Pattern) -> list[str]:
    hits = []
    for path in tracked_text_files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if pattern.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    return hits


def test_the_scan_sees_the_repository():
    files = {p.relative_to(ROOT).as_posix() for p in tracked_text_files()}
    assert {"README.md", "workflow/Snakefile", "src/opioidsocial/errors.py", "config/config.yaml"} <= files


@pytest.mark.parametrize("pattern, what", [(DIARY, "development-diary words"), (OUTSIDE, "paths outside the repository")])
def test_no_tracked_file_has(pattern, what):
    hits = offending_lines(pattern)
    assert not hits, f"{len(hits)} line(s) with {what}:\n" + "\n".join(hits)


@pytest.mark.parametrize("text, pattern", [
    (_phrase("measured this", _END, "on an idle machine"), DIARY), (_phrase("the previous", f"{_SITTING}'s run"), DIARY),
    (_phrase("before", _TICKET.title(), "17"), DIARY), (_phrase("ask a", _ASSISTANT), DIARY),
    (f"see ../{_BESIDE}/DESIGN.md", OUTSIDE), ("read " + "/wo" + f"rk/{_BESIDE}/data/test.bdf", OUTSIDE), ("in " + "/ho" + "me/lab/data", OUTSIDE),
])
def test_the_patterns_catch_what_they_are_for(text, pattern):
    assert pattern.search(text)


@pytest.mark.parametrize("text, pattern", [
    ("results/{study}/emg/{participant}.parquet", OUTSIDE), ("--data /tmp/korb130", OUTSIDE), (_phrase("t" + _TICKET, "2"), DIARY),
    ("the stop-signal task", DIARY), ("a session of PET scans", DIARY),
])
def test_the_patterns_leave_ordinary_text_alone(text, pattern):
    assert not pattern.search(text)
