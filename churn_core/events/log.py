"""Event logs: read a visit/transaction log, detect its columns' roles by their values, and validate it.

An event log has one row per event (a visit, an order, a complaint): who, when, and optionally how much
and what kind. :func:`read_events` reads it with churn_core's table reader and finds the roles;
:func:`validate_events` lists what is wrong with it in the :class:`~churn_core.validation.ValidationReport`
family, each issue with a ``code`` and ``params`` worded by the ``issue.<code>`` keys.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._io import RawTable, Source, read_table
from ..errors import ParameterError, SchemaError
from ..validation import Issue, ValidationReport

logger = logging.getLogger(__name__)

TimeFormat = Literal["datetime", "iso", "yyyymmdd", "day_first", "month_first"]
DateOrderReason = Literal["only_valid", "ambiguous"]

# Standard column names of EventLog.frame.
ID, TIME, AMOUNT, TYPE = "customer_id", "event_time", "amount", "event_type"

_ID_NAME = re.compile(r"(^|_|\b)(id|customer|client|member|account|user|vin|owner)|客户|会员|编号", re.I)
_TIME_NAME = re.compile(r"date|time|day|when|timestamp|日期|时间", re.I)
_AMOUNT_NAME = re.compile(r"amount|spend|price|revenue|value|total|paid|cost|sales|金额|消费|价格", re.I)
_TYPE_NAME = re.compile(r"type|kind|category|service|event|action|类型|类别|项目", re.I)
_DMY = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?:[ T].*)?$")
_PARSE_SHARE = 0.9  # a column is a date column when this share of its non-missing values parse
_MAX_TYPES = 50  # an event-type column has at most this many distinct values
_MIN_REPEAT_CUSTOMERS = 30
_SCREEN_ROWS = 1000  # a column is parsed in full as dates only when these many of its rows mostly parse


@dataclass(frozen=True, kw_only=True)
class EventRoles:
    """Which source column plays which role, and how its dates were read."""

    id: str
    time: str
    amount: str | None = None
    type: str | None = None
    time_format: TimeFormat = "iso"
    # For day/month text: which order was chosen and why ("only_valid": the other order gives impossible
    # dates; "ambiguous": both orders parse every value, day-first was chosen).
    date_order_reason: DateOrderReason | None = None
    others: tuple[str, ...] = ()
    customer_id: str | None = None  # the id column of an attached customer table

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"role": ["id", "time", "amount", "type"],
                             "column": [self.id, self.time, self.amount, self.type]})


@dataclass(frozen=True, kw_only=True)
class EventLog:
    """An event log with standard columns ``customer_id`` (text), ``event_time`` (datetime, NaT when the
    source value is missing or unparseable), ``amount`` (float or missing), ``event_type`` (text or missing),
    then the source's other columns under their own names."""

    frame: pd.DataFrame
    roles: EventRoles
    source_name: str = "events"
    raw_times: pd.Series | None = None  # the time column as read, for validation messages
    duplicate_rows: int = 0  # exact duplicate rows in the source
    customers: pd.DataFrame | None = None  # one row per customer, ``customer_id`` first

    def to_frame(self) -> pd.DataFrame:
        return self.frame

    @property
    def customer_count(self) -> int:
        return int(self.frame[ID].nunique())

    @property
    def first_date(self) -> pd.Timestamp | None:
        value = self.frame[TIME].min()
        return None if pd.isna(value) else value.normalize()

    @property
    def last_date(self) -> pd.Timestamp | None:
        value = self.frame[TIME].max()
        return None if pd.isna(value) else value.normalize()


# ----------------------------------------------------------------------------------------------------------
# Dates


def _parse_dmy(text: pd.Series, *, day_first: bool) -> pd.Series:
    parts = text.str.extract(_DMY)
    first, second, year = (pd.to_numeric(parts[i], errors="coerce") for i in range(3))
    year = year.where(year >= 100, year + 2000)
    day, month = (first, second) if day_first else (second, first)
    frame = pd.DataFrame({"year": year, "month": month, "day": day})
    return pd.to_datetime(frame, errors="coerce")


