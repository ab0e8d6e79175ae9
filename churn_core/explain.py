"""Why a model scores what it does: model-native importance and SHAP values.

SHAP values explain the *uncalibrated* model inside a fitted pipeline, in that model's own
units: log-odds for XGBoost and logistic regression, probability for the random forest
(``shap_units`` says which). TreeExplainer serves the tree models, LinearExplainer the
logistic regression. Calibration is a monotone map applied afterwards, so it changes the
scale of a customer's probability but not which features push it up or down.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ParameterError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Importance:
    """Feature importance of one model: native (gain, impurity or |coefficient|) and mean |SHAP|."""

    model: str
    table: pd.DataFrame  # feature, native, shap (both shares of their column total), sorted by shap
    shap_units: str  # "log-odds" or "probability"
    rows_explained: int

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_records(self) -> list[dict]:
        return [{k: (float(v) if k != "feature" else str(v)) for k, v in row.items()}
                for row in self.table.to_dict("records")]


def unwrap(model):
    """The fitted, uncalibrated pipeline inside ``model`` (an OOF-calibrated model or a pipeline)."""
    return getattr(model, "estimator_", model)


def _parts(model):
    pipeline = unwrap(model)
    if not hasattr(pipeline, "named_steps"):
        raise ParameterError(f"Expected a fitted churn model pipeline. Got {type(model).__name__} instead.",
                             code="bad_parameter", name="model")
    steps = list(pipeline.named_steps.values())
    return steps[0], steps[1:-1], steps[-1]


def model_kind(model) -> str:
    final = _parts(model)[2]
    name = type(final).__name__
    return {"XGBClassifier": "xgboost", "RandomForestClassifier": "random_forest",
            "LogisticRegression": "logistic_regression"}.get(name, name)


def shap_units(model) -> str:
    return "probability" if model_kind(model) == "random_forest" else "log-odds"


def design_matrix(model, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as the final model sees it (after features and, for the linear model, scaling)."""
    features, middle, _ = _parts(model)
    X = features.transform(frame)
    data = X
    for step in middle:  # the imputer was fitted on a frame, the scaler on its array output
        data = step.transform(data)
    return pd.DataFrame(np.asarray(data), index=X.index, columns=X.columns) if middle else X


def shap_values(model, frame: pd.DataFrame, *, background: pd.DataFrame | None = None) -> tuple[np.ndarray, float]:
    """SHAP values (rows × features) and the base value, in ``shap_units(model)``.

    Each row's values plus the base value equal the uncalibrated model's output for that row
    (log-odds or probability). ``background`` (the linear model's reference data) defaults to ``frame``.
    """
    features = _parts(model)[0]
    reference = None if background is None else features.transform(background)
    return _contributions(model, features.transform(frame), reference)


def _contributions(model, X: pd.DataFrame, reference: pd.DataFrame | None) -> tuple[np.ndarray, float]:
    """SHAP values for ``X``, the output of the feature step (``reference``: the linear model's background)."""
    import shap

    _, middle, final = _parts(model)
    kind = model_kind(model)
    if kind == "xgboost":
        import xgboost

        contribs = final.get_booster().predict(xgboost.DMatrix(X, missing=np.nan), pred_contribs=True)
        return contribs[:, :-1], float(contribs[0, -1]) if len(contribs) else 0.0
    if kind == "random_forest":
        explainer = _tree_explainer(final)
        values = explainer.shap_values(X.to_numpy(dtype=float), check_additivity=False)
        return np.asarray(values)[:, :, 1], float(np.atleast_1d(explainer.expected_value)[1])
    data, ref = X, X if reference is None else reference
    for step in middle:  # the imputer was fitted on a frame, the scaler on its array output
        data, ref = step.transform(data), step.transform(ref)
    explainer = shap.LinearExplainer(final, np.asarray(ref, dtype=float))
    return np.asarray(explainer.shap_values(np.asarray(data, dtype=float))), float(explainer.expected_value)


_EXPLAINERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _tree_explainer(forest):
    """shap's TreeExplainer for a fitted forest, built once per forest (building it converts every tree)."""
    import shap

    if forest not in _EXPLAINERS:
        _EXPLAINERS[forest] = shap.TreeExplainer(forest)
    return _EXPLAINERS[forest]


def _reference(model, background: pd.DataFrame | None) -> pd.DataFrame | None:
    """The linear model's background through the feature step (tree explainers need none)."""
    if background is None or model_kind(model) != "logistic_regression":
        return None
    return _parts(model)[0].transform(background)


