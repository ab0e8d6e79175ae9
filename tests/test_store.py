"""churn_core.store: versioned datasets in DuckDB, atomic imports, migrations and the database path."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import churn_core as cc
from churn_core import store as store_module

ROOT = Path(__file__).resolve().parents[1]


def small_dataset(name: str = "small", *, n: int = 120, seed: int = 0, columns: tuple[str, ...] = ()) -> cc.Dataset:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "customer_id": [f"C{i:04d}" for i in range(n)],
        "plan": rng.choice(["basic", "premium"], n),
        "intl_plan": rng.choice(["yes", "no"], n),
        "calls": rng.integers(0, 8, n),
        "fee": rng.uniform(10, 90, n).round(2),
        "churn": rng.choice(["yes", "no"], n, p=[0.25, 0.75]),
    })
    for column in columns:
        frame[column] = rng.integers(0, 5, n)
    return cc.load_dataset(frame.to_csv(index=False).encode(), filename=f"{name}.csv")


def state(store: cc.Store) -> tuple:
    """What a failed import must leave untouched: every version and the active one."""
    return store.list_datasets().versions, store.active_version()


def tables(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


# -- saving and loading ------------------------------------------------------------------------------

def test_new_store_is_empty_and_migrated(tmp_store):
    assert tmp_store.schema_version() == store_module.SCHEMA_VERSION
    assert tmp_store.list_datasets().versions == ()
    assert tmp_store.active_version() is None
    assert list(tmp_store.list_datasets().to_frame().columns) == [
        "version", "name", "source_file", "sha256", "rows", "n_columns", "created_at", "active", "reused", "target",
        "kind"]


def test_round_trip_keeps_values_roles_and_report(tmp_store, bundled):
    saved = tmp_store.save_dataset(bundled)
    assert (saved.version, saved.name, saved.rows, saved.n_columns) == (1, "telecom_churn", 5000, 20)
    assert (saved.active, saved.reused, saved.sha256) == (True, False, bundled.sha256)
    back = tmp_store.load_dataset()
    pd.testing.assert_frame_equal(back.frame, bundled.frame)  # values, dtypes and categories
    assert (back.roles, back.report) == (bundled.roles, bundled.report)
    assert (back.name, back.source_name, back.sha256, back.version) == (
        "telecom_churn", "telecom_churn.csv", bundled.sha256, 1)


def test_loaded_categories_are_unordered_like_the_saved_ones(tmp_store):
    dataset = small_dataset()
    tmp_store.save_dataset(dataset)
    back = tmp_store.load_dataset(1)
    for column in ("plan", "intl_plan"):
        assert isinstance(back.frame[column].dtype, pd.CategoricalDtype)
        assert back.frame[column].cat.ordered is False
        assert back.frame[column].cat.categories.tolist() == dataset.frame[column].cat.categories.tolist()


def test_an_older_version_is_activated_and_listed_with_its_target(tmp_store):
    tmp_store.save_dataset(small_dataset("january", seed=1))
    frame = small_dataset("february", seed=2).frame.rename(columns={"churn": "left"})
    tmp_store.save_dataset(cc.load_dataset(frame.to_csv(index=False).encode(), filename="february.csv"))
    back = tmp_store.activate(1)
    assert (back.version, back.active, back.name, back.target) == (1, True, "january", "churn")
    assert [(v.version, v.active, v.target) for v in tmp_store.list_datasets().versions] == [
        (1, True, "churn"), (2, False, "left")]
    assert tmp_store.load_dataset().name == "january"


def test_same_content_is_reused(tmp_store):
    first = tmp_store.save_dataset(small_dataset())
    again = tmp_store.save_dataset(small_dataset())
    assert (again.version, again.reused, first.reused) == (1, True, False)
    assert len(tmp_store.list_datasets().versions) == 1


def test_second_dataset_becomes_version_2_and_active(tmp_store):
    first = small_dataset("january", seed=1)
    second = small_dataset("february", seed=2)
    tmp_store.save_dataset(first)
    saved = tmp_store.save_dataset(second)
    assert (saved.version, saved.active) == (2, True)
    assert [(v.version, v.active) for v in tmp_store.list_datasets().versions] == [(1, False), (2, True)]
    assert tmp_store.load_dataset().name == "february"
    assert [v.target for v in tmp_store.list_datasets().versions] == ["churn", "churn"]
    old = tmp_store.load_dataset(1)
    assert (old.name, old.version) == ("january", 1)
    pd.testing.assert_frame_equal(old.frame, first.frame, check_dtype=False)


def test_save_without_activating(tmp_store):
    tmp_store.save_dataset(small_dataset("a", seed=1))
    saved = tmp_store.save_dataset(small_dataset("b", seed=2), activate=False)
    assert (saved.version, saved.active, tmp_store.active_version().version) == (2, False, 1)


def test_activate_switches_the_active_version(tmp_store):
    tmp_store.save_dataset(small_dataset("a", seed=1))
    tmp_store.save_dataset(small_dataset("b", seed=2))
    activated = tmp_store.activate(1)
    assert (activated.version, activated.active) == (1, True)
    assert tmp_store.active_version().version == 1
    assert tmp_store.load_dataset().name == "a"


@pytest.mark.parametrize("call", [
    pytest.param(lambda store: store.load_dataset(7), id="load"),
    pytest.param(lambda store: store.activate(7), id="activate"),
])
def test_missing_version_is_not_found(tmp_store, call):
    tmp_store.save_dataset(small_dataset())
    with pytest.raises(cc.NotFoundError, match=r"There is no dataset version 7. Stored versions: \[1\]") as info:
        call(tmp_store)
    assert (info.value.code, info.value.params) == ("dataset_not_found", {"version": 7, "known": [1]})


def test_nothing_active_yet_is_not_found(tmp_store):
    with pytest.raises(cc.NotFoundError, match="No dataset is active yet. Import one") as info:
        tmp_store.load_dataset()
    assert info.value.code == "no_active_dataset"


# -- failed imports change nothing --------------------------------------------------------------------------

def fail_to_activate(self, con, version):
    """Stands in for Store._set_active: fails after the table and the datasets row are written."""
    raise duckdb.Error("disk full")


def test_failure_inside_the_transaction_rolls_back(tmp_store, monkeypatch):
    tmp_store.save_dataset(small_dataset("kept", seed=1))
    before = state(tmp_store)

    monkeypatch.setattr(cc.Store, "_set_active", fail_to_activate)
    with pytest.raises(cc.StoreError, match=r"Could not store the dataset 'new' \(disk full\). Nothing was changed"
                       ) as info:
        tmp_store.save_dataset(small_dataset("new", seed=2))
    monkeypatch.undo()
    assert info.value.code == "store_write_failed"
    assert state(tmp_store) == before
    assert {t for t in tables(tmp_store.path) if t.startswith("dataset_")} == {"dataset_1"}
    assert tmp_store.load_dataset().name == "kept"


def test_columns_differing_only_by_case_are_refused(tmp_store):
    tmp_store.save_dataset(small_dataset("kept", seed=1))
    before = state(tmp_store)
    clash = small_dataset("clash", seed=2)  # validation refuses such a file; a Dataset built in code reaches here
    clash = dataclasses.replace(clash, frame=clash.frame.assign(Region=1, region=2))
    with pytest.raises(cc.StoreError, match=r"the columns \['Region', 'region'\] differ only in upper and lower case"
                       ) as info:
        tmp_store.save_dataset(clash)
    assert info.value.code == "column_case_clash"
    assert state(tmp_store) == before
    assert tmp_store.load_dataset().name == "kept"


def test_a_later_import_works_after_a_failure(tmp_store, monkeypatch):
    monkeypatch.setattr(cc.Store, "_set_active", fail_to_activate)
    with pytest.raises(cc.StoreError, match="Nothing was changed"):
        tmp_store.save_dataset(small_dataset())
    monkeypatch.undo()
    saved = tmp_store.save_dataset(small_dataset())
    assert (saved.reused, saved.active) == (False, True)
    assert tmp_store.load_dataset().n_rows == 120


# -- schema versions -------------------------------------------------------------------------------------

def test_version_1_database_is_migrated(tmp_path):
    path = tmp_path / "old.duckdb"
    old = small_dataset("legacy")
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMP)")
        for sql in store_module.MIGRATIONS[0][1]:
            con.execute(sql)
        con.execute("INSERT INTO schema_version VALUES (1, now())")
        con.register("legacy_frame", old.frame)
        con.execute("CREATE TABLE dataset_1 AS SELECT * FROM legacy_frame")
        con.execute("INSERT INTO datasets VALUES (nextval('dataset_ids'), 'legacy', 'legacy.csv', ?, ?, ?, now(), "
                    "'dataset_1')", [old.sha256, len(old.frame), old.roles.to_json()])
        con.execute("INSERT INTO settings VALUES ('active_dataset', '1')")
    store = cc.Store(path)
    assert store.schema_version() == store_module.SCHEMA_VERSION
    back = store.load_dataset()
    assert (back.name, back.version, back.roles, back.report) == ("legacy", 1, old.roles, None)
    pd.testing.assert_frame_equal(back.frame, old.frame, check_dtype=False)
    assert store.list_datasets().versions[0].n_columns is None
    assert store.save_dataset(small_dataset("new", seed=9)).version == 2


def test_a_version_8_database_gains_dataset_settings(tmp_path):
    path = tmp_path / "v8.duckdb"
    with duckdb.connect(str(path)) as con:  # a database as the release before dataset settings left it
        con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMP)")
        for version, statements in store_module.MIGRATIONS[:8]:
            for sql in statements:
                con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    assert "settings_by_dataset" not in tables(path)
    store = cc.Store(path)
    assert store.schema_version() == store_module.SCHEMA_VERSION >= 9
    saved = store.save_dataset(small_dataset("old_file"))
    assert store.currency(saved.version) == "$"  # nothing chosen: guessed from the data
    store.set_currency(saved.version, "€")
    assert cc.Store(path).currency(saved.version) == "€"


def test_a_version_10_database_gains_campaign_tables_and_keeps_its_data(tmp_path):
    from datetime import date

    from churn_core.campaigns import CampaignSpec, plan_campaign

    path = tmp_path / "v10.duckdb"
    with duckdb.connect(str(path)) as con:  # a database as the release before campaigns left it
        con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMP)")
        for version, statements in store_module.MIGRATIONS[:10]:
            for sql in statements:
                con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    assert "campaigns" not in tables(path)
    store = cc.Store(path)
    saved = store.save_dataset(small_dataset("old_file"))
    assert store.schema_version() == store_module.SCHEMA_VERSION == 12
    assert {"campaigns", "campaign_members", "campaign_batches", "campaign_outcomes"} <= tables(path)
    customers = pd.DataFrame({"id": ["a", "b", "c"], "tier": "high", "probability": 0.7, "action": "retention_call",
                              "due_hours": 72})
    plan = plan_campaign(customers, spec=CampaignSpec(name="first", seed=1, start=date(2026, 10, 1)))
    assert store.save_campaign(plan, dataset_version=saved.version).n_control == 1
    assert store.list_datasets().versions[0].name == "old_file"


# -- per-dataset settings: currency and value per customer ---------------------------------------------------

def test_currency_is_stored_per_dataset_and_survives_a_new_store(tmp_path):
    path = tmp_path / "money.duckdb"
    store = cc.Store(path)
    first = store.save_dataset(small_dataset("shop_a", seed=1))
    other = store.save_dataset(small_dataset("shop_b", seed=2))
    assert store.set_currency(first.version, " € ") == "€"
    reopened = cc.Store(path)  # another process, or the app after a restart
    assert reopened.currency(first.version) == "€"
    assert reopened.currency(other.version) == "$"  # another dataset keeps its own
    newer = reopened.save_dataset(small_dataset("shop_a", seed=3))  # a new version of the same dataset
    assert newer.version != first.version and reopened.currency(newer.version) == "€"


def test_currency_defaults_from_the_datas_locale(tmp_store):
    frame = pd.DataFrame({"客户编号": [f"K{i}" for i in range(40)], "月费": np.arange(40.0),
                          "套餐": ["基础", "高级"] * 20, "流失": ["是", "否"] * 20})
    chinese = tmp_store.save_dataset(cc.load_dataset(frame.to_csv(index=False).encode(), filename="cn.csv"))
    english = tmp_store.save_dataset(small_dataset("en"))
    assert (tmp_store.currency(chinese.version), tmp_store.currency(english.version)) == ("¥", "$")


def test_a_bad_currency_is_refused(tmp_store):
    saved = tmp_store.save_dataset(small_dataset())
    with pytest.raises(cc.ParameterError, match="at most 5 characters.*Got 'dollars'") as info:
        tmp_store.set_currency(saved.version, "dollars")
    assert info.value.code == "bad_currency"
    with pytest.raises(cc.NotFoundError, match="There is no dataset version 99"):
        tmp_store.set_currency(99, "$")


def test_value_per_customer_is_stored_and_can_be_forgotten(tmp_path):
    path = tmp_path / "ltv.duckdb"
    store = cc.Store(path)
    saved = store.save_dataset(small_dataset())
    assert store.value_per_customer(saved.version) is None  # never invented
    store.set_value_per_customer(saved.version, 1250.5)
    assert cc.Store(path).value_per_customer(saved.version) == 1250.5
    with pytest.raises(cc.ParameterError, match="must be a positive number. Got -3"):
        store.set_value_per_customer(saved.version, -3)
    store.set_value_per_customer(saved.version, None)
    assert store.value_per_customer(saved.version) is None


def test_reopening_does_not_migrate_again(tmp_store):
    cc.Store(tmp_store.path)
    with duckdb.connect(str(tmp_store.path), read_only=True) as con:
        applied = [r[0] for r in con.execute("SELECT version FROM schema_version ORDER BY version").fetchall()]
    assert applied == [version for version, _ in store_module.MIGRATIONS]


def test_newer_database_is_refused(tmp_store):
    newer = store_module.SCHEMA_VERSION + 1
    with duckdb.connect(str(tmp_store.path)) as con:
        con.execute("INSERT INTO schema_version VALUES (?, now())", [newer])
    with pytest.raises(cc.StoreError, match=f"has schema version {newer}, newer than.*Upgrade Churn Radar") as info:
        cc.Store(tmp_store.path)
    assert (info.value.code, info.value.params["version"]) == ("db_newer", newer)


@pytest.mark.parametrize("make", [
    pytest.param(lambda p: p.write_bytes(b"not a database " * 100), id="junk-file"),
    pytest.param(lambda p: p.mkdir(), id="a-folder"),
])
def test_unreadable_database(tmp_path, make):
    path = tmp_path / "bad.duckdb"
    make(path)
    with pytest.raises(cc.StoreError, match="Cannot open the database .*point CHURN_RADAR_DB at a new file") as info:
        cc.Store(path, lock_wait=0)
    assert info.value.code == "store_unreadable"


def test_database_held_by_another_process_is_locked(tmp_path):
    path = tmp_path / "held.duckdb"
    cc.Store(path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('held', flush=True); "
                               "sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(cc.StoreError, match="If another Churn Radar process is writing to it, wait") as info:
            cc.Store(path, lock_wait=0)
        assert info.value.code == "store_locked"
    finally:
        holder.communicate("", timeout=30)


# -- where the database lives ---------------------------------------------------------------------------

def test_env_var_sets_the_database_path(tmp_path, monkeypatch):
    target = tmp_path / "from_env.duckdb"
    monkeypatch.setenv("CHURN_RADAR_DB", str(target))
    assert cc.resolve_db_path() == target
    assert cc.resolve_db_path(tmp_path / "explicit.duckdb") == tmp_path / "explicit.duckdb"
    assert cc.Store().path == target and target.is_file()


def test_default_database_path(monkeypatch):
    monkeypatch.delenv("CHURN_RADAR_DB", raising=False)
    assert cc.resolve_db_path() == ROOT / "data" / "churn.duckdb"


def test_store_creates_missing_folders(tmp_path):
    store = cc.Store(tmp_path / "a" / "b" / "c.duckdb")
    assert store.path.is_file()
    assert repr(store) == f"Store({str(store.path)!r})"


# -- seeding ------------------------------------------------------------------------------------------

def test_ensure_active_dataset_seeds_the_bundled_csv_once(tmp_store):
    first = cc.ensure_active_dataset(tmp_store)
    again = cc.ensure_active_dataset(tmp_store)
    assert (first.version, first.name, first.rows, first.active) == (1, "telecom_churn", 5000, True)
    assert again == first
    assert len(tmp_store.list_datasets().versions) == 1


def test_ensure_active_dataset_keeps_an_existing_active_dataset(tmp_store, tmp_path):
    tmp_store.save_dataset(small_dataset("mine"))
    missing_default = tmp_path / "never-read.csv"
    assert cc.ensure_active_dataset(tmp_store, default=missing_default).name == "mine"
    assert len(tmp_store.list_datasets().versions) == 1


# -- model runs, champion, rollback ----------------------------------------------------------------

def _entry(name: str, auc: float) -> dict:
    return {"name": name, "roc_auc": auc, "threshold": 0.4, "artifact": f"/x/{name}.skops", "sha256": "0" * 64}


@pytest.fixture
def store_with_dataset(tmp_store, bundled):
    version = tmp_store.save_dataset(bundled).version
    return tmp_store, version


def test_runs_are_running_until_complete(store_with_dataset):
    store, version = store_with_dataset
    run_id = store.start_run(version, params={"seed": 0})
    assert store.get_run(run_id).status == "running" and store.get_run(run_id).models == ()
    run = store.complete_run(run_id, models=[_entry("xgboost", 0.93)])
    assert (run.status, run.model("xgboost").roc_auc, run.params) == ("complete", 0.93, {"seed": 0})
    assert run.duration_s is not None and run.duration_s >= 0


def test_promote_and_rollback(store_with_dataset):
    store, version = store_with_dataset
    assert store.champion() is None
    first = store.start_run(version, params={})
    store.complete_run(first, models=[_entry("random_forest", 0.91)])
    second = store.start_run(version, params={})
    store.complete_run(second, models=[_entry("xgboost", 0.93)])
    store.promote(first, "random_forest")
    assert (store.promote(second, "xgboost").run_id, store.champion().model) == (second, "xgboost")
    back = store.rollback()
    assert (back.run_id, back.model, back.entry.roc_auc) == (first, "random_forest", 0.91)
    with pytest.raises(cc.StoreError, match="no earlier champion to roll back to"):
        store.rollback()


def test_only_complete_runs_and_known_models_are_promoted(store_with_dataset):
    store, version = store_with_dataset
    run_id = store.start_run(version, params={})
    with pytest.raises(cc.StoreError, match=f"Run {run_id} is running, so its models cannot be promoted"):
        store.promote(run_id, "xgboost")
    store.fail_run(run_id, error="boom")
    assert store.get_run(run_id).error == "boom"
    done = store.start_run(version, params={})
    store.complete_run(done, models=[_entry("xgboost", 0.9)])
    with pytest.raises(cc.NotFoundError, match="has no model 'svm'"):
        store.promote(done, "svm")
    with pytest.raises(cc.NotFoundError, match="no model run 999"):
        store.get_run(999)
    assert store.champion() is None


# -- score sets (issue 4) ----------------------------------------------------------------------------------

def _scores(n: int, explained: int) -> pd.DataFrame:
    from churn_core.store import SCORE_COLUMNS

    frame = pd.DataFrame({"row_index": range(n), "customer_id": [f"c{i}" for i in range(n)],
                          "probability": np.linspace(0, 1, n), "probability_raw": np.linspace(0, 1, n),
                          "explained": [i < explained for i in range(n)]})
    for k in (1, 2, 3):
        frame[f"reason_{k}"] = ["calls" if i < explained else None for i in range(n)]
        frame[f"reason_{k}_value"] = ["4" if i < explained else None for i in range(n)]
        frame[f"reason_{k}_points"] = [0.1 / k if i < explained else np.nan for i in range(n)]
    frame["status"] = ["churned" if i % 5 == 4 else "active" for i in range(n)]
    frame["scored_by"] = "final"
    frame["other_points"] = [0.05 if i < explained else np.nan for i in range(n)]
    frame["protective"] = ["tenure" if i < explained else None for i in range(n)]
    frame["protective_value"] = ["12" if i < explained else None for i in range(n)]
    frame["protective_points"] = [-0.02 if i < explained else np.nan for i in range(n)]
    return frame[list(SCORE_COLUMNS)]


def test_score_sets_are_versioned_per_run_and_completed_in_place(tmp_store, bundled):
    version = tmp_store.save_dataset(bundled).version
    first = tmp_store.save_scores(_scores(6, 2), run_id=1, model="xgboost", dataset_version=version,
                                  units="log-odds", base_probability=0.14, seconds=1.5)
    second = tmp_store.save_scores(_scores(6, 6), run_id=2, model="random_forest", dataset_version=version,
                                   units="probability", base_probability=0.15)
    assert (first.id, first.rows, first.explained) == (1, 6, 2) and second.id == 2
    assert tmp_store.find_score_set(run_id=1, model="xgboost", dataset_version=version) == first
    assert tmp_store.find_score_set(run_id=3, model="xgboost", dataset_version=version) is None
    assert [s.id for s in tmp_store.list_score_sets(dataset_version=version)] == [1, 2]
    more = _scores(6, 6).iloc[[4]].assign(reason_1="tenure", reason_1_points=0.3)
    assert tmp_store.update_reasons(1, more).explained == 3
    loaded = tmp_store.load_scores(1)
    assert loaded.loc[4, "reason_1"] == "tenure" and loaded.loc[4, "explained"]
    assert loaded.loc[5, "reason_1"] is None or pd.isna(loaded.loc[5, "reason_1"])
    assert tmp_store.load_scores(2)["explained"].all()  # the other run's set is untouched
    with pytest.raises(cc.NotFoundError, match="There is no score set 9"):
        tmp_store.load_scores(9)
    with pytest.raises(cc.StoreError, match=r"without the columns \['explained'"):
        tmp_store.save_scores(_scores(3, 0).drop(columns="explained"), run_id=1, model="x",
                              dataset_version=version, units="log-odds", base_probability=None)


# -- ROI scenarios and run thresholds ---------------------------------------------------------------------

def test_scenarios_are_versioned_never_overwritten(tmp_store):
    first = tmp_store.save_scenario("Q3 push", inputs={"customers": 8000}, settings={"currency": "$"})
    second = tmp_store.save_scenario(" Q3 push ", inputs={"customers": 9000}, dataset_version=1, run_id=2,
                                     model="xgboost")
    other = tmp_store.save_scenario("Board", inputs={"customers": 1})
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert second.name == "Q3 push"  # trimmed, so it joins the same history
    assert tmp_store.load_scenario("Q3 push").inputs == {"customers": 9000}
    old = tmp_store.load_scenario("Q3 push", version=1)
    assert (old.inputs, old.settings) == ({"customers": 8000}, {"currency": "$"})
    assert [s.name for s in tmp_store.list_scenarios()] == ["Board", "Q3 push", "Q3 push"]  # newest first
    assert (second.dataset_version, second.run_id, second.model) == (1, 2, "xgboost")


def test_scenario_errors_name_the_fix(tmp_store):
    tmp_store.save_scenario("Board", inputs={})
    with pytest.raises(cc.NotFoundError, match=r"no saved scenario 'Budget'. Saved scenarios: \['Board'\]"):
        tmp_store.load_scenario("Budget")
    with pytest.raises(cc.StoreError, match="needs a name of 1 to 80 characters. Got '  '"):
        tmp_store.save_scenario("  ", inputs={})


def test_profit_threshold_is_stored_on_the_run(trained_db):
    store = cc.Store(trained_db)
    champ = store.champion()
    assert store.threshold(champ.run_id, champ.model) is None
    store.save_threshold(champ.run_id, champ.model, threshold=0.31, rate=0.12, assumptions={"clv": 2000})
    newest = store.save_threshold(champ.run_id, champ.model, threshold=0.42, rate=0.09)
    assert (newest.threshold, newest.rate) == (0.42, 0.09)
    assert store.threshold(champ.run_id, champ.model).threshold == 0.42
    assert store.threshold(champ.run_id, champ.model, kind="f1") is None
    with pytest.raises(cc.NotFoundError, match="has no model 'svm'"):
        store.save_threshold(champ.run_id, "svm", threshold=0.5)


# -- deleting a dataset version ---------------------------------------------------------------------------

def test_a_version_nothing_depends_on_can_be_deleted(trained_db):
    store = cc.Store(trained_db)
    extra = store.save_dataset(small_dataset("extra"), activate=False)
    gone = store.delete_dataset(extra.version)
    assert gone.name == "extra"
    assert [v.version for v in store.list_datasets().versions] == [1]
    with pytest.raises(cc.NotFoundError, match=f"There is no dataset version {extra.version}"):
        store.load_dataset(extra.version)


def test_the_active_version_and_a_trained_on_version_are_kept(trained_db):
    store = cc.Store(trained_db)
    with pytest.raises(cc.StoreError, match="is the active dataset, so it cannot be deleted. Activate another"):
        store.delete_dataset(1)
    assert store.save_dataset(small_dataset("other")).active
    with pytest.raises(cc.StoreError, match=r"model runs \[1\] were trained on it"):
        store.delete_dataset(1)
    assert store.load_dataset(1).n_rows == 5_000


def test_a_model_entry_is_a_typed_frozen_record(store_with_dataset):
    store, version = store_with_dataset
    run_id = store.start_run(version, params={})
    store.complete_run(run_id, models=[{**_entry("xgboost", 0.93), "rank": 1, "features": ["a", "b"],
                                        "a_key_from_a_later_version": 1}])
    store.promote(run_id, "xgboost")
    entry = store.champion().entry
    assert isinstance(entry, cc.ModelEntry)
    assert (entry.name, entry.roc_auc, entry.threshold, entry.rank, entry.features) == ("xgboost", 0.93, 0.4, 1,
                                                                                          ("a", "b"))
    assert (entry.artifact, entry.sha256, entry.folds_artifact) == ("/x/xgboost.skops", "0" * 64, None)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign"):
        entry.roc_auc = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError, match="positional"):
        cc.ModelEntry("xgboost")  # type: ignore[misc]  # keyword-only: a record of many fields is built by name
    assert cc.ModelEntry.from_dict(entry.to_dict()) == entry
    assert store.champion().to_frame().loc[0, "roc_auc"] == 0.93


# -- a damaged, foreign or newer database is refused, and never written to -------------------------------------

def _stored_file(folder: Path) -> Path:
    """A real store with one dataset, closed: its file as another process would find it."""
    path = folder / "real.duckdb"
    store = cc.Store(path)
    store.save_dataset(small_dataset("kept", n=4000, seed=1))
    return path


def _cut_in_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for start in range(store_module._HEADER_BYTES + 1000, len(data), 256 * 1024):  # a run of bytes in every block
        for i in range(start, min(start + 64, len(data))):
            data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _foreign(path: Path) -> None:
    path.unlink()
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE invoices (id INTEGER, amount DOUBLE)")
        con.execute("INSERT INTO invoices VALUES (1, 9.5)")


def _foreign_schema_version(path: Path) -> None:
    """Another program's migrations table that happens to be called schema_version."""
    path.unlink()
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE schema_version (installed_rank INTEGER, script VARCHAR)")
        con.execute("CREATE TABLE orders (id INTEGER)")


