"""Rolling-window labels and as-of features over an event log, as DuckDB SQL.

At a cut-off date t (a day; events dated t count as before it):

- a customer is *eligible* when they have an event in (t - L, t], and *lapsed* (not scored, counted
  apart) when their last event is on or before t - L;
- an eligible customer *churned* when they have no qualifying visit in (t, t + H];
- every feature uses events dated on or before t only.

All of it is set-based SQL over the events as an Arrow table that DuckDB scans in place (no copy), with customer
ids as integer codes and the events in time order: one pass per cut-off over the slice of events of
(t - 365, t + H], and the all-history figures carried from one cut-off to the next. No Python loop over
customers, and no join of every cut-off with every earlier event (1M customers and 20M events at 12
cut-offs: see bench/events.py).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import duckdb
import numpy as np
import pandas as pd

from ..errors import ParameterError, SchemaError
from .log import AMOUNT, ID, TIME, TYPE, EventLog

if TYPE_CHECKING:
    import pyarrow as pa

logger = logging.getLogger(__name__)

# Lifecycle stages by tenure in months: new 0-6, growth 6-18, mature 18-36, decline 36+.
STAGES = (("new", 6), ("growth", 18), ("mature", 36), ("decline", None))
_DAYS_PER_MONTH = 365.25 / 12
_MAX_TYPE_COLUMNS = 20


@dataclass(frozen=True, kw_only=True)
class EventWindow:
    """The label definition: window H, eligibility lookback L, cut-off spacing, minimum history before the
    first cut-off, and which event types count as a visit (None: every event)."""

    window_days: int = 120
    lookback_days: int = 365
    spacing: Literal["month"] | int = "month"  # "month" (month ends) or a number of days
    min_history_days: int = 180
    visit_types: tuple[str, ...] | None = None
    basic_type: str | None = None  # the most basic service; None: the commonest type before the first cut-off

    def __post_init__(self) -> None:
        for name in ("window_days", "lookback_days", "min_history_days"):
            value = getattr(self, name)
            low = 0 if name == "min_history_days" else 1
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ParameterError(
                    f"The event window's '{name}' must be a whole number of days, at least {low}. "
                    f"Got {value!r}.", code="bad_parameter", name=name, value=value)
        if self.spacing != "month" and (isinstance(self.spacing, bool) or not isinstance(self.spacing, int)
                                        or self.spacing < 1):
            raise ParameterError(
                f"The cut-off spacing must be 'month' or a whole number of days, at least 1. Got "
                f"{self.spacing!r}.", code="bad_parameter", name="spacing", value=self.spacing)
        if self.visit_types is not None:
            object.__setattr__(self, "visit_types", tuple(str(v) for v in self.visit_types))

    def to_dict(self) -> dict:
        return {"window_days": self.window_days, "lookback_days": self.lookback_days, "spacing": self.spacing,
                "min_history_days": self.min_history_days,
                "visit_types": list(self.visit_types) if self.visit_types is not None else None}


@dataclass(frozen=True, kw_only=True)
class Cutoffs:
    """Cut-off dates whose label window has fully elapsed (t + H on or before the log's last date)."""

    dates: tuple[pd.Timestamp, ...]
    window: EventWindow
    first_date: pd.Timestamp | None
    last_date: pd.Timestamp | None

    def to_frame(self) -> pd.DataFrame:
        dates = pd.to_datetime(list(self.dates))
        return pd.DataFrame({"cutoff": dates, "window_end": dates + pd.Timedelta(days=self.window.window_days)})

    def __len__(self) -> int:
        return len(self.dates)


@dataclass(frozen=True, kw_only=True)
class LabelledEvents:
    """One row per (eligible customer, cut-off): ``customer_id`` (string), ``cutoff`` (datetime64), the
    features (float32, NaN where missing; ``lifecycle_stage`` text; the customer table's attributes as read),
    ``churned`` (Int64 1/0; missing when the window has not elapsed) and ``labelled``. ``population`` counts
    per cut-off the customers seen, eligible, lapsed and churned; ``lapsed`` lists the lapsed customers apart."""

    frame: pd.DataFrame
    population: pd.DataFrame
    lapsed: pd.DataFrame
    window: EventWindow
    cutoffs: tuple[pd.Timestamp, ...]
    feature_names: tuple[str, ...]
    basic_type: str | None = None
    type_columns: dict[str, str] = field(default_factory=dict)  # feature column -> event type

    def to_frame(self) -> pd.DataFrame:
        return self.frame

    def features(self) -> pd.DataFrame:
        return self.frame[["customer_id", "cutoff", *self.feature_names]]


def cutoffs(log: EventLog, *, window: EventWindow = EventWindow()) -> Cutoffs:
    """The cut-offs of a log whose label window has fully elapsed; see :func:`_cutoffs`."""
    return _cutoffs(log, window)


def _cutoffs(log: EventLog, window: EventWindow) -> Cutoffs:
    """The cut-offs of a log whose label window has fully elapsed: month ends (or every ``spacing`` days)
    from the first one at least ``min_history_days`` after the first event, to the last t with
    t + H on or before the last event date."""
    first, last = log.first_date, log.last_date
    if first is None:
        return Cutoffs(dates=(), window=window, first_date=None, last_date=None)
    start = first + pd.Timedelta(days=window.min_history_days)
    end = last - pd.Timedelta(days=window.window_days)
    if end < start:
        dates: list[pd.Timestamp] = []
    elif window.spacing == "month":
        dates = list(pd.date_range(start, end, freq="ME"))
    else:
        dates = list(pd.date_range(start, end, freq=f"{int(window.spacing)}D"))
    return Cutoffs(dates=tuple(pd.Timestamp(d).normalize() for d in dates), window=window, first_date=first,
                   last_date=last)


def _slug(value: str, taken: set[str]) -> str:
    base = re.sub(r"[^0-9a-zA-Z]+", "_", value).strip("_").lower() or "other"
    name, i = f"type_{base}_12m", 2
    while name in taken:
        name, i = f"type_{base}_{i}_12m", i + 1
    taken.add(name)
    return name


def _events_table(log: EventLog, window: EventWindow) -> pd.DataFrame:
    frame = log.frame
    events = pd.DataFrame({
        "cid": frame[ID].astype(object),
        "d": frame[TIME].dt.normalize(),
        "amount": frame[AMOUNT].astype(float),
        "etype": frame[TYPE].astype(object),
    })
    events = events[events["cid"].notna() & events["d"].notna()]
    if window.visit_types is None:
        events["visit"] = True
    else:
        events["visit"] = events["etype"].isin(window.visit_types)
    return events.reset_index(drop=True)


_BOOL_TEXT = {"true": 1, "false": 0, "yes": 1, "no": 0, "y": 1, "n": 0, "t": 1, "f": 0, "1": 1, "0": 0}
_MAX_EXTRA_COLUMNS = 20
_DAY_NS = 86_400 * 10**9


@dataclass
class _Extra:
    """An extra event column turned into features: ``kind`` "bool" (codes 1/0, -1 missing) or "number"."""

    column: str
    kind: Literal["bool", "number"]
    values: np.ndarray | None  # dropped once the events table holds them
    names: tuple[str, ...]  # bool: (<col>_365d[, <col>_false_365d]); number: (<col>_last, <col>_mean_365d)


def _bool_codes(values: pd.Series) -> np.ndarray | None:
    """1/0 for a boolean-like column (True/False, 0/1, yes/no), -1 where missing; None for any other column."""
    if pd.api.types.is_bool_dtype(values):
        present = values.notna().to_numpy()
        codes = np.full(len(values), -1, dtype=np.int8)
        codes[present] = values[present].astype(bool).to_numpy()
        return codes
    if pd.api.types.is_datetime64_any_dtype(values):
        return None
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        seen = np.unique(numbers[~np.isnan(numbers)])
        if len(seen) == 0 or not np.isin(seen, (0.0, 1.0)).all():
            return None
        return np.where(np.isnan(numbers), -1, numbers).astype(np.int8)
    codes, uniques = pd.factorize(values)
    words = [str(u).strip().lower() for u in uniques]
    if not words or len(words) > 4 or any(w not in _BOOL_TEXT for w in words):
        return None
    lookup = np.array([_BOOL_TEXT[w] for w in words] + [-1], dtype=np.int8)
    return lookup[codes]  # code -1 (missing) picks the last entry


_PROFILE_VALUES = 4  # distinct values a column profile keeps (more: it cannot be boolean-like)


def _column_profile(values: pd.Series) -> dict:
    """What deciding an extra column's features needs of it: its kind of dtype, how many values are present,
    whether any is missing, and its distinct values while they are few (None: more)."""
    present = int(values.notna().sum())
    seen: list | None = None
    if pd.api.types.is_bool_dtype(values):
        kind = "bool"
    elif pd.api.types.is_datetime64_any_dtype(values):
        kind = "datetime"
    elif pd.api.types.is_complex_dtype(values):
        kind = "complex"
    elif pd.api.types.is_numeric_dtype(values):
        kind = "numeric"
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        unique = np.unique(numbers[~np.isnan(numbers)])
        seen = [float(v) for v in unique] if len(unique) <= _PROFILE_VALUES else None
    else:
        kind = "other"
        uniques = pd.unique(values.dropna())
        seen = [str(u) for u in uniques] if len(uniques) <= _PROFILE_VALUES else None
    return {"kind": kind, "present": present, "missing": bool(present < len(values)), "values": seen}


def _merge_columns(a: dict, b: dict) -> dict:
    values = None
    if a["values"] is not None and b["values"] is not None:
        values = list(dict.fromkeys([*a["values"], *b["values"]]))
        values = values if len(values) <= _PROFILE_VALUES else None
    return {"kind": a["kind"], "present": a["present"] + b["present"], "missing": a["missing"] or b["missing"],
            "values": values}


def _extra_specs(columns: dict[str, dict], taken: set[str]) -> tuple[ExtraSpec, ...]:
    """The extra event columns that make features, from their profiles: boolean-like ones (True/False, 0/1,
    yes/no) and numeric ones, at most ``_MAX_EXTRA_COLUMNS``."""
    specs: list[ExtraSpec] = []

    def name(text: str) -> str:
        out, i = text, 2
        while out in taken:
            out, i = f"{text}_{i}", i + 1
        taken.add(out)
        return out

    for col, p in columns.items():
        if len(specs) >= _MAX_EXTRA_COLUMNS or p["present"] == 0:
            continue
        seen = p["values"]
        boolean = p["kind"] == "bool" or (
            p["kind"] == "numeric" and seen is not None and set(seen) <= {0.0, 1.0}) or (
            p["kind"] == "other" and seen is not None and all(str(v).strip().lower() in _BOOL_TEXT for v in seen))
        if boolean:
            names = (name(f"{col}_365d"),) + ((name(f"{col}_false_365d"),) if p["missing"] else ())
            specs.append(ExtraSpec(column=col, kind="bool", names=names))
        elif p["kind"] == "numeric":
            specs.append(ExtraSpec(column=col, kind="number", names=(name(f"{col}_last"), name(f"{col}_mean_365d"))))
    return tuple(specs)


def _extra_values(values: pd.Series, kind: str) -> np.ndarray:
    if kind == "number":
        return values.to_numpy(dtype=float, na_value=np.nan)
    codes = _bool_codes(values)
    return np.full(len(values), -1, dtype=np.int8) if codes is None else codes  # None: every value missing here


@dataclass(frozen=True, kw_only=True)
class ExtraSpec:
    """An extra event column that makes features: ``kind`` "bool" or "number", and its feature names."""

    column: str
    kind: Literal["bool", "number"]
    names: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class LogSettings:
    """What :func:`label_and_features` works out over the whole log, fixed up front so that parts of a log
    (customer buckets, labelled apart) give the rows the whole log would: its last date (which cut-offs are
    labelled), whether it has event types, the basic type and the typed feature columns (the commonest types
    before the first cut-off), and the extra columns that make features."""

    last_date: pd.Timestamp | None
    has_type: bool
    basic_type: str | None
    type_values: tuple[str, ...]
    extras: tuple[ExtraSpec, ...]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"last_date": self.last_date, "has_type": self.has_type, "basic_type": self.basic_type,
                              "type_values": list(self.type_values),
                              "extras": [e.column for e in self.extras]}])


