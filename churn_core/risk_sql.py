"""The Risk page's call list over a large score set, server-side in DuckDB.

A score set of millions of customers (written as partitioned Parquet, e.g. by the Dask scoring, and registered
with ``Store.register_parquet("scores", set_id, url, ...)``) is never pulled into pandas: it is read once into
an in-memory DuckDB table, and each filter change runs two SQL statements over it, one for the page of rows
shown (sorted and paged with LIMIT/OFFSET) and one for the KPI strip (aggregates by tier).

    scores = LargeScores.open(store, set_id)
    where = LargeFilter(tiers=("critical", "high"), min_value=500)
    scores.page(where, sort="priority", limit=500, offset=0)   # a DataFrame of at most 500 rows
    scores.kpis(where).customers                               # SQL aggregates

Every value of a filter is a bound parameter; column names come from this module's constants only.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from .errors import LargeScoresError, ParameterError

logger = logging.getLogger(__name__)

# The schema of a large score set, in file order (one row per customer).
LARGE_SCORE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("customer_id", "VARCHAR"), ("probability", "DOUBLE"), ("probability_raw", "DOUBLE"), ("tier", "VARCHAR"),
    ("due_hours", "INTEGER"), ("value", "DOUBLE"), ("priority", "DOUBLE"), ("action", "VARCHAR"),
    ("status", "VARCHAR"),  # "active" or "churned"
    ("reason_1", "VARCHAR"), ("reason_2", "VARCHAR"), ("reason_3", "VARCHAR"),
    ("reason_1_points", "DOUBLE"), ("reason_2_points", "DOUBLE"), ("reason_3_points", "DOUBLE"),
    ("as_of", "DATE"),
)
LARGE_ROWS = 1_000_000  # a score set above this many rows is written as Parquet and paged server-side
PAGE_ROWS = 500
SORTS = ("priority", "probability", "value")
STATUSES = ("active", "churned", "all")
VALUE_BANDS = ("high", "medium", "low")
VALUE_TOP_SHARE = 0.2  # value bands: the top and bottom shares of the customers by value (as RiskPolicy's)
URGENT_HOURS = 72
_FORMULA_START = r"^[=+\-@\t\r]"  # a spreadsheet runs such a cell as a formula (churn_core.scoring's rule)
_NAMES = tuple(name for name, _ in LARGE_SCORE_COLUMNS)
_TEXT = tuple(name for name, kind in LARGE_SCORE_COLUMNS if kind == "VARCHAR")
_ENUMS = ("tier", "action", "status", "reason_1", "reason_2", "reason_3")
_PLAIN = ", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind in LARGE_SCORE_COLUMNS)  # ENUMs as text


@dataclass(frozen=True, kw_only=True)
class LargeFilter:
    """Which customers of a large score set to show. Empty tuples and ``None`` mean "no restriction".
    ``cc.RiskFilter`` works too: the fields read are the ones below (missing ones mean no restriction)."""

    tiers: tuple[str, ...] = ()
    probability: tuple[float, float] = (0.0, 1.0)
    actions: tuple[str, ...] = ()
    top_reasons: tuple[str, ...] = ()  # the first reason
    value_bands: tuple[str, ...] = ()  # high / medium / low: the top, middle and bottom by value
    min_value: float | None = None
    status: str = "active"  # active (the call list), churned or all


@dataclass(frozen=True, kw_only=True)
class LargeKpis:
    """The KPI strip of a filter, from SQL aggregates."""

    customers: int
    expected_churners: float  # the sum of the probabilities
    value_at_risk: float  # the sum of probability x value
    due_within_72h: int
    tier_counts: tuple[tuple[str, int], ...]  # (tier, customers), most customers first

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"customers": self.customers, "expected_churners": self.expected_churners,
                              "value_at_risk": self.value_at_risk, "due_within_72h": self.due_within_72h,
                              **{f"tier_{k}": n for k, n in self.tier_counts}}])


@dataclass(frozen=True, kw_only=True)
class LargePage:
    """One page of the filtered customers, best first."""

    frame: pd.DataFrame
    sort: str
    offset: int
    limit: int

    def to_frame(self) -> pd.DataFrame:
        return self.frame


@dataclass(frozen=True)
class LargeExport:
    """A CSV written by :meth:`LargeScores.export`."""

    path: Path
    rows: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"path": str(self.path), "rows": self.rows}])


class LargeScores:
    """A large score set in an in-memory DuckDB table (see the module docstring). Safe to share between
    threads: each query runs on a cursor of its own."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, set_id: int, url: str, rows: int,
                 value_cuts: tuple[float, float]) -> None:
        self._con, self.set_id, self.url, self.rows = con, set_id, url, rows
        self.value_cuts = value_cuts  # (low, high): below low is "low", from high up is "high"
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LargeScores(set_id={self.set_id}, rows={self.rows}, url={self.url!r})"

    @classmethod
    def open(cls, store, set_id: int, *, threads: int | None = None) -> LargeScores:
        """Read score set ``set_id``'s registered Parquet into memory (seconds for 10M rows, once)."""
        url = store.parquet_url("scores", set_id)
        if url is None:
            raise LargeScoresError(f"Score set {set_id} has no registered Parquet dataset, so it cannot be paged "
                                   "server-side. Register its Parquet folder with Store.register_parquet('scores', "
                                   "...) or score the dataset again.", code="large_scores_not_parquet",
                                   score_set=set_id)
        return cls.from_parquet(url, set_id=set_id, threads=threads)

    @classmethod
    def from_parquet(cls, url: str, *, set_id: int = 0, threads: int | None = None) -> LargeScores:
        """The same as :meth:`open` for a Parquet folder (or fsspec URL) given directly."""
        con = duckdb.connect(":memory:")
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        source, hive = f"{str(url).rstrip('/')}/**/*.parquet", _hive(url)
        # One pass over the files. The text columns filtered or repeated become ENUMs (KPIs 4x faster than over
        # VARCHAR, and a byte a cell). ``position`` is the row's place in the files (their names in order, then
        # the row in its file): it breaks ties as the row order does in churn_core.risk. The rows are kept in the
        # default sort's order, so its top-N rejects most rows at once (page 200 of 10M rows: 0.26 s, not
        # 0.73 s) and the KPIs group runs of one tier (2.5x faster), for a sort of seconds at open.
        enum = {c: f"CAST(CAST({c} AS VARCHAR) AS {c}_enum)" for c in _ENUMS}
        select = ", ".join(f"{enum.get(name, f'CAST({name} AS {kind})')} AS {name}"
                           for name, kind in LARGE_SCORE_COLUMNS)
        try:
            for column in _ENUMS:
                con.execute(f"CREATE TYPE {column}_enum AS ENUM (SELECT DISTINCT CAST({column} AS VARCHAR) "
                            f"FROM read_parquet(?, hive_partitioning = ?) WHERE {column} IS NOT NULL ORDER BY 1)",
                            [source, hive])
            con.execute("CREATE TABLE scores AS WITH files AS (SELECT file, row_number() OVER (ORDER BY file) AS i "
                        f"FROM glob(?)) SELECT {select}, (files.i << 40) + p.file_row_number AS position "
                        "FROM read_parquet(?, hive_partitioning = ?, filename = true, file_row_number = true) p "
                        f"JOIN files ON p.filename = files.file ORDER BY {SORTS[0]} DESC NULLS LAST, position",
                        [source, source, hive])
        except duckdb.BinderException as err:
            con.close()
            raise LargeScoresError(f"The Parquet of score set {set_id} at {url} lacks columns of the large score "
                                   f"schema ({err}). Write it with the columns {list(_NAMES)}.",
                                   code="large_scores_columns", score_set=set_id, url=str(url)) from err
        except (duckdb.Error, OSError) as err:
            con.close()
            raise LargeScoresError(f"Could not read the Parquet of score set {set_id} at {url} ({err}). Check that "
                                   "the folder exists and holds .parquet files.", code="large_scores_unreadable",
                                   score_set=set_id, url=str(url)) from err
        rows, low, high = con.execute("SELECT count(*), quantile_cont(value, ?), quantile_cont(value, ?) "
                                      "FROM scores", [VALUE_TOP_SHARE, 1 - VALUE_TOP_SHARE]).fetchone()
        logger.info("large score set %s: %d rows from %s", set_id, rows, url)
        return cls(con, set_id=set_id, url=str(url), rows=int(rows),
                   value_cuts=(float(low or 0.0), float(high or 0.0)))

    def close(self) -> None:
        self._con.close()

    def _query(self, sql: str, params: list) -> duckdb.DuckDBPyConnection:
        with self._lock:  # a cursor per query: DuckDB runs them in parallel, one connection must not be shared
            cursor = self._con.cursor()
        return cursor.execute(sql, params)

    # -- filters -------------------------------------------------------------------------------------

    def filter_sql(self, where=None) -> tuple[str, list]:
        """The WHERE clause of a filter (``LargeFilter`` or ``cc.RiskFilter``) and its bound parameters."""
        where = where or LargeFilter()
        clauses, params = [], []
        low, high = _range(getattr(where, "probability", (0.0, 1.0)))
        clauses.append("probability BETWEEN ? AND ?")
        params += [low, high]
        status = getattr(where, "status", "active")
        if status not in STATUSES:
            raise ParameterError(f"The 'status' filter must be one of {list(STATUSES)}. Got {status!r} instead.",
                                 code="bad_parameter", name="status", value=str(status))
        if status != "all":
            clauses.append("status = ?")
            params.append(status)
        for column, field in (("tier", "tiers"), ("action", "actions"), ("reason_1", "top_reasons")):
            values = _texts(getattr(where, field, ()), name=field)
            if values:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params += values
        bands = _texts(getattr(where, "value_bands", ()), name="value_bands")
        unknown = [b for b in bands if b not in VALUE_BANDS]
        if unknown:
            raise ParameterError(f"The 'value_bands' filter takes {list(VALUE_BANDS)}. Got {unknown} instead.",
                                 code="bad_parameter", name="value_bands", value=unknown)
        if bands and set(bands) != set(VALUE_BANDS):
            cut_low, cut_high = self.value_cuts
            parts = {"high": ("coalesce(value >= ?, false)", [cut_high]),
                     "low": ("coalesce(value < ?, false)", [cut_low]),
                     "medium": ("NOT coalesce(value >= ?, false) AND NOT coalesce(value < ?, false)",
                                [cut_high, cut_low])}
            clauses.append("(" + " OR ".join(f"({parts[b][0]})" for b in bands) + ")")
            for b in bands:
                params += parts[b][1]
        min_value = getattr(where, "min_value", None)
        if min_value is not None:
            clauses.append("value >= ?")
            params.append(_number(min_value, name="min_value"))
        return " AND ".join(clauses), params

    # -- reads ---------------------------------------------------------------------------------------

    def page(self, where=None, *, sort: str = "priority", limit: int = PAGE_ROWS, offset: int = 0) -> LargePage:
        """The ``limit`` customers from position ``offset`` of the filtered set, highest ``sort`` first (ties
        in the files' row order; customers without a ``sort`` value last)."""
        if sort not in SORTS:
            raise ParameterError(f"The 'sort' parameter must be one of {list(SORTS)}. Got {sort!r} instead.",
                                 code="bad_parameter", name="sort", value=str(sort))
        limit, offset = _count(limit, name="limit"), _count(offset, name="offset")
        clause, params = self.filter_sql(where)
        order = f"{sort} DESC NULLS LAST, position"
        # the page's rowids first (a top-N over two numbers), then only those rows in full
        frame = self._query(f"SELECT {_PLAIN} FROM scores WHERE rowid IN (SELECT rowid FROM scores WHERE {clause} "
                            f"ORDER BY {order} LIMIT ? OFFSET ?) ORDER BY {order}", [*params, limit, offset]).df()
        return LargePage(frame=frame, sort=sort, offset=offset, limit=limit)

    def kpis(self, where=None) -> LargeKpis:
        """Customers, expected churners, value at risk, customers due within 72 hours and customers by tier."""
        clause, params = self.filter_sql(where)
        rows = self._query("SELECT tier, count(*), sum(probability), sum(probability * value), "
                           f"count(*) FILTER (WHERE due_hours <= {URGENT_HOURS}) FROM scores WHERE {clause} "
                           "GROUP BY tier ORDER BY count(*) DESC, tier", params).fetchall()
        return LargeKpis(customers=sum(r[1] for r in rows), expected_churners=float(sum(r[2] or 0 for r in rows)),
                         value_at_risk=float(sum(r[3] or 0 for r in rows)), due_within_72h=sum(r[4] for r in rows),
                         tier_counts=tuple((str(r[0]), int(r[1])) for r in rows))

    def choices(self, column: str) -> tuple[str, ...]:
        """The distinct values of a text column (``tier``, ``action``, ``reason_1``, ``status``), sorted."""
        if column not in ("tier", "action", "reason_1", "status"):
            raise ParameterError(f"The 'column' parameter must be tier, action, reason_1 or status. Got {column!r} "
                                 "instead.", code="bad_parameter", name="column", value=str(column))
        rows = self._query(f"SELECT DISTINCT {column} FROM scores WHERE {column} IS NOT NULL ORDER BY 1", [])
        return tuple(r[0] for r in rows.fetchall())

    def export(self, where, path: str | Path, *, sort: str = "priority", limit: int | None = None) -> LargeExport:
        """Write the filtered customers (best first, at most ``limit``) to a CSV file with DuckDB's COPY;
        text cells a spreadsheet would run as a formula (starting with = + - @) get a leading '."""
        if sort not in SORTS:
            raise ParameterError(f"The 'sort' parameter must be one of {list(SORTS)}. Got {sort!r} instead.",
                                 code="bad_parameter", name="sort", value=str(sort))
        clause, params = self.filter_sql(where)
        safe = ", ".join(f"CASE WHEN regexp_matches({n}, '{_FORMULA_START}') THEN '''' || {n} ELSE {n} END AS {n}"
                         if n in _TEXT else n for n in _NAMES)
        tail = "" if limit is None else " LIMIT ?"
        bound = params if limit is None else [*params, _count(limit, name="limit")]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._query(f"COPY (SELECT {safe} FROM (SELECT {_PLAIN}, position FROM scores WHERE {clause}) "
                    f"ORDER BY {sort} DESC NULLS LAST, position{tail}) TO ? (HEADER, DELIMITER ',')",
                    [*bound, str(path)])
        rows = self._query(f"SELECT least(count(*), ?) FROM scores WHERE {clause}",
                           [self.rows if limit is None else limit, *params]).fetchone()[0]
        return LargeExport(path, int(rows))


