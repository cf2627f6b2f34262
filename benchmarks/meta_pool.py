"""Benchmark: the meta-analysis fits against R's metafor/clubSandwich and statsmodels.

Three fits, each timed in the same run against the tool a user would otherwise use:

1. random-effects model on dat.bcg (k = 13), REML, with Knapp-Hartung test,
   prediction interval and Q-profile CI of tau^2: ``opioidsocial.meta.pool`` vs
   metafor's ``rma(..., test = "knha")`` + ``predict`` + ``confint``, and vs
   statsmodels' ``combine_effects`` (which has no REML, no Knapp-Hartung CI of this
   kind and no tau^2 CI, so it gets the closest it offers: Paule-Mandel iterated);
2. multilevel model with CR2 inference on the simulated sample-group data of the
   fixtures (k = 30): ``pool_multilevel`` vs ``rma.mv`` + ``robust(clubSandwich = TRUE)``;
3. the same with a three-level moderator and the HTZ test (``Wald_test``).

Each tool runs its fits in a loop inside one process after an untimed warm-up, so
interpreter start-up and imports are excluded; the figure is the median time per
fit over ``--repeats`` loops of ``--n`` fits. R is timed inside R
(``proc.time``). The machine may be shared: ratios from one run are what count.

    python benchmarks/meta_pool.py            # about a minute

Writes benchmarks/results/meta_pool.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from opioidsocial.meta.multilevel import pool_multilevel
from opioidsocial.meta.random_effects import pool

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "metafor"

R_CODE = r"""
suppressMessages({library(metafor); library(clubSandwich)})
args <- commandArgs(TRUE); n <- as.integer(args[1]); repeats <- as.integer(args[2]); fix <- args[3]
bcg <- read.delim(file.path(fix, "dat_bcg.tsv")); ml <- read.delim(file.path(fix, "multilevel_data.tsv"))
uni <- function() { f <- rma(yi, vi, data = bcg, test = "knha"); predict(f); confint(f) }
mv <- function() { f <- rma.mv(yi, vi, random = ~ 1 | sample_group/study/effect, data = ml); robust(f, cluster = ml$sample_group, clubSandwich = TRUE) }
mvmods <- function() {
  f <- rma.mv(yi, vi, mods = ~ direction + muscle, random = ~ 1 | sample_group/study/effect, data = ml)
  robust(f, cluster = ml$sample_group, clubSandwich = TRUE)
  Wald_test(f, constraints = constrain_zero(2:4), vcov = vcovCR(f, cluster = ml$sample_group, type = "CR2"), test = "HTZ")
}
time_it <- function(fun) { fun(); sapply(seq_len(repeats), function(i) { t0 <- proc.time()[["elapsed"]]; for (j in seq_len(n)) fun(); (proc.time()[["elapsed"]] - t0) / n }) }
out <- list(uni = time_it(uni), mv = time_it(mv), mvmods = time_it(mvmods), metafor = as.character(packageVersion("metafor")),
            clubSandwich = as.character(packageVersion("clubSandwich")), R = R.version.string)
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def _time(fun, *, n: int, repeats: int) -> list[float]:
    fun()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fun()
        out.append((time.perf_counter() - start) / n)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20, help="fits per timed loop (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=5, help="timed loops per tool (default %(default)s)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "meta_pool.json"))
    args = parser.parse_args()

    bcg = pd.read_csv(FIX / "dat_bcg.tsv", sep="\t")
    ml = pd.read_csv(FIX / "multilevel_data.tsv", sep="\t")
    mods = pd.get_dummies(ml["muscle"], drop_first=True, dtype=float)
    mods.insert(0, "direction", ml["direction"])

    from statsmodels.stats.meta_analysis import combine_effects

    def statsmodels_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return combine_effects(bcg["yi"].to_numpy(), bcg["vi"].to_numpy(), method_re="iterated").summary_frame()

    py = {
        "uni": _time(lambda: pool(bcg["yi"], bcg["vi"], test="knha"), n=args.n, repeats=args.repeats),
        "uni_statsmodels": _time(statsmodels_fit, n=args.n, repeats=args.repeats),
        "mv": _time(lambda: pool_multilevel(ml["yi"], ml["vi"], ml["study"], ml["sample_group"]), n=args.n, repeats=args.repeats),
        "mvmods": _time(lambda: pool_multilevel(ml["yi"], ml["vi"], ml["study"], ml["sample_group"], mods=mods), n=args.n, repeats=args.repeats),
    }
    r_run = subprocess.run(["Rscript", "-e", R_CODE, str(args.n), str(args.repeats), str(FIX)], capture_output=True, text=True, check=True)
    r = json.loads(r_run.stdout)

    med = {k: statistics.median(v) for k, v in py.items()}
    rmed = {k: statistics.median(r[k]) for k in ("uni", "mv", "mvmods")}
    result = {
        "what": "median seconds per fit; ratio = ours / alternative (below 1: ours is faster)",
        "fits": {
            "random_effects_reml_knha_pi_qpci": {"opioidsocial": med["uni"], "metafor": rmed["uni"], "ratio_vs_metafor": med["uni"] / rmed["uni"],
                                                 "statsmodels_combine_effects": med["uni_statsmodels"],
                                                 "ratio_vs_statsmodels": med["uni"] / med["uni_statsmodels"]},
            "multilevel_cr2": {"opioidsocial": med["mv"], "metafor_clubSandwich": rmed["mv"], "ratio": med["mv"] / rmed["mv"]},
            "multilevel_cr2_mods_htz": {"opioidsocial": med["mvmods"], "metafor_clubSandwich": rmed["mvmods"], "ratio": med["mvmods"] / rmed["mvmods"]},
        },
        "settings": {"n": args.n, "repeats": args.repeats},
        "versions": {"python": platform.python_version(), "pimeta": version("pimeta"), "statsmodels": version("statsmodels"),
                     "numpy": version("numpy"), "R": r["R"], "metafor": r["metafor"], "clubSandwich": r["clubSandwich"]},
        "machine": {"cpus": os.cpu_count(), "load_average_1min": os.getloadavg()[0]},
    }
    for name, fit in result["fits"].items():
        print(name, json.dumps({k: (round(v, 5) if isinstance(v, float) else v) for k, v in fit.items()}))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
