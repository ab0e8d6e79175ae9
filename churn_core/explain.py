"""Why a model scores what it does: model-native importance and SHAP values.

SHAP values explain the *uncalibrated* model inside a fitted pipeline, in that model's own
units: log-odds for XGBoost and logistic regression, probability for the random forest
(``shap_units`` says which). XGBoost's own exact TreeSHAP (``pred_contribs``) serves XGBoost,
shap's TreeExplainer the forest and LinearExplainer the logistic regression.

Reasons are stated in points of the probability *shown* (calibrated and clipped): a customer's
contributions, summed per driver (twin columns are one driver, see ``churn_core.features``),
are rescaled so that the waterfall starts at the population's mean shown probability and ends
at the customer's shown probability. Calibration is monotone, so the rescaling keeps every
contribution's sign relative to that mean (see :func:`to_points`).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ParameterError
from .features import feature_labels

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


def _contributions(model, X: pd.DataFrame, reference: pd.DataFrame | None, *, exact: bool = True
                   ) -> tuple[np.ndarray, float]:
    """SHAP values for ``X``, the output of the feature step (``reference``: the linear model's background).
    ``exact=False`` lets the forest use tree-path (Saabas) contributions: additive like SHAP, and
    a hundred times cheaper, for the customers an exact pass cannot reach within its time budget."""
    import shap

    _, middle, final = _parts(model)
    kind = model_kind(model)
    if kind == "xgboost":
        import xgboost

        contribs = final.get_booster().predict(xgboost.DMatrix(X, missing=np.nan), pred_contribs=True)
        return contribs[:, :-1], float(contribs[0, -1]) if len(contribs) else 0.0
    if kind == "random_forest":
        explainer = _tree_explainer(final)
        values = explainer.shap_values(X.to_numpy(dtype=float), check_additivity=False, approximate=not exact)
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
    return pd.Series(np.asarray(values, dtype=float), index=feature_labels(features))


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


# -- reasons: contributions per customer, grouped by driver, in points of the shown probability -------

REASON_COLUMNS = ("reason_{k}", "reason_{k}_value", "reason_{k}_points")
Calibrate = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class Reasons:
    """The top-k reasons of each explained customer.

    ``table`` has one row per explained customer: ``row`` (position in the explained frame),
    ``probability`` (shown), ``method`` (``shap`` or ``path``) and, for k = 1..top_k, ``reason_k``
    (a driver: a column or derived feature standing for its twins), ``reason_k_value`` (the customer's
    value, as text) and ``reason_k_points`` (its share of the probability, as a fraction: 0.21 is +21
    points); ``other_points`` (every other driver together) and ``protective`` / ``protective_value`` /
    ``protective_points`` (the driver lowering the risk most, if any). Reasons that raise the risk come
    first, largest first; protective ones fill the list only when fewer raise it. For every row,
    ``base_probability`` + the reasons' points + ``other_points`` = ``probability``.
    """

    table: pd.DataFrame
    top_k: int
    units: str  # units of the underlying SHAP values: "log-odds" or "probability"
    base_probability: float

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


@dataclass(frozen=True, eq=False)
class CustomerExplanation:
    """Every driver's share of one customer's shown probability, largest effect first.

    ``base_probability`` (the population's mean shown probability) + sum of ``points`` = ``probability``.
    """

    table: pd.DataFrame  # source (driver), value, points, contribution (in ``units``)
    base_probability: float
    probability: float
    units: str

    @property
    def raises(self) -> pd.DataFrame:
        """The drivers that raise the risk, largest first."""
        return self.table[self.table["points"] > 0].reset_index(drop=True)

    @property
    def protective(self) -> pd.DataFrame:
        """The drivers that lower the risk, largest effect first."""
        return self.table[self.table["points"] < 0].reset_index(drop=True)

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


def feature_drivers(model) -> list[str]:
    """For each feature the model sees, its driver: the source, or the lead of the source's twins."""
    drivers = getattr(_parts(model)[0], "drivers_", {}) or {}
    return [drivers.get(s, s) for s in feature_sources(model)]


def shown_probability(margin, *, units: str, calibrate: Calibrate | None = None) -> np.ndarray:
    """The probability shown for a raw model output (log-odds or probability): calibrated and clipped."""
    from .modeling import apply_calibrator

    margin = np.asarray(margin, dtype=float)
    with np.errstate(over="ignore"):  # a margin beyond ±700 is a probability of 0 or 1
        raw = 1.0 / (1.0 + np.exp(-margin)) if units == "log-odds" else margin
    return calibrate(raw) if calibrate is not None else apply_calibrator(None, raw)


def margin_at(probability: float, *, units: str, calibrate: Calibrate | None = None) -> float:
    """The raw model output whose shown probability is ``probability`` (bisection on the monotone map)."""
    low, high = (-40.0, 40.0) if units == "log-odds" else (0.0, 1.0)
    for _ in range(80):
        mid = (low + high) / 2
        if shown_probability([mid], units=units, calibrate=calibrate)[0] < probability:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def to_points(values: np.ndarray, base: float, *, units: str, calibrate: Calibrate | None,
              mean_probability: float) -> tuple[np.ndarray, np.ndarray]:
    """Contributions (rows x drivers, in ``units``, summing to margin − ``base``) as points of the shown
    probability, and the shown probability of each row.

    1. The reference moves from the model's base output to the output m* whose shown probability is the
       population's mean p̄: the shift (base − m*, the same for everyone) is shared among a customer's
       drivers in proportion to their size, so the shifted contributions sum to margin − m*.
    2. The drivers raising the risk (sum U) and those lowering it (sum D) are two coalitions walking from
       m* to the margin on the monotone map h from output to shown probability. The raising coalition's
       points are the average of its effect in either order, ½[h(m*+U) − p̄ + p − h(m*+D)]; the lowering
       coalition gets the rest; each coalition shares its points in proportion to its drivers' sizes.

    So the points add up to p − p̄ exactly, keep each driver's sign, and no driver or coalition moves the
    probability by more than it can (a raising total never exceeds 100 points).
    """
    values = np.asarray(values, dtype=float)
    margin = base + values.sum(axis=1)
    p = shown_probability(margin, units=units, calibrate=calibrate)
    reference = margin_at(mean_probability, units=units, calibrate=calibrate)
    size = np.abs(values)
    total = size.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, size / total, 1.0 / max(values.shape[1], 1))
        shifted = values + (base - reference) * share
        up = np.where(shifted > 0, shifted, 0.0).sum(axis=1)
        down = np.where(shifted < 0, shifted, 0.0).sum(axis=1)
        h_up = shown_probability(reference + up, units=units, calibrate=calibrate)
        h_down = shown_probability(reference + down, units=units, calibrate=calibrate)
        raising = 0.5 * ((h_up - mean_probability) + (p - h_down))
        lowering = (p - mean_probability) - raising
        points = np.where(shifted > 0, shifted * (raising / np.where(up > 0, up, 1))[:, None],
                          np.where(shifted < 0, shifted * (lowering / np.where(down < 0, down, -1))[:, None], 0.0))
    return points, p


def explain_customers(model, frame: pd.DataFrame, *, top_k: int = 3, background: pd.DataFrame | None = None,
                      calibrate: Calibrate | None = None, mean_probability: float | None = None,
                      deadline: float | None = None, chunk_rows: int | None = None) -> Reasons:
    """The ``top_k`` reasons of every customer of ``frame``, vectorised in chunks.

    ``calibrate`` maps the model's raw probability to the shown one (default: clipping only);
    ``mean_probability`` is the waterfall's base (default: the mean shown probability of ``frame``).
    ``deadline`` (a ``time.monotonic()`` instant) is a clock, not an estimate: a forest explains exactly
    until it passes, then with tree-path contributions, so every customer gets reasons.
    """
    import time

    if top_k < 1:
        raise ParameterError(f"The 'top_k' parameter of explain_customers must be at least 1. Got {top_k} instead.",
                             code="bad_parameter", name="top_k", value=top_k)
    features = _parts(model)[0]
    kind, units = model_kind(model), shap_units(model)
    drivers = feature_drivers(model)
    names = list(dict.fromkeys(drivers))
    grouping = np.zeros((len(drivers), len(names)))
    grouping[np.arange(len(drivers)), [names.index(s) for s in drivers]] = 1.0
    reference = _reference(model, background)
    if mean_probability is None:
        raw = unwrap(model).predict_proba(frame)[:, 1] if len(frame) else np.zeros(0)
        mean_probability = float(shown_probability(raw, units="probability", calibrate=calibrate).mean()) \
            if len(frame) else 0.5
    k = min(top_k, len(names))
    chunk_rows = chunk_rows or (2_000 if kind == "random_forest" else 50_000)
    parts = []
    for start in range(0, len(frame), chunk_rows):
        chunk = frame.iloc[start:start + chunk_rows]
        X = features.transform(chunk)
        exact = deadline is None or kind != "random_forest" or time.monotonic() < deadline
        values, base = _contributions(model, X, reference, exact=exact)
        derived = _by_label(features, X)
        grouped = values @ grouping
        points, p = to_points(grouped, base, units=units, calibrate=calibrate, mean_probability=mean_probability)
        # risk-raising drivers first (largest first), then protective ones (largest effect first)
        key = np.where(points > 0, -points, 1.0 / (1.0 + np.abs(points)))
        order = np.argsort(key, axis=1, kind="stable")[:, :k]
        top_points = np.take_along_axis(points, order, axis=1)
        part = {"row": np.arange(start, start + len(chunk)), "probability": p,
                "method": "shap" if exact else "path"}
        for j in range(k):
            part[f"reason_{j + 1}"] = np.asarray(names, dtype=object)[order[:, j]]
            part[f"reason_{j + 1}_value"] = _shown_values(chunk, derived, names, order[:, j])
            part[f"reason_{j + 1}_points"] = top_points[:, j]
        part["other_points"] = (p - mean_probability) - top_points.sum(axis=1)
        low = np.argmin(points, axis=1)
        has_low = np.take_along_axis(points, low[:, None], axis=1)[:, 0] < 0
        part["protective"] = np.where(has_low, np.asarray(names, dtype=object)[low], None)
        part["protective_value"] = np.where(has_low, _shown_values(chunk, derived, names, low), None)
        part["protective_points"] = np.where(has_low, np.take_along_axis(points, low[:, None], axis=1)[:, 0], np.nan)
        parts.append(pd.DataFrame(part))
        logger.info("explained %d of %d customers", min(start + chunk_rows, len(frame)), len(frame))
    columns = ["row", "probability", "method", *[c.format(k=j + 1) for j in range(k) for c in REASON_COLUMNS],
               "other_points", "protective", "protective_value", "protective_points"]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return Reasons(table[columns], k, units, float(mean_probability))


def _shown_values(chunk: pd.DataFrame, derived: dict[str, pd.Series], names: list[str],
                  which: np.ndarray) -> np.ndarray:
    shown = np.full(len(chunk), None, dtype=object)
    for i in np.unique(which):
        at = which == i
        column = chunk[names[i]] if names[i] in chunk else derived[names[i]]
        shown[at] = column.to_numpy()[at]
    return _as_text(shown)


def _by_label(features, X: pd.DataFrame) -> dict[str, pd.Series]:
    """The feature step's output ``X`` by original name (its columns carry the safe names the models see).
    A name given twice (a column ``total_charge`` and the derived one) means the later: the derived one."""
    return dict(zip(feature_labels(features), (X.iloc[:, i] for i in range(X.shape[1]))))


def explain_customer(model, frame: pd.DataFrame, *, background: pd.DataFrame | None = None,
                     calibrate: Calibrate | None = None, mean_probability: float | None = None
                     ) -> CustomerExplanation:
    """Every driver's share of the shown probability of the one customer in ``frame`` (a one-row frame).
    ``calibrate`` and ``mean_probability`` as for :func:`explain_customers` (give the population's mean:
    one customer alone has no population)."""
    if len(frame) != 1:
        raise ParameterError(f"explain_customer explains one customer at a time. Got {len(frame)} rows instead; "
                             "pass frame.iloc[[i]].", code="bad_parameter", name="frame", value=len(frame))
    features = _parts(model)[0]
    X = features.transform(frame)
    units = shap_units(model)
    values, base = _contributions(model, X, _reference(model, background))
    if mean_probability is None:
        mean_probability = float(shown_probability([base], units=units, calibrate=calibrate)[0])
    table = pd.DataFrame({"source": feature_drivers(model), "contribution": values[0]})
    table = table.groupby("source", sort=False, as_index=False).sum()
    points, p = to_points(table["contribution"].to_numpy()[None, :], base, units=units, calibrate=calibrate,
                          mean_probability=mean_probability)
    table.insert(1, "points", points[0])
    derived = _by_label(features, X)
    table.insert(1, "value", _as_text(np.array([frame[s].iloc[0] if s in frame else derived[s].iloc[0]
                                                for s in table["source"]], dtype=object)))
    table = table.reindex(table["points"].abs().sort_values(ascending=False, kind="stable").index)
    return CustomerExplanation(table.reset_index(drop=True), float(mean_probability), float(p[0]), units)


def _as_text(values: np.ndarray) -> np.ndarray:
    from ._labels import format_values

    return format_values(pd.Series(values, dtype="object")).to_numpy(dtype=object)
