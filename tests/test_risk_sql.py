"""churn_core.risk_sql: a generated 1M-row large score set paged, filtered and counted in DuckDB equals the same
computed in pandas on that set; filter values are bound parameters; exports neutralise spreadsheet formulas."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import churn_core as cc
from churn_core.errors import LargeScoresError
from churn_core.risk_sql import LARGE_SCORE_COLUMNS, LargeFilter, LargeScores

ROOT = Path(__file__).resolve().parents[1]
ROWS = 1_000_000


def make_large_scores():
    """scripts/make_large_scores.py as a module (the generator and the registration)."""
    spec = importlib.util.spec_from_file_location("make_large_scores", ROOT / "scripts" / "make_large_scores.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """A tmp store whose score set holds 1M generated rows as Parquet; (store, set id, the set in pandas)."""
    folder = tmp_path_factory.mktemp("large")
    store = cc.Store(folder / "large.duckdb")
    version = store.save_dataset(cc.load_dataset(cc.BUNDLED_CSV)).version
    gen = make_large_scores()
    out = folder / "scores"
    files = gen.write_scores(out, rows=ROWS, seed=3, chunk_rows=300_000)
    meta = store.save_score_set_meta(1, "xgboost", version, rows=ROWS)
    store.register_parquet("scores", meta.id, str(out), rows=ROWS, partitions=files)
    frame = pd.concat([pd.read_parquet(out / f"part.{i}.parquet") for i in range(files)], ignore_index=True)
    return store, meta.id, frame


@pytest.fixture(scope="module")
def scores(large):
    store, set_id, _ = large
    opened = LargeScores.open(store, set_id)
    yield opened
    opened.close()


def reference(frame: pd.DataFrame, f: LargeFilter) -> pd.Series:
    """The filter written plainly in pandas."""
    keep = frame["probability"].between(*f.probability)
    if f.status != "all":
        keep &= frame["status"] == f.status
    for column, values in (("tier", f.tiers), ("action", f.actions), ("reason_1", f.top_reasons)):
        if values:
            keep &= frame[column].isin(values)
    if f.value_bands:
        low, high = np.nanquantile(frame["value"], 0.2), np.nanquantile(frame["value"], 0.8)
        band = np.where(frame["value"] >= high, "high", np.where(frame["value"] < low, "low", "medium"))
        keep &= np.isin(band, f.value_bands)
    if f.min_value is not None:
        keep &= frame["value"] >= f.min_value
    return keep


FILTERS = {
    "everyone active": LargeFilter(),
    "critical and high": LargeFilter(tiers=("critical", "high")),
    "probability 0.5-0.9, two actions": LargeFilter(probability=(0.5, 0.9), actions=("senior_agent", "monitor")),
    "a top reason, high value": LargeFilter(top_reasons=("total_day_charge",), value_bands=("high",)),
    "medium and low value, min value": LargeFilter(value_bands=("medium", "low"), min_value=300.0),
    "churned": LargeFilter(status="churned"),
    "all statuses, watch": LargeFilter(status="all", tiers=("watch",)),
}


def test_the_generated_set_has_the_schema_and_rows(large, scores):
    _, _, frame = large
    assert list(frame.columns) == [name for name, _ in LARGE_SCORE_COLUMNS]
    assert scores.rows == ROWS == len(frame)
    assert frame["customer_id"].is_unique
    assert set(frame["status"]) == {"active", "churned"}
    assert frame.loc[frame["status"] == "churned", ["priority", "action", "due_hours"]].isna().all().all()


def test_the_script_registers_a_set_for_the_champion(trained_db, tmp_path):
    make_large_scores().main(["--rows", "2500", "--db", str(trained_db), "--out", str(tmp_path / "s"),
                              "--seed", "4"])
    store = cc.Store(trained_db)
    champion = store.champion()
    meta = store.find_score_set(run_id=champion.run_id, model=champion.model, dataset_version=1)
    assert meta.rows == 2500 and store.parquet_url("scores", meta.id) == str((tmp_path / "s").resolve())
    opened = LargeScores.open(store, meta.id)
    assert opened.rows == 2500 and opened.kpis(LargeFilter(status="all")).customers == 2500
    opened.close()


def test_the_generator_is_seeded():
    gen = make_large_scores()
    a, b = gen.chunk(0, 1000, seed=5), gen.chunk(0, 1000, seed=5)
    assert a.equals(b)
    assert not a.equals(gen.chunk(0, 1000, seed=6))


@pytest.mark.parametrize("where", FILTERS.values(), ids=FILTERS.keys())
def test_kpis_equal_pandas(large, scores, where):
    frame = large[2][reference(large[2], where)]
    kpis = scores.kpis(where)
    assert kpis.customers == len(frame)
    assert kpis.expected_churners == pytest.approx(frame["probability"].sum(), rel=1e-9)
    assert kpis.value_at_risk == pytest.approx((frame["probability"] * frame["value"]).sum(), rel=1e-9)
    assert kpis.due_within_72h == int((frame["due_hours"] <= 72).sum())
    assert dict(kpis.tier_counts) == frame["tier"].value_counts().to_dict()
    assert kpis.to_frame()["customers"].iloc[0] == len(frame)


@pytest.mark.parametrize("sort", ["priority", "probability", "value"])
@pytest.mark.parametrize("where", [FILTERS["everyone active"], FILTERS["a top reason, high value"],
                                   FILTERS["all statuses, watch"]], ids=["active", "reason+band", "all+watch"])
def test_pages_equal_pandas(large, scores, where, sort):
    frame = large[2][reference(large[2], where)]
    ordered = frame.sort_values(sort, ascending=False, na_position="last", kind="stable")  # ties in row order
    for offset in (0, 500, len(frame) - 120):
        page = scores.page(where, sort=sort, limit=500, offset=offset)
        expected = ordered.iloc[offset:offset + 500]
        assert page.frame["customer_id"].tolist() == expected["customer_id"].tolist()
    assert len(page.frame) == 120  # the last page is short
    head = ordered.head(3).reset_index(drop=True).assign(as_of=lambda f: pd.to_datetime(f["as_of"]))
    pd.testing.assert_frame_equal(scores.page(where, sort=sort, limit=3).to_frame(), head, check_dtype=False)


INJECTIONS = ["x' OR 1=1 --", "critical' OR 'a'='a", "'); DROP TABLE scores; --", "high\") OR (1=1"]


@pytest.mark.parametrize("attempt", INJECTIONS)
def test_filter_values_are_bound_parameters(scores, attempt):
    for where in (LargeFilter(tiers=(attempt,)), LargeFilter(actions=(attempt,)),
                  LargeFilter(top_reasons=(attempt,)), LargeFilter(tiers=("critical", attempt))):
        clause, params = scores.filter_sql(where)
        assert attempt not in clause and attempt in params
    assert scores.kpis(LargeFilter(tiers=(attempt,))).customers == 0
    assert scores.page(LargeFilter(actions=(attempt,))).frame.empty
    critical = scores.kpis(LargeFilter(tiers=("critical",))).customers
    assert scores.kpis(LargeFilter(tiers=("critical", attempt))).customers == critical > 0
    assert scores.kpis(LargeFilter(status="all")).customers == ROWS  # the table is still whole


@pytest.mark.parametrize(("where", "sort", "match"), [
    (LargeFilter(status="gone' OR 1=1"), "priority", "'status' filter must be one of"),
    (LargeFilter(probability=(0.9, 0.1)), "priority", "0 <= low <= high <= 1"),
    (LargeFilter(value_bands=("huge",)), "priority", "'value_bands' filter takes"),
    (LargeFilter(tiers="critical"), "priority", "'tiers' filter must be a tuple"),
    (LargeFilter(min_value="1; DROP TABLE scores"), "priority", "'min_value' filter must be a number"),
    (LargeFilter(), "priority; DROP TABLE scores", "'sort' parameter must be one of"),
])
def test_bad_options_are_refused(scores, where, sort, match):
    with pytest.raises(cc.ParameterError, match=match) as err:
        scores.page(where, sort=sort)
    assert err.value.code == "bad_parameter"


def test_bad_paging_is_refused(scores):
    with pytest.raises(cc.ParameterError, match="'offset' parameter must be a whole number"):
        scores.page(LargeFilter(), offset=-1)
    with pytest.raises(cc.ParameterError, match="'limit' parameter must be a whole number"):
        scores.page(LargeFilter(), limit="500 OR 1=1")


def test_risk_filter_works_too(large, scores):
    where = cc.RiskFilter(tiers=("high",), probability=(0.6, 0.7), actions=("plan_review",))
    frame = large[2]
    keep = (frame["tier"] == "high") & frame["probability"].between(0.6, 0.7) & (frame["action"] == "plan_review") \
        & (frame["status"] == "active")
    assert scores.kpis(where).customers == int(keep.sum()) > 0


def test_choices_are_the_distinct_values(large, scores):
    assert scores.choices("tier") == tuple(sorted(large[2]["tier"].unique()))
    assert scores.choices("reason_1") == tuple(sorted(large[2]["reason_1"].unique()))
    with pytest.raises(cc.ParameterError, match="'column' parameter must be"):
        scores.choices("customer_id")


def test_export_writes_the_filtered_customers_in_page_order(scores, tmp_path):
    where = FILTERS["probability 0.5-0.9, two actions"]
    done = scores.export(where, tmp_path / "out" / "risk.csv", sort="value", limit=1000)
    exported = pd.read_csv(done.path)
    assert done.rows == len(exported) == 1000
    page = scores.page(where, sort="value", limit=1000).frame
    assert exported["customer_id"].tolist() == page["customer_id"].tolist()
    everyone = scores.export(LargeFilter(tiers=("critical",)), tmp_path / "all.csv")
    assert everyone.rows == scores.kpis(LargeFilter(tiers=("critical",))).customers == len(pd.read_csv(everyone.path))


def hostile_set(folder: Path) -> Path:
    """Three rows whose text cells a spreadsheet would run as formulas."""
    rows = {"customer_id": ["=HYPERLINK(\"http://x\")", "+1-555", "C3"], "probability": [0.9, 0.5, 0.1],
            "probability_raw": [0.9, 0.5, 0.1], "tier": ["critical", "medium", "low"], "due_hours": [24, 168, None],
            "value": [-5.0, 10.0, 1.0], "priority": [3.0, 2.0, 1.0], "action": ["@SUM(A1)", "monitor", "none"],
            "status": ["active"] * 3, "reason_1": ["-2+3", "\tcmd", "ok"], "reason_2": ["a", "b", "c"],
            "reason_3": ["a", "b", "=1"], "reason_1_points": [1.0, -1.0, 0.5], "reason_2_points": [0.1] * 3,
            "reason_3_points": [0.1] * 3, "as_of": [pd.Timestamp("2026-06-30").date()] * 3}
    folder.mkdir()
    pq.write_table(pa.table(rows), folder / "part.0.parquet")
    return folder


def test_export_neutralises_formulas(tmp_path):
    scores = LargeScores.from_parquet(str(hostile_set(tmp_path / "hostile")))
    done = scores.export(LargeFilter(), tmp_path / "hostile.csv")
    with open(done.path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["customer_id"] for r in rows] == ["'=HYPERLINK(\"http://x\")", "'+1-555", "C3"]
    assert rows[0]["action"] == "'@SUM(A1)" and rows[0]["reason_1"] == "'-2+3" and rows[1]["reason_1"] == "'\tcmd"
    assert rows[2]["reason_3"] == "'=1" and rows[2]["reason_1"] == "ok"
    assert rows[0]["value"] == "-5.0" and rows[1]["reason_1_points"] == "-1.0"  # numbers stay numbers
    scores.close()


def test_open_needs_registered_parquet_with_the_schema(large, tmp_path):
    store, _, _ = large
    meta = store.save_score_set_meta(1, "xgboost", 1, rows=10)
    with pytest.raises(LargeScoresError, match="has no registered Parquet dataset") as err:
        LargeScores.open(store, meta.id)
    assert err.value.code == "large_scores_not_parquet"
    partial = tmp_path / "partial"
    partial.mkdir()
    pq.write_table(pa.table({"customer_id": ["a"], "probability": [0.5]}), partial / "part.0.parquet")
    with pytest.raises(LargeScoresError, match="lacks columns of the large score schema") as err:
        LargeScores.from_parquet(str(partial), set_id=7)
    assert err.value.code == "large_scores_columns"
    with pytest.raises(LargeScoresError, match="Could not read the Parquet") as err:
        LargeScores.from_parquet(str(tmp_path / "nowhere"), set_id=8)
    assert err.value.code == "large_scores_unreadable"
