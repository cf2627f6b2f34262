"""Statistics shared by the stages: linear mixed models, effect sizes (escalc)."""