def _newer(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO schema_version VALUES (?, now())", [store_module.SCHEMA_VERSION + 3])


@pytest.mark.parametrize(("damage", "error", "code", "message"), [
    pytest.param(_cut_in_half, cc.DatabaseDamagedError, "db_damaged", "is damaged", id="cut-in-half"),
    pytest.param(_flip_bytes, cc.DatabaseDamagedError, "db_damaged", "is damaged .*checksum", id="flipped-bytes"),
    pytest.param(_foreign, cc.DatabaseForeignError, "db_foreign", r"another program.*\['invoices'\]",
                 id="foreign-duckdb"),
    pytest.param(_foreign_schema_version, cc.DatabaseForeignError, "db_foreign", "another program",
                 id="foreign-schema-version-table"),
    pytest.param(_newer, cc.DatabaseNewerError, "db_newer", "newer than this Churn Radar", id="newer-schema"),
])
def test_a_database_that_is_not_ours_as_it_should_be_is_refused_untouched(tmp_path, damage, error, code, message):
    path = _stored_file(tmp_path)
    damage(path)
    before = path.read_bytes()
    with pytest.raises(error, match=message) as info:
        cc.Store(path, lock_wait=0)
    assert isinstance(info.value, cc.StoreError)
    assert info.value.code == code and info.value.params["path"] == str(path)
    assert path.read_bytes() == before  # nothing was written into it: no schema_version, no migration
    assert cc.i18n.text(f"error.{code}", lang="zh", **{k: str(v) for k, v in info.value.params.items()})


def test_damage_found_while_reading_is_a_damaged_database_error(tmp_path):
    """A store opened before its file was damaged meets the damage in a query: the same refusal."""
    path = _stored_file(tmp_path)
    store = cc.Store(path)
    _flip_bytes(path)
    with pytest.raises(cc.DatabaseDamagedError, match="is damaged"):
        store.load_dataset()


def test_a_new_empty_file_is_ours_to_create(tmp_path):
    path = tmp_path / "new.duckdb"
    duckdb.connect(str(path)).close()  # an empty DuckDB file: no tables yet
    assert cc.Store(path).schema_version() == store_module.SCHEMA_VERSION


# -- a full disk: refused before writing, nothing changed, later writes work -------------------------------

def _disk_with(free: int):
    return lambda path: type("usage", (), {"total": 10 * free, "used": 9 * free, "free": free})()


def test_an_import_that_does_not_fit_on_the_disk_is_refused_before_writing(tmp_store, monkeypatch):
    tmp_store.save_dataset(small_dataset("kept", seed=1))
    before, content = state(tmp_store), tmp_store.path.read_bytes()
    monkeypatch.setattr(store_module.shutil, "disk_usage", _disk_with(store_module.SPACE_MARGIN_BYTES + 1000))
    with pytest.raises(cc.DiskFullError, match=r"Not enough free space .*Nothing was changed") as info:
        tmp_store.save_dataset(small_dataset("new", n=5000, seed=2))
    assert info.value.code == "disk_full" and float(info.value.params["needed"]) > float(info.value.params["free"])
    assert tmp_store.path.read_bytes() == content  # not one byte written
    monkeypatch.setattr(store_module.shutil, "disk_usage", _disk_with(1000))  # even a small write needs a margin
    with pytest.raises(cc.DiskFullError, match="Not enough free space"):
        tmp_store.start_run(1, params={})
    monkeypatch.undo()
    assert state(tmp_store) == before
    assert tmp_store.save_dataset(small_dataset("later", seed=3)).version == 2  # the disk has room again


def test_an_os_error_in_the_middle_of_an_import_leaves_the_database_as_it_was(tmp_store, monkeypatch):
    tmp_store.save_dataset(small_dataset("kept", seed=1))
    before = state(tmp_store)

    def no_space(self, con, version):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cc.Store, "_set_active", no_space)
    with pytest.raises(cc.StoreError, match="No space left on device.*Nothing was changed") as info:
        tmp_store.save_dataset(small_dataset("new", seed=2))
    monkeypatch.undo()
    assert info.value.code == "store_write_failed"
    assert state(tmp_store) == before
    assert {t for t in tables(tmp_store.path) if t.startswith("dataset_")} == {"dataset_1"}  # no half-written table
    assert tmp_store.save_dataset(small_dataset("later", seed=3)).name == "later"
    assert tmp_store.load_dataset().name == "later"


