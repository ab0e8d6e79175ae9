"""The Overview page's sections. Each is drawn only when the active data can fill it: the strongest
categorical drivers, the strongest numeric curves, tenure bands, the state map, the report's segments."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

import churn_core as cc
from churn_core import plots

from . import fmt
from .i18n import t, tm
from .widgets import chart, contrast_text, labels, rate_table, segment_name, takeaway, threshold_text

Section = Callable[[], None]


def driver_sections(desc: cc.Description, dataset: cc.Dataset) -> list[Section]:
    """The sections this dataset can fill, strongest drivers first, each a function that draws it."""
    roles = dataset.roles
    sections: list[Section] = []
    if desc.highlights.categories:
        sections.append(lambda: _categories(desc))
    if desc.curves:
        sections.append(lambda: _curves(desc))
    if desc.bands is not None:
        sections.append(lambda: _tenure(desc))
    if roles.state and roles.state in desc.by_category:
        sections.append(lambda: _map(desc.by_category[roles.state]))
    return sections


def draw_in_pairs(sections: list[Section]) -> None:
    """Two sections a row."""
    for start in range(0, len(sections), 2):
        for column, draw in zip(st.columns(2), sections[start:start + 2]):
            with column:
                draw()


def leakage_note(dataset: cc.Dataset) -> None:
    """One line naming the columns left out of every section as leakage, of any kind."""
    leaked = cc.leakage_columns(dataset)
    if leaked:
        st.caption(tm("common.leakage_left_out", columns=", ".join(leaked)))


def _categories(desc: cc.Description) -> None:
    st.subheader(t("overview.categories"))
    for column in desc.highlights.categories:
        result = desc.by_category[column]
        contrast = result.contrast()
        takeaway(contrast_text(column, contrast), small=contrast is not None and contrast.small)
        chart(plots.rate_bars, result.table, label="value", overall=desc.overall.churn_rate,
              labels=labels(t("overview.plan_chart", column=column), x=column), key=f"plan_{column}")


def _curves(desc: cc.Description) -> None:
    st.subheader(t("overview.curves" if len(desc.curves) == 1 else "overview.curves_many"))
    for column, curve in desc.curves.items():
        if curve.threshold is None:  # no jump upwards (churn may fall along it): compare the extremes
            contrast = cc.contrast(curve.levels, label="label")
            takeaway(contrast_text(column, contrast) or threshold_text(curve), small=bool(contrast and contrast.small))
        else:
            takeaway(threshold_text(curve))
        chart(plots.threshold_curve, curve, labels=labels(t("overview.service_chart", column=column), x=column),
              key=f"curve_{column}")


def _tenure(desc: cc.Description) -> None:
    bands = desc.bands
    st.subheader(t("overview.tenure"))
    contrast = bands.contrast()
    takeaway(contrast_text(bands.column, contrast, key="takeaway.band"), small=contrast.small)
    axis = t("overview.tenure_axis", column=bands.column, unit=t(f"unit.{bands.unit}")) if bands.unit \
        else bands.column
    chart(plots.rate_bars, bands.table, label="band", overall=desc.overall.churn_rate,
          labels=labels(t("overview.tenure_chart", column=bands.column), x=axis), key="tenure")


def _map(by_state: cc.CategoryChurn) -> None:
    st.subheader(t("overview.map"))
    takeaway(contrast_text(by_state.column, by_state.contrast(), key="takeaway.state"))
    chart(plots.state_map, by_state.table, labels=labels(t("overview.map_chart")), key="map")


def segments(result: cc.SegmentTable) -> None:
    """The report's rule-based segments, when any applies. The report's caption only where all of them
    apply (telecom-shaped data); where some do not, one line says so without naming rules by key."""
    if result.table.empty:
        return
    st.subheader(t("overview.segments"))
    top = result.top()
    takeaway(tm("takeaway.segments", name=segment_name(top.key, top.name), rate=fmt.pct(top.churn_rate),
               lift=fmt.ratio(top.lift), n=fmt.count(top.customers)), small=top.small)
    names = [segment_name(k, n) for k, n in zip(result.table["key"], result.table["name"])]
    rate_table(result.table, label="key", names=names, label_title=t("col.segment"),
               extra={"lift": t("col.lift"), "share": t("col.share")})
    st.caption(t("overview.segments_partial") if result.skipped else t("overview.segments_caption"))


def value_tiers(tiers: cc.ValueTiers | None) -> None:
    if tiers is None:
        return
    st.subheader(t("overview.value_tiers"))
    takeaway(t("takeaway.value_tiers", share=fmt.pct(tiers.top_share, digits=0), top_rate=fmt.pct(tiers.top_rate),
               rest_rate=fmt.pct(tiers.rest_rate), risk_share=fmt.pct(tiers.top_risk_share)))
    tier_names = [t(f"tier.{k}", share=fmt.pct(tiers.top_share, digits=0)) for k in tiers.table["tier"]]
    rate_table(tiers.table, label="tier", names=tier_names, label_title=t("col.band"))