def log_profile(log: EventLog, *, first_cutoff: pd.Timestamp | None) -> dict:
    """A small summary of a log (or of one part of it) that :func:`merge_profiles` adds up and
    :func:`log_settings` turns into the :class:`LogSettings`: first and last dates, the event types in order of
    first appearance with their counts up to ``first_cutoff``, and a profile of each extra column."""
    frame = log.frame
    types, type_names = pd.factorize(frame[TYPE])
    counts = np.zeros(len(type_names), dtype=np.int64)
    if first_cutoff is not None and len(type_names):
        valid = frame[ID].notna().to_numpy() & frame[TIME].notna().to_numpy() & (types >= 0)
        before = valid & (frame[TIME].dt.normalize() <= pd.Timestamp(first_cutoff).normalize()).to_numpy()
        counts = np.bincount(types[before], minlength=len(type_names))
    return {"first_date": log.first_date, "last_date": log.last_date,
            "types": {str(v): int(c) for v, c in zip(type_names, counts)},
            "columns": {col: _column_profile(frame[col]) for col in frame.columns
                        if col not in (ID, TIME, AMOUNT, TYPE)}}


def merge_profiles(profiles: list[dict], *, type_order: list[str] | None = None) -> dict:
    """One profile of the parts' profiles. The event types keep ``type_order`` (their order of first appearance
    in the whole log; default: the parts' order), which breaks ties between equally common types."""
    dates = [p["first_date"] for p in profiles if p["first_date"] is not None]
    lasts = [p["last_date"] for p in profiles if p["last_date"] is not None]
    types: dict[str, int] = dict.fromkeys(type_order or [], 0)
    columns: dict[str, dict] = {}
    for p in profiles:
        for v, c in p["types"].items():
            types[v] = types.get(v, 0) + c
        for col, cp in p["columns"].items():
            columns[col] = _merge_columns(columns[col], cp) if col in columns else cp
    seen = {v for p in profiles for v in p["types"]}
    return {"first_date": min(dates) if dates else None, "last_date": max(lasts) if lasts else None,
            "types": {v: c for v, c in types.items() if v in seen}, "columns": columns}


