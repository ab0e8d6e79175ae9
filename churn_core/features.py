"""Feature engineering as declared steps, applied inside every model pipeline.

Training and scoring share one transform: :class:`ChurnFeatures` is the first step of
each model's scikit-learn pipeline, so a scored file goes through exactly the steps
the model was trained with. Steps fire only when their inputs exist:

* ``total_charge``: the sum of the value columns, when the value role names several columns;
* ``total_minutes``: the sum of the numeric columns whose names mention minutes;
* ``charge_per_minute``: total charge over total minutes (0 where there are no minutes);
* plan flags as 0/1;
* one-hot encoding of each categorical column, its ``max_levels`` most frequent values
  kept and the rest pooled as ``other``.

Numeric columns pass through as numbers (missing values stay NaN; the linear model
imputes them, the tree models handle them). Infinite values count as missing, and finite ones
are kept within ±``VALUE_LIMIT`` (the models compute in 32-bit floats, whose range ends near 3.4e38).

The models see *safe* feature names (:func:`safe_feature_names`): a column may be called ``a[1]`` or
``plan=<basic>``, which XGBoost refuses. ``feature_names_out_`` are the safe names (the columns of the
transformed frame); ``feature_labels_`` the original ones, in the same order, for every report.

At fit time the step also names each source's *driver* (``drivers_``): twin columns (|r| > 0.95,
such as day minutes and day charge) and a derived feature mostly made of one input (|r| ≥ 0.7 with
it, such as total charge with day charge) form one driver, named after the member most correlated
with churn, so an explanation never splits one fact into two reasons of opposite sign.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from ._names import unique_names
from .roles import ColumnRoles, flag_codes

_MINUTES = re.compile(r"minute|mins?\b|分钟", re.I)
TWIN_R = 0.95  # two columns this correlated are one fact
DERIVED_R = 0.7  # a derived feature this correlated with one of its inputs belongs to that input's driver
VALUE_LIMIT = 1e30  # a feature value beyond ±this is cut to it: nothing a customer table measures is larger
MAX_NAME_CHARS = 64  # a longer feature name is cut, with a hash of the whole name to keep it unique
_UNSAFE = re.compile(r"[\[\]<\x00-\x1f\x7f]|[\ud800-\udfff]")  # XGBoost's forbidden [ ] <, controls, lone surrogates


def safe_feature_name(name: str) -> str:
    """``name`` as a model may see it: unchanged when it is safe, else its unsafe characters replaced by
    ``_``, cut to fit, and suffixed with ``~`` and 8 hex digits of its hash (so distinct names stay distinct)."""
    text = str(name)
    if len(text) <= MAX_NAME_CHARS and not _UNSAFE.search(text):
        return text
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{_UNSAFE.sub('_', text)[: MAX_NAME_CHARS - 9]}~{digest}"


def safe_feature_names(names) -> list[str]:
    """Each name made safe (:func:`safe_feature_name`) and unique: a later name equal to an earlier one
    (``a=b`` as a column and as the level ``b`` of a column ``a``) gets ``~2``, ``~3``..."""
    return unique_names((safe_feature_name(name) for name in names), mark=lambda safe, k: f"{safe}~{k + 1}")


def feature_labels(features: ChurnFeatures) -> list[str]:
    """The original name of each feature a fitted step outputs (a step saved before safe names existed
    used the original names as its columns)."""
    return list(getattr(features, "feature_labels_", features.feature_names_out_))


def _finite(matrix: np.ndarray) -> np.ndarray:
    """±inf (an overflowing sum, say) as NaN; finite values cut to ±VALUE_LIMIT."""
    return np.where(np.isinf(matrix), np.nan, np.clip(matrix, -VALUE_LIMIT, VALUE_LIMIT))


def _numbers(series: pd.Series) -> np.ndarray:
    """A column as floats: text that is no number, and ±inf, become NaN."""
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isinf(values), np.nan, values)


@dataclass(frozen=True)
class FeatureStep:
    name: str
    inputs: tuple[str, ...]
    description: str


def feature_steps(roles: ColumnRoles) -> tuple[FeatureStep, ...]:
    """The derived-feature steps that fire for these roles."""
    steps = []
    charges = tuple(roles.value)
    minutes = tuple(c for c in roles.numeric if _MINUTES.search(c))
    if len(charges) > 1:
        steps.append(FeatureStep("total_charge", charges, "sum of the charge columns"))
    if len(minutes) > 1:
        steps.append(FeatureStep("total_minutes", minutes, "sum of the minutes columns"))
    if charges and minutes:
        steps.append(FeatureStep("charge_per_minute", charges + minutes, "total charge / total minutes"))
    return tuple(steps)


def _as_category(series: pd.Series) -> pd.Series:
    """The column as a categorical of strings (cheap when it already is one: no per-row conversion)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series
    return series.astype("string").str.strip().astype("category")


