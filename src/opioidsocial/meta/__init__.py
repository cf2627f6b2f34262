"""Meta-analysis: effect sizes (escalc), pooling, meta-regression, multilevel models, plots."""

from opioidsocial.meta.escalc import EffectSizeError, escalc

__all__ = ["EffectSizeError", "MetaAnalysisError", "escalc", "pool", "pool_multilevel"]

# pimeta takes ~3 s to import (it loads matplotlib); stages that only need escalc
# (the EMG and PET effect tables) should not pay for it, so these load on first use.
_LAZY = {
    "pool": "opioidsocial.meta.random_effects",
    "MetaAnalysisError": "opioidsocial.meta.random_effects",
    "pool_multilevel": "opioidsocial.meta.multilevel",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'opioidsocial.meta' has no attribute {name!r}")
