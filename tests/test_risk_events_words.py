"""Reasons of visit-log customers worded from their own values (churn_core._event_words), in English and
Chinese: exact sentences for hand-made rows, the generic sentence where a value is missing, snapshot
reasons unchanged, and a scored visit log's call list and customer panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import churn_core as cc
from churn_core._event_words import event_kind
from churn_core._labels import reason_sentences
from churn_core.events.dataset import event_dataset
from churn_core.risk import in_words
from tests.conftest import copy_db

ROLES = cc.ColumnRoles(id="customer_id", tenure="tenure_days", service_calls="complaint_365d",
                       categorical=("lifecycle_stage", "region"),
                       numeric=("days_since_last_visit", "avg_gap_days", "overdue_ratio", "visits_90d", "visits_180d",
                                "visits_365d", "spend_90d", "spend_180d", "spend_365d", "complaint_365d"))
# one customer's as-of row: the columns a sentence takes beside its reason's own value
ROW = {"days_since_last_visit": 142.0, "avg_gap_days": 61.7, "overdue_ratio": 142 / 61.7, "visits_90d": 1.0,
       "visits_180d": 3.0, "visits_365d": 3.0, "spend_90d": 400.0, "spend_180d": 1400.0, "spend_365d": 2300.0}


def sentence(source, value, points, *, lang, row=None, currency="¥", quantile=None):
    frame = pd.DataFrame([{**ROW, **(row or {})}])
    return reason_sentences(pd.Series([source]), pd.Series([value], dtype=object), np.array([points]), roles=ROLES,
                            lang=lang, frame=frame, rows=np.array([0]), currency=currency,
                            quantiles=None if quantile is None else np.array([quantile]))[0]


CASES = [  # source, value, points, other columns of the row, English, Chinese
    ("days_since_last_visit", "142", 0.04, {}, "No visit for 142 days, 2.3× their usual gap (+4 pts)",
     "已 142 天未到店，是其平常间隔的 2.3 倍（+4 个百分点）"),
    ("days_since_last_visit", "142", 0.04, {"avg_gap_days": np.nan, "overdue_ratio": np.nan},
     "No visit for 142 days (+4 pts)", "已 142 天未到店（+4 个百分点）"),
    ("days_since_last_visit",
     "12", -0.03, {"days_since_last_visit": 12.0, "overdue_ratio": 12 / 30, "avg_gap_days": 30},
     "Last visit 12 days ago, 0.4× their usual gap (−3 pts)",
     "最近一次到店在 12 天前，是其平常间隔的 0.4 倍（−3 个百分点）"),
    ("overdue_ratio", "2.3", 0.05, {}, "No visit for 142 days, 2.3× their usual gap (+5 pts)",
     "已 142 天未到店，是其平常间隔的 2.3 倍（+5 个百分点）"),
    ("avg_gap_days", "61.7", 0.06, {}, "No visit for 142 days, their usual gap is 62 days (+6 pts)",
     "已 142 天未到店，其平常间隔为 62 天（+6 个百分点）"),
    ("visits_trend_ratio", "0.4", 0.03, {"visits_90d": 2.0, "visits_180d": 7.0},
     "Visits down 60% on the previous quarter (+3 pts)", "到店次数比上一季度减少 60%（+3 个百分点）"),
    ("visits_trend_ratio", "1.5", -0.02, {"visits_90d": 3.0, "visits_180d": 5.0},
     "Visits up 50% on the previous quarter (−2 pts)", "到店次数比上一季度增加 50%（−2 个百分点）"),
    ("visits_trend", "-2", 0.05, {"visits_90d": 0.0, "visits_180d": 2.0},
     "No visit this quarter after 2 the quarter before (+5 pts)", "本季度未到店，上一季度到店 2 次（+5 个百分点）"),
    ("visits_trend", "1", -0.01, {"visits_90d": 1.0, "visits_180d": 1.0},
     "1 visit this quarter after none the quarter before (−1 pts)", "本季度到店 1 次，上一季度未到店（−1 个百分点）"),
    ("visits_trend", "3", -0.01, {"visits_90d": 3.0, "visits_180d": 3.0},
     "3 visits this quarter after none the quarter before (−1 pts)", "本季度到店 3 次，上一季度未到店（−1 个百分点）"),
    ("visits_trend_ratio", "0.5", 0.01, {"visits_90d": np.nan}, "Visits down 50% on the previous quarter (+1 pts)",
     "到店次数比上一季度减少 50%（+1 个百分点）"),
    ("spend_trend", "-600", 0.04, {}, "Spend down 60% on the previous quarter (+4 pts)",
     "消费比上一季度减少 60%（+4 个百分点）"),
    ("spend_trend_ratio", "0", 0.04, {"spend_90d": 0.0, "spend_180d": 813.53},
     "No spend this quarter after ¥814 the quarter before (+4 pts)", "本季度无消费，上一季度消费 ¥814（+4 个百分点）"),
    ("visits_365d", "3", 0.02, {}, "3 visits in the last 12 months (+2 pts)", "近 12 个月到店 3 次（+2 个百分点）"),
    ("visits_90d", "1", 0.02, {}, "1 visit in the last 90 days (+2 pts)", "近 90 天到店 1 次（+2 个百分点）"),
    ("spend_365d", "2300", 0.03, {}, "Spent ¥2,300 in the last 12 months (+3 pts)",
     "近 12 个月消费 ¥2,300（+3 个百分点）"),
    ("spend_180d", "23456", -0.03, {}, "Spent ¥23.5K in the last 180 days (−3 pts)",
     "近 180 天消费 ¥2.35万（−3 个百分点）"),
    ("type_repair_12m", "2", 0.08, {}, "2 repair visits in the last 12 months (+8 pts)",
     "近 12 个月维修到店 2 次（+8 个百分点）"),
    ("type_maintenance_12m", "0", 0.15, {}, "No maintenance visit in the last 12 months (+15 pts)",
     "近 12 个月没有保养到店（+15 个百分点）"),
    ("type_body_shop_12m", "1", 0.01, {}, "1 body shop visit in the last 12 months (+1 pts)",
     "近 12 个月 body shop 到店 1 次（+1 个百分点）"),
    ("basic_share", "1", 0.04, {}, "Only basic services: 100% of visits (+4 pts)",
     "只做基础服务：占到店次数的 100%（+4 个百分点）"),
    ("basic_share", "0.45", -0.07, {}, "Basic services: 45% of visits (−7 pts)",
     "基础服务占到店次数的 45%（−7 个百分点）"),
    ("complaint_365d", "2", 0.09, {}, "2 complaints in the last 12 months (+9 pts)",
     "近 12 个月投诉 2 次（+9 个百分点）"),
    ("nps_last", "4", 0.06, {}, "Last NPS answer 4 (a detractor) (+6 pts)",
     "最近一次 NPS 评分 4（贬损者）（+6 个百分点）"),
    ("nps_last", "8", 0.01, {}, "Last NPS answer 8 (a passive) (+1 pts)",
     "最近一次 NPS 评分 8（中立者）（+1 个百分点）"),
    ("nps_last", "10", -0.04, {}, "Last NPS answer 10 (a promoter) (−4 pts)",
     "最近一次 NPS 评分 10（推荐者）（−4 个百分点）"),
    ("nps_mean_365d", "6.5", 0.02, {}, "Average NPS answer 6.5 in the last 12 months (+2 pts)",
     "近 12 个月 NPS 平均评分 6.5（+2 个百分点）"),
    ("first_time_fix_false_365d", "2", 0.07, {}, "2 repairs not fixed first time in the last 12 months (+7 pts)",
     "近 12 个月有 2 次维修未能一次修复（+7 个百分点）"),
    ("warranty_end_days", "-40", 0.05, {}, "Warranty ended 40 days ago (+5 pts)",
     "保修已于 40 天前到期（+5 个百分点）"),
    ("warranty_end_days", "20", -0.01, {}, "Warranty ends in 20 days (−1 pts)", "保修将于 20 天后到期（−1 个百分点）"),
    ("warranty_end_days", "1572", -0.02, {}, "Warranty ends in 4.3 years (−2 pts)",
     "保修将于 4.3 年后到期（−2 个百分点）"),
    ("purchase_date_days", "-840", 0.03, {}, "Bought 2.3 years ago (+3 pts)", "购买于 2.3 年前（+3 个百分点）"),
    ("tenure_days", "840", 0.07, {}, "A customer for 2.3 years (+7 pts)", "成为客户已 2.3 年（+7 个百分点）"),
    ("tenure_days", "184", 0.02, {}, "A customer for 184 days (+2 pts)", "成为客户已 184 天（+2 个百分点）"),
    ("lifecycle_stage", "mature", 0.02, {}, "Lifecycle stage: mature (18–36 months) (+2 pts)",
     "生命周期阶段：成熟期（18–36 个月）（+2 个百分点）"),
    ("returns_365d", "2.0", 0.05, {}, "2 returns in the last 12 months (+5 pts)", "近 12 个月退货 2 次（+5 个百分点）"),
    ("avg_ticket", "650", -0.05, {}, "Average ticket ¥650 (−5 pts)", "平均客单价 ¥650（−5 个百分点）"),
]


@pytest.mark.parametrize(("source", "value", "points", "row", "en", "zh"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_visit_log_reasons_are_worded_from_the_customers_values(source, value, points, row, en, zh):
    assert sentence(source, value, points, lang="en", row=row) == en
    assert sentence(source, value, points, lang="zh", row=row) == zh


def test_the_place_follows_only_a_sentence_about_the_sources_own_number():
    assert sentence("visits_365d", "3", 0.02, lang="en", quantile=0.04) == \
        "3 visits in the last 12 months — lowest 5% of customers (+2 pts)"
    assert sentence("days_since_last_visit", "142", 0.04, lang="zh", quantile=0.95) == \
        "已 142 天未到店，是其平常间隔的 2.3 倍，处于最高的 5%（+4 个百分点）"
    # the usual gap's place would read as the days since the last visit's: left out
    assert sentence("avg_gap_days", "61.7", 0.06, lang="en", quantile=0.95) == \
        "No visit for 142 days, their usual gap is 62 days (+6 pts)"


def test_amounts_without_a_currency_are_plain_numbers():
    assert sentence("spend_365d", "2300", 0.03, lang="en", currency="") == "Spent 2,300 in the last 12 months (+3 pts)"
    assert sentence("avg_ticket", "650", 0.01, lang="zh", currency="$") == "平均客单价 $650（+1 个百分点）"


@pytest.mark.parametrize(("source", "value", "row", "en"), [
    ("days_since_last_visit", "–", {"days_since_last_visit": np.nan}, "Days since last visit – (+4 pts)"),
    ("avg_gap_days", "–", {"avg_gap_days": np.nan}, "Avg gap days – (+4 pts)"),
    ("visits_trend", "–", {"visits_90d": np.nan}, "Visits trend – (+4 pts)"),
    ("nps_last", "–", {}, "Nps last – (+4 pts)"),
    ("lifecycle_stage", None, {}, "Lifecycle stage – (+4 pts)"),
    ("purchase_date_days", "30", {}, "Purchase date days 30 (+4 pts)"),  # a date after the as-of date
    ("complaint_365d", "–", {}, "– customer-service calls (+4 pts)"),
])
def test_missing_values_fall_back_to_the_generic_sentence(source, value, row, en):
    assert sentence(source, value, 0.04, lang="en", row=row) == en
    assert sentence(source, value, 0.04, lang="zh", row=row).endswith("（+4 个百分点）")


def test_without_the_customers_row_a_reason_uses_its_own_value():
    out = reason_sentences(pd.Series(["days_since_last_visit", "visits_365d", "visits_trend"]),
                           pd.Series(["142", "3", "-2"]), np.array([0.04, 0.02, 0.01]), roles=ROLES)
    assert out.tolist() == ["No visit for 142 days (+4 pts)", "3 visits in the last 12 months (+2 pts)",
                            "Visits trend -2 (+1 pts)"]


def test_snapshot_sources_are_not_event_features():
    for source in ("number_customer_service_calls", "account_length", "total_day_charge", "international_plan",
                   "state", "area_code", "tenure", "MonthlyCharges", "days"):
        assert event_kind(source) is None


@pytest.fixture(scope="module")
def snapshot(trained_template, tmp_path_factory):
    store = cc.Store(copy_db(trained_template, tmp_path_factory.mktemp("words")))
    return cc.score_dataset(store.load_dataset(), store=store)


def test_a_snapshots_reasons_are_unchanged(snapshot):
    """The telecom call list is worded as before: the customers' rows and a currency change nothing."""
    table = cc.filter_customers(snapshot).table(limit=300)
    words = in_words(snapshot, table, lang="en", currency="¥")
    for k in ("reason_1", "reason_2", "reason_3", "protective"):
        points = table[f"{k}_points" if k != "protective" else "protective_points"].to_numpy()
        value = table[f"{k}_value" if k != "protective" else "protective_value"]
        plain = reason_sentences(table[k], value, points, roles=snapshot.dataset.roles, lang="en")
        placed = words[k].str.replace(r" — [^(]+(?= \()", "", regex=True)  # in_words adds the place
        assert placed.tolist() == list(plain)
    assert words["reason_1"].str.contains("customer-service call|plan|charges", regex=True).any()