def test_a_whole_file_whose_free_end_blocks_were_truncated_opens(tmp_path):
    """DuckDB cuts free blocks off the end of the file on a checkpoint, and its header still counts them: such
    a file is whole, not damaged (it was refused as "cut short" before)."""
    path = tmp_path / "freed.duckdb"
    store = cc.Store(path)
    with duckdb.connect(str(path)) as con:  # grow the file, then free its last blocks
        con.execute("CREATE TABLE keep AS SELECT range AS i, md5(range::varchar) AS s FROM range(100000)")
        con.execute("CHECKPOINT")
        con.execute("CREATE TABLE filler AS SELECT range AS i, md5(range::varchar) AS s FROM range(300000)")
        con.execute("CHECKPOINT")
        con.execute("DROP TABLE filler")
        con.execute("CHECKPOINT")
    with duckdb.connect(str(path), read_only=True) as con:
        block, total = con.execute("SELECT block_size, total_blocks FROM pragma_database_size()").fetchone()
    assert path.stat().st_size < store_module._HEADER_BYTES + block * total  # the situation this is about
    reopened = cc.Store(path, lock_wait=0)
    assert reopened.schema_version() == store_module.SCHEMA_VERSION
    assert store.list_datasets().versions == ()


def test_the_parquet_catalog_records_each_path_once(tmp_store):
    assert tmp_store.parquet_url("scores", 3) is None
    tmp_store.register_parquet("scores", 3, "/data/parquet/scores/3", rows=10_000_000, partitions=16)
    assert tmp_store.parquet_url("scores", 3) == "/data/parquet/scores/3"
    with pytest.raises(cc.StoreError, match="already have a Parquet dataset"):
        tmp_store.register_parquet("scores", 3, "/elsewhere")
    assert tmp_store.parquet_url("scores", 3) == "/data/parquet/scores/3"
    with pytest.raises(cc.ParameterError, match="Parquet kind"):
        tmp_store.register_parquet("models", 1, "/x")


def test_a_large_score_set_is_a_catalog_row_with_its_parquet(tmp_store):
    version = tmp_store.save_dataset(small_dataset("big")).version
    meta = tmp_store.save_score_set_meta(1, "xgboost", version, rows=10_000_000, as_of="2026-09-30")
    assert (meta.rows, meta.explained, str(meta.as_of)) == (10_000_000, 10_000_000, "2026-09-30")
    tmp_store.register_parquet("scores", meta.id, "/parquet/scores/1", rows=10_000_000, partitions=8)
    assert tmp_store.load_scores(meta.id).empty and tmp_store.parquet_url("scores", meta.id) == "/parquet/scores/1"
