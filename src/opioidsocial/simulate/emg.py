"""Simulated facial-EMG studies written as real BIDS-EMG datasets.

Designs follow the published naltrexone, naltrexone/amisulpride and morphine
studies (Meier et al. 2016, Korb et al. 2023, Massaccesi et al. 2022): between-subjects arms, passive viewing of dynamic
emotional faces, several facial muscles.

Signal model. Each muscle's raw EMG is band-limited (20-450 Hz) Gaussian noise whose
standard deviation follows an envelope ``env(t)``, scaled so that the expected
rectified amplitude equals ``env(t)`` (E|x| = sigma sqrt(2/pi)). The envelope is the
participant's resting level plus, for each trial, a response

    A = responses[muscle][emotion] + arm_effects[arm][muscle][emotion]
        + u(participant, muscle, emotion) + s(stimulus, muscle) + e(trial)

(microvolt) times a time course that starts 0.2 s after onset, rises with a 0.1 s
time constant, holds until the video ends and decays with a 0.3 s time constant.
The response-window mean of that time course is within 1 % of 1 for windows
starting at 0.5 s, so ``A`` is the quantity the pipeline's baseline-corrected
response-window amplitude estimates. On top: mains interference with harmonics, a
slow electrode drift and DC offset, movement bursts, and occasionally a detached
(flat) electrode or amplifier clipping. The truth goes to ``truth.json``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import signal

from opioidsocial.io.bids import write_emg_recording
from opioidsocial.io.sidecars import ENVELOPE, write_dataset_files

RESPONSE_LATENCY_S = 0.2
RISE_TAU_S = 0.1
DECAY_TAU_S = 0.3
LEAD_IN_S = 3.0
#: SD of the log of the multiplicative noise on a simulated envelope (``signal: envelope``).
ENVELOPE_NOISE = 0.1

log = logging.getLogger("opioidsocial.simulate")

README = """Simulated facial-EMG study '{study}' written by opioidsocial (seed {seed}).