def log_settings(profile: dict, *, window: EventWindow = EventWindow(), has_cutoffs: bool = True) -> LogSettings:
    """The :class:`LogSettings` of a (merged) :func:`log_profile`."""
    names, counts = list(profile["types"]), np.array(list(profile["types"].values()), dtype=np.int64)
    basic_type, type_values = window.basic_type, []
    if names and has_cutoffs:
        order = [int(i) for i in np.argsort(-counts, kind="stable") if counts[i] > 0]
        if basic_type is None and order:
            basic_type = names[order[0]]
        type_values = [names[i] for i in order[:_MAX_TYPE_COLUMNS]]
    return LogSettings(last_date=profile["last_date"], has_type=bool(names), basic_type=basic_type,
                       type_values=tuple(type_values), extras=_extra_specs(profile["columns"], set(_BASE_FEATURES)))


@dataclass(kw_only=True)
class _Events:
    """The log as integer arrays sorted by time: customer codes (ids sorted, so code order is id order),
    days since 1970, event type codes (-1 missing) and the extra columns, as an Arrow table that DuckDB scans
    in place (no copy of the events in DuckDB)."""

    table: pa.Table
    ids: np.ndarray
    type_names: list[str]
    extras: list[_Extra]


def _column(table: pa.Table, name: str) -> np.ndarray:
    """A column of the events table as numpy (no copy: the table is one chunk without nulls there)."""
    column = table.column(name)
    return (column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()).to_numpy(zero_copy_only=False)