def parse_times(values: pd.Series) -> tuple[pd.Series, TimeFormat | None, DateOrderReason | None]:
    """Parse a column of dates by its values: datetimes, ``yyyymmdd`` integers (or their text), ISO text, or
    day/month text where the order is chosen by which one gives no impossible dates.

    Returns the parsed series (NaT where a value does not parse), the format found (None when under 90%
    of the non-missing values parse in any format) and, for day/month text, why its order was chosen.
    """
    present = values.dropna()
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values).dt.tz_localize(None) if getattr(values.dt, "tz", None) else values, \
            "datetime", None
    n = max(len(present), 1)
    if pd.api.types.is_bool_dtype(values):
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]"), None, None
    if pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce")
        whole = numbers.where(numbers == np.floor(numbers))
        text = whole.astype("Int64").astype("string")
    else:
        text = values.astype("string").str.strip()
    # yyyymmdd
    eight = text.where(text.str.fullmatch(r"(19|20|21)\d{6}", na=False))
    parsed = pd.to_datetime(eight, format="%Y%m%d", errors="coerce")
    if parsed.notna().sum() >= _PARSE_SHARE * n:
        return parsed, "yyyymmdd", None
    if pd.api.types.is_numeric_dtype(values):
        return parsed, None, None
    # ISO text; a UTC offset is dropped so each event keeps its local date and time
    iso = text.where(text.str.match(r"^\d{4}-\d{1,2}-\d{1,2}", na=False)).str.replace(
        r"(?:Z|[+-]\d{2}:?\d{2})$", "", regex=True)
    parsed = pd.to_datetime(iso, format="ISO8601", errors="coerce")
    if parsed.notna().sum() >= _PARSE_SHARE * n:
        return parsed, "iso", None
    day_first, month_first = _parse_dmy(text, day_first=True), _parse_dmy(text, day_first=False)
    n_day, n_month = int(day_first.notna().sum()), int(month_first.notna().sum())
    if max(n_day, n_month) < _PARSE_SHARE * n:
        return (day_first if n_day >= n_month else month_first), None, None
    if n_day == n_month:
        return day_first, "day_first", "ambiguous"
    if n_day > n_month:
        return day_first, "day_first", "only_valid"
    return month_first, "month_first", "only_valid"


# ----------------------------------------------------------------------------------------------------------
# Roles


def _check_column(frame: pd.DataFrame, column: str | None, option: str) -> None:
    if column is not None and column not in frame.columns:
        raise SchemaError(
            f"The column '{column}' given as '{option}' is not in the event log. Its columns are "
            f"{list(map(str, frame.columns))}. Pass one of those names.",
            code="event_column_missing", column=column, option=option,
            available=", ".join(map(str, frame.columns)),
        )


def _detect_time(frame: pd.DataFrame, taken: set[str]) -> tuple[str | None, tuple]:
    best, best_key, best_parse = None, None, None
    for col in frame.columns:
        if col in taken:
            continue
        present = frame[col].dropna()
        if len(present) > _SCREEN_ROWS:  # screen on spread-out rows first: parsing ids and types as dates is slow
            sample = present.iloc[np.linspace(0, len(present) - 1, _SCREEN_ROWS).astype(int)]
            if parse_times(sample)[1] is None:
                continue
        parsed = parse_times(frame[col])
        if parsed[1] is None:
            continue
        key = (bool(_TIME_NAME.search(str(col))), parsed[0].notna().mean())
        if best_key is None or key > best_key:
            best, best_key, best_parse = col, key, parsed
    return best, best_parse


def _best_column(frame: pd.DataFrame, taken: set[str], score) -> str | None:
    """The untaken column whose ``score(name, values)`` is highest (None: not a candidate)."""
    scored = [(key, col) for col in frame.columns if col not in taken
              for key in [score(col, frame[col])] if key is not None]
    return max(scored, key=lambda pair: pair[0])[1] if scored else None


