"""The design stage: closed forms against R (pwr, retrodesign), the assumptions, the tables,
the crossed-design and sequential simulations against analytic values and direct Monte Carlo,
and the command line."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from opioidsocial.cli import main
from opioidsocial.config import SCHEMA_DIR, ConfigError, validate_config
from opioidsocial.design import crossed, power_sim, retrodesign, sample_size, sequential
from opioidsocial.design.analytic import n_for_power, t_power
from opioidsocial.design.analytic import retrodesign as closed_forms
from opioidsocial.design.assumptions import assumed_effects, ci_bound
from opioidsocial.emg.study import fit_record, fit_study, variance_components
from opioidsocial.io.contracts import (
    DESIGN_POWER_SIM,
    DESIGN_RETRODESIGN,
    DESIGN_SAMPLE_SIZE,
    DESIGN_SEQUENTIAL,
    DESIGN_SIM_CHUNK,
    EFFECTS,
    EMG_VARCOMP,
    FIT_RECORD,
    META_EFFECTS,
    META_POOLED,
    META_SMALL_STUDY,
    TRIAL_RESPONSES,
)
from opioidsocial.io.tables import read_tsv, write_json, write_table, write_tsv
from opioidsocial.meta.harmonise import from_model, harmonise
from opioidsocial.meta.pooled import pooled_table

FIX = Path(__file__).parent / "fixtures" / "design"
PATTERN = "^(?P<muscle>[A-Za-z_]+) to (?P<emotion>[A-Za-z_]+) faces$"
ZYG = "zygomaticus to happy faces"


# -- closed forms against R ----------------------------------------------------------

def test_power_equals_pwr_t_test():
    ref = pd.read_csv(FIX / "pwr_power.tsv", sep="\t")
    got = [t_power(r.d, r.n, design=r.design, alpha=r.alpha) for r in ref.itertuples()]
    np.testing.assert_allclose(got, ref["power"], rtol=0, atol=1e-6)
    assert set(ref["design"]) == {"between", "within"} and len(ref) == 168


def test_sample_size_equals_pwr_t_test():
    ref = pd.read_csv(FIX / "pwr_n.tsv", sep="\t")
    got = np.array([n_for_power(r.d, r.target_power, design=r.design, alpha=r.alpha) for r in ref.itertuples()])
    np.testing.assert_allclose(got, ref["n"], rtol=0, atol=1e-6)
    # pwr.t.test's own answer (uniroot at tolerance eps^0.25) is as close as its tolerance allows.
    np.testing.assert_allclose(got, ref["n_pwr"], rtol=0, atol=2e-3)
    assert n_for_power(0.0, 0.8, design="between", alpha=0.05) is None
    with pytest.raises(ValueError, match="between alpha"):
        n_for_power(0.5, 0.01, design="between", alpha=0.05)


def test_retrodesign_closed_forms_equal_r_and_gelman_carlin():
    ref = pd.read_csv(FIX / "retrodesign.tsv", sep="\t")
    power, type_s, type_m = closed_forms(ref["effect"], ref["se"], alpha=ref["alpha"].to_numpy())
    for got, column in ((power, "power"), (type_s, "type_s"), (type_m, "type_m")):
        np.testing.assert_allclose(got, ref[column], rtol=1e-9)
    # Gelman & Carlin (2014), the beauty-and-sex-ratio example and the 2-on-8.1 example: power and
    # type S as printed; their exaggeration ratios (77.8, 9.7) come from 10,000 simulations.
    for (effect, se), (p, s, m) in {(0.1, 3.28): (0.05, 0.46, 77.8), (2.0, 8.1): (0.06, 0.24, 9.7)}.items():
        pw, ts, tm = closed_forms(effect, se, alpha=0.05)
        assert (round(float(pw), 2), round(float(ts), 2)) == (p, s)
        assert float(tm) == pytest.approx(m, rel=0.03)
    # Sign does not matter; no effect: power alpha, type S 1/2, no type M.
    assert closed_forms(-0.3, 0.2, alpha=0.05)[2] == pytest.approx(closed_forms(0.3, 0.2, alpha=0.05)[2])
    pw, ts, tm = closed_forms(0.0, 0.2, alpha=0.05)
    assert (float(pw), float(ts)) == pytest.approx((0.05, 0.5)) and np.isnan(tm)


# -- the stage tables -------------------------------------------------------------------

def _effect(study, outcome, yi, vi, direction, group, *, n=20, design="between", drug="naltrexone"):
    return dict(study=study, outcome=outcome, contrast=f"{drug} - placebo", yi=yi, vi=vi, n1=n, n2=n if design == "between" else None,
                design=design, direction=direction, sample_group=group, measure="SMD" if design == "between" else "SMCC",
                modality="emg", drug=drug)


def _effects() -> pd.DataFrame:
    rows = [
        _effect("meier2016", ZYG, -0.45, 0.11, -1, "meier", n=18),
        _effect("korb2023", ZYG, -0.10, 0.045, -1, "korb", n=43),
        _effect("mor2022", ZYG, 0.30, 0.05, 1, "massaccesi", n=41, drug="morphine"),
        _effect("meier2016", "corrugator to happy faces", 0.02, 0.11, -1, "meier", n=18),
        _effect("korb2023", "corrugator to happy faces", -0.05, 0.045, -1, "korb", n=43),
        _effect("pain2020", "liking of social rewards", 0.35, 0.04, 1, "pain", n=30, design="within", drug="morphine"),
        _effect("pain2021", "liking of social rewards", 0.25, 0.05, 1, "pain2", n=24, design="within", drug="morphine"),
    ]
    raw = pd.DataFrame(rows).astype({"direction": "int8", "n2": "Int64"})
    return harmonise([from_model(raw[EFFECTS.columns], years={})], families=[], outcome_pattern=PATTERN)


def _pooled(effects) -> pd.DataFrame:
    return pooled_table(effects, methods=["REML", "DL"], tests=["knha", "z"], rho=0.5, min_k=2, level=0.95)


def _small_study(pooled: pd.DataFrame, *, adjusted: bool) -> pd.DataFrame:
    """A small_study.tsv as the bias analyses write it, with 3PSM and PET-PEESE rows or without."""
    rows = [{"family": ZYG, "model": "opioid_aligned", "analysis": "egger", "k": 3, "p": 0.4, "method": "REML", "test": "knha"}]
    if adjusted:
        rows += [{"family": ZYG, "model": "opioid_aligned", "analysis": "3PSM", "k": 3, "estimate": 0.12, "method": "REML"},
                 {"family": ZYG, "model": "opioid_aligned", "analysis": "pet-peese", "k": 3, "estimate": -0.02, "method": "REML"},
                 {"family": ZYG, "model": "opioid_aligned", "analysis": "pet-peese", "k": 3, "estimate": 0.5, "method": "DL"}]
    return pd.DataFrame(rows).reindex(columns=list(META_SMALL_STUDY.columns))


def _inputs(tmp_path, *, adjusted: bool) -> dict:
    effects = _effects()
    pooled = _pooled(effects)
    paths = {"effects": tmp_path / "effects.parquet", "pooled": tmp_path / "pooled.tsv", "small_study": tmp_path / "small_study.tsv"}
    write_table(effects, paths["effects"], META_EFFECTS)
    write_tsv(pooled, paths["pooled"], META_POOLED)
    write_tsv(_small_study(pooled, adjusted=adjusted), paths["small_study"], META_SMALL_STUDY)
    return {k: str(v) for k, v in paths.items()}


CFG = {"meta": {"methods": ["REML", "DL"], "tests": ["knha", "z"], "plot_dpi": 60},
       "design": {"alpha": 0.05, "power": [0.8, 0.9], "family": None, "seed": 5,
                  "simulation": {"participants_per_arm": [6], "stimuli_per_emotion": [3], "n_sims": 6, "chunks": 2},
                  "sequential": {"boundary": 6, "n_min": 10, "n_max": 40, "step": 10, "n_sims": 60}},
       "evidence": {"prior_scale": math.sqrt(2) / 2}}


def test_ci_bound_and_assumptions_with_and_without_bias_analyses(tmp_path):
    assert ci_bound(0.3, 0.1, 0.5) == 0.1 and ci_bound(-0.3, -0.5, -0.1) == -0.1 and ci_bound(0.3, -0.1, 0.7) == 0.0
    effects = _effects()
    pooled = _pooled(effects)
    primary = pooled[(pooled["method"] == "REML") & (pooled["test"] == "knha") & pooled["estimate"].notna()]
    without = assumed_effects(pooled, _small_study(pooled, adjusted=False), method="REML", test="knha")
    assert set(without["assumption"]) == {"pooled", "ci_bound"} and len(without) == 2 * len(primary)
    assert assumed_effects(pooled, None, method="REML", test="knha").equals(without)
    adjusted = assumed_effects(pooled, _small_study(pooled, adjusted=True), method="REML", test="knha")
    zyg = adjusted[(adjusted["family"] == ZYG) & (adjusted["model"] == "opioid_aligned")].set_index("assumption")["assumed_effect"]
    row = primary[(primary["family"] == ZYG) & (primary["model"] == "opioid_aligned")].iloc[0]
    assert list(zyg.index) == ["pooled", "ci_bound", "3PSM", "pet-peese"]
    assert zyg["pooled"] == row["estimate"] and zyg["3PSM"] == 0.12 and zyg["pet-peese"] == -0.02  # the primary estimator's row
    assert zyg["ci_bound"] == ci_bound(row["estimate"], row["ci_lb"], row["ci_ub"])


@pytest.mark.parametrize("adjusted", [False, True])
def test_retrodesign_and_sample_size_stages(tmp_path, adjusted):
    inputs = _inputs(tmp_path, adjusted=adjusted)
    outputs = {"retrodesign": tmp_path / "retrodesign.tsv", "sample_size": tmp_path / "sample_size.tsv", "power_curve": tmp_path / "curves"}
    retrodesign.run(inputs=inputs, outputs=outputs, cfg=CFG)
    sample_size.run(inputs=inputs, outputs=outputs, cfg=CFG)
    retro = read_tsv(outputs["retrodesign"], DESIGN_RETRODESIGN)
    zyg = retro[(retro["family"] == ZYG) & (retro["model"] == "opioid_aligned")]
    # Every study effect the model pools, under every assumption.
    assert sorted(set(zyg["study"])) == ["korb2023", "meier2016", "mor2022"]
    assert set(zyg["assumption"]) == ({"pooled", "ci_bound", "3PSM", "pet-peese"} if adjusted else {"pooled", "ci_bound"})
    meier = zyg[(zyg["study"] == "meier2016") & (zyg["assumption"] == "pooled")].iloc[0]
    power, type_s, type_m = map(float, closed_forms(meier["assumed_effect"], math.sqrt(0.11), alpha=0.05))
    assert (meier["se"], meier["power"], meier["type_s"], meier["type_m"]) == pytest.approx((math.sqrt(0.11), power, type_s, type_m))
    sizes = read_tsv(outputs["sample_size"], DESIGN_SAMPLE_SIZE)
    assert set(sizes["design"]) == {"between", "within"}
    assert set(sizes.loc[sizes["family"] == "liking of social rewards", "design"]) == {"within"}
    ok = sizes[sizes["n"].notna()]
    for r in ok.itertuples():
        assert r.achieved_power >= r.target_power > t_power(r.assumed_effect, r.n - 1, design=r.design, alpha=0.05)
        assert r.n == math.ceil(r.n_exact)
    zero = sizes[sizes["assumed_effect"] == 0]
    assert len(zero) and zero["n"].isna().all() and zero["note"].str.contains("assumed effect is 0").all()
    assert sorted(p.name for p in outputs["power_curve"].iterdir()) == [
        "corrugator_to_happy_faces.png", "corrugator_to_happy_faces.svg", "liking_of_social_rewards.png",
        "liking_of_social_rewards.svg", "zygomaticus_to_happy_faces.png", "zygomaticus_to_happy_faces.svg"]


# -- the crossed-design simulation -------------------------------------------------------

COMPONENTS = {"participant_cov": np.array([[0.8, 0.5], [0.5, 1.0]]), "stimulus_sd": 0.0, "residual_sd": 1.5}


@pytest.mark.parametrize("d", [0.4, 0.8, 1.2])
def test_two_arm_cell_means_match_analytic_power(d):
    """The simulator's participant cell means, compared by a t test, have the analytic power (99 % MC interval)."""
    rng = np.random.default_rng(11)
    per_arm, stimuli, reps, n_sims = 12, 3, 2, 1000
    cell_sd = math.sqrt(COMPONENTS["participant_cov"][1, 1] + COMPONENTS["residual_sd"] ** 2 / (stimuli * reps))
    hits = 0
    for _ in range(n_sims):
        data = crossed.simulate_study(rng, per_arm=per_arm, stimuli=stimuli, repetitions=reps, components=COMPONENTS,
                                      arms=("placebo", "drug"), emotions=("angry", "happy"), effect=d * cell_sd)
        cells = data[data["emotion"] == "happy"].groupby(["participant", "arm"], observed=True)["response"].mean().reset_index()
        hits += stats.ttest_ind(cells.loc[cells["arm"] == "drug", "response"], cells.loc[cells["arm"] == "placebo", "response"]).pvalue < 0.05
    expected = t_power(d, per_arm, design="between", alpha=0.05)
    se = math.sqrt(expected * (1 - expected) / n_sims)
    assert abs(hits / n_sims - expected) < 2.576 * se


