"""Scoring customers with the champion: calibrated probabilities, risk tiers, priority, reasons, actions.

Two layers, so that changing a business assumption never needs the model again:

* :func:`score_dataset` / :func:`score_customers` run the model once: the calibrated churn
  probability of every customer and the top-3 SHAP reasons of the riskiest ones (everyone
  when the explainer is fast enough, see ``explain``). A stored dataset's scores are kept in
  DuckDB per model run, so two runs' scores can be compared.
* :func:`apply_policy` turns those into the risk list: tier and due time, value, priority
  (probability x value x retention likelihood / contact cost) and the playbook action.
"""

from __future__ import annotations

import logging
import math
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
from .store import SCORE_COLUMNS, Store

logger = logging.getLogger(__name__)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
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


@dataclass(frozen=True)
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
    PlaybookRule("senior_agent", "@service_calls"),
    PlaybookRule("plan_review", "@flag:international|intl", flag="yes"),
    PlaybookRule("tailored_bundle", "@column:day.*(charge|min)|^total_charge$|charge_per_minute", min_quantile=0.5),
    PlaybookRule("onboarding_call", "@tenure", max_quantile=0.25),
    PlaybookRule("feature_activation", "@flag:voice|vmail", flag="no"),
)
# When no playbook rule matches, the tier's channel decides: channel -> action key (worded as action.<key>).
FALLBACK_ACTIONS: dict[str, str] = {"personal": "retention_call", "automated": "automated_care",
                                    "monitor": "monitor", "none": "none"}


@dataclass(frozen=True)
class RiskPolicy:
    """The business assumptions behind the risk list. Every factor can be changed."""

    tiers: tuple[RiskTier, ...] = DEFAULT_TIERS
    retention_likelihood: float = 0.3  # share of contacted churners who stay
    contact_cost: float = 5.0  # cost of one contact, in the value's currency
    ltv: float = 1000.0  # customer value used when the dataset has no value column
    playbook: tuple[PlaybookRule, ...] = DEFAULT_PLAYBOOK
    value_top_share: float = 0.2  # value bands: the top and bottom shares of customers by value

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
                  ("contact_cost", self.contact_cost, 0, None), ("ltv", self.ltv, 0, None),
                  ("value_top_share", self.value_top_share, 0, 0.5))
        for name, value, low, high in checks:
            bad = not isinstance(value, (int, float)) or not math.isfinite(value) or value <= low or (
                high is not None and value > high)
            if bad:
                bound = f"in ({low}, {high}]" if high is not None else f"greater than {low}"
                raise ParameterError(f"The '{name}' parameter of RiskPolicy must be {bound}. Got {value!r} instead.",
                                     code="bad_parameter", name=name, value=value)

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

@dataclass(frozen=True, eq=False)
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
    base_probability: float | None
    derived: pd.DataFrame = field(repr=False)  # derived features (total_charge...) per customer
    score_set: int | None = None
    seconds: float | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    @property
    def explained(self) -> int:
        return int(self.frame["explained"].sum())

    @property
    def has_value_column(self) -> bool:
        return any(c in self.dataset.frame for c in self.dataset.roles.value)

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
        return ScoredCustomers(frame, self.dataset, self.run_id, self.model, policy, self.units,
                               self.base_probability, self.derived, self.score_set, self.seconds)


def input_columns(model) -> list[str]:
    features = _feature_step(model)
    return [*features.numeric_, *features.flags_, *features.levels_,
            *dict.fromkeys(c for s in features.steps_ for c in s.inputs)]


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
    return champion, load_model(champion.entry["artifact"], sha256=champion.entry["sha256"])


