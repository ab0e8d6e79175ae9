"""Datasets: a customer table read, mapped to roles, validated and normalised.

``load_dataset`` is the one call most code needs. It reads a CSV or XLSX file,
detects column roles (overridable), validates, and returns a :class:`Dataset`
whose target column holds 0/1 and whose numeric columns are numbers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ._io import DEFAULT_MAX_BYTES, RawTable, Source, read_table
from .errors import SchemaError, ValidationError
from .roles import ColumnRoles, detect_roles, flag_codes
from .validation import ValidationReport, target_codes, validate

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class EventContext:
    """Where a table built from an event log comes from (see :mod:`churn_core.events.dataset`).

    ``table`` is ``analysis`` (eligible customers at the test cut-off, labelled) or ``as_of`` (eligible
    customers at the log's last date, to score). ``cutoff`` is the day of its rows' features; ``lapsed``
    counts the customers left out because they had already lapsed (no event in ``lookback_days``).
    """

    table: str
    cutoff: pd.Timestamp
    test_cutoff: pd.Timestamp
    as_of: pd.Timestamp
    cutoffs: tuple[pd.Timestamp, ...]
    window_days: int
    lookback_days: int
    lapsed: int
    window: dict

    def to_dict(self) -> dict:
        """JSON-ready (dates as ISO text)."""
        day = lambda d: pd.Timestamp(d).date().isoformat()
        return {"table": self.table, "cutoff": day(self.cutoff), "test_cutoff": day(self.test_cutoff),
                "as_of": day(self.as_of), "cutoffs": [day(d) for d in self.cutoffs],
                "window_days": self.window_days, "lookback_days": self.lookback_days, "lapsed": self.lapsed,
                "window": self.window}

    @classmethod
    def from_dict(cls, data: dict) -> EventContext:
        return cls(table=data["table"], cutoff=pd.Timestamp(data["cutoff"]),
                   test_cutoff=pd.Timestamp(data["test_cutoff"]), as_of=pd.Timestamp(data["as_of"]),
                   cutoffs=tuple(pd.Timestamp(d) for d in data["cutoffs"]), window_days=int(data["window_days"]),
                   lookback_days=int(data["lookback_days"]), lapsed=int(data["lapsed"]), window=data["window"])

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


@dataclass(frozen=True, eq=False, kw_only=True)
class Dataset:
    """A validated customer table. ``frame[roles.target]`` is 0/1 (int8)."""

    frame: pd.DataFrame
    roles: ColumnRoles
    name: str
    report: ValidationReport
    sha256: str = ""
    source_name: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    version: int | None = None
    events: EventContext | None = None  # set when the table was built from an event log

    def to_frame(self) -> pd.DataFrame:
        return self.frame

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    @property
    def has_target(self) -> bool:
        return self.roles.target is not None and self.roles.target in self.frame

    def target(self) -> pd.Series:
        if not self.has_target:
            raise SchemaError(
                f"The dataset '{self.name}' has no target column, so churn cannot be counted. "
                "Map a target column (or pass --target).", code="no_target", columns=list(self.frame.columns)[:12])
        return self.frame[self.roles.target]

    def value(self) -> pd.Series | None:
        """Customer value: the value column, or the sum of the value columns; None when there is none."""
        cols = [c for c in self.roles.value if c in self.frame]
        if not cols:
            return None
        return self.frame[cols].sum(axis=1, min_count=1).rename("value")

    def flag(self, column: str) -> pd.Series:
        """A plan flag as 0/1 (NaN where missing)."""
        return pd.Series(flag_codes(self.frame[column]), index=self.frame.index, name=column)

    def ids(self) -> pd.Series:
        """Customer ids: the id column, or the 1-based row number when there is none."""
        if self.roles.id and self.roles.id in self.frame:
            return self.frame[self.roles.id]
        return pd.Series(np.arange(1, len(self.frame) + 1), index=self.frame.index, name="row")


def inspect_table(
    raw: RawTable,
    *,
    target: str | None = None,
    positive: str | None = None,
    roles: ColumnRoles | None = None,
    require_target: bool = True,
) -> tuple[ColumnRoles, ValidationReport]:
    """Detect roles (unless given) and validate, without raising on blocking issues."""
    if roles is None:
        roles = detect_roles(raw.frame, target=target, positive=positive)
    else:
        _check_roles_exist(raw.frame, roles)
    report = validate(raw.frame, roles=roles, require_target=require_target,
                      duplicate_columns=raw.duplicate_columns)
    return roles, report


def load_dataset(
    source: Source | RawTable,
    *,
    target: str | None = None,
    positive: str | None = None,
    roles: ColumnRoles | None = None,
    name: str | None = None,
    filename: str | None = None,
    sheet: str | None = None,
    require_target: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Dataset:
    """Read, map, validate and normalise a customer table.

    Raises DataFormatError when the file cannot be read, SchemaError when an
    override names a missing column, and ValidationError (with the full report)
    when a blocking issue remains.
    """
    raw = source if isinstance(source, RawTable) else read_table(
        source, filename=filename, sheet=sheet, max_bytes=max_bytes)
    roles, report = inspect_table(raw, target=target, positive=positive, roles=roles,
                                  require_target=require_target)
    if not report.ok:
        lines = "; ".join(i.message for i in report.errors)
        raise ValidationError(f"The file '{raw.source_name}' cannot be used as it is: {lines}",
                              report=report, name=raw.source_name)
    frame = normalise(raw.frame, roles=roles)
    label = name or Path(raw.source_name).stem
    logger.info("dataset %s: %d rows, target=%s", label, len(frame), roles.target)
    return Dataset(frame=frame, roles=roles, name=label, report=report, sha256=raw.sha256,
                   source_name=raw.source_name, encoding=raw.encoding, delimiter=raw.delimiter)


def normalise(frame: pd.DataFrame, *, roles: ColumnRoles) -> pd.DataFrame:
    """Target to 0/1 (rows without a target dropped), numbers to numbers (±inf as missing), categories to
    category dtype."""
    out = frame.copy()
    if roles.target is not None and roles.positive_label is not None:
        y = target_codes(out[roles.target], roles.positive_label)
        out = out.loc[~np.isnan(y)].copy()
        out[roles.target] = y[~np.isnan(y)].astype("int8")
    for col in roles.numeric:
        if not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = pd.to_numeric(out[col].astype("string").str.strip(), errors="coerce").astype(float)
        if pd.api.types.is_float_dtype(out[col]) and np.isinf(out[col].to_numpy(dtype=float, na_value=np.nan)).any():
            out[col] = out[col].replace([np.inf, -np.inf], np.nan)
    for col in (*roles.categorical, *roles.plan_flags):
        out[col] = out[col].astype("category")
    return out.reset_index(drop=True)


def _check_roles_exist(frame: pd.DataFrame, roles: ColumnRoles) -> None:
    missing = [c for c in roles.used_columns() if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"The role mapping names columns that are not in the table: {missing}. "
            f"Received the columns {list(frame.columns)[:20]}. Map roles to existing columns.",
            code="column_missing", column=missing[0], columns=list(frame.columns)[:20],
        )


BUNDLED_CSV = Path(__file__).resolve().parent.parent / "data" / "telecom_churn.csv"