def _detect_id(frame: pd.DataFrame, taken: set[str]) -> str | None:
    n = len(frame)

    def score(col, values):
        if pd.api.types.is_float_dtype(values) or pd.api.types.is_bool_dtype(values):
            return None
        distinct = values.nunique()
        if distinct < 2 or distinct >= n or distinct < min(20, max(2, n // 10)):  # repeats, and many of them
            return None
        return bool(_ID_NAME.search(str(col))), distinct
    return _best_column(frame, taken, score)


def _detect_amount(frame: pd.DataFrame, taken: set[str]) -> str | None:
    def score(col, values):
        if pd.api.types.is_bool_dtype(values):
            return None
        numbers = pd.to_numeric(values, errors="coerce") if not pd.api.types.is_numeric_dtype(values) else values
        present = values.notna().sum()
        if present == 0 or numbers.notna().sum() < _PARSE_SHARE * present:
            return None
        named = bool(_AMOUNT_NAME.search(str(col)))
        fractional = bool((numbers.dropna() % 1 != 0).any())
        if not (named or fractional or (numbers < 0).any()):
            return None
        return named, fractional, numbers.nunique()
    return _best_column(frame, taken, score)


def _detect_type(frame: pd.DataFrame, taken: set[str]) -> str | None:
    def score(col, values):
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values) \
                or pd.api.types.is_datetime64_any_dtype(values):
            return None
        distinct = values.nunique()
        if not 2 <= distinct <= _MAX_TYPES or distinct > max(2, len(frame) // 5):
            return None
        return bool(_TYPE_NAME.search(str(col))), -distinct
    return _best_column(frame, taken, score)


def _table(source: Source | pd.DataFrame | RawTable, **read_options: Any) -> tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        return source.copy(deep=False), "table"  # the columns are renamed, the values never written
    if isinstance(source, RawTable):
        return source.frame.copy(deep=False), source.source_name
    raw = read_table(source, **read_options)
    return raw.frame, raw.source_name


def read_events(
    source: Source | pd.DataFrame | RawTable,
    *,
    id: str | None = None,  # noqa: A002 - the documented option name
    time: str | None = None,
    amount: str | None = None,
    type: str | None = None,  # noqa: A002
    customers: Source | pd.DataFrame | RawTable | None = None,
    customer_id: str | None = None,
    filename: str | None = None,
) -> EventLog:
    """Read an event log (CSV, XLSX, Parquet, or a DataFrame) and detect its roles by their values.

    The time column is the one whose values parse as dates (ISO, ``yyyymmdd``, day/month text); the
    customer id repeats across rows with many distinct values; the amount is numeric (negative means a
    return or credit); the event type is low-cardinality text. Any role can be given by name. An optional
    customer table (one row per customer) is joined by id, as :func:`attach_customers` does.

    Raises SchemaError when a named column is missing or no id or time column can be found, and the
    reader's DataFormatError for a file that cannot be read.
    """
    read_options = {"filename": filename} if filename else {}
    frame, name = _table(source, **read_options)
    frame.columns = [str(c) for c in frame.columns]
    for option, column in (("id", id), ("time", time), ("amount", amount), ("type", type)):
        _check_column(frame, column, option)
    given = {c for c in (id, time, amount, type) if c is not None}
    if time is not None:
        parsed = parse_times(frame[time])
        if parsed[1] is None:
            raise SchemaError(
                f"The column '{time}' given as the event time does not hold dates: fewer than 90% of its "
                f"values parse (for example {_example(frame[time])!r}). Use ISO dates (2024-03-31), yyyymmdd "
                "numbers or day/month/year text, or pass another column.",
                code="event_time_unparseable", column=time, example=_example(frame[time]),
            )
    else:
        time, parsed = _detect_time(frame, given)
        if time is None:
            raise SchemaError(
                f"No column of the event log holds dates. Its columns are {list(frame.columns)}. Add a date "
                "column (ISO 2024-03-31, yyyymmdd or day/month/year) or pass time='column'.",
                code="no_event_time", available=", ".join(frame.columns),
            )
    given.add(time)
    if id is None:
        id = _detect_id(frame, given)  # noqa: A001
        if id is None:
            raise SchemaError(
                f"No column of the event log looks like a customer id (a column whose values repeat across "
                f"rows, with many distinct values). Its columns are {list(frame.columns)}. Pass id='column'.",
                code="no_event_id", available=", ".join(frame.columns),
            )
        given.add(id)
    if amount is None:
        amount = _detect_amount(frame, given)
        if amount is not None:
            given.add(amount)
    if type is None:
        type = _detect_type(frame, given)  # noqa: A001
    times, time_format, reason = parsed
    if reason == "ambiguous":
        logger.info("Dates in %r read day-first: every value is a valid date in both orders", time)
    roles = EventRoles(id=id, time=time, amount=amount, type=type, time_format=time_format,
                       date_order_reason=reason,
                       others=tuple(c for c in frame.columns if c not in {id, time, amount, type}))
    events = pd.DataFrame({
        ID: _ids(frame[id]),
        TIME: pd.to_datetime(times).astype("datetime64[ns]"),
        AMOUNT: pd.to_numeric(frame[amount], errors="coerce").astype(float) if amount else np.nan,
        TYPE: frame[type].astype("string").str.strip() if type else pd.Series(pd.NA, index=frame.index,
                                                                               dtype="string"),
    })
    for col in roles.others:
        events[col if col not in events.columns else f"{col}_source"] = frame[col]
    result = EventLog(frame=events.reset_index(drop=True), roles=roles, source_name=name,
                      raw_times=frame[time].reset_index(drop=True),
                      duplicate_rows=_count_duplicates(frame))
    if customers is not None:
        result = attach_customers(result, customers, id=customer_id)
    return result


def _count_duplicates(frame: pd.DataFrame) -> int:
    """Rows that repeat an earlier row exactly. Only rows whose numeric and date columns repeat can be copies,
    and those are cheap to hash, so the text columns are compared on those few rows only (20M rows: ~1 s
    instead of ~8 s)."""
    cheap = [c for c in frame.columns if isinstance(frame[c].dtype, np.dtype) and frame[c].dtype.kind in "fiuM"]
    if not cheap or len(cheap) == frame.shape[1]:
        return int(frame.duplicated().sum())
    candidates = frame.duplicated(subset=cheap, keep=False).to_numpy()
    return int(frame[candidates].duplicated().sum())


def _ids(values: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")
    return values.astype("string").str.strip()


def _example(values: pd.Series) -> str:
    present = values.dropna()
    return str(present.iloc[0])[:60] if len(present) else ""


def attach_customers(
    log: EventLog, table: Source | pd.DataFrame | RawTable, *, id: str | None = None,  # noqa: A002
) -> EventLog:
    """Join a customer table (one row per customer: purchase date, model, region, warranty end...) to an
    event log by id. The id column is ``id`` or the column whose values match most of the log's ids.

    Date-like columns are parsed to datetimes. A repeated id keeps its first row. Raises SchemaError when
    the named column is missing or no column matches the log's ids.
    """
    frame, _ = _table(table)
    frame.columns = [str(c) for c in frame.columns]
    _check_column(frame, id, "id")
    known = set(log.frame[ID].dropna())
    if id is None:
        overlaps = {c: _ids(frame[c]).isin(known).mean() for c in frame.columns
                    if not pd.api.types.is_float_dtype(frame[c]) or (frame[c].dropna() % 1 == 0).all()}
        id = max(overlaps, key=overlaps.get) if overlaps else None  # noqa: A001
        if id is None or overlaps[id] == 0:
            raise SchemaError(
                f"No column of the customer table holds the event log's customer ids (for example "
                f"{sorted(known)[:3]}). Its columns are {list(frame.columns)}. Pass id='column'.",
                code="no_customer_id", available=", ".join(frame.columns),
            )
    out = pd.DataFrame({ID: _ids(frame[id])})
    for col in frame.columns:
        if col == id:
            continue
        values = frame[col]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            parsed, time_format, _ = parse_times(values)
            if time_format is not None and not pd.api.types.is_bool_dtype(values):
                values = pd.to_datetime(parsed).astype("datetime64[ns]")
        out[col if col != ID else f"{col}_source"] = values.to_numpy()
    out = out.dropna(subset=[ID]).drop_duplicates(subset=[ID], keep="first").reset_index(drop=True)
    return dataclasses.replace(log, customers=out, roles=dataclasses.replace(log.roles, customer_id=id))


# ----------------------------------------------------------------------------------------------------------
# Validation


def validate_events(
    log: EventLog,
    *,
    window_days: int = 120,
    today: pd.Timestamp | str | None = None,
    min_repeat_customers: int = _MIN_REPEAT_CUSTOMERS,
) -> ValidationReport:
    """Check an event log and list every problem with its fix, in the ValidationReport family.

    Issues (codes): ``event_dates_missing``, ``event_dates_unparseable``, ``event_dates_future`` (after
    ``today``, default now), ``event_date_order`` (day/month order chosen when both were possible),
    ``duplicate_events`` (exact duplicate rows), ``short_history`` (less than twice ``window_days``: the
    label window cannot be validated), ``few_repeat_customers`` (fewer than ``min_repeat_customers``
    customers with two or more events), ``customers_without_events`` (ids in the customer table with no
    event). No usable date at all, or no customer with two events, is an error; the rest are warnings.
    """
    if window_days < 1:
        raise ParameterError(f"window_days must be at least 1 day. Got {window_days!r}.",
                             code="bad_parameter", name="window_days", value=window_days)
    frame, roles = log.frame, log.roles
    issues: list[Issue] = []
    add = issues.append
    n = len(frame)
    col = roles.time
    times = frame[TIME]
    raw = log.raw_times if log.raw_times is not None else times
    raw_missing = raw.isna() | raw.astype("string").str.strip().eq("").fillna(False)
    missing = int(raw_missing.sum())
    unparseable = int((times.isna() & ~raw_missing.to_numpy()).sum())
    if missing:
        add(Issue(severity="warning", code="event_dates_missing", column=col,
                  message=f"{missing} of {n} events have no date in column '{col}'. They are left out of labels "
                  "and features. Fill in the dates in the source file.",
                  params={"column": col, "count": missing, "rows": n}))
    if unparseable:
        example = str(raw[times.isna() & ~raw_missing.to_numpy()].iloc[0])[:60]
        add(Issue(severity="warning", code="event_dates_unparseable", column=col,
                  message=f"{unparseable} of {n} dates in column '{col}' cannot be read as dates (for example "
                  f"{example!r}). They are left out. Write them like the others ({roles.time_format}).",
                  params={"column": col, "count": unparseable, "rows": n, "example": example}))
    if times.notna().sum() == 0:
        add(Issue(severity="error", code="event_no_dates", column=col,
                  message=f"No event has a usable date in column '{col}'. Check the time column.",
                  params={"column": col}))
    now = pd.Timestamp.now().normalize() if today is None else pd.Timestamp(today).normalize()
    future = int((times > now + pd.Timedelta(days=1)).sum())
    if future:
        add(Issue(severity="warning", code="event_dates_future", column=col,
                  message=f"{future} events are dated after {now.date()} (the latest is "
                  f"{times.max().date()}). Check the clock of the exporting system or the date format.",
                  params={"column": col, "count": future, "today": str(now.date()),
                          "latest": str(times.max().date())}))
    if roles.date_order_reason == "ambiguous":
        add(Issue(severity="warning", code="event_date_order", column=col,
                  message=f"Every date in column '{col}' reads both day-first and month-first; day-first was "
                  "chosen. If the dates are month-first, save them as ISO dates (2024-03-31).",
                  params={"column": col, "chosen": roles.time_format}))
    elif roles.date_order_reason == "only_valid":
        order = "day-first" if roles.time_format == "day_first" else "month-first"
        add(Issue(severity="info", code=f"event_{roles.time_format}", column=col,
                  message=f"The dates in column '{col}' were read {order}: the other order gives impossible dates.",
                  params={"column": col}))
    if log.duplicate_rows:
        add(Issue(severity="warning", code="duplicate_events",
                  message=f"{log.duplicate_rows} rows repeat an earlier row exactly. They are counted as separate "
                  "events; remove the copies from the export if they are double entries.",
                  params={"count": log.duplicate_rows}))
    first, last = log.first_date, log.last_date
    span = int((last - first).days) if first is not None else 0
    if first is not None and span < 2 * window_days:
        add(Issue(severity="warning", code="short_history",
                  message=f"The log covers {span} days ({first.date()} to {last.date()}), less than twice the "
                  f"label window of {window_days} days, so a model cannot be tested on a later period. Use a "
                  "longer export or a shorter window.",
                  params={"days": span, "window": window_days, "first": str(first.date()),
                          "last": str(last.date())}))
    counts = frame.loc[times.notna(), ID].value_counts()
    repeat = int((counts >= 2).sum())
    if repeat < min_repeat_customers:
        add(Issue(severity="error" if repeat == 0 else "warning", code="few_repeat_customers",
                  message=f"Only {repeat} customers have two or more events (of {len(counts)}); at least "
                  f"{min_repeat_customers} are needed to learn who comes back. Export a longer period.",
                  params={"count": repeat, "customers": int(len(counts)), "minimum": min_repeat_customers}))
    if log.customers is not None:
        orphans = log.customers.loc[~log.customers[ID].isin(set(frame[ID].dropna())), ID]
        if len(orphans):
            examples = ", ".join(orphans.head(3).astype(str))
            add(Issue(severity="warning", code="customers_without_events",
                      message=f"{len(orphans)} of {len(log.customers)} customers in the customer table have no "
                      f"event (for example {examples}). They are not scored. Check that both files use the same "
                      "ids.",
                      params={"count": int(len(orphans)), "customers": int(len(log.customers)),
                              "examples": examples}))
    return ValidationReport(
        rows=n, columns=int(frame.shape[1]),
        missing={c: int(v) for c, v in frame.isna().sum().items() if v},
        duplicate_ids=0, constant_columns=(), churners=None, churn_rate=None, leakage=(),
        issues=tuple(issues),
    )
