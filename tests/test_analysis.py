"""churn_core.analysis: the published report's figures, the threshold rule, and every result type."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import churn_core as cc
from churn_core._stats import wilson_interval
from tests.conftest import NAIVE_BAYES, credit_cards, ibm_customers

REPORT_ROWS, REPORT_CHURNERS = 4250, 598


def dataset_from(frame: pd.DataFrame, **options) -> cc.Dataset:
    return cc.load_dataset(frame.to_csv(index=False).encode(), filename="frame.csv", **options)


SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REPORT_TRAIN = SHARED / "telecom_churn_report_train.csv"


@pytest.fixture(scope="module")
def report() -> cc.Dataset:
    if not REPORT_TRAIN.is_file():
        pytest.skip("../shared/data/telecom_churn_report_train.csv is absent: the report-reproduction tests "
                    "need the shared data folder beside the repo")
    return cc.load_dataset(REPORT_TRAIN)


@pytest.fixture(scope="module")
def raw_report(report) -> pd.DataFrame:
    """The report file read plainly with pandas: the independent reference."""
    frame = pd.read_csv(REPORT_TRAIN)
    frame["y"] = (frame["churn"] == "yes").astype(int)
    return frame


# -- the published report ------------------------------------------------------------------------

def test_report_overall_churn_is_598_of_4250(report):
    o = cc.overall_churn(report)
    assert (o.customers, o.churners) == (REPORT_ROWS, REPORT_CHURNERS)
    assert round(o.churn_rate * 100, 2) == 14.07


@pytest.mark.parametrize(("column", "value", "expected"), [
    pytest.param("international_plan", "yes", 42.17, id="international-plan-yes"),
    pytest.param("voice_mail_plan", "yes", 7.37, id="voice-mail-yes"),
    pytest.param("voice_mail_plan", "no", 16.44, id="voice-mail-no"),
])
def test_report_plan_churn_rates(report, column, value, expected):
    table = cc.churn_by_category(report, column=column).table.set_index("value")
    assert round(table.at[value, "churn_rate"] * 100, 2) == expected


def test_report_service_call_threshold_is_4(report, raw_report):
    result = cc.threshold_analysis(report)
    calls = raw_report["number_customer_service_calls"]
    assert result.column == "number_customer_service_calls"
    assert result.threshold == 4
    assert result.rate_at_or_above == pytest.approx(raw_report.loc[calls >= 4, "y"].mean())  # 170/335
    assert result.rate_below == pytest.approx(raw_report.loc[calls < 4, "y"].mean())
    assert round(result.rate_at_or_above * 100, 2) == 50.75
    assert round(result.rate_below * 100, 2) == 10.93
    assert result.customers_at_or_above == 335
    levels = result.levels.set_index("value")
    assert levels.at[4, "customers"] == 209 and round(levels.at[4, "churn_rate"] * 100, 2) == 44.02


def test_report_crosstab_plans_matches_pandas(report, raw_report):
    xt = cc.cross_tab(report, rows="international_plan", columns="voice_mail_plan")
    expected = raw_report.pivot_table(index="international_plan", columns="voice_mail_plan", values="y",
                                      aggfunc="mean")
    pd.testing.assert_frame_equal(xt.matrix().rename_axis(index=None, columns=None),
                                  expected.rename_axis(index=None, columns=None), check_dtype=False)
    assert round(xt.matrix().at["yes", "no"] * 100, 2) == 45.55
    assert xt.matrix("customers").to_numpy().sum() == REPORT_ROWS


def test_report_correlations_match_pandas(report, raw_report):
    ranking = cc.driver_ranking(report).table.set_index("column")
    numeric = raw_report.select_dtypes("number").drop(columns="y")
    expected = numeric.corrwith(raw_report["y"])
    for column, r in expected.items():
        assert ranking.at[column, "correlation"] == pytest.approx(r, abs=1e-9), column
    assert round(ranking.at["number_customer_service_calls", "correlation"], 4) == 0.2212
    assert round(ranking.at["total_day_minutes", "correlation"], 4) == 0.2153
    intl = (raw_report["international_plan"] == "yes").astype(int)
    assert ranking.at["international_plan", "correlation"] == pytest.approx(intl.corr(raw_report["y"]))
    assert ranking.index[0] == "international_plan"
    assert cc.driver_ranking(report).excluded == ()


def test_report_segments_match_their_rules(report, raw_report):
    table = cc.segment_churn(report).table.set_index("key")
    calls, intl = raw_report["number_customer_service_calls"], raw_report["international_plan"] == "yes"
    rules = {"dual_high_risk": intl & (calls >= 3), "repeated_complaints": calls >= 3,
             "heavy_day_users": raw_report["total_day_charge"] > 40, "international_plan": intl}
    for key, mask in rules.items():
        assert table.at[key, "customers"] == mask.sum(), key
        assert table.at[key, "churn_rate"] == pytest.approx(raw_report.loc[mask, "y"].mean()), key
    assert (table.at["dual_high_risk", "customers"], round(table.at["dual_high_risk", "churn_rate"] * 100, 2)) \
        == (86, 53.49)


def test_analysis_ignores_column_names(report, raw_report):
    """The same data under other names (Chinese included) gives the same figures."""
    renamed = raw_report.drop(columns="y").rename(columns={
        "international_plan": "Intl Plan", "voice_mail_plan": "VMail Plan", "churn": "Churn?",
        "number_customer_service_calls": "CustServ Calls", "account_length": "在网时长",
        "total_day_charge": "Day Charge"})
    other = dataset_from(renamed)
    assert other.roles.service_calls == "CustServ Calls" and other.roles.tenure == "在网时长"
    assert cc.overall_churn(other).churn_rate == pytest.approx(cc.overall_churn(report).churn_rate)
    assert cc.threshold_analysis(other).threshold == 4
    seg = cc.segment_churn(other).table.set_index("key")
    assert seg.at["dual_high_risk", "customers"] == 86
    assert seg.at["heavy_day_users", "customers"] == (raw_report["total_day_charge"] > 40).sum()


# -- intervals and the threshold rule ---------------------------------------------------------------

@pytest.mark.parametrize(("k", "n", "low", "high"), [
    pytest.param(0, 10, 0.0, 0.2775, id="zero-of-ten"),
    pytest.param(5, 10, 0.2366, 0.7634, id="half-of-ten"),
    pytest.param(598, 4250, 0.1306, 0.1515, id="report-overall"),
])
def test_wilson_interval_textbook_values(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert (round(float(lo), 4), round(float(hi), 4)) == (low, high)


def _step_data(jump_at: int, n: int = 6000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    calls = rng.integers(0, 9, n)
    p = np.where(calls >= jump_at, 0.6, 0.1)
    return pd.DataFrame({"support_calls": calls, "plan": rng.choice(["yes", "no"], n),
                         "churn": np.where(rng.random(n) < p, "yes", "no")})


@pytest.mark.parametrize("jump_at", [2, 5, 7], ids=lambda j: f"jump-at-{j}")
def test_threshold_finds_the_planted_jump(jump_at):
    result = cc.threshold_analysis(dataset_from(_step_data(jump_at)))
    assert result.threshold == jump_at
    assert result.rate_at_or_above == pytest.approx(0.6, abs=0.05)
    assert result.lift > 4


def test_threshold_none_when_churn_is_flat():
    frame = _step_data(99)
    result = cc.threshold_analysis(dataset_from(frame))
    assert result.threshold is None and result.rate_below is None and result.lift is None
    assert result.levels["customers"].sum() == len(frame)


def test_threshold_needs_support_on_both_sides():
    """A tiny extreme tail (8 customers, all churned) must not be chosen over the real jump."""
    frame = _step_data(4, n=3000)
    tail = pd.DataFrame({"support_calls": [20] * 8, "plan": "no", "churn": "yes"})
    result = cc.threshold_analysis(dataset_from(pd.concat([frame, tail])), min_support=30)
    assert result.threshold == 4
    assert bool(result.levels.set_index("value").at[20, "small"])


def test_threshold_bins_many_valued_columns(report):
    result = cc.threshold_analysis(report, column="total_day_charge")
    assert result.binned and len(result.levels) == 10
    assert result.threshold is not None and result.threshold > 35
    assert result.levels["customers"].sum() == REPORT_ROWS


def test_threshold_without_service_calls_names_the_role():
    frame = pd.DataFrame({"plan": ["yes", "no"] * 50, "churn": ["yes", "no", "no", "no"] * 25})
    with pytest.raises(cc.SchemaError, match="service-call count column, and none was detected.*Map one"):
        cc.threshold_analysis(dataset_from(frame))


# -- categories, bands, cross tabs, tiers ------------------------------------------------------------

def test_category_small_groups_and_missing_values_are_shown():
    frame = pd.DataFrame({"region": ["north"] * 200 + ["south"] * 10 + [None] * 40,
                          "churn": (["yes"] + ["no"] * 4) * 50})
    table = cc.churn_by_category(dataset_from(frame), column="region", min_group=30).table.set_index("value")
    assert list(table.index) == ["north", "south", "(missing)"]
    assert table["customers"].sum() == 250
    assert bool(table.at["south", "small"]) and not bool(table.at["north", "small"])
    assert table.at["north", "lift"] == pytest.approx(table.at["north", "churn_rate"] / 0.2)


def test_category_rejects_bad_options(report):
    with pytest.raises(cc.ParameterError, match="'min_group' parameter of churn_by_category.*Got 0"):
        cc.churn_by_category(report, column="state", min_group=0)
    with pytest.raises(cc.SchemaError, match="'nope' is not in the dataset.*Pick one"):
        cc.churn_by_category(report, column="nope")
    with pytest.raises(cc.ParameterError, match="is the target"):
        cc.churn_by_category(report, column="churn")


def test_tenure_bands_default_and_custom_edges(report, raw_report):
    bands = cc.tenure_bands(report)
    assert bands.column == "account_length"
    assert list(bands.table["band"]) == ["0–49", "50–99", "100–149", "150–199", "200–249"]
    assert bands.table["customers"].sum() == REPORT_ROWS
    custom = cc.tenure_bands(report, edges=[0, 100]).table
    assert list(custom["band"]) == ["0–99", "100+"]
    below = raw_report["account_length"] < 100
    assert custom["churn_rate"].iloc[0] == pytest.approx(raw_report.loc[below, "y"].mean())
    with pytest.raises(cc.ParameterError, match="needs at least 2 values"):
        cc.tenure_bands(report, edges=[5])


def test_month_tenure_gets_yearly_bands():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"tenure": rng.integers(0, 73, 500), "churn": rng.choice(["Yes", "No"], 500)})
    bands = cc.tenure_bands(dataset_from(frame))
    assert bands.edges[:4] == (0.0, 6.0, 12.0, 24.0)


def test_crosstab_bins_numeric_columns(report):
    xt = cc.cross_tab(report, rows="total_day_charge", columns="international_plan")
    assert len(xt.rows) == 4 and xt.columns == ("no", "yes")
    assert xt.cells["customers"].sum() == REPORT_ROWS
    assert xt.contrast().high.endswith("× international_plan=yes")


def test_value_tiers_top_fifth(report, raw_report):
    tiers = cc.value_tiers(report)
    value = raw_report.filter(like="_charge").sum(axis=1)
    top = value >= value.quantile(0.8)
    assert tiers.table.set_index("tier").at["top", "customers"] == top.sum()
    assert tiers.top_rate == pytest.approx(raw_report.loc[top, "y"].mean())
    assert tiers.rest_rate == pytest.approx(raw_report.loc[~top, "y"].mean())
    assert tiers.top_rate > 2 * tiers.rest_rate
    with pytest.raises(cc.ParameterError, match=r"'top_share' parameter of value_tiers must be in \(0, 1\)"):
        cc.value_tiers(report, top_share=1.5)


def test_segments_skip_rules_the_dataset_cannot_evaluate():
    frame = pd.DataFrame({"support_calls": [0, 1, 3, 5] * 30, "churn": ["no", "no", "yes", "yes"] * 30})
    result = cc.segment_churn(dataset_from(frame))
    assert list(result.table["key"]) == ["repeated_complaints"]
    assert {key for key, _ in result.skipped} == {"dual_high_risk", "heavy_day_users", "international_plan"}


def test_custom_segment_declared_as_data(report, raw_report):
    rule = cc.Segment("long_timers", "Long timers", (cc.Clause("@tenure", ">=", 200),), 1)
    table = cc.segment_churn(report, segments=(rule,)).table
    assert table.at[0, "customers"] == (raw_report["account_length"] >= 200).sum()


def test_describe_is_json_ready(report):
    desc = cc.describe(report, crosstab=("international_plan", "voice_mail_plan"))
    data = json.loads(json.dumps(desc.to_dict(), allow_nan=False))
    assert data["overall"]["churners"] == REPORT_CHURNERS
    assert set(data) >= {"overall", "by_category", "thresholds", "bands", "drivers", "segments", "crosstab"}
    assert data["thresholds"]["number_customer_service_calls"]["threshold"] == 4
    assert {"value", "customers", "churners", "churn_rate", "ci_low", "ci_high"} <= set(
        data["by_category"]["international_plan"][0])
    assert len(data["crosstab"]["cells"]) == 4


def test_results_are_frozen_with_frames(report):
    result = cc.churn_by_category(report, column="international_plan")
    with pytest.raises(AttributeError, match="cannot assign"):
        result.column = "other"
    frame = result.to_frame()
    frame.loc[0, "customers"] = -1
    assert result.table.loc[0, "customers"] != -1


# -- leakage and row numbers stay out of the rankings -------------------------------------------------

def test_driver_ranking_leaves_leakage_out_and_names_it():
    cards = credit_cards()
    dataset = dataset_from(cards)
    ranking = cc.driver_ranking(dataset)
    assert dataset.report.leakage == NAIVE_BAYES
    assert ranking.excluded == NAIVE_BAYES
    assert not set(NAIVE_BAYES) & set(ranking.table["column"])
    assert ranking.table.at[0, "column"] == "Total_Trans_Ct"
    clean = cc.driver_ranking(dataset_from(cards.drop(columns=list(NAIVE_BAYES))))
    pd.testing.assert_frame_equal(ranking.table, clean.table)
    assert clean.excluded == ()


def test_driver_ranking_trusts_the_report():
    """Without a validation report nothing is known to leak: the model's output then tops the ranking."""
    dataset = dataclasses.replace(dataset_from(credit_cards()), report=None)
    ranking = cc.driver_ranking(dataset)
    assert ranking.excluded == ()
    assert set(ranking.table["column"].head(2)) == set(NAIVE_BAYES)
    assert ranking.table["correlation"].abs().head(2).round(3).tolist() == [1.0, 1.0]


