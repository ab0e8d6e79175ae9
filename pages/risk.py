"""Risk: every customer scored by the champion, filtered, explained, and exported for the call centre."""

import streamlit as st

import churn_core as cc
from ui import fmt, state
from ui.i18n import t
from ui.risk_views import (
    CUSTOMER_KEY,
    assumptions,
    call_table,
    customer_panel,
    exports,
    filters,
    find_customer,
    kpis,
)
from ui.widgets import guard, page_header

page_header("risk.title", "risk.caption")
with guard():
    dataset = state.active_dataset()
    champion = state.champion()
if champion is None:
    st.info(t("risk.no_champion"))
    st.page_link("pages/models.py", label=t("nav.models"), icon=":material/model_training:")
    st.stop()

settings = assumptions(has_value_column=any(c in dataset.frame for c in dataset.roles.value))
with guard(), st.spinner(t("risk.scoring", rows=fmt.count(dataset.n_rows))):
    scored = state.scored(**settings)

if state.run_dataset_version(champion.run_id) == dataset.version:
    st.caption(t("risk.in_sample"))
st.caption(t("risk.scored_by", run=champion.run_id, model=t(f"model.{champion.model}"),
             explained=fmt.count(scored.explained), rows=fmt.count(len(scored.frame))))
if scored.explained < len(scored.frame):
    note, button = st.columns([4, 1])
    note.info(t("risk.partial", explained=fmt.count(scored.explained), rows=fmt.count(len(scored.frame))))
    if button.button(t("risk.explain_more", n=fmt.count(min(2000, len(scored.frame) - scored.explained))),
                     key="risk_explain_more"):
        with st.spinner(t("risk.explaining")):
            state.explain_more(scored, limit=2000)
        st.rerun()

with guard():
    where = filters(scored)
    selection = cc.filter_customers(scored, where=where)
kpis(selection)

sort = st.segmented_control(t("risk.sort"), ["priority", "probability", "value"], default="priority",
                            format_func=lambda k: t(f"risk.sort.{k}"), key="risk_sort") or "priority"
st.caption(t("risk.table_caption", shown=fmt.count(min(selection.customers, 500)),
             total=fmt.count(selection.customers)))
call_table(selection, sort=sort, where=where)
exports(selection, sort=sort)

st.divider()
find_customer(scored)
row = st.session_state.get(CUSTOMER_KEY)
if row is None:
    st.caption(t("risk.pick_hint"))
else:
    with guard():
        customer_panel(scored, int(row))
