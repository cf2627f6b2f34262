import hashlib
import os
import stat

import pandas as pd
import pyarrow.parquet as pq
import pytest

from opioidsocial.io.contracts import EMG_BINS
from opioidsocial.io.tables import TableSchemaError, read_table, write_bytes, write_table, write_text


def _bins(n=4):
    return pd.DataFrame(
        {
            "study": "s", "participant": ["02", "01", "02", "01"][:n], "arm": "placebo", "trial": [2, 1, 1, 2][:n],
            "stimulus": "happy01", "emotion": "happy", "muscle": "corrugator", "bin_start_s": [0.1, 0.0, 0.0, 0.1][:n],
            "amplitude_uv": [1.0, 2.0, 3.0, 4.0][:n], "amplitude_z": 0.0, "artefact": False, "artefact_reason": "",
        }
    )


def test_round_trip_sorts_rows_and_keeps_the_schema(tmp_path):
    path = tmp_path / "t.parquet"
    write_table(_bins(), path, EMG_BINS, metadata={"config_hash": "abc"})
    back = read_table(path, EMG_BINS)
    assert back[["participant", "trial"]].values.tolist() == [["01", 1], ["01", 2], ["02", 1], ["02", 2]]
    schema = pq.read_schema(path)
    assert schema.field("trial").type == "int32"
    assert schema.metadata[b"opioidsocial.config_hash"] == b"abc"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_identical_input_gives_identical_bytes(tmp_path):
    for name in ("a", "b"):
        write_table(_bins(), tmp_path / f"{name}.parquet", EMG_BINS)
    digest = [hashlib.sha256((tmp_path / f"{n}.parquet").read_bytes()).hexdigest() for n in "ab"]
    assert digest[0] == digest[1]


def test_missing_and_extra_columns_are_named(tmp_path):
    df = _bins().drop(columns="muscle").assign(extra=1)
    with pytest.raises(TableSchemaError, match=r"lacks column\(s\) \['muscle'\] and has unexpected column\(s\) \['extra'\]"):
        write_table(df, tmp_path / "x.parquet", EMG_BINS)
    assert not list(tmp_path.iterdir())


def test_wrong_type_and_nulls_are_rejected(tmp_path):
    with pytest.raises(TableSchemaError, match="wrong type"):
        write_table(_bins().assign(trial="first"), tmp_path / "x.parquet", EMG_BINS)
    with pytest.raises(TableSchemaError, match="'amplitude_uv'.*missing values"):
        write_table(_bins().assign(amplitude_uv=None), tmp_path / "x.parquet", EMG_BINS)


def test_a_corrupt_file_is_named(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(TableSchemaError, match="bad.parquet: cannot be read"):
        read_table(path, EMG_BINS)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_follow_the_umask(tmp_path, umask, mode):
    # mkstemp makes 0600 files; renamed into place they must have the mode open() gives.
    old = os.umask(umask)
    try:
        write_table(_bins(), tmp_path / "t.parquet", EMG_BINS)
        write_text(tmp_path / "t.tsv", "a\n")
        write_bytes(tmp_path / "t.png", b"\x89PNG")
    finally:
        os.umask(old)
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == {"t.parquet": mode, "t.tsv": mode, "t.png": mode}