def _event_arrays(log: EventLog, window: EventWindow, specs: tuple[ExtraSpec, ...]) -> _Events:
    import pyarrow as pa

    frame = log.frame
    codes, ids = pd.factorize(frame[ID], sort=True)
    stamps = frame[TIME].to_numpy(dtype="datetime64[ns]").view(np.int64)
    keep = (codes >= 0) & (stamps != np.iinfo(np.int64).min)
    rows = np.flatnonzero(keep)
    rows = rows[np.argsort(stamps[rows], kind="stable")]  # by time, then row: ``pos`` orders same-day events
    types, type_names = pd.factorize(frame[TYPE])
    et = types[rows].astype(np.int16)
    table = {
        "cid": codes[rows].astype(np.int32),
        "d": np.floor_divide(stamps[rows], _DAY_NS).astype(np.int32),
        "amount": frame[AMOUNT].to_numpy(dtype=float, na_value=np.nan)[rows],
        "et": et,
    }
    if window.visit_types is None:
        table["visit"] = np.ones(len(rows), dtype=bool)
    else:
        wanted = [i for i, v in enumerate(type_names) if str(v) in window.visit_types]
        table["visit"] = np.isin(et, wanted)
    del codes, stamps, types, et
    extras = [_Extra(column=e.column, kind=e.kind, values=None, names=e.names) for e in specs]
    for k, extra in enumerate(extras):
        table[f"x{k}"] = _extra_values(frame[extra.column], extra.kind)[rows]  # only the sorted copy is kept
    if any(e.kind == "number" for e in extras):
        table["pos"] = np.arange(len(rows), dtype=np.int32)
    # NaN is NULL (as in DuckDB's scan of a pandas frame); numbers are wrapped without a copy
    arrow = pa.table({name: pa.array(table.pop(name), from_pandas=True) for name in list(table)})
    return _Events(table=arrow, ids=np.asarray(ids, dtype=object), type_names=[str(v) for v in type_names],
                   extras=extras)


def _state_sql(extras: list[_Extra], basic: int) -> str:
    """Per customer, everything before a cut-off that is not windowed (merged cut-off to cut-off)."""
    parts = ["max(d) AS le", "min(d) AS fe", "max(d) FILTER (WHERE visit) AS lv", "min(d) FILTER (WHERE visit) AS fv",
             "count(*) FILTER (WHERE visit) AS va", f"count(*) FILTER (WHERE visit AND et = {basic}) AS ba",
             "sum(amount) AS sa", "count(amount) AS ca"]
    for k, extra in enumerate(extras):
        if extra.kind == "number":
            parts += [f"max(pos) FILTER (WHERE x{k} IS NOT NULL) AS p{k}",
                      f"arg_max(x{k}, pos) FILTER (WHERE x{k} IS NOT NULL) AS l{k}"]
    return ", ".join(parts)


def _merge_sql(extras: list[_Extra]) -> str:
    parts = ["coalesce(s.cid, n.cid) AS cid", "greatest(s.le, n.le) AS le", "least(s.fe, n.fe) AS fe",
             "greatest(s.lv, n.lv) AS lv", "least(s.fv, n.fv) AS fv"]
    parts += [f"coalesce(s.{c}, 0) + coalesce(n.{c}, 0) AS {c}" for c in ("va", "ba", "ca")]
    parts.append("CASE WHEN s.sa IS NULL THEN n.sa WHEN n.sa IS NULL THEN s.sa ELSE s.sa + n.sa END AS sa")
    for k, extra in enumerate(extras):
        if extra.kind == "number":
            parts += [f"greatest(s.p{k}, n.p{k}) AS p{k}",
                      f"CASE WHEN n.p{k} IS NOT NULL THEN n.l{k} ELSE s.l{k} END AS l{k}"]
    return ", ".join(parts)


def _window_sql(extras: list[_Extra], type_codes: list[int], t: int, H: int, cids: tuple[int, int]) -> str:
    """Per customer, the counts and sums over windows ending at t, and the visits in (t, t + H]."""
    past = f"d <= {t}"
    parts = [f"count(*) FILTER (WHERE visit AND d > {t - 90} AND {past}) AS v90",
             f"count(*) FILTER (WHERE visit AND d > {t - 180} AND {past}) AS v180",
             f"count(*) FILTER (WHERE visit AND {past}) AS v365",
             f"count(*) FILTER (WHERE visit AND d > {t - 180} AND d <= {t - 90}) AS vprev",
             f"coalesce(sum(amount) FILTER (WHERE d > {t - 90} AND {past}), 0) AS s90",
             f"coalesce(sum(amount) FILTER (WHERE d > {t - 180} AND {past}), 0) AS s180",
             f"coalesce(sum(amount) FILTER (WHERE {past}), 0) AS s365",
             f"coalesce(sum(amount) FILTER (WHERE d > {t - 180} AND d <= {t - 90}), 0) AS sprev",
             f"count(*) FILTER (WHERE amount < 0 AND {past}) AS neg",
             f"count(*) FILTER (WHERE visit AND d > {t} AND d <= {t + H}) AS fut"]
    parts += [f"count(*) FILTER (WHERE et = {c} AND {past}) AS ty{i}" for i, c in enumerate(type_codes)]
    for k, extra in enumerate(extras):
        if extra.kind == "bool":
            parts += [f"count(*) FILTER (WHERE x{k} = 1 AND {past}) AS xt{k}",
                      f"count(*) FILTER (WHERE x{k} = 0 AND {past}) AS xf{k}"]
        else:
            parts += [f"avg(x{k}) FILTER (WHERE {past}) AS xm{k}"]
    return (f"SELECT cid, {', '.join(parts)} FROM ev WHERE d > {t - 365} AND d <= {t + H} "
            f"AND cid >= {cids[0]} AND cid < {cids[1]} GROUP BY cid")


