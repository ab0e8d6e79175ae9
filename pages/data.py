"""Data: upload a customer file, check it, map its columns, save it as a version, train, compare, promote.

Nothing here touches the active dataset or the champion until the analyst saves or promotes,
and a file that fails validation cannot be saved.
"""

import streamlit as st

from ui import actions, auth, data_views, fmt, state
from ui.i18n import t, tm
from ui.model_views import dataset_name
from ui.train_views import train_compare_promote
from ui.widgets import guard, page_header, takeaway

page_header("data.title", "data.caption")
if not auth.is_analyst():  # viewers see the stored versions; uploading and training are the analyst's
    st.info(t("auth.analyst_only"))
    data_views.versions_table()
    st.stop()
upload = data_views.uploader()
if upload is None:
    st.info(t("data.upload_hint"))
    data_views.active_currency()
    retrain = data_views.versions_table()  # the version the analyst picked to train again on, if any
    if retrain is not None:
        takeaway(tm("data.retrain_line", name=dataset_name(retrain), version=retrain))
        train_compare_promote(retrain)
    st.stop()

sheet = data_views.pick_sheet(upload)  # a workbook with several sheets: asked here, before anything is read
with st.status(tm("data.reading", name=upload.name), expanded=False) as reading:
    raw = data_views.read_upload(upload, sheet=sheet, status=reading)
    reading.update(label=tm("data.read_done", name=upload.name, rows=fmt.count(len(raw.frame)),
                           columns=len(raw.frame.columns)), state="complete")
key = data_views.table_key(raw)

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
saved_key = f"saved_{key}_{hash(roles.to_json())}"
name = st.text_input(t("data.name"), value=upload.name.rsplit(".", 1)[0], key=f"name_{key}")
fit = state.champion_fit(raw.frame.columns)  # activate by default only what the champion can score
if not fit.can_score:
    st.warning(tm("data.champion_cannot_score", columns=", ".join(fit.missing)))
currency = data_views.currency_choice(raw, name=name)
activate = st.checkbox(t("data.activate"), value=fit.can_score, key=f"activate_{key}")
if st.button(t("data.save"), type="primary", key="save"):
    with st.spinner(t("data.saving")), guard():
        version = actions.save_dataset(raw, roles=roles, name=name, activate=activate, currency=currency)
    st.session_state[saved_key] = version.version
    st.toast(t("data.saved_reused" if version.reused else "data.saved", version=version.version))
    st.rerun()  # the sidebar, drawn before this page, shows the new active dataset
version = st.session_state.get(saved_key)
if version is None:
    st.caption(t("data.save_first"))
    st.stop()
takeaway(t("data.saved_line", version=version))
train_compare_promote(version)
