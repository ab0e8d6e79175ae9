"""The risk explorer over scored customers: filters, KPIs, the call list, one customer's profile.

Everything here works on a :class:`~churn_core.scoring.ScoredCustomers` and is vectorised
with numpy, so a filter change over a million scored customers stays well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._labels import check_language, reason_sentences
from ._stats import wilson_interval
from .errors import ParameterError
from .i18n import has_key, text
from .roles import flag_codes
from .scoring import STORED_REASONS, RiskPolicy, ScoredCustomers, csv_bytes, xlsx_bytes

SORT_KEYS = ("priority", "probability", "value")


@dataclass(frozen=True, kw_only=True)
class RiskFilter:
    """Which scored customers to show. Empty tuples and ``None`` mean "no restriction"."""

    tiers: tuple[str, ...] = ()
    probability: tuple[float, float] = (0.0, 1.0)
    flags: tuple[tuple[str, bool], ...] = ()  # (plan flag column, customer has the plan)
    categories: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (column, allowed values)
    service_calls: tuple[float, float] | None = None
    value_bands: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    top_reasons: tuple[str, ...] = ()  # sources of the first reason
    actions: tuple[str, ...] = ()
    status: str = "active"  # active (the call list), churned (those the data says already left) or all


@dataclass(frozen=True, eq=False)
class RiskSelection:
    """The customers a filter keeps, and its KPI strip."""

    scored: ScoredCustomers
    mask: np.ndarray = field(repr=False)

    @property
    def customers(self) -> int:
        return int(self.mask.sum())

    @property
    def expected_churners(self) -> float:
        """The sum of the churn probabilities: how many of these customers are expected to leave."""
        return float(self.scored.arrays["probability"][self.mask].sum())

    @property
    def value_at_risk(self) -> float | None:
        """The expected value at risk, the sum of probability x value (None when customers have no value)."""
        if not self.scored.has_value:
            return None
        a = self.scored.arrays
        return float((a["probability"][self.mask] * a["value"][self.mask]).sum())

    def due_within(self, hours: float) -> int:
        """How many selected customers must be contacted within ``hours``."""
        due = self.scored.frame["due_hours"].to_numpy(dtype=float, na_value=np.inf)
        return int((self.mask & (due <= hours)).sum())

    def rows(self, *, sort: str | None = "priority", limit: int | None = None) -> np.ndarray:
        """Positions of the selected customers, highest ``sort`` first (ties in row order);
        ``sort=None`` keeps the dataset's row order."""
        if sort is None:
            return np.flatnonzero(self.mask)[:limit]
        if sort not in SORT_KEYS:
            raise ParameterError(f"The 'sort' parameter must be one of {list(SORT_KEYS)}. Got {sort!r} instead.",
                                 code="bad_parameter", name="sort", value=sort)
        rows = np.flatnonzero(self.mask)
        key = -self.scored.arrays[sort][rows]
        if limit is not None and limit < rows.size:
            keep = np.argpartition(key, limit - 1)[:limit]
            rows, key = rows[keep], key[keep]
        return rows[np.lexsort((rows, key))]

    def table(self, *, sort: str | None = "priority", limit: int | None = 500) -> pd.DataFrame:
        """The call list: the selected rows of the scored frame, best first."""
        return self.scored.frame.iloc[self.rows(sort=sort, limit=limit)].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        return self.table(limit=None)


