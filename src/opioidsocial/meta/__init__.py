"""Meta-analysis: effect sizes (escalc), pooling, meta-regression, multilevel models, plots."""

from opioidsocial.meta.escalc import EffectSizeError, escalc

__all__ = ["EffectSizeError", "escalc"]
