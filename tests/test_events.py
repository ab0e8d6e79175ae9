"""churn_core.events: reading event logs (roles by value), validation, cut-offs, labels and as-of features."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from churn_core import (
    EventWindow,
    ParameterError,
    SchemaError,
    ValidationReport,
    attach_customers,
    cutoffs,
    label_and_features,
    read_events,
    validate_events,
)
from churn_core.events import parse_times


def make_log(*, customers=300, days=1000, seed=0, start="2021-01-01", rate=0.02, extras=False) -> pd.DataFrame:
    """A seeded visit log: each customer visits at their own rate from their own start, some stop early;
    ``extras`` adds a complaint flag, an NPS score (0-10, often missing) and a first-time-fix flag (on repairs)."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, days // 2, customers)
    stop = np.where(rng.random(customers) < 0.4, first + rng.integers(60, days, customers), days)
    counts = rng.poisson(rate * (np.minimum(stop, days) - first)) + 1
    cid = np.repeat(np.arange(customers), counts)
    lo, hi = np.repeat(first, counts), np.repeat(np.minimum(stop, days), counts)
    day = lo + (rng.random(len(cid)) * (hi - lo)).astype(int)
    frame = pd.DataFrame({
        "member": [f"C{c:05d}" for c in cid],
        "visited": pd.Timestamp(start) + pd.to_timedelta(day, "D"),
        "paid": np.round(rng.gamma(2.0, 300.0, len(cid)), 2) * np.where(rng.random(len(cid)) < 0.03, -1, 1),
        "service": rng.choice(["maintenance", "repair", "parts", "accessories"], len(cid), p=[.5, .25, .15, .1]),
    })
    if extras:
        frame["complaint"] = rng.random(len(cid)) < 0.1
        frame["nps"] = np.where(rng.random(len(cid)) < 0.4, rng.integers(0, 11, len(cid)), np.nan)
        fixed = pd.Series(rng.random(len(cid)) < 0.8, dtype=object)
        frame["first_time_fix"] = fixed.where(frame["service"] == "repair", None)
    return frame.sort_values("visited").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------
# Roles


def test_roles_are_found_by_value_on_iso_dates_read_from_a_csv_file():
    frame = make_log(customers=80)
    frame["visited"] = frame["visited"].dt.strftime("%Y-%m-%d")
    frame = frame.rename(columns={"member": "a", "visited": "b", "paid": "c", "service": "d"})  # names give no hint
    log = read_events(frame.to_csv(index=False).encode(), filename="visits.csv")
    roles = log.roles
    assert (roles.id, roles.time, roles.amount, roles.type) == ("a", "b", "c", "d")
    assert roles.time_format == "iso" and roles.date_order_reason is None
    assert log.frame["event_time"].iloc[0] == pd.Timestamp(frame["b"].iloc[0])
    assert log.frame["customer_id"].nunique() == frame["a"].nunique()
    assert (log.frame["amount"] < 0).any()  # returns kept as negative amounts


def test_yyyymmdd_integers_are_dates():
    frame = make_log(customers=50)
    frame["visited"] = frame["visited"].dt.strftime("%Y%m%d").astype(int)
    log = read_events(frame)
    assert log.roles.time == "visited" and log.roles.time_format == "yyyymmdd"
    assert log.frame["event_time"].min() >= pd.Timestamp("2021-01-01")
    assert log.roles.amount == "paid"  # integer dates are not taken for the amount


def test_day_first_text_is_chosen_when_month_first_gives_impossible_dates():
    frame = make_log(customers=50)
    frame["visited"] = frame["visited"].dt.strftime("%d/%m/%Y")
    log = read_events(frame)
    assert (log.roles.time_format, log.roles.date_order_reason) == ("day_first", "only_valid")
    assert log.frame["event_time"].equals(make_log(customers=50)["visited"].astype("datetime64[ns]"))
    report = validate_events(log, today="2030-01-01")
    said = next(i for i in report.issues if i.code == "event_day_first")
    assert said.severity == "info" and said.params == {"column": "visited"}
    assert "event_date_order" not in codes(report) and not report.warnings and report.ok