def filter_customers(scored: ScoredCustomers, *, where: RiskFilter = RiskFilter()) -> RiskSelection:
    """The customers matching every condition of ``where``."""
    frame, data = scored.frame, scored.dataset.frame
    p = scored.arrays["probability"]
    low, high = where.probability
    if not 0 <= low <= high <= 1:
        raise ParameterError(f"The probability range must satisfy 0 <= low <= high <= 1. Got {where.probability} "
                             "instead.", code="bad_parameter", name="probability", value=list(where.probability))
    if where.status not in ("active", "churned", "all"):
        raise ParameterError(f"The 'status' filter must be 'active', 'churned' or 'all'. Got {where.status!r} "
                             "instead.", code="bad_parameter", name="status", value=where.status)
    mask = (p >= low) & (p <= high)
    if where.status != "all":
        mask &= scored.active if where.status == "active" else ~scored.active
    for column, values in (("tier", where.tiers), ("value_band", where.value_bands), ("segment", where.segments),
                           ("action", where.actions)):
        if values:
            mask &= _in(frame[column], values)
    for column, has in where.flags:
        mask &= _flag(scored, column) == (1 if has else 0)
    for column, values in where.categories:
        _require(scored, column)
        mask &= _in(data[column], values)
    if where.service_calls is not None:
        column = scored.dataset.roles.service_calls
        if column is None:
            raise ParameterError("The dataset has no service-call column, so it cannot be filtered by service "
                                 "calls. Map one in the role mapping, or drop that filter.",
                                 code="bad_parameter", name="service_calls", value=list(where.service_calls))
        x = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
        mask &= (x >= where.service_calls[0]) & (x <= where.service_calls[1])
    if where.top_reasons:
        mask &= np.isin(frame["reason_1"].to_numpy(dtype=object), list(where.top_reasons))
    return RiskSelection(scored, mask)


def _in(column: pd.Series, values) -> np.ndarray:
    if isinstance(column.dtype, pd.CategoricalDtype):
        wanted = [i for i, c in enumerate(column.cat.categories) if str(c) in {str(v) for v in values}]
        return np.isin(column.cat.codes.to_numpy(), wanted)
    return column.astype(str).isin([str(v) for v in values]).to_numpy()


def _flag(scored: ScoredCustomers, column: str) -> np.ndarray:
    _require(scored, column)
    return scored.flag_values(column)


def _require(scored: ScoredCustomers, column: str) -> None:
    if column not in scored.dataset.frame:
        raise ParameterError(f"Cannot filter on '{column}': the dataset has no such column. Received "
                             f"{list(scored.dataset.frame.columns)[:12]}.", code="bad_parameter", name="column",
                             value=column)


# -- the call list in words -------------------------------------------------------------------------------

def call_list(selection: RiskSelection, *, lang: str = "en", sort: str | None = "priority", limit: int | None = None,
              currency: str = "") -> pd.DataFrame:
    """The selected customers as the call centre reads them: id, probability, tier, due time, priority,
    value, reasons in words and the action (export this one). ``currency`` prefixes the amounts a visit
    log's reasons name ("Spent ¥2,300 in the last 12 months")."""
    return in_words(selection.scored, selection.table(sort=sort, limit=limit), lang=lang, currency=currency)


def in_words(scored: ScoredCustomers, table: pd.DataFrame, *, lang: str = "en", currency: str = "") -> pd.DataFrame:
    """Rows of the scored frame (``RiskSelection.table``) as the call list's columns, reasons in words
    (a visit log's from the customer's own values: "No visit for 142 days, 2.3× their usual gap"; amounts
    with ``currency``).

    ``base_probability`` + ``reason_k_pts`` (k = 1..3) + ``other_pts`` = ``churn_probability`` (points as
    fractions of 1). Churned customers keep their probability but have no tier, priority, reasons or action.
    """
    check_language(lang)
    rows = table["row"].to_numpy()
    out = pd.DataFrame({"id": table["id"].astype(str), "status": table["status"].astype(str),
                        "churn_probability": table["probability"].round(4),
                        "risk_tier": table["tier"].astype(str), "due_within_hours": table["due_hours"],
                        "priority": table["priority"].round(2), "value": table["value"].round(2),
                        "scored_by": table["scored_by"].astype(str),
                        "base_probability": round(float(scored.base_probability or 0.0), 4)})
    own = {"frame": scored.dataset.frame, "rows": rows, "currency": currency}  # the customers' other columns
    for k in range(1, STORED_REASONS + 1):
        out[f"reason_{k}"] = reason_sentences(table[f"reason_{k}"], table[f"reason_{k}_value"],
                                              table[f"reason_{k}_points"].to_numpy(), roles=scored.dataset.roles,
                                              lang=lang, quantiles=_quantiles(scored, table[f"reason_{k}"], rows),
                                              **own)
        out[f"reason_{k}_pts"] = table[f"reason_{k}_points"].round(4)
    out["other_pts"] = table["other_points"].round(4)
    protective = reason_sentences(table["protective"], table["protective_value"],
                                  table["protective_points"].to_numpy(), roles=scored.dataset.roles, lang=lang,
                                  quantiles=_quantiles(scored, table["protective"], rows), **own)
    out["protective"] = protective
    words = {key: scored.policy.action_text(key, lang=lang) for key in table["action"].cat.categories}
    out["action"] = table["action"].astype(object).map(words)
    return out