def native_importance(model) -> pd.Series:
    """The model's own importance per feature: XGBoost gain, forest impurity decrease, or |coefficient|
    of the standardised logistic regression."""
    features, _, final = _parts(model)
    names = list(features.feature_names_out_)
    if model_kind(model) == "xgboost":
        gain = final.get_booster().get_score(importance_type="gain")
        values = [gain.get(n, gain.get(f"f{i}", 0.0)) for i, n in enumerate(names)]
    elif hasattr(final, "feature_importances_"):
        values = final.feature_importances_
    else:
        values = np.abs(np.ravel(final.coef_))
    return pd.Series(np.asarray(values, dtype=float), index=names)


def importance(model, frame: pd.DataFrame, *, name: str = "", max_rows: int = 500, seed: int = 0) -> Importance:
    """Native importance and mean |SHAP| over up to ``max_rows`` customers of ``frame`` (a seeded sample)."""
    if max_rows < 1:
        raise ParameterError(f"The 'max_rows' parameter of importance must be at least 1. Got {max_rows} instead.",
                             code="bad_parameter", name="max_rows", value=max_rows)
    sample = frame.sample(n=min(max_rows, len(frame)), random_state=seed) if len(frame) > max_rows else frame
    values, _ = shap_values(model, sample)
    native = native_importance(model)
    mean_abs = pd.Series(np.abs(values).mean(axis=0), index=native.index)
    table = pd.DataFrame({"feature": native.index, "native": _share(native), "shap": _share(mean_abs),
                          "shap_raw": mean_abs.to_numpy()})
    table = table.sort_values("shap", ascending=False, kind="stable").reset_index(drop=True)
    return Importance(name or model_kind(model), table, shap_units(model), len(sample))


def _share(values: pd.Series) -> np.ndarray:
    total = float(values.sum())
    return (values / total).to_numpy() if total > 0 else values.to_numpy() * 0.0


# -- reasons: SHAP values per customer, grouped by source column, in probability points ------------

# Measured on 2 cores (bench/explain.py): seconds per cost unit, where a unit is one leaf x depth^2
# of one tree (exact TreeSHAP's cost). The linear model costs next to nothing per customer.
_SECONDS_PER_UNIT = {"xgboost": 4.5e-9, "random_forest": 5.3e-9}
_LINEAR_SECONDS_PER_ROW = 2e-6
REASON_COLUMNS = ("reason_{k}", "reason_{k}_value", "reason_{k}_points")


@dataclass(frozen=True, eq=False)
class Reasons:
    """The top-k reasons of each explained customer.

    ``table`` has one row per explained customer: ``row`` (position in the explained frame) and,
    for k = 1..top_k, ``reason_k`` (source column or derived feature), ``reason_k_value`` (the
    customer's value, as text) and ``reason_k_points`` (the change in churn probability it causes,
    as a fraction: 0.21 is +21 points). Reasons are ordered by the size of their effect.
    """

    table: pd.DataFrame
    top_k: int
    units: str  # units of the underlying SHAP values: "log-odds" or "probability"
    base_probability: float

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


@dataclass(frozen=True, eq=False)
class CustomerExplanation:
    """Every source's contribution to one customer's probability, largest effect first.

    ``base_probability`` + sum of ``points`` = ``model_probability`` (the uncalibrated model);
    adding ``calibration`` gives ``probability``, the calibrated score.
    """

    table: pd.DataFrame  # source, value, points, contribution (in ``units``)
    base_probability: float
    model_probability: float
    probability: float
    units: str

    @property
    def calibration(self) -> float:
        return self.probability - self.model_probability

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def feature_sources(model) -> list[str]:
    """For each feature the model sees, the column (or derived feature) it comes from:
    one-hot columns ``state=KS`` map back to ``state``."""
    features = _parts(model)[0]
    sources = [*features.numeric_, *[s.name for s in features.steps_], *features.flags_]
    for col, levels in features.levels_.items():
        sources += [col] * (len(levels) + 1)
    return sources


def explain_seconds_per_row(model) -> float:
    """Estimated cost of exact SHAP for one customer on 2 cores (trees x leaves x depth^2 for trees)."""
    final = _parts(model)[2]
    kind = model_kind(model)
    if kind == "xgboost":
        table = final.get_booster().trees_to_dataframe()
        leaves = int((table["Feature"] == "Leaf").sum())
        depth = final.max_depth or 6
        return leaves * depth ** 2 * _SECONDS_PER_UNIT[kind]
    if kind == "random_forest":
        units = sum(t.tree_.n_leaves * t.tree_.max_depth ** 2 for t in final.estimators_)
        return units * _SECONDS_PER_UNIT[kind]
    return _LINEAR_SECONDS_PER_ROW


