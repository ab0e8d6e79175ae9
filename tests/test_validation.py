"""churn_core.validation: blocking errors and warnings, each with a code, and the report's round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import churn_core as cc
from churn_core.validation import (
    LEAKAGE_AUC,
    level_auc,
    report_from_dict,
    report_to_dict,
    single_column_auc,
    target_codes,
)


def customers(n: int = 400, *, churn_rate: float = 0.2, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    churned = rng.random(n) < churn_rate
    return pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(n)],
        "plan": rng.choice(["basic", "premium"], n),
        "calls": rng.integers(0, 8, n),
        "minutes": rng.normal(180, 40, n).round(1),
        "churn": np.where(churned, "yes", "no"),
    })


def check(frame: pd.DataFrame, **options) -> cc.ValidationReport:
    return cc.validate(frame, roles=cc.detect_roles(frame), **options)


def codes(report: cc.ValidationReport, severity: str | None = None) -> list[str]:
    return [i.code for i in report.issues if severity in (None, i.severity)]


def test_clean_table_has_no_issues():
    report = check(customers())
    assert report.ok
    assert report.issues == ()
    assert (report.rows, report.columns, report.duplicate_ids, report.leakage) == (400, 5, 0, ())


def test_churn_counts_come_from_the_positive_label():
    frame = customers()
    report = check(frame)
    assert report.churners == (frame["churn"] == "yes").sum()
    assert report.churn_rate == pytest.approx((frame["churn"] == "yes").mean())


# -- leakage -------------------------------------------------------------------------------------

@pytest.mark.parametrize("leak", [
    pytest.param(lambda f: f["churn"], id="yes-no-copy"),
    pytest.param(lambda f: (f["churn"] == "yes").astype(int), id="zero-one-copy"),
    pytest.param(lambda f: np.where(f["churn"] == "yes", 49.5, 0.0), id="refund-amount"),
    pytest.param(lambda f: np.where(f["churn"] == "yes", 0, f["minutes"] + 500), id="reversed-numeric"),
    pytest.param(lambda f: np.where(f["churn"] == "yes", "closed", "open"), id="relabelled-copy"),
    pytest.param(lambda f: np.where(f["churn"] == "yes", np.where(f.index % 2, 0, 100), 50), id="non-monotone-code"),
    pytest.param(lambda f: np.where(f["churn"] == "yes", np.where(f.index % 3, "moved", "price"), "none"),
                 id="reason-only-for-leavers"),
])
def test_column_that_separates_churn_is_leakage(leak):
    frame = customers()
    frame["after_exit"] = leak(frame)
    report = check(frame)
    assert report.leakage == ("after_exit",)
    issue = next(i for i in report.issues if i.code == "leakage")
    assert (issue.severity, issue.column) == ("warning", "after_exit")
    assert issue.params["auc"] == pytest.approx(1.0)
    assert "exclude it from models" in issue.message


def test_real_plan_flag_is_not_leakage(report_train):
    raw = cc.read_table(report_train)
    _, report = cc.inspect_table(raw)
    assert report.leakage == ()
    assert "leakage" not in codes(report)


MODEL_LIKE_NAMES = [pytest.param("churn_probability", id="probability"), pytest.param("risk_score", id="score"),
                    pytest.param("CreditScore", id="credit-score"), pytest.param("流失概率", id="chinese")]


@pytest.mark.parametrize("name", MODEL_LIKE_NAMES)
def test_a_name_alone_never_flags_a_column(name):
    frame = customers()
    frame[name] = np.random.default_rng(5).random(len(frame)).round(3)
    report = check(frame)
    assert report.leakage == ()
    assert report.issues == ()


@pytest.mark.parametrize("name", MODEL_LIKE_NAMES)
def test_a_model_like_name_only_words_the_warning_about_a_leak(name):
    frame = customers()
    frame[name] = (frame["churn"] == "yes") + np.random.default_rng(5).normal(0, 0.2, len(frame))
    report = check(frame)
    assert report.leakage == (name,)
    issue = report.warnings[0]
    assert (issue.code, issue.column) == ("model_output", name)
    assert issue.params["auc"] >= LEAKAGE_AUC
    assert f"(AUC {issue.params['auc']:.3f}), and its name suggests a score or probability" in issue.message


def test_bank_file_credit_score_is_a_feature_and_only_the_real_leak_is_flagged(bank):
    """CreditScore (ints 350..850, weakly tied to churn) is a feature; churn_probability of pure noise is not
    flagged for its name; a noisy copy of Exited (AUC above 0.99, not 1) is."""
    rng = np.random.default_rng(11)
    exited = bank["Exited"].to_numpy()
    bank["churn_probability"] = rng.random(len(bank)).round(4)
    bank["exit_fee"] = (exited + rng.normal(0, 0.25, len(bank))).round(3)
    assert LEAKAGE_AUC < roc_auc(bank["exit_fee"], exited) < 1
    assert 0.5 < 1 - roc_auc(bank["CreditScore"], exited) < 0.6  # low scores churn a little more

    roles = cc.detect_roles(bank)
    report = cc.validate(bank, roles=roles)
    assert {"CreditScore", "churn_probability", "exit_fee"} <= set(roles.numeric)
    assert report.leakage == ("exit_fee",)
    assert [(i.code, i.column) for i in report.issues] == [("leakage", "exit_fee")]


def roc_auc(x, y) -> float:
    """ROC-AUC by counting pairs: the share of (churner, stayer) pairs the column orders right, ties half."""
    x, y = np.asarray(x, dtype=float), np.asarray(y)
    churned, stayed = x[y == 1][:, None], x[y == 0][None, :]
    return float((churned > stayed).mean() + 0.5 * (churned == stayed).mean())


def test_level_check_needs_enough_customers_per_level():
    """With more levels than min(churners, retained) / 5, pure levels are luck: the level check abstains."""
    y = np.array([1.0] * 40 + [0.0] * 160)
    ids = np.arange(200)  # every customer their own level: in-sample, each level is pure
    assert level_auc(ids, y) is None
    assert level_auc(np.where(y == 1, "gone", "here"), y) == 1.0
    assert level_auc(ids % 8, y) == pytest.approx(0.5, abs=0.2)


def test_many_valued_random_codes_are_not_leakage():
    frame = customers().assign(region=lambda f: [f"R{i % 60}" for i in np.random.default_rng(3).permutation(len(f))])
    report = check(frame)
    assert "region" in cc.detect_roles(frame).categorical
    assert report.leakage == ()


# -- balance, size, shape ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("churn_rate", "expected"), [
    pytest.param(0.01, True, id="rare-churn"),
    pytest.param(0.8, True, id="mostly-churn"),
    pytest.param(0.2, False, id="balanced"),
])
def test_class_imbalance_warning(churn_rate, expected):
    report = check(customers(1000, churn_rate=churn_rate))
    assert ("class_imbalance" in codes(report, "warning")) is expected


def test_few_rows_warning():
    report = check(customers(60, churn_rate=0.5))
    assert "few_rows" in codes(report, "warning")
    assert "few_rows" not in codes(check(customers(100)))


def test_constant_and_empty_columns_are_warnings():
    frame = customers().assign(country="US", notes=np.nan)
    report = check(frame)
    assert report.ok
    assert report.constant_columns == ("country",)
    assert [(i.code, i.column) for i in report.warnings if i.column] == [("all_missing", "notes"),
                                                                         ("constant_column", "country")]
    assert report.missing == {"notes": 400}


def test_non_numeric_values_in_a_numeric_column():
    frame = customers().astype({"calls": object})
    frame.loc[[3, 9], "calls"] = ["n/a", "three"]
    report = check(frame)
    issue = next(i for i in report.issues if i.code == "non_numeric")
    assert (issue.column, issue.params["count"], issue.params["examples"]) == ("calls", 2, ["n/a", "three"])
    assert issue.params["share"] == pytest.approx(398 / 400)


def test_infinite_values_are_a_warning_naming_the_column():
    frame = customers()
    frame["minutes"] = frame["minutes"].astype(object)
    frame.loc[[2, 7, 9], "minutes"] = [np.inf, "-inf", "Infinity"]
    report = check(frame)
    assert report.ok and codes(report) == ["infinite_values"]
    issue = report.warnings[0]
    assert (issue.column, issue.params) == ("minutes", {"count": 3, "examples": ["inf", "-inf"]})
    assert issue.message.startswith("Column 'minutes' holds 3 infinite values")


def test_duplicate_ids_block():
    frame = customers()
    frame.loc[[1, 2], "customer_id"] = "C00000"
    report = check(frame)
    assert not report.ok
    assert codes(report, "error") == ["duplicate_ids"]
    assert report.duplicate_ids == 3
    assert report.errors[0].params == {"count": 3, "examples": ["C00000"]}
    assert "map a different id column (or none)" in report.errors[0].message


@pytest.mark.parametrize("ids", [
    pytest.param(lambda n: [f"C{i // 2:05d}" for i in range(n)], id="every-id-twice"),
    pytest.param(lambda n: [f"C{i % (n // 3):05d}" for i in range(n)], id="every-id-three-times"),
    pytest.param(lambda n: [100_000 + i // 2 for i in range(n)], id="numbers-twice"),
])
def test_ids_that_repeat_are_an_error_at_any_count(ids):
    frame = customers().assign(customer_id=lambda f: ids(len(f)))
    report = check(frame)
    assert codes(report, "error") == ["duplicate_ids"] and report.duplicate_ids == 400
    with pytest.raises(cc.ValidationError, match=r"400 rows share an id in column 'customer_id'.*Remove the duplicate"):
        cc.load_dataset(frame.to_csv(index=False).encode(), filename="twice.csv")


@pytest.mark.parametrize(("stored", "values"), [
    pytest.param("true", [1, 0, 1.0, "false", " TRUE", None], id="label-true-on-codes"),
    pytest.param("1.0", ["true", "0", "1", "0.0", "True", None], id="label-1.0-on-booleans"),
    pytest.param("yes", ["Yes", "no", "yes ", "NO", "YES", "  "], id="label-yes-on-mixed-case"),
])
def test_target_codes_read_the_label_and_values_as_a_person_does(stored, values):
    np.testing.assert_array_equal(target_codes(pd.Series(values, dtype=object), stored),
                                  [1.0, 0.0, 1.0, 0.0, 1.0, np.nan])


def test_without_an_id_role_repeats_are_fine():
    frame = customers()
    frame.loc[[1, 2], "customer_id"] = "C00000"
    report = cc.validate(frame, roles=cc.detect_roles(frame).replace(id=None))
    assert report.ok


@pytest.mark.parametrize(("require_target", "expected"), [
    pytest.param(True, ["no_target"], id="required"),
    pytest.param(False, [], id="not-required"),
])
def test_missing_target(require_target, expected):
    frame = customers().drop(columns="churn")
    assert codes(check(frame, require_target=require_target), "error") == expected


def test_missing_target_values_are_counted():
    frame = customers()
    frame.loc[:4, "churn"] = np.nan
    issue = next(i for i in check(frame).issues if i.code == "target_missing")
    assert issue.params == {"count": 5}


def test_duplicate_columns_warning():
    report = cc.validate(customers(), roles=cc.detect_roles(customers()), duplicate_columns=("calls",))
    assert [(i.code, i.params) for i in report.warnings] == [("duplicate_columns", {"columns": ["calls"]})]


def test_errors_come_before_warnings():
    frame = customers(60).assign(country="US")
    frame.loc[1, "customer_id"] = "C00000"
    report = check(frame)
    severities = [i.severity for i in report.issues]
    assert severities == sorted(severities, key=["error", "warning"].index)
    assert severities[0] == "error" and "warning" in severities


# -- the report as data ---------------------------------------------------------------------------------

def messy_report() -> cc.ValidationReport:
    frame = customers(80).assign(country="US", churn_probability=0.5)
    frame.loc[1, "customer_id"] = "C00000"
    frame.loc[2, "minutes"] = np.nan
    return check(frame)


def test_to_frame_lists_every_issue():
    report = messy_report()
    table = report.to_frame()
    assert list(table.columns) == ["severity", "code", "column", "message"]
    assert table["code"].tolist() == [i.code for i in report.issues]
    assert len(table) >= 4


def test_missing_frame_shares():
    table = messy_report().missing_frame()
    assert table.to_dict("records") == [{"column": "minutes", "missing": 1, "share": 1 / 80}]


@pytest.mark.parametrize("through_json", [pytest.param(False, id="dict"), pytest.param(True, id="json")])
def test_report_round_trip(through_json):
    report = messy_report()
    data = report_to_dict(report)
    if through_json:
        data = json.loads(json.dumps(data))
    assert report_from_dict(data) == report


@pytest.mark.parametrize(("x", "y", "expected"), [
    pytest.param([1, 2, 3, 4], [0, 0, 1, 1], 1.0, id="perfect"),
    pytest.param([4, 3, 2, 1], [0, 0, 1, 1], 0.0, id="reversed"),
    pytest.param([1, 1, 1, 1], [0, 0, 1, 1], 0.5, id="uninformative"),
    pytest.param([1, 2, 3, 4], [0, 0, 0, 0], None, id="one-class"),
])
def test_single_column_auc(x, y, expected):
    assert single_column_auc(np.array(x, dtype=float), np.array(y, dtype=float)) == expected
