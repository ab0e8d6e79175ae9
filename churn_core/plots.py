"""Plotly figures built from analysis results. No Streamlit here, and no global theme.

Every visible word (titles, axis labels, the "few customers" mark) is passed in by
the caller, so the UI can supply it in the user's language.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from .analysis import CrossTab, DriverRanking, ThresholdResult

RISK = "#d1495b"
CALM = "#2e86ab"
MUTED = "#9aa5b1"


@dataclass(frozen=True)
class Labels:
    title: str
    x: str = ""
    y: str = ""
    small: str = "few customers"
    overall: str = "overall"
    threshold: str = "threshold"
    customers: str = "customers"


def _layout(fig: go.Figure, labels: Labels, *, height: int = 360) -> go.Figure:
    fig.update_layout(title={"text": labels.title, "font": {"size": 15}}, height=height,
                      margin={"l": 10, "r": 10, "t": 60, "b": 10}, showlegend=False,
                      xaxis_title=labels.x, yaxis_title=labels.y, template="plotly_white")
    return fig


def rate_bars(table: pd.DataFrame, *, label: str, labels: Labels, overall: float | None = None,
              horizontal: bool = False) -> go.Figure:
    """Churn rate per group with Wilson interval error bars; small groups greyed and marked.

    ``table`` needs the columns ``label``, churn_rate, ci_low, ci_high, customers, small.
    """
    rate = table["churn_rate"] * 100
    err_hi = (table["ci_high"] - table["churn_rate"]) * 100
    err_lo = (table["churn_rate"] - table["ci_low"]) * 100
    colors = [MUTED if s else (RISK if overall is not None and r > overall else CALM)
              for s, r in zip(table["small"], table["churn_rate"])]
    text = [f"{r:.1f}%" + (f" · {labels.small}" if s else "") for r, s in zip(rate, table["small"])]
    cats = table[label].astype(str)
    hover = [f"{c}<br>{r:.2f}% ({lo:.1f}–{hi:.1f}%)<br>{labels.customers}: {n:,}"
             for c, r, lo, hi, n in zip(cats, rate, table["ci_low"] * 100, table["ci_high"] * 100,
                                        table["customers"])]
    error = {"type": "data", "array": err_hi, "arrayminus": err_lo, "color": "#444", "thickness": 1.2}
    bar = go.Bar(x=rate if horizontal else cats, y=cats if horizontal else rate, marker_color=colors,
                 text=text, textposition="outside", hovertext=hover, hoverinfo="text",
                 orientation="h" if horizontal else "v",
                 **({"error_x": error} if horizontal else {"error_y": error}))
    fig = go.Figure(bar)
    if overall is not None:
        line = {"x": overall * 100} if horizontal else {"y": overall * 100}
        (fig.add_vline if horizontal else fig.add_hline)(**line, line_dash="dot", line_color="#555",
                                                         annotation_text=f"{labels.overall} {overall:.1%}")
    fig.update_xaxes(type="category") if not horizontal else fig.update_yaxes(type="category", autorange="reversed")
    return _layout(fig, labels, height=max(320, 26 * len(table) + 120) if horizontal else 360)


def threshold_curve(result: ThresholdResult, *, labels: Labels) -> go.Figure:
    """Churn rate at each level of a count column, the jump marked."""
    levels = result.levels
    fig = rate_bars(levels.assign(label=levels["label"]), label="label", labels=labels)
    if result.threshold is not None:
        idx = int((levels["value"] == result.threshold).to_numpy().argmax())
        fig.add_vrect(x0=idx - 0.5, x1=len(levels) - 0.5, fillcolor=RISK, opacity=0.07, line_width=0,
                      annotation_text=f"{labels.threshold} ≥ {levels['label'].iloc[idx]}",
                      annotation_position="top left")
    return fig


def crosstab_heatmap(result: CrossTab, *, labels: Labels) -> go.Figure:
    rates = result.matrix("churn_rate") * 100
    counts = result.matrix("customers")
    text = [[("" if pd.isna(r) else f"{r:.1f}%<br>n={int(n):,}") for r, n in zip(rr, nn)]
            for rr, nn in zip(rates.to_numpy(), counts.fillna(0).to_numpy())]
    fig = go.Figure(go.Heatmap(z=rates.to_numpy(), x=[str(c) for c in rates.columns], y=[str(r) for r in rates.index],
                               text=text, texttemplate="%{text}", colorscale="Reds", colorbar={"title": "%"},
                               hovertemplate="%{y} × %{x}: %{z:.1f}%<extra></extra>"))
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category", autorange="reversed")
    return _layout(fig, labels, height=max(320, 40 * len(rates) + 140))


def driver_bars(result: DriverRanking, *, labels: Labels, top: int = 15) -> go.Figure:
    table = result.table.head(top)
    colors = [RISK if c > 0 else CALM for c in table["correlation"]]
    fig = go.Figure(go.Bar(x=table["correlation"], y=table["column"], orientation="h", marker_color=colors,
                           text=[f"{c:+.3f}" for c in table["correlation"]], textposition="outside",
                           hovertemplate="%{y}: r = %{x:.3f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    return _layout(fig, labels, height=max(320, 26 * len(table) + 120))


def state_map(table: pd.DataFrame, *, labels: Labels) -> go.Figure:
    """US choropleth of churn rate by state (``table`` from churn_by_category on the state column)."""
    fig = go.Figure(go.Choropleth(
        locations=table["value"].astype(str).str.upper(), z=table["churn_rate"] * 100, locationmode="USA-states",
        colorscale="Reds", colorbar={"title": "%"},
        text=[f"n={n:,}" + (f" · {labels.small}" if s else "") for n, s in zip(table["customers"], table["small"])],
        hovertemplate="%{location}: %{z:.1f}%<br>%{text}<extra></extra>"))
    fig.update_layout(geo={"scope": "usa", "bgcolor": "rgba(0,0,0,0)"})
    return _layout(fig, labels, height=420)
