"""Plotly figures of the event-log analyses (:mod:`churn_core.events.analysis`), in the style of
:mod:`churn_core.plots`. The words come from the library's catalog in ``lang``."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from ..i18n import check_language, text
from ..plots import Labels, _color, _layout, _legend
from .analysis import ALL, OTHER, SEGMENT_KEYS, STAGE_KEYS, CohortRetention, TimeToLapse


def group_name(group: str, *, by: str | None, lang: str = "en") -> str:
    """A time_to_lapse group in words: stage and RFM segment keys and the pooled groups are translated,
    a customer-table value is shown as it is."""
    if group in (ALL, OTHER):
        return text(f"events.group.{group}", lang=lang)
    if by == "lifecycle" and group in STAGE_KEYS:
        return text(f"events.stage.{group}", lang=lang)
    if by == "rfm" and group in SEGMENT_KEYS:
        return text(f"rfm.segment.{group}", lang=lang)
    return str(group)


def cohort_heatmap_figure(result: CohortRetention, *, lang: str = "en") -> go.Figure:
    """Active share per first-visit cohort (rows) and periods since the first visit (columns); the first
    column is 100% by definition and the partly observed last period is left out."""
    check_language(lang)
    frame = result.frame
    frame = frame[frame["complete"]]
    quarter = result.period == "quarter"
    labels = Labels(title=text("events.cohort.title", lang=lang),
                    x=text("events.cohort.x_quarter" if quarter else "events.cohort.x_month", lang=lang),
                    y=text("events.cohort.y_quarter" if quarter else "events.cohort.y_month", lang=lang), lang=lang)
    if frame.empty:
        return _layout(go.Figure(), labels)
    shares = frame.pivot(index="cohort", columns="period", values="active_share") * 100
    sizes = frame.drop_duplicates("cohort").set_index("cohort")["customers"].reindex(shares.index)
    if quarter:
        rows = [f"{c.year}Q{(c.month - 1) // 3 + 1} (n={n:,})" for c, n in zip(shares.index, sizes)]
    else:
        rows = [f"{c:%Y-%m} (n={n:,})" for c, n in zip(shares.index, sizes)]
    z = shares.to_numpy()
    cells = [["" if math.isnan(v) else f"{v:.0f}" for v in row] for row in z]
    active = text("events.cohort.colorbar", lang=lang)
    fig = go.Figure(go.Heatmap(z=z, x=[str(c) for c in shares.columns], y=rows, text=cells,
                               texttemplate="%{text}" if z.size <= 600 else None,
                               colorscale="Blues", zmin=0, zmax=float(np.nanmax(z[:, 1:])) if z.shape[1] > 1 else 100,
                               colorbar={"title": f"{active} %"},
                               hovertemplate=f"%{{y}}, +%{{x}}: %{{z:.1f}}% {active}<extra></extra>"))
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category", autorange="reversed")
    return _layout(fig, labels, height=max(360, 18 * len(rows) + 140))


def survival_figure(result: TimeToLapse, *, lang: str = "en") -> go.Figure:
    """Kaplan-Meier step curves, one per group, with each group's median time to lapse in the legend."""
    check_language(lang)
    labels = Labels(title=text("events.survival.title", lang=lang, days=result.lookback_days),
                    x=text("events.survival.x", lang=lang), y=text("events.survival.y", lang=lang), lang=lang)
    fig = go.Figure()
    medians = result.medians
    for i, group in enumerate(result.summary["group"]):
        curve = result.curves[result.curves["group"] == group]
        name = group_name(group, by=result.by, lang=lang)
        median = medians.get(group)
        if median is not None:
            name = f"{name} ({text('events.survival.median', lang=lang, days=f'{median:,.0f}')})"
        fig.add_trace(go.Scatter(x=curve["days"], y=curve["survival"] * 100, mode="lines", line_shape="hv",
                                 name=name, line={"color": _color(i), "width": 2},
                                 customdata=np.stack([curve["at_risk"]], axis=-1),
                                 hovertemplate=f"{name}<br>%{{x:,.0f}}: %{{y:.1f}}% "
                                               f"(n=%{{customdata[0]:,}})<extra></extra>"))
    fig.add_hline(y=50, line_dash="dot", line_color="#999")
    fig.update_yaxes(range=[0, 102], ticksuffix="%")
    _layout(fig, labels, height=400)
    return _legend(fig, x=0.02, y=0.02)