class ChurnFeatures(TransformerMixin, BaseEstimator):
    """Turn a customer table into a numeric feature frame, following its column roles.

    ``roles_json`` is :meth:`ColumnRoles.to_json` (a plain string, so a fitted pipeline can be
    saved in a safe, non-pickle format). ``exclude`` lists columns never used (e.g. leakage).
    """

    def __init__(self, roles_json: str = "{}", *, derived: bool = True, max_levels: int = 20,
                 exclude: tuple[str, ...] = ()):
        self.roles_json = roles_json
        self.derived = derived
        self.max_levels = max_levels
        self.exclude = exclude

    def fit(self, X: pd.DataFrame, y=None):
        roles = ColumnRoles.from_dict(json.loads(self.roles_json))
        skip = {roles.target, roles.id, *roles.ignored, *self.exclude}
        self.numeric_ = [c for c in roles.numeric if c not in skip and c in X]
        self.flags_ = [c for c in roles.plan_flags if c not in skip and c in X]
        self.levels_ = {}
        for col in roles.categorical:
            if col in skip or col not in X:
                continue
            counts = _as_category(X[col]).value_counts(sort=True)
            counts = counts[counts > 0]
            self.levels_[col] = [str(v) for v in counts.index[: self.max_levels]]
        self.steps_ = feature_steps(roles) if self.derived else ()
        self.feature_labels_ = self._names()
        self.feature_names_out_ = safe_feature_names(self.feature_labels_)
        self.drivers_ = self._drivers(X, y)
        return self

    def _drivers(self, X: pd.DataFrame, y) -> dict[str, str]:
        """Each numeric or derived source's driver (see the module docstring); other sources are their own."""
        names = [*self.numeric_, *[s.name for s in self.steps_]]
        if len(names) < 2:
            return {n: n for n in names}
        rows = np.random.default_rng(0).choice(len(X), 20_000, replace=False) if len(X) > 20_000 else \
            np.arange(len(X))
        sample = X.iloc[rows]
        columns = [_numbers(sample[c]) for c in self.numeric_]
        done: dict[str, np.ndarray] = {}
        for step in self.steps_:
            done[step.name] = self._derive(step, sample, done)
            columns.append(done[step.name])
        matrix = _finite(np.column_stack(columns))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column has no median: 0
            fill = np.nan_to_num(np.nanmedian(matrix, axis=0))
        matrix = np.where(np.isnan(matrix), fill, matrix)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.nan_to_num(np.corrcoef(matrix, rowvar=False))
            target = None if y is None else np.asarray(y, dtype=float)[rows]
            churn = np.zeros(len(names)) if target is None else np.nan_to_num(np.abs(
                [np.corrcoef(matrix[:, i], target)[0, 1] for i in range(len(names))]))
        parent = list(range(len(names)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                if abs(r[i, j]) > TWIN_R:
                    parent[root(j)] = root(i)
        for step in self.steps_:
            i = names.index(step.name)
            inputs = [names.index(c) for c in step.inputs if c in names]
            if inputs and root(i) == i and all(root(k) != i for k in range(len(names)) if k != i):
                best = max(inputs, key=lambda k: abs(r[i, k]))
                if abs(r[i, best]) >= DERIVED_R:
                    parent[root(i)] = root(best)
        groups: dict[int, list[int]] = {}
        for i in range(len(names)):
            groups.setdefault(root(i), []).append(i)
        drivers = {}
        for members in groups.values():
            lead = names[max(members, key=lambda k: (churn[k], -k))]
            drivers.update({names[k]: lead for k in members})
        return drivers

    def _names(self) -> list[str]:
        names = [*self.numeric_, *[s.name for s in self.steps_], *self.flags_]
        for col, levels in self.levels_.items():
            names += [f"{col}={v}" for v in levels] + [f"{col}=other"]
        return names

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The feature frame, columns in ``feature_names_out_`` order (built by position: two features may
        share an original name)."""
        out = [_numbers(X[c]) for c in self.numeric_]
        done: dict[str, np.ndarray] = {}
        for step in self.steps_:
            done[step.name] = self._derive(step, X, done)
            out.append(done[step.name])
        for col in self.flags_:
            out.append(flag_codes(X[col]))
        for col, levels in self.levels_.items():
            column = _as_category(X[col])
            position = {level: i for i, level in enumerate(levels)}
            # category code -> index of its level, or len(levels) for "other" (also for missing, code -1)
            lookup = np.array([position.get(str(c), len(levels)) for c in column.cat.categories] + [len(levels)])
            which = lookup[column.cat.codes.to_numpy()]
            out += [(which == i).astype(float) for i in range(len(levels) + 1)]
        matrix = _finite(np.column_stack(out)) if out else np.empty((len(X), 0))
        return pd.DataFrame(matrix, index=X.index, columns=list(self.feature_names_out_))

    @staticmethod
    def _derive(step: FeatureStep, X: pd.DataFrame, done: dict[str, np.ndarray]) -> np.ndarray:
        def total(cols):
            with np.errstate(over="ignore", invalid="ignore"):
                return np.nansum([_numbers(X[c]) for c in cols], axis=0)
        if step.name == "charge_per_minute":  # reuses total_charge / total_minutes when those steps ran
            spent = done.get("total_charge")
            used = done.get("total_minutes")
            spent = total([c for c in step.inputs if not _MINUTES.search(c)]) if spent is None else spent
            used = total([c for c in step.inputs if _MINUTES.search(c)]) if used is None else used
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(used > 0, spent / used, 0.0)
        return total(step.inputs)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(self.feature_names_out_, dtype=object)