# -- the call list for people: the page's CSV and Excel exports ----------------------------------------------

PERCENT, MONEY, HOURS = "0.0%", "#,##0.00", "0"  # Excel number formats of the people's export
# machine column -> (catalog key of its header, Excel number format); reason_k and reason_k_pts are added below
_PEOPLE_COLUMNS: dict[str, tuple[str, str | None]] = {
    "status": ("export.status", None), "churn_probability": ("export.probability", PERCENT),
    "risk_tier": ("export.tier", None), "due_within_hours": ("export.due_hours", HOURS),
    "priority": ("export.priority", MONEY), "value": ("export.value", MONEY),
    "scored_by": ("export.scored_by", None), "base_probability": ("export.base_probability", PERCENT),
    "other_pts": ("export.other_points", PERCENT), "protective": ("export.protective", None),
    "action": ("export.action", None)}


@dataclass(frozen=True, eq=False)
class PeopleExport:
    """The call list as people read it (the Risk page's CSV and Excel exports): headers, statuses, tiers and
    who scored each customer in the reader's language.

    ``frame`` keeps probabilities and points as fractions of 1; the Excel file shows them in percent
    (``number_formats``), the CSV writes them in percent (83.12 for 0.8312), as their headers say.
    The machine-readable list with English keys is :func:`call_list` (what ``python -m churn_core score`` writes).
    """

    frame: pd.DataFrame
    number_formats: dict[str, str]
    sheet: str

    @property
    def percent_columns(self) -> list[str]:
        return [c for c, f in self.number_formats.items() if f == PERCENT]

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    def csv_bytes(self) -> bytes:
        """A spreadsheet-safe CSV (UTF-8 with BOM), probabilities and points in percent."""
        out = self.frame.copy()
        for column in self.percent_columns:
            out[column] = (out[column] * 100).round(2)
        return csv_bytes(out)

    def xlsx_bytes(self) -> bytes:
        """A spreadsheet-safe workbook: frozen header, autofilter, fitted widths, percent and money formats."""
        return xlsx_bytes(self.frame, sheet=self.sheet, number_formats=self.number_formats)


def call_list_for_people(selection: RiskSelection, *, lang: str = "en", sort: str | None = "priority",
                         limit: int | None = None, currency: str = "") -> PeopleExport:
    """The call list (:func:`call_list`) with headers and words in ``lang`` for the people who export it;
    the value's header names ``currency`` (the dataset's, :meth:`churn_core.store.Store.currency`).

    The first column is the dataset's id column ("Customer ID"); a dataset without one gets the 1-based row
    number, and the header says so.
    """
    check_language(lang)
    scored = selection.scored
    machine = call_list(selection, lang=lang, sort=sort, limit=limit, currency=currency)
    roles = scored.dataset.roles
    has_id = bool(roles.id) and roles.id in scored.dataset.frame
    columns: dict[str, tuple[str, str | None]] = {
        "id": (text("export.id" if has_id else "export.row_number", lang=lang), None)}
    for name in machine.columns[1:]:
        if name in _PEOPLE_COLUMNS:
            key, number_format = _PEOPLE_COLUMNS[name]
            columns[name] = (text(key, lang=lang, currency=currency or "–") if name == "value" else
                             text(key, lang=lang), number_format)
        elif name.endswith("_pts"):
            columns[name] = (text("export.reason_points", lang=lang, k=name.split("_")[1]), PERCENT)
        else:
            columns[name] = (text("export.reason", lang=lang, k=name.split("_")[1]), None)
    out = machine.copy()
    if not has_id:
        out["id"] = pd.to_numeric(out["id"]).astype("int64")
    for name, prefix in (("status", "export.status."), ("risk_tier", "risk.tier."), ("scored_by", "export.by.")):
        words = {v: text(prefix + v, lang=lang) if has_key(prefix + v) else v for v in out[name].unique()}
        out[name] = out[name].map(words)
    out.columns = [header for header, _ in columns.values()]
    formats = {header: f for header, f in columns.values() if f is not None}
    return PeopleExport(out, formats, text("export.sheet", lang=lang))


