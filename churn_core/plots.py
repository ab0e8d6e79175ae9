"""Plotly figures built from analysis results. No Streamlit here, and no global theme.

Every visible word (titles, axis labels, the "few customers" mark) is passed in by
the caller, so the UI can supply it in the user's language.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .analysis import CrossTab, DriverRanking, ThresholdResult
from .errors import ParameterError
from .i18n import format_amount

if TYPE_CHECKING:  # evaluation imports scikit-learn; the overview pages should not pay for it
    from .evaluation import CalibrationCurve, Confusion, Curve, Gains

RISK = "#d1495b"
CALM = "#2e86ab"
MUTED = "#9aa5b1"


@dataclass(frozen=True, kw_only=True)
class Labels:
    title: str
    x: str = ""
    y: str = ""
    small: str = "few customers"
    overall: str = "overall"
    threshold: str = "threshold"
    customers: str = "customers"
    baseline: str = "random"
    ideal: str = "perfect calibration"
    predicted: str = "predicted"
    actual: str = "actual"
    auc: str = "AUC"
    ece: str = "ECE"
    fold: str = "fold"
    band: str = "90% band"
    optimum: str = "profit-optimal"
    lang: str = "en"  # how money ticks are written: 600K / 1.2M, or 60万 / 1.2亿


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


# -- model evaluation: figures of churn_core.evaluation's result objects --------------------------------------

PALETTE = (CALM, RISK, "#edae49", "#66a182", "#8d6a9f", "#00798c")


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _legend(fig: go.Figure, *, x: float, y: float) -> go.Figure:
    """Show the legend inside the plot at paper position (x, y), anchored on the nearer sides."""
    fig.update_layout(showlegend=True, legend={"x": x, "y": y, "xanchor": "left" if x < 0.5 else "right",
                                               "yanchor": "bottom" if y < 0.5 else "top",
                                               "bgcolor": "rgba(255,255,255,0.85)", "font": {"size": 11}})
    return fig


def _check_named(items: dict, parameter: str, func: str) -> None:
    if not items:
        raise ParameterError(f"The '{parameter}' parameter of {func} must hold at least one model. Got an empty "
                             "dict instead.", code="bad_parameter", name=parameter)


def _check_kind(curves: dict[str, Curve], kind: str, func: str, maker: str) -> None:
    _check_named(curves, "curves", func)
    for name, curve in curves.items():
        if curve.kind != kind:
            raise ParameterError(f"The 'curves' parameter of {func} must hold {kind.upper()} curves from {maker}. "
                                 f"Got a {curve.kind!r} curve for {name!r} instead.", code="bad_parameter",
                                 name="curves", model=name, kind=curve.kind)


def _diagonal(name: str, *, end: float = 1.0) -> go.Scatter:
    return go.Scatter(x=[0, end], y=[0, end], mode="lines", name=name, hoverinfo="skip", legendrank=2000,
                      line={"color": MUTED, "dash": "dash", "width": 1.5})


def _unit_axes(fig: go.Figure, *, top: float = 1.0) -> None:
    pad = top * 0.02
    fig.update_xaxes(range=[-pad, top + pad], tickformat=".0%")
    fig.update_yaxes(range=[-pad, top + pad], tickformat=".0%")


def _curve_trace(curve: Curve, name: str, color: str, labels: Labels) -> go.Scatter:
    hover = [f"<b>{name}</b><br>{labels.x}: {x:.1%}<br>{labels.y}: {y:.1%}"
             + (f"<br>{labels.threshold} ≥ {t:.3f}" if np.isfinite(t) else "")
             for x, y, t in zip(curve.x, curve.y, curve.thresholds)]
    return go.Scatter(x=curve.x, y=curve.y, mode="lines", name=f"{name} ({labels.auc} {curve.auc:.3f})",
                      line={"color": color, "width": 2.2}, hovertext=hover, hoverinfo="text")


def roc_curves(curves: dict[str, Curve], *, labels: Labels) -> go.Figure:
    """ROC curves of several models (from roc_curve_points), each named with its AUC, over the random diagonal."""
    _check_kind(curves, "roc", "roc_curves", "roc_curve_points")
    fig = go.Figure([_diagonal(labels.baseline)])
    for i, (name, curve) in enumerate(curves.items()):
        fig.add_trace(_curve_trace(curve, name, _color(i), labels))
    _unit_axes(fig)
    return _legend(_layout(fig, labels, height=420), x=0.98, y=0.02)


def pr_curves(curves: dict[str, Curve], *, labels: Labels) -> go.Figure:
    """Precision-recall curves (from pr_curve_points), each named with its average precision, over the
    dashed baseline: the churners' share, the precision of contacting everyone (one line per distinct share)."""
    _check_kind(curves, "pr", "pr_curves", "pr_curve_points")
    fig = go.Figure()
    for base in sorted({round(c.baseline, 6) for c in curves.values()}):
        fig.add_trace(go.Scatter(x=[0, 1], y=[base, base], mode="lines", name=f"{labels.baseline} {base:.1%}",
                                 hoverinfo="skip", legendrank=2000, line={"color": MUTED, "dash": "dash",
                                                                          "width": 1.5}))
    for i, (name, curve) in enumerate(curves.items()):
        fig.add_trace(_curve_trace(curve, name, _color(i), labels))
    _unit_axes(fig)
    return _legend(_layout(fig, labels, height=420), x=0.02, y=0.02)


