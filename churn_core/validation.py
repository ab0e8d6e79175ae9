"""The validation report: what is wrong with a customer table before anyone analyses it.

Errors block (the data cannot be analysed as mapped); warnings allow. Each issue
has a stable ``code`` and ``params`` so that a UI can word it in any language.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .roles import ColumnRoles, flag_codes, numeric_share, target_levels, target_token

Severity = Literal["error", "warning", "info"]  # info: a choice made for the user, said once (event logs)
# Only words a message about a column already flagged by its values; never flags a column by itself.
_MODEL_OUTPUT = re.compile(r"prob|score|predict|propensity|risk|概率|预测", re.I)
LEAKAGE_AUC = 0.99
# A column's levels are checked one by one only when there are few of them: on average at least this
# many customers of the rarer class per level, so a level holding only churners is not luck.
_LEVEL_SUPPORT = 5
_LEAKAGE_SAMPLE = 200_000
_SHOWN_CHARS = 60  # a value quoted in a message is cut to this length: a cell may hold 200 KB


@dataclass(frozen=True, kw_only=True)
class Issue:
    severity: Severity
    code: str
    message: str
    column: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ValidationReport:
    rows: int
    columns: int
    missing: dict[str, int]
    duplicate_ids: int
    constant_columns: tuple[str, ...]
    churners: int | None
    churn_rate: float | None
    leakage: tuple[str, ...]
    issues: tuple[Issue, ...]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "warning")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(i.severity, i.code, i.column, i.message) for i in self.issues],
            columns=["severity", "code", "column", "message"],
        )

    def missing_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"column": list(self.missing), "missing": list(self.missing.values())})
        frame["share"] = frame["missing"] / max(self.rows, 1)
        return frame


def validate(
    frame: pd.DataFrame,
    *,
    roles: ColumnRoles,
    require_target: bool = True,
    duplicate_columns: tuple[str, ...] = (),
) -> ValidationReport:
    """Check a raw table against its roles and list every problem with its fix."""
    issues: list[Issue] = []
    add = issues.append
    n = len(frame)
    missing = {c: int(v) for c, v in frame.isna().sum().items() if v}
    if duplicate_columns:
        add(Issue(severity="warning", code="duplicate_columns",
                  message=f"Column names appear more than once: {list(duplicate_columns)}. The copies were renamed "
                  "with a suffix (.1, .2). Rename the columns in the source file so each name is unique.",
                  params={"columns": list(duplicate_columns)}))
    for col in frame.columns:
        if missing.get(col, 0) == n:
            add(Issue(severity="warning", code="all_missing",
                      message=f"Column '{col}' is empty in every row; it is ignored. "
                      "Remove it, or fill it in the source.", column=col))
    constant = tuple(c for c in frame.columns if missing.get(c, 0) < n and frame[c].nunique(dropna=True) == 1
                     and c != roles.target)
    for col in constant:
        value = _shorten(frame[col].dropna().iloc[0])
        add(Issue(severity="warning", code="constant_column", message=f"Column '{col}' has the same value in every row "
                  f"('{value}'); it cannot explain churn and is left out of the analysis.",
                  column=col, params={"value": value}))
    clashes = _case_clashes(frame.columns)
    if clashes:
        add(Issue(severity="error", code="column_case_clash",
                  message=f"The columns {clashes} differ only in upper and lower case. The database treats such "
                  "names as one, so the table cannot be saved. Rename one of them in the file.",
                  params={"columns": clashes}))
    if not (*roles.categorical, *roles.numeric, *roles.plan_flags):
        add(Issue(severity="error", code="no_features",
                  message=f"No column describes the customers: received the columns {list(frame.columns)[:12]}, and "
                  "none is a feature besides the id and the target. Add columns such as plan, tenure or service calls, "
                  "or map an ignored column as a feature.", params={"columns": list(frame.columns)[:12]}))
    for col in roles.numeric:
        issues.extend(_non_numeric(frame[col], col))
        issues.extend(_infinite(frame[col], col))
    if missing:
        top = sorted(missing.items(), key=lambda kv: -kv[1])[:5]
        add(Issue(severity="warning", code="missing_values",
                  message="Some values are missing: " + ", ".join(f"{c} ({v})" for c, v in top)
                  + ". Missing values are left out of each rate; fill them in the source if they matter.",
                  params={"columns": dict(top)}))

    duplicate_ids = 0
    if roles.id is not None:
        duplicate_ids = int(frame[roles.id].duplicated(keep=False).sum())
        if duplicate_ids:
            examples = [_shorten(v) for v in frame.loc[frame[roles.id].duplicated(), roles.id].unique()[:3]]
            add(Issue(severity="error", code="duplicate_ids",
                      message=f"{duplicate_ids} rows share an id in column '{roles.id}' (for example {examples}). "
                      "Remove the duplicate rows, or map a different id column (or none).",
                      column=roles.id, params={"count": duplicate_ids, "examples": examples}))

    churners = churn_rate = None
    leakage: tuple[str, ...] = ()
    if roles.target is None:
        if require_target:
            add(Issue(severity="error", code="no_target",
                      message=f"No column looks like a churn target. Received the columns {list(frame.columns)[:12]}. "
                      "Choose the target column in the role mapping (or pass --target).",
                      params={"columns": list(frame.columns)[:12]}))
    else:
        y, target_issues = _target_codes(frame[roles.target], roles)
        issues.extend(target_issues)
        if y is not None:
            churners, churn_rate = int(np.nansum(y)), float(np.nanmean(y))
            issues.extend(_balance(churners, churn_rate, n))
            leakage = _leakage(frame, roles, y, issues)
    if 0 < n < 100:
        add(Issue(severity="warning", code="few_rows", message=f"Only {n} rows: rates will have wide intervals. "
                  "Use a larger export if you have one.", params={"rows": n}))
    order = {"error": 0, "warning": 1}
    issues.sort(key=lambda i: order[i.severity])
    return ValidationReport(rows=n, columns=frame.shape[1], missing=missing, duplicate_ids=duplicate_ids,
                            constant_columns=constant, churners=churners, churn_rate=churn_rate, leakage=leakage,
                            issues=tuple(issues))


def _shorten(value: Any) -> str:
    """A value as a message quotes it: text over 60 characters is cut short with an ellipsis."""
    text = str(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _case_clashes(columns: pd.Index) -> list[str]:
    """Names equal to another one but for case ('Region' and 'region'): the store cannot hold both."""
    groups: dict[str, list[str]] = {}
    for column in map(str, columns):
        groups.setdefault(column.lower(), []).append(column)
    return [name for group in groups.values() if len(group) > 1 for name in group]


def target_codes(series: pd.Series, positive_label: str) -> np.ndarray:
    """0/1 churn codes as float (NaN where the target is missing or blank). Values are compared as
    :func:`~churn_core.roles.target_token` reads them: ``YES `` is ``yes``, ``1.0`` and ``true`` are ``1``."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    positive = target_token(positive_label)
    tokens = [target_token(v) for v in uniques]
    lookup = np.array([np.nan if t is None else float(t == positive) for t in tokens] + [np.nan])
    return lookup[codes]