def explanation_in_words(scored: ScoredCustomers, row: int, explanation, *, lang: str = "en", top: int = 3,
                         protective: int = 2, currency: str = "") -> tuple[list[str], list[str]]:
    """One customer's reasons in words: the ``top`` drivers raising the risk, then (apart) the ``protective``
    drivers lowering it most, each with its place among all customers (a visit log's reasons from the
    customer's own values, amounts with ``currency``)."""
    check_language(lang)
    out = []
    for part in (explanation.raises.head(top), explanation.protective.head(protective)):
        rows = np.full(len(part), int(row))
        out.append(list(reason_sentences(part["source"], part["value"], part["points"].to_numpy(),
                                         roles=scored.dataset.roles, lang=lang,
                                         quantiles=_quantiles(scored, part["source"], rows),
                                         frame=scored.dataset.frame, rows=rows, currency=currency)))
    return out[0], out[1]


def _quantiles(scored: ScoredCustomers, sources: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The share of all customers below each row's value of its reason's source (mid-rank; NaN for plans,
    categories and missing values)."""
    q = np.full(len(rows), np.nan)
    names = sources.to_numpy(dtype=object)
    for source in pd.unique(names[pd.notna(names)]):
        ordered = scored.sorted_values(str(source))
        if ordered is None or ordered.size == 0:
            continue
        at = names == source
        x = scored.numeric_values(str(source))[rows[at]]
        low = np.searchsorted(ordered, x, side="left")
        high = np.searchsorted(ordered, x, side="right")
        q[at] = np.where(np.isnan(x), np.nan, (low + high) / 2 / ordered.size)
    return q


# -- one customer --------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, kw_only=True)
class SimilarCustomers:
    """Customers who share this customer's top reasons (same plan, same band of a number)."""

    clauses: tuple[tuple[str, str], ...]  # (source, the customer's value or band, as text)
    customers: int
    churners: int | None  # None when the dataset has no target
    churn_rate: float | None
    ci_low: float | None
    ci_high: float | None
    mean_probability: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])


@dataclass(frozen=True, eq=False, kw_only=True)
class CustomerProfile:
    """Everything the customer panel shows for one scored customer."""

    row: int
    customer_id: str
    probability: float
    tier: str
    due_hours: int | None
    priority: float
    value: float
    explanation: object  # churn_core.explain.CustomerExplanation
    actions: tuple[str, ...]  # action keys, the recommended one first
    population: pd.DataFrame  # source, value, median, percentile for the top numeric sources
    similar: SimilarCustomers | None

    def to_frame(self) -> pd.DataFrame:
        return self.explanation.to_frame()