def test_month_first_text_is_chosen_when_day_first_gives_impossible_dates():
    parsed, fmt, reason = parse_times(pd.Series(["03/25/2023", "12/31/2022", "01/02/2023"]))
    assert (fmt, reason) == ("month_first", "only_valid")
    assert list(parsed) == [pd.Timestamp("2023-03-25"), pd.Timestamp("2022-12-31"), pd.Timestamp("2023-01-02")]


def test_ambiguous_day_month_text_reads_day_first_and_says_so():
    frame = make_log(customers=50)
    frame = frame[frame["visited"].dt.day <= 12].copy()
    frame["visited"] = frame["visited"].dt.strftime("%d.%m.%Y")
    log = read_events(frame)
    assert (log.roles.time_format, log.roles.date_order_reason) == ("day_first", "ambiguous")
    issue = next(i for i in validate_events(log).issues if i.code == "event_date_order")
    assert issue.severity == "warning" and issue.params["column"] == "visited"


def test_roles_can_be_overridden_and_a_missing_column_is_refused():
    frame = make_log(customers=60)
    frame["shipped"] = frame["visited"] + pd.Timedelta(days=3)
    frame["branch"] = np.where(frame.index % 2 == 0, "north", "south")
    log = read_events(frame, time="shipped", type="branch", amount=None)
    assert log.roles.time == "shipped" and log.roles.type == "branch"
    assert (log.frame["event_time"] == frame["shipped"]).all()
    assert set(log.frame["event_type"]) == {"north", "south"}
    assert "visited" in log.frame.columns  # other columns kept under their names
    with pytest.raises(SchemaError, match="'nope' given as 'id' is not in the event log") as err:
        read_events(frame, id="nope")
    assert err.value.code == "event_column_missing" and err.value.params["column"] == "nope"
    with pytest.raises(SchemaError, match="does not hold dates") as err:
        read_events(frame, time="service")
    assert err.value.code == "event_time_unparseable"


def test_a_log_without_dates_is_refused_with_a_code():
    frame = make_log(customers=30).drop(columns="visited")
    with pytest.raises(SchemaError, match="No column of the event log holds dates") as err:
        read_events(frame)
    assert err.value.code == "no_event_time"


# ---------------------------------------------------------------------------------------------------------
# Validation


def codes(report: ValidationReport) -> set[str]:
    return {i.code for i in report.issues}


def test_a_clean_log_has_no_issues():
    report = validate_events(read_events(make_log()), today="2030-01-01")
    assert isinstance(report, ValidationReport) and report.ok and not report.issues, report.to_frame()


def test_each_validation_issue_is_reported_with_params():
    frame = make_log(customers=200)
    frame["visited"] = frame["visited"].dt.strftime("%Y-%m-%d").astype(object)
    frame.loc[[3, 4], "visited"] = None
    frame.loc[5, "visited"] = "not a date"
    frame.loc[6, "visited"] = "2031-05-01"
    frame = pd.concat([frame, frame.iloc[[10, 11, 12]]], ignore_index=True)
    log = read_events(frame)
    customers = pd.DataFrame({"member": ["C00000", "C00001", "GHOST1", "GHOST2"], "region": list("NSEW")})
    log = attach_customers(log, customers)
    report = validate_events(log, today="2030-01-01")
    by_code = {i.code: i for i in report.issues}
    assert by_code["event_dates_missing"].params["count"] == 2
    assert by_code["event_dates_unparseable"].params == {"column": "visited", "count": 1, "rows": len(frame),
                                                        "example": "not a date"}
    assert by_code["event_dates_future"].params["count"] == 1
    assert by_code["duplicate_events"].params["count"] == 3
    assert by_code["customers_without_events"].params["count"] == 2
    assert report.ok  # all warnings


def test_short_history_and_few_repeat_customers():
    frame = make_log(customers=20, days=200)
    report = validate_events(read_events(frame), today="2030-01-01")
    issue = next(i for i in report.issues if i.code == "short_history")
    assert issue.params["window"] == 120 and issue.params["days"] < 240
    assert "few_repeat_customers" in codes(report)
    assert "short_history" not in codes(validate_events(read_events(frame), window_days=30, today="2030-01-01"))
    once = pd.DataFrame({"who": ["a", "b", "c", "a"], "when": ["2023-01-01", "2023-02-01", "2023-03-01", "2023-01-01"]})
    report = validate_events(read_events(once, id="who"), today="2030-01-01", min_repeat_customers=5)
    repeat = next(i for i in report.issues if i.code == "few_repeat_customers")
    assert repeat.params["count"] == 1 and repeat.severity == "warning"


