"""Overview: KPIs, churn by plan, the service-call curve, tenure bands, the state map and segments."""

import streamlit as st

import churn_core as cc
from churn_core import plots
from ui import fmt, state
from ui.i18n import current_language, t
from ui.widgets import (
    chart,
    contrast_text,
    guard,
    kpi_row,
    labels,
    page_header,
    rate_table,
    segment_name,
    takeaway,
    threshold_text,
)

page_header("overview.title", "overview.caption")
with guard():
    dataset = state.active_dataset()
    desc = state.description()
    data = state.data_token()
roles, o = dataset.roles, desc.overall

kpis = [
    (t("kpi.customers"), fmt.count(o.customers), None),
    (t("kpi.churners"), fmt.count(o.churners), None),
    (t("kpi.churn_rate"), fmt.pct(o.churn_rate, digits=2),
     t("kpi.churn_rate_help", low=fmt.pct(o.ci_low, digits=2), high=fmt.pct(o.ci_high, digits=2))),
]
if o.value_at_risk is not None:
    kpis.append((t("kpi.value_at_risk"), fmt.amount(o.value_at_risk, lang=current_language()),
                 t("kpi.value_at_risk_help", columns=", ".join(roles.value), share=fmt.pct(o.value_at_risk_share))))
kpi_row(kpis)

left, right = st.columns(2)
with left:
    st.subheader(t("overview.plans"))
    leaks = cc.leakage_columns(dataset)
    for flag in (f for f in roles.plan_flags if f in desc.by_category):  # describe leaves leakage out
        result = desc.by_category[flag]
        contrast = result.contrast()
        takeaway(contrast_text(flag, contrast), small=contrast is not None and contrast.small)
        chart(plots.rate_bars, result.table, label="value", overall=o.churn_rate,
              labels=labels(t("overview.plan_chart", column=flag), x=flag), key=f"plan_{flag}", token=data)
    if any(f in leaks for f in roles.plan_flags):
        st.caption(t("common.leakage_left_out", columns=", ".join(f for f in roles.plan_flags if f in leaks)))
with right:
    st.subheader(t("overview.service"))
    if roles.service_calls:
        thr = desc.thresholds[roles.service_calls]
        takeaway(threshold_text(thr))
        chart(plots.threshold_curve, thr, labels=labels(
            t("overview.service_chart", column=roles.service_calls), x=roles.service_calls), key="service", token=data)
    else:
        st.info(t("common.missing_role", role=t("role.service_calls")))

left, right = st.columns(2)
with left:
    st.subheader(t("overview.tenure"))
    if desc.bands is not None:
        contrast = desc.bands.contrast()
        takeaway(contrast_text(desc.bands.column, contrast, key="takeaway.band"), small=contrast.small)
        chart(plots.rate_bars, desc.bands.table, label="band", overall=o.churn_rate, labels=labels(
            t("overview.tenure_chart", column=desc.bands.column), x=desc.bands.column), key="tenure", token=data)
    else:
        st.info(t("common.missing_role", role=t("role.tenure")))
with right:
    st.subheader(t("overview.map"))
    if roles.state:
        by_state = desc.by_category[roles.state]
        takeaway(contrast_text(roles.state, by_state.contrast(), key="takeaway.state"))
        chart(plots.state_map, by_state.table, labels=labels(t("overview.map_chart")), key="map", token=data)
    else:
        st.info(t("common.missing_role", role=t("role.state")))

st.subheader(t("overview.segments"))
segments = desc.segments
if not segments.table.empty:
    top = segments.top()
    takeaway(t("takeaway.segments", name=segment_name(top.key, top.name), rate=fmt.pct(top.churn_rate),
               lift=fmt.ratio(top.lift), n=fmt.count(top.customers)), small=top.small)
    names = [segment_name(k, n) for k, n in zip(segments.table["key"], segments.table["name"])]
    rate_table(segments.table, label="key", names=names, label_title=t("col.segment"),
               extra={"lift": t("col.lift"), "share": t("col.share")}, token=("segments", *data))
st.caption(t("overview.segments_caption"))
if segments.skipped:
    st.caption(t("overview.segments_skipped", names=", ".join(key for key, _ in segments.skipped)))

if desc.value_tiers is not None:
    st.subheader(t("overview.value_tiers"))
    tiers = desc.value_tiers
    takeaway(t("takeaway.value_tiers", share=fmt.pct(tiers.top_share, digits=0), top_rate=fmt.pct(tiers.top_rate),
               rest_rate=fmt.pct(tiers.rest_rate), risk_share=fmt.pct(tiers.top_risk_share)))
    tier_names = [t(f"tier.{k}", share=fmt.pct(tiers.top_share, digits=0)) for k in tiers.table["tier"]]
    rate_table(tiers.table, label="tier", names=tier_names, label_title=t("col.band"), token=("tiers", *data))
