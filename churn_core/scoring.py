"""Scoring customers with the champion: calibrated probabilities, risk tiers, priority, reasons, actions.

Two layers, so that changing a business assumption never needs the model again:

* :func:`score_dataset` / :func:`score_customers` run the model once: the calibrated churn
  probability of every customer and the reasons of every active one. A stored dataset's
  scores are kept in DuckDB per model run, so two runs' scores can be compared.
* :func:`apply_policy` turns those into the risk list: tier and due time, value, priority
  (probability x value x retention likelihood / contact cost) and the playbook action.

Who is scored, and by which fit (``scored_by``):

* On the data the champion run was trained on, every customer is scored by a fit that never saw
  them: a training-split customer by the cross-validation fold fit that left them out (``oof``),
  a holdout customer by the final fit (``holdout``). Any other data is scored by the final fit
  (``final``). Runs trained before fold fits were kept can only score their own data in sample
  (``in_sample``), and say so.
* Where the file has a target, customers whose target says churned have ``status`` ``churned``:
  they keep their out-of-sample probability (so anyone can check the scores against the labels)
  but get no tier, priority, reasons or action, and are left out of the call list and its KPIs.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import Dataset
from .errors import NotFoundError, ParameterError, SchemaError
from .i18n import check_language, has_key, text
from .roles import ColumnRoles, flag_codes
from .store import REASON_COLUMNS, SCORE_COLUMNS, Store

logger = logging.getLogger(__name__)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters a spreadsheet shows two columns wide (CJK, Hangul, full-width forms).
_WIDE = re.compile(r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]")
STORED_REASONS = 3


# -- policy: tiers, value, priority and the playbook ----------------------------------------------------

@dataclass(frozen=True)
class RiskTier:
    """Customers whose probability is at least ``lower`` (and below the next tier up) are in this tier."""

    key: str
    lower: float
    due_hours: int | None  # contact within this many hours; None: no contact is due
    channel: str  # personal, automated, monitor or none


DEFAULT_TIERS: tuple[RiskTier, ...] = (
    RiskTier("critical", 0.8, 24, "personal"),
    RiskTier("high", 0.6, 72, "personal"),
    RiskTier("medium", 0.4, 168, "automated"),
    RiskTier("watch", 0.2, None, "monitor"),
    RiskTier("low", 0.0, None, "none"),
)
CHANNELS = ("personal", "automated", "monitor", "none")
CHURNED = "churned"  # the tier (and status) of a customer the data says already left


@dataclass(frozen=True, kw_only=True)
class PlaybookRule:
    """An action for customers whose reasons include ``ref`` pushing their risk up.

    ``ref`` is a column name or a role reference: ``@service_calls``, ``@tenure``,
    ``@flag:<regex>`` (a plan flag) or ``@column:<regex>`` (numeric columns and derived
    features whose name matches). ``flag`` ("yes"/"no") requires the customer to have or lack
    the plan; ``min_quantile`` / ``max_quantile`` require the customer's value to be at least /
    at most that quantile of the population (high day charges, a new customer).
    """

    key: str
    ref: str
    en: str = ""  # the action in words; empty: the catalog's action.<key> (churn_core.i18n)
    zh: str = ""
    flag: str | None = None
    min_quantile: float | None = None
    max_quantile: float | None = None


DEFAULT_PLAYBOOK: tuple[PlaybookRule, ...] = (
    PlaybookRule(key="senior_agent", ref="@service_calls"),
    PlaybookRule(key="plan_review", ref="@flag:international|intl", flag="yes"),
    PlaybookRule(key="tailored_bundle", ref="@column:day.*(charge|min)|^total_charge$|charge_per_minute",
                 min_quantile=0.5),
    PlaybookRule(key="onboarding_call", ref="@tenure", max_quantile=0.25),
    PlaybookRule(key="feature_activation", ref="@flag:voice|vmail", flag="no"),
)
# When no playbook rule matches, the tier's channel decides: channel -> action key (worded as action.<key>).
FALLBACK_ACTIONS: dict[str, str] = {"personal": "retention_call", "automated": "automated_care",
                                    "monitor": "monitor", "none": "none"}


@dataclass(frozen=True, kw_only=True)
class RiskPolicy:
    """The business assumptions behind the risk list. Every factor can be changed."""

    tiers: tuple[RiskTier, ...] = DEFAULT_TIERS
    retention_likelihood: float = 0.3  # share of contacted churners who stay
    contact_cost: float = 5.0  # cost of one contact, in the value's currency
    # The value of every customer when the dataset has no value column, as the analyst entered it. None (the
    # default) invents nothing: values stay missing and the priority ranks by probability alone.
    ltv: float | None = None
    playbook: tuple[PlaybookRule, ...] = DEFAULT_PLAYBOOK
    value_top_share: float = 0.2  # value bands: the top and bottom shares of customers by value
    # The retention likelihood a finished campaign measured, per action key (cc.measured_likelihoods): a
    # customer whose action is listed is prioritised with it, everyone else with ``retention_likelihood``.
    likelihoods: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        lowers = [t.lower for t in self.tiers]
        ordered = lowers == sorted(lowers, reverse=True) and len(set(lowers)) == len(lowers)
        if not self.tiers or not ordered or lowers[-1] != 0:
            raise ParameterError("The risk tiers must be ordered from the highest lower bound down to a last tier "
                                 f"starting at 0, with distinct bounds. Got {lowers} instead.",
                                 code="bad_parameter", name="tiers", value=lowers)
        if len({t.key for t in self.tiers}) != len(self.tiers) or any(t.channel not in CHANNELS for t in self.tiers):
            raise ParameterError(f"Each tier needs its own key and a channel from {list(CHANNELS)}. Got "
                                 f"{[(t.key, t.channel) for t in self.tiers]} instead.", code="bad_parameter",
                                 name="tiers", value=[t.key for t in self.tiers])
        checks = (("retention_likelihood", self.retention_likelihood, 0, 1),
                  ("contact_cost", self.contact_cost, 0, None),
                  *((("ltv", self.ltv, 0, None),) if self.ltv is not None else ()),
                  ("value_top_share", self.value_top_share, 0, 0.5))
        for name, value, low, high in checks:
            bad = not isinstance(value, (int, float)) or not math.isfinite(value) or value <= low or (
                high is not None and value > high)
            if bad:
                bound = f"in ({low}, {high}]" if high is not None else f"greater than {low}"
                raise ParameterError(f"The '{name}' parameter of RiskPolicy must be {bound}. Got {value!r} instead.",
                                     code="bad_parameter", name=name, value=value)
        for pair in self.likelihoods:
            ok = isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)
            value = pair[1] if ok else None
            if not ok or isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ParameterError("Each measured likelihood of RiskPolicy must be an (action key, likelihood) pair "
                                     f"with the likelihood in [0, 1], e.g. ('retention_call', 0.35). Got {pair!r} "
                                     "instead.", code="bad_parameter", name="likelihoods", value=repr(pair))

    def tier(self, key: str) -> RiskTier:
        for tier in self.tiers:
            if tier.key == key:
                return tier
        raise ParameterError(f"There is no risk tier '{key}'. The tiers are {[t.key for t in self.tiers]}.",
                             code="bad_parameter", name="tier", value=key)

    def action_text(self, key: str, *, lang: str = "en") -> str:
        """The words for an action key: a rule's own words in ``lang``, else the catalog's ``action.<key>``,
        else the rule's English words, else the key."""
        check_language(lang)
        rule = next((r for r in self.playbook if r.key == key), None)
        own = None if rule is None else rule.zh if lang == "zh" else rule.en
        if own:
            return own
        if has_key(f"action.{key}"):
            return text(f"action.{key}", lang=lang)
        return (rule.en if rule is not None else "") or key