def _target_codes(series: pd.Series, roles: ColumnRoles) -> tuple[np.ndarray | None, list[Issue]]:
    col = roles.target
    levels = target_levels(series.dropna().unique())
    examples = [_shorten(v) for v in levels[:6]]
    if not levels:
        return None, [Issue(severity="error", code="target_empty",
                            message=f"The target column '{col}' is empty in every row, so churn cannot be counted. "
                            "Fill it in the source (if it holds formulas, open the file in Excel and save it, so their "
                            "results are stored), or choose another column.", column=col)]
    if len(levels) == 1:
        return None, [Issue(severity="error", code="target_constant",
                            message=f"The target column '{col}' has only one value ({examples}). A churn analysis "
                            "needs both churned and retained customers. Check the export, or choose another column.",
                            column=col, params={"values": examples})]
    if roles.positive_label is None:
        code = "target_multiclass" if len(levels) > 2 else "positive_ambiguous"
        what = f"{len(levels)} values" if len(levels) > 2 else "two values, neither obviously churn"
        return None, [Issue(severity="error", code=code,
                            message=f"The target column '{col}' has {what}: {examples}. Say which value means churn; "
                            "every other value then counts as retained.", column=col,
                            params={"values": examples, "count": len(levels)})]
    issues = []
    if len(levels) > 2:
        rest = [_shorten(v) for v in levels if v != target_token(roles.positive_label)]
        issues.append(Issue(severity="warning", code="target_grouped",
                            message=f"The target column '{col}' has {len(levels)} values; '{roles.positive_label}' "
                            f"counts as churn and {rest[:5]} as retained.",
                            column=col, params={"positive": roles.positive_label,
                                                                           "others": rest[:5]}))
    y = target_codes(series, roles.positive_label)
    n_missing = int(np.isnan(y).sum())
    if n_missing:
        issues.append(Issue(severity="warning", code="target_missing",
                            message=f"{n_missing} rows have no value in the target column '{col}'; they are left out. "
                            "Fill the target in the source to keep them.", column=col, params={"count": n_missing}))
    return y, issues


def _balance(churners: int, rate: float, n: int) -> list[Issue]:
    if churners < 30 or n - churners < 30 or rate < 0.02 or rate > 0.6:
        return [Issue(severity="warning", code="class_imbalance",
                      message=f"{churners} of {n} customers churned ({rate:.1%}). With so few of one class, rates and "
                      "models are unreliable; add more history if you can.",
                      params={"churners": churners, "rows": n, "rate": rate})]
    return []


