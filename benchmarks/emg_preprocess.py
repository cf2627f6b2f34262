"""Benchmark: per-participant facial-EMG preprocessing against loading the file, MNE and NeuroKit2.

The targets, on one simulated 30-minute, 2048 Hz recording
with six EMG channels, all measured in the same run:

1. the whole ``preprocess_participant`` call takes at most 3x (the aim: 2x) the
   time MNE alone needs to load the file (``mne.io.read_raw_bdf(path, preload=True)``);
2. it takes at most 0.1x the time of MNE's own filter chain written the usual way:
   load, ``raw.filter(20, 500, method="iir")`` (4th-order Butterworth, zero phase),
   ten ``raw.notch_filter`` calls (50 to 500 Hz, MNE's default FIR), rectification
   and a 100 ms moving average;
3. it is at least 50x faster than NeuroKit2's ``emg_process`` (Makowski et al.
   2021, Behav Res Methods 53:1689) run on the same six channels
   (``--nk-repeats 0`` leaves NeuroKit2 out: it takes 10 to 20 minutes);
4. its peak memory stays under 2x the float64 size of the raw data
   (channels x samples x 8 bytes).

Method. The recording is simulated once into a temporary directory outside the
repository (``opioidsocial.simulate.emg``: 276 trials of ~6.5 s). Every timed call
runs once untimed first, so the file sits in the page cache and lazy imports are
done; then loading, preprocessing and the MNE chain alternate, so that load from
other jobs on the machine hits them alike, and each figure is the median of ``--repeats`` wall-clock
times (``time.perf_counter``). NeuroKit2 gets the channels already in memory
(microvolt, as MNE returns them), so its time excludes reading the file. It needs
one to three minutes per 30-minute channel here, so by default each of the six
full-length channels runs once (no cropping, no extrapolation) and the figure is
their sum; ``--nk-repeats 3`` makes it the median of three such sums (about 30
minutes more).

Peak memory is measured in fresh subprocesses so that nothing the parent holds
counts. Primary: the resident set size the operating system charges the process
with (what a SLURM memory limit sees). After the imports and an untimed call on a
short recording (which loads everything imported lazily), the high-water mark
``VmHWM`` is reset to the current RSS (``/proc/self/clear_refs``, Linux); the call's
peak is ``VmHWM`` after it minus the RSS before it. (``getrusage``'s ``ru_maxrss``
is no use here: Linux carries it from the parent through fork and exec, so a child
of a large parent reports the parent's peak.) Cross-check: ``tracemalloc``'s peak
of Python and NumPy allocations during the call, in another subprocess; it ignores
allocator slack and memory NumPy does not own, so it sits a little below the RSS
figure. The same is measured for the MNE load alone, for scale.

Usage::

    python benchmarks/emg_preprocess.py                 # 10-15 minutes on 2 cores
    python benchmarks/emg_preprocess.py --nk-repeats 0  # without NeuroKit2: 2-3 minutes
    python benchmarks/emg_preprocess.py --nk-repeats 3  # NeuroKit2 median of three too
    python benchmarks/emg_preprocess.py --nk-repeats 0 --profile /tmp/pre.prof  # and where one call's time goes

Writes ``benchmarks/results/emg_preprocess.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
MUSCLES = ["corrugator", "zygomaticus", "depressor", "frontalis", "levator", "orbicularis_oculi"]
EMOTIONS = ["happy", "angry", "fearful", "neutral"]
# 4 emotions x 23 stimuli x 3 repetitions = 276 trials of 4 s video + 2-3 s interval:
# about 1800 s of recording.
RECORDING = {
    "arms": {"placebo": 1},
    "muscles": MUSCLES,
    "emotions": EMOTIONS,
    "stimuli_per_emotion": 23,
    "repetitions": 3,
    "responses": {
        "corrugator": {"happy": -0.5, "angry": 1.0, "fearful": 0.7},
        "zygomaticus": {"happy": 1.5},
        "depressor": {"angry": 0.5},
        "frontalis": {"fearful": 0.8},
        "levator": {"angry": 0.4},
        "orbicularis_oculi": {"happy": 1.0},
    },
}
# A few trials only: the untimed warm-up call of the memory subprocesses.
WARMUP = {**RECORDING, "stimuli_per_emotion": 1, "repetitions": 1}
TARGETS = {"preprocess_over_load_max": 3.0, "preprocess_over_load_aim": 2.0, "preprocess_over_mne_chain_max": 0.1,
           "neurokit_over_preprocess_min": 50.0, "peak_memory_over_raw_max": 2.0}
NOTCHES_HZ = [50.0 * k for k in range(1, 11)]  # ten notch_filter calls: the mains and its harmonics up to 500 Hz
SEED = 20261123
PARTICIPANT = "001"


def simulate(root: Path, params: dict) -> dict:
    """Write a one-participant BIDS-EMG dataset under ``root``; return its file paths."""
    from opioidsocial.io.bids import emg_files
    from opioidsocial.simulate.emg import simulate_study

    row = {"study": "bench", "path": str(root), "task": "faces", "reference": "placebo"}
    simulate_study(study="bench", row=row, params=params, seed=SEED)
    return emg_files(row, PARTICIPANT)


def emg_defaults() -> dict:
    from opioidsocial.config import validate_section

    return validate_section({}, "emg.schema.yaml", source="emg")


def load(files: dict):
    import mne

    return mne.io.read_raw_bdf(files["recording"], preload=True, verbose="error")


def mne_chain(files: dict):
    """The same steps as a user would write them with MNE (see the module docstring)."""
    import numpy as np
    from scipy.ndimage import uniform_filter1d

    raw = load(files)
    raw.filter(20.0, 500.0, method="iir", verbose="error")
    for freq in NOTCHES_HZ:
        raw.notch_filter(freq, verbose="error")
    envelope = np.abs(raw.get_data()) * 1e6
    return uniform_filter1d(envelope, size=int(round(0.1 * raw.info["sfreq"])), axis=-1)


def preprocess(files: dict, cfg: dict):
    from opioidsocial.emg.preprocess import preprocess_participant

    return preprocess_participant(files, study="bench", participant=PARTICIPANT, arm="placebo", cfg=cfg)


def profile(fn, path: Path) -> None:
    """Where one call's time goes: a cProfile written to ``path``, its largest own times printed."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(fn)
    profiler.dump_stats(path)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def neurokit_all_channels(channels_uv, sfreq: float) -> list[float]:
    """Seconds of ``neurokit2.emg_process`` on each channel, with its defaults."""
    import neurokit2 as nk

    out = []
    with warnings.catch_warnings():
        # NeuroKit2 warns when a channel has no activation burst; irrelevant to timing.
        warnings.simplefilter("ignore")
        for x in channels_uv:
            out.append(seconds(lambda x=x: nk.emg_process(x, sampling_rate=sfreq)))
    return out


