"""Risk: every customer scored by the champion, filtered, explained, and exported for the call centre."""

import streamlit as st

import churn_core as cc
from ui import actions, auth, event_views, fmt, state
from ui import risk_large_views as large_views
from ui.campaign_launch import launch_panel
from ui.i18n import t, tm, worded
from ui.model_views import dataset_name
from ui.risk_views import (
    CUSTOMER_KEY,
    assumptions,
    call_table,
    churned_apart,
    customer_panel,
    exports,
    filters,
    find_customer,
    kpis,
    scoring_caption,
    sparse_tiers_note,
    wait_for_scores,
)
from ui.widgets import guard, keep_choice, page_header

page_header("risk.title", "risk.caption")
with guard():
    large = state.large_scores()
if large is not None:  # millions of customers: filtered and paged in DuckDB, nothing loaded here
    large_views.render()
    st.stop()
with guard():
    dataset = state.scoring_dataset()  # a visit log: its customers still active at the log's last date
    champion = state.champion()
if champion is None:
    st.info(t("risk.no_champion"))
    st.page_link("pages/models.py", label=t("nav.models"), icon=":material/model_training:")
    st.stop()
fit = state.champion_fit(dataset.frame.columns)
if not fit.can_score:  # a champion of another schema: say whose it is, never score with it
    trained_on = state.run_dataset_version(champion.run_id)
    st.info(t("risk.other_schema", model=t(f"model.{champion.model}"), run=champion.run_id,
              name=dataset_name(trained_on), version=trained_on, active=dataset.name, active_version=dataset.version,
              columns=", ".join(fit.missing[:6]) + (" …" if len(fit.missing) > 6 else "")))
    st.page_link("pages/data.py", label=t("nav.data"), icon=":material/upload_file:")
    st.stop()

settings = assumptions(has_value_column=any(c in dataset.frame for c in dataset.roles.value))
status, error = state.scores_state()
if status == "failed":
    st.error(t("risk.prepare_failed", error=error))
    st.stop()
if status == "running" or (status == "missing" and dataset.n_rows > state.SCORE_ON_PAGE_ROWS):
    state.prepare_scores()
    wait_for_scores(rows=dataset.n_rows)
    st.stop()
with guard(), st.spinner(t("risk.scoring", rows=fmt.count(dataset.n_rows))):
    scored = state.scored(**settings)

scoring_caption(scored)
event_views.risk_line(scored)  # a visit log: as of when, and who already lapsed
trained_on = state.run_dataset_version(champion.run_id)
st.caption(tm("risk.scored_by", run=champion.run_id, name=dataset_name(trained_on), version=trained_on,
             model=t(f"model.{champion.model}"),
             explained=fmt.count(scored.explained_active), rows=fmt.count(int(scored.active.sum()))))
if scored.explained_active < int(scored.active.sum()):
    note, button = st.columns([4, 1])
    note.info(t("risk.partial", explained=fmt.count(scored.explained_active),
                rows=fmt.count(int(scored.active.sum()))))
    more = min(2000, int(scored.active.sum()) - scored.explained_active)
    if auth.is_analyst() and button.button(t("risk.explain_more", n=fmt.count(more)), key="risk_explain_more"):
        with st.spinner(t("risk.explaining")):
            actions.explain_more(scored, limit=2000)
        st.rerun()

with guard():
    where = filters(scored)
    selection = cc.filter_customers(scored, where=where)
kpis(selection)
churned_apart(scored)
sparse_tiers_note(scored)

SORTS = ["priority", "probability", "value"] if scored.has_value else ["probability"]
keep_choice("risk_sort", SORTS, SORTS[0])
sort = st.segmented_control(t("risk.sort"), SORTS, format_func=worded("risk.sort."), key="risk_sort") or SORTS[0]
st.caption(t("risk.table_caption", shown=fmt.count(min(selection.customers, 500)),
             total=fmt.count(selection.customers)))
call_table(selection, sort=sort, where=where)
exports(selection, sort=sort)
launch_panel(selection, where=where, contact_cost=settings["contact_cost"])

st.divider()
find_customer(scored)
row = st.session_state.get(CUSTOMER_KEY)
if row is None:
    st.caption(t("risk.pick_hint"))
else:
    with guard():
        customer_panel(scored, int(row))
        event_views.customer_history(scored, int(row))

event_views.history_sections(scored)
