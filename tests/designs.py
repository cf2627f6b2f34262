"""Tiny simulated study designs, shared by the tests and the scale benchmark.

Plain data without pytest, so that benchmarks/ can import it too.
"""

TINY_EMG = {
    "arms": {"placebo": 2, "naltrexone": 2},
    "muscles": ["corrugator", "zygomaticus"],
    "emotions": ["happy", "angry"],
    "stimuli_per_emotion": 3,
    "repetitions": 2,
    "responses": {"corrugator": {"happy": -0.5, "angry": 1.0}, "zygomaticus": {"happy": 1.5, "angry": 0.0}},
    "arm_effects": {"naltrexone": {"corrugator": {"happy": 0.7}}},
    "movement_rate": 0.1,
    "clipped_channel_rate": 0.2,
    "flat_channel_rate": 0.1,
}

# Movement bursts only: trials are rejected, but no participant loses a channel, so a
# 2-per-arm study keeps both arms and the model and meta stages have something to fit.
WORKFLOW_TINY_EMG = {**TINY_EMG, "clipped_channel_rate": 0.0, "flat_channel_rate": 0.0}

# A small PET TAC design: two regions (one bilateral), activation during rejection in
# the ventral striatum, and one trait correlated with it.
TINY_PET = {
    "participants": 4,
    "rois": {"ventral_striatum": {"bp_nd": 2.4}, "pag": {"bp_nd": 1.6, "lateral": False}},
    "activation": {"rejection": {"ventral_striatum": 0.06}},
    "traits": {"resiliency": {"condition": "rejection", "roi": "ventral_striatum", "r": 0.6, "mean": 50, "sd": 10}},
}