def test_describe_leaves_leakage_out_of_the_breakdowns():
    cards = credit_cards()
    attrited = cards["Attrition_Flag"].eq("Attrited Customer")
    cards["account_closed"] = np.where(attrited, "yes", "no")
    cards["exit_calls"] = np.where(attrited, 3 + cards.index % 3, cards.index % 3)  # a count, 0..5
    dataset = dataset_from(cards)
    desc = cc.describe(dataset)
    assert set(dataset.report.leakage) == {*NAIVE_BAYES, "account_closed", "exit_calls"}
    assert "account_closed" in dataset.roles.plan_flags and "exit_calls" in dataset.roles.numeric
    assert "account_closed" not in desc.by_category and "Card_Category" in desc.by_category
    assert cc.count_columns(dataset) == ("Months_Inactive_12_mon",)
    assert set(desc.thresholds) == {"Months_Inactive_12_mon"}
    assert desc.drivers.excluded == (*NAIVE_BAYES, "exit_calls", "account_closed")  # numeric, then flags


def test_bank_ranking_has_credit_score_and_no_row_number(bank):
    dataset = dataset_from(bank)
    ranked = set(cc.driver_ranking(dataset).table["column"])
    assert "CreditScore" in ranked and "Age" in ranked
    assert not {"RowNumber", "CustomerId"} & ranked
    assert "RowNumber" not in cc.describe(dataset).by_category