def _template(tmp_path, rng) -> tuple[dict, dict]:
    """A template study fitted by the EMG study stage's own functions, written as that stage writes it."""
    data = crossed.simulate_study(rng, per_arm=8, stimuli=4, repetitions=2, components={**COMPONENTS, "stimulus_sd": 0.4},
                                  arms=("placebo", "naltrexone"), emotions=("angry", "happy"), effect=0.0, response="response_uv")
    trials = data.assign(study="tmpl", muscle="zygomaticus", trial=np.tile(np.arange(1, 17, dtype="int32"), 16),
                         arm=data["arm"].astype(str))
    row = {"study": "tmpl", "input": "trials", "design": "between", "reference": "placebo", "drug": "naltrexone"}
    cfg = {"formula": "response_uv ~ arm * emotion + (1 + emotion | participant) + (1 | stimulus)", "by": ["muscle"], "fallback": True,
           "reml": True, "contrast_within": ["emotion"], "response_unit": "microvolt", "adjust": "holm", "level": 0.95}
    models = fit_study(trials, study_row=row, cfg=cfg)
    paths = {"fit": tmp_path / "fit.json", "varcomp": tmp_path / "varcomp.tsv", "trials": tmp_path / "trials.parquet"}
    write_json(paths["fit"], fit_record(models, study_row=row, cfg=cfg, counts={}, window=None, skipped=[], stimulus="as in the formula"),
               schema=FIT_RECORD)
    write_tsv(variance_components(models), paths["varcomp"], EMG_VARCOMP)
    write_table(trials[TRIAL_RESPONSES.columns], paths["trials"], TRIAL_RESPONSES)
    return {k: str(v) for k, v in paths.items()}, row