def assign_tiers(probability, *, tiers: tuple[RiskTier, ...] = DEFAULT_TIERS) -> np.ndarray:
    """The tier key of each probability (vectorised)."""
    p = np.asarray(probability, dtype=float)
    lowers = np.array([t.lower for t in reversed(tiers)])
    keys = np.array([t.key for t in reversed(tiers)], dtype=object)
    return keys[np.clip(np.searchsorted(lowers, p, side="right") - 1, 0, len(keys) - 1)]


# -- scores ------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, kw_only=True)
class ScoredCustomers:
    """The risk list of a dataset: one row per customer, in the dataset's row order.

    ``frame`` columns: row, id, probability, probability_raw, explained, reason_1..3 (source),
    reason_k_value, reason_k_points, then from the policy: tier, due_hours, channel, value,
    value_band, segment, priority, action.
    """

    frame: pd.DataFrame
    dataset: Dataset
    run_id: int
    model: str
    policy: RiskPolicy
    units: str
    base_probability: float | None  # the reasons' base: the mean shown probability of these customers
    derived: pd.DataFrame = field(repr=False)  # derived features (total_charge...) per customer
    score_set: int | None = None
    seconds: float | None = None
    scorer: Scorer | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    @property
    def scoring(self) -> str:
        """``out_of_sample`` (the run's own data, each customer by a fit that did not see them), ``final``
        (data the run never saw) or ``in_sample`` (an old run without fold fits, on its own data)."""
        by = set(self.frame["scored_by"].dropna().unique())
        return "in_sample" if "in_sample" in by else "out_of_sample" if by & {"oof", "holdout"} else "final"

    @cached_property
    def active(self) -> np.ndarray:
        """Whether each customer is still a customer (not churned according to the data)."""
        return (self.frame["status"].astype(str) != CHURNED).to_numpy()

    @property
    def churned(self) -> int:
        """Customers the data says already left (shown apart, never called)."""
        return int((~self.active).sum())

    @property
    def churned_rate(self) -> float:
        return self.churned / len(self.frame) if len(self.frame) else 0.0

    def tier_counts(self) -> dict[str, int]:
        """Customers still here in each tier of the policy, highest tier first."""
        counts = self.frame.loc[self.active, "tier"].astype(str).value_counts()
        return {t.key: int(counts.get(t.key, 0)) for t in self.policy.tiers}

    def scored_by_counts(self) -> dict[str, int]:
        """How many customers each kind of fit scored (``oof``, ``holdout``, ``final``, ``in_sample``)."""
        return {str(k): int(v) for k, v in self.frame["scored_by"].astype(str).value_counts().items()}

    @property
    def explained_active(self) -> int:
        return int((self.frame["explained"].to_numpy(dtype=bool) & self.active).sum())

    @property
    def explained(self) -> int:
        return int(self.frame["explained"].sum())

    @property
    def has_value_column(self) -> bool:
        return any(c in self.dataset.frame for c in self.dataset.roles.value)

    @property
    def has_value(self) -> bool:
        """Whether customers have a value: a value column, or the value per customer the analyst entered."""
        return self.has_value_column or self.policy.ltv is not None

    def source_values(self, source: str) -> pd.Series:
        """A source's values for every customer: a dataset column, or a derived feature."""
        if source in self.dataset.frame:
            return self.dataset.frame[source]
        if source in self.derived:
            return self.derived[source]
        raise SchemaError(f"'{source}' is neither a column of the dataset nor a derived feature. Received "
                          f"{list(self.dataset.frame.columns)[:12]}.", code="unknown_column", column=source)

    @cached_property
    def arrays(self) -> dict[str, np.ndarray]:
        """Numpy views of the columns filters use (built once; filtering 1M rows stays fast)."""
        return {"probability": self.frame["probability"].to_numpy(), "priority": self.frame["priority"].to_numpy(),
                "value": self.frame["value"].to_numpy()}

    @cached_property
    def _cache(self) -> dict:
        return {}

    @cached_property
    def top_reasons(self) -> list[str]:
        """The sources that are some customer's first reason (the Risk page's filter options)."""
        return sorted(self.frame["reason_1"].dropna().unique())

    def numeric_values(self, source: str) -> np.ndarray:
        """A source's values as floats (NaN where missing or not a number), cached."""
        key = ("numeric", source)
        if key not in self._cache:
            self._cache[key] = pd.to_numeric(self.source_values(source), errors="coerce").to_numpy(dtype=float)
        return self._cache[key]

    def flag_values(self, column: str) -> np.ndarray:
        """A plan flag as 1/0 (NaN where missing), cached: mapping a million yes/no cells is not free."""
        key = ("flag", column)
        if key not in self._cache:
            self._cache[key] = flag_codes(self.source_values(column))
        return self._cache[key]

    def sorted_values(self, source: str) -> np.ndarray | None:
        """A numeric source's non-missing values, sorted (cached: percentiles and bands of one customer
        are then binary searches, not passes over every customer)."""
        if source in self.dataset.roles.plan_flags or source in self.dataset.roles.categorical:
            return None
        if source not in self._cache:
            x = self.numeric_values(source)
            self._cache[source] = np.sort(x[~np.isnan(x)])
        return self._cache[source]

    def with_policy(self, policy: RiskPolicy) -> ScoredCustomers:
        """The same scores under other business assumptions (no model needed)."""
        frame = apply_policy(self.frame, self.dataset, derived=self.derived, policy=policy)
        return ScoredCustomers(frame=frame, dataset=self.dataset, run_id=self.run_id, model=self.model, policy=policy,
                               units=self.units, base_probability=self.base_probability, derived=self.derived,
                               score_set=self.score_set, seconds=self.seconds, scorer=self.scorer)