def calibration_plot(curves: dict[str, CalibrationCurve], *, labels: Labels) -> go.Figure:
    """Observed against predicted churn rate per bin, one series per entry (e.g. {"before": ..., "after": ...}),
    with Wilson-interval error bars, markers sized by customers, each named with its ECE, over the diagonal.

    Both axes end just above the highest bin, so probabilities that never exceed 0.3 are not squeezed
    into a corner."""
    _check_named(curves, "curves", "calibration_plot")
    largest = max(int(c.customers.max()) for c in curves.values())
    reach = max(max(float(c.predicted.max()), float(c.ci_high.max())) for c in curves.values())
    top = min(1.0, np.ceil(reach * 1.05 * 10) / 10)
    fig = go.Figure([_diagonal(labels.ideal, end=top)])
    for i, (name, c) in enumerate(curves.items()):
        hover = [f"<b>{name}</b><br>{labels.predicted}: {p:.1%}<br>{labels.actual}: {o:.1%} ({lo:.1%}–{hi:.1%})"
                 f"<br>{labels.customers}: {n:,}"
                 for p, o, lo, hi, n in zip(c.predicted, c.observed, c.ci_low, c.ci_high, c.customers)]
        fig.add_trace(go.Scatter(
            x=c.predicted, y=c.observed, mode="lines+markers", name=f"{name} ({labels.ece} {c.ece:.3f})",
            line={"color": _color(i), "width": 1.5}, hovertext=hover, hoverinfo="text",
            marker={"color": _color(i), "size": 6 + 14 * np.sqrt(c.customers / largest), "opacity": 0.85},
            error_y={"type": "data", "array": c.ci_high - c.observed, "arrayminus": c.observed - c.ci_low,
                     "color": _color(i), "thickness": 1, "width": 3}))
    _unit_axes(fig, top=top)
    return _legend(_layout(fig, labels, height=420), x=0.02, y=0.98)


def gains_chart(gains: dict[str, Gains], *, labels: Labels) -> go.Figure:
    """Cumulative gains: the share of churners captured against the share of customers contacted, highest
    probabilities first, one line per model over the random diagonal."""
    _check_named(gains, "gains", "gains_chart")
    fig = go.Figure([_diagonal(labels.baseline)])
    for i, (name, g) in enumerate(gains.items()):
        hover = [f"<b>{name}</b><br>{labels.x}: {x:.1%}<br>{labels.y}: {y:.1%}"
                 for x, y in zip(g.curve_contacted, g.curve_captured)]
        fig.add_trace(go.Scatter(x=g.curve_contacted, y=g.curve_captured, mode="lines", name=name,
                                 line={"color": _color(i), "width": 2.2}, hovertext=hover, hoverinfo="text"))
    _unit_axes(fig)
    return _legend(_layout(fig, labels, height=420), x=0.98, y=0.02)