def test_crossed_chunks_are_seeded_per_job_and_gathered(tmp_path):
    inputs = {**_inputs(tmp_path, adjusted=False)}
    files, row = _template(tmp_path, np.random.default_rng(3))
    inputs.update(files)
    written = []
    for chunk in (1, 0, 1):  # out of order and twice: the same bytes
        out = tmp_path / f"c{chunk}_{len(written)}.tsv"
        crossed.run(inputs=inputs, outputs={"chunk": str(out)}, cfg={**CFG, "design": {**CFG["design"], "family": ZYG}},
                    participants="6", stimuli="3", chunk=str(chunk), study_row=row)
        written.append(out)
    assert written[0].read_bytes() == written[2].read_bytes() != written[1].read_bytes()
    chunks = pd.concat([read_tsv(p, DESIGN_SIM_CHUNK) for p in written[:2]])
    assert (chunks["family"] == ZYG).all() and chunks["n_sims"].tolist() == [3, 3] and (chunks["effect"] > 0).all()
    table = power_sim.gather(chunks)
    r = table.iloc[0]
    fitted = r["n_sims"] - r["failed"] - r["singular"]
    assert r["n_sims"] == 6 and list(table.columns) == list(DESIGN_POWER_SIM.columns)
    if fitted:
        assert r["power_se"] == pytest.approx(math.sqrt(r["power"] * (1 - r["power"]) / fitted))
    # The template's variance components are the ones its fit reports.
    vc = read_tsv(files["varcomp"], EMG_VARCOMP)
    spec = crossed.template(inputs, study_row=row, family=ZYG, effects=_effects())
    residual = vc.loc[vc["group"] == "Residual", "sdcor"].iloc[0]
    assert spec["components"]["residual_sd"] == pytest.approx(residual) and spec["emotions"] == ("angry", "happy")
    assert spec["repetitions"] == 2 and spec["arms"] == ("placebo", "naltrexone")