# -- the ranking covers every column kind on one scale -------------------------------------------------------

def test_ibm_like_ranking_puts_contract_first_among_all_kinds():
    frame = ibm_customers()
    ranking = cc.driver_ranking(dataset_from(frame)).table.set_index("column")
    assert ranking.index[0] == "Contract"
    assert ranking.at["Contract", "kind"] == "categorical"
    assert ranking.at["Contract", "top_level"] == "Month-to-month"
    assert {"InternetService", "PaymentMethod", "tenure", "MonthlyCharges", "SeniorCitizen", "Partner"} \
        <= set(ranking.index)
    assert list(ranking.index).index("Contract") < list(ranking.index).index("SeniorCitizen")
    assert ranking.at["tenure", "direction"] == "lower"  # longer tenure, less churn
    by_auc = cc.driver_ranking(dataset_from(frame), sort_by="auc").table
    assert by_auc.at[0, "column"] == "Contract"
    assert by_auc["auc"].is_monotonic_decreasing and (by_auc["auc"] >= 0.5).all()


def test_ranking_auc_matches_a_direct_computation():
    frame = ibm_customers()
    dataset = dataset_from(frame)
    ranking = cc.driver_ranking(dataset).table.set_index("column")
    y = (frame["Churn"] == "Yes").astype(int)
    auc = roc_auc_score(y, frame["tenure"])
    assert ranking.at["tenure", "auc"] == pytest.approx(max(auc, 1 - auc))
    assert ranking.at["tenure", "correlation"] == pytest.approx(frame["tenure"].corr(y))
    assert np.isnan(ranking.at["Contract", "effect_size"])