def confusion_heatmap(confusion: Confusion, *, labels: Labels,
                      names: tuple[str, str] = ("retained", "churned")) -> go.Figure:
    """The 2×2 confusion matrix: counts and the share of each actual row, coloured by that share.

    ``names`` are the displayed class names (retained, churned); the axes read ``labels.x`` and
    ``labels.y``, or ``labels.predicted`` and ``labels.actual`` when those are empty."""
    counts = confusion.matrix().to_numpy()
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    text = [[f"<b>{n:,}</b><br>{s:.1%}" for n, s in zip(cr, sr)] for cr, sr in zip(counts, share)]
    hover = [[f"{labels.actual}: {a}<br>{labels.predicted}: {p}<br>{n:,} ({s:.1%})"
              for p, n, s in zip(names, cr, sr)] for a, cr, sr in zip(names, counts, share)]
    fig = go.Figure(go.Heatmap(z=share * 100, x=list(names), y=list(names), text=text, texttemplate="%{text}",
                               customdata=hover, hovertemplate="%{customdata}<extra></extra>", colorscale="Blues",
                               zmin=0, zmax=100, showscale=False, xgap=2, ygap=2, textfont={"size": 14}))
    _layout(fig, labels, height=340)
    fig.update_xaxes(type="category", side="bottom", title=labels.x or labels.predicted)
    fig.update_yaxes(type="category", autorange="reversed", title=labels.y or labels.actual)
    return fig


def importance_bars(table: pd.DataFrame, *, value: str, labels: Labels, top: int = 15,
                    error: str | None = None) -> go.Figure:
    """The ``top`` features by ``value`` as horizontal bars, largest first; ``error`` names an optional
    column of error-bar half-widths (e.g. the spread of a permutation importance)."""
    missing = [c for c in ("feature", value, error) if c is not None and c not in table.columns]
    if missing:
        raise ParameterError(f"The 'table' parameter of importance_bars must have the columns 'feature' and "
                             f"{value!r}{'' if error is None else f' and {error!r}'}. Missing {missing}; got "
                             f"{list(table.columns)}.", code="bad_parameter", name="table", missing=missing)
    rows = table.dropna(subset=[value]).sort_values(value, ascending=False).head(top)
    values = rows[value].to_numpy(dtype=float)
    bar = go.Bar(x=values, y=rows["feature"].astype(str), orientation="h",
                 marker_color=[CALM if v > 0 else MUTED for v in values],
                 text=[f"{v:.3g}" for v in values], textposition="outside", cliponaxis=False,
                 hovertemplate="%{y}: %{x:.4g}<extra></extra>",
                 **({"error_x": {"type": "data", "array": rows[error].to_numpy(dtype=float), "color": "#444",
                                 "thickness": 1.2}} if error else {}))
    fig = go.Figure(bar)
    fig.update_yaxes(autorange="reversed", type="category")
    return _layout(fig, labels, height=max(320, 26 * len(rows) + 120))


def cv_spread(folds: dict[str, pd.DataFrame], *, metric: str, labels: Labels) -> go.Figure:
    """The cross-validation spread of ``metric``: one box per model with every fold as a point and the
    mean dashed. The x axis names the models, so the figure has no legend."""
    _check_named(folds, "folds", "cv_spread")
    for name, frame in folds.items():
        if metric not in frame.columns:
            raise ParameterError(f"The 'metric' parameter of cv_spread must be a column of every folds table. Got "
                                 f"{metric!r}, which {name!r} lacks (it has {list(frame.columns)}).",
                                 code="bad_parameter", name="metric", value=metric, model=name)
    fig = go.Figure()
    for i, (name, frame) in enumerate(folds.items()):
        values = frame[metric].to_numpy(dtype=float)
        fig.add_trace(go.Box(y=values, name=name, boxpoints="all", jitter=0.35, pointpos=0, boxmean=True,
                             marker={"color": _color(i), "size": 7}, line={"color": _color(i)},
                             hovertext=[f"{name} · {labels.fold} {k}: {v:.3f}" for k, v in enumerate(values, 1)],
                             hoverinfo="text"))
    fig.update_xaxes(type="category")
    return _layout(fig, labels, height=380)