Not real participants: every recording is drawn from the signal model documented in
opioidsocial.simulate.emg, with the true effects in truth.json (ignored by BIDS tools
through .bidsignore). Passive viewing of dynamic emotional faces; events.tsv gives
each face's emotion (trial_type) and identity (stimulus).
"""


def response_shape(t: np.ndarray, *, stimulus_s: float) -> np.ndarray:
    """Time course of a facial response to a video shown from t = 0 to ``stimulus_s``."""
    t = np.asarray(t, dtype=float)
    rise = np.where(t > RESPONSE_LATENCY_S, 1.0 - np.exp(-(t - RESPONSE_LATENCY_S) / RISE_TAU_S), 0.0)
    at_end = 1.0 - np.exp(-(stimulus_s - RESPONSE_LATENCY_S) / RISE_TAU_S)
    decay = at_end * np.exp(-np.clip(t - stimulus_s, 0.0, None) / DECAY_TAU_S)
    return np.where(t <= stimulus_s, rise, decay)


def window_mean(window: tuple[float, float], *, stimulus_s: float) -> float:
    """Mean of the response time course over a window (s), for exact truth values."""
    t = np.linspace(window[0], window[1], 10_001)
    return float(response_shape(t, stimulus_s=stimulus_s).mean())


def _cell(table: dict, *keys, default=0.0) -> float:
    for key in keys:
        if not isinstance(table, dict) or key not in table:
            return default
        table = table[key]
    return float(table)


def _labels(params: dict) -> list[tuple[str, str]]:
    """Participant labels and arms: arms interleaved so labels do not reveal the arm."""
    arms = list(params["arms"])
    counts = dict(params["arms"])
    order = []
    while any(counts.values()):
        for arm in arms:
            if counts[arm]:
                order.append(arm)
                counts[arm] -= 1
    return [(f"{i + 1:03d}", arm) for i, arm in enumerate(order)]


def design(params: dict, rng: np.random.Generator) -> dict:
    """Draw everything above the signal level: participants, stimuli, trial lists, effects."""
    muscles, emotions = params["muscles"], params["emotions"]
    participants = _labels(params)
    stimuli = [f"{emo}{k + 1:02d}" for emo in emotions for k in range(params["stimuli_per_emotion"])]
    stim_dev = {(s, m): rng.normal(0.0, params["sd_stimulus_uv"]) for s in stimuli for m in muscles}
    people = []
    for label, arm in participants:
        trials = [s for s in stimuli for _ in range(params["repetitions"])]
        order = rng.permutation(len(trials))
        people.append(
            {
                "label": label,
                "arm": arm,
                "sex": "F",
                "age": int(rng.integers(19, 41)),
                "baseline": {m: max(0.5, params["baseline_uv"] + rng.normal(0.0, params["sd_participant_baseline_uv"])) for m in muscles},
                "dev": {(m, e): rng.normal(0.0, params["sd_participant_uv"]) for m in muscles for e in emotions},
                "stimuli": [trials[i] for i in order],
            }
        )
    return {"participants": people, "stimuli": stimuli, "stim_dev": stim_dev}


def trial_responses(params: dict, person: dict, drawn: dict, rng: np.random.Generator) -> pd.DataFrame:
    """The true response ``A`` (microvolt) of every trial x muscle of one participant."""
    rows = []
    for trial, stim in enumerate(person["stimuli"], start=1):
        emotion = stim.rstrip("0123456789")
        for muscle in params["muscles"]:
            fixed = _cell(params["responses"], muscle, emotion) + _cell(params["arm_effects"], person["arm"], muscle, emotion)
            amp = fixed + person["dev"][(muscle, emotion)] + drawn["stim_dev"][(stim, muscle)] + rng.normal(0.0, params["sd_trial_uv"])
            rows.append((trial, stim, emotion, muscle, amp))
    return pd.DataFrame(rows, columns=["trial", "stimulus", "emotion", "muscle", "response_uv"])


def truth(params: dict, *, study: str, reference: str) -> dict:
    """True cell means and drug-minus-reference contrasts, microvolt."""
    cells, contrasts = [], []
    for arm in params["arms"]:
        for muscle in params["muscles"]:
            for emotion in params["emotions"]:
                base = _cell(params["responses"], muscle, emotion)
                eff = _cell(params["arm_effects"], arm, muscle, emotion)
                cells.append({"arm": arm, "muscle": muscle, "emotion": emotion, "mean_uv": base + eff})
                if arm != reference:
                    contrasts.append({"arm": arm, "reference": reference, "muscle": muscle, "emotion": emotion, "effect_uv": eff})
    return {
        "study": study,
        "quantity": "mean baseline-corrected rectified EMG over the response window, microvolt",
        "cells": cells,
        "contrasts": contrasts,
        "sd_participant_uv": params["sd_participant_uv"],
        "sd_stimulus_uv": params["sd_stimulus_uv"],
        "sd_trial_uv": params["sd_trial_uv"],
    }


def simulate_trials(*, study: str, params: dict, seed: int, reference: str = "placebo", window: tuple[float, float] = (0.5, 3.5)) -> tuple[pd.DataFrame, dict]:
    """Trial-level responses from the same generative model, without writing signals.

    For recovery benchmarks of the study models: thousands of studies in seconds.
    ``response_uv`` is the true response-window mean of each trial, including trial noise.
    """
    params = with_defaults(params)
    rng = np.random.default_rng(seed)
    drawn = design(params, rng)
    scale = window_mean(window, stimulus_s=params["stimulus_s"])
    frames = []
    for person in drawn["participants"]:
        frame = trial_responses(params, person, drawn, rng)
        frame["response_uv"] *= scale
        frame.insert(0, "arm", person["arm"])
        frame.insert(0, "participant", person["label"])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True), truth(params, study=study, reference=reference)


def with_defaults(params: dict) -> dict:
    """Fill simulator defaults from the schema, for callers outside the workflow."""
    from opioidsocial.config import validate_section

    return validate_section(params, "simulate_emg.schema.yaml", source="simulate.emg")


def _carrier(n: int, sfreq: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance Gaussian noise band-limited to 20-450 Hz (the EMG spectrum)."""
    high = min(450.0, 0.45 * sfreq)
    sos = signal.butter(4, [20.0, high], btype="bandpass", fs=sfreq, output="sos")
    x = signal.sosfilt(sos, rng.standard_normal(n))
    return x / x.std()