def test_lmm_power_matches_analytic_for_the_balanced_cell_mean_design():
    """With a participant intercept as the only random effect, the planned contrast of the study
    model is the cell-mean t test: its power is the analytic one (99 % Monte Carlo interval)."""
    d, per_arm, stimuli, reps = 1.0, 10, 3, 2
    components = {**COMPONENTS, "participant_cov": np.ones((2, 2))}
    spec = {"formula": "response ~ arm * emotion + (1 | participant)", "response": "response", "components": components,
            "repetitions": reps, "arms": ("placebo", "drug"), "emotions": ("angry", "happy"),
            "cell_sd": math.sqrt(1.0 + 1.5**2 / (stimuli * reps))}
    n = 200
    counts = crossed.simulate_chunk(spec, per_arm=per_arm, stimuli=stimuli, n=n, d=d, alpha=0.05, seed=np.random.SeedSequence(4))
    fitted = n - counts["failed"] - counts["singular"]
    assert fitted >= 0.9 * n
    expected = t_power(d, per_arm, design="between", alpha=0.05)
    assert abs(counts["significant"] / fitted - expected) < 2.576 * math.sqrt(expected * (1 - expected) / fitted)


def test_no_template_and_no_family_say_why(tmp_path):
    grid = {"participants_per_arm": [20, 10], "stimuli_per_emotion": [4]}
    outputs = {"power_sim": tmp_path / "p.tsv", "surface_png": tmp_path / "s.png", "surface_svg": tmp_path / "s.svg"}
    power_sim.run(inputs={"chunks": []}, outputs=outputs, cfg={**CFG, "design": {**CFG["design"], "simulation": grid}},
                  skipped="no EMG study")
    table = read_tsv(outputs["power_sim"], DESIGN_POWER_SIM)
    assert table["participants_per_arm"].tolist() == [10, 20] and (table["n_sims"] == 0).all() and (table["note"] == "no EMG study").all()
    effects = _effects()
    family, d, note = crossed.simulation_family(_pooled(effects), effects, family="no such family", method="REML", test="knha")
    assert family is None and "no such family" in note
    assert crossed.simulation_family(_pooled(effects), effects, family=None, method="REML", test="knha")[0] == "corrugator to happy faces"