# -- the risk explorer ----------------------------------------------------------------------------------------

TIER_COLORS = ("#b2182b", "#ef8a62", "#fddbc7", "#d1e5f0", "#67a9cf")  # critical ... low


def risk_gauge(probability: float, *, bounds: list[float], labels: Labels) -> go.Figure:
    """A probability gauge (0–100%) with the risk tiers as coloured bands. ``bounds``: the tiers'
    lower bounds, highest first (the policy's order)."""
    edges = [*[b * 100 for b in bounds], 0.0]
    tops = [100.0, *edges[:-2]]
    steps = [{"range": [lo, hi], "color": TIER_COLORS[min(i, len(TIER_COLORS) - 1)]}
             for i, (lo, hi) in enumerate(zip(edges[:-1], tops))]
    fig = go.Figure(go.Indicator(mode="gauge+number", value=probability * 100,
                                 number={"suffix": "%", "valueformat": ".1f"},
                                 gauge={"axis": {"range": [0, 100], "ticksuffix": "%"},
                                        "bar": {"color": "#222", "thickness": 0.25}, "steps": steps}))
    return _layout(fig, labels, height=240)


def reason_waterfall(explanation, *, names: dict[str, str], labels: Labels, top: int = 8,
                     values: dict[str, str] | None = None) -> go.Figure:
    """From the average customer's probability to this customer's, one bar per driver (the ``top``
    largest; the rest pooled). In points of the shown probability: the bars add up exactly."""
    table = explanation.table
    head, rest = table.head(top), table.iloc[top:]
    values = values or {}
    steps = [(f"{names.get(s, s)} = {values.get(s, v)}", p * 100)
             for s, v, p in zip(head["source"], head["value"], head["points"])]
    if len(rest):
        steps.append((labels.overall, float(rest["points"].sum()) * 100))
    x = [labels.baseline, *[s[0] for s in steps], labels.predicted]
    y = [explanation.base_probability * 100, *[s[1] for s in steps], 0]
    measure = ["absolute", *["relative"] * len(steps), "total"]
    text = [f"{explanation.base_probability * 100:.1f}%", *[f"{v:+.1f}" for v in y[1:-1]],
            f"{explanation.probability * 100:.1f}%"]
    fig = go.Figure(go.Waterfall(orientation="h", y=x, x=y, measure=measure, text=text, textposition="outside",
                                 cliponaxis=False,
                                 increasing={"marker": {"color": RISK}}, decreasing={"marker": {"color": CALM}},
                                 totals={"marker": {"color": "#444"}}, connector={"line": {"color": MUTED}}))
    fig.update_yaxes(autorange="reversed")
    ends = np.cumsum([v for v in y[:-1]])  # where each bar ends; the total ends at the last of them
    low, high = min(0.0, float(ends.min())), max(0.0, float(ends.max()))
    pad = (high - low) * 0.15 or 1.0  # room for the outside labels ("+3.2", "41.0%") at both ends
    fig.update_xaxes(ticksuffix="%", range=[low - (pad if low < 0 else 0), high + pad])
    _layout(fig, labels, height=120 + 34 * len(x))
    fig.update_layout(margin={"r": 40})
    return fig


def population_percentiles(population: pd.DataFrame, *, names: dict[str, str], labels: Labels) -> go.Figure:
    """Where the customer stands on each numeric factor: their percentile among all customers."""
    cats = [names.get(s, s) for s in population["source"]]
    pct = population["percentile"] * 100
    text = [f"{v:g} ({labels.overall} {m:g})" for v, m in zip(population["value"].round(2),
                                                              population["median"].round(2))]
    colors = [RISK if p >= 75 else CALM if p <= 25 else MUTED for p in pct]
    fig = go.Figure(go.Bar(x=pct, y=cats, orientation="h", marker_color=colors, text=text, textposition="auto"))
    fig.add_vline(x=50, line_dash="dot", line_color="#444")
    fig.update_xaxes(range=[0, 100], ticksuffix="%")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, labels, height=120 + 36 * max(len(cats), 1))


