"""Data: upload a customer file or a visit log, check it, map its columns, save it as a version, train,
compare, promote.

Nothing here touches the active dataset or the champion until the analyst saves or promotes (or picks a
demo, which adds a version), and a file that fails validation cannot be saved.
"""

import streamlit as st

from ui import actions, auth, data_views, demo_views, event_data_views, fmt, state
from ui.i18n import t, tm
from ui.model_views import dataset_name
from ui.train_views import train_compare_promote
from ui.widgets import guard, page_header, takeaway


def stored_versions(hint: str) -> None:
    """Without an upload: the hint, the demos, the active currency and the versions (one to train again on)."""
    st.info(t(hint))
    demo_views.demo_picker(always=True)
    if not auth.is_analyst():
        data_views.versions_table()
        st.stop()
    data_views.active_currency()
    retrain = data_views.versions_table()  # the version the analyst picked to train again on, if any
    if retrain is not None:
        takeaway(tm("data.retrain_line", name=dataset_name(retrain), version=retrain))
        train_compare_promote(retrain)
    st.stop()


def remember_saved(version, saved_key: str) -> None:
    """Keep the saved version for the steps below, say so, and rerun: the sidebar, drawn before this page,
    shows the new active dataset."""
    st.session_state[saved_key] = version.version
    st.toast(t("data.saved_reused" if version.reused else "data.saved", version=version.version))
    st.rerun()


def saved_then_train(saved_key: str) -> None:
    """After saving: the train, compare and promote steps for the saved version."""
    version = st.session_state.get(saved_key)
    if version is None:
        st.caption(t("data.save_first"))
        st.stop()
    takeaway(t("data.saved_line", version=version))
    train_compare_promote(version)
    st.stop()


page_header("data.title", "data.caption")
if not auth.is_analyst():  # viewers see the stored versions and may try a demo; uploads and training are for analysts
    stored_versions("auth.analyst_only")

if event_data_views.source_kind() == "events":
    upload = data_views.uploader(key="events_upload", label="events.upload", help_key="events.upload_help")
    extra = data_views.uploader(key="customers_upload", label="events.customers_upload",
                                help_key="events.customers_help")
    if upload is None:
        stored_versions("events.upload_hint")
    raw = event_data_views.read_file(upload)
    customers = None if extra is None else event_data_views.read_file(extra)
    st.subheader(t("data.step.preview"))
    st.dataframe(raw.frame.head(20), width="stretch", height=260)
    st.subheader(t("events.step.roles"))
    log = event_data_views.role_mapping(raw, customers)
    st.subheader(t("data.step.check"))
    checks = st.container()  # drawn once the window (below) is chosen: the checks depend on it
    st.subheader(t("events.step.window"))
    window, suggested = event_data_views.window_controls(log)
    with checks:
        ok = event_data_views.checks(log, window).ok
    if not ok:
        st.error(t("data.blocked"))
        st.stop()
    event_data_views.population(log, window)
    st.subheader(t("data.step.save"))
    saved_key = f"saved_events_{data_views.table_key(raw)}_{hash((log.roles, window))}"
    name = st.text_input(t("data.name"), value=upload.name.split(".", 1)[0], key=f"name_{saved_key}")
    currency = data_views.currency_choice(raw, name=name)
    if st.button(t("events.save"), type="primary", key="save_events"):
        with st.spinner(t("events.saving")), guard():
            version = actions.save_events(log, window=window, name=name, suggested=suggested, currency=currency)
        remember_saved(version, saved_key)
    saved_then_train(saved_key)

upload = data_views.uploader()
if upload is None:
    stored_versions("data.upload_hint")

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
    remember_saved(version, saved_key)
saved_then_train(saved_key)