def customer_profile(scored: ScoredCustomers, row: int, *, model, top: int = 6, min_similar: int = 30
                     ) -> CustomerProfile:
    """The profile of the customer at position ``row``: exact SHAP contributions, actions, how the
    customer compares with everyone, and how customers like them behaved."""
    from .explain import explain_customer
    from .scoring import _background

    n = len(scored.frame)
    if not isinstance(row, (int, np.integer)) or not 0 <= row < n:
        raise ParameterError(f"The 'row' parameter must be a position from 0 to {n - 1}. Got {row!r} instead.",
                             code="bad_parameter", name="row", value=row)
    from .explain import model_kind

    data = scored.dataset.frame
    scorer = scored.scorer
    fit = model if scorer is None else scorer.fit_for(row)
    background = _background(data) if model_kind(fit) == "logistic_regression" else None
    calibrate = scorer.calibrate if scorer is not None else getattr(model, "calibrate", None)
    explanation = explain_customer(fit, data.iloc[[row]], background=background, calibrate=calibrate,
                                   mean_probability=scored.base_probability)
    record = scored.frame.iloc[row]
    top_sources = explanation.table.head(top)
    population = _population(scored, row, top_sources["source"])
    similar = _similar(scored, row, explanation.table, min_similar=min_similar)
    return CustomerProfile(row=int(row), customer_id=str(record["id"]), probability=float(record["probability"]),
                           tier=str(record["tier"]),
                           due_hours=None if pd.isna(record["due_hours"]) else int(record["due_hours"]),
                           priority=float(record["priority"]) if pd.notna(record["priority"]) else float("nan"),
                           value=float(record["value"]), explanation=explanation,
                           actions=_profile_actions(scored, row, explanation.table), population=population,
                           similar=similar)


def _profile_actions(scored: ScoredCustomers, row: int, table: pd.DataFrame) -> tuple[str, ...]:
    """The recommended action, then every other playbook action the customer's risk-raising reasons call for."""
    from .scoring import flag_allows, quantiles_allow, resolve_ref

    first = str(scored.frame["action"].iloc[row])
    sources = [*scored.dataset.frame.columns, *scored.derived.columns]
    more = []
    raising = table[table["points"] > 0]
    for rule in scored.policy.playbook:
        targets = resolve_ref(rule.ref, roles=scored.dataset.roles, sources=sources)
        hit = raising[raising["source"].isin(targets)]
        if hit.empty:
            continue
        source = str(hit["source"].iloc[0])
        if not flag_allows(rule, flag_codes(hit["value"].iloc[:1]))[0]:
            continue
        ordered = scored.sorted_values(source)
        if ordered is not None and not quantiles_allow(rule, scored.numeric_values(source)[row], ordered):
            continue
        more.append(rule.key)
    if first in ("monitor", "none"):
        return (first,)
    return tuple(dict.fromkeys([first, *more]))


def _numeric(scored: ScoredCustomers, source: str, *, row: int | None = None):
    """A numeric source's values (or its value at ``row``); None for plans and categories."""
    if source in scored.dataset.roles.plan_flags or source in scored.dataset.roles.categorical:
        return None
    values = scored.numeric_values(source)
    return float(values[row]) if row is not None else values


