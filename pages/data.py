"""Data: upload a customer file, check it, map its columns, save it as a version, train, compare, promote.

Nothing here touches the active dataset or the champion until the analyst saves or promotes,
and a file that fails validation cannot be saved.
"""

import streamlit as st

import churn_core as cc
from ui import auth, data_views, fmt, state
from ui.i18n import t, worded, wording
from ui.model_views import model_name, train_with_progress
from ui.widgets import guard, keep_choice, page_header, takeaway

page_header("data.title", "data.caption")
if not auth.is_analyst():  # viewers see the stored versions; uploading and training are the analyst's
    st.info(t("auth.analyst_only"))
    data_views.versions_table()
    st.stop()
upload = st.file_uploader(t("data.upload"), type=["csv", "txt", "tsv", "xlsx"], key="upload",
                          help=t("data.upload_help"))
if upload is None:
    st.info(t("data.upload_hint"))
    data_views.versions_table()
    st.stop()

with st.status(t("data.reading", name=upload.name), expanded=False) as reading:
    raw = data_views.read_upload(upload)
    reading.update(label=t("data.read_done", name=upload.name, rows=fmt.count(len(raw.frame)),
                           columns=len(raw.frame.columns)), state="complete")

st.subheader(t("data.step.preview"))
st.dataframe(raw.frame.head(20), width="stretch", height=260)

st.subheader(t("data.step.roles"))
roles = data_views.role_mapping(raw)
with guard():
    roles, report = data_views.inspect(raw, roles)

st.subheader(t("data.step.check"))
data_views.report_view(raw, report)
if not report.ok:
    st.error(t("data.blocked"))
    st.stop()

st.subheader(t("data.step.drift"))
data_views.drift_view(raw, roles)

st.subheader(t("data.step.save"))
saved_key = f"saved_{raw.sha256}_{hash(roles.to_json())}"
name = st.text_input(t("data.name"), value=upload.name.rsplit(".", 1)[0], key=f"name_{raw.sha256[:10]}")
activate = st.checkbox(t("data.activate"), value=True, key="activate")
if st.button(t("data.save"), type="primary", key="save"):
    with st.spinner(t("data.saving")), guard():
        version = state.store().save_dataset(cc.load_dataset(raw, roles=roles, name=name), activate=activate)
    state.refresh()
    if activate:
        state.prepare_scores()
    st.session_state[saved_key] = version.version
    st.toast(t("data.saved_reused" if version.reused else "data.saved", version=version.version))
    st.rerun()  # the sidebar, drawn before this page, shows the new active dataset
version = st.session_state.get(saved_key)
if version is None:
    st.caption(t("data.save_first"))
    st.stop()
takeaway(t("data.saved_line", version=version))

st.subheader(t("data.step.train"))
with st.expander(t("train.options")):
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

st.subheader(t("data.step.compare"))
with guard():
    comparison = state.comparison(version, run_id)
if comparison.reason is not None:
    st.info(t(f"compare.{comparison.reason}", columns=", ".join(comparison.missing_columns)))
else:
    role, winner = comparison.winner.split(":")
    takeaway(t(f"compare.winner_{role}", model=model_name(winner)))
    st.caption(t("models.compared_on", n=fmt.count(comparison.customers), left=fmt.count(comparison.left_out)))
table = comparison.table
st.dataframe(table.assign(model=[model_name(m) for m in table["model"]],
                          role=[t(f"compare.role.{r}") for r in table["role"]])
             [["model", "role", "run_id", "roc_auc", "pr_auc", "f1", "brier", "threshold"]]
             .rename(columns={"model": t("col.model"), "role": t("compare.role"), "run_id": t("col.run"),
                              **{m: t(f"metric.{m}") for m in ("roc_auc", "pr_auc", "f1", "brier", "threshold")}}),
             hide_index=True, width="stretch")

st.subheader(t("data.step.promote"))
challengers = list(table.loc[table["role"] == "challenger", "model"])
keep_choice("data_promote", challengers, challengers[0] if challengers else None)
pick = st.selectbox(t("models.promote_pick", run=run_id), challengers,
                    format_func=wording(challengers, model_name), key="data_promote")
if st.button(t("models.promote"), key="data_promote_button"):
    with guard():
        state.store().promote(run_id, pick)
        state.prepare_scores(run_id=run_id, model=pick)  # the Risk page then reads stored scores
    st.success(t("models.promoted", model=model_name(pick), run=run_id))