@dataclass(frozen=True, eq=False, kw_only=True)
class Scorer:
    """The fits that score one dataset honestly, and which fit scores which row.

    ``fit_of[i]`` is -1 where the final fit scores row i, else the fold whose fit left row i out.
    ``scored_by[i]`` says the same in words: ``oof``, ``holdout``, ``final`` or ``in_sample``.
    """

    model: object  # the champion: OOF-calibrated model or plain pipeline
    fit_of: np.ndarray = field(repr=False)
    scored_by: np.ndarray = field(repr=False)
    folds_path: str | None = None
    folds_sha256: str | None = None

    @cached_property
    def folds(self) -> list:
        if self.folds_path is None or not (self.fit_of >= 0).any():
            return []
        from .artifacts import load_model

        return list(load_model(self.folds_path, sha256=self.folds_sha256))

    def fit_for(self, row: int):
        """The fitted pipeline that scores (and explains) row ``row``."""
        k = int(self.fit_of[row])
        return self.model if k < 0 else self.folds[k]

    def calibrate(self, raw) -> np.ndarray:
        from .modeling import apply_calibrator

        return self.model.calibrate(raw) if hasattr(self.model, "calibrate") else apply_calibrator(None, raw)

    def raw(self, frame: pd.DataFrame) -> np.ndarray:
        """The uncalibrated churn probability of every row, each from its own fit."""
        raw = np.empty(len(frame))
        for k, rows in self.groups():
            fit = self.model if k < 0 else self.folds[k]
            part = frame.iloc[rows]
            raw[rows] = fit.predict_raw(part) if k < 0 and hasattr(fit, "predict_raw") else \
                fit.predict_proba(part)[:, 1]
        return raw

    def groups(self, rows: np.ndarray | None = None):
        """(fit, positions) pairs over ``rows`` (default: every row), the final fit as -1."""
        rows = np.arange(len(self.fit_of)) if rows is None else np.asarray(rows, dtype=int)
        for k in np.unique(self.fit_of[rows]):
            yield int(k), rows[self.fit_of[rows] == k]


