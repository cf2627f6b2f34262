"""Meta-analysis: effect sizes (escalc), pooling, meta-regression, multilevel models, plots."""

from opioidsocial.meta.escalc import EffectSizeError, escalc
from opioidsocial.meta.multilevel import pool_multilevel
from opioidsocial.meta.random_effects import MetaAnalysisError, pool

__all__ = ["EffectSizeError", "MetaAnalysisError", "escalc", "pool", "pool_multilevel"]