# -- ROI ---------------------------------------------------------------------------------------------------

def _large(fig: go.Figure) -> go.Figure:
    """Fonts readable from the back of a meeting room (explicit per axis: Streamlit's chart theme would
    otherwise keep its small tick labels)."""
    fig.update_layout(font={"size": 18}, title={"font": {"size": 22}})
    fig.update_xaxes(tickfont={"size": 16}, title_font={"size": 18})
    fig.update_yaxes(tickfont={"size": 16}, title_font={"size": 18})
    return fig


def _money_axis(fig: go.Figure, currency: str, values, *, lang: str, axis: str = "y", zero: bool = True) -> None:
    """Money ticks over ``values`` (and zero) written for the locale, as the page's numbers are: ¥60万 and
    ¥1.2亿 in Chinese, $600K and $1.2M in English (plotly's own SI suffixes would say 600k and 1.2G).
    ``zero``: the ticks reach zero (an axis whose bars start at zero)."""
    parts = values if isinstance(values, (list, tuple)) else [values]
    x = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in parts]) if parts else np.array([])
    x = x[np.isfinite(x)]
    if not x.size:
        return
    low, high = float(x.min()), float(x.max())
    ticks = nice_ticks(min(low, 0.0), max(high, 0.0)) if zero else nice_ticks(low, high)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step)) + (1 if round(step / 10 ** math.floor(math.log10(step)), 6) == 2.5
                                                        else 0))
    getattr(fig, f"update_{axis}axes")(
        tickvals=ticks, ticktext=[money_tick(v, currency, lang=lang, decimals=decimals) for v in ticks])


def nice_ticks(low: float, high: float, *, count: int = 5) -> list[float]:
    """About ``count`` round tick values (steps of 1, 2, 2.5 or 5 × 10^k) covering ``low``..``high``."""
    span = high - low if high > low else abs(high) or 1.0
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    return [round(first + i * step, 10) for i in range(int(math.ceil((high - first) / step)) + 1)]


def money_tick(value: float, currency: str, *, lang: str, decimals: int = 0) -> str:
    """A tick label: the locale's short amount, without trailing zeros, the sign before the currency;
    amounts under 10,000 with ``decimals`` places (ticks 0.5 apart need one)."""
    text = format_amount(abs(value), lang=lang) if abs(value) >= 1e4 else f"{abs(value):,.{decimals}f}"
    text = re.sub(r"\.0+(?=\D*$)|(?<=\.\d)0+(?=\D*$)", "", text)
    return ("−" if value < 0 else "") + currency + text


def profit_chart(curve, *, scale: float, labels: Labels, currency: str = "", top_k: float | None = None,
                 big: bool = False) -> go.Figure:
    """Expected profit (scaled to ``scale`` customers) against the share contacted, with the band the
    uncertain acceptance rate gives and the profit-optimal point marked; ``top_k`` adds a dotted line."""
    t = curve.table
    x = t["rate"] * 100
    fig = go.Figure([
        go.Scatter(x=x, y=t["profit_high"] * scale, mode="lines", line={"width": 0}, hoverinfo="skip"),
        go.Scatter(x=x, y=t["profit_low"] * scale, mode="lines", line={"width": 0}, fill="tonexty",
                   fillcolor="rgba(46,134,171,0.18)", name=labels.band, hoverinfo="skip"),
        go.Scatter(x=x, y=t["profit"] * scale, mode="lines", line={"color": CALM, "width": 4 if big else 2.5},
                   name=labels.y, hovertemplate="%{x:.1f}%: " + currency + "%{y:,.0f}<extra></extra>"),
    ])
    best = curve.best
    fig.add_trace(go.Scatter(x=[best["rate"] * 100], y=[best["profit"] * scale], mode="markers+text",
                             marker={"color": RISK, "size": 16 if big else 11}, text=[labels.optimum],
                             cliponaxis=False, textposition="top right" if best["rate"] <= 0.5 else "top left",
                             textfont={"size": 18 if big else 13}, hoverinfo="skip"))
    fig.add_hline(y=0, line={"color": MUTED, "dash": "dash", "width": 1})
    if top_k is not None:
        fig.add_vline(x=top_k * 100, line={"color": "#444", "dash": "dot", "width": 1.5})
    fig.update_xaxes(ticksuffix="%", range=[0, 100])
    _money_axis(fig, currency, [t["profit_low"] * scale, t["profit_high"] * scale, t["profit"] * scale],
                lang=labels.lang)
    _layout(fig, labels, height=460 if big else 380)
    return _large(fig) if big else fig