def explain_customers(model, frame: pd.DataFrame, *, top_k: int = 3, background: pd.DataFrame | None = None,
                      chunk_rows: int = 50_000) -> Reasons:
    """The ``top_k`` reasons of every customer of ``frame``, vectorised in chunks of ``chunk_rows``.

    SHAP values of one-hot columns are summed back to their column, then expressed in
    probability points of the uncalibrated model (log-odds contributions are scaled by the
    secant of the logistic curve between the base and the customer's log-odds, so they add up
    to the customer's probability minus the base probability).
    """
    if top_k < 1:
        raise ParameterError(f"The 'top_k' parameter of explain_customers must be at least 1. Got {top_k} instead.",
                             code="bad_parameter", name="top_k", value=top_k)
    features = _parts(model)[0]
    sources = feature_sources(model)
    names = list(dict.fromkeys(sources))
    grouping = np.zeros((len(sources), len(names)))
    grouping[np.arange(len(sources)), [names.index(s) for s in sources]] = 1.0
    reference = _reference(model, background)
    k = min(top_k, len(names))
    parts, base_probability = [], float("nan")
    for start in range(0, len(frame), chunk_rows):
        chunk = frame.iloc[start:start + chunk_rows]
        X = features.transform(chunk)
        values, base = _contributions(model, X, reference)
        points, base_probability = _to_points(values, base, shap_units(model))
        grouped = points @ grouping
        order = np.argsort(-np.abs(grouped), axis=1, kind="stable")[:, :k]
        top_points = np.take_along_axis(grouped, order, axis=1)
        part = {"row": np.arange(start, start + len(chunk))}
        for j in range(k):
            which = order[:, j]
            shown = np.full(len(chunk), None, dtype=object)
            for i in np.unique(which):
                at = which == i
                column = chunk[names[i]] if names[i] in chunk else X[names[i]]
                shown[at] = column.to_numpy()[at]
            part[f"reason_{j + 1}"] = np.asarray(names, dtype=object)[which]
            part[f"reason_{j + 1}_value"] = _as_text(shown)
            part[f"reason_{j + 1}_points"] = top_points[:, j]
        parts.append(pd.DataFrame(part))
        logger.info("explained %d of %d customers", min(start + chunk_rows, len(frame)), len(frame))
    columns = ["row", *[c.format(k=j + 1) for j in range(k) for c in REASON_COLUMNS]]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return Reasons(table[columns], k, shap_units(model), base_probability)


def explain_customer(model, frame: pd.DataFrame, *, background: pd.DataFrame | None = None) -> CustomerExplanation:
    """Every source's contribution for the one customer in ``frame`` (a one-row frame)."""
    if len(frame) != 1:
        raise ParameterError(f"explain_customer explains one customer at a time. Got {len(frame)} rows instead; "
                             "pass frame.iloc[[i]].", code="bad_parameter", name="frame", value=len(frame))
    features = _parts(model)[0]
    X = features.transform(frame)
    values, base = _contributions(model, X, _reference(model, background))
    points, base_probability = _to_points(values, base, shap_units(model))
    table = pd.DataFrame({"source": feature_sources(model), "points": points[0], "contribution": values[0]})
    table = table.groupby("source", sort=False, as_index=False).sum()
    table.insert(1, "value", _as_text(np.array([frame[s].iloc[0] if s in frame else X[s].iloc[0]
                                                for s in table["source"]], dtype=object)))
    table = table.reindex(table["points"].abs().sort_values(ascending=False, kind="stable").index)
    model_probability = base_probability + float(points[0].sum())
    probability = float(model.predict_proba(frame)[0, 1])
    return CustomerExplanation(table.reset_index(drop=True), base_probability, model_probability, probability,
                               shap_units(model))


def _to_points(values: np.ndarray, base: float, units: str) -> tuple[np.ndarray, float]:
    """SHAP values as probability changes, and the base as a probability."""
    if units == "probability":
        return values, base
    total = values.sum(axis=1)
    p0 = 1.0 / (1.0 + np.exp(-base))
    p = 1.0 / (1.0 + np.exp(-(base + total)))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(np.abs(total) > 1e-9, (p - p0) / total, p0 * (1 - p0))
    return values * scale[:, None], float(p0)


def _as_text(values: np.ndarray) -> np.ndarray:
    from ._labels import format_values

    return format_values(pd.Series(values, dtype="object")).to_numpy(dtype=object)
