"""What produced an output: versions of this package and its key libraries.

Recorded in file metadata instead of a timestamp, so identical inputs give
identical bytes and a reader can still tell which software wrote a file.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

KEY_PACKAGES = ("opioidsocial", "numpy", "scipy", "pandas", "pyarrow", "mne", "statsmodels", "mixedlm", "pimeta", "snakemake")


@cache
def versions() -> dict[str, str]:
    found = {}
    for name in KEY_PACKAGES:
        try:
            found[f"version.{name}"] = version(name)
        except PackageNotFoundError:
            found[f"version.{name}"] = "absent"
    return found