def build_scorer(dataset: Dataset, *, store: Store, champion, model) -> Scorer:
    """Which fit scores each customer of ``dataset`` (see the module docstring)."""
    n = dataset.n_rows
    final = np.full(n, -1), np.full(n, "final", dtype=object)
    if dataset.events is not None and dataset.events.table == "as_of":
        # Scored as of the log's last date: nobody's outcome is known yet, so no fit has seen it.
        return Scorer(model=model, fit_of=final[0], scored_by=final[1])
    run = store.get_run(champion.run_id)
    own = dataset.version == run.dataset_version if dataset.version is not None else False
    if not own:
        trained = next((v for v in store.list_datasets().versions if v.version == run.dataset_version), None)
        own = trained is not None and trained.sha256 == dataset.sha256 and trained.rows == n
    if not own:
        return Scorer(model=model, fit_of=final[0], scored_by=final[1])
    predictions = store.load_predictions(champion.run_id, champion.model, split=None)
    entry = champion.entry
    if predictions.empty or entry.folds_artifact is None or (predictions["split"] != "train").all():
        return Scorer(model=model, fit_of=np.full(n, -1), scored_by=np.full(n, "in_sample", dtype=object))
    fit_of, scored_by = np.full(n, -1), np.full(n, "final", dtype=object)
    train = predictions[predictions["split"] == "train"]
    fit_of[train["row_index"].to_numpy()] = train["fold"].to_numpy(dtype=int)
    scored_by[train["row_index"].to_numpy()] = "oof"
    scored_by[predictions.loc[predictions["split"] == "holdout", "row_index"].to_numpy()] = "holdout"
    return Scorer(model=model, fit_of=fit_of, scored_by=scored_by, folds_path=entry.folds_artifact,
                  folds_sha256=entry.folds_sha256)


def input_columns(model) -> list[str]:
    features = _feature_step(model)
    return [*features.numeric_, *features.flags_, *features.levels_,
            *dict.fromkeys(c for s in features.steps_ for c in s.inputs)]


@dataclass(frozen=True)
class ColumnFit:
    """Whether a model can score a table: the input columns it needs that the table lacks (none when it can,
    or when there is no model yet)."""

    missing: tuple[str, ...] = ()

    @property
    def can_score(self) -> bool:
        return not self.missing


def column_fit(model, columns) -> ColumnFit:
    """Which of ``model``'s input columns (see :func:`input_columns`) are absent from ``columns``, sorted;
    ``model`` None (no champion yet) lacks nothing."""
    if model is None:
        return ColumnFit()
    return ColumnFit(tuple(sorted(set(input_columns(model)) - {str(c) for c in columns})))


def _feature_step(model):
    model = getattr(model, "estimator_", model)
    return model.named_steps["features"]


def champion_model(store: Store, *, champion=None):
    """The champion (run id, model name) and its fitted model, loaded from its checked artifact.
    ``champion`` pins the one to use (a caller that read it once), instead of reading the store again."""
    from .artifacts import load_model

    champion = store.champion() if champion is None else champion
    if champion is None:
        raise NotFoundError("No champion model yet, so nothing can be scored. Train a model and promote it "
                            "(`python -m churn_core train --data FILE --promote`).", code="no_champion")
    return champion, load_model(champion.entry.artifact, sha256=champion.entry.sha256)


def score_customers(dataset: Dataset, *, store: Store, policy: RiskPolicy | None = None,
                    explain: str | int = "auto", explain_budget_s: float = 20.0, model=None,
                    champion=None) -> ScoredCustomers:
    """Score every customer of ``dataset`` with the champion (nothing is stored).

    Each customer is scored by a fit that did not see them where the dataset is the champion's own
    training data (see the module docstring). ``explain``: ``"auto"`` and ``"all"`` explain every active
    customer, riskiest first (``explain_budget_s`` is a clock: a forest explains exactly until it runs
    out, then with tree-path contributions, so nobody is left without reasons); ``"none"``, or a number
    of customers. ``champion`` pins the champion (a :class:`Champion` read once by the caller), so a
    promotion in between cannot mix two runs.
    """
    champion, loaded = champion_model(store, champion=champion)
    model = loaded if model is None else model
    missing = list(column_fit(model, dataset.frame.columns).missing)
    if missing:
        raise SchemaError(f"The file lacks columns the champion model was trained on: {missing}. Add them, "
                          "or train a model on data with this file's columns.", code="score_columns_missing",
                          columns=missing)
    scorer = build_scorer(dataset, store=store, champion=champion, model=model)
    start = time.perf_counter()
    base, derived, units, base_probability = _score(scorer, dataset, explain=explain, budget=explain_budget_s)
    seconds = time.perf_counter() - start
    logger.info("scored %d customers with run %d %s in %.1f s (%d explained)", len(base), champion.run_id,
                champion.model, seconds, int(base["explained"].sum()))
    policy = policy or RiskPolicy()
    return ScoredCustomers(frame=apply_policy(base, dataset, derived=derived, policy=policy), dataset=dataset,
                           run_id=champion.run_id, model=champion.model, policy=policy, units=units,
                           base_probability=base_probability, derived=derived, score_set=None, seconds=seconds,
                           scorer=scorer)


