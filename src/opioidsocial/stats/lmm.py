"""Linear mixed models fitted as lme4 fits them, with lmerTest-style inference.

``fit(formula, data, reml=True)`` takes an lme4 formula (``y ~ a * b + (1 + b | g) +
(1 | h)``, crossed or nested grouping factors; not ``||``, which the config check
:func:`opioidsocial.emg.settings.formula_problems` turns away) and
returns an :class:`LmmFit` with the fixed effects under lme4's readable names
(``armnaltrexone:emotionhappy``), their SEs, Satterthwaite df, t and p values, Wald
CIs, random-effect SDs and correlations, the residual SD and the REML criterion,
plus Type III F tests, estimated marginal means and arbitrary contrasts.

The fit itself is mixedlm's (a Rust implementation of lme4's penalised least
squares and profiled REML deviance; Bates, Maechler, Bolker & Walker 2015, J Stat
Softw 67(1)). It reproduces lme4 1.1-31 to the printed digits on sleepstudy and on
crossed and three-way factorial fits (tests/test_lmm.py, fixtures made by
tests/fixtures/lme4/make_fixtures.R). What mixedlm 1.3.0 does differently from
lmerTest, and is therefore done here instead:

* coefficient names: mixedlm writes ``arm.1`` for the second level of ``arm``; they
  are renamed to lme4's ``armnaltrexone``;
* Type III tests: mixedlm tests each treatment-coded coefficient with the mean of
  their df; here each term gets the SAS/lmerTest Type III hypothesis
  (:mod:`opioidsocial.stats.refgrid`) with the Satterthwaite F df of Fai & Cornelius
  (1996) (:mod:`opioidsocial.stats.satterthwaite`);
* marginal means and contrasts: mixedlm's ``emmeans`` uses the residual df n - p for
  every mean; here each mean and contrast gets its own Satterthwaite df, as
  emmeans with ``lmer.df = "satterthwaite"`` gives.

The Satterthwaite df of any contrast need the derivatives of ``vcov(beta)`` with
respect to the covariance parameters and their asymptotic covariance; they are
taken from mixedlm's ``inference.ddf._vcov_derivatives``, the function its own
per-coefficient ``satterthwaite_df`` uses. It is not public API, so mixedlm is
pinned below its next minor version and tests/test_lmm.py checks every df against
lmerTest.

Factors are the string, categorical and boolean columns; their levels are the
categories of a pandas Categorical (so the reference level can be chosen) or the
sorted values, as R's ``factor()`` sorts them. Grouping factors are read as labels.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property

import mixedlm
import numpy as np
import pandas as pd
from mixedlm.formula.terms import InteractionTerm, VariableTerm
from mixedlm.inference.ddf import _vcov_derivatives
from mixedlm.models.checks import ModelCheckError

from opioidsocial.errors import DataError
from opioidsocial.stats import refgrid
from opioidsocial.stats.satterthwaite import VarianceGradient, f_test, t_tests


class LmmError(DataError):
    """A data set (or formula) a study's mixed model cannot be fitted to; the message says why.

    The model stage turns it into a config error where the formula is at fault
    (``emg.study.EmgModelError``)."""

    level = "study"


@dataclass(frozen=True)
class LmmFit:
    """A fitted linear mixed model with lmerTest-style inference."""

    formula: str
    reml: bool
    fixef: pd.Series
    vcov: pd.DataFrame
    sd_re: pd.Series
    corr_re: pd.Series
    grouping: dict[str, str]  # VarCorr group label (participant, participant.1) -> grouping factor
    sigma: float
    reml_criterion: float | None
    deviance: float
    converged: bool
    singular: bool
    messages: tuple[str, ...]
    n_obs: int
    n_groups: dict[str, int]
    levels: dict[str, list]
    numeric_means: dict[str, float]
    coefficients: tuple[refgrid.Coefficient, ...] = field(repr=False)
    gradient: VarianceGradient = field(repr=False)

    @property
    def se(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.vcov.to_numpy())), index=self.fixef.index, name="se")

    @cached_property
    def df(self) -> pd.Series:
        """Satterthwaite df of each coefficient."""
        return pd.Series(self._tests(np.eye(len(self.fixef)))["df"], index=self.fixef.index, name="df")

    @property
    def t(self) -> pd.Series:
        return (self.fixef / self.se).rename("t")

    @property
    def p(self) -> pd.Series:
        return pd.Series(self.coef_table()["p"].to_numpy(), index=self.fixef.index, name="p")

    def coef_table(self, level: float = 0.95) -> pd.DataFrame:
        """term, estimate, se, df, t, p, ci_low, ci_high (Wald CIs with Satterthwaite df)."""
        table = pd.DataFrame(self._tests(np.eye(len(self.fixef)), level=level))
        table.insert(0, "term", self.fixef.index)
        return table

    def contrast(self, L: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
        """t tests of the rows of ``L`` (columns named as ``fixef``), indexed like ``L``."""
        missing = sorted(set(self.fixef.index) - set(L.columns))
        if missing or set(L.columns) - set(self.fixef.index):
            raise LmmError(f"contrast columns must be the fixed effects {list(self.fixef.index)}; got {list(L.columns)}")
        return pd.DataFrame(self._tests(L[self.fixef.index].to_numpy(), level=level), index=L.index)

    def anova(self) -> pd.DataFrame:
        """Type III F tests of each fixed term with Satterthwaite df (lmerTest's ``anova``)."""
        rows = []
        for term in self.terms:
            L = refgrid.type3_rows(self.coefficients, levels=self._fixed_levels, term=term)
            rows.append({"term": ":".join(term), **f_test(L, beta=self.fixef.to_numpy(), grad=self.gradient)})
        return pd.DataFrame(rows, columns=["term", "num_df", "den_df", "f", "p"])

    def emmeans(self, specs: list[str], level: float = 0.95) -> pd.DataFrame:
        """Estimated marginal means of the cells of the factors ``specs``, with Satterthwaite df."""
        cells, L = self.marginal_rows(specs)
        tests = self._tests(L.to_numpy(), level=level)
        out = cells.copy()
        for key in ("estimate", "se", "df", "ci_low", "ci_high"):
            out["emmean" if key == "estimate" else key] = tests[key]
        return out

    def marginal_rows(self, specs: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The cells of ``specs`` and the rows over ``fixef`` that give their marginal means."""
        unknown = [s for s in specs if s not in self._fixed_levels]
        if unknown:
            raise LmmError(f"marginal means: {unknown} are not factors of the fixed part of '{self.formula}' (factors: {list(self._fixed_levels)})")
        cells, L = refgrid.marginal_rows(self.coefficients, levels=self._fixed_levels, numeric=self.numeric_means, specs=specs)
        return cells, pd.DataFrame(L, columns=self.fixef.index)

    @cached_property
    def terms(self) -> list[tuple[str, ...]]:
        """The fixed terms (variable tuples) in lme4's order: by degree, then by formula order."""
        seen: dict[tuple[str, ...], None] = {}
        for parts in self.coefficients:
            if parts:
                seen[tuple(v for v, _ in parts)] = None
        return sorted(seen, key=len)

    @cached_property
    def _fixed_levels(self) -> dict[str, list]:
        used = {v for parts in self.coefficients for v, level in parts if level is not None}
        return {name: lv for name, lv in self.levels.items() if name in used}

    def _tests(self, L: np.ndarray, level: float = 0.95) -> dict[str, np.ndarray]:
        return t_tests(L, beta=self.fixef.to_numpy(), grad=self.gradient, level=level)


def parse(formula: str):
    """mixedlm's parse of an lme4 formula; a syntax error becomes an LmmError."""
    try:
        return mixedlm.parse_formula(formula)
    except ValueError as err:
        raise LmmError(f"formula '{formula}' is not a valid lme4 formula: {err}") from err


def fit(formula: str, data: pd.DataFrame, reml: bool = True) -> LmmFit:
    """Fit ``formula`` to ``data`` by REML (or ML); raise LmmError on bad input."""
    parsed = parse(formula)
    frame, levels = _model_frame(parsed, data, formula)
    control = mixedlm.lmerControl(check_rankX="stop")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = mixedlm.lmer(formula, frame, REML=reml, control=control)
        except ModelCheckError as err:
            raise LmmError(f"'{formula}': {err}. {_empty_cells(parsed, frame, levels)}") from err
        check = mixedlm.checkConv(result)
    messages = tuple(dict.fromkeys([str(w.message) for w in caught] + list(check.messages)))
    return _result(formula=formula, reml=reml, result=result, levels=levels, frame=frame,
                   converged=bool(check.converged), messages=messages)


def _model_frame(parsed, data: pd.DataFrame, formula: str) -> tuple[pd.DataFrame, dict[str, list]]:
    """The columns the formula uses, checked and typed; the factors' levels."""
    needed = sorted(parsed.all_variables)
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise LmmError(f"formula '{formula}' uses column(s) {missing} that the data do not have; columns are {list(data.columns)}")
    frame = data[needed].copy()
    empty = [c for c in needed if frame[c].isna().any()]
    if empty:
        raise LmmError(f"formula '{formula}': column(s) {empty} have missing values; drop or fill those rows first")
    if not pd.api.types.is_numeric_dtype(frame[parsed.response]) or pd.api.types.is_bool_dtype(frame[parsed.response]):
        raise LmmError(f"formula '{formula}': the response '{parsed.response}' must be numeric, not {frame[parsed.response].dtype}")
    terms = _ordered_variables(parsed)
    # A variable only used to group (participant, stimulus) is a label; one also used as
    # a fixed effect or slope (muscle in stimulus:muscle) stays a factor.
    groups = set(parsed.grouping_factors) - set(terms)
    levels = {}
    for name in terms:
        column = frame[name]
        if name == parsed.response:
            continue
        if isinstance(column.dtype, pd.CategoricalDtype):
            present = set(column.unique())
            categories = [c for c in column.cat.categories if c in present]
        elif not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            categories = sorted(column.unique())
        else:
            continue
        if len(categories) < 2:
            raise LmmError(f"formula '{formula}': factor '{name}' has a single level {categories}; a factor needs two or more")
        frame[name] = pd.Categorical(column, categories=categories)
        levels[name] = categories
    for name in groups:
        frame[name] = frame[name].astype(str)
    return frame, levels


def _ordered_variables(parsed) -> list[str]:
    """Variables in formula order (fixed part first), so grids and levels read like the formula."""
    seen: dict[str, None] = {}
    for term in parsed.fixed.terms:
        for name in _term_variables(term):
            seen[name] = None
    for rterm in parsed.random:
        for term in rterm.expr:
            for name in _term_variables(term):
                seen[name] = None
    return list(seen)


def _term_variables(term) -> tuple[str, ...]:
    if isinstance(term, VariableTerm):
        return (term.name,)
    if isinstance(term, InteractionTerm):
        return tuple(term.variables)
    raise LmmError(f"term {term} is not supported: use factors, numeric covariates and their interactions")


def _empty_cells(parsed, frame: pd.DataFrame, levels: dict[str, list]) -> str:
    factors = [v for v in _ordered_variables(parsed) if v in levels and v in parsed.fixed_variables]
    if len(factors) < 2:
        return "Two fixed effects are collinear; remove one."
    counts = frame.groupby(factors, observed=False).size()
    empty = [" x ".join(map(str, cell)) for cell, n in counts.items() if n == 0]
    if empty:
        return f"The fixed effects cannot all be estimated because these cells have no data: {empty}."
    return "Two fixed effects are collinear; remove one."


def _result(*, formula: str, reml: bool, result, levels: dict[str, list], frame: pd.DataFrame, converged: bool, messages: tuple[str, ...]) -> LmmFit:
    tokens = {f"{name}.{j}": (name, level) for name, lv in levels.items() for j, level in enumerate(lv) if j}
    raw = list(result.matrices.fixed_names)
    coefficients = [_parts(name, tokens) for name in raw]
    order = sorted(range(len(raw)), key=lambda i: len(coefficients[i]))
    names = [_readable(coefficients[i]) for i in order]
    beta = np.asarray(result.beta, dtype=float)[order]
    vcov = np.asarray(result.vcov(), dtype=float)[np.ix_(order, order)]
    gradients, theta_cov = _vcov_derivatives(result)
    gradient = VarianceGradient(
        vcov=vcov,
        gradients=np.array([g[np.ix_(order, order)] for g in gradients]).reshape(len(gradients), len(order), len(order)),
        theta_cov=np.asarray(theta_cov, dtype=float),
        residual_df=float(result.matrices.n_obs - len(raw)),
    )
    sd, corr = _random_effects(result, tokens)
    grouping = {group: block.grouping_factor for group, block in result.VarCorr().groups.items()}
    numeric = [v for parts in coefficients for v, level in parts if level is None]
    return LmmFit(
        formula=formula,
        reml=reml,
        fixef=pd.Series(beta, index=names, name="estimate"),
        vcov=pd.DataFrame(vcov, index=names, columns=names),
        sd_re=sd,
        corr_re=corr,
        grouping=grouping,
        sigma=float(result.sigma),
        reml_criterion=float(result.REMLcrit()) if reml else None,
        deviance=float(result.deviance),
        converged=converged,
        singular=bool(result.isSingular()),
        messages=messages,
        n_obs=int(result.matrices.n_obs),
        n_groups={k: int(v) for k, v in result.ngrps().items()},
        levels=levels,
        numeric_means={v: float(frame[v].mean()) for v in numeric},
        coefficients=tuple(coefficients[i] for i in order),
        gradient=gradient,
    )


def _parts(name: str, tokens: dict[str, tuple[str, object]]) -> refgrid.Coefficient:
    if name == "(Intercept)":
        return ()
    return tuple(tokens.get(token, (token, None)) for token in name.split(":"))


def _readable(parts: refgrid.Coefficient) -> str:
    return ":".join(f"{v}{level}" if level is not None else v for v, level in parts) or "(Intercept)"


def _readable_term(name: str, tokens: dict[str, tuple[str, object]]) -> str:
    return name if name == "(Intercept)" else _readable(_parts(name, tokens))


def _random_effects(result, tokens) -> tuple[pd.Series, pd.Series]:
    """SDs by (group, term) and correlations by (group, term1, term2), lme4's VarCorr order."""
    sd, corr = {}, {}
    for group, block in result.VarCorr().groups.items():
        terms = [_readable_term(t, tokens) for t in block.term_names]
        for t, raw in zip(terms, block.term_names):
            sd[(group, t)] = float(block.stddev[raw])
        for i, j in zip(*np.triu_indices(len(terms), k=1)):
            corr[(group, terms[i], terms[j])] = float(block.corr[i, j])
    sd_index = pd.MultiIndex.from_tuples(list(sd), names=["group", "term"])
    corr_index = pd.MultiIndex.from_tuples(list(corr), names=["group", "term1", "term2"])
    return pd.Series(list(sd.values()), index=sd_index, name="sd", dtype=float), pd.Series(list(corr.values()), index=corr_index, name="corr", dtype=float)

