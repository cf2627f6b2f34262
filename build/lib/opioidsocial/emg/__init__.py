"""Facial EMG: filters, envelopes, epochs, artefact rules and study-level models."""
