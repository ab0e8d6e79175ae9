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
    The rate labels sit just beyond each interval, so they never hide behind an error bar.
    """
    rate = table["churn_rate"] * 100
    high = table["ci_high"] * 100
    err_hi = high - rate
    err_lo = rate - table["ci_low"] * 100
    colors = [MUTED if s else (RISK if overall is not None and r > overall else CALM)
              for s, r in zip(table["small"], table["churn_rate"])]
    text = [f"{r:.1f}%" + ("*" if s else "") for r, s in zip(rate, table["small"])]
    cats = table[label].astype(str)
    hover = [f"{c}<br>{r:.2f}% ({lo:.1f}–{hi:.1f}%)<br>{labels.customers}: {n:,}"
             for c, r, lo, hi, n in zip(cats, rate, table["ci_low"] * 100, high, table["customers"])]
    error = {"type": "data", "array": err_hi, "arrayminus": err_lo, "color": "#444", "thickness": 1.2}
    bar = go.Bar(x=rate if horizontal else cats, y=cats if horizontal else rate, marker_color=colors,
                 hovertext=hover, hoverinfo="text", orientation="h" if horizontal else "v",
                 **({"error_x": error} if horizontal else {"error_y": error}))
    marks = go.Scatter(x=high if horizontal else cats, y=cats if horizontal else high, mode="text", text=text,
                       textposition="middle right" if horizontal else "top center", hoverinfo="skip",
                       textfont={"size": 11, "color": "#333"})
    fig = go.Figure([bar, marks])
    notes = []
    if overall is not None:
        line = {"x": overall * 100} if horizontal else {"y": overall * 100}
        (fig.add_vline if horizontal else fig.add_hline)(**line, line_dash="dot", line_color="#555")
        notes.append(f"┄ {labels.overall} {overall:.1%}")
    if table["small"].any():
        notes.append(f"* {labels.small}")
    if notes:  # above the plot, so it never covers a bar's label
        fig.add_annotation(text="   ".join(notes), xref="paper", yref="paper", x=1, y=1.02, xanchor="right",
                           yanchor="bottom", showarrow=False, font={"size": 11, "color": "#555"})
    top = float(high.max()) * 1.18 + 1
    if horizontal:
        fig.update_yaxes(type="category", autorange="reversed")
        fig.update_xaxes(range=[0, top * 1.15])
    else:
        fig.update_xaxes(type="category")
        fig.update_yaxes(range=[0, top])
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
                           cliponaxis=False, hovertemplate="%{y}: r = %{x:.3f}<extra></extra>"))
    reach = float(table["correlation"].abs().max()) * 1.3 if len(table) else 1.0
    fig.update_xaxes(range=[-reach if (table["correlation"] < 0).any() else 0, reach])
    fig.update_yaxes(autorange="reversed", type="category")
    return _layout(fig, labels, height=max(320, 26 * len(table) + 120))


# A tile grid of the US: one equal square per state (and DC), so small states stay visible and the
# map needs no geographic data from the internet (plotly's choropleth fetches its outlines from a CDN).
_US_TILES = """
AK . . . . . . . . . ME
. . . . . . . . . VT NH
WA ID MT ND MN IL WI MI NY RI MA
OR NV WY SD IA IN OH PA NJ CT .
CA UT CO NE MO KY WV VA MD DE .
. AZ NM KS AR TN NC SC DC . .
. . . OK LA MS AL GA . . .
HI . . TX . . . . FL . .
"""
US_TILE_POSITIONS = {code: (row, col) for row, line in enumerate(_US_TILES.strip().splitlines())
                     for col, code in enumerate(line.split()) if code != "."}


def state_map(table: pd.DataFrame, *, labels: Labels) -> go.Figure:
    """US tile-grid map of churn rate by state (``table`` from churn_by_category on the state column)."""
    rows = max(r for r, _ in US_TILE_POSITIONS.values()) + 1
    cols = max(c for _, c in US_TILE_POSITIONS.values()) + 1
    z = [[None] * cols for _ in range(rows)]
    text = [[""] * cols for _ in range(rows)]
    hover = [[""] * cols for _ in range(rows)]
    for state, rate, n, small in zip(table["value"].astype(str).str.upper(), table["churn_rate"], table["customers"],
                                     table["small"]):
        if state not in US_TILE_POSITIONS:
            continue
        r, c = US_TILE_POSITIONS[state]
        z[r][c] = rate * 100
        text[r][c] = f"<b>{state}</b><br>{rate:.0%}" + ("*" if small else "")
        hover[r][c] = f"{state}: {rate:.1%} · {labels.customers} {n:,}" + (f" · {labels.small}" if small else "")
    fig = go.Figure(go.Heatmap(z=z, text=text, customdata=hover, texttemplate="%{text}", xgap=3, ygap=3,
                               colorscale="Reds", colorbar={"title": "%"}, hoverongaps=False,
                               hovertemplate="%{customdata}<extra></extra>", textfont={"size": 10}))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    return _layout(fig, labels, height=420)