def _floats(values: np.ndarray) -> np.ndarray:
    """A DuckDB numpy column (masked where NULL) as float64 with NaN."""
    if isinstance(values, np.ma.MaskedArray):
        return values.astype(float).filled(np.nan)
    return np.asarray(values, dtype=float)


_CID_PARTS = 2  # a cut-off's window counts in two queries over half the customers each (half the memory)
_BATCH_ROWS = 131_072  # rows of a cut-off's result converted at a time: small transients, not the whole cut-off


def _batches(con, queries: list[str]):
    """Streamed DuckDB results as dicts of numpy columns (NULL as NaN), the first one empty (for the names)."""
    for q, query in enumerate(queries):
        reader = con.sql(query).to_arrow_reader(_BATCH_ROWS)
        try:
            if q == 0:
                yield {name: np.empty(0) for name in reader.schema.names}
            for batch in reader:
                yield {name: batch.column(i).to_numpy(zero_copy_only=False)
                       for i, name in enumerate(batch.schema.names)}
        finally:
            reader.close()


def _eligible_counts(table: pa.Table, days: list[int], *, L: int) -> list[int]:
    """Per cut-off t, the customers with an event in (t - L, t] (the eligible ones), to size the output."""
    day = _column(table, "d")
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET threads TO 2")
        counts = []
        for t in days:
            lo, hi = (int(np.searchsorted(day, v, side="right")) for v in (t - L, t))
            con.register("ev", table.slice(lo, hi - lo))
            counts.append(int(con.execute("SELECT count(DISTINCT cid) FROM ev").fetchall()[0][0]))
        return counts
    finally:
        con.close()


def _passes(events: _Events, days: list[int], *, H: int, L: int, basic: int, type_codes: list[int]):
    """One set-based pass per cut-off: the customers' state (merged from the previous cut-off's) and their
    window counts. Yields per cut-off its eligible rows (in id order), its lapsed rows and the customers seen."""
    extras = events.extras
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET threads TO 2")
        con.execute("SET memory_limit = '3GB'")
        con.execute("SET preserve_insertion_order = false")
        table = events.table
        day = _column(table, "d")  # in time order: each query scans the slice of its days only

        def rows(lo: int | None, hi: int) -> pa.Table:
            start = 0 if lo is None else int(np.searchsorted(day, lo, side="right"))
            return table.slice(start, int(np.searchsorted(day, hi, side="right")) - start)

        state_cols = _state_sql(extras, basic)
        bounds = np.linspace(0, len(events.ids), _CID_PARTS + 1).round().astype(int).tolist()
        parts = list(zip(bounds[:-1], bounds[1:]))  # customers by code: smaller hash tables per query
        previous = None
        for t in days:
            con.register("ev", rows(previous, t))
            lo = "" if previous is None else f"d > {previous} AND "
            delta = f"SELECT cid, {state_cols} FROM ev WHERE {lo}d <= {t} GROUP BY cid"
            if previous is None:
                con.execute(f"CREATE OR REPLACE TEMP TABLE st AS {delta}")
            else:
                con.execute(f"CREATE OR REPLACE TEMP TABLE st AS SELECT {_merge_sql(extras)} "
                            f"FROM st s FULL JOIN ({delta}) n ON s.cid = n.cid")
            previous = t
            con.register("ev", rows(t - 365, t + H))
            eligible = con.execute(f"SELECT cid FROM st WHERE le > {t - L} ORDER BY cid").fetchnumpy()["cid"]
            lapsed = con.execute(f"SELECT cid, {t} - le AS days FROM st WHERE le <= {t - L} ORDER BY cid").fetchnumpy()
            seen = int(con.execute("SELECT count(*) FROM st").fetchall()[0][0])
            queries = [f"""
                SELECT s.*, w.* EXCLUDE (cid) FROM st s
                LEFT JOIN ({_window_sql(extras, type_codes, t, H, part)}) w ON w.cid = s.cid
                WHERE s.le > {t - L} AND s.cid >= {part[0]} AND s.cid < {part[1]}""" for part in parts]
            yield t, np.asarray(eligible, dtype=np.int32), _batches(con, queries), lapsed, seen
    finally:
        con.close()


_STAGE_NAMES = np.array(["new", "growth", "mature", "decline"], dtype=object)


def cutoff_dates(log, *, window: EventWindow, cutoffs=None) -> list[pd.Timestamp]:
    """The cut-off days, sorted and distinct, as :func:`label_and_features` reads its ``cutoffs`` option: None
    gives those of ``log`` (anything with ``first_date`` and ``last_date``), a :class:`Cutoffs` its dates, else
    anything that reads as dates."""
    if cutoffs is None:
        dates = list(_cutoffs(log, window).dates)
    elif isinstance(cutoffs, Cutoffs):
        dates = list(cutoffs.dates)
    else:
        try:
            dates = [pd.Timestamp(d).normalize() for d in cutoffs]
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"Cut-offs must be dates. Got {list(cutoffs)[:3]!r} ({exc}).",
                                 code="bad_parameter", name="cutoffs", value=str(list(cutoffs)[:3])) from exc
    return sorted(set(dates))