def score_customers(dataset: Dataset, *, store: Store, policy: RiskPolicy | None = None,
                    explain: str | int = "auto", explain_budget_s: float = 20.0, model=None,
                    champion=None) -> ScoredCustomers:
    """Score every customer of ``dataset`` with the champion (nothing is stored).

    ``explain``: ``"auto"`` explains the riskiest customers first, as many as the explainer
    can do in ``explain_budget_s`` seconds (everyone for XGBoost and logistic regression on
    typical sizes); ``"all"``, ``"none"``, or a number of customers. ``champion`` pins the champion (a
    :class:`Champion` read once by the caller), so a promotion in between cannot mix two runs.
    """
    champion, loaded = champion_model(store, champion=champion)
    model = loaded if model is None else model
    missing = sorted(set(input_columns(model)) - set(dataset.frame.columns))
    if missing:
        raise SchemaError(f"The file lacks columns the champion model was trained on: {missing}. Add them, "
                          "or train a model on data with this file's columns.", code="score_columns_missing",
                          columns=missing)
    start = time.perf_counter()
    base, derived, units, base_probability = _score(model, dataset, explain=explain, budget=explain_budget_s)
    seconds = time.perf_counter() - start
    logger.info("scored %d customers with run %d %s in %.1f s (%d explained)", len(base), champion.run_id,
                champion.model, seconds, int(base["explained"].sum()))
    policy = policy or RiskPolicy()
    return ScoredCustomers(apply_policy(base, dataset, derived=derived, policy=policy), dataset, champion.run_id,
                           champion.model, policy, units, base_probability, derived, None, seconds)


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
    found = store.find_score_set(run_id=champion.run_id, model=champion.model, dataset_version=dataset.version)
    if reuse and found is not None and found.rows == dataset.n_rows:
        base = _with_ids(store.load_scores(found.id), dataset)
        derived = _derived(model, dataset.frame)
        return ScoredCustomers(apply_policy(base, dataset, derived=derived, policy=policy), dataset,
                               champion.run_id, champion.model, policy, found.units, found.base_probability,
                               derived, found.id, found.seconds)
    scored = score_customers(dataset, store=store, policy=policy, explain=explain,
                             explain_budget_s=explain_budget_s, model=model, champion=champion)
    stored = store.save_scores(_storable(scored.frame), run_id=scored.run_id, model=scored.model,
                               dataset_version=dataset.version, units=scored.units,
                               base_probability=scored.base_probability, seconds=scored.seconds)
    return ScoredCustomers(scored.frame, dataset, scored.run_id, scored.model, policy, scored.units,
                           scored.base_probability, scored.derived, stored.id, scored.seconds)


def explain_rows(scored: ScoredCustomers, rows, *, model, store: Store | None = None) -> ScoredCustomers:
    """Explain more customers (positions ``rows``) on demand, and keep their reasons in the store."""
    rows = np.asarray(sorted(set(int(r) for r in rows)), dtype=int)
    if rows.size == 0:
        return scored
    reasons, _ = _reasons(model, scored.dataset.frame, rows)
    frame = scored.frame.copy()
    cols = [c for c in SCORE_COLUMNS if c.startswith("reason_")]
    frame.loc[rows, cols] = reasons[cols].to_numpy()
    frame.loc[rows, "explained"] = True
    if store is not None and scored.score_set is not None:
        store.update_reasons(scored.score_set, reasons)
    return ScoredCustomers(apply_policy(frame, scored.dataset, derived=scored.derived, policy=scored.policy),
                           scored.dataset, scored.run_id, scored.model, scored.policy, scored.units,
                           scored.base_probability, scored.derived, scored.score_set, scored.seconds)


def unexplained_rows(scored: ScoredCustomers, *, limit: int | None = None) -> np.ndarray:
    """Positions of customers without stored reasons, riskiest first."""
    pending = np.flatnonzero(~scored.frame["explained"].to_numpy(dtype=bool))
    order = np.argsort(-scored.frame["probability"].to_numpy()[pending], kind="stable")
    return pending[order][:limit]


def _score(model, dataset: Dataset, *, explain: str | int, budget: float):
    from .explain import explain_seconds_per_row, shap_units

    frame = dataset.frame
    proba, raw = _probabilities(model, frame)
    n = len(frame)
    if explain == "auto":
        per_row = explain_seconds_per_row(model)
        count = n if per_row * n <= budget else int(budget / per_row)
    elif explain == "all":
        count = n
    elif explain == "none":
        count = 0
    elif isinstance(explain, (int, np.integer)) and explain >= 0:
        count = min(int(explain), n)
    else:
        raise ParameterError(f"The 'explain' parameter must be 'auto', 'all', 'none' or a number of customers. "
                             f"Got {explain!r} instead.", code="bad_parameter", name="explain", value=explain)
    order = np.argsort(-proba, kind="stable")[:count]
    base = pd.DataFrame({"row_index": np.arange(n), "probability": proba, "probability_raw": raw,
                         "explained": False})
    base_probability = None
    if count:
        reasons, base_probability = _reasons(model, frame, order)
        base = base.merge(reasons, on="row_index", how="left")
        base["explained"] = base["reason_1"].notna()
    base = _pad_reasons(base)
    return _with_ids(base, dataset), _derived(model, frame), shap_units(model), base_probability


