"""The Data page's last steps on one stored dataset version: train, compare with the champion, promote.

Drawn after saving an upload, and for a stored version the analyst picked to train again on.
"""

from __future__ import annotations

import streamlit as st

import churn_core as cc

from . import actions, fmt, state
from .i18n import t, tm, worded, wording
from .model_views import dataset_name, model_name, train_with_progress
from .widgets import guard, keep_choice, takeaway


def train_compare_promote(version: int) -> None:
    """Training options and the button for ``version``; once trained, the champion against the new models on
    customers neither saw, and promotion. Stops the page until a run exists."""
    st.subheader(t("data.step.train"))
    with st.expander(t("train.options")):
        # worded choices keep a stable option in their state (keep_choice), so a language switch never breaks them
        keep_choice("train_models", list(cc.MODEL_NAMES), list(cc.MODEL_NAMES))
        models = st.multiselect(t("train.models"), list(cc.MODEL_NAMES),
                                format_func=wording(cc.MODEL_NAMES, model_name), key="train_models",
                                placeholder=t("common.choose"))
        keep_choice("train_rule", ["f1", "0.5", "recall"], "f1")
        rule = st.radio(t("train.threshold_rule"), ["f1", "0.5", "recall"], format_func=worded("train.rule."),
                        horizontal=True, key="train_rule")
        keep_choice("train_cal", ["beta", "sigmoid", "isotonic", "none"], "beta")
        calibration = st.radio(t("train.calibration"), ["beta", "sigmoid", "isotonic", "none"],
                               format_func=worded("train.calibration."), horizontal=True, key="train_cal")
        weights = st.checkbox(t("train.class_weight"), key="train_weights")
    run_key = f"run_for_{version}"
    if st.button(t("train.start"), type="primary", key="train", disabled=not models):
        with guard():
            dataset = state.dataset(version)
        trained = train_with_progress(dataset, options=dict(
            models=tuple(models), threshold_rule=rule, calibration=None if calibration == "none" else calibration,
            class_weight=weights))
        if trained is not None:
            st.session_state[run_key] = trained[0]
    run_id = st.session_state.get(run_key)
    if run_id is None:
        st.stop()
    _promote(version, run_id, _compare(version, run_id))


def _compare(version: int, run_id: int) -> list[str]:
    """The comparison table; returns the new run's models (the challengers)."""
    st.subheader(t("data.step.compare"))
    with guard():
        comparison = state.comparison(version, run_id)
    if comparison.reason is not None:
        st.info(t(f"compare.{comparison.reason}", columns=", ".join(comparison.missing_columns)))
    else:
        winner = comparison.winner
        takeaway(t(f"compare.winner_{winner.role}", model=model_name(winner.model)))
        st.caption(t("models.compared_on", n=fmt.count(comparison.customers), left=fmt.count(comparison.left_out)))
    table = comparison.table
    metrics = ("roc_auc", "pr_auc", "f1", "brier", "threshold")
    st.dataframe(table.assign(model=[model_name(m) for m in table["model"]],
                              role=[t(f"compare.role.{r}") for r in table["role"]])
                 [["model", "role", "run_id", *metrics]]
                 .rename(columns={"model": t("col.model"), "role": t("compare.role"), "run_id": t("col.run"),
                                  **{m: t(f"metric.{m}") for m in metrics}}),
                 hide_index=True, width="stretch")
    return list(table.loc[table["role"] == "challenger", "model"])


def _promote(version: int, run_id: int, challengers: list[str]) -> None:
    """Promote one of the new models; when its version is not the active dataset, make it active too (by
    default): a champion scores the active dataset, and may lack the old version's columns."""
    st.subheader(t("data.step.promote"))
    keep_choice("data_promote", challengers, challengers[0] if challengers else None)
    pick = st.selectbox(t("models.promote_pick", run=run_id), challengers,
                        format_func=wording(challengers, model_name), key="data_promote")
    activate = also_activate(version, key=f"promote_activate_{version}")
    if st.button(t("models.promote"), key="data_promote_button"):
        promote(run_id, pick, activate=version if activate else None)
        if activate:
            st.toast(t("models.promoted", model=model_name(pick), run=run_id))
            st.rerun()  # the sidebar, drawn before this page, shows the new active dataset
        st.success(t("models.promoted", model=model_name(pick), run=run_id))


def also_activate(version: int, *, key: str) -> bool:
    """When the run to promote was trained on a version that is not the active dataset: a checkbox (on by
    default) to make that version active too, since the champion scores the active dataset."""
    return version != state.active_version().version and st.checkbox(
        tm("data.promote_activate", name=dataset_name(version), version=version), value=True, key=key)


def promote(run_id: int, model: str, *, activate: int | None) -> None:
    """Promote ``model`` of run ``run_id``; with ``activate``, make that dataset version active too; then score the
    active dataset in the background, so the Risk page reads stored scores."""
    with guard():
        actions.promote(run_id, model, activate=activate)