def label_and_features(
    log: EventLog,
    *,
    window: EventWindow = EventWindow(),
    cutoffs: Cutoffs | list | tuple | None = None,  # noqa: F811 - the option shares the function's name
    settings: LogSettings | None = None,
) -> LabelledEvents:
    """Labels and as-of features for every eligible customer at every cut-off (default: :func:`cutoffs`).

    Features at t, from events dated on or before t only: ``days_since_last_visit``, ``days_since_last_event``,
    ``visits_90d``/``180d``/``365d``, ``spend_90d``/``180d``/``365d``, ``visits_trend`` and ``spend_trend``
    (last 90 days minus the 90 before), ``visits_trend_ratio`` and ``spend_trend_ratio`` (last 90 days over
    the 90 before; missing when the earlier count or spend is 0 or less), ``avg_gap_days`` (average days
    between visits), ``overdue_ratio`` (days since the last visit over the average gap), ``avg_ticket``,
    ``returns_365d`` (events with a negative amount), ``basic_share`` (share of visits of the basic type),
    ``type_<t>_12m`` counts, then for each extra column of the log: a boolean-like one (True/False, 0/1,
    yes/no) gives ``<col>_365d`` (events with it true in the last 365 days) and, when it has missing values,
    ``<col>_false_365d`` (events with it false: failed first-time fixes); a numeric one gives ``<col>_last``
    (its last non-missing value) and ``<col>_mean_365d``; then ``tenure_days``, ``lifecycle_stage``, and the
    customer table's attributes (dates as days from t). Cut-offs whose window has not elapsed get a missing
    ``churned`` and ``labelled`` False: they can be scored, not trained on.

    Each cut-off is one set-based pass in DuckDB over the events of its windows (t - 365, t + H], with the
    all-history figures (first and last visit, totals) carried from the previous cut-off, so the cost grows
    with the events, not with cut-offs times events.

    The feature columns are float32, to halve the frame (1M customers at 12 cut-offs: 8.7M rows). Counts and
    days are exact in float32 (whole numbers below 2**24); money sums, averages and ratios are computed in
    float64 and then rounded to float32 (about 7 significant digits: 123456.78 may read 123456.78125).

    ``settings`` (:class:`LogSettings`; default: worked out over this log) fixes what depends on the whole log,
    so that one part of a log (a bucket of customers) gives exactly the rows the whole log would give it.
    """
    dates = cutoff_dates(log, window=window, cutoffs=cutoffs)
    H, L = int(window.window_days), int(window.lookback_days)
    days = [int(pd.Timestamp(d).value // _DAY_NS) for d in dates]
    if settings is None:
        settings = log_settings(log_profile(log, first_cutoff=dates[0] if dates else None), window=window,
                                has_cutoffs=bool(dates))
    last = settings.last_date
    events = _event_arrays(log, window, settings.extras)
    type_names = events.type_names
    basic_type, type_values = settings.basic_type, list(settings.type_values)
    basic = type_names.index(basic_type) if basic_type in type_names else -2
    type_codes = [type_names.index(v) if v in type_names else -3 for v in type_values]  # -3: none in this log
    ids, extras = events.ids, events.extras
    # the output columns are allocated once, at their full length, and each cut-off fills its rows batch by batch
    n_rows = _eligible_counts(events.table, days, L=L)
    offsets = np.concatenate([[0], np.cumsum(n_rows, dtype=np.int64)])
    columns: dict[str, np.ndarray] = {}
    lapsed_parts, seen = [], []
    for i, (t, eligible, parts, lapsed_part, n_seen) in enumerate(
            _passes(events, days, H=H, L=L, basic=basic, type_codes=type_codes)):
        for part in parts:
            values = _piece_features(part, t, type_codes, extras, has_type=settings.has_type)
            at = offsets[i] + np.searchsorted(eligible, values.pop("cid"))
            if not columns:
                columns = {"cid": np.empty(offsets[-1], dtype=np.int32)}
                columns.update({name: np.empty(offsets[-1], dtype=np.float32 if v.dtype == np.float64 else v.dtype)
                                for name, v in values.items()})
            for name, v in values.items():
                columns[name][at] = v
        columns["cid"][offsets[i]:offsets[i + 1]] = eligible  # the same count by definition (numpy checks it)
        lapsed_parts.append(lapsed_part)
        seen.append(n_seen)
    del events
    pieces = bool(days)
    cid = columns.pop("cid") if pieces else np.empty(0, dtype=np.int32)
    frame = pd.DataFrame({"customer_id": pd.array(ids[cid], dtype="string"),
                          "cutoff": np.repeat(pd.to_datetime(dates).astype("datetime64[ns]").to_numpy(), n_rows)
                          if pieces else np.empty(0, dtype="datetime64[ns]")})
    type_columns: dict[str, str] = {}
    if settings.has_type:
        taken = set(_BASE_FEATURES)
        type_columns = {_slug(v, taken): v for v in type_values}
    for name in list(columns):
        out_name = name
        if name.startswith("ty"):
            out_name = list(type_columns)[int(name[2:])]
        elif name.startswith("x"):
            k, j = (int(v) for v in name[1:].split("_"))
            out_name = extras[k].names[j]
        values = columns.pop(name)
        if name == "lifecycle_stage":
            frame[name] = pd.array(_STAGE_NAMES[values], dtype="string")
        elif name == "fut":
            future = values
        else:
            frame[out_name] = values
    if not pieces:
        future = np.empty(0)
        for name in _empty_feature_names(type_columns, extras, has_type=settings.has_type):
            frame[name] = pd.array([], dtype="string") if name == "lifecycle_stage" else np.empty(0, np.float32)
    _attach_attributes(frame, log)
    labelled = (frame["cutoff"] + pd.Timedelta(days=H) <= last) if last is not None else False
    frame["labelled"] = labelled
    frame["churned"] = pd.array(np.where(future > 0, 0, 1), dtype="Int64")
    frame.loc[~frame["labelled"], "churned"] = pd.NA
    feature_names = tuple(c for c in frame.columns if c not in {"customer_id", "cutoff", "labelled", "churned"})

    lapsed = pd.DataFrame({
        "customer_id": pd.Series(ids[np.concatenate([p["cid"] for p in lapsed_parts])]
                                 if lapsed_parts else [], dtype="str"),
        "cutoff": np.repeat(pd.to_datetime(dates).astype("datetime64[ns]").to_numpy(),
                            [len(p["cid"]) for p in lapsed_parts]) if lapsed_parts
        else np.empty(0, dtype="datetime64[ns]"),
        "days_since_last_event": np.concatenate([p["days"] for p in lapsed_parts]).astype(np.int64)
        if lapsed_parts else np.empty(0, dtype=np.int64)})
    population = _population(seen, frame, dates)
    logger.debug("labels and features: %d rows at %d cut-offs", len(frame), len(dates))
    return LabelledEvents(frame=frame, population=population, lapsed=lapsed, window=window,
                          cutoffs=tuple(pd.Timestamp(d) for d in dates), feature_names=feature_names,
                          basic_type=basic_type, type_columns=type_columns)


_BASE_FEATURES = ("customer_id", "cutoff", "days_since_last_visit", "days_since_last_event", "visits_90d",
                  "visits_180d", "visits_365d", "spend_90d", "spend_180d", "spend_365d", "visits_trend",
                  "visits_trend_ratio", "spend_trend", "spend_trend_ratio", "avg_gap_days", "overdue_ratio",
                  "avg_ticket", "returns_365d", "basic_share", "tenure_days", "lifecycle_stage", "labelled",
                  "churned")


def _empty_feature_names(type_columns: dict[str, str], extras: list[_Extra], *, has_type: bool) -> list[str]:
    names = [n for n in _BASE_FEATURES[2:-2] if has_type or n != "basic_share"]
    at = names.index("tenure_days")
    added = [*type_columns, *(n for e in extras for n in e.names)]
    return names[:at] + added + names[at:]


def _piece_features(part: dict, t: int, type_codes: list[int], extras: list[_Extra], *,
                    has_type: bool) -> dict[str, np.ndarray]:
    """The features of one cut-off's rows from its DuckDB columns, in output order (NaN where missing)."""
    f = {name: _floats(part.pop(name)) for name in list(part) if name != "cid"}
    zero = {name: np.nan_to_num(f[name], nan=0.0) for name in
            ("v90", "v180", "v365", "vprev", "s90", "s180", "s365", "sprev", "neg")}
    out: dict[str, np.ndarray] = {"cid": np.asarray(part.pop("cid"), dtype=np.int32)}
    with np.errstate(divide="ignore", invalid="ignore"):
        out["days_since_last_visit"] = t - f["lv"]
        out["days_since_last_event"] = t - f["le"]
        for n in (90, 180, 365):
            out[f"visits_{n}d"] = zero[f"v{n}"]
        for n in (90, 180, 365):
            out[f"spend_{n}d"] = zero[f"s{n}"]
        out["visits_trend"] = zero["v90"] - zero["vprev"]
        out["visits_trend_ratio"] = np.where(zero["vprev"] > 0, zero["v90"] / zero["vprev"], np.nan)
        out["spend_trend"] = zero["s90"] - zero["sprev"]
        out["spend_trend_ratio"] = np.where(zero["sprev"] > 0, zero["s90"] / zero["sprev"], np.nan)
        visits_all = np.nan_to_num(f["va"], nan=0.0)
        gap = np.where(visits_all >= 2, (f["lv"] - f["fv"]) / (visits_all - 1.0), np.nan)
        out["avg_gap_days"] = gap
        out["overdue_ratio"] = np.where(gap > 0, out["days_since_last_visit"] / gap, np.nan)
        out["avg_ticket"] = np.where(f["ca"] > 0, f["sa"] / f["ca"], np.nan)
        out["returns_365d"] = zero["neg"]
        if has_type:
            out["basic_share"] = np.where(visits_all > 0, np.nan_to_num(f["ba"], nan=0.0) / visits_all, np.nan)
        for i in range(len(type_codes)):
            out[f"ty{i}"] = np.nan_to_num(f[f"ty{i}"], nan=0.0)
        for k, extra in enumerate(extras):
            if extra.kind == "bool":
                out[f"x{k}_0"] = np.nan_to_num(f[f"xt{k}"], nan=0.0)
                if len(extra.names) > 1:
                    out[f"x{k}_1"] = np.nan_to_num(f[f"xf{k}"], nan=0.0)
            else:
                out[f"x{k}_0"] = f[f"l{k}"]
                out[f"x{k}_1"] = f[f"xm{k}"]
        out["tenure_days"] = t - f["fe"]
        months = out["tenure_days"] / _DAYS_PER_MONTH
    out["lifecycle_stage"] = np.select([months < 6, months < 18, months < 36], [0, 1, 2], 3).astype(np.int8)
    out["fut"] = np.nan_to_num(f["fut"], nan=0.0)
    return out


def _attach_attributes(frame: pd.DataFrame, log: EventLog) -> list[str]:
    """Add the customer table's columns (dates as days from the cut-off; positive = after it)."""
    if log.customers is None:
        return []
    table = log.customers.set_index(ID)
    rows = table.reindex(frame["customer_id"].astype(object))
    names = []
    for col in table.columns:
        name = col if col not in frame.columns else f"customer_{col}"
        values = rows[col].to_numpy()
        if pd.api.types.is_datetime64_any_dtype(table[col]):
            name = f"{name}_days"
            frame[name] = (pd.Series(pd.to_datetime(values), index=frame.index) - frame["cutoff"]).dt.days.astype(float)
        else:
            frame[name] = values
        names.append(name)
    return names


def _population(seen: list[int], frame: pd.DataFrame, dates: list) -> pd.DataFrame:
    cut = pd.DataFrame({"cutoff": pd.to_datetime(dates).astype("datetime64[ns]")})
    seen = pd.Series(seen, index=cut["cutoff"], dtype="int64", name="customers")
    eligible = frame.groupby("cutoff").size().rename("eligible")
    churned = frame.groupby("cutoff")["churned"].sum(min_count=1).rename("churned")
    pop = cut.join(seen, on="cutoff").join(eligible, on="cutoff").join(churned, on="cutoff")
    pop[["customers", "eligible"]] = pop[["customers", "eligible"]].fillna(0).astype(int)
    pop["lapsed"] = pop["customers"] - pop["eligible"]
    labelled = frame.groupby("cutoff")["labelled"].all()
    pop["labelled"] = pop["cutoff"].map(labelled).fillna(False).astype(bool)
    pop["churned"] = pop["churned"].astype("Int64")
    pop.loc[~pop["labelled"], "churned"] = pd.NA
    pop["churn_rate"] = (pop["churned"].astype(float) / pop["eligible"].where(pop["eligible"] > 0)).astype(float)
    return pop[["cutoff", "customers", "eligible", "lapsed", "churned", "churn_rate", "labelled"]]


@dataclass(frozen=True, kw_only=True)
class WindowSuggestion:
    """A label window H fitted to the data's rhythm: ``quantile`` of the gaps between a customer's consecutive
    visits, rounded up to whole months, so that an active customer seldom looks churned between two visits."""

    window: EventWindow
    median_gap_days: float
    gap_quantile_days: float
    quantile: float
    gaps: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"window_days": self.window.window_days, "median_gap_days": self.median_gap_days,
                              "gap_quantile_days": self.gap_quantile_days, "quantile": self.quantile,
                              "gaps": self.gaps}])


