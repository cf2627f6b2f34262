"""Meta-analysis: harmonising effects, pooling, meta-regression, multilevel models, plots."""
