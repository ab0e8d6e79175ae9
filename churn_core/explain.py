"""Why a model scores what it does: model-native importance and SHAP values.

SHAP values explain the *uncalibrated* model inside a fitted pipeline, in that model's own
units: log-odds for XGBoost and logistic regression, probability for the random forest
(``shap_units`` says which). TreeExplainer serves the tree models, LinearExplainer the
logistic regression. Calibration is a monotone map applied afterwards, so it changes the
scale of a customer's probability but not which features push it up or down.
"""

from __future__ import annotations

import logging
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
    import shap

    X = design_matrix(model, frame)
    final = _parts(model)[2]
    kind = model_kind(model)
    if kind == "xgboost":
        booster = final.get_booster()
        import xgboost

        contribs = booster.predict(xgboost.DMatrix(X, missing=np.nan), pred_contribs=True)
        return contribs[:, :-1], float(contribs[0, -1]) if len(contribs) else 0.0
    if kind == "random_forest":
        explainer = shap.TreeExplainer(final)
        values = explainer.shap_values(X.to_numpy(dtype=float), check_additivity=False)
        return np.asarray(values)[:, :, 1], float(np.atleast_1d(explainer.expected_value)[1])
    reference = design_matrix(model, background) if background is not None else X
    explainer = shap.LinearExplainer(final, reference.to_numpy(dtype=float))
    return np.asarray(explainer.shap_values(X.to_numpy(dtype=float))), float(explainer.expected_value)


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