def participant_signals(params: dict, person: dict, drawn: dict, rng: np.random.Generator) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame, list[dict]]:
    """Raw EMG (muscles x samples, microvolt), events, responses and injected artefacts."""
    sfreq, stim_s = float(params["sfreq"]), float(params["stimulus_s"])
    responses = trial_responses(params, person, drawn, rng)
    n_trials = len(person["stimuli"])
    gaps = rng.uniform(*params["iti_s"], size=n_trials)
    onsets = LEAD_IN_S + np.concatenate([[0.0], np.cumsum(stim_s + gaps[:-1])])
    duration = onsets[-1] + stim_s + gaps[-1] + LEAD_IN_S
    n = int(round(duration * sfreq))
    t = np.arange(n) / sfreq
    shape_len = int(round((stim_s + 6 * DECAY_TAU_S) * sfreq))
    shape = response_shape(np.arange(shape_len) / sfreq, stimulus_s=stim_s)
    onset_samples = np.round(onsets * sfreq).astype(int)
    data = np.empty((len(params["muscles"]), n))
    artefacts = []
    amp = responses.pivot(index="trial", columns="muscle", values="response_uv")
    for ch, muscle in enumerate(params["muscles"]):
        env = np.full(n, person["baseline"][muscle])
        for trial, start in enumerate(onset_samples, start=1):
            stop = min(n, start + shape_len)
            env[start:stop] += amp.loc[trial, muscle] * shape[: stop - start]
        np.clip(env, 0.05, None, out=env)
        if params["signal"] == ENVELOPE:
            # integrated EMG as a BIOPAC amplifier stores it: the envelope with multiplicative
            # noise of mean 1 (lognormal, so never negative), no mains, drift or offset
            data[ch] = env * rng.lognormal(-ENVELOPE_NOISE**2 / 2, ENVELOPE_NOISE, n)
            continue
        x = _carrier(n, sfreq, rng) * env * np.sqrt(np.pi / 2.0)
        phase = rng.uniform(0, 2 * np.pi, 3)
        line = params["line_noise_uv"] * rng.uniform(0.5, 1.5)
        for k, weight in enumerate((1.0, 1 / 3, 1 / 5), start=1):
            x += line * weight * np.sin(2 * np.pi * k * params["line_freq"] * t + phase[k - 1])
        freqs = rng.uniform(0.02, 0.5, 4)
        drift = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in freqs)
        x += params["drift_uv"] * drift / np.sqrt(len(freqs) / 2) + rng.normal(0, 50)
        for trial, start in enumerate(onset_samples, start=1):
            if rng.random() < params["movement_rate"] / len(params["muscles"]):
                length = int(rng.uniform(0.3, 0.8) * sfreq)
                at = start + int(rng.uniform(0.0, stim_s - 0.8) * sfreq)
                burst = rng.standard_normal(length) * np.hanning(length) * person["baseline"][muscle] * rng.uniform(15, 30)
                x[at : at + length] += burst
                artefacts.append({"trial": trial, "muscle": muscle, "kind": "movement"})
        if rng.random() < params["flat_channel_rate"]:
            x = rng.normal(0.0, 0.05, n) + rng.normal(0, 50)
            artefacts.append({"trial": None, "muscle": muscle, "kind": "flat"})
        elif rng.random() < params["clipped_channel_rate"]:
            # a movement step that drives the amplifier into its rail for ~1 s
            trial = int(rng.integers(1, n_trials + 1))
            at = onset_samples[trial - 1] + int(rng.uniform(0.5, stim_s - 1.0) * sfreq)
            seg = slice(at, at + int(sfreq))
            rail = np.max(np.abs(x)) + 200.0
            x[seg] = np.minimum(x[seg] + 2 * rail, rail)
            artefacts.append({"trial": trial, "muscle": muscle, "kind": "clipped"})
        data[ch] = x
    events = pd.DataFrame(
        {
            "onset": np.round(onset_samples / sfreq, 6),
            "duration": stim_s,
            "trial_type": [s.rstrip("0123456789") for s in person["stimuli"]],
            "stimulus": person["stimuli"],
            "sample": onset_samples,
        }
    )
    return data, events, responses, artefacts