@pytest.fixture(scope="module")
def visits(tmp_path_factory):
    demo = cc.generate_visits(n_customers=1000, years=3, seed=7)
    log = cc.read_events(demo.visits, customers=demo.customers)
    store = cc.Store(tmp_path_factory.mktemp("visits") / "v.duckdb")
    version = store.save_events(event_dataset(log)).version
    cc.run_training(store, store.load_dataset(version), models=("xgboost",), promote=True)
    return store, cc.score_as_of(store, version)


EVENT_WORDS = r"^(?:No visit for|Last visit|\d+ \w+ visits? in the last|No \w+ visit in|Spent|No spend|Average " \
              r"ticket|A customer for|Warranty|Bought|Visits (?:up|down)|Basic services|Only basic|\d+ returns?)"


def test_a_scored_visit_logs_call_list_speaks_of_visits(visits):
    store, scored = visits
    assert scored.dataset.events is not None
    selection = cc.filter_customers(scored)
    en = cc.call_list(selection, limit=50, currency="¥")
    zh = cc.call_list(selection, limit=50, lang="zh", currency="¥")
    top = pd.concat([en[f"reason_{k}"] for k in (1, 2, 3)])
    assert top.str.contains(EVENT_WORDS, regex=True).mean() > 0.5, top.head(10).tolist()
    assert not top.str.contains(r"^(?:Days since last visit|Tenure days|Avg ticket|Type \w+ 12m) ", regex=True).any()
    assert (en["reason_1"].str.contains(r" \([+−][\d.]+ pts\)$")).all()
    zh_top = pd.concat([zh[f"reason_{k}"] for k in (1, 2, 3)])
    assert zh_top.str.contains("未到店|到店|消费|客单价|成为客户|保修|购买于").mean() > 0.5
    assert zh_top.str.contains("个百分点）$").all()
    # the sentence carries this customer's own number: the days since their last visit
    recency = en["reason_1"].str.extract(r"^No visit for (\d+) days")[0].dropna()
    if len(recency):
        rows = cc.filter_customers(scored).table(limit=50).loc[recency.index, "row"].to_numpy()
        days = scored.dataset.frame["days_since_last_visit"].to_numpy()[rows]
        assert recency.astype(int).tolist() == np.round(days).astype(int).tolist()


def test_a_visit_log_customers_panel_speaks_of_visits(visits):
    store, scored = visits
    entry = store.champion().entry
    model = cc.load_model(entry.artifact, sha256=entry.sha256)
    row = int(cc.filter_customers(scored).rows(limit=1)[0])
    profile = cc.customer_profile(scored, row, model=model)
    raising, lowering = cc.explanation_in_words(scored, row, profile.explanation, lang="en", currency="¥")
    assert any(__import__("re").match(EVENT_WORDS, s) for s in raising + lowering), raising + lowering
    zh_raising, _ = cc.explanation_in_words(scored, row, profile.explanation, lang="zh", currency="¥")
    assert len(zh_raising) == len(raising) and all(s.endswith("个百分点）") for s in zh_raising)
