"""Widgets shared by the Models and Data pages: model names, the leaderboard, run history, training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st

import churn_core as cc
from churn_core.plots import Labels

from . import actions, fmt, state
from .cache import cached
from .i18n import error_text, has_key, t

METRIC_COLUMNS = ("roc_auc", "pr_auc", "precision", "recall", "f1", "accuracy", "brier", "log_loss", "ece")


def model_name(name: str) -> str:
    return t(f"model.{name}") if has_key(f"model.{name}") else name


def run_label(run) -> str:
    """"Run 6 · bank v3 · 2026-11-27 17:03": the run, the name and version of its dataset, and when."""
    when = run.created_at.strftime("%Y-%m-%d %H:%M")
    return t("models.run_label", run=run.id, name=dataset_name(run.dataset_version), version=run.dataset_version,
             when=when)


def dataset_name(version: int) -> str:
    """The stored name of a dataset version ("–" if it is gone)."""
    return next((v.name for v in state.datasets().versions if v.version == version), "–")


def chart_labels(title: str, *, x: str = "", y: str = "") -> Labels:
    return Labels(title=title, x=x, y=y, customers=t("common.customers"), baseline=t("models.random"),
                  ideal=t("models.ideal"), predicted=t("models.predicted"), actual=t("models.actual"),
                  auc=t("models.auc"), ece="ECE", fold=t("models.fold"), small=t("common.few"))


def named(mapping: dict) -> dict:
    """A per-model mapping keyed by display names, for chart legends."""
    return {model_name(k): v for k, v in mapping.items()}


def leaderboard(report) -> None:
    """All holdout metrics, CV mean ± sd and timings: a row per metric, a column per model, the best value in
    each row starred and its model named (built once per report and language, ``ui.cache``)."""
    view = _leaderboard_view(report)
    st.dataframe(view, hide_index=True, width="stretch", height=35 * (view.num_rows + 1) + 3)


@cached(scope="args", worded=True, max_entries=32)
def _leaderboard_view(report) -> pa.Table:
    board, best = report.leaderboard, report.best()
    models = [str(m) for m in board["model"]]
    rows = {t("col.metric"): []} | {model_name(m): [] for m in models} | {t("col.best_model"): []}

    def add(key: str, cells: list[str], winner: str | None = None) -> None:
        rows[t("col.metric")].append(t(f"metric.{key}"))
        for m, cell in zip(models, cells):
            rows[model_name(m)].append(f"{cell} ★" if m == winner and len(models) > 1 else cell)
        rows[t("col.best_model")].append(model_name(winner) if winner else "")

    for col in (*METRIC_COLUMNS, "threshold", "cv_roc_auc", "cv_f1", "fit_seconds", "predict_seconds"):
        if col.startswith("cv_"):  # the best mean across folds
            means = board[col].to_numpy(dtype=float)
            winner = models[int(np.nanargmax(means))] if np.isfinite(means).any() else None
            add(col, [f"{m:.3f} ± {sd:.3f}" for m, sd in zip(board[col], board[f"{col}_sd"])], winner)
        else:
            digits = 2 if col in ("threshold", "fit_seconds", "predict_seconds") else 3
            add(col, [f"{v:.{digits}f}" for v in board[col]], best.get(col))
        if col == "roc_auc" and "roc_auc_ci_low" in board and board["roc_auc_ci_low"].notna().any():
            add("roc_auc_ci", [f"{lo:.3f}–{hi:.3f}" for lo, hi in zip(board["roc_auc_ci_low"],
                                                                       board["roc_auc_ci_high"])])
    # Text, not a pandas Styler: styling a table costs ~25 ms on every rerun, the whole page's budget.
    return pa.table(rows)


def model_choice(report) -> None:
    """Which model the run recommends (its best cross-validated mean), its holdout interval, and whether the
    top two are within noise."""
    board = report.leaderboard.set_index("model")
    best = board.loc[report.recommended]
    st.markdown(t("models.choice", model=model_name(report.recommended), metric=t("metric.roc_auc"),
                  mean=fmt.number(best["cv_roc_auc"], digits=3), sd=fmt.number(best["cv_roc_auc_sd"], digits=3),
                  auc=fmt.number(best["roc_auc"], digits=3), low=fmt.number(best.get("roc_auc_ci_low"), digits=3),
                  high=fmt.number(best.get("roc_auc_ci_high"), digits=3)))
    if report.within_noise:
        st.caption(t("models.within_noise"))


def history_table(runs, champion) -> None:
    rows = []
    for run in reversed(runs):
        best = min(run.models, key=lambda m: (m.rank or 99, -(m.cv_roc_auc_mean or 0.0))) \
            if run.models else None  # the run's recommendation: the best cross-validated mean
        is_champion = champion is not None and champion.run_id == run.id
        rows.append({
            t("col.run"): run.id,
            t("col.dataset_version"): t("data.dataset_line", name=dataset_name(run.dataset_version),
                                        version=run.dataset_version),
            t("col.status"): t(f"status.{run.status}"), t("col.created"): run.created_at.strftime("%Y-%m-%d %H:%M"),
            t("col.duration"): fmt.number(run.duration_s, digits=1) if run.duration_s is not None else "–",
            t("col.recommended"): model_name(best.name) if best else "–",
            t("metric.roc_auc"): best.roc_auc if best else None,
            t("col.champion"): model_name(champion.model) if is_champion else "",
            t("col.error"): (run.error or "")[:120],
        })
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={t("metric.roc_auc"): st.column_config.NumberColumn(format="%.3f")})


def train_with_progress(dataset: cc.Dataset, *, options: dict) -> tuple[int, object] | None:
    """Train on a stored dataset inside st.status with a progress bar; None (and a message) if it fails.

    A failed run is recorded as failed and the champion stays as it was.
    """
    status = st.status(t("train.running"), expanded=True)
    bar = status.progress(0.0)

    def progress(stage: str, fraction: float) -> None:
        label = model_name(stage) if stage in cc.MODEL_NAMES else t(f"train.stage.{stage}")
        bar.progress(fraction, text=t("train.progress", stage=label, pct=fmt.pct(fraction, digits=0)))

    try:
        run_id, result = actions.train(dataset, progress=progress, **options)
    except cc.ChurnCoreError as err:
        status.update(label=t("train.failed"), state="error")
        st.error(error_text(err))
        return None
    status.update(label=t("train.done", run=run_id), state="complete", expanded=False)
    return run_id, result