def _probabilities(model, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated and uncalibrated churn probabilities, from one pass of the model."""
    if hasattr(model, "calibrator_"):
        from .modeling import apply_calibrator

        raw = np.asarray(model.predict_raw(frame), dtype=float)
        return np.asarray(apply_calibrator(model.calibrator_, raw), dtype=float), raw
    proba = np.asarray(model.predict_proba(frame)[:, 1], dtype=float)
    return proba, proba


def _reasons(model, frame: pd.DataFrame, rows: np.ndarray) -> tuple[pd.DataFrame, float]:
    """The stored reasons (``row_index`` and reason columns) of the customers at ``rows``, and the base."""
    from .explain import explain_customers

    reasons = explain_customers(model, frame.iloc[rows], top_k=STORED_REASONS, background=_background(frame))
    table = reasons.table
    table["row_index"] = np.asarray(rows)[table.pop("row").to_numpy()]
    return _pad_reasons(table), reasons.base_probability


def _background(frame: pd.DataFrame) -> pd.DataFrame:
    """The reference customers of the linear explainer: a seeded sample, so a customer's reasons
    are the same whether explained in bulk or alone."""
    return frame.sample(n=min(1000, len(frame)), random_state=0) if len(frame) > 1000 else frame


def _pad_reasons(frame: pd.DataFrame) -> pd.DataFrame:
    for k in range(1, STORED_REASONS + 1):
        for col, dtype in ((f"reason_{k}", object), (f"reason_{k}_value", object), (f"reason_{k}_points", float)):
            if col not in frame:
                frame[col] = pd.Series(np.nan if dtype is float else None, index=frame.index, dtype=dtype)
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
    """Tier, due time, value, value band, segment, priority and action for each scored customer."""
    from .analysis import segment_masks

    base = base.rename(columns={"row": "row_index", "id": "customer_id"})  # a scored frame can be re-policied
    out = base[[c for c in base.columns if c in SCORE_COLUMNS]].copy()
    out.insert(0, "row", out.pop("row_index"))
    out.insert(1, "id", out.pop("customer_id"))
    tier = assign_tiers(out["probability"].to_numpy(), tiers=policy.tiers)
    by_key = {t.key: t for t in policy.tiers}
    out["tier"] = pd.Categorical(tier, categories=[t.key for t in policy.tiers])
    out["due_hours"] = pd.array([by_key[k].due_hours for k in tier], dtype="Int64")
    out["channel"] = pd.Categorical([by_key[k].channel for k in tier], categories=list(CHANNELS))
    value = dataset.value()
    if value is None:
        out["value"] = float(policy.ltv)
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
    out["priority"] = (out["probability"] * out["value"] * policy.retention_likelihood / policy.contact_cost)
    out["action"] = _actions(out, dataset, derived, policy)
    return out


def resolve_ref(ref: str, *, roles: ColumnRoles, sources) -> set[str]:
    """The sources (columns or derived features) a playbook or segment reference names."""
    import re

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


def xlsx_bytes(frame: pd.DataFrame, *, sheet: str = "risk") -> bytes:
    """A spreadsheet-safe XLSX workbook as bytes (formula-like text is stored as text, prefixed with ')."""
    import io

    buffer = io.BytesIO()
    safe = neutralise_formulas(frame)
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        safe.to_excel(writer, index=False, sheet_name=sheet[:31])
        sheet_ = writer.sheets[sheet[:31]]
        for row in sheet_.iter_rows(min_row=1):
            for cell in row:
                if cell.data_type == "f":  # openpyxl treats any text starting with = as a formula
                    cell.data_type = "s"
    return buffer.getvalue()