# -- the sequential design --------------------------------------------------------------

def _direct_sequential(rng, *, n_sims, boundary, n_min, n_max, step, rscale) -> np.ndarray:
    """The same stopping rule, one study at a time, from scipy's t test: outcome per study (0 H1, 1 H0, 2 neither)."""
    from opioidsocial.stats.evidence import log_ttest_bf

    out = np.full(n_sims, 2)
    for i in range(n_sims):
        a, b = rng.normal(size=n_max), rng.normal(size=n_max)
        for n in range(n_min, n_max + 1, step):
            bf = log_ttest_bf(t=float(stats.ttest_ind(b[:n], a[:n]).statistic), n1=n, n2=n, rscale=rscale)
            if abs(bf) >= math.log(boundary):
                out[i] = 0 if bf > 0 else 1
                break
    return out


def test_sequential_under_h0_matches_direct_monte_carlo():
    settings = {"boundary": 3.0, "n_min": 5, "n_max": 45, "step": 10}
    n = 600
    outcome, final = sequential.simulate(np.random.default_rng(1), effect=0.0, design="between", n_sims=n, rscale=0.7071, **settings)
    direct = _direct_sequential(np.random.default_rng(2), n_sims=n, rscale=0.7071, **settings)
    p, q = np.mean(outcome == 0), np.mean(direct == 0)
    assert 0 < q and abs(p - q) < 2.576 * math.sqrt(p * (1 - p) / n + q * (1 - q) / n)
    row = sequential.summarise(outcome, final)
    assert row["p_h1"] + row["p_h0"] + row["p_inconclusive"] == pytest.approx(1.0)
    assert set(np.unique(final)) <= {5, 15, 25, 35, 45} and row["n_q25"] <= row["n_median"] <= row["n_q75"]


