"""A campaign's outcomes: read the call centre's sheet, check it row by row, merge it without losing anything.

One outcome a customer: ``contacted`` (with ``contact_date``, ``channel`` and ``agent``), the
``action_taken``, the customer's ``feedback``, the ``result`` (``retained``, ``lost`` or ``pending``) and
the ``failure_reason``. They arrive as a sheet (CSV or XLSX; :func:`read_outcomes` maps its columns, by
name in English or Chinese and by their values), from the app's editor, or, on a visit log, observed from
a later log (:func:`observe_outcomes`: a customer who came back within the window is retained).

:func:`check_outcomes` refuses a sheet with bad rows (ids not in the campaign, results it does not know,
contact dates before the campaign started, dates it cannot read, an id twice), one problem per kind of row,
and :func:`merge_outcomes` turns the rows that change something into a new version. A final result
(``retained``/``lost``) is never replaced silently: the change is refused unless ``allow_changes`` is set,
and the earlier versions stay in the store either way.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from .._io import DEFAULT_MAX_BYTES, read_table
from ..errors import SchemaError, ValidationError

log = logging.getLogger(__name__)

FIELDS = ("customer_id", "contacted", "contact_date", "channel", "agent", "action_taken", "feedback", "result",
          "failure_reason")
RESULTS = ("retained", "lost", "pending")
FINAL = ("retained", "lost")

# Column names the call centre's sheet may use, lower-cased, without spaces, dashes or underscores.
_NAMES: dict[str, tuple[str, ...]] = {
    "customer_id": ("customerid", "customer", "id", "clientid", "accountid", "vin", "客户id", "客户编号", "客户",
                    "客户号", "会员id"),
    "contacted": ("contacted", "reached", "called", "contact", "是否联系", "已联系", "是否接通", "接通"),
    "contact_date": ("contactdate", "calldate", "date", "contactedon", "联系日期", "回访日期", "日期", "联系时间"),
    "channel": ("channel", "contactchannel", "渠道", "联系方式", "回访渠道"),
    "agent": ("agent", "caller", "advisor", "staff", "坐席", "专员", "回访人", "客服"),
    "action_taken": ("actiontaken", "action", "intervention", "offer", "措施", "干预措施", "采取措施", "行动"),
    "feedback": ("feedback", "customerfeedback", "comment", "notes", "反馈", "客户反馈", "备注"),
    "result": ("result", "outcome", "status", "retained", "结果", "挽留结果", "状态"),
    "failure_reason": ("failurereason", "reason", "lostreason", "whylost", "失败原因", "流失原因", "原因"),
}
_RESULT_WORDS = {
    "retained": ("retained", "saved", "stayed", "kept", "won", "success", "successful", "挽留成功", "已挽留", "留存",
                 "成功", "保留"),
    "lost": ("lost", "churned", "left", "failed", "failure", "gone", "挽留失败", "流失", "已流失", "失败"),
    "pending": ("pending", "open", "inprogress", "followup", "tbd", "待定", "跟进中", "进行中", "未完成", "待跟进"),
}
_YES = ("yes", "y", "true", "1", "reached", "contacted", "是", "已联系", "接通", "已接通")
_NO = ("no", "n", "false", "0", "notreached", "unreached", "noanswer", "否", "未联系", "未接通")


def _key(text) -> str:
    return re.sub(r"[\s_\-./]+", "", str(text)).lower()


_RESULT_OF = {_key(w): k for k, words in _RESULT_WORDS.items() for w in words}
_BOOL_OF = {**{_key(w): True for w in _YES}, **{_key(w): False for w in _NO}}


@dataclass(frozen=True, kw_only=True)
class OutcomeProblem:
    """One kind of bad row: its code (``unknown_id``, ``unknown_result``, ``date_before_start``, ``bad_date``,
    ``duplicate_id``, ``bad_contacted``, ``missing_id``), how many rows, and a few examples (row numbers as
    in the file, from 2 under the header, with the value)."""

    code: str
    rows: int
    examples: tuple[str, ...]
    blocking: bool = True

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"code": self.code, "rows": self.rows, "examples": ", ".join(self.examples),
                              "blocking": self.blocking}])


@dataclass(frozen=True, eq=False, kw_only=True)
class OutcomeCheck:
    """Outcomes in the canonical columns (``FIELDS``), and what is wrong with them."""

    frame: pd.DataFrame = field(repr=False)
    problems: tuple[OutcomeProblem, ...] = ()
    mapping: tuple[tuple[str, str], ...] = ()  # (field, the sheet's column)

    @property
    def ok(self) -> bool:
        return not any(p.blocking for p in self.problems)

    @property
    def warnings(self) -> tuple[OutcomeProblem, ...]:
        return tuple(p for p in self.problems if not p.blocking)

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()


class OutcomeError(ValidationError):
    """An outcome sheet with bad rows: nothing of it is stored. ``report`` is the :class:`OutcomeCheck`."""


class OutcomeConflictError(ValidationError):
    """Outcomes that would replace final results already stored. ``report`` holds the changes."""


@dataclass(frozen=True, eq=False, kw_only=True)
class OutcomeChange:
    """What a batch of outcomes changes: ``rows`` to store as the next version (whole records), the final
    results it replaces (``replaced``: customer_id, before, after), and counts."""

    rows: pd.DataFrame = field(repr=False)
    replaced: pd.DataFrame = field(repr=False)
    new: int
    updated: int
    unchanged: int

    def to_frame(self) -> pd.DataFrame:
        return self.rows.copy()


def empty_outcomes() -> pd.DataFrame:
    """A frame with the outcome columns and their types, no rows."""
    return pd.DataFrame({"customer_id": pd.Series(dtype="string"), "contacted": pd.Series(dtype="boolean"),
                         "contact_date": pd.Series(dtype="datetime64[ns]"),
                         **{k: pd.Series(dtype="string") for k in ("channel", "agent", "action_taken", "feedback")},
                         "result": pd.Series(dtype="string"), "failure_reason": pd.Series(dtype="string")})


# -- reading a sheet --------------------------------------------------------------------------------------

def detect_outcome_columns(frame: pd.DataFrame) -> dict[str, str]:
    """The sheet's column for each outcome field it has: by name (English or Chinese), then, for the result
    and the contacted flag, by values (a column whose values are result words is the result)."""
    found: dict[str, str] = {}
    keys = {c: _key(c) for c in frame.columns}
    for name, synonyms in _NAMES.items():  # exact names first, in the order of the synonyms
        for synonym in synonyms:
            hit = next((c for c, k in keys.items() if k == _key(synonym) and c not in found.values()), None)
            if hit is not None:
                found[name] = hit
                break
    for name, vocabulary in (("result", _RESULT_OF), ("contacted", _BOOL_OF)):
        column = found.get(name)
        if column is not None and (_share_known(frame[column], vocabulary) >= 0.8 or _blank(frame[column])):
            continue  # its values are the field's, or it is empty (a sheet not filled in yet): keep the name
        if column is not None:  # named like the field, but its values are not: judge by values instead
            del found[name]
        for c in frame.columns:
            if c not in found.values() and _share_known(frame[c], vocabulary) >= 0.8:
                found[name] = c
                break
    return found


def _blank(column: pd.Series) -> bool:
    return bool((column.dropna().astype(str).str.strip() == "").all())


def _share_known(column: pd.Series, vocabulary: dict) -> float:
    counts = column.dropna().astype(str).value_counts()  # judged once per distinct value
    counts = counts[counts.index.str.strip() != ""]
    if counts.empty:
        return 0.0
    known = np.array([_key(v) in vocabulary for v in counts.index])
    return float(counts[known].sum() / counts.sum())


def read_outcomes(source, *, filename: str | None = None, mapping: dict[str, str] | None = None,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[pd.DataFrame, dict[str, str]]:
    """The sheet (CSV or XLSX, any encoding or delimiter :func:`~churn_core.read_table` reads) as raw text
    columns, and the mapping of outcome fields to its columns (detected, then ``mapping`` on top)."""
    raw = read_table(source, filename=filename, max_bytes=max_bytes).frame
    found = detect_outcome_columns(raw)
    for name, column in (mapping or {}).items():
        if name not in FIELDS:
            raise SchemaError(f"'{name}' is not an outcome field. The fields are {list(FIELDS)}.",
                              code="outcome_unknown_field", field=name)
        if column not in raw.columns:
            raise SchemaError(f"The sheet has no column '{column}' for '{name}'. Its columns are "
                              f"{list(map(str, raw.columns))}.", code="outcome_missing_column", field=name,
                              column=str(column))
        found[name] = column
    if "customer_id" not in found:
        raise SchemaError(f"The sheet has no customer id column. Its columns are {list(map(str, raw.columns))}. "
                          "Name one 'customer_id' or pick it as the id.", code="outcome_no_id",
                          columns=", ".join(map(str, raw.columns[:8])))
    return raw, found


# -- checking ---------------------------------------------------------------------------------------------

def check_outcomes(raw: pd.DataFrame, *, members: pd.DataFrame, start: date,
                   mapping: dict[str, str] | None = None) -> OutcomeCheck:
    """The outcomes of ``raw`` (a sheet read as text, or a frame in the canonical columns) in the canonical
    columns, with every kind of bad row found. ``members`` is the campaign's (customer_id, arm)."""
    mapping = dict(mapping) if mapping else {f: f for f in FIELDS if f in raw.columns}
    n = len(raw)
    line = np.arange(2, n + 2)  # the row number a spreadsheet shows, under the header
    out = empty_outcomes().reindex(range(n))
    problems: list[OutcomeProblem] = []

    def problem(code: str, bad: np.ndarray, shown, *, blocking: bool = True) -> None:
        if bad.any():
            rows = np.flatnonzero(bad)
            examples = tuple(f"{line[r]}: {shown[r]}" for r in rows[:3])
            problems.append(OutcomeProblem(code=code, rows=int(bad.sum()), examples=examples, blocking=blocking))

    text = {f: _text(raw[c]) for f, c in mapping.items()}
    ids = text.get("customer_id", pd.Series([pd.NA] * n, dtype="string")).reset_index(drop=True)
    out["customer_id"] = ids
    problem("missing_id", ids.isna().to_numpy(), ["(empty)"] * n)
    plain = ids.astype(object)  # hashed lookups on Python strings: an order faster than Arrow's at 1M rows
    members_ids = members["customer_id"].astype(str).astype(object)
    unknown = ids.notna().to_numpy() & ~plain.isin(members_ids).to_numpy()
    problem("unknown_id", unknown, ids.fillna("").to_numpy())
    dup = ids.notna().to_numpy() & ids.duplicated(keep=False).to_numpy()
    problem("duplicate_id", dup, ids.fillna("").to_numpy())

    if "result" in text:
        words = text["result"].reset_index(drop=True)
        result = _lookup(words, _RESULT_OF)
        problem("unknown_result", words.notna().to_numpy() & result.isna().to_numpy(), words.fillna("").to_numpy())
        out["result"] = result.astype("string")
    if "contacted" in text:
        words = text["contacted"].reset_index(drop=True)
        flag = _lookup(words, _BOOL_OF)
        problem("bad_contacted", words.notna().to_numpy() & flag.isna().to_numpy(), words.fillna("").to_numpy())
        out["contacted"] = flag.astype("boolean")
    if "contact_date" in mapping:
        column = raw[mapping["contact_date"]].reset_index(drop=True)
        day = _dates(column)
        shown = text["contact_date"].reset_index(drop=True).fillna("").to_numpy()
        given = text["contact_date"].reset_index(drop=True).notna().to_numpy()
        problem("bad_date", given & day.isna().to_numpy(), shown)
        problem("date_before_start", (day < pd.Timestamp(start)).fillna(False).to_numpy(dtype=bool), shown)
        out["contact_date"] = day
        if "contacted" not in text:  # a contact date says the customer was reached
            out["contacted"] = pd.array(np.where(day.notna(), True, pd.NA), dtype="boolean")
    for name in ("channel", "agent", "action_taken", "feedback", "failure_reason"):
        if name in text:
            out[name] = text[name].reset_index(drop=True).str.slice(0, 200)
    held = members_ids[(members["arm"] == "control").to_numpy()]
    control = plain.isin(held).to_numpy(dtype=bool)
    problem("control_contacted", control & out["contacted"].fillna(False).to_numpy(dtype=bool),
            ids.fillna("").to_numpy(), blocking=False)
    return OutcomeCheck(frame=out, problems=tuple(problems), mapping=tuple(mapping.items()))


