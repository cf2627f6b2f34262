"""``opioidsocial design``: the design tables for numbers given on the command line.

No workflow run needed: an effect (Cohen's d, or d_z for a within design), optionally
the standard errors of past estimates, the variance components of a crossed EMG design
or a sequential design, and the same tables the ``design`` stage writes are printed
(TSV), with ``family`` and ``model`` set to ``given``:

    opioidsocial design --effect 0.4                                # sample_size
    opioidsocial design --effect 0.4 --se 0.35 0.5                  # + retrodesign
    opioidsocial design --effect 0.4 --residual-sd 2 --participant-sd 1 --stimulus-sd 0.3 \\
        --participants 20 40 --stimuli 4 --sims 400                 # + power_sim
    opioidsocial design --effect 0.4 --sequential 6 20 200 20       # + sequential
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd

from opioidsocial.design.analytic import DESIGNS, retrodesign
from opioidsocial.design.crossed import chunk_seed, simulate_chunk
from opioidsocial.design.power_sim import gather
from opioidsocial.design.sample_size import sample_size_table
from opioidsocial.design.sequential import simulate, summarise
from opioidsocial.io.contracts import DESIGN_RETRODESIGN, DESIGN_SEQUENTIAL

GIVEN = "given"


def formula(args: argparse.Namespace) -> str:
    """The EMG study model (models.formula's default, one muscle) without the random terms given as 0,
    which would only make every fit singular."""
    terms = ["response ~ arm * emotion", "(1 + emotion | participant)" if args.slope_sd else "(1 | participant)"]
    return " + ".join(terms + (["(1 | stimulus)"] if args.stimulus_sd else []))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--effect", type=float, required=True, help="assumed true effect, standardised (d; d_z within)")
    parser.add_argument("--design", choices=sorted(DESIGNS), default="between", help="t-test design (default: %(default)s)")
    parser.add_argument("--alpha", type=float, default=0.05, help="two-sided level (default: %(default)s)")
    parser.add_argument("--power", type=float, nargs="+", default=[0.8, 0.9, 0.95], help="target powers (default: %(default)s)")
    parser.add_argument("--se", type=float, nargs="+", help="standard errors of past estimates: their power, type S and M")
    sim = parser.add_argument_group("crossed EMG design (simulated with the study model)")
    sim.add_argument("--residual-sd", type=float, help="trial-level residual SD (response units); turns the simulation on")
    sim.add_argument("--participant-sd", type=float, default=0.0, help="participant random-intercept SD")
    sim.add_argument("--slope-sd", type=float, default=0.0, help="participant random emotion-slope SD")
    sim.add_argument("--stimulus-sd", type=float, default=0.0, help="stimulus random-intercept SD")
    sim.add_argument("--trials", type=int, default=2, help="trials per stimulus and participant (default: %(default)s)")
    sim.add_argument("--participants", type=int, nargs="+", default=[20, 40], help="participants per arm (default: %(default)s)")
    sim.add_argument("--stimuli", type=int, nargs="+", default=[4], help="stimuli per emotion (default: %(default)s)")
    sim.add_argument("--sims", type=int, default=400, help="simulated studies per point (default: %(default)s)")
    sim.add_argument("--seed", type=int, default=20261205, help="seed (default: %(default)s)")
    parser.add_argument("--sequential", type=int, nargs=4, metavar=("BOUNDARY", "N_MIN", "N_MAX", "STEP"),
                        help="sequential Bayes-factor design, simulated under the effect and under 0")
    parser.add_argument("--prior-scale", type=float, default=math.sqrt(2) / 2, help="JZS prior scale (default: sqrt(2)/2)")


def retrodesign_rows(effect: float, ses: list[float], *, alpha: float) -> pd.DataFrame:
    power, type_s, type_m = retrodesign(effect, np.asarray(ses), alpha=alpha)
    return pd.DataFrame({"family": GIVEN, "model": GIVEN, "study": GIVEN, "contrast": GIVEN, "outcome": GIVEN, "se": ses,
                         "assumed_effect": effect, "assumption": GIVEN, "power": power, "type_s": type_s, "type_m": type_m},
                        columns=list(DESIGN_RETRODESIGN.columns))


def power_sim_rows(args: argparse.Namespace) -> pd.DataFrame:
    cov = np.array([[args.participant_sd**2, args.participant_sd**2], [args.participant_sd**2, args.participant_sd**2 + args.slope_sd**2]])
    components = {"participant_cov": cov, "stimulus_sd": args.stimulus_sd, "residual_sd": args.residual_sd}
    rows = []
    for per_arm in args.participants:
        for stimuli in args.stimuli:
            # The effect is a d on participant cell means of the simulated design itself.
            spec = {"formula": formula(args), "response": "response", "components": components, "repetitions": args.trials,
                    "arms": ("reference", "drug"), "emotions": ("other", "target"),
                    "cell_sd": math.sqrt(cov[1, 1] + args.residual_sd**2 / (stimuli * args.trials))}
            counts = simulate_chunk(spec, per_arm=per_arm, stimuli=stimuli, n=args.sims, d=args.effect, alpha=args.alpha,
                                    seed=chunk_seed(args.seed, per_arm, stimuli, 0))
            rows.append({"family": GIVEN, "participants_per_arm": per_arm, "stimuli": stimuli, "chunk": 0, "n_sims": args.sims,
                         **{k: counts[k] for k in ("significant", "failed", "singular", "effect")}, "note": ""})
    return gather(pd.DataFrame(rows))


def sequential_rows(args: argparse.Namespace) -> pd.DataFrame:
    boundary, n_min, n_max, step = args.sequential
    settings = {"boundary": boundary, "n_min": n_min, "n_max": n_max, "step": step}
    rows = []
    for k, (hypothesis, effect) in enumerate((("H1", abs(args.effect)), ("H0", 0.0))):
        outcome, final = simulate(np.random.default_rng(np.random.SeedSequence([args.seed, k])), effect=effect, design=args.design,
                                  n_sims=args.sims, rscale=args.prior_scale, **settings)
        rows.append({"family": GIVEN, "design": args.design, "hypothesis": hypothesis, "true_effect": effect, **settings,
                     "n_sims": args.sims, **summarise(outcome, final), "note": ""})
    return pd.DataFrame(rows, columns=list(DESIGN_SEQUENTIAL.columns))


def answer(args: argparse.Namespace) -> str:
    """The tables the arguments ask for, as titled TSV blocks."""
    assumed = pd.DataFrame([{"family": GIVEN, "model": GIVEN, "assumption": GIVEN, "assumed_effect": args.effect}])
    blocks = {"sample_size": sample_size_table(assumed, {(GIVEN, GIVEN): [args.design]}, targets=args.power, alpha=args.alpha)}
    if args.se:
        blocks["retrodesign"] = retrodesign_rows(args.effect, args.se, alpha=args.alpha)
    if args.residual_sd is not None:
        blocks["power_sim"] = power_sim_rows(args)
    if args.sequential:
        blocks["sequential"] = sequential_rows(args)
    return "\n".join(f"# {name}\n{table.to_csv(sep=chr(9), index=False, float_format='%.6g')}" for name, table in blocks.items())