def score_dataset(dataset: Dataset, *, store: Store, policy: RiskPolicy | None = None, explain: str | int = "auto",
                  explain_budget_s: float = 20.0, model=None, reuse: bool = True,
                  champion=None) -> ScoredCustomers:
    """Score a stored dataset version with the champion and keep the scores in the store.

    With ``reuse``, a score set the same champion already made for this version is loaded
    instead of scoring again. ``champion`` pins the champion, as for :func:`score_customers`.
    """
    if dataset.version is None:
        raise ParameterError("score_dataset needs a stored dataset version (store.load_dataset(...)). Got a "
                             f"dataset '{dataset.name}' that was never stored; use score_customers for files.",
                             code="bad_parameter", name="dataset", value=dataset.name)
    policy = policy or RiskPolicy()
    champion, loaded = champion_model(store, champion=champion)
    model = loaded if model is None else model
    as_of = scored_as_of(dataset)
    found = store.find_score_set(run_id=champion.run_id, model=champion.model, dataset_version=dataset.version,
                                 as_of=as_of)
    # A set whose scores live in registered Parquet (a Dask scoring) holds no rows here: score again.
    if reuse and found is not None and found.rows == dataset.n_rows and store.parquet_url("scores", found.id) is None:
        base = _with_ids(store.load_scores(found.id), dataset)
        if base["status"].notna().all():  # sets stored before statuses were kept are scored again
            scorer = build_scorer(dataset, store=store, champion=champion, model=model)
            derived = _derived(model, dataset.frame)
            return ScoredCustomers(frame=apply_policy(base, dataset, derived=derived, policy=policy), dataset=dataset,
                                   run_id=champion.run_id, model=champion.model, policy=policy, units=found.units,
                                   base_probability=found.base_probability, derived=derived, score_set=found.id,
                                   seconds=found.seconds, scorer=scorer)
    scored = score_customers(dataset, store=store, policy=policy, explain=explain,
                             explain_budget_s=explain_budget_s, model=model, champion=champion)
    stored = store.save_scores(_storable(scored.frame), run_id=scored.run_id, model=scored.model,
                               dataset_version=dataset.version, units=scored.units,
                               base_probability=scored.base_probability, seconds=scored.seconds, as_of=as_of)
    return ScoredCustomers(frame=scored.frame, dataset=dataset, run_id=scored.run_id, model=scored.model,
                           policy=policy, units=scored.units, base_probability=scored.base_probability,
                           derived=scored.derived, score_set=stored.id, seconds=scored.seconds, scorer=scored.scorer)


def scored_as_of(dataset: Dataset):
    """The day an event dataset's as-of table is scored as of (None for any other table)."""
    if dataset.events is not None and dataset.events.table == "as_of":
        return dataset.events.cutoff.date()
    return None


def explain_rows(scored: ScoredCustomers, rows, *, model, store: Store | None = None) -> ScoredCustomers:
    """Explain more customers (positions ``rows``) on demand, and keep their reasons in the store."""
    rows = np.asarray(sorted(set(int(r) for r in rows)), dtype=int)
    if rows.size == 0:
        return scored
    scorer = scored.scorer or Scorer(model=model, fit_of=np.full(len(scored.frame), -1),
                                     scored_by=np.full(len(scored.frame), "final"))
    reasons = _reasons(scorer, scored.dataset.frame, rows, mean_probability=scored.base_probability)
    frame = scored.frame.copy()
    cols = list(REASON_COLUMNS)
    frame.loc[rows, cols] = reasons[cols].to_numpy()
    frame.loc[rows, "explained"] = True
    if store is not None and scored.score_set is not None:
        store.update_reasons(scored.score_set, reasons)
    return ScoredCustomers(frame=apply_policy(frame, scored.dataset, derived=scored.derived, policy=scored.policy),
                           dataset=scored.dataset, run_id=scored.run_id, model=scored.model, policy=scored.policy,
                           units=scored.units, base_probability=scored.base_probability, derived=scored.derived,
                           score_set=scored.score_set, seconds=scored.seconds, scorer=scorer)


def unexplained_rows(scored: ScoredCustomers, *, limit: int | None = None) -> np.ndarray:
    """Positions of active customers without stored reasons, riskiest first."""
    pending = np.flatnonzero(~scored.frame["explained"].to_numpy(dtype=bool) & scored.active)
    order = np.argsort(-scored.frame["probability"].to_numpy()[pending], kind="stable")
    return pending[order][:limit]