def payback_chart(case, *, labels: Labels, currency: str = "", big: bool = False) -> go.Figure:
    """Cumulative net benefit month by month (the investment first), crossing zero at the payback."""
    t = case.cumulative()
    fig = go.Figure(go.Scatter(x=t["month"], y=t["net"], mode="lines", line={"color": CALM, "width": 4 if big else 2.5},
                               fill="tozeroy", fillcolor="rgba(46,134,171,0.12)",
                               hovertemplate="%{x}: " + currency + "%{y:,.0f}<extra></extra>"))
    if case.payback_months is not None and case.payback_months <= t["month"].iloc[-1]:
        early = case.payback_months <= t["month"].iloc[-1] / 2  # the label goes toward the wider side
        fig.add_trace(go.Scatter(x=[case.payback_months], y=[0], mode="markers+text", text=[labels.optimum],
                                 marker={"color": RISK, "size": 16 if big else 11}, cliponaxis=False,
                                 textposition="top right" if early else "top left",
                                 textfont={"size": 18 if big else 13}, hoverinfo="skip"))
    fig.add_hline(y=0, line={"color": MUTED, "dash": "dash", "width": 1})
    _money_axis(fig, currency, t["net"], lang=labels.lang)
    _layout(fig, labels, height=460 if big else 380)
    return _large(fig) if big else fig