def _population(scored: ScoredCustomers, row: int, sources) -> pd.DataFrame:
    rows = []
    for source in sources:
        ok = scored.sorted_values(source)
        if ok is None or ok.size == 0:
            continue
        v = _numeric(scored, source, row=row)
        if np.isnan(v):
            continue
        below, upto = np.searchsorted(ok, v, side="left"), np.searchsorted(ok, v, side="right")
        percentile = float((below + 0.5 * (upto - below)) / ok.size)
        rows.append((source, float(v), float(ok[(ok.size - 1) // 2] + ok[ok.size // 2]) / 2, percentile))
    return pd.DataFrame(rows, columns=["source", "value", "median", "percentile"])


def _similar(scored: ScoredCustomers, row: int, table: pd.DataFrame, *, min_similar: int) -> SimilarCustomers | None:
    """Customers sharing the customer's two strongest risk-raising reasons: the same value of a plan or
    category, or the same quintile band of a number. A clause that leaves fewer than ``min_similar``
    customers is dropped."""
    mask = np.ones(len(scored.frame), dtype=bool)
    clauses = []
    for source, value in table.loc[table["points"] > 0, ["source", "value"]].head(2).itertuples(index=False):
        x = _numeric(scored, source)
        if x is None:
            column = scored.source_values(source)
            if source in scored.dataset.roles.plan_flags:
                codes = scored.flag_values(source)
                clause, text = codes == codes[row], str(value)
            else:
                codes = column.cat.codes.to_numpy() if isinstance(column.dtype, pd.CategoricalDtype) else \
                    pd.factorize(column)[0]
                clause, text = codes == codes[row], str(column.iloc[row])
        else:
            v = x[row]
            ordered = scored.sorted_values(source)
            edges = np.unique(ordered[np.round(np.linspace(0, 1, 6) * (ordered.size - 1)).astype(int)])
            i = int(np.clip(np.searchsorted(edges, v, side="right") - 1, 0, max(len(edges) - 2, 0)))
            lo, hi = edges[i], edges[min(i + 1, len(edges) - 1)]
            last = i + 1 >= len(edges) - 1
            with np.errstate(invalid="ignore"):
                clause = (x >= lo) & ((x <= hi) if last else (x < hi))
            text = f"{lo:g}–{hi:g}"
        if (mask & clause).sum() >= min_similar:
            mask &= clause
            clauses.append((str(source), text))
    if not clauses:
        return None
    p = scored.arrays["probability"][mask]
    customers = int(mask.sum())
    if scored.dataset.has_target:
        churners = int(scored.dataset.target().to_numpy()[mask].sum())
        low, high = wilson_interval(churners, customers)
        return SimilarCustomers(clauses=tuple(clauses), customers=customers, churners=churners,
                                churn_rate=churners / customers, ci_low=float(low), ci_high=float(high),
                                mean_probability=float(p.mean()))
    return SimilarCustomers(clauses=tuple(clauses), customers=customers, churners=None, churn_rate=None, ci_low=None,
                            ci_high=None, mean_probability=float(p.mean()))


# -- two runs' scores ---------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ScoreComparison:
    """How two score sets of the same customers differ."""

    transitions: pd.DataFrame  # rows: tier under A, columns: tier under B, values: customers
    spearman: float
    mean_abs_change: float  # in probability
    top_overlap: float  # share of A's riskiest 10% also in B's riskiest 10%

    def to_frame(self) -> pd.DataFrame:
        return self.transitions.copy()


def compare_scores(a: pd.DataFrame, b: pd.DataFrame, *, policy: RiskPolicy | None = None,
                   top_share: float = 0.1) -> ScoreComparison:
    """Compare two score sets (``Store.load_scores``) of the same dataset version, on the customers still
    here in both (those the data says churned have no tier)."""
    from scipy import stats

    from .scoring import assign_tiers

    policy = policy or RiskPolicy()
    if len(a) != len(b) or not np.array_equal(a["row_index"].to_numpy(), b["row_index"].to_numpy()):
        raise ParameterError(f"Score sets can only be compared on the same customers. Got {len(a)} and {len(b)} "
                             "rows with different row positions; compare score sets of one dataset version.",
                             code="bad_parameter", name="scores", value=[len(a), len(b)])
    active = np.ones(len(a), dtype=bool)
    for scores in (a, b):
        if "status" in scores:
            active &= (scores["status"].astype(str) != "churned").to_numpy()
    pa, pb = a["probability"].to_numpy()[active], b["probability"].to_numpy()[active]
    keys = [t.key for t in policy.tiers]
    ta = pd.Categorical(assign_tiers(pa, tiers=policy.tiers), categories=keys)
    tb = pd.Categorical(assign_tiers(pb, tiers=policy.tiers), categories=keys)
    transitions = pd.crosstab(ta, tb, dropna=False).reindex(index=keys, columns=keys, fill_value=0)
    transitions.index.name, transitions.columns.name = "tier_a", "tier_b"
    k = max(1, int(round(top_share * len(pa))))
    top_a = set(np.argsort(-pa, kind="stable")[:k])
    top_b = set(np.argsort(-pb, kind="stable")[:k])
    rho = stats.spearmanr(pa, pb).statistic if len(pa) > 1 else float("nan")
    return ScoreComparison(transitions, float(rho), float(np.abs(pa - pb).mean()), len(top_a & top_b) / k)