def test_validation_parameters_are_checked():
    with pytest.raises(ParameterError, match="window_days must be at least 1"):
        validate_events(read_events(make_log(customers=30)), window_days=0)


# ---------------------------------------------------------------------------------------------------------
# Cut-offs, labels, features

T = pd.Timestamp("2023-06-30")  # t - 365 = 2022-06-30, t + 120 = 2023-10-28

HAND = pd.DataFrame([
    ("A", "2023-03-01", 100.0, "maintenance"), ("A", "2023-07-15", 80.0, "repair"),  # came back: 0
    ("B", "2023-01-10", 50.0, "maintenance"), ("B", "2023-06-30", 70.0, "maintenance"),  # on t counts as before
    ("B", "2023-11-01", 60.0, "maintenance"),  # t + 124: too late, churned
    ("C", "2022-06-01", 10.0, "parts"), ("C", "2023-08-01", 10.0, "parts"),  # lapsed at t
    ("D", "2023-07-01", 30.0, "parts"),  # first seen after t
    ("E", "2022-07-01", 40.0, "maintenance"),  # 364 days before t: eligible, churned
    ("F", "2023-05-15", 20.0, "repair"), ("F", "2023-10-28", 20.0, "repair"),  # exactly t + 120: stayed
    ("G", "2020-01-01", 90.0, "repair"), ("G", "2023-06-01", 90.0, "repair"),  # tenure > 36 months, churned
    ("Z", "2022-06-30", 5.0, "parts"), ("Z", "2024-01-01", 5.0, "parts"),  # exactly t - 365: lapsed
], columns=["customer", "date", "amount", "type"])


def test_labels_on_a_hand_made_log():
    log = read_events(HAND, id="customer", time="date", amount="amount", type="type")
    result = label_and_features(log, cutoffs=[T])
    frame = result.frame.set_index("customer_id")
    assert dict(frame["churned"]) == {"A": 0, "B": 1, "E": 1, "F": 0, "G": 1}
    assert frame["labelled"].all()
    assert frame.loc["A", "days_since_last_visit"] == 121 and frame.loc["B", "days_since_last_visit"] == 0
    assert frame.loc["B", "visits_180d"] == 2 and frame.loc["B", "spend_180d"] == 120
    assert frame.loc["G", "avg_gap_days"] == (pd.Timestamp("2023-06-01") - pd.Timestamp("2020-01-01")).days
    assert frame.loc["A", "lifecycle_stage"] == "new" and frame.loc["G", "lifecycle_stage"] == "decline"
    assert frame.loc["E", "lifecycle_stage"] == "growth"
    assert sorted(result.lapsed["customer_id"]) == ["C", "Z"]
    pop = result.population.iloc[0]
    assert (pop["customers"], pop["eligible"], pop["lapsed"], pop["churned"]) == (7, 5, 2, 3)
    assert pop["churn_rate"] == pytest.approx(3 / 5)


def test_visit_types_decide_what_counts_as_a_visit():
    log = read_events(HAND, id="customer", time="date", amount="amount", type="type")
    result = label_and_features(log, window=EventWindow(visit_types=("maintenance",)), cutoffs=[T])
    churned = dict(result.frame.set_index("customer_id")["churned"])
    assert churned["A"] == 1  # A came back for a repair, which is not a visit here
    assert churned["B"] == 1 and churned["E"] == 1


def test_a_cutoff_whose_window_has_not_elapsed_is_unlabelled():
    log = read_events(HAND, id="customer", time="date", amount="amount", type="type")
    late = label_and_features(log, cutoffs=["2023-12-31"])
    assert not late.frame["labelled"].any() and late.frame["churned"].isna().all()
    assert not late.population["labelled"].iloc[0]


