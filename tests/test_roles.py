"""churn_core.roles: which column plays which role, detected from names and values, and overridable."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import churn_core as cc
from churn_core.roles import detect_positive_label, detect_target, id_kind, target_levels

CHARGES = ("total_day_charge", "total_eve_charge", "total_night_charge", "total_intl_charge")


def customers(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(n)],
        "plan": rng.choice(["basic", "plus", "premium"], n),
        "tenure_months": rng.integers(1, 72, n),
        "support_calls": rng.integers(0, 8, n),
        "monthly_fee": rng.uniform(10, 90, n).round(2),
        "status": rng.choice(["churned", "active"], n, p=[0.25, 0.75]),
    })


# -- the published report's files -------------------------------------------------------------------

def test_report_train_roles(report_train):
    roles = cc.detect_roles(cc.read_table(report_train).frame)
    assert (roles.target, roles.positive_label, roles.id) == ("churn", "yes", None)
    assert roles.plan_flags == ("international_plan", "voice_mail_plan")
    assert (roles.service_calls, roles.tenure, roles.state) == ("number_customer_service_calls", "account_length",
                                                                "state")
    assert roles.value == CHARGES
    assert roles.categorical == ("state", "area_code")
    assert roles.ignored == ()
    assert len(roles.numeric) == 15 and set(CHARGES) <= set(roles.numeric)


def test_report_test_file_has_an_id_and_no_target(report_test):
    frame = cc.read_table(report_test).frame
    roles = cc.detect_roles(frame)
    assert frame["id"].tolist() == list(range(1, 751))  # a row number, and named like an id: the id
    assert (roles.id, roles.target, roles.positive_label) == ("id", None, None)
    assert "id" not in roles.numeric and roles.ignored == ()
    assert roles.service_calls == "number_customer_service_calls"


def test_bundled_file_has_no_id_and_every_measure_is_a_feature():
    roles = cc.detect_roles(cc.read_table(cc.BUNDLED_CSV).frame)
    assert (roles.id, roles.ignored) == (None, ())
    assert len(roles.numeric) == 15 and roles.tenure == "account_length"  # whole numbers, but they repeat


# -- detection -------------------------------------------------------------------------------------

def test_generic_names_are_recognised():
    roles = cc.detect_roles(customers())
    assert (roles.target, roles.positive_label, roles.id) == ("status", "churned", "customer_id")
    assert (roles.tenure, roles.service_calls, roles.value) == ("tenure_months", "support_calls", ("monthly_fee",))
    assert roles.categorical == ("plan",)


def test_id_with_a_few_repeats_is_still_the_id():
    frame = customers()
    frame.loc[:2, "customer_id"] = "C00099"
    assert cc.detect_roles(frame).id == "customer_id"


def test_unnamed_unique_text_column_becomes_the_id():
    frame = customers().rename(columns={"customer_id": "reference"})
    assert cc.detect_roles(frame).id == "reference"


# -- ids decided by values ---------------------------------------------------------------------------

def test_bank_file_roles(bank):
    roles = cc.detect_roles(bank)
    assert (roles.target, roles.positive_label, roles.id) == ("Exited", "1", "CustomerId")
    assert "RowNumber" in roles.ignored  # a second id-like column: not a feature
    assert "RowNumber" not in (*roles.numeric, *roles.categorical, *roles.plan_flags)
    assert roles.numeric == ("CreditScore", "Age", "Tenure", "Balance", "NumOfProducts", "EstimatedSalary")
    assert roles.plan_flags == ("HasCrCard", "IsActiveMember")


@pytest.mark.parametrize("name", [pytest.param("RowNumber", id="RowNumber"), pytest.param("idx", id="idx"),
                                  pytest.param("Unnamed: 0", id="pandas-index"), pytest.param("序号", id="chinese"),
                                  pytest.param("calls", id="a-feature-name")])
@pytest.mark.parametrize("start", [pytest.param(0, id="from-0"), pytest.param(1, id="from-1")])
def test_row_numbers_are_never_features_whatever_their_name(name, start):
    frame = customers().drop(columns="customer_id")
    frame.insert(0, name, range(start, start + len(frame)))
    roles = cc.detect_roles(frame)
    assert roles.id == name  # no other id: the row number serves
    assert name not in roles.numeric
    with_id = cc.detect_roles(frame.assign(customer_id=customers()["customer_id"]))
    assert with_id.id == "customer_id"
    assert with_id.ignored == (name,)


@pytest.mark.parametrize(("values", "expected"), [
    pytest.param(np.arange(1, 121), "row_number", id="1-to-n"),
    pytest.param(np.arange(120).astype(float), "row_number", id="0-to-n-minus-1-as-floats"),
    pytest.param(np.arange(120).astype(str), "row_number", id="as-text"),
    pytest.param(np.random.default_rng(1).permutation(120), "id", id="shuffled-row-index"),
    pytest.param(np.sort(np.random.default_rng(1).choice(10**6, 120, replace=False)), "id", id="rising-sparse-keys"),
    pytest.param(15_565_701 + np.random.default_rng(1).choice(1_200, 120, replace=False), "id",
                 id="shuffled-8-digit-ids"),
    pytest.param(np.random.default_rng(1).choice(200_000, 120, replace=False), None, id="unique-wide-integers"),
    pytest.param(np.r_[np.arange(1, 120), 5], None, id="one-repeat"),
    pytest.param(np.r_[np.arange(1, 120), np.nan], None, id="one-missing"),
    pytest.param(np.arange(120) + 0.5, None, id="not-whole"),
    pytest.param(np.arange(1, 10), None, id="under-10-rows"),
])
def test_id_kind(values, expected):
    assert id_kind(pd.Series(values)) == expected


def test_unique_whole_number_feature_with_a_wide_range_stays_a_feature():
    """200 incomes drawn from 20,000..199,999 rarely repeat (about 0.1 expected pairs): no sign of an id."""
    frame = customers(200).assign(income=lambda f: np.random.default_rng(4).choice(180_000, len(f), replace=False)
                                  + 20_000)
    roles = cc.detect_roles(frame)
    assert "income" in roles.numeric and "income" not in roles.ignored


def test_unique_integers_without_an_id_name_become_the_id():
    frame = customers().drop(columns="customer_id")
    frame["kundennummer"] = 15_565_701 + np.random.default_rng(2).choice(1_200, len(frame), replace=False)
    roles = cc.detect_roles(frame)
    assert roles.id == "kundennummer" and roles.ignored == ()


def test_a_real_id_is_preferred_to_a_row_number():
    frame = customers().rename(columns={"customer_id": "reference"})
    frame.insert(0, "Unnamed: 0", range(len(frame)))
    roles = cc.detect_roles(frame)
    assert (roles.id, roles.ignored) == ("reference", ("Unnamed: 0",))


def test_state_needs_us_state_codes():
    frame = customers().assign(state=lambda f: np.where(f.index % 2, "CA", "NY"))
    assert cc.detect_roles(frame).state == "state"
    frame = customers().assign(state=lambda f: np.where(f.index % 2, "Bavaria", "Saxony"))
    assert cc.detect_roles(frame).state is None


def test_single_value_column_wins_over_charge_parts():
    frame = customers().assign(day_charge=1.0, night_charge=2.0, MonthlyCharges=3.0)
    assert cc.detect_roles(frame).value == ("MonthlyCharges",)


def test_empty_column_is_ignored():
    roles = cc.detect_roles(customers().assign(notes=np.nan))
    assert roles.ignored == ("notes",)
    assert "notes" not in roles.used_columns()


@pytest.mark.parametrize(("columns", "expected"), [
    pytest.param({"churn": ["yes", "no"]}, "churn", id="churn"),
    pytest.param({"Exited": [1, 0]}, "Exited", id="exited"),
    pytest.param({"Attrition_Flag": ["Attrited Customer", "Existing Customer"]}, "Attrition_Flag", id="attrition"),
    pytest.param({"是否流失": ["是", "否"]}, "是否流失", id="chinese"),
    pytest.param({"status": ["a", "b"], "churned": ["yes", "no"]}, "churned", id="churn-name-preferred"),
    pytest.param({"label": ["x", "y", "z"], "churn": ["yes", "no", "no"]}, "churn", id="two-valued-preferred"),
    pytest.param({"plan": ["a", "b"]}, None, id="none"),
])
def test_detect_target(columns, expected):
    frame = pd.DataFrame({k: (v * 10)[:30] for k, v in columns.items()})
    assert detect_target(frame) == expected


@pytest.mark.parametrize(("values", "expected"), [
    pytest.param(["yes", "no"], "yes", id="yes-no"),
    pytest.param(["Yes", "No"], "yes", id="capitalised"),
    pytest.param([True, False], "true", id="booleans"),
    pytest.param([1, 0], "1", id="ones-and-zeros"),
    pytest.param([1.0, 0.0], "1.0", id="float-codes"),
    pytest.param(["churned", "active"], "churned", id="churned-active"),
    pytest.param(["Attrited Customer", "Existing Customer"], "attrited customer", id="attrited"),
    pytest.param(["是", "否"], "是", id="chinese"),
    pytest.param(["left", "gold"], "left", id="only-positive-known"),
    pytest.param(["gone", "retained"], "gone", id="only-negative-known"),
    pytest.param(["Yes", "yes ", "YES", "no"], "yes", id="case-and-spaces"),
    pytest.param([0, "0.0", "1", 1.0, "false", "true"], "1", id="codes-and-booleans-one-pair"),
    pytest.param([" TRUE", "False "], "true", id="booleans-as-text"),
    pytest.param(["1.0", "0.0"], "1.0", id="float-codes-as-text"),
])
def test_detect_positive_label(values, expected):
    assert detect_positive_label(values, column="t") == expected


@pytest.mark.parametrize("word", ["yes", "true", "1", "churned", "left", "exited", "attrited", "是", "流失", "已流失"])
def test_a_churn_word_next_to_any_other_value_is_churn(word):
    assert detect_positive_label([f" {word.upper()}", "stayed with us"], column="churn") == word


@pytest.mark.parametrize(("values", "expected"), [
    pytest.param(["Yes", "yes ", "YES", "no", None], ["no", "yes"], id="case-and-spaces"),
    pytest.param([0, "0.0", "1", 1.0, "false", "TRUE", True], ["0", "1"], id="one-pair"),
    pytest.param(["a", "  ", "2", "0.5"], ["0.5", "2", "a"], id="blank-is-missing"),
])
def test_target_levels_read_values_as_a_person_does(values, expected):
    assert target_levels(values) == expected


@pytest.mark.parametrize("values", [
    pytest.param(["a", "b"], id="unknown-words"),
    pytest.param(["yes", "no", "maybe"], id="three-values"),
    pytest.param(["yes"], id="one-value"),
    pytest.param(["Yes", "yes ", "maybe", "no"], id="three-values-after-normalising"),
    pytest.param(["A ", "a", "b"], id="unknown-words-after-normalising"),
])
def test_detect_positive_label_refuses_to_guess(values):
    with pytest.raises(cc.SchemaError, match="Cannot tell which value of the target column 't' means churn") as info:
        detect_positive_label(values, column="t")
    assert info.value.code == "positive_ambiguous"


@pytest.mark.parametrize(("values", "positive", "churners"), [
    pytest.param(["Yes", "yes ", "YES", "no"], "yes", 90, id="case-and-spaces"),
    pytest.param([0, "0.0", 1, "1.0", "false", "true"], "1", 60, id="codes-and-booleans"),
])
def test_a_target_a_person_reads_at_once_is_recognised(values, positive, churners):
    frame = customers().drop(columns="status").assign(churn=(values * 40)[:120])
    roles = cc.detect_roles(frame)
    assert (roles.target, roles.positive_label) == ("churn", positive)
    report = cc.validate(frame, roles=roles)
    assert report.ok and report.churners == churners


def test_a_target_two_valued_once_normalised_wins_over_a_score():
    frame = customers().drop(columns="status").assign(
        churn_score=np.linspace(0, 1, 120), status=(["Yes", "yes ", "No"] * 40))
    assert detect_target(frame) == "status"


def test_ambiguous_target_is_detected_without_a_positive_label():
    frame = customers().assign(churn=lambda f: np.where(f.index % 3, "a", "b"))
    roles = cc.detect_roles(frame)
    assert (roles.target, roles.positive_label) == ("churn", None)


# -- overrides --------------------------------------------------------------------------------------

def test_overrides_win_over_detection():
    frame = customers().assign(churn=lambda f: np.where(f.index % 3, "stay", "gone"), account=range(120))
    roles = cc.detect_roles(frame, target="churn", positive="GONE", id_column="account")
    assert (roles.target, roles.positive_label, roles.id) == ("churn", "gone", "account")
    assert "customer_id" in roles.ignored  # a second id-like column is not analysed
    assert "status" in roles.categorical


@pytest.mark.parametrize("option", [pytest.param("target", id="target"), pytest.param("id_column", id="id")])
def test_override_naming_a_missing_column_is_refused(option):
    with pytest.raises(cc.SchemaError, match=r"column 'nope' is not in the table. Received the columns \[") as info:
        cc.detect_roles(customers(), **{option: "nope"})
    assert (info.value.code, info.value.params["column"]) == ("column_missing", "nope")


def test_positive_override_must_occur_in_the_target():
    with pytest.raises(cc.SchemaError, match=r"'maybe' does not occur.*\['active', 'churned'\]") as info:
        cc.detect_roles(customers(), positive="maybe")
    assert info.value.code == "positive_missing"


def test_replace_overrides_roles_and_makes_tuples():
    roles = cc.detect_roles(customers())
    changed = roles.replace(tenure=None, value="monthly_fee", categorical=["plan", "status"])
    assert (changed.tenure, changed.value, changed.categorical) == (None, ("monthly_fee",), ("plan", "status"))
    assert roles.tenure == "tenure_months"  # the original is unchanged


def test_replace_naming_a_missing_column_fails_when_used():
    raw = cc.read_table(customers().to_csv(index=False).encode())
    roles = cc.detect_roles(raw.frame).replace(service_calls="calls_to_support")
    with pytest.raises(cc.SchemaError, match=r"names columns that are not in the table: \['calls_to_support'\]"
                       ) as info:
        cc.inspect_table(raw, roles=roles)
    assert info.value.code == "column_missing"


# -- serialising ------------------------------------------------------------------------------------

@pytest.mark.parametrize("frame", [
    pytest.param(customers(), id="latin-names"),
    pytest.param(pd.DataFrame({"客户编号": ["a", "b", "c", "d"], "套餐": ["基础", "高级", "基础", "基础"],
                               "是否流失": ["是", "否", "否", "是"]}), id="chinese-names"),
])
def test_roles_json_round_trip(frame):
    roles = cc.detect_roles(frame)
    text = roles.to_json()
    assert cc.ColumnRoles.from_dict(json.loads(text)) == roles
    assert "\\u" not in text  # names stay readable


def test_from_dict_ignores_unknown_keys():
    assert cc.ColumnRoles.from_dict({"target": "churn", "colour": "red"}) == cc.ColumnRoles(target="churn")


def test_used_columns_and_frame():
    roles = cc.ColumnRoles(target="churn", id="id", numeric=("calls", "fee"), value=("fee",), service_calls="calls")
    assert roles.used_columns() == ("churn", "id", "calls", "fee")
    table = roles.to_frame()
    assert list(table.columns) == ["column", "role"]
    assert set(map(tuple, table.to_numpy())) == {("churn", "target"), ("id", "id"), ("calls", "numeric"),
                                                 ("fee", "numeric"), ("calls", "service_calls"), ("fee", "value")}


def test_remap_keeps_column_kinds_consistent():
    roles = cc.ColumnRoles(target="churn", positive_label="yes", categorical=("plan", "region"),
                           numeric=("calls", "charge", "cust_no"), plan_flags=(), service_calls="calls",
                           value=("charge",))
    out = roles.remap(id="cust_no", plan_flags=("plan",), ignored=("charge",))
    assert out.id == "cust_no" and "cust_no" not in out.numeric
    assert out.plan_flags == ("plan",) and out.categorical == ("region",)
    assert out.value == () and out.service_calls == "calls"
    assert roles.remap(ignored=("calls",)).service_calls is None


# -- the value role: any monetary column the analyst picks ----------------------------------------------

def test_the_bank_file_has_no_value_column_until_the_analyst_picks_one(bank):
    roles = cc.detect_roles(bank)
    assert roles.value == ()  # Balance and EstimatedSalary are not guessed to be the customer's value
    picked = roles.remap(value=("Balance",))
    assert picked.value == ("Balance",)
    data = cc.load_dataset(bank.to_csv(index=False).encode(), filename="bank.csv", roles=picked)
    assert data.value().tolist() == bank["Balance"].tolist()
    salary = roles.remap(value="EstimatedSalary")  # any numeric column, whatever its name
    assert salary.value == ("EstimatedSalary",)
    assert roles.remap(value=("Geography",)).value == ()  # not a number: not a value


@pytest.mark.parametrize(("values", "problem"), [
    pytest.param([10.0, 20.5, 0.0, None] * 10, None, id="money"),
    pytest.param(["12.5", "8", " ", "3"] * 10, None, id="numbers-as-text-with-a-blank"),
    pytest.param(["a", "b", "3", "4"] * 10, "not_numeric", id="text"),
    pytest.param([-50.0, 20.0, -10.0, 5.0] * 10, "negative", id="mostly-overdrawn"),
])
def test_value_columns_are_judged_by_their_values(values, problem):
    assert cc.value_column_problem(pd.Series(values)) == problem


def test_a_value_named_column_with_negative_values_is_not_detected():
    frame = customers().drop(columns="monthly_fee")
    frame["revenue"] = np.linspace(-100, 100, len(frame))  # half negative: a margin, not a value
    assert cc.detect_roles(frame).value == ()
    frame["revenue"] = frame["revenue"].abs()
    assert cc.detect_roles(frame).value == ("revenue",)
