"""Scoring customers with the champion model, and spreadsheet-safe exports."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import Dataset
from .errors import NotFoundError, SchemaError
from .store import Store

logger = logging.getLogger(__name__)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, eq=False)
class Scores:
    """One row per customer: ``id`` (or the 1-based row number) and ``churn_probability``."""

    frame: pd.DataFrame
    run_id: int
    model: str
    threshold: float

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()


def input_columns(model) -> list[str]:
    features = _feature_step(model)
    return [*features.numeric_, *features.flags_, *features.levels_,
            *dict.fromkeys(c for s in features.steps_ for c in s.inputs)]


def _feature_step(model):
    model = getattr(model, "estimator_", model)
    return model.named_steps["features"]


def score_customers(dataset: Dataset, *, store: Store) -> Scores:
    """Churn probabilities for every customer of ``dataset`` from the store's champion."""
    from .artifacts import load_model

    champion = store.champion()
    if champion is None:
        raise NotFoundError("No champion model yet, so nothing can be scored. Train a model and promote it "
                            "(`python -m churn_core train --data FILE --promote`).", code="no_champion")
    model = load_model(champion.entry["artifact"], sha256=champion.entry["sha256"])
    missing = sorted(set(input_columns(model)) - set(dataset.frame.columns))
    if missing:
        raise SchemaError(f"The file lacks columns the champion model was trained on: {missing}. Add them, "
                          "or train a model on data with this file's columns.", code="score_columns_missing",
                          columns=missing)
    proba = model.predict_proba(dataset.frame)[:, 1]
    ids = dataset.ids()
    frame = pd.DataFrame({ids.name if dataset.roles.id else "row": ids.to_numpy(), "churn_probability": proba})
    logger.info("scored %d customers with run %d %s", len(frame), champion.run_id, champion.model)
    return Scores(frame, champion.run_id, champion.model, float(champion.entry.get("threshold", 0.5)))


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy where text cells that a spreadsheet would run as a formula (=, +, -, @ ...) start with ``'``."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype.kind in "biuf":
            continue
        text = out[col].astype("string")
        risky = text.str.startswith(_FORMULA_START).fillna(False).to_numpy(dtype=bool)
        if risky.any():
            out[col] = np.where(risky, "'" + text.fillna(""), out[col].astype(object))
    out.columns = [("'" + c) if str(c).startswith(_FORMULA_START) else c for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a spreadsheet-safe CSV (UTF-8 with BOM, so Excel shows Chinese correctly)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    neutralise_formulas(frame).to_csv(path, index=False, encoding="utf-8-sig")
    return path