def statuses(dataset: Dataset) -> np.ndarray:
    """``active`` or ``churned`` per customer: churned where the file's target says so."""
    status = np.full(dataset.n_rows, "active", dtype=object)
    if dataset.has_target:
        y = pd.to_numeric(dataset.target(), errors="coerce").to_numpy(dtype=float)
        status[y == 1] = CHURNED
    return status


def _score(scorer: Scorer, dataset: Dataset, *, explain: str | int, budget: float):
    from .explain import shap_units

    frame = dataset.frame
    raw = scorer.raw(frame)
    proba = scorer.calibrate(raw)
    n = len(frame)
    status = statuses(dataset)
    active = np.flatnonzero(status != CHURNED)
    if explain in ("auto", "all"):
        count = active.size
    elif explain == "none":
        count = 0
    elif isinstance(explain, (int, np.integer)) and not isinstance(explain, bool) and explain >= 0:
        count = min(int(explain), active.size)
    else:
        raise ParameterError(f"The 'explain' parameter must be 'auto', 'all', 'none' or a number of customers. "
                             f"Got {explain!r} instead.", code="bad_parameter", name="explain", value=explain)
    order = active[np.argsort(-proba[active], kind="stable")][:count]
    base_probability = float(proba.mean()) if n else None
    base = pd.DataFrame({"row_index": np.arange(n), "probability": proba, "probability_raw": raw,
                         "explained": False, "status": status, "scored_by": scorer.scored_by})
    if count:
        reasons = _reasons(scorer, frame, order, mean_probability=base_probability, budget=budget)
        base = base.merge(reasons, on="row_index", how="left")
        base["explained"] = base["reason_1"].notna()
    base = _pad_reasons(base)
    return _with_ids(base, dataset), _derived(scorer.model, frame), shap_units(scorer.model), base_probability


def _reasons(scorer: Scorer, frame: pd.DataFrame, rows: np.ndarray, *, mean_probability: float | None,
             budget: float | None = None) -> pd.DataFrame:
    """The stored reasons (``row_index`` and reason columns) of the customers at ``rows``, each explained
    by the fit that scored them, in points of the shown probability around ``mean_probability``."""
    from .explain import explain_customers

    deadline = None if budget is None else time.monotonic() + budget
    background = _background(frame)
    parts = []
    for k, at in scorer.groups(rows):
        fit = scorer.model if k < 0 else scorer.folds[k]
        reasons = explain_customers(fit, frame.iloc[at], top_k=STORED_REASONS, background=background,
                                    calibrate=scorer.calibrate, mean_probability=mean_probability, deadline=deadline)
        table = reasons.table.drop(columns=["probability", "method"])
        table["row_index"] = at[table.pop("row").to_numpy()]
        parts.append(table)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"row_index": []})
    return _pad_reasons(table)


def _background(frame: pd.DataFrame) -> pd.DataFrame:
    """The reference customers of the linear explainer: a seeded sample, so a customer's reasons
    are the same whether explained in bulk or alone."""
    return frame.sample(n=min(1000, len(frame)), random_state=0) if len(frame) > 1000 else frame


def _pad_reasons(frame: pd.DataFrame) -> pd.DataFrame:
    for col in REASON_COLUMNS:
        if col not in frame:
            numeric = col.endswith("_points")
            frame[col] = pd.Series(np.nan if numeric else None, index=frame.index, dtype=float if numeric else object)
    return frame


def _with_ids(base: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    base = base.sort_values("row_index").reset_index(drop=True)
    ids = dataset.ids().to_numpy()[base["row_index"].to_numpy()]
    base["customer_id"] = pd.array(ids.astype(str), dtype="string")
    return base


def _derived(model, frame: pd.DataFrame) -> pd.DataFrame:
    """The derived features (total_charge...) of every customer, as the model computes them."""
    features = _feature_step(model)
    if not features.steps_:
        return pd.DataFrame(index=frame.index)
    done: dict[str, np.ndarray] = {}
    for step in features.steps_:
        done[step.name] = features._derive(step, frame, done)
    return pd.DataFrame(done, index=frame.index)


def _storable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={"row": "row_index", "id": "customer_id"})[list(SCORE_COLUMNS)]


# -- the policy layer -------------------------------------------------------------------------------------