def _hive(url: str) -> bool:
    """Whether a local Parquet folder is hive-partitioned (``key=value`` sub-folders); remote URLs: no."""
    folder = Path(url)
    return folder.is_dir() and any(p.is_dir() and "=" in p.name for p in folder.iterdir())


def _range(value) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError) as err:
        raise ParameterError(f"The probability range must be two numbers (low, high). Got {value!r} instead.",
                             code="bad_parameter", name="probability", value=str(value)) from err
    if not 0 <= low <= high <= 1:
        raise ParameterError(f"The probability range must satisfy 0 <= low <= high <= 1. Got {value!r} instead.",
                             code="bad_parameter", name="probability", value=str(value))
    return low, high


def _texts(values, *, name: str) -> list[str]:
    if isinstance(values, str) or not isinstance(values, tuple | list | set | frozenset):
        raise ParameterError(f"The '{name}' filter must be a tuple of values. Got {values!r} instead.",
                             code="bad_parameter", name=name, value=str(values))
    return [str(v) for v in values]


def _number(value, *, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise ParameterError(f"The '{name}' filter must be a number. Got {value!r} instead.", code="bad_parameter",
                             name=name, value=str(value)) from err


def _count(value, *, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParameterError(f"The '{name}' parameter must be a whole number >= 0. Got {value!r} instead.",
                             code="bad_parameter", name=name, value=str(value))
    return value
