"""Overview: KPIs, then the sections the data can fill (strongest categories, numeric curves, tenure bands,
the state map), the report's segments where they apply, and value tiers."""

import streamlit as st

from ui import demo_views, event_views, fmt, overview_views, state
from ui.i18n import current_language, t, tm
from ui.widgets import guard, kpi_row, page_header

page_header("overview.title", "overview.caption")
demo_views.demo_picker()  # a first visit: try the telecom table or the after-sales visit log
with guard():
    dataset = state.active_dataset()
    desc = state.description()
roles, o = dataset.roles, desc.overall

kpis = [
    (t("kpi.customers"), fmt.count(o.customers), None),
    (t("kpi.churners"), fmt.count(o.churners), None),
    (t("kpi.churn_rate"), fmt.pct(o.churn_rate, digits=2),
     t("kpi.churn_rate_help", low=fmt.pct(o.ci_low, digits=2), high=fmt.pct(o.ci_high, digits=2))),
]
if o.value_at_risk is not None:
    kpis.append((t("kpi.value_at_risk"),
                 fmt.cash(o.value_at_risk, state.currency(), lang=current_language()),
                 tm("kpi.value_at_risk_help", columns=", ".join(roles.value), share=fmt.pct(o.value_at_risk_share))))
kpi_row(kpis)
event_views.population_line(dataset)  # a visit log: who is counted, and what churn means
if o.value_at_risk is not None:  # the label stays short enough for its box; the caption names the unit
    st.caption(tm("kpi.value_at_risk_caption", unit=state.value_unit()))
event_views.overview_sections(dataset)  # a visit log: recency, time to lapse, RFM segments, cohorts

overview_views.draw_in_pairs(overview_views.driver_sections(desc, dataset))
overview_views.leakage_note(dataset)
overview_views.segments(desc.segments)
overview_views.value_tiers(desc.value_tiers)