def test_cutoffs_are_month_ends_whose_window_has_fully_elapsed():
    log = read_events(make_log())
    window = EventWindow()
    found = cutoffs(log, window=window)
    last, first = log.last_date, log.first_date
    dates = list(found.dates)
    assert len(dates) >= 12 and all(d.is_month_end for d in dates)
    assert all(d + pd.Timedelta(days=120) <= last for d in dates)
    assert dates[0] - pd.Timedelta(days=180) >= first
    next_month_end = dates[-1] + pd.offsets.MonthEnd(1)
    assert next_month_end + pd.Timedelta(days=120) > last
    weekly = cutoffs(log, window=EventWindow(spacing=7, window_days=60))
    assert {b - a for a, b in zip(weekly.dates, weekly.dates[1:])} == {pd.Timedelta(days=7)}
    assert found.to_frame()["window_end"].iloc[0] == dates[0] + pd.Timedelta(days=120)
    result = label_and_features(log)
    assert list(result.population["cutoff"]) == dates and result.population["labelled"].all()
    assert (result.population["eligible"] + result.population["lapsed"] == result.population["customers"]).all()
    assert (result.population["lapsed"] == result.lapsed.groupby("cutoff").size().reindex(dates, fill_value=0)
            .to_numpy()).all()


def test_bad_window_parameters_are_refused():
    with pytest.raises(ParameterError, match="'window_days' must be a whole number of days"):
        EventWindow(window_days=0)
    with pytest.raises(ParameterError, match="spacing must be 'month' or a whole number"):
        EventWindow(spacing="week")


def test_customer_attributes_are_features_as_of_the_cutoff():
    log = read_events(HAND, id="customer", time="date", amount="amount", type="type")
    table = pd.DataFrame({"cust": list("ABEFG"), "region": ["N", "S", "E", "W", "N"],
                          "warranty_end": ["2023-07-30", "2022-06-30", "2024-06-29", "2023-06-30", "2021-01-01"]})
    result = label_and_features(attach_customers(log, table), cutoffs=[T])
    frame = result.frame.set_index("customer_id")
    assert frame.loc["A", "warranty_end_days"] == 30 and frame.loc["B", "warranty_end_days"] == -365
    assert frame.loc["E", "region"] == "E"
    assert {"region", "warranty_end_days"} <= set(result.feature_names)