def _non_numeric(series: pd.Series, col: str) -> list[Issue]:
    if pd.api.types.is_numeric_dtype(series):
        return []
    text = series.dropna().astype(str).str.strip()
    text = text[text != ""]
    bad = text[pd.to_numeric(text, errors="coerce").isna()]
    if bad.empty:
        return []
    examples = [_shorten(v) for v in bad.unique()[:3]]
    return [Issue(severity="warning", code="non_numeric",
                  message=f"Column '{col}' is numeric but {len(bad)} values are text (for example {examples}); "
                  "they are treated as missing. Correct them in the source if they are real numbers.",
                  column=col,
                  params={"count": int(len(bad)), "examples": examples, "share": numeric_share(series, sample=None)})]


def _infinite(series: pd.Series, col: str) -> list[Issue]:
    """±inf in a numeric column (read from 'inf', '-Infinity', 1e999...): the models treat it as missing."""
    values = pd.to_numeric(series, errors="coerce")
    infinite = values[np.isinf(values.to_numpy(dtype=float, na_value=np.nan))]
    if infinite.empty:
        return []
    examples = sorted({"inf" if v > 0 else "-inf" for v in infinite.unique()}, reverse=True)
    return [Issue(severity="warning", code="infinite_values",
                  message=f"Column '{col}' holds {len(infinite)} infinite values (for example {examples}); they are "
                  "treated as missing. Correct them in the source if they stand for real numbers.",
                  column=col, params={"count": int(len(infinite)), "examples": examples})]


def _leakage(frame: pd.DataFrame, roles: ColumnRoles, y: np.ndarray, issues: list[Issue]) -> tuple[str, ...]:
    """Columns whose values give churn away: alone they separate churn almost perfectly.

    Two checks, on values only: the column used as a score (ROC-AUC at least ``LEAKAGE_AUC`` either way:
    ranges that barely overlap), and, for a column with few levels, each level's churn rate used as the
    score (churners and retained customers barely share a level: a relabelled copy of the target, or
    codes recorded only for leavers). A name never flags a column; a model-like name (score,
    probability...) only adds wording to the message about a column its values flagged.
    """
    known = ~np.isnan(y)
    if known.sum() > _LEAKAGE_SAMPLE:
        rng = np.random.default_rng(0)
        known = known & (rng.random(len(y)) < _LEAKAGE_SAMPLE / known.sum())
    leaks = []
    for col in (*roles.numeric, *roles.plan_flags, *roles.categorical):
        if col in roles.categorical:  # levels only: text has no order
            text = frame[col].astype("string").str.strip()
            ok = known & text.notna().to_numpy()
            scores = [level_auc(text.to_numpy()[ok], y[ok])]
        else:  # a yes/no copy of the target is the plainest leak
            x = (flag_codes(frame[col]) if col in roles.plan_flags
                 else pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float))
            ok = known & ~np.isnan(x)
            scores = [single_column_auc(x[ok], y[ok]), level_auc(x[ok], y[ok])]
        auc = max((max(a, 1 - a) for a in scores if a is not None), default=None)
        if auc is None or auc < LEAKAGE_AUC:
            continue
        leaks.append(col)
        if _MODEL_OUTPUT.search(col):
            issues.append(Issue(severity="warning", code="model_output",
                                message=f"Column '{col}' alone separates churn almost "
                                f"perfectly (AUC {auc:.3f}), and its name suggests a score or probability: it "
                                "is probably another model's output. Exclude it from models.",
                                column=col, params={"auc": auc}))
        else:
            issues.append(Issue(severity="warning", code="leakage",
                                message=f"Column '{col}' alone separates churn almost perfectly "
                                f"(AUC {auc:.3f}). It is probably recorded after the customer left; "
                                "exclude it from models.", column=col, params={"auc": auc}))
    return tuple(leaks)


def level_auc(x: np.ndarray, y: np.ndarray) -> float | None:
    """ROC-AUC of each level's churn rate used as the score, for a column with few levels (else None).

    A column with more levels than ``min(churners, retained) / 5`` returns None: with so few customers
    per level, pure levels happen by chance.
    """
    codes, levels = pd.factorize(x)
    n1 = int(y.sum())
    if not 2 <= len(levels) <= min(n1, len(y) - n1) / _LEVEL_SUPPORT:
        return None
    churners = np.bincount(codes, weights=y, minlength=len(levels))
    sizes = np.bincount(codes, minlength=len(levels))
    return single_column_auc(churners[codes] / sizes[codes], y)


def single_column_auc(x: np.ndarray, y: np.ndarray) -> float | None:
    """ROC-AUC of one column used as a score (Mann-Whitney rank form)."""
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return None
    ranks = pd.Series(x).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def report_to_dict(report: ValidationReport) -> dict[str, Any]:
    """A JSON-ready form of the report (stored with each dataset version)."""
    data = dataclasses.asdict(report)
    data["issues"] = [dataclasses.asdict(i) for i in report.issues]
    return data


def report_from_dict(data: dict[str, Any]) -> ValidationReport:
    fields = {**data, "constant_columns": tuple(data.get("constant_columns", ())),
              "leakage": tuple(data.get("leakage", ())),
              "issues": tuple(Issue(**i) for i in data.get("issues", ()))}
    return ValidationReport(**fields)
