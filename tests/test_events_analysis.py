"""churn_core.events.analysis: churn by stage, RFM segments, cohort retention, Kaplan-Meier time to lapse and
recency ratios, on hand-made frames and logs with hand-computed values, and sanity figures on the demo log."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from churn_core import i18n
from churn_core.errors import ParameterError, SchemaError
from churn_core.events import (
    EventWindow,
    LabelledEvents,
    churn_by_stage,
    cohort_retention,
    generate_visits,
    kaplan_meier,
    label_and_features,
    read_events,
    recency_ratio,
    rfm_segments,
    suggest_window,
    time_to_lapse,
)
from churn_core.events.analysis import SEGMENT_KEYS, median_survival
from churn_core.events.figures import cohort_heatmap_figure, survival_figure

T1, T2, T3 = pd.Timestamp("2024-06-30"), pd.Timestamp("2024-07-31"), pd.Timestamp("2024-08-31")


def _labelled(rows: dict, *, cutoff=T2, later_unlabelled: bool = True) -> LabelledEvents:
    """A LabelledEvents by hand: ``rows`` at ``cutoff`` (labelled), a decoy earlier cut-off, and (optionally)
    an unlabelled later one, which the defaults must skip."""
    n = len(next(iter(rows.values())))
    base = pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)], "cutoff": cutoff, **rows})
    base["labelled"] = True
    base["churned"] = pd.array(base["churned"], dtype="Int64")
    decoy = base.head(2).assign(cutoff=T1, churned=pd.array([1, 1], dtype="Int64"))
    parts = [decoy, base]
    if later_unlabelled:
        parts.append(base.assign(cutoff=T3, labelled=False, churned=pd.array([pd.NA] * n, dtype="Int64")))
    frame = pd.concat(parts, ignore_index=True)
    features = tuple(c for c in frame.columns if c not in {"customer_id", "cutoff", "labelled", "churned"})
    cuts = tuple(sorted(frame["cutoff"].unique()))
    return LabelledEvents(frame=frame, population=pd.DataFrame(), lapsed=pd.DataFrame(), window=EventWindow(),
                          cutoffs=tuple(pd.Timestamp(t) for t in cuts), feature_names=features)


def _log(rows, *, customers: pd.DataFrame | None = None):
    frame = pd.DataFrame(rows, columns=["customer_id", "date"])
    frame["amount"] = 100.0
    return read_events(frame, id="customer_id", time="date", amount="amount", customers=customers)


# ----------------------------------------------------------------------------------------------------------
# churn_by_stage


STAGE_ROWS = {"lifecycle_stage": ["new"] * 4 + ["growth"] * 2 + ["mature"] * 4,
              "churned": [1, 0, 0, 0, 1, 1, 0, 0, 0, 1]}


def test_churn_by_stage_counts_rates_and_ratio_to_the_rest_at_the_latest_labelled_cutoff():
    result = churn_by_stage(_labelled(STAGE_ROWS))
    table = result.to_frame().set_index("stage")
    assert result.cutoff == T2
    assert list(table.index) == ["new", "growth", "mature", "decline"]
    assert table["customers"].tolist() == [4, 2, 4, 0]
    assert table["churned"].tolist() == [1, 2, 1, 0]
    assert table.loc["new", "rate"] == pytest.approx(0.25)
    assert table.loc["new", "ratio"] == pytest.approx(0.25 / (3 / 6))
    assert table.loc["growth", "ratio"] == pytest.approx(1.0 / (2 / 8))
    assert table.loc["mature", "ratio"] == pytest.approx(0.25 / 0.5)
    # A stage with no customers: a row of zeros, no rate and no ratio, and no crash.
    assert math.isnan(table.loc["decline", "rate"]) and math.isnan(table.loc["decline", "ratio"])
    assert result.overall_rate == pytest.approx(0.4)


def test_churn_by_stage_at_a_chosen_cutoff_and_bad_cutoffs():
    labelled = _labelled(STAGE_ROWS)
    early = churn_by_stage(labelled, cutoff="2024-06-30").to_frame().set_index("stage")
    assert early.loc["new", "customers"] == 2 and early.loc["new", "churned"] == 2
    with pytest.raises(ParameterError, match="must be one of the labels' cut-offs"):
        churn_by_stage(labelled, cutoff="2023-01-31")
    with pytest.raises(ParameterError, match="has not elapsed") as info:
        churn_by_stage(labelled, cutoff=T3)
    assert info.value.code == "cutoff_not_labelled" and i18n.has_key("error.cutoff_not_labelled")
    with pytest.raises(ParameterError, match="must be a date"):
        churn_by_stage(labelled, cutoff="soon")


def test_without_a_labelled_cutoff_the_error_says_so():
    labelled = _labelled(STAGE_ROWS)
    unlabelled = LabelledEvents(frame=labelled.frame.assign(labelled=False), population=pd.DataFrame(),
                                lapsed=pd.DataFrame(), window=EventWindow(), cutoffs=labelled.cutoffs,
                                feature_names=labelled.feature_names)
    with pytest.raises(SchemaError, match="label window has elapsed") as info:
        churn_by_stage(unlabelled)
    assert info.value.code == "labels_not_elapsed"
    assert i18n.has_key("error.labels_not_elapsed") and i18n.has_key("error.unknown_cutoff")


# ----------------------------------------------------------------------------------------------------------
# rfm_segments

RFM_ROWS = {"days_since_last_visit": [10, 10, 10, 10, 100, 100, 100, 100],
            "visits_365d": [5, 5, 1, 1, 5, 5, 1, 1],
            "spend_365d": [900, 100, 900, 100, 900, 100, 900, 100],
            "churned": [0, 0, 0, 1, 1, 0, 1, 1]}
EXPECTED_SEGMENTS = ["important_value", "general_value", "important_develop", "general_develop",
                     "important_keep", "general_keep", "important_winback", "general_winback"]


def test_rfm_assigns_each_customer_by_the_medians_to_its_segment():
    result = rfm_segments(_labelled(RFM_ROWS))
    assert result.medians == {"recency": 55.0, "frequency": 3.0, "monetary": 500.0}
    assert result.customers["segment"].tolist() == EXPECTED_SEGMENTS
    table = result.to_frame().set_index("segment")
    assert list(table.index) == list(SEGMENT_KEYS)
    assert table["customers"].tolist() == [1] * 8
    assert table["share"].tolist() == [0.125] * 8
    churned = dict(zip(EXPECTED_SEGMENTS, RFM_ROWS["churned"]))
    assert table["churn_rate"].to_dict() == {k: float(churned[k]) for k in SEGMENT_KEYS}
    assert table.loc["important_winback", "avg_spend"] == 900
    assert table.loc["important_winback", ["r_high", "f_high", "m_high"]].tolist() == [False, False, True]
    assert table.loc["general_value", ["r_high", "f_high", "m_high"]].tolist() == [True, True, False]
    assert table.loc["important_winback", "strategy_key"] == "rfm.strategy.important_winback"


def test_rfm_ties_go_high_and_empty_segments_keep_their_row():
    rows = {"days_since_last_visit": [30] * 4, "visits_365d": [2] * 4, "spend_365d": [500] * 4,
            "churned": [0, 1, 0, 0]}
    table = rfm_segments(_labelled(rows)).to_frame().set_index("segment")
    assert table.loc["important_value", "customers"] == 4
    assert table.loc["important_value", "churn_rate"] == pytest.approx(0.25)
    assert table["customers"].sum() == 4 and (table.drop("important_value")["customers"] == 0).all()
    assert table.drop("important_value")["churn_rate"].isna().all()


def test_rfm_at_an_unlabelled_cutoff_has_segments_but_no_churn():
    result = rfm_segments(_labelled(RFM_ROWS), cutoff=T3)
    assert not result.labelled
    assert result.customers["segment"].tolist() == EXPECTED_SEGMENTS
    assert result.table["churn_rate"].isna().all()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_rfm_names_and_strategies_come_from_the_catalog(lang):
    table = rfm_segments(_labelled(RFM_ROWS)).to_frame(lang=lang).set_index("segment")
    assert table.loc["important_winback", "name"] == i18n.text("rfm.segment.important_winback", lang=lang)
    assert table.loc["important_winback", "strategy"] == i18n.text("rfm.strategy.important_winback", lang=lang)
    assert table["strategy"].nunique() == 8 and table["name"].nunique() == 8
    if lang == "en":
        assert table.loc["important_winback", "strategy"].startswith("Win back now: personal call")


# ----------------------------------------------------------------------------------------------------------
# cohort_retention

COHORT_LOG = [("A", "2024-01-05"), ("A", "2024-02-10"), ("A", "2024-04-01"),
              ("B", "2024-01-20"), ("B", "2024-03-03"),
              ("C", "2024-02-14"), ("C", "2024-02-20"), ("C", "2024-03-31")]


def test_cohort_retention_by_month_hand_computed():
    result = cohort_retention(_log(COHORT_LOG), max_periods=3)
    frame = result.to_frame()
    jan = frame[frame["cohort"] == pd.Timestamp("2024-01-01")]
    feb = frame[frame["cohort"] == pd.Timestamp("2024-02-01")]
    assert jan["period"].tolist() == [0, 1, 2, 3]
    assert jan["customers"].tolist() == [2, 2, 2, 2]
    assert jan["active"].tolist() == [2, 1, 1, 1]
    assert jan["active_share"].tolist() == [1.0, 0.5, 0.5, 0.5]
    assert jan["complete"].tolist() == [True, True, True, False]  # April is seen up to its 1st only
    assert feb["period"].tolist() == [0, 1, 2]  # no row past the log's last month
    assert feb["active_share"].tolist() == [1.0, 1.0, 0.0]
    assert result.matrix().loc[pd.Timestamp("2024-02-01"), 1] == 1.0
    average = result.average().set_index("period")
    assert average.loc[1, "active_share"] == pytest.approx(2 / 3)  # (1 + 1) of (2 + 1)


def test_cohort_retention_caps_periods_and_counts_quarters():
    assert cohort_retention(_log(COHORT_LOG), max_periods=2).frame["period"].max() == 2
    quarters = cohort_retention(_log(COHORT_LOG), period="quarter").to_frame()
    assert quarters["cohort"].tolist() == [pd.Timestamp("2024-01-01")] * 2
    assert quarters["customers"].tolist() == [3, 3]
    assert quarters["active_share"].tolist() == pytest.approx([1.0, 1 / 3])


@pytest.mark.parametrize(("options", "match"), [
    ({"period": "week"}, "'period' parameter of cohort_retention"),
    ({"max_periods": 0}, "'max_periods' parameter of cohort_retention"),
    ({"max_periods": 2.5}, "'max_periods' parameter of cohort_retention"),
], ids=["period", "zero-periods", "fractional-periods"])
def test_cohort_retention_rejects_bad_options(options, match):
    with pytest.raises(ParameterError, match=match):
        cohort_retention(_log(COHORT_LOG), **options)


# ----------------------------------------------------------------------------------------------------------
# Kaplan-Meier and time_to_lapse


def test_kaplan_meier_matches_the_hand_computed_estimate():
    curve = kaplan_meier([2, 3, 3, 5, 6, 8], [1, 1, 0, 1, 0, 1])
    assert curve["days"].tolist() == [0, 2, 3, 5, 6, 8]
    assert curve["at_risk"].tolist() == [6, 6, 5, 3, 2, 1]
    assert curve["events"].tolist() == [0, 1, 1, 1, 0, 1]
    assert curve["censored"].tolist() == [0, 0, 1, 0, 1, 0]
    assert curve["survival"].tolist() == pytest.approx([1, 5 / 6, 2 / 3, 4 / 9, 4 / 9, 0])
    assert median_survival(curve) == 5
    assert median_survival(kaplan_meier([4, 7], [0, 0])) is None
    assert median_survival(kaplan_meier([4, 7], [1, 0])) == 4  # 0.5 exactly counts as reached


WINDOW = EventWindow(window_days=30, lookback_days=100, min_history_days=0)
LAPSE_LOG = [("A", "2024-01-01"), ("A", "2024-02-01"),   # lapses 2024-05-11: 31 + 100 = 131 days
             ("B", "2024-01-01"), ("B", "2024-12-31"),   # censored at the log's end: 365 days
             ("C", "2024-03-01"),                        # lapses 2024-06-09: 100 days
             ("D", "2024-06-01"), ("D", "2024-10-01")]   # 2025-01-09 is after the end: censored, 213 days


def test_time_to_lapse_durations_censoring_and_median():
    result = time_to_lapse(_log(LAPSE_LOG), window=WINDOW)
    per = result.customers.set_index("customer_id")
    assert per["duration"].to_dict() == {"A": 131, "B": 365, "C": 100, "D": 213}
    assert per["lapsed"].to_dict() == {"A": True, "B": False, "C": True, "D": False}
    curve = result.to_frame()
    assert curve["days"].tolist() == [0, 100, 131, 213, 365]
    assert curve["survival"].tolist() == pytest.approx([1, 0.75, 0.5, 0.5, 0.5])
    assert result.medians == {"all": 131}
    assert result.summary[["customers", "lapsed"]].iloc[0].tolist() == [4, 2]


def test_time_to_lapse_by_a_customer_column_gives_one_curve_per_group():
    customers = pd.DataFrame({"customer_id": list("ABCD"), "model": ["x", "y", "x", "y"]})
    result = time_to_lapse(_log(LAPSE_LOG, customers=customers), window=WINDOW, by="model")
    assert result.medians == {"x": 100, "y": None}  # y: both censored, never below 0.5
    x = result.curves[result.curves["group"] == "x"]
    assert x["survival"].tolist() == pytest.approx([1, 0.5, 0])
    with pytest.raises(ParameterError, match="'by' parameter of time_to_lapse"):
        time_to_lapse(_log(LAPSE_LOG, customers=customers), window=WINDOW, by="colour")
    with pytest.raises(ParameterError, match="'by' parameter of time_to_lapse"):
        time_to_lapse(_log(LAPSE_LOG), window=WINDOW, by="model")  # no customer table


def test_time_to_lapse_caps_groups_at_eight():
    rows = [(f"K{i:02d}", "2024-01-01") for i in range(20)] + [("K00", "2024-12-31")]
    customers = pd.DataFrame({"customer_id": [f"K{i:02d}" for i in range(20)],
                              "dealer": [f"d{min(i, 11)}" for i in range(20)]})  # 12 dealers, d11 the largest
    result = time_to_lapse(_log(rows, customers=customers), window=WINDOW, by="dealer")
    groups = result.summary["group"].tolist()
    assert len(groups) == 8 and groups[0] == "d11" and groups[-1] == "other"
    assert result.summary["customers"].sum() == 20


# ----------------------------------------------------------------------------------------------------------
# recency_ratio

RECENCY_ROWS = {"days_since_last_visit": [5, 10, 20, 40, 50, 70, 100, 150, 200, 300],
                "visits_trend_ratio": [1, 1, 1, 1, 1, 0.5, 0.2, 0, np.nan, np.nan],
                "churned": [0, 0, 0, 0, 1, 0, 1, 1, 1, 1]}


def test_recency_ratio_hand_computed_and_the_best_threshold():
    result = recency_ratio(_labelled(RECENCY_ROWS), thresholds=(90, 30, 60))
    table = result.to_frame().set_index("threshold")
    assert list(table.index) == [30, 60, 90]
    assert table["customers_above"].tolist() == [7, 5, 4]
    assert table.loc[60, "rate_above"] == pytest.approx(0.8) and table.loc[60, "rate_rest"] == pytest.approx(0.2)
    assert table.loc[60, "ratio"] == pytest.approx(4.0)
    assert table.loc[90, "ratio"] == pytest.approx(1.0 / (1 / 6))
    assert math.isnan(table.loc[30, "ratio"])  # nobody at or below 30 days churned: no ratio
    assert result.best.threshold == 90 and result.best.ratio == pytest.approx(6.0)
    assert result.sentence("en") == ("Customers with more than 90 days since their last visit churn 6.0× as often "
                                     "as the rest.")
    assert result.sentence("zh") == i18n.text("events.recency_ratio", lang="zh", days="90", ratio="6.0")
    trend = result.trend  # dropped: 0.5, 0.2, 0 against the five at 1; the two without a trend left out
    assert trend.customers_above == 3 and result.trend_unknown == 2
    assert trend.share_above == pytest.approx(3 / 8)
    assert trend.ratio == pytest.approx((2 / 3) / (1 / 5))
    assert trend.sentence("en") == ("Customers whose visits fell by half or more churn 3.3× as often as those whose "
                                    "visits held up.")


def test_recency_ratio_skips_thresholds_with_too_few_customers_on_a_side():
    result = recency_ratio(_labelled(RECENCY_ROWS), thresholds=(60, 250), min_share=0.2)
    assert result.table["valid"].tolist() == [True, False]  # one customer above 250 days is 10%
    assert result.best.threshold == 60


def test_when_every_customer_is_recent_there_is_no_best_threshold_and_no_crash():
    rows = {"days_since_last_visit": [3, 5, 8, 12], "churned": [0, 1, 0, 0]}
    result = recency_ratio(_labelled(rows))
    assert result.best is None and result.no_best_reason == "too_few_on_a_side"
    assert not result.table["valid"].any()
    assert result.trend is None  # no visits_trend_ratio column
    assert result.sentence("en") == i18n.text("events.recency_ratio_none", lang="en", share="5")
    only_low = recency_ratio(_labelled(RECENCY_ROWS), thresholds=(30,))
    assert only_low.best is None and only_low.no_best_reason == "no_churn_at_or_below"


@pytest.mark.parametrize(("options", "match"), [
    ({"thresholds": ()}, "'thresholds' parameter of recency_ratio"),
    ({"thresholds": ("soon",)}, "'thresholds' parameter of recency_ratio"),
    ({"min_share": 0.6}, "'min_share' parameter of recency_ratio"),
    ({"column": "lifecycle"}, "'column' parameter of recency_ratio"),
], ids=["empty", "text", "share", "column"])
def test_recency_ratio_rejects_bad_options(options, match):
    with pytest.raises(ParameterError, match=match):
        recency_ratio(_labelled(RECENCY_ROWS), **options)


# ----------------------------------------------------------------------------------------------------------
# The after-sales demo: sanity figures


@pytest.fixture(scope="module")
def demo():
    data = generate_visits(n_customers=3000, years=3, seed=7)
    log = read_events(data.visits, customers=data.customers)
    window = suggest_window(log).window
    return log, window, label_and_features(log, window=window)


def test_demo_churn_by_stage_and_rfm(demo):
    log, window, labelled = demo
    stages = churn_by_stage(labelled).to_frame().set_index("stage")
    latest = labelled.population[labelled.population["labelled"]].iloc[-1]
    assert stages["customers"].sum() == latest["eligible"]
    assert stages["churned"].sum() == latest["churned"]
    assert stages.loc["mature", "rate"] > stages.loc["growth", "rate"] > stages.loc["new", "rate"]
    assert stages.loc["mature", "ratio"] > 1.5
    rfm = rfm_segments(labelled).to_frame().set_index("segment")
    assert rfm["customers"].sum() == latest["eligible"]
    assert rfm["share"].sum() == pytest.approx(1.0)
    assert rfm.loc["important_value", "churn_rate"] < 0.1 < 0.3 < rfm.loc["general_winback", "churn_rate"]
    assert rfm.loc["important_value", "avg_spend"] > rfm.loc["general_value", "avg_spend"]


def test_demo_recency_ratio(demo):
    _, _, labelled = demo
    result = recency_ratio(labelled)
    valid = result.table[result.table["valid"]]
    assert result.best is not None and result.best.ratio == valid["ratio"].max() > 3
    assert (valid["rate_above"].diff().dropna() > 0).all()  # the longer the silence, the likelier the churn
    assert result.trend.ratio > 1.5  # halving visits is a churn sign too


def test_demo_cohorts_match_a_pandas_count(demo):
    log, window, _ = demo
    result = cohort_retention(log, window=window, max_periods=6)
    frame = result.frame
    assert frame.drop_duplicates("cohort")["customers"].sum() == log.customer_count
    assert (frame.loc[frame["period"] == 0, "active_share"] == 1).all()
    months = log.frame["event_time"].dt.year * 12 + log.frame["event_time"].dt.month
    first = months.groupby(log.frame["customer_id"]).transform("min")
    k = months - first
    expected = (log.frame.assign(c=first, k=k)[k <= 6].groupby(["c", "k"])["customer_id"].nunique())
    got = frame.assign(c=frame["cohort"].dt.year * 12 + frame["cohort"].dt.month).set_index(["c", "period"])
    assert got["active"].loc[expected.index].tolist() == expected.tolist()


def test_demo_time_to_lapse(demo):
    log, window, labelled = demo
    result = time_to_lapse(log, window=window)
    survival = result.curves["survival"].to_numpy()
    assert (np.diff(survival) <= 0).all()
    assert result.summary["customers"].iloc[0] == log.customer_count
    assert result.curves.loc[result.curves["days"] < window.lookback_days, "events"].sum() == 0  # L days at least
    assert 0.6 < survival[-1] < 0.95
    by_stage = time_to_lapse(log, window=window, by="lifecycle", labelled=labelled)
    assert by_stage.summary["customers"].sum() + by_stage.unassigned == log.customer_count
    assert set(by_stage.summary["group"]) <= {"new", "growth", "mature", "decline"}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_figures_are_worded_in_the_language(demo, lang):
    log, window, labelled = demo
    heat = cohort_heatmap_figure(cohort_retention(log, window=window), lang=lang)
    assert heat.data[0].type == "heatmap"
    assert heat.layout.xaxis.title.text == i18n.text("events.cohort.x_month", lang=lang)
    assert heat.layout.yaxis.title.text == i18n.text("events.cohort.y_month", lang=lang)
    lapse = time_to_lapse(log, window=window, by="rfm", labelled=labelled)
    fig = survival_figure(lapse, lang=lang)
    assert len(fig.data) == len(lapse.summary)
    assert fig.data[0].line.shape == "hv"
    assert fig.data[0].name.startswith(i18n.text("rfm.segment.important_value", lang=lang))
    assert fig.layout.xaxis.title.text == i18n.text("events.survival.x", lang=lang)
    with pytest.raises(ParameterError, match="'lang' parameter"):
        survival_figure(lapse, lang="fr")