def test_sequential_stage_and_its_config_check(tmp_path):
    inputs = _inputs(tmp_path, adjusted=False)
    outputs = {"sequential": tmp_path / "seq.tsv", "figure_png": tmp_path / "seq.png", "figure_svg": tmp_path / "seq.svg"}
    sequential.run(inputs=inputs, outputs=outputs, cfg=CFG)
    table = read_tsv(outputs["sequential"], DESIGN_SEQUENTIAL)
    assert table["hypothesis"].tolist() == ["H1", "H0"] and table["true_effect"].iloc[1] == 0
    total = table["p_h1"] + table["p_h0"] + table["p_inconclusive"]
    np.testing.assert_allclose(total, 1.0)
    first = outputs["sequential"].read_bytes()
    sequential.run(inputs=inputs, outputs=outputs, cfg=CFG)
    assert outputs["sequential"].read_bytes() == first
    with pytest.raises(ConfigError, match="n_min"):
        validate_config({"design": {"sequential": {"n_min": 50, "n_max": 40}}}, SCHEMA_DIR / "config.schema.yaml")


# -- the command line ---------------------------------------------------------------------

def test_cli_prints_the_tables(capsys):
    assert main(["design", "--effect", "0.5", "--se", "0.3", "--power", "0.8"]) == 0
    out = capsys.readouterr().out
    sizes = pd.read_csv(io.StringIO(out.split("# retrodesign\n")[0].split("# sample_size\n")[1]), sep="\t")
    assert list(sizes.columns) == list(DESIGN_SAMPLE_SIZE.columns)
    assert sizes["n"].iloc[0] == math.ceil(n_for_power(0.5, 0.8, design="between", alpha=0.05)) == 64
    assert "# retrodesign" in out and "# power_sim" not in out
    assert main(["design", "--effect", "0.5", "--power", "0.01"]) == 2