def apply_policy(base: pd.DataFrame, dataset: Dataset, *, derived: pd.DataFrame, policy: RiskPolicy) -> pd.DataFrame:
    """Tier, due time, value, value band, segment, priority and action for each scored customer.
    Churned customers (``status``) get the tier ``churned`` and no due time, priority or action."""
    from .analysis import segment_masks

    base = base.rename(columns={"row": "row_index", "id": "customer_id"})  # a scored frame can be re-policied
    out = base[[c for c in base.columns if c in SCORE_COLUMNS]].copy()
    out.insert(0, "row", out.pop("row_index"))
    out.insert(1, "id", out.pop("customer_id"))
    if "status" not in out or out["status"].isna().any():
        out["status"] = statuses(dataset)
    churned = (out["status"].astype(str) == CHURNED).to_numpy()
    tier = assign_tiers(out["probability"].to_numpy(), tiers=policy.tiers)
    tier[churned] = CHURNED
    by_key = {t.key: t for t in policy.tiers}
    gone = RiskTier(CHURNED, 0.0, None, "none")
    out["tier"] = pd.Categorical(tier, categories=[*(t.key for t in policy.tiers), CHURNED])
    out["due_hours"] = pd.array([by_key.get(k, gone).due_hours for k in tier], dtype="Int64")
    out["channel"] = pd.Categorical([by_key.get(k, gone).channel for k in tier], categories=list(CHANNELS))
    value = dataset.value()
    if value is None:  # the value the analyst entered for everyone, else none (priority then ranks by probability)
        out["value"] = np.nan if policy.ltv is None else float(policy.ltv)
        out["value_band"] = pd.Categorical(np.full(len(out), "n/a"), categories=["high", "medium", "low", "n/a"])
    else:
        v = value.to_numpy(dtype=float)
        out["value"] = np.nan_to_num(v, nan=0.0)
        high, low = np.nanquantile(v, 1 - policy.value_top_share), np.nanquantile(v, policy.value_top_share)
        band = np.where(v >= high, "high", np.where(v < low, "low", "medium"))
        out["value_band"] = pd.Categorical(band, categories=["high", "medium", "low", "n/a"])
    masks, _ = segment_masks(dataset)
    segment = np.full(len(out), "none", dtype=object)
    for key in reversed(list(masks.columns)):  # the first segment (highest priority) wins
        segment[masks[key].to_numpy()] = key
    out["segment"] = pd.Categorical(segment, categories=[*masks.columns, "none"])
    action = _actions(out, dataset, derived, policy)
    worth = out["value"].fillna(1.0) if value is None and policy.ltv is None else out["value"]
    likelihood = pd.Series(np.asarray(action, dtype=object)).map(dict(policy.likelihoods)) \
        .fillna(policy.retention_likelihood).to_numpy(dtype=float)  # measured per action, else the assumption
    out["priority"] = np.where(churned, np.nan, out["probability"] * worth * likelihood / policy.contact_cost)
    out["action"] = pd.Categorical(np.where(churned, None, np.asarray(action, dtype=object)),
                                   categories=action.categories)
    return out


def resolve_ref(ref: str, *, roles: ColumnRoles, sources) -> set[str]:
    """The sources (columns or derived features) a playbook or segment reference names."""
    sources = [str(s) for s in sources]
    if ref == "@service_calls":
        return {roles.service_calls} if roles.service_calls else set()
    if ref == "@tenure":
        return {roles.tenure} if roles.tenure else set()
    if ref.startswith("@flag:"):
        pattern = re.compile(ref[6:], re.I)
        return {c for c in roles.plan_flags if pattern.search(c)}
    if ref.startswith("@column:"):
        pattern = re.compile(ref[8:], re.I)
        return {c for c in sources if pattern.search(c) and c not in roles.plan_flags and c not in roles.categorical}
    return {ref}


def flag_allows(rule: PlaybookRule, codes) -> np.ndarray:
    """Whether customers with these plan-flag codes (1/0) meet the rule's ``flag`` condition."""
    codes = np.asarray(codes, dtype=float)
    return np.ones(codes.shape, dtype=bool) if rule.flag is None else codes == (1 if rule.flag == "yes" else 0)


