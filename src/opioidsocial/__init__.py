"""opioidsocial: a reproducible workflow for mu-opioid studies of social behaviour.

Per-participant preprocessing of facial EMG and PET, study-level models and
meta-analytic comparisons; see the README.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("opioidsocial")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"
