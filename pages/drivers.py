"""Drivers: churn by any column, a cross tab of any two, and the driver ranking."""

import streamlit as st

import churn_core as cc
from churn_core import plots
from ui import event_views, fmt, state
from ui.i18n import t, tm
from ui.widgets import (
    chart,
    contrast_text,
    driver_table,
    driver_text,
    guard,
    labels,
    page_header,
    rate_table,
    takeaway,
    threshold_text,
)

page_header("drivers.title", "drivers.caption")
with guard():
    dataset = state.active_dataset()
    desc = state.description()
roles = dataset.roles
event_views.population_line(dataset)  # a visit log: who is counted, and what churn means
left_out = {*roles.ignored, *cc.leakage_columns(dataset)}
dimensions = [c for c in (*roles.plan_flags, *roles.categorical, *roles.numeric) if c not in left_out]

st.subheader(t("drivers.by_column"))
first = roles.service_calls or next(iter(desc.drivers.table["column"]), None)  # else the strongest driver
default = dimensions.index(first) if first in dimensions else 0
column = st.selectbox(t("drivers.pick_column"), dimensions, index=default, key="driver_column")
with guard():
    result = state.churn_by(column)
contrast = result.contrast()
if column in desc.thresholds:  # a count column: say where churn jumps
    takeaway(threshold_text(desc.thresholds[column]))
else:
    takeaway(contrast_text(column, contrast), small=contrast is not None and contrast.small)
if result.binned:
    st.caption(t("drivers.binned_note"))
chart(plots.rate_bars, result.table, label="value", overall=result.overall_rate, horizontal=len(result.table) > 12,
      labels=labels(t("overview.plan_chart", column=column), x=column), key="by_column")
rate_table(result.table, label="value", label_title=column, extra={"lift": t("col.lift")})

st.subheader(t("drivers.crosstab"))
pick_rows, pick_cols = st.columns(2)
rows = pick_rows.selectbox(t("drivers.rows"), dimensions, index=0, key="xt_rows")
cols = pick_cols.selectbox(t("drivers.columns"), dimensions, index=min(1, len(dimensions) - 1), key="xt_cols")
if rows == cols:
    st.info(t("drivers.same_column"))
else:
    with guard():
        xt = state.crosstab(rows, cols)
    cell = xt.contrast()
    if cell is not None:
        takeaway(tm("takeaway.crosstab", high=cell.high, high_rate=fmt.pct(cell.high_rate), low=cell.low,
                   low_rate=fmt.pct(cell.low_rate), n=fmt.count(cell.high_customers)), small=cell.small)
    chart(plots.crosstab_heatmap, xt, labels=labels(t("drivers.crosstab_chart", rows=rows, columns=cols),
                                                    x=cols, y=rows), key="crosstab")

st.subheader(t("drivers.ranking"))
ranking = desc.drivers.table
if not ranking.empty:
    top = ranking.iloc[0]
    takeaway(driver_text(top))
    chart(plots.driver_bars, desc.drivers, labels=labels(t("drivers.ranking_chart"), y=""), key="drivers")
    driver_table(desc.drivers)
st.caption(t("drivers.ranking_caption"))
if desc.drivers.excluded:
    st.caption(tm("common.leakage_left_out", columns=", ".join(desc.drivers.excluded)))
