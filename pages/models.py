"""Models: compare a run's models on the holdout, look inside one, and promote or roll back the champion."""

import streamlit as st

from churn_core import plots
from ui import actions, auth, event_views, fmt, state
from ui.i18n import t, worded, wording
from ui.model_views import (
    chart_labels,
    dataset_name,
    history_table,
    leaderboard,
    model_choice,
    model_name,
    named,
    run_label,
)
from ui.train_views import also_activate, promote
from ui.widgets import chart, guard, keep_choice, kpi_row, page_header, takeaway

page_header("models.title", "models.caption")
with guard():
    runs = state.runs()
    champion = state.champion()
complete = {r.id: r for r in reversed(runs) if r.status == "complete"}
if not complete:
    st.info(t("models.no_runs"))
    st.page_link("pages/data.py", label=t("models.go_train"), icon=":material/model_training:")
    st.stop()

if champion is None:
    st.info(t("models.no_champion"))
else:
    trained_on = state.run_dataset_version(champion.run_id)
    takeaway(t("models.champion_line", model=model_name(champion.model), run=champion.run_id,
               name=dataset_name(trained_on), version=trained_on,
               auc=fmt.number(champion.entry.roc_auc, digits=3), f1=fmt.number(champion.entry.f1, digits=3),
               threshold=fmt.number(champion.entry.threshold, digits=2)))

ids = list(complete)
start = ids.index(champion.run_id) if champion and champion.run_id in complete else 0
keep_choice("models_run", ids, ids[start])
run_id = st.selectbox(t("models.pick_run"), ids,
                      format_func=wording(ids, lambda i: run_label(complete[i])), key="models_run")
with guard():
    report = state.model_report(run_id)

st.subheader(t("models.leaderboard"))
leaderboard(report)
st.caption(t("models.leaderboard_caption", n=fmt.count(report.customers), churners=fmt.count(report.positives)))
model_choice(report)
event_views.out_of_time(complete[run_id], model_name=model_name)  # a visit log: against the best recency rule

left, right = st.columns(2)
chart(plots.roc_curves, named(report.roc), labels=chart_labels(
    t("models.roc_title"), x=t("models.fpr"), y=t("models.tpr")), key="roc", container=left)
chart(plots.pr_curves, named(report.pr), labels=chart_labels(
    t("models.pr_title"), x=t("models.recall"), y=t("models.precision")), key="pr", container=right)
chart(plots.gains_chart, named(report.gains), labels=chart_labels(
    t("models.gains_title"), x=t("models.contacted"), y=t("models.captured")), key="gains")
best_model = report.recommended  # the best cross-validated mean: the holdout only judges it
best_gains = report.gains[best_model]
takeaway(t("models.gains_takeaway", model=model_name(best_model),
           captured=fmt.pct(float(best_gains.captured[1])), lift=fmt.ratio(float(best_gains.lift[0]))))

st.subheader(t("models.inside"))
keep_choice("models_model", report.models, best_model)
model = st.selectbox(t("models.pick_model"), report.models,
                     format_func=wording(report.models, model_name), key="models_model")
tab_cal, tab_conf, tab_imp, tab_cv = st.tabs([t("models.tab.calibration"), t("models.tab.confusion"),
                                              t("models.tab.importance"), t("models.tab.cv")])
with tab_cal:
    before, after = report.calibration[model]
    takeaway(t("models.calibration_takeaway", before=fmt.number(before.ece, digits=3),
               after=fmt.number(after.ece, digits=3)))
    chart(plots.calibration_plot, {t("models.before"): before, t("models.after"): after},
          labels=chart_labels(t("models.calibration_title", model=model_name(model)), x=t("models.predicted"),
                              y=t("models.actual")), key="calibration")
with tab_conf:
    threshold = st.slider(t("models.threshold"), 0.0, 1.0, round(report.thresholds[model], 2), 0.01,
                          key=f"threshold_{model}", help=t("models.threshold_help"))
    confusion = report.confusion(model, threshold=threshold)
    contacted = confusion.tp + confusion.fp
    takeaway(t("models.confusion_takeaway", threshold=f"{confusion.threshold:.2f}", contacted=fmt.count(contacted),
               share=fmt.pct(contacted / report.customers), tp=fmt.count(confusion.tp),
               churners=fmt.count(report.positives), recall=fmt.pct(confusion.recall), fp=fmt.count(confusion.fp)))
    kpi_row([(t("metric.precision"), fmt.pct(confusion.precision), None),
             (t("metric.recall"), fmt.pct(confusion.recall), None),
             (t("metric.f1"), fmt.number(confusion.f1, digits=3), None),
             (t("metric.accuracy"), fmt.pct(confusion.accuracy), None)])
    chart(plots.confusion_heatmap, confusion, names=(t("models.retained"), t("models.churned")),
          labels=chart_labels(t("models.confusion_title"), x=t("models.predicted"), y=t("models.actual")),
          key="confusion")
with tab_imp:
    importance = report.importance[model]
    native, shap = st.columns(2)
    chart(plots.importance_bars, importance, value="native", labels=chart_labels(
        t(f"models.native_title.{model}")), key="native_importance", container=native)
    chart(plots.importance_bars, importance, value="shap", labels=chart_labels(t("models.shap_title")),
          key="shap_importance", container=shap)
    st.caption(t("models.importance_caption", units=t(f"models.units.{report.shap_units[model] or 'log-odds'}")))
with tab_cv:
    keep_choice("cv_metric", ["roc_auc", "pr_auc", "f1"], "roc_auc")
    metric = st.radio(t("models.cv_metric"), ["roc_auc", "pr_auc", "f1"], format_func=worded("metric."),
                      horizontal=True, key="cv_metric")
    chart(plots.cv_spread, named(report.folds), metric=metric, labels=chart_labels(
        t("models.cv_title", folds=len(report.folds[model])), y=t(f"metric.{metric}")), key="cv_spread")

st.subheader(t("models.history"))
history_table(runs, champion)
auth.require_analyst()  # promoting and rolling back are the analyst's; everything above is for all
pick_col, promote_col, rollback_col = st.columns([2, 1, 1], vertical_alignment="bottom")
keep_choice("promote_pick", report.models, best_model)
pick = pick_col.selectbox(t("models.promote_pick", run=run_id), report.models,
                          format_func=wording(report.models, model_name), key="promote_pick")
activate = also_activate(report.dataset_version, key=f"models_activate_{run_id}")
if promote_col.button(t("models.promote"), type="primary", key="promote"):
    promote(run_id, pick, activate=report.dataset_version if activate else None)
    st.toast(t("models.promoted", model=model_name(pick), run=run_id))
    st.rerun()
if rollback_col.button(t("models.rollback"), help=t("models.rollback_help"), key="rollback"):
    with guard():
        back = actions.rollback()
    st.toast(t("models.rolled_back", model=model_name(back.model), run=back.run_id))
    st.rerun()