def _status_bytes(field: str) -> int:
    """A memory figure of this process from /proc/self/status (Linux), in bytes."""
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE).group(1)) * 1024


def memory_child(what: str, files: dict, warmup_files: dict, tracer: str) -> dict:
    """Peak memory of one call, measured inside this (fresh) process; see the module docstring."""
    import gc

    cfg = emg_defaults()
    call = (lambda f: load(f)) if what == "load" else (lambda f: preprocess(f, cfg))
    call(warmup_files)
    gc.collect()
    if tracer == "tracemalloc":
        import tracemalloc

        tracemalloc.start()
        result = call(files)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del result
        return {"peak_bytes": int(peak)}
    # Writing 5 to clear_refs resets the high-water mark VmHWM to the current RSS
    # (Linux >= 4.0). getrusage's ru_maxrss cannot be used: Linux carries it over
    # from the parent through fork and exec, so it reports the parent's peak.
    Path("/proc/self/clear_refs").write_text("5")
    baseline = _status_bytes("VmRSS")
    result = call(files)
    peak = _status_bytes("VmHWM")
    del result
    return {"peak_bytes": peak - baseline, "baseline_rss_bytes": baseline}


def peak_memory(what: str, files: dict, warmup_files: dict, tracer: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-child", what, "--tracer", tracer,
           "--files", json.dumps(files), "--warmup-files", json.dumps(warmup_files)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    versions = {name: metadata.version(name) for name in ("opioidsocial", "mne", "numpy", "scipy", "pandas", "edfio", "neurokit2")}
    try:
        commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "repo_commit": commit,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of the load and the preprocessing (median)")
    parser.add_argument("--nk-repeats", type=int, default=1, help="repetitions of NeuroKit2 over all six channels (median; 0: leave it out)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "emg_preprocess.json")
    parser.add_argument("--profile", type=Path, help="also write a cProfile of one preprocessing call here (and print its top entries)")
    parser.add_argument("--memory-child", choices=["load", "preprocess"], help=argparse.SUPPRESS)
    parser.add_argument("--tracer", choices=["rss", "tracemalloc"], default="rss", help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    parser.add_argument("--warmup-files", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, json.loads(args.files), json.loads(args.warmup_files), args.tracer)))
        return {}
    if args.repeats < 3 or args.nk_repeats < 0:
        parser.error("--repeats must be at least 3 (the figures are medians of three or more) and --nk-repeats at least 0")

    with tempfile.TemporaryDirectory(prefix="opioidsocial-bench-") as tmp:
        files = simulate(Path(tmp) / "full", RECORDING)
        warmup_files = simulate(Path(tmp) / "warmup", WARMUP)
        cfg = emg_defaults()
        load_avg_start = os.getloadavg()

        raw = load(files)
        n_channels, n_samples = len(raw.ch_names), raw.n_times
        sfreq = float(raw.info["sfreq"])
        channels_uv = raw.get_data() * 1e6
        del raw
        frame, qc, _ = preprocess(files, cfg)

        mne_chain(files)
        load_s, preprocess_s, mne_s = [], [], []
        for _ in range(args.repeats):
            load_s.append(seconds(lambda: load(files)))
            preprocess_s.append(seconds(lambda: preprocess(files, cfg)))
            mne_s.append(seconds(lambda: mne_chain(files)))
            print(f"load {load_s[-1]:.3f} s, preprocess {preprocess_s[-1]:.3f} s, MNE chain {mne_s[-1]:.3f} s", flush=True)

        if args.profile:
            profile(lambda: preprocess(files, cfg), args.profile)
        if args.nk_repeats:
            neurokit_all_channels(channels_uv[:, : int(5 * sfreq)], sfreq)
        nk_runs = []
        for _ in range(args.nk_repeats):
            nk_runs.append(neurokit_all_channels(channels_uv, sfreq))
            print(f"neurokit2 emg_process, 6 channels: {sum(nk_runs[-1]):.1f} s", flush=True)
        del channels_uv

        memory = {
            what: {tracer: peak_memory(what, files, warmup_files, tracer) for tracer in ("rss", "tracemalloc")}
            for what in ("load", "preprocess")
        }
        load_avg_end = os.getloadavg()

    raw_bytes = n_channels * n_samples * 8
    med_load, med_pre, med_mne = statistics.median(load_s), statistics.median(preprocess_s), statistics.median(mne_s)
    med_nk = statistics.median(sum(run) for run in nk_runs) if nk_runs else None
    ratios = {
        "preprocess_over_load": med_pre / med_load,
        "preprocess_over_mne_chain": med_pre / med_mne,
        "neurokit_over_preprocess": med_nk / med_pre if nk_runs else None,
        "peak_memory_over_raw": memory["preprocess"]["rss"]["peak_bytes"] / raw_bytes,
        "peak_memory_over_raw_tracemalloc": memory["preprocess"]["tracemalloc"]["peak_bytes"] / raw_bytes,
    }
    passed = {
        "preprocess_over_load": ratios["preprocess_over_load"] <= TARGETS["preprocess_over_load_max"],
        "preprocess_over_mne_chain": ratios["preprocess_over_mne_chain"] <= TARGETS["preprocess_over_mne_chain_max"],
        "neurokit_over_preprocess": ratios["neurokit_over_preprocess"] >= TARGETS["neurokit_over_preprocess_min"] if nk_runs else None,
        "peak_memory_over_raw": ratios["peak_memory_over_raw"] < TARGETS["peak_memory_over_raw_max"],
    }
    result = {
        "recording": {
            "channels": n_channels,
            "samples": n_samples,
            "sfreq_hz": sfreq,
            "duration_s": round(n_samples / sfreq, 3),
            "trials": qc["n_trials"],
            "raw_float64_bytes": raw_bytes,
            "output_rows": len(frame),
            "simulation": RECORDING,
            "seed": SEED,
        },
        "method": {
            "repeats": args.repeats,
            "nk_repeats": args.nk_repeats,
            "timer": "time.perf_counter, wall clock; one untimed call of each first (warm page cache)",
            "neurokit": "neurokit2.emg_process(channel_uv, sampling_rate=sfreq) with its defaults on each full-length channel already in memory; "
                        "one repetition = all channels",
            "mne_chain": "load; raw.filter(20, 500, method='iir'); raw.notch_filter(f) for f in 50..500 Hz; abs; 100 ms moving average",
            "memory": "fresh subprocess per figure, after an untimed call on a short recording; rss = VmHWM (reset just before) after the call "
                      "minus VmRSS before it; tracemalloc = traced peak during the call",
        },
        "seconds": {
            "load": {"median": med_load, "runs": load_s},
            "preprocess": {"median": med_pre, "runs": preprocess_s},
            "mne_chain": {"median": med_mne, "runs": mne_s},
            "neurokit_all_channels": {"median": med_nk, "runs": [sum(run) for run in nk_runs], "per_channel_runs": nk_runs},
        },
        "peak_memory_bytes": memory,
        "ratios": ratios,
        "targets": TARGETS,
        "passed": passed,
        "machine": {**machine(), "load_average_start": list(load_avg_start), "load_average_end": list(load_avg_end)},
    }
    from opioidsocial.io.tables import write_json

    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, result)
    print(f"recording: {n_channels} channels x {n_samples} samples ({n_samples / sfreq:.0f} s at {sfreq:g} Hz), float64 {raw_bytes / 2**20:.0f} MiB")
    print(f"preprocess / MNE load      = {ratios['preprocess_over_load']:7.2f}  (target <= 3, aim 2)  {'PASS' if passed['preprocess_over_load'] else 'FAIL'}")
    print(f"preprocess / MNE chain     = {ratios['preprocess_over_mne_chain']:7.3f}  (target <= 0.1)  {'PASS' if passed['preprocess_over_mne_chain'] else 'FAIL'}")
    if nk_runs:
        print(f"NeuroKit2 / preprocess     = {ratios['neurokit_over_preprocess']:7.1f}  (target >= 50)  {'PASS' if passed['neurokit_over_preprocess'] else 'FAIL'}")
    print(f"peak memory / raw float64  = {ratios['peak_memory_over_raw']:7.2f}  (target < 2)    {'PASS' if passed['peak_memory_over_raw'] else 'FAIL'}"
          f"  [tracemalloc {ratios['peak_memory_over_raw_tracemalloc']:.2f}]")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
