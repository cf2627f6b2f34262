"""Statistical models shared by the stages (linear mixed models)."""
