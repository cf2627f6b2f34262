"""Meta-analysis: effect sizes (escalc), pooling, meta-regression, multilevel models, plots."""