def strategy_bars(comparison, *, names: dict[str, str], labels: Labels, currency: str = "") -> go.Figure:
    """Expected profit of each strategy, with the acceptance-rate band as error bars."""
    t = comparison.table
    fig = go.Figure(go.Bar(
        y=[names.get(k, k) for k in t["strategy"]], x=t["profit"], orientation="h",
        marker={"color": [RISK if v < 0 else CALM for v in t["profit"]]},
        error_x={"type": "data", "symmetric": False, "array": t["profit_high"] - t["profit"],
                 "arrayminus": t["profit"] - t["profit_low"], "color": "#555"},
        hovertemplate="%{y}: " + currency + "%{x:,.0f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    _money_axis(fig, currency, [t["profit_low"], t["profit_high"]], lang=labels.lang, axis="x")
    return _layout(fig, labels, height=120 + 45 * len(t))


def tornado_chart(sensitivity, *, names: dict[str, str], labels: Labels, currency: str = "") -> go.Figure:
    """Net benefit when each assumption moves down (left colour) or up (right colour) by the change."""
    t = sensitivity.table
    base = sensitivity.base_net_benefit
    y = [names.get(k, k) for k in t["assumption"]]
    fig = go.Figure()
    for column, color, name in (("net_low", CALM, f"−{sensitivity.change:.0%}"),
                                ("net_high", "#edae49", f"+{sensitivity.change:.0%}")):
        fig.add_trace(go.Bar(y=y, x=t[column] - base, base=base, orientation="h", marker={"color": color},
                             name=name, hovertemplate="%{y}: " + currency + "%{x:,.0f}<extra>" + name + "</extra>"))
    fig.add_vline(x=base, line={"color": "#444", "width": 1})
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(barmode="overlay")
    _money_axis(fig, currency, [t["net_low"], t["net_high"], [base]], lang=labels.lang, axis="x", zero=False)
    _layout(fig, labels, height=150 + 40 * len(t))
    # The legend sits in the top margin, under the title and above the bars, never over them.
    fig.update_layout(showlegend=True, margin={"t": 90},
                      legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0, "yanchor": "bottom"})
    return fig


def risk_over_time(history: pd.DataFrame, *, labels: Labels, bounds: list[float] | None = None) -> go.Figure:
    """One customer's churn probability at each as-of date (``as_of``, ``probability``), with the tier
    bounds as faint lines."""
    fig = go.Figure(go.Scatter(x=history["as_of"], y=history["probability"], mode="lines+markers",
                               line={"color": RISK}, hovertemplate="%{x|%Y-%m-%d}: %{y:.1%}<extra></extra>"))
    for bound in bounds or []:
        fig.add_hline(y=bound, line={"color": MUTED, "width": 1, "dash": "dot"})
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    return _layout(fig, labels, height=260)


def decile_chart(deciles: pd.DataFrame, *, labels: Labels) -> go.Figure:
    """Predicted against actual churn per decile of predicted risk (``decile``, ``predicted``, ``actual``)."""
    fig = go.Figure()
    fig.add_bar(x=deciles["decile"], y=deciles["actual"], name=labels.actual, marker_color=RISK)
    fig.add_scatter(x=deciles["decile"], y=deciles["predicted"], name=labels.predicted, mode="lines+markers",
                    line={"color": "#333"})
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(dtick=1)
    _layout(fig, labels)
    return _top_legend(fig)


def _top_legend(fig: go.Figure) -> go.Figure:
    """A one-line legend under the title."""
    fig.update_layout(showlegend=True, margin={"l": 10, "r": 10, "t": 80, "b": 10},
                      legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "font": {"size": 11}})
    return fig


def cutoff_population_chart(population: pd.DataFrame, *, test_cutoff, names: dict[str, str],
                            labels: Labels) -> go.Figure:
    """Eligible and lapsed customers per cut-off (stacked bars) and the churn rate of the eligible ones (a
    line on the right axis), the test cut-off marked. ``population`` is
    :attr:`churn_core.events.CutoffPopulation.population`; ``names`` words ``eligible``, ``lapsed``,
    ``churn_rate``, ``test_cutoff`` and optionally ``as_of`` (then the unlabelled last row is marked too)."""
    x = pd.to_datetime(population["cutoff"])
    fig = go.Figure()
    fig.add_bar(x=x, y=population["eligible"], name=names["eligible"], marker_color=CALM)
    fig.add_bar(x=x, y=population["lapsed"], name=names["lapsed"], marker_color=MUTED)
    rate = population["churn_rate"].astype(float) * 100
    fig.add_scatter(x=x, y=rate, name=names["churn_rate"], yaxis="y2", mode="lines+markers",
                    line={"color": RISK, "width": 2}, marker={"size": 5},
                    hovertemplate="%{x|%Y-%m-%d}: %{y:.1f}%<extra></extra>")
    _layout(fig, labels, height=320)
    top = float(rate.max()) if rate.notna().any() else 1.0
    ticks = nice_ticks(0.0, top, count=4)
    fig.update_layout(barmode="stack", showlegend=True, legend={"orientation": "h", "y": -0.15},
                      yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "range": [0, ticks[-1] * 1.05],
                              "tickvals": ticks, "ticktext": [f"{v:g}%" for v in ticks]})
    marks = [(pd.Timestamp(test_cutoff), names["test_cutoff"])]
    if "as_of" in names and not population["labelled"].iloc[-1]:
        marks.append((x.iloc[-1], names["as_of"]))
    for day, text in marks:
        fig.add_shape(type="line", x0=day, x1=day, y0=0, y1=1, yref="paper",
                      line={"color": "#444", "dash": "dash", "width": 1})
        fig.add_annotation(x=day, y=1, yref="paper", text=text, showarrow=False, yanchor="bottom",
                           font={"size": 11})
    return fig
