"""Column roles: which column is the id, the target, a plan flag, the service-call count...

Roles are detected from column names and values, never from one dataset's exact
names, and every role can be overridden with :meth:`ColumnRoles.replace`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import SchemaError
from .money import value_column_problem

POSITIVE_TOKENS = frozenset({
    "yes", "y", "true", "t", "1", "1.0", "churn", "churned", "exited", "left", "lost", "closed",
    "cancelled", "canceled", "attrited", "attrited customer", "是", "流失", "已流失",
})
NEGATIVE_TOKENS = frozenset({
    "no", "n", "false", "f", "0", "0.0", "active", "retained", "stayed", "existing",
    "existing customer", "current", "否", "未流失", "在网",
})
_FLAG_TOKENS = frozenset({"yes", "no", "y", "n", "true", "false", "t", "f", "1", "0", "1.0", "0.0", "是", "否"})
FLAG_TRUE = frozenset({"yes", "y", "true", "t", "1", "1.0", "是"})

_TARGET_NAME = re.compile(r"churn|exited|attrit|流失|^(target|label|left|is_?left|status|y)$", re.I)
_ID_NAME = re.compile(
    r"^(id|customer_?id|cust_?id|client_?id|account_?(id|number|no)|user_?id|member_?id|clientnum|"
    r"subscriber_?id|msisdn|phone(_?number)?|客户(编号|id|号)|用户(编号|id|号)|编号)$", re.I)
_SERVICE_NAME = re.compile(r"serv|support|complain|ticket|helpdesk|客服|投诉", re.I)
_TENURE_NAME = re.compile(
    r"tenure|account_?length|months_?on_?book|customer_?since|lifetime|seniority|在网|网龄|时长", re.I)
_VALUE_SINGLE = ("monthlycharges", "monthlycharge", "monthlyfee", "arpu", "monthlyrevenue", "revenue",
                 "totalrevenue", "ltv", "clv", "customervalue", "value", "spend", "totalspend",
                 "totalcharges", "totalcharge", "月费", "收入", "消费金额")
_VALUE_PART = re.compile(r"charge|费用", re.I)
_STATE_NAME = re.compile(r"^(state|us_?state|state_?code|州)$", re.I)
US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY".split())
MAX_CATEGORY_LEVELS = 100
# Whole numbers that never repeat although, drawn at random from their range, about this many pairs would
# repeat (n**2 / (2 * range)): the chance a measured feature does so is below e**-5 (0.7%). Such a column
# was assigned, not measured: a row number or an id.
_ID_CROWDING = 5.0
_ID_MIN_ROWS = 10


@dataclass(frozen=True, kw_only=True)
class ColumnRoles:
    """What each column of a customer table means to the analysis.

    ``value`` may name several columns; the customer value is then their sum
    (for example day, evening, night and international charges).
    """

    target: str | None = None
    positive_label: str | None = None
    id: str | None = None
    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    plan_flags: tuple[str, ...] = ()
    service_calls: str | None = None
    tenure: str | None = None
    value: tuple[str, ...] = ()
    state: str | None = None
    ignored: tuple[str, ...] = ()

    def replace(self, **changes: Any) -> ColumnRoles:
        """Return a copy with some roles overridden, e.g. ``roles.replace(tenure="months")``."""
        for key in ("categorical", "numeric", "plan_flags", "value", "ignored"):
            if key in changes and changes[key] is not None and not isinstance(changes[key], tuple):
                changes[key] = (changes[key],) if isinstance(changes[key], str) else tuple(changes[key])
        return dataclasses.replace(self, **changes)

    def remap(self, **changes: Any) -> ColumnRoles:
        """Override roles (as a person would in the role mapping) and keep the column kinds consistent.

        The target, the id and ignored columns leave the features; a plan flag leaves the
        categorical and numeric columns; value, service-call and tenure columns must stay numeric
        features (they are dropped from those roles otherwise).
        """
        new = self.replace(**changes)
        out = {new.target, new.id, *new.ignored}
        flags = tuple(c for c in new.plan_flags if c not in out)
        categorical = tuple(c for c in new.categorical if c not in out and c not in flags)
        numeric = tuple(c for c in new.numeric if c not in out and c not in flags)
        keep = lambda c: c if c in numeric else None
        return dataclasses.replace(
            new, plan_flags=flags, categorical=categorical, numeric=numeric,
            value=tuple(c for c in new.value if c in numeric), service_calls=keep(new.service_calls),
            tenure=keep(new.tenure), state=new.state if new.state in categorical else None)

    def used_columns(self) -> tuple[str, ...]:
        single = (self.target, self.id, self.service_calls, self.tenure, self.state)
        cols = [c for c in single if c] + [*self.categorical, *self.numeric, *self.plan_flags, *self.value]
        return tuple(dict.fromkeys(cols))

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnRoles:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls().replace(**{k: v for k, v in data.items() if k in known})

    def to_frame(self) -> pd.DataFrame:
        rows = [(col, role) for role, value in self.to_dict().items() if role != "positive_label"
                for col in (value if isinstance(value, list) else [value]) if col]
        return pd.DataFrame(rows, columns=["column", "role"])


def norm_token(value: Any) -> str:
    return str(value).strip().lower()


def flag_codes(series: pd.Series) -> np.ndarray:
    """A plan flag as 1.0 (yes/true/1/是), 0.0 (any other value) or NaN, decided once per distinct value."""
    levels = series if isinstance(series.dtype, pd.CategoricalDtype) else series.astype("category")
    truth = np.array([norm_token(c) in FLAG_TRUE for c in levels.cat.categories] + [np.nan], dtype=float)
    return truth[levels.cat.codes.to_numpy()]


def _compact(name: str) -> str:
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]", "", name.lower())


def target_token(value: Any) -> str | None:
    """A target value as a person reads it: case and surrounding spaces do not count (``Yes``, ``yes ``,
    ``YES`` are one value), ``1``, ``1.0`` and ``true`` are one value (``"1"``) and ``0``, ``0.0`` and
    ``false`` another (``"0"``); a blank or missing value is None."""
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    token = norm_token(value)
    if token in ("true", "false"):
        return "1" if token == "true" else "0"
    if token[:1].isdigit() or token[:1] in "+-.":
        try:
            number = float(token)
        except ValueError:
            number = None
        if number in (0.0, 1.0):
            return str(int(number))
    return token or None


def target_levels(values: Iterable[Any]) -> list[str]:
    """The distinct values of a target column as :func:`target_token` reads them, sorted."""
    return sorted({t for t in map(target_token, values) if t is not None})


def _two_valued(series: pd.Series) -> bool:
    """Whether a column holds two values as :func:`target_levels` reads them (a column with more than 64
    distinct spellings never does: this keeps a million-value score column cheap)."""
    values = series.dropna().unique()
    return len(values) <= 64 and len(target_levels(values)) == 2


def detect_target(frame: pd.DataFrame) -> str | None:
    """The column that most looks like a churn flag, or None."""
    candidates = [c for c in frame.columns if _TARGET_NAME.search(str(c))]
    two_valued = [c for c in candidates if _two_valued(frame[c])]
    ranked = sorted(two_valued or candidates,
                    key=lambda c: ("churn" not in str(c).lower() and "流失" not in str(c)))
    return ranked[0] if ranked else None


def detect_positive_label(values: Iterable[Any], *, column: str) -> str:
    """The one value of a two-valued target that means churn, from its spelling (read as
    :func:`target_token` reads it): the value that is a churn word (yes, true, 1, churned, left, exited,
    attrited...), or the one that is not a retention word (no, false, 0, active, existing...). Returned as
    it is spelt in the column (trimmed, lower case), so it is one of the values a person is offered."""
    values = list(values)
    levels = target_levels(values)
    positive = [v for v in levels if v in POSITIVE_TOKENS or "attrit" in v]
    negative = [v for v in levels if v in NEGATIVE_TOKENS or "exist" in v]
    chosen = None
    if len(levels) == 2 and len(positive) == 1 and positive[0] not in negative:
        chosen = positive[0]
    elif len(levels) == 2 and len(negative) == 1:
        chosen = next(v for v in levels if v != negative[0])
    if chosen is not None:
        return min(norm_token(v) for v in values if target_token(v) == chosen)
    raise SchemaError(
        f"Cannot tell which value of the target column '{column}' means churn. Received the values "
        f"{levels[:5]}. Say which one means churn (in the role mapping, or with --positive).",
        code="positive_ambiguous", column=column, values=levels[:5],
    )


def numeric_share(series: pd.Series, *, sample: int | None = 20_000) -> float:
    """Share of non-blank values that parse as numbers (1.0 for numeric dtypes).

    With ``sample``, a fixed evenly spaced sample of that many values decides (enough to tell a
    numeric column from a text one, and it keeps role detection fast on a million rows).
    """
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return 1.0
    values = series.dropna()
    if sample is not None and len(values) > sample:
        values = values.iloc[np.linspace(0, len(values) - 1, sample).astype(int)]
    text = values.astype(str).str.strip()
    text = text[text != ""]
    if text.empty:
        return 0.0
    return float(pd.to_numeric(text, errors="coerce").notna().mean())


def id_kind(series: pd.Series) -> str | None:
    """Whether a column's values make it an id: "row_number", "id" or None (decided by values, not name).

    A column qualifies when every row holds a whole number, no two rows share one, and either the values
    rise strictly in file order (row numbers 1..n or 0..n-1, auto-increment keys; a file sorted by a unique
    whole-number feature is the rare exception) or they crowd their range
    (``n**2 / (2 * (max - min + 1)) >= 5``: a shuffled row index, 8-digit customer numbers), which a
    measured feature drawn from that range would do by chance less than 1% of the time. "row_number" is the
    run 0..n-1 or 1..n in file order; any other qualifying column is an "id". Columns under 10 rows never
    qualify. A unique whole-number feature (a rank, say) is rare; it can be mapped back as numeric.
    """
    n = len(series)
    if n < _ID_MIN_ROWS or pd.api.types.is_bool_dtype(series) or numeric_share(series) < 1.0:
        return None
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(values).all() or np.any(np.mod(values, 1) != 0):
        return None
    rising = bool(np.all(np.diff(values) > 0))
    if not rising and len(np.unique(values)) < n:
        return None
    if rising and values[0] in (0, 1) and values[-1] == values[0] + n - 1:
        return "row_number"
    span = values.max() - values.min() + 1
    return "id" if rising or n * n >= 2 * _ID_CROWDING * span else None


def _is_integer_like(series: pd.Series) -> bool:
    values = series.dropna()
    numbers = values.to_numpy(dtype=float)
    return bool(len(values)) and bool(np.isfinite(numbers).all()) and bool(np.all(np.mod(numbers, 1) == 0))


def detect_roles(
    frame: pd.DataFrame,
    *,
    target: str | None = None,
    positive: str | None = None,
    id_column: str | None = None,
    numeric_threshold: float = 0.95,
) -> ColumnRoles:
    """Detect every column's role. ``target``, ``positive`` and ``id_column`` override detection."""
    columns = list(frame.columns)
    for label, col in (("target", target), ("id_column", id_column)):
        if col is not None and col not in columns:
            raise SchemaError(
                f"The {label} column '{col}' is not in the table. Received the columns {columns[:20]}. "
                "Pick one of those.", code="column_missing", column=col, columns=columns[:20],
            )
    target = target if target is not None else detect_target(frame)
    if target is not None and positive is None and _two_valued(frame[target]):
        try:
            positive = detect_positive_label(frame[target].dropna().unique(), column=target)
        except SchemaError:
            positive = None  # validation reports it; the user picks the value
    elif positive is not None and target is not None:
        if target_token(positive) not in target_levels(frame[target].dropna().unique()):
            raise SchemaError(
                f"The value '{positive}' does not occur in the target column '{target}'. Received the values "
                f"{target_levels(frame[target].dropna().unique())[:5]}. Pick one of those.",
                code="positive_missing", column=target, value=positive,
            )
        positive = norm_token(positive)

    n = len(frame)
    # Id candidates, best first: named like an id, unique text, whole numbers that never repeat (see
    # id_kind; row numbers last). The first is the id unless one was given; the others are ignored.
    named_id: str | None = None
    unique_text: list[str] = []
    by_value: dict[str, list[str]] = {"id": [], "row_number": []}
    roles: dict[str, list[str]] = {"categorical": [], "numeric": [], "plan_flags": [], "ignored": []}
    for col in columns:
        if col == target or col == id_column:
            continue
        series = frame[col]
        distinct = series.dropna()
        n_unique = distinct.nunique()
        if n_unique == 0:
            roles["ignored"].append(col)
            continue
        tokens = {norm_token(v) for v in distinct.unique()[:3]} if n_unique <= 2 else set()
        is_numeric = numeric_share(series) >= numeric_threshold
        # Named like an id (and not a yes/no flag): the id, however often its values repeat, so that
        # validation refuses the repeats (a file appended to itself repeats every id exactly twice).
        if named_id is None and id_column is None and _ID_NAME.match(str(col).strip()) and n_unique > 2:
            named_id = col
        elif n_unique == 2 and tokens <= _FLAG_TOKENS:
            roles["plan_flags"].append(col)
        elif is_numeric and n_unique == n and (kind := id_kind(series)) is not None:
            by_value[kind].append(col)
        elif is_numeric:
            roles["numeric"].append(col)
        elif n_unique <= MAX_CATEGORY_LEVELS:
            roles["categorical"].append(col)
        elif n_unique == n:
            unique_text.append(col)
        else:
            roles["ignored"].append(col)
    candidates = [c for c in (named_id, *unique_text, *by_value["id"], *by_value["row_number"]) if c]
    id_col = id_column if id_column is not None else next(iter(candidates), None)
    left_out = {*roles["ignored"], *(c for c in candidates if c != id_col)}
    roles["ignored"] = [c for c in columns if c in left_out]

    numeric = roles["numeric"]
    coerced = {c: pd.to_numeric(frame[c], errors="coerce") for c in numeric}
    counts = [c for c in numeric if _is_integer_like(coerced[c]) and coerced[c].min() >= 0]
    service = next((c for c in counts if _SERVICE_NAME.search(c) and "call" in c.lower()), None) or next(
        (c for c in counts if _SERVICE_NAME.search(c)), None)
    tenure = next((c for c in counts if _TENURE_NAME.search(c)), None)
    state = next((c for c in roles["categorical"] if _STATE_NAME.match(c.strip())
                  and frame[c].dropna().astype(str).str.upper().isin(US_STATES).mean() >= 0.9), None)
    return ColumnRoles(
        target=target, positive_label=positive, id=id_col,
        categorical=tuple(roles["categorical"]), numeric=tuple(numeric),
        plan_flags=tuple(roles["plan_flags"]), service_calls=service, tenure=tenure,
        value=tuple(c for c in _detect_value(numeric) if value_column_problem(coerced[c]) is None),
        state=state, ignored=tuple(roles["ignored"]),
    )


def _detect_value(numeric: list[str]) -> tuple[str, ...]:
    by_name = {_compact(c): c for c in numeric}
    for key in _VALUE_SINGLE:
        if key in by_name:
            return (by_name[key],)
    return tuple(c for c in numeric if _VALUE_PART.search(c))