def simulate_study(*, study: str, row: dict, params: dict, seed: int) -> None:
    """Write one simulated BIDS-EMG dataset into ``row['path']``, with truth.json."""
    params = with_defaults(params)
    root = Path(row["path"])
    task = row.get("task") or "faces"
    rng = np.random.default_rng(seed)
    drawn = design(params, rng)
    reference = row.get("reference", "placebo")
    if reference not in params["arms"]:
        from opioidsocial.config import ConfigError

        raise ConfigError(f"simulate.emg.{study}: the study's reference arm '{reference}' (studies.tsv) is not one of its arms {list(params['arms'])}")
    artefact_log = []
    sheet = []
    for i, person in enumerate(drawn["participants"], start=1):
        # A full-size study takes minutes: say where it is.
        log.info("  %s: participant %d/%d (sub-%s)", study, i, len(drawn["participants"]), person["label"])
        data, events, _, artefacts = participant_signals(params, person, drawn, rng)
        write_emg_recording(
            root=root,
            participant=person["label"],
            task=task,
            data=data,
            sfreq=float(params["sfreq"]),
            muscles=params["muscles"],
            events=events,
            line_freq=float(params["line_freq"]),
            fmt=params["format"],
            monopolar=params["monopolar"],
            signal=params["signal"],
        )
        artefact_log += [{"participant": person["label"], **a} for a in artefacts]
        sheet.append({"participant_id": f"sub-{person['label']}", "arm": person["arm"], "sex": person["sex"], "age": person["age"]})
    pd.DataFrame(sheet).to_csv(root / "participants.tsv", sep="\t", index=False, lineterminator="\n")
    write_dataset_files(
        root=root,
        name=f"Simulated facial EMG study '{study}' (opioidsocial)",
        readme=README.format(study=study, seed=seed),
        arms=list(params["arms"]),
        generated_by={"Name": "opioidsocial.simulate.emg", "Description": "simulated data; not real participants"},
        extra_columns={
            "sex": {"Description": "sex", "Levels": {"F": "female", "M": "male"}},
            "age": {"Description": "age", "Units": "year"},
        },
    )
    (root / ".bidsignore").write_text("truth.json\n")
    facts = truth(params, study=study, reference=reference)
    facts["seed"] = seed
    facts["injected_artefacts"] = artefact_log
    (root / "truth.json").write_text(json.dumps(facts, indent=2, sort_keys=True) + "\n")


#: A simulated TTL pulse: 5 V for 100 ms from each stimulus onset, on the emotion's channel.
TTL_VOLTS = 5.0
TTL_PULSE_S = 0.1


def ttl_channel(emotion: str) -> str:
    """The acquisition channel whose pulses mark the faces of ``emotion``."""
    return f"TTL {emotion}"[:16]


def simulate_acquisition(*, study: str, params: dict, seed: int, out: str | Path, reference: str = "placebo") -> tuple[Path, Path]:
    """A lab's acquisition files instead of a BIDS dataset: what ``opioidsocial import`` starts from.

    One EDF per participant in ``out/recordings/`` with a channel per muscle (raw EMG,
    or with ``signal: envelope`` integrated EMG as a BIOPAC amplifier stores it) and
    one TTL channel per emotion (:data:`TTL_VOLTS` for :data:`TTL_PULSE_S` from each
    onset, no stimulus identity), the recordings list, the import map, and
    ``truth.json``. Returns the paths of the import map and the recordings list.
    """
    import edfio

    params = with_defaults(params)
    out = Path(out)
    (out / "recordings").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    drawn = design(params, rng)
    sfreq = float(params["sfreq"])
    rows = []
    for person in drawn["participants"]:
        data, events, _, _ = participant_signals(params, person, drawn, rng)
        n = data.shape[1] + (-data.shape[1]) % int(round(sfreq))  # whole one-second EDF records
        signals = []
        for muscle, x in zip(params["muscles"], data):
            x = np.pad(x, (0, n - len(x)), mode="edge")
            bound = float(np.ceil(np.abs(x).max() * 1.05 + 1.0))
            signals.append(edfio.EdfSignal(x, sfreq, label=muscle[:16], physical_dimension="uV", physical_range=(-bound, bound)))
        for emotion in params["emotions"]:
            pulses = np.zeros(n)
            for start in events.loc[events["trial_type"] == emotion, "sample"]:
                pulses[start : start + int(round(TTL_PULSE_S * sfreq))] = TTL_VOLTS
            signals.append(edfio.EdfSignal(pulses, sfreq, label=ttl_channel(emotion), physical_dimension="V",
                                           physical_range=(-1.0, 2 * TTL_VOLTS)))
        file = f"recordings/{person['label']}.edf"
        edfio.Edf(signals, data_record_duration=1.0).write(out / file)
        rows.append({"file": file, "participant_id": f"sub-{person['label']}", "arm": person["arm"]})
    recordings = out / "recordings.tsv"
    pd.DataFrame(rows).to_csv(recordings, sep="\t", index=False, lineterminator="\n")
    spec = {
        "name": f"Simulated facial EMG study '{study}' (opioidsocial), from acquisition files",
        "signal": params["signal"],
        "line_freq": params["line_freq"],
        "channels": {m[:16]: {"muscle": m} for m in params["muscles"]},
        "events": {"source": "channels", "channels": {ttl_channel(e): {"emotion": e} for e in params["emotions"]}},
    }
    map_path = out / "import.yaml"
    map_path.write_text(yaml.safe_dump(spec, sort_keys=True))
    facts = truth(params, study=study, reference=reference)
    (out / "truth.json").write_text(json.dumps({**facts, "seed": seed}, indent=2, sort_keys=True) + "\n")
    return map_path, recordings