def suggest_window(log: EventLog, *, quantile: float = 0.95, base: EventWindow = EventWindow(),
                   min_days: int = 60) -> WindowSuggestion:
    """The window H to label churn with on this log (the other settings kept from ``base``).

    With H shorter than the usual gap between visits, customers who are still coming look churned between two
    visits: on the after-sales demo (a service every ~165 days) H = 120 labels a third of active customers as
    churned, and days since the last visit ranks that label no better than chance (ROC-AUC 0.51), while the
    suggested H = 240 (the 95th percentile gap is 213 days) gives 0.71. The suggestion is the ``quantile`` of
    the gaps between consecutive visits of the same customer (computed in DuckDB), rounded up to a multiple of
    30 days and at least ``min_days``.
    """
    if not 0.5 <= quantile < 1:
        raise ParameterError(f"The 'quantile' parameter of suggest_window must be in [0.5, 1). Got {quantile!r} "
                             "instead.", code="bad_parameter", name="quantile", value=quantile)
    events = _events_table(log, base)
    events = events[events["visit"]]
    con = duckdb.connect(":memory:")
    try:
        con.register("ev_src", events[["cid", "d"]])
        median, upper, gaps = con.execute("""
            WITH days AS (SELECT DISTINCT cid, CAST(d AS DATE) AS d FROM ev_src),
            gaps AS (SELECT d - lag(d) OVER (PARTITION BY cid ORDER BY d) AS gap FROM days)
            SELECT median(gap), quantile_cont(gap, ?), count(gap) FROM gaps WHERE gap IS NOT NULL
        """, [quantile]).fetchone()
    finally:
        con.close()
    if not gaps:
        raise SchemaError("No customer in the event log has two visits on different days, so the usual gap "
                          "between visits (and a label window that fits it) cannot be measured. Received "
                          f"{len(events)} visits. Check the id and time columns, or set the window by hand.",
                          code="no_repeat_visits", visits=len(events))
    days = max(min_days, int(np.ceil(float(upper) / 30.0)) * 30)
    return WindowSuggestion(window=dataclasses.replace(base, window_days=days), median_gap_days=float(median),
                            gap_quantile_days=float(upper), quantile=quantile, gaps=int(gaps))