def quantiles_allow(rule: PlaybookRule, values, ordered: np.ndarray) -> np.ndarray:
    """Whether these values meet the rule's quantile conditions; ``ordered``: everyone's values, sorted."""
    values = np.asarray(values, dtype=float)
    ok = np.ones(values.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        if rule.min_quantile is not None:
            ok &= values >= _sorted_quantile(ordered, rule.min_quantile)
        if rule.max_quantile is not None:
            ok &= values <= _sorted_quantile(ordered, rule.max_quantile)
    return ok


def _sorted_quantile(ordered: np.ndarray, q: float) -> float:
    """numpy's linear quantile, read off sorted values in constant time."""
    if ordered.size == 0:
        return float("nan")
    position = q * (ordered.size - 1)
    low = int(np.floor(position))
    high = min(low + 1, ordered.size - 1)
    return float(ordered[low] + (position - low) * (ordered[high] - ordered[low]))


def _actions(out: pd.DataFrame, dataset: Dataset, derived: pd.DataFrame, policy: RiskPolicy) -> pd.Categorical:
    action = np.full(len(out), None, dtype=object)
    sources = [*dataset.frame.columns, *derived.columns]
    numeric: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def values_of(source: str) -> tuple[np.ndarray, np.ndarray]:
        if source not in numeric:
            column = dataset.frame[source] if source in dataset.frame else derived[source]
            x = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
            numeric[source] = x, np.sort(x[~np.isnan(x)])
        return numeric[source]

    for k in range(1, STORED_REASONS + 1):
        reason = out[f"reason_{k}"].to_numpy(dtype=object)
        raises = out[f"reason_{k}_points"].to_numpy(dtype=float) > 0
        for rule in policy.playbook:
            targets = resolve_ref(rule.ref, roles=dataset.roles, sources=sources)
            hit = raises & np.isin(reason, list(targets)) & (action == None)  # noqa: E711 (element-wise)
            if not hit.any():
                continue
            hit[hit] = flag_allows(rule, flag_codes(out.loc[hit, f"reason_{k}_value"]))
            if rule.min_quantile is not None or rule.max_quantile is not None:
                for source in targets:
                    rows = hit & (reason == source)
                    if rows.any():
                        x, ordered = values_of(source)
                        hit[rows] = quantiles_allow(rule, x[rows], ordered)
            action[hit] = rule.key
    channel = out["channel"].to_numpy(dtype=object)
    for name, key in FALLBACK_ACTIONS.items():
        if name in ("monitor", "none"):
            action[channel == name] = key
        else:
            action[(channel == name) & (action == None)] = key  # noqa: E711
    keys = [*(r.key for r in policy.playbook), *FALLBACK_ACTIONS.values()]
    return pd.Categorical(action, categories=list(dict.fromkeys(keys)))


# -- exports -----------------------------------------------------------------------------------------------

def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy where text cells that a spreadsheet would run as a formula (=, +, -, @ ...) start with ``'``."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype.kind in "biuf":
            continue
        text = out[col].astype("string")
        risky = text.str.startswith(_FORMULA_START).fillna(False).to_numpy(dtype=bool)
        if risky.any():
            out[col] = np.where(risky, "'" + text.fillna(""), out[col].astype(object))
    out.columns = [("'" + c) if str(c).startswith(_FORMULA_START) else c for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a spreadsheet-safe CSV (UTF-8 with BOM, so Excel shows Chinese correctly)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes(frame))
    return path


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A spreadsheet-safe CSV as bytes (UTF-8 with BOM)."""
    return neutralise_formulas(frame).to_csv(index=False).encode("utf-8-sig")


XLSX_WIDTH_ROWS = 2000  # column widths are fitted to the header and this many first rows
XLSX_MAX_WIDTH = 60  # characters


def xlsx_bytes(frame: pd.DataFrame, *, sheet: str = "risk", number_formats: dict[str, str] | None = None) -> bytes:
    """A spreadsheet-safe XLSX workbook as bytes (formula-like text is stored as text, prefixed with ').

    The header row is frozen, an autofilter covers the table, each column is as wide as its header and first
    ``XLSX_WIDTH_ROWS`` values (wide characters count twice, at most ``XLSX_MAX_WIDTH``), and
    ``number_formats`` (column -> Excel number format such as ``"0.0%"`` or ``"#,##0.00"``) formats the
    data cells of those columns.
    """
    import io

    from openpyxl.utils import get_column_letter

    unknown = set(number_formats or {}) - set(frame.columns)
    if unknown:
        raise ParameterError(f"The 'number_formats' parameter names columns the table does not have: "
                             f"{sorted(map(str, unknown))}. Use some of {[str(c) for c in frame.columns][:12]}.",
                             code="bad_parameter", name="number_formats", value=sorted(map(str, unknown)))
    buffer = io.BytesIO()
    safe = neutralise_formulas(frame)
    formats = {i: (number_formats or {}).get(c) for i, c in enumerate(frame.columns)}
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        safe.to_excel(writer, index=False, sheet_name=sheet[:31])
        sheet_ = writer.sheets[sheet[:31]]
        for row in sheet_.iter_rows(min_row=1):
            for i, cell in enumerate(row):
                if cell.data_type == "f":  # openpyxl treats any text starting with = as a formula
                    cell.data_type = "s"
                if formats[i] and cell.row > 1:
                    cell.number_format = formats[i]
        sheet_.freeze_panes = "A2"
        if len(frame.columns):
            sheet_.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"
        for i, width in enumerate(_column_widths(safe, formats)):
            sheet_.column_dimensions[get_column_letter(i + 1)].width = width
    return buffer.getvalue()


def _column_widths(frame: pd.DataFrame, formats: dict[int, str | None]) -> list[float]:
    """Each column's width in characters: its longest shown value or its header (and its filter button)."""
    head = frame.head(XLSX_WIDTH_ROWS)
    widths = []
    for i, column in enumerate(head.columns):
        values = head.iloc[:, i]
        if values.dtype.kind in "biuf":
            x = pd.to_numeric(values, errors="coerce").abs().max()
            digits = 1 if pd.isna(x) or x < 1 else int(math.log10(x)) + 1
            shown = digits + digits // 3 + 4 + (1 if formats.get(i) and "%" in formats[i] else 0)
        else:
            text = values.dropna().astype(str)
            shown = int((text.str.len() + text.str.count(_WIDE)).max()) if len(text) else 0
        header = len(str(column)) + len(_WIDE.findall(str(column)))
        widths.append(float(min(max(shown + 2, header + 4), XLSX_MAX_WIDTH)))  # + the filter button
    return widths
