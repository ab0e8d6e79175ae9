"""churn_core.plots: the model-evaluation figures carry their series, their words from Labels, and
importing plots stays free of scikit-learn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import churn_core as cc
from churn_core import plots
from churn_core.evaluation import (
    calibration_bins,
    confusion_at,
    gains_table,
    pr_curve_points,
    roc_curve_points,
)
from churn_core.plots import Labels


def _scores(seed: int, *, noise: float, n: int = 4_000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(1, 4, n)
    y = (rng.random(n) < p).astype(int)
    return y, np.clip(p + rng.normal(0, noise, n), 0, 1)


GOOD = _scores(0, noise=0.02)
WEAK = _scores(0, noise=0.2)
MODELS = {"xgboost": GOOD, "logistic_regression": WEAK}


def _names(fig: go.Figure) -> list[str]:
    return [trace.name for trace in fig.data]


@pytest.mark.parametrize("models", [["xgboost"], ["xgboost", "logistic_regression"]], ids=["one-model", "two-models"])
def test_roc_curves_name_each_model_with_its_auc(models):
    curves = {m: roc_curve_points(*MODELS[m]) for m in models}
    labels = Labels(title="XGBoost separates churners best", x="false positive rate", y="true positive rate",
                    baseline="zufall")
    fig = plots.roc_curves(curves, labels=labels)
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == len(models) + 1
    assert fig.layout.title.text == labels.title
    assert fig.layout.showlegend is True
    assert "zufall" in _names(fig)
    for name, curve in curves.items():
        assert f"{name} (AUC {curve.auc:.3f})" in _names(fig)
    assert fig.layout.xaxis.title.text == "false positive rate"


def test_pr_curves_draw_the_churners_share_as_baseline():
    curves = {m: pr_curve_points(*data) for m, data in MODELS.items()}
    fig = plots.pr_curves(curves, labels=Labels(title="Precision falls as recall rises", auc="AP"))
    assert len(fig.data) == 3  # both models share one holdout, so one baseline
    baseline = fig.data[0]
    assert list(baseline.y) == pytest.approx([GOOD[0].mean()] * 2)
    assert baseline.name == f"random {GOOD[0].mean():.1%}"
    assert f"xgboost (AP {curves['xgboost'].auc:.3f})" in _names(fig)
    assert fig.layout.title.text == "Precision falls as recall rises"


def test_pr_curves_on_different_holdouts_get_one_baseline_each():
    other = _scores(9, noise=0.02, n=1_000)
    fig = plots.pr_curves({"a": pr_curve_points(*GOOD), "b": pr_curve_points(*other)}, labels=Labels(title="PR"))
    assert len(fig.data) == 4


def test_calibration_plot_has_wilson_error_bars_and_ece_in_the_legend():
    y, p = GOOD
    curves = {"before": calibration_bins(y, p**2), "after": calibration_bins(y, p)}
    labels = Labels(title="Calibration brings predictions onto the diagonal", ideal="ideal")
    fig = plots.calibration_plot(curves, labels=labels)
    assert len(fig.data) == 3
    assert fig.layout.title.text == labels.title
    assert _names(fig) == ["ideal", f"before (ECE {curves['before'].ece:.3f})",
                           f"after (ECE {curves['after'].ece:.3f})"]
    after = fig.data[2]
    np.testing.assert_allclose(after.error_y.array, curves["after"].ci_high - curves["after"].observed)
    np.testing.assert_allclose(after.error_y.arrayminus, curves["after"].observed - curves["after"].ci_low)
    assert "customers: " in after.hovertext[0]
    assert fig.layout.xaxis.range[1] <= 1.02  # never beyond 100%


def test_gains_chart_runs_from_zero_to_everyone():
    gains = {m: gains_table(*data) for m, data in MODELS.items()}
    fig = plots.gains_chart(gains, labels=Labels(title="Calling the top 20% reaches half the churners"))
    assert len(fig.data) == 3
    assert _names(fig) == ["random", "xgboost", "logistic_regression"]
    model = fig.data[1]
    assert (model.x[0], model.y[0]) == (0.0, 0.0)
    assert (model.x[-1], model.y[-1]) == pytest.approx((1.0, 1.0))
    assert fig.layout.showlegend is True


def test_confusion_heatmap_shows_counts_and_row_shares():
    result = confusion_at(*GOOD, threshold=0.3)
    labels = Labels(title="At 0.30 we reach most churners", predicted="vorhergesagt", actual="tatsächlich")
    fig = plots.confusion_heatmap(result, labels=labels, names=("bleibt", "kündigt"))
    assert len(fig.data) == 1 and fig.layout.title.text == labels.title
    heat = fig.data[0]
    assert list(heat.x) == list(heat.y) == ["bleibt", "kündigt"]
    assert heat.z[1][1] == pytest.approx(100 * result.recall)  # the churned row's share predicted churned
    assert heat.text[1][1].startswith(f"<b>{result.tp:,}</b>")
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("vorhergesagt", "tatsächlich")


def test_importance_bars_show_the_top_features_largest_first():
    table = pd.DataFrame({"feature": [f"f{i}" for i in range(20)], "gain": np.linspace(0.01, 0.2, 20)})
    fig = plots.importance_bars(table, value="gain", labels=Labels(title="Service calls matter most"), top=5)
    assert len(fig.data) == 1 and fig.layout.title.text == "Service calls matter most"
    assert list(fig.data[0].y) == ["f19", "f18", "f17", "f16", "f15"]
    with pytest.raises(cc.ParameterError, match=r"columns 'feature' and 'shap'. Missing \['shap'\]"):
        plots.importance_bars(table, value="shap", labels=Labels(title="x"))


def test_cv_spread_puts_every_fold_in_one_box_per_model():
    folds = {"xgboost": pd.DataFrame({"roc_auc": [0.91, 0.92, 0.90, 0.93, 0.92], "f1": [0.7] * 5}),
             "random_forest": pd.DataFrame({"roc_auc": [0.88, 0.90, 0.87, 0.89, 0.91], "f1": [0.6] * 5})}
    fig = plots.cv_spread(folds, metric="roc_auc", labels=Labels(title="XGBoost wins on every fold", fold="Fold"))
    assert [type(t) for t in fig.data] == [go.Box, go.Box]
    assert _names(fig) == ["xgboost", "random_forest"]
    assert list(fig.data[0].y) == [0.91, 0.92, 0.90, 0.93, 0.92]
    assert fig.data[0].hovertext[1] == "xgboost · Fold 2: 0.920"
    assert fig.layout.title.text == "XGBoost wins on every fold"
    with pytest.raises(cc.ParameterError, match="'metric' parameter of cv_spread.*Got 'pr_auc', which 'xgboost'"):
        plots.cv_spread(folds, metric="pr_auc", labels=Labels(title="x"))


BAD_FIGURES = [
    pytest.param(lambda: plots.roc_curves({"m": pr_curve_points(*GOOD)}, labels=Labels(title="x")),
                 "must hold ROC curves from roc_curve_points. Got a 'pr' curve for 'm'", id="pr-curve-as-roc"),
    pytest.param(lambda: plots.pr_curves({"m": roc_curve_points(*GOOD)}, labels=Labels(title="x")),
                 "must hold PR curves from pr_curve_points. Got a 'roc' curve", id="roc-curve-as-pr"),
    pytest.param(lambda: plots.gains_chart({}, labels=Labels(title="x")),
                 "'gains' parameter of gains_chart must hold at least one model", id="no-models"),
]


@pytest.mark.parametrize("call, message", BAD_FIGURES)
def test_misused_figures_say_what_they_need(call, message):
    with pytest.raises(cc.ParameterError, match=message):
        call()


def test_new_label_fields_keep_old_positional_calls_working():
    labels = Labels(title="title", x="x", y="y", small="few", overall="overall", threshold="threshold",
                    customers="customers")
    assert (labels.customers, labels.baseline, labels.ideal, labels.auc) == ("customers", "random",
                                                                             "perfect calibration", "AUC")


def test_importing_plots_does_not_load_scikit_learn():
    check = "import sys, churn_core.plots; assert 'sklearn' not in sys.modules, 'sklearn loaded'"
    done = subprocess.run([sys.executable, "-c", check], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("low", "high", "lang", "expected"), [
    (-200_000, 600_000, "zh", ["−¥20万", "¥0", "¥20万", "¥40万", "¥60万"]),
    (-200_000, 600_000, "en", ["−¥200K", "¥0", "¥200K", "¥400K", "¥600K"]),
    (0, 1.5e8, "zh", ["¥0", "¥5,000万", "¥1亿", "¥1.5亿"]),
    (0, 3, "en", ["¥0", "¥1", "¥2", "¥3"]),
])
def test_money_ticks_are_written_for_the_locale(low, high, lang, expected):
    fig = go.Figure()
    plots._money_axis(fig, "¥", [low, high], lang=lang)
    assert list(fig.layout.yaxis.ticktext) == expected
    assert list(fig.layout.yaxis.tickvals)[0] <= min(low, 0) and list(fig.layout.yaxis.tickvals)[-1] >= high


def test_roi_charts_label_money_in_the_labels_language():
    inputs = cc.PRESETS["telecom_8k"]
    case = cc.business_case(inputs)
    chinese = plots.payback_chart(case, labels=Labels(title="回收", lang="zh"), currency="¥")
    english = plots.payback_chart(case, labels=Labels(title="Payback"), currency="$")
    assert any("万" in text for text in chinese.layout.yaxis.ticktext)
    assert any(text.endswith("M") for text in english.layout.yaxis.ticktext)
    tornado = plots.tornado_chart(cc.sensitivity(inputs), names={}, labels=Labels(title="t", lang="zh"),
                                  currency="¥")
    assert tornado.layout.xaxis.ticktext and all("k" not in text for text in tornado.layout.xaxis.ticktext)
    # the tornado's bars start at the base case, not at zero: its ticks stay around the base
    assert min(tornado.layout.xaxis.tickvals) > 0 and len(tornado.layout.xaxis.tickvals) >= 3


# -- no clipped labels (issue 14): end labels and legends stay inside the figure ----------------------------

def _explanation(points: list[float], *, base: float = 0.14):
    from types import SimpleNamespace
    table = pd.DataFrame({"source": [f"f{i}" for i in range(len(points))], "value": ["1"] * len(points),
                          "points": points})
    return SimpleNamespace(table=table, base_probability=base, probability=base + sum(points))


@pytest.mark.parametrize("points", [[0.5, 0.3, 0.06], [-0.05, -0.03, 0.01], [0.02] * 12],
                         ids=["near-100%", "falling", "pooled-rest"])
def test_reason_waterfall_leaves_room_for_its_end_labels(points):
    explanation = _explanation(points)
    fig = plots.reason_waterfall(explanation, names={}, labels=Labels(title="w"))
    ends = np.cumsum([explanation.base_probability, *points]) * 100
    low, high = fig.layout.xaxis.range
    span = max(ends.max(), 0) - min(ends.min(), 0)
    assert fig.data[0].cliponaxis is False
    assert high >= ends.max() + 0.1 * span  # the "100.0%" after the last bar is inside the axis
    assert low <= min(ends.min(), 0)


@pytest.mark.parametrize("share", [0.05, 0.5, 0.95], ids=["first-month", "mid", "late"])
def test_payback_label_points_toward_the_wider_side_and_is_not_clipped(share):
    case = cc.business_case(cc.PRESETS["telecom_8k"])
    months = share * case.cumulative()["month"].iloc[-1]
    case = type("Case", (), {"payback_months": months, "cumulative": case.cumulative})()
    fig = plots.payback_chart(case, labels=Labels(title="p", optimum="Payback"), big=True)
    marker = fig.data[-1]
    last = case.cumulative()["month"].iloc[-1]
    assert marker.text == ("Payback",) and marker.cliponaxis is False
    assert marker.textposition == ("top right" if months <= last / 2 else "top left")


def test_tornado_legend_sits_above_the_bars_not_over_them():
    fig = plots.tornado_chart(cc.sensitivity(cc.PRESETS["telecom_8k"]), names={}, labels=Labels(title="t"))
    legend = fig.layout.legend
    assert legend.orientation == "h" and legend.y >= 1.0 and legend.yanchor == "bottom"
    assert fig.layout.margin.t >= 80  # room for the title and the legend row


def test_cutoff_population_chart_stacks_eligible_and_lapsed_and_marks_the_test_cutoff():
    population = pd.DataFrame({
        "cutoff": pd.to_datetime(["2025-01-31", "2025-02-28", "2025-06-30"]), "customers": [100, 120, 130],
        "eligible": [90, 100, 95], "lapsed": [10, 20, 35], "churned": pd.array([9, 12, pd.NA], dtype="Int64"),
        "churn_rate": [0.1, 0.12, float("nan")], "labelled": [True, True, False]})
    names = {"eligible": "Eligible", "lapsed": "Lapsed", "churn_rate": "Churn rate", "test_cutoff": "test cut-off"}
    fig = plots.cutoff_population_chart(population, test_cutoff=pd.Timestamp("2025-02-28"), names=names,
                                        labels=plots.Labels(title="Who is counted"))
    bars = [trace for trace in fig.data if trace.type == "bar"]
    assert [b.name for b in bars] == ["Eligible", "Lapsed"] and fig.layout.barmode == "stack"
    assert list(bars[1].y) == [10, 20, 35]
    line = next(trace for trace in fig.data if trace.type == "scatter")
    assert line.yaxis == "y2" and list(line.y[:2]) == [10.0, 12.0]
    assert pd.Timestamp(fig.layout.shapes[0].x0) == pd.Timestamp("2025-02-28")
    assert fig.layout.annotations[0].text == "test cut-off"
