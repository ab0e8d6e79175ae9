"""Outcome sheets: columns found by name (English, Chinese) and by values, bad rows refused per kind, merges that
never replace a final result silently, and results observed on a visit log."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from churn_core.campaigns import (
    OutcomeConflictError,
    check_outcomes,
    detect_outcome_columns,
    merge_outcomes,
    observe_outcomes,
    read_outcomes,
)
from churn_core.campaigns.outcomes import OutcomeError, empty_outcomes, refuse
from churn_core.errors import SchemaError

START = date(2026, 10, 1)
MEMBERS = pd.DataFrame({"customer_id": ["A1", "A2", "A3", "B1", "B2"],
                        "arm": ["contact", "contact", "contact", "control", "control"]})


def sheet(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns).astype("string")


def test_columns_are_found_by_english_and_chinese_names():
    found = detect_outcome_columns(pd.DataFrame(columns=["Customer ID", "Contact date", "Agent", "Result"]))
    assert found == {"customer_id": "Customer ID", "contact_date": "Contact date", "agent": "Agent", "result": "Result"}
    found = detect_outcome_columns(pd.DataFrame(columns=["客户编号", "联系日期", "坐席", "挽留结果", "失败原因"]))
    assert found == {"customer_id": "客户编号", "contact_date": "联系日期", "agent": "坐席", "result": "挽留结果",
                     "failure_reason": "失败原因"}


def test_the_result_column_is_judged_by_its_values_not_its_name():
    frame = pd.DataFrame({"customer_id": ["A1", "A2"], "status": ["vip", "vip"], "col7": ["saved", "lost"]})
    found = detect_outcome_columns(frame)
    assert found["result"] == "col7"  # "status" is named like a result but holds no result words


def test_a_gbk_sheet_with_chinese_headers_and_results_is_read():
    text = "客户编号,是否联系,联系日期,挽留结果\nA1,是,2026-10-03,挽留成功\nA2,否,,流失\nB1,,,待定\n"
    raw, found = read_outcomes(text.encode("gbk"), filename="回访.csv")
    check = check_outcomes(raw, members=MEMBERS, start=START, mapping=found)
    assert check.ok
    assert list(check.frame["result"]) == ["retained", "lost", "pending"]
    assert list(check.frame["contacted"].astype(object)) == [True, False, pd.NA]
    assert check.frame.loc[0, "contact_date"] == pd.Timestamp("2026-10-03")


def test_a_sheet_without_an_id_column_is_refused():
    with pytest.raises(SchemaError, match="no customer id column"):
        read_outcomes(b"x,y\n1,2\n", filename="calls.csv")


@pytest.mark.parametrize(("column", "value", "code"), [
    ("customer_id", "ZZ9", "unknown_id"),
    ("customer_id", None, "missing_id"),
    ("result", "maybe", "unknown_result"),
    ("contacted", "perhaps", "bad_contacted"),
    ("contact_date", "not a date", "bad_date"),
    ("contact_date", "2026-09-01", "date_before_start"),
])
def test_each_kind_of_bad_row_is_named_with_its_row_number(column, value, code):
    raw = sheet(customer_id=["A1", "A2"], result=["lost", "retained"], contacted=["yes", "yes"],
                contact_date=["2026-10-02", "2026-10-02"])
    raw.loc[1, column] = value
    check = check_outcomes(raw, members=MEMBERS, start=START)
    assert not check.ok
    (problem,) = check.problems
    assert problem.code == code and problem.rows == 1 and problem.examples[0].startswith("3:")
    with pytest.raises(OutcomeError, match=code):
        refuse(check)


def test_every_kind_is_reported_at_once_and_duplicates_too():
    raw = sheet(customer_id=["A1", "A1", "ZZ", "A3"], result=["lost", "lost", "lost", "??"],
                contact_date=["2026-10-02", "2026-10-02", "2026-10-02", "2025-01-01"])
    codes = {p.code: p.rows for p in check_outcomes(raw, members=MEMBERS, start=START).problems}
    assert codes == {"duplicate_id": 2, "unknown_id": 1, "unknown_result": 1, "date_before_start": 1}


def test_a_contacted_control_customer_is_a_warning_not_a_refusal():
    check = check_outcomes(sheet(customer_id=["B1"], contacted=["yes"]), members=MEMBERS, start=START)
    assert check.ok and [p.code for p in check.warnings] == ["control_contacted"]


def test_a_contact_date_alone_marks_the_customer_reached():
    check = check_outcomes(sheet(customer_id=["A1", "A2"], contact_date=["2026-10-05", None]), members=MEMBERS,
                           start=START)
    assert list(check.frame["contacted"].astype(object)) == [True, pd.NA]


def current(**columns) -> pd.DataFrame:
    frame = empty_outcomes().reindex(range(len(columns["customer_id"])))
    for k, v in columns.items():
        frame[k] = v
    return frame


def test_a_merge_keeps_stored_values_for_empty_cells_and_skips_unchanged_rows():
    stored = current(customer_id=["A1", "A2"], agent=["A07", "A08"], result=["pending", "lost"])
    incoming = check_outcomes(sheet(customer_id=["A1", "A2", "A3"], result=["retained", "lost", "pending"]),
                              members=MEMBERS, start=START).frame
    change = merge_outcomes(stored, incoming)
    assert (change.new, change.updated, change.unchanged) == (1, 1, 1)
    rows = change.rows.set_index("customer_id")
    assert rows.loc["A1", "result"] == "retained" and rows.loc["A1", "agent"] == "A07"  # kept, not erased
    assert "A2" not in rows.index


def test_replacing_a_final_result_is_refused_unless_allowed():
    stored = current(customer_id=["A1", "A2"], result=["lost", "pending"])
    incoming = check_outcomes(sheet(customer_id=["A1", "A2"], result=["retained", "lost"]), members=MEMBERS,
                              start=START).frame
    with pytest.raises(OutcomeConflictError, match="A1: lost -> retained") as err:
        merge_outcomes(stored, incoming)
    assert err.value.report.to_dict("records") == [{"customer_id": "A1", "before": "lost", "after": "retained"}]
    change = merge_outcomes(stored, incoming, allow_changes=True)
    assert len(change.replaced) == 1 and change.updated == 2


def test_results_are_observed_on_a_later_visit_log_for_both_arms():
    log = pd.DataFrame({
        "customer_id": ["A1", "A2", "A3", "B1", "B2", "A3"],
        "event_time": pd.to_datetime(["2026-10-20", "2026-09-20", "2027-07-01", "2027-05-01", "2026-11-01",
                                      "2027-07-20"]),
        "event_type": ["maintenance", "repair", "maintenance", "maintenance", "complaint", "repair"],
    })
    out = observe_outcomes(log, members=MEMBERS, start=START, window_days=240, time_column="event_time",
                           type_column="event_type", visit_types=("maintenance", "repair"))
    # A1 came back; A2's only visit was before the start; A3 came back after the window; B1 within it;
    # B2's only event is not a visit. The log runs past start + 240 days, so no one is pending.
    assert dict(zip(out["customer_id"], out["result"])) == {"A1": "retained", "A2": "lost", "A3": "lost",
                                                            "B1": "retained", "B2": "lost"}
    short = observe_outcomes(log[log["event_time"] < "2027-01-01"], members=MEMBERS, start=START, window_days=240,
                             time_column="event_time")
    assert dict(zip(short["customer_id"], short["result"]))["A3"] == "pending"  # the window is not over yet
    assert np.sum(short["result"] == "retained") == 2
