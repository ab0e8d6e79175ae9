"""`python -m churn_core campaign ...` run in-process: launch with a control group, outcomes in, the report."""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import churn_core as cc
from churn_core.__main__ import main
from tests.conftest import copy_db

START = "2026-01-05"
ARM_KEYS = {"n", "churned", "churn_rate", "ci_low", "ci_high"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@dataclass(frozen=True)
class Launched:
    db: Path  # a template: tests work on a copy
    result: dict
    sheet: Path


@pytest.fixture(scope="module")
def launched(trained_template, tmp_path_factory) -> Launched:
    """Campaign 1 on every active customer of the bundled data (seed 11), launched once for the module."""
    folder = tmp_path_factory.mktemp("campaign")
    db = copy_db(trained_template, folder)
    sheet = folder / "calls.csv"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["campaign", "create", "--name", "January call-back", "--owner", "Retention team",
                     "--control", "0.2", "--seed", "11", "--start", START, "--contact-cost", "4",
                     "--action", "critical=retention_call", "--out", str(sheet), "--db", str(db), "--format", "json"])
    assert (code, err.getvalue()) == (0, "")
    return Launched(db, json.loads(out.getvalue()), sheet)


@pytest.fixture
def db(launched, tmp_path) -> Path:
    return copy_db(launched.db, tmp_path)


def members(db: Path) -> pd.DataFrame:
    return cc.Store(db).campaign_members(1)