def _lookup(words: pd.Series, vocabulary: dict) -> pd.Series:
    """Each word's meaning in ``vocabulary`` (missing when unknown), looked up once per distinct word."""
    plain = words.astype(object)
    codes, distinct = pd.factorize(plain)  # -1 for missing
    meaning = np.array([vocabulary.get(_key(w)) for w in distinct] + [None], dtype=object)
    return pd.Series(meaning[codes], index=words.index).where(words.notna(), pd.NA)


def _text(column: pd.Series) -> pd.Series:
    """Cells as trimmed text; empty cells are missing."""
    text = column.astype("string").str.strip()
    return text.mask(text == "")


def _dates(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        return pd.to_datetime(column).dt.tz_localize(None).dt.normalize() if getattr(column.dt, "tz", None) \
            else pd.to_datetime(column).dt.normalize()
    text = _text(column)
    day = pd.to_datetime(text, errors="coerce", format="ISO8601")
    rest = day.isna() & text.notna()
    if rest.any():
        day[rest] = pd.to_datetime(text[rest], errors="coerce", format="mixed")
    return day.dt.normalize().astype("datetime64[ns]")


def refuse(check: OutcomeCheck) -> None:
    """Raise :class:`OutcomeError` naming every kind of bad row, when there is one."""
    if check.ok:
        return
    parts = [f"{p.code} ({p.rows} rows, e.g. row {p.examples[0]})" for p in check.problems if p.blocking]
    raise OutcomeError("The outcomes were not stored: " + "; ".join(parts) + ". Nothing stored has changed. "
                       "Correct those rows (ids must be the campaign's, results retained, lost or pending, contact "
                       "dates on or after the campaign's start) and upload the sheet again.", report=check,
                       code="outcomes_invalid", problems=", ".join(p.code for p in check.problems if p.blocking))


# -- merging ----------------------------------------------------------------------------------------------

def merge_outcomes(current: pd.DataFrame, incoming: pd.DataFrame, *, allow_changes: bool = False) -> OutcomeChange:
    """The records to store as the next version: each incoming customer's current record with the incoming
    values on top (a cell left empty keeps the stored value). Rows that change nothing are left out. A final
    result replaced by another value is refused (:class:`OutcomeConflictError`) unless ``allow_changes``.
    Vectorised: a million outcomes merge in about a second."""
    incoming = _typed(incoming.reset_index(drop=True))
    ids = incoming["customer_id"].astype(str)
    before = _typed(current.reset_index(drop=True)) if len(current) else empty_outcomes()
    before.index = before["customer_id"].astype(str)
    known = ids.isin(before.index).to_numpy()
    old = before.reindex(ids.to_numpy()).reset_index(drop=True)
    merged = incoming.copy()
    for f in FIELDS[1:]:
        merged[f] = incoming[f].where(incoming[f].notna(), old[f])
    merged["customer_id"] = ids.astype("string")
    same = np.ones(len(merged), bool)
    for f in FIELDS[1:]:
        a, b = merged[f], old[f]
        equal = (a == b).fillna(False).to_numpy(dtype=bool) | (a.isna() & b.isna()).to_numpy()
        same &= equal
    unchanged = known & same
    was, will = old["result"], merged["result"]
    kept = (was == will).fillna(False).to_numpy(dtype=bool)
    flip = known & was.isin(FINAL).fillna(False).to_numpy(dtype=bool) & ~kept
    replaced = pd.DataFrame({"customer_id": ids[flip].to_numpy(), "before": was[flip].astype(str).to_numpy(),
                             "after": will[flip].astype(str).to_numpy()}, columns=["customer_id", "before", "after"])
    if flip.any() and not allow_changes:
        first = replaced.iloc[0]
        raise OutcomeConflictError(
            f"{len(replaced)} customers already have a final result that these outcomes would change, e.g. "
            f"{first['customer_id']}: {first['before']} -> {first['after']}. Nothing was stored. Confirm the changes "
            "to store them as a new version (the earlier results stay in the history).", report=replaced,
            code="outcomes_conflict", count=len(replaced), customer=first["customer_id"], before=first["before"],
            after=first["after"])
    rows = merged[~unchanged].reset_index(drop=True)
    return OutcomeChange(rows=rows, replaced=replaced, new=int((~known).sum()),
                         updated=int((known & ~same).sum()), unchanged=int(unchanged.sum()))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` in the outcome columns and their types (columns it lacks are empty)."""
    out = empty_outcomes().reindex(range(len(frame)))
    for f in FIELDS:
        if f not in frame:
            continue
        values = frame[f].reset_index(drop=True)
        if f == "contacted":
            out[f] = values.astype("boolean")
        elif f == "contact_date":
            out[f] = pd.to_datetime(values, errors="coerce").astype("datetime64[ns]")
        else:
            text = values.astype("string")
            out[f] = text.mask(text.str.strip() == "")
    return out


# -- observing results on a visit log -----------------------------------------------------------------------

def observe_outcomes(events: pd.DataFrame, *, members: pd.DataFrame, start: date, window_days: int,
                     id_column: str = "customer_id", time_column: str = "visit_date", type_column: str | None = None,
                     visit_types: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Each campaign customer's result, read from a visit log that runs past the start: ``retained`` with a
    visit in (start, start + window], ``lost`` when the log covers the whole window without one, ``pending``
    otherwise. Treated and control customers are judged alike. Columns: customer_id, result, observed_visit
    (the first visit after the start, or missing)."""
    day0 = pd.Timestamp(start).normalize()
    end = day0 + pd.Timedelta(days=int(window_days))
    times = pd.to_datetime(events[time_column], errors="coerce")
    keep = (times > day0) & (times <= end)
    if type_column is not None and visit_types:
        keep &= events[type_column].astype(str).isin(visit_types).to_numpy()
    after = pd.DataFrame({"customer_id": events.loc[keep, id_column].astype(str).to_numpy(),
                          "day": times[keep].to_numpy()})
    first = after.groupby("customer_id")["day"].min()
    ids = members["customer_id"].astype(str)
    visit = ids.map(first)
    log_end = times.max()
    covered = pd.notna(log_end) and log_end >= end
    result = np.where(visit.notna(), "retained", "lost" if covered else "pending")
    return pd.DataFrame({"customer_id": ids.to_numpy(), "result": pd.array(result, dtype="string"),
                         "observed_visit": pd.to_datetime(visit.to_numpy())})
