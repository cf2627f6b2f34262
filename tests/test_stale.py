"""The start-up check for raw files changed under a kept modification time (opioidsocial.stale.refresh)."""

from __future__ import annotations

import os

from opioidsocial import stale
from opioidsocial.io.contracts import EFFECTS
from opioidsocial.io.tables import write_table


def _finished(tmp_path):
    """A raw file and one result recording its digest, written after it."""
    raw = tmp_path / "data" / "trials.csv"
    raw.parent.mkdir()
    raw.write_text("participant,response_uv\n01,1.0\n")
    output = tmp_path / "results" / "s" / "model" / "effects.parquet"
    output.parent.mkdir(parents=True)
    write_table(EFFECTS.empty(), output, EFFECTS, metadata=stale.raw_digests([str(raw)], results=str(tmp_path / "results")))
    os.utime(raw, ns=(output.stat().st_mtime_ns - 10**9,) * 2)
    return raw, output


def test_only_files_whose_size_or_ctime_moved_are_hashed_again(tmp_path, monkeypatch):
    raw, output = _finished(tmp_path)
    cache = tmp_path / "results" / "logs" / "raw_inputs.json"
    hashed = []
    monkeypatch.setattr(stale, "sha256", lambda path: hashed.append(path) or stale.hashlib.sha256(open(path, "rb").read()).hexdigest())
    assert stale.refresh(results=tmp_path / "results", cache=cache) == [] and hashed == [str(raw)]
    assert stale.refresh(results=tmp_path / "results", cache=cache) == [] and hashed == [str(raw)]  # nothing moved: no hashing

    kept = raw.stat()
    raw.write_text("participant,response_uv\n01,2.0\n")  # cp -p: new content, old mtime
    os.utime(raw, ns=(kept.st_atime_ns, kept.st_mtime_ns))
    found = stale.refresh(results=tmp_path / "results", cache=cache)
    assert found == [stale.Stale(str(output), str(raw), "changed under a kept modification time")] and len(hashed) == 2
    # The result is now older than the raw file (which is left as it was): Snakemake reruns what
    # read it. The next start finds nothing to do or hash.
    assert raw.stat().st_mtime_ns > output.stat().st_mtime_ns and raw.read_text().endswith("2.0\n")
    assert raw.stat().st_mtime_ns == kept.st_mtime_ns
    assert stale.refresh(results=tmp_path / "results", cache=cache) == [] and len(hashed) == 2
    assert stale.warning(found).startswith(f"{raw} changed under a kept modification time") and f"invalidating {output}" in stale.warning(found)


def test_a_read_only_raw_file_is_never_touched(tmp_path):
    raw, output = _finished(tmp_path)
    cache = tmp_path / "results" / "logs" / "raw_inputs.json"
    stale.refresh(results=tmp_path / "results", cache=cache)
    kept = raw.stat()
    raw.chmod(0o644)
    raw.write_text("participant,response_uv\n01,3.0\n")
    os.utime(raw, ns=(kept.st_atime_ns, kept.st_mtime_ns))
    raw.chmod(0o444)
    before = raw.stat()
    assert [s.raw for s in stale.refresh(results=tmp_path / "results", cache=cache)] == [str(raw)]
    after = raw.stat()
    assert (after.st_mtime_ns, after.st_ctime_ns, after.st_mode) == (before.st_mtime_ns, before.st_ctime_ns, before.st_mode)
    assert output.stat().st_mtime_ns < after.st_mtime_ns


def test_nothing_to_check_before_the_first_run(tmp_path):
    assert stale.refresh(results=tmp_path / "results", cache=tmp_path / "results" / "logs" / "raw_inputs.json") == []
    assert not (tmp_path / "results").exists()