def test_many_level_noise_is_not_flattered():
    """A column with a level per 30 customers separates churn in sample; out of fold it is worth nothing."""
    frame = ibm_customers()
    frame["voucher"] = [f"V{i}" for i in np.random.default_rng(2).integers(0, 100, len(frame))]
    dataset = dataset_from(frame)
    assert "voucher" in dataset.roles.categorical
    y = (frame["Churn"] == "Yes").astype(int)
    in_sample = y.groupby(frame["voucher"]).transform("mean")

    assert roc_auc_score(y, in_sample) > 0.59
    ranking = cc.driver_ranking(dataset).table.set_index("column")
    assert ranking.at["voucher", "auc"] < 0.55
    assert list(ranking.index).index("voucher") > list(ranking.index).index("PaymentMethod")


def test_bank_ranking_puts_age_first_and_includes_categoricals(bank):
    ranking = cc.driver_ranking(dataset_from(bank)).table
    assert ranking.at[0, "column"] == "Age"
    assert {"Geography", "Gender"} <= set(ranking["column"])
    assert set(ranking.loc[ranking["column"].isin(["Geography", "Gender"]), "kind"]) == {"categorical"}


def test_driver_ranking_rejects_an_unknown_sort(report):
    with pytest.raises(cc.ParameterError, match="'sort_by' parameter of driver_ranking.*Got 'gini'"):
        cc.driver_ranking(report, sort_by="gini")