def _alter_after(frame: pd.DataFrame, t: pd.Timestamp, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    after = frame["visited"] > t
    late = frame[after].copy()
    keep = rng.random(len(late)) < 0.5  # drop half of the later events
    late = late[keep]
    late["visited"] = late["visited"] + pd.to_timedelta(rng.integers(1, 60, len(late)), "D")  # move the rest
    late["paid"] = late["paid"] * 3 + 7  # change their amounts
    late["service"] = "repair"
    if "nps" in late:
        late["complaint"] = ~late["complaint"]
        late["nps"] = 10 - late["nps"].fillna(5)
        late["first_time_fix"] = False
    new = late.sample(frac=0.5, random_state=seed).copy()
    new["member"] = np.where(rng.random(len(new)) < 0.5, new["member"], "NEW" + new["member"])  # new events
    new["visited"] = t + pd.to_timedelta(rng.integers(1, 200, len(new)), "D")
    # a stable sort keeps the order of same-day events up to t (the later row gives the last score)
    altered = pd.concat([frame[~after], late, new], ignore_index=True)
    return altered.sort_values("visited", kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("with_customers", [False, True])
def test_no_feature_at_t_uses_an_event_after_t(with_customers):
    """The leakage test: change every event after t (drop, move, re-price, retype, flip its flags and
    scores, add) and no feature at any cut-off up to t changes, while the labels do."""
    original = make_log(customers=400, seed=3, extras=True)
    log = read_events(original)
    all_cuts = cutoffs(log).dates
    t = all_cuts[len(all_cuts) // 2]
    altered = _alter_after(original, t, seed=4)
    altered_log = read_events(altered)
    assert altered_log.roles == log.roles
    if with_customers:
        table = pd.DataFrame({"member": sorted(set(original["member"])), "model": "X1",
                              "bought": pd.Timestamp("2020-05-01")})
        log, altered_log = attach_customers(log, table), attach_customers(altered_log, table)
    up_to_t = [c for c in all_cuts if c <= t]
    before = label_and_features(log, cutoffs=up_to_t)
    after = label_and_features(altered_log, cutoffs=up_to_t)
    assert len(before.frame) > 1000
    assert {"spend_trend_ratio", "complaint_365d", "nps_last", "nps_mean_365d", "first_time_fix_365d",
            "first_time_fix_false_365d"} <= set(before.feature_names)
    assert before.frame["nps_last"].notna().any() and before.frame["first_time_fix_false_365d"].gt(0).any()
    pd.testing.assert_frame_equal(before.features(), after.features())
    pd.testing.assert_frame_equal(before.lapsed, after.lapsed)
    at_t = before.frame["cutoff"] == t
    assert not before.frame.loc[at_t, "churned"].equals(after.frame.loc[at_t, "churned"])
    # and the full run, on the default cut-offs, agrees with it at t
    full = label_and_features(log).features()
    pd.testing.assert_frame_equal(full[full["cutoff"] == t].reset_index(drop=True),
                                  before.features()[at_t].reset_index(drop=True))


EXTRA = pd.DataFrame([  # t = 2023-06-30: (t - 365, t] = 2022-07-01 .. 2023-06-30; the 90 days before: age 90-179
    ("A", "2022-05-01", 100.0, False, 3.0, None, "no"),  # older than 365 days
    ("A", "2023-01-15", 40.0, True, np.nan, False, "yes"),  # age 166: the 90 days before the last 90
    ("A", "2023-04-20", 30.0, True, 9.0, True, "yes"),  # age 71
    ("A", "2023-06-30", 20.0, False, np.nan, False, "no"),  # on t: counts
    ("A", "2023-07-05", 999.0, True, 0.0, False, "yes"),  # after t: never counts
    ("B", "2023-06-01", 10.0, False, 7.0, None, "no"),
    ("B", "2023-06-01", -10.0, False, 5.0, None, "no"),  # same day, later row: the last score
    ("C", "2021-01-01", 10.0, False, 4.0, None, "no"),  # the last score, 2.5 years before t
    ("C", "2023-03-01", -5.0, False, np.nan, None, "no"),  # age 121: the earlier 90 days spent -5
    ("C", "2023-05-01", 10.0, False, np.nan, None, "no"),
], columns=["customer", "date", "amount", "complaint", "nps", "fix", "callback"])


def test_extra_columns_become_as_of_features():
    log = read_events(EXTRA.assign(kind="maintenance"), id="customer", time="date", amount="amount", type="kind")
    assert log.roles.others == ("complaint", "nps", "fix", "callback")
    result = label_and_features(log, cutoffs=[T])
    frame = result.frame.set_index("customer_id")
    names = set(result.feature_names)
    assert {"complaint_365d", "nps_last", "nps_mean_365d", "fix_365d", "fix_false_365d", "callback_365d"} <= names
    assert not names & {"complaint_false_365d", "callback_false_365d", "nps_365d"}  # no missing flags; nps is a score
    expected = {  # customer: complaint, fix true, fix false, callback yes, nps last, nps mean, spend trend ratio
        "A": (2, 1, 2, 2, 9.0, 9.0, 50 / 40),
        "B": (0, 0, 0, 0, 5.0, 6.0, np.nan),
        "C": (0, 0, 0, 0, 4.0, np.nan, np.nan),  # spend before the last 90 days is -5: no ratio
    }
    columns = ["complaint_365d", "fix_365d", "fix_false_365d", "callback_365d", "nps_last", "nps_mean_365d",
               "spend_trend_ratio"]
    got = frame.loc[list(expected), columns]
    pd.testing.assert_frame_equal(got, pd.DataFrame(expected.values(), index=got.index, columns=columns,
                                                    dtype=np.float32))  # features are float32
    assert frame.loc["C", "spend_90d"] == 10 and frame.loc["C", "spend_trend"] == 15
    later = label_and_features(log, cutoffs=["2023-07-31"]).frame.set_index("customer_id")
    assert later.loc["A", "nps_last"] == 0 and later.loc["A", "complaint_365d"] == 3  # the July visit counts now


def test_a_numeric_zero_one_column_counts_like_a_flag():
    frame = EXTRA[["customer", "date", "amount"]].assign(callback=(EXTRA["callback"] == "yes").astype(int))
    result = label_and_features(read_events(frame, id="customer", time="date", amount="amount"), cutoffs=[T])
    assert "callback_last" not in result.feature_names
    assert dict(result.frame.set_index("customer_id")["callback_365d"]) == {"A": 2, "B": 0, "C": 0}


def test_fifty_thousand_events_at_twelve_cutoffs_run_quickly():
    frame = make_log(customers=5000, days=1100, seed=7, rate=0.012)
    frame = frame.iloc[:50_000] if len(frame) > 50_000 else frame
    log = read_events(frame)
    dates = cutoffs(log).dates[-12:]
    assert len(dates) == 12 and len(frame) > 40_000
    started = time.perf_counter()
    result = label_and_features(log, cutoffs=dates)
    elapsed = time.perf_counter() - started
    assert result.population["eligible"].gt(0).all() and len(result.frame) == result.population["eligible"].sum()
    assert elapsed < 20, f"{elapsed:.1f} s"


def test_iso_times_with_utc_offsets_keep_their_local_date():
    parsed, fmt, _ = parse_times(pd.Series(["2023-01-05T23:30:00+08:00", "2023-01-06T10:00:00Z", None]))
    assert fmt == "iso" and list(parsed[:2]) == [pd.Timestamp("2023-01-05 23:30"), pd.Timestamp("2023-01-06 10:00")]
    assert pd.isna(parsed[2])


def test_a_parquet_log_and_its_customer_table_are_read_and_joined_by_id():
    import io

    buffer = io.BytesIO()
    make_log(customers=40).to_parquet(buffer)
    customers = pd.DataFrame({"region": ["N"] * 40, "owner": [f"C{i:05d}" for i in range(40)],
                              "bought": pd.date_range("2020-01-01", periods=40, freq="D")})
    log = read_events(buffer.getvalue(), filename="visits.parquet", customers=customers)
    assert log.roles.id == "member" and log.roles.customer_id == "owner"  # found by the ids it holds
    assert list(log.customers.columns) == ["customer_id", "region", "bought"]
    assert pd.api.types.is_datetime64_any_dtype(log.customers["bought"])
    with pytest.raises(SchemaError, match="No column of the customer table holds") as err:
        attach_customers(log, pd.DataFrame({"x": ["zz", "yy"]}))
    assert err.value.code == "no_customer_id"


def test_the_suggested_window_fits_the_rhythm_of_visits():
    """Services every ~165 days: H = 120 labels customers who still come as churned and recency ranks that
    label like chance; the suggested window (the 95th percentile gap, in whole months) makes recency a driver."""
    from sklearn.metrics import roc_auc_score

    import churn_core as cc

    demo = cc.generate_visits(3_000, seed=7)
    log = cc.read_events(demo.visits, id="customer_id", time="visit_date", amount="amount_cny", type="visit_type")
    suggestion = cc.suggest_window(log)
    assert suggestion.median_gap_days < suggestion.gap_quantile_days <= suggestion.window.window_days
    assert 180 <= suggestion.window.window_days <= 360  # services every ~165 days, other visits between them
    assert suggestion.window.window_days % 30 == 0
    assert suggestion.window.lookback_days == cc.EventWindow().lookback_days  # only H is fitted

    def recency_auc(window) -> float:
        frame = cc.label_and_features(log, window=window).frame
        frame = frame[frame["labelled"] & frame["days_since_last_visit"].notna()]
        return roc_auc_score(frame["churned"].astype(int), frame["days_since_last_visit"])

    assert recency_auc(cc.EventWindow()) < 0.6 < 0.7 < recency_auc(suggestion.window)
    assert suggestion.to_frame().loc[0, "window_days"] == suggestion.window.window_days


def test_a_log_without_repeat_visits_cannot_suggest_a_window():
    import churn_core as cc

    once = pd.DataFrame({"customer": [f"C{i}" for i in range(50)],
                         "when": pd.date_range("2024-01-01", periods=50, freq="D"), "paid": 10.0})
    log = cc.read_events(once, id="customer", time="when", amount="paid")
    with pytest.raises(cc.SchemaError, match="No customer in the event log has two visits"):
        cc.suggest_window(log)
    with pytest.raises(cc.ParameterError, match="'quantile' parameter of suggest_window"):
        cc.suggest_window(log, quantile=1.5)