def outcome_sheet(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def good_outcomes(db: Path) -> pd.DataFrame:
    """Every member with a final result: the contacted churn less often (1 in 4) than the control (1 in 2)."""
    m = members(db)
    contact = m["arm"].eq("contact").to_numpy()
    rank = m.groupby("arm").cumcount().to_numpy()
    lost = (contact & (rank % 4 == 0)) | (~contact & (rank % 2 == 0))
    return pd.DataFrame({"customer_id": m["customer_id"], "contacted": ["yes" if c else "" for c in contact],
                         "contact_date": [START if c else "" for c in contact],
                         "result": ["lost" if x else "retained" for x in lost]})


def record(capsys, db: Path, path: Path, *extra: str) -> tuple[int, dict | None, str]:
    code, out, err = run(capsys, "campaign", "outcomes", "--campaign", "1", "--data", str(path), "--db", str(db),
                         "--format", "json", *extra)
    return code, json.loads(out) if out else None, err


def test_create_writes_only_the_contacted_customers_and_holds_back_a_fifth_of_each_tier(launched):
    result = launched.result
    assert {"campaign", "name", "contact", "control", "per_tier", "seed", "detectable_uplift", "base_rate",
            "too_small", "reason", "out"} <= set(result)
    assert (result["campaign"], result["name"], result["seed"], result["out"]) == (
        1, "January call-back", 11, str(launched.sheet))
    m = members(launched.db)
    assert "churned" not in set(m["tier"])
    sheet = pd.read_csv(launched.sheet, dtype={"customer_id": str}, encoding="utf-8-sig")
    contact = set(m.loc[m["arm"] == "contact", "customer_id"])
    assert len(sheet) == result["contact"] == len(contact)
    assert set(sheet["customer_id"]) == contact
    assert set(sheet["assignment"]) == {"contact"}
    assert not set(sheet["customer_id"]) & set(m.loc[m["arm"] == "control", "customer_id"])
    assert set(sheet.loc[sheet["tier"] == "critical", "action_key"]) <= {"retention_call"}
    assert result["control"] == (m["arm"] == "control").sum()

    per_tier = result["per_tier"]
    assert set(per_tier) == set(m["tier"])
    assert sum(t["contact"] + t["control"] for t in per_tier.values()) == len(m)
    for tier, counts in per_tier.items():
        n = counts["contact"] + counts["control"]
        if n >= 10:
            assert counts["control"] / n == pytest.approx(0.2, abs=0.5 / n), tier
    assert isinstance(result["detectable_uplift"], float) and 0 < result["detectable_uplift"] < result["base_rate"]
    assert result["too_small"] is False and result["reason"] == ""


def test_create_keeps_only_the_tiers_asked_for_and_writes_xlsx(capsys, db, tmp_path):
    out = tmp_path / "calls.xlsx"
    code, stdout, err = run(capsys, "campaign", "create", "--name", "Critical only", "--tier", "critical,high",
                            "--seed", "2", "--out", str(out), "--db", str(db), "--format", "json")
    assert (code, err) == (0, "")
    result = json.loads(stdout)
    assert result["campaign"] == 2 and set(result["per_tier"]) <= {"critical", "high"}
    sheet = pd.read_excel(out, dtype={"customer_id": str})
    assert len(sheet) == result["contact"]
    assert set(sheet["tier"]) <= {"critical", "high"}


@pytest.mark.parametrize("extra, match", [
    (("--tier", "urgent"), "--tier names tiers the risk policy does not have: \\['urgent'\\]"),
    (("--action", "critical"), "KEY=VALUE"),
    (("--start", "5 Jan"), "YYYY-MM-DD"),
    (("--control", "0.9"), "control share must be between 0.05 and 0.5"),
], ids=["unknown-tier", "action-without-equals", "bad-start", "control-too-large"])
def test_create_refuses_bad_options_and_stores_nothing(capsys, db, tmp_path, extra, match):
    code, out, err = run(capsys, "campaign", "create", "--name", "X", "--out", str(tmp_path / "c.csv"),
                         "--db", str(db), *extra)
    assert code == 1 and out == ""
    assert err.startswith("error: ")
    assert re.search(match, err)
    assert [c.id for c in cc.Store(db).list_campaigns()] == [1]


def test_good_outcomes_are_stored_as_version_1(capsys, db, tmp_path):
    code, result, err = record(capsys, db, outcome_sheet(good_outcomes(db), tmp_path / "results.csv"))
    assert (code, err) == (0, "")
    n = len(members(db))
    assert result == {"campaign": 1, "version": 1, "new": n, "updated": 0, "unchanged": 0, "replaced": 0,
                      "warnings": []}
    batch = cc.Store(db).outcome_batches(1)[-1]
    assert (batch.version, batch.source, batch.file_name, batch.rows) == (1, "cli", "results.csv", n)


def test_a_sheet_with_bad_rows_is_refused_one_problem_per_kind_and_nothing_is_stored(capsys, db, tmp_path):
    sheet = good_outcomes(db).head(10).copy()
    sheet.loc[0, "customer_id"] = "NOT-A-MEMBER"
    sheet.loc[1, "customer_id"] = "ALSO-NOT"
    sheet.loc[2, "result"] = "maybe"
    contacted = sheet.index[sheet["contact_date"] != ""][-1]
    sheet.loc[contacted, "contact_date"] = "2025-12-01"
    code, result, err = record(capsys, db, outcome_sheet(sheet, tmp_path / "bad.csv"))
    assert code == 1
    assert result["error"] == "outcomes_invalid"
    problems = {p["code"]: p for p in result["problems"]}
    assert sorted(problems) == ["date_before_start", "unknown_id", "unknown_result"]
    assert len(result["problems"]) == 3
    assert problems["unknown_id"]["rows"] == 2
    assert problems["unknown_id"]["examples"] == ["2: NOT-A-MEMBER", "3: ALSO-NOT"]
    assert problems["unknown_result"]["examples"] == ["4: maybe"]
    for code_ in problems:
        assert f"  {code_}: " in err
    assert cc.Store(db).outcome_batches(1) == ()


def test_a_changed_final_result_is_refused_without_replace_and_stored_as_version_2_with_it(capsys, db, tmp_path):
    first = good_outcomes(db)
    assert record(capsys, db, outcome_sheet(first, tmp_path / "v1.csv"))[0] == 0
    flipped = first[first["result"] == "retained"].head(2).copy()
    flipped["result"] = "lost"
    path = outcome_sheet(flipped, tmp_path / "v2.csv")

    code, result, err = record(capsys, db, path)
    assert code == 1
    assert result["error"] == "outcomes_conflict"
    assert [c["customer_id"] for c in result["changed"]] == list(flipped["customer_id"])
    assert {(c["before"], c["after"]) for c in result["changed"]} == {("retained", "lost")}
    assert "--replace" in err and flipped["customer_id"].iloc[0] in err
    assert [b.version for b in cc.Store(db).outcome_batches(1)] == [1]

    code, result, err = record(capsys, db, path, "--replace")
    assert (code, err) == (0, "")
    assert (result["version"], result["updated"], result["replaced"]) == (2, 2, 2)
    stored = cc.Store(db).campaign_outcomes(1).set_index("customer_id")["result"]
    assert set(stored[flipped["customer_id"]]) == {"lost"}


def test_report_json_is_the_library_report(capsys, db, tmp_path):
    assert record(capsys, db, outcome_sheet(good_outcomes(db), tmp_path / "results.csv"))[0] == 0
    code, out, err = run(capsys, "campaign", "report", "--campaign", "1", "--db", str(db), "--format", "json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    expected = json.loads(json.dumps(cc.campaigns.report(cc.Store(db), 1).to_dict(), default=str))
    assert result == expected
    assert ARM_KEYS <= set(result["contacted"]) and ARM_KEYS <= set(result["control"])
    assert set(result["uplift"]) == {"estimate", "ci_low", "ci_high"}
    assert {"customers_saved", "value_saved", "cost", "roi"} <= set(result)
    m = members(db)
    assert result["contacted"]["n"] == (m["arm"] == "contact").sum()
    assert result["control"]["churn_rate"] > result["contacted"]["churn_rate"]
    assert result["uplift"]["estimate"] == pytest.approx(
        result["control"]["churn_rate"] - result["contacted"]["churn_rate"])
    assert result["verdict"] == "saved"

    code, text, _ = run(capsys, "campaign", "report", "--campaign", "1", "--db", str(db))
    assert code == 0 and text.startswith("campaign 1 'January call-back': saved")


def test_list_shows_each_campaign_with_its_state(capsys, db, tmp_path):
    code, out, _ = run(capsys, "campaign", "list", "--db", str(db), "--format", "json")
    assert code == 0
    [row] = json.loads(out)["campaigns"]
    assert (row["id"], row["name"], row["state"], row["outcome_version"]) == (1, "January call-back", "launched", 0)
    partial = good_outcomes(db).head(5)
    assert record(capsys, db, outcome_sheet(partial, tmp_path / "some.csv"))[0] == 0
    code, out, _ = run(capsys, "campaign", "list", "--db", str(db), "--format", "json")
    assert json.loads(out)["campaigns"][0]["state"] == "running"
    assert record(capsys, db, outcome_sheet(good_outcomes(db), tmp_path / "all.csv"))[0] == 0
    code, out, _ = run(capsys, "campaign", "list", "--db", str(db), "--format", "json")
    assert json.loads(out)["campaigns"][0]["state"] == "finished"


def test_unknown_campaign_and_snapshot_observe_exit_1(capsys, db):
    code, out, err = run(capsys, "campaign", "report", "--campaign", "9", "--db", str(db), "--format", "json")
    assert (code, out) == (1, "") and "There is no campaign 9" in err
    code, out, err = run(capsys, "campaign", "observe", "--campaign", "1", "--db", str(db))
    assert (code, out) == (1, "") and "not drawn from a visit log" in err


def test_a_visit_log_campaign_is_drawn_as_of_the_logs_last_date_and_observed_only_on_a_later_log(capsys, events_db,
                                                                                               tmp_path):
    store = cc.Store(events_db)
    last = store.load_dataset().events.as_of.date()
    code, out, err = run(capsys, "campaign", "create", "--name", "Lapsing", "--tier", "critical,high", "--seed", "1",
                         "--start", str(last), "--out", str(tmp_path / "calls.csv"), "--db", str(events_db),
                         "--format", "json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["as_of"] == str(last) and result["window_days"] == store.load_dataset().events.window_days
    code, out, err = run(capsys, "campaign", "observe", "--campaign", str(result["campaign"]), "--db", str(events_db))
    assert (code, out) == (1, "")
    assert "runs past that day: versions []" in err


def test_observe_reads_every_result_from_a_later_log(capsys, tmp_path):
    """The after-sales demo's campaign played forward (its later log stored as v2), then observed again from the
    command line: every result is already there, so nothing changes, and the counts are the report's."""
    from datetime import date

    import numpy as np

    from churn_core.campaigns import CampaignSpec, plan_campaign, play_demo_campaign, report

    store = cc.Store(tmp_path / "demo.duckdb")
    version = cc.store.ensure_demo(store, "aftersales")
    frame = store.load_as_of(version.version).frame.head(600)
    picked = pd.DataFrame({"id": frame["customer_id"], "tier": "high", "probability": 0.7,
                           "action": "retention_call", "due_hours": 72})
    plan = plan_campaign(picked, spec=CampaignSpec(name="Demo", seed=2, start=date(2026, 9, 30), window_days=240))
    store.save_campaign(plan, dataset_version=version.version, as_of=date(2026, 9, 30))
    played = play_demo_campaign(store, 1)
    code, out, _ = run(capsys, "campaign", "observe", "--campaign", "1", "--db", str(store.path), "--format", "json")
    result = json.loads(out)
    assert code == 0 and result["events_version"] == played.log_version and result["version"] is None
    measured = report(store, 1)
    lost = measured.contacted.churned + measured.control.churned
    assert result["results"]["lost"] == lost and result["results"]["retained"] == 600 - lost
    assert np.isclose(result["results"]["pending"], 0)