# -- what the overview highlights, and tenure in its own unit ------------------------------------------------

def test_describe_highlights_the_strongest_drivers_of_every_kind(bank):
    ibm = cc.describe(dataset_from(ibm_customers()))
    assert ibm.highlights.categories[0] == "Contract"
    assert "SeniorCitizen" not in ibm.highlights.categories  # too weak to chart
    assert "Contract" in ibm.by_category
    bank_desc = cc.describe(dataset_from(bank))
    assert bank_desc.highlights.curves == ("Age", "CreditScore")  # one category leaves room for two curves
    assert bank_desc.curves["Age"].column == "Age"
    assert bank_desc.highlights.categories == ("IsActiveMember",)


def test_highlighted_curves_skip_a_twin_of_one_already_shown():
    """The transaction amount ranks second but moves with the count ranked first: the next distinct
    driver is charted instead. Without the frame (no correlations), the twin is kept."""
    from tests.conftest import bank_churners

    dataset = dataset_from(bank_churners())
    assert cc.describe(dataset).highlights.curves == ("Total_Trans_Ct", "Contacts_Count_12_mon")
    ranking = cc.driver_ranking(dataset)
    assert cc.strongest_drivers(ranking, roles=dataset.roles).curves == ("Total_Trans_Ct", "Total_Trans_Amt")
    assert cc.strongest_drivers(ranking, roles=dataset.roles, curves=1, frame=dataset.frame).curves == (
        "Total_Trans_Ct",)


def test_describe_highlights_keep_the_report_sections(report):
    highlights = cc.describe(report).highlights
    assert highlights.categories == ("international_plan", "voice_mail_plan")
    assert highlights.curves == ("number_customer_service_calls",)


@pytest.mark.parametrize(("values", "column", "unit"), [
    pytest.param(range(0, 11), "Tenure", "years", id="bank-years"),
    pytest.param(range(0, 73), "tenure", "months", id="telco-months"),
    pytest.param(range(1, 244), "account_length", None, id="report-unknown"),
    pytest.param([0.5, 1.5, 3.25], "Tenure", "months", id="fractional-not-years"),
])
def test_tenure_unit_is_read_from_the_values(values, column, unit):
    assert cc.tenure_unit(pd.Series(list(values), dtype=float), column=column) == unit


def test_year_tenure_gets_year_bands_and_the_unit_can_be_overridden(bank):
    dataset = dataset_from(bank)
    bands = cc.tenure_bands(dataset)
    assert bands.unit == "years"
    assert list(bands.table["band"]) == ["0–1", "2–3", "4–5", "6–7", "8–9", "10+"]
    assert bands.table["customers"].sum() == len(bank)
    as_months = cc.tenure_bands(dataset, unit="months")
    assert as_months.unit == "months" and len(as_months.table) == 2  # what a months guess did to years
    assert cc.describe(dataset, tenure_unit="months").bands.unit == "months"
    with pytest.raises(cc.ParameterError, match="'unit' parameter of tenure_bands.*Got 'weeks'"):
        cc.tenure_bands(dataset, unit="weeks")
