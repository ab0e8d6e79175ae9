"""`python -m churn_core train --events` and `score --events`: out-of-time figures, population and baseline in
the JSON; one row per eligible customer in the scores."""

import json

import pandas as pd
import pytest

import churn_core as cc
from churn_core.__main__ import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def log_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_events")
    demo = cc.generate_visits(n_customers=2000, years=3, seed=5)
    visits = demo.visits.assign(visit_date=demo.visits["visit_date"].dt.strftime("%Y%m%d").astype(int))
    visits.to_csv(folder / "visits.csv", index=False)  # yyyymmdd dates, as a dealer system exports them
    demo.customers.to_csv(folder / "customers.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def trained(log_files, tmp_path_factory):
    db = tmp_path_factory.mktemp("db") / "cli.duckdb"
    code = main(["train", "--events", str(log_files / "visits.csv"), "--customers", str(log_files / "customers.csv"),
                 "--window", "240", "--promote", "--models", "logistic_regression", "--db", str(db),
                 "--format", "json"])
    return code, db


def test_train_events_prints_out_of_time_figures_population_and_baseline(trained, log_files, capsys):
    code, db = trained
    assert code == 0
    code, out, _ = run(capsys, "train", "--events", str(log_files / "visits.csv"), "--customers",
                       str(log_files / "customers.csv"), "--window", "240", "--models", "logistic_regression",
                       "--db", str(db), "--format", "json")
    assert code == 0
    result = json.loads(out)
    assert result["mode"] == "events"
    population = result["population"]
    assert population["window_days"] == 240 and population["lookback_days"] == 365
    gap = pd.Timestamp(population["test_cutoff"]) - pd.Timestamp(population["cutoffs"][-1])
    assert gap.days >= 240  # no training label window overlaps the test one
    assert population["train_rows"] > population["test_rows"] > 0
    assert 0 < population["test_churn_rate"] < 1
    assert set(result["baseline"]) >= {"rule", "roc_auc", "precision"}
    assert result["baseline"]["rule"].startswith("no visit in the last")
    store = cc.Store(db)
    run_ = store.get_run(result["run_id"])
    predictions = store.load_predictions(result["run_id"], "logistic_regression")
    from sklearn.metrics import roc_auc_score

    # the printed AUC is the test cut-off's, not a random holdout's
    assert result["models"][0]["roc_auc"] == pytest.approx(roc_auc_score(predictions["y"], predictions["proba"]))
    assert len(predictions) == population["test_rows"] and run_.params["mode"] == "events"
    assert result["verdict"] in {"better", "no_better", "no_signal"}


def test_promoting_from_the_command_line_scores_the_history_back_to_the_test_cutoff(trained):
    _, db = trained
    store = cc.Store(db)
    champion, version = store.champion(), store.active_version().version
    dates = cc.score_history(store, version, run_id=champion.run_id, model=champion.model).dates
    assert dates[0] == store.load_dataset(version).events.test_cutoff and len(dates) > 2


def test_score_events_writes_one_row_per_eligible_customer(trained, log_files, tmp_path, capsys):
    _, db = trained
    out = tmp_path / "scores.csv"
    code, printed, _ = run(capsys, "score", "--events", str(log_files / "visits.csv"), "--customers",
                           str(log_files / "customers.csv"), "--as-of", "2026-06-30", "--out", str(out),
                           "--explain", "none", "--db", str(db), "--format", "json")
    assert code == 0
    result = json.loads(printed)
    frame = pd.read_csv(out, encoding="utf-8-sig")
    assert {"as_of", "days_since_last_event", "lifecycle_stage", "churn_probability", "risk_tier"} <= set(frame)
    assert (frame["as_of"] == "2026-06-30").all()
    assert (frame["days_since_last_event"] < 365).all()  # eligible only; the lapsed are counted apart
    assert len(frame) == result["rows"] and result["lapsed"] > 0
    assert result["stored"] and result["probability_of"] == "no visit in the next 240 days"
    stored = cc.Store(db).score_set(result["score_set"])
    assert str(stored.as_of) == "2026-06-30"


def test_data_and_events_together_are_refused(trained, log_files, tmp_path, capsys):
    _, db = trained
    code, _, err = run(capsys, "train", "--data", str(cc.BUNDLED_CSV), "--events", str(log_files / "visits.csv"),
                       "--db", str(db))
    assert code == 1 and "either --data" in err


def test_train_events_stores_the_currency_the_log_names(trained, log_files, tmp_path, capsys):
    """The log's amount column is amount_cny: the dataset is in ¥ (the built customer table calls it spend_365d,
    so the dataset used to fall back to $, unlike the same files uploaded on the Data page); a currency chosen
    before for the dataset's name stays."""
    code, db = trained
    assert code == 0
    store = cc.Store(db)
    assert store.currency(store.active_version().version) == "¥"
    other = tmp_path / "other.duckdb"
    visits = pd.read_csv(log_files / "visits.csv").rename(columns={"amount_cny": "paid"})
    visits.to_csv(tmp_path / "visits.csv", index=False)
    code, _, _ = run(capsys, "train", "--events", str(tmp_path / "visits.csv"), "--models", "logistic_regression",
                     "--db", str(other), "--format", "json")
    assert code == 0
    store = cc.Store(other)
    (version,) = store.list_datasets().versions
    assert store.currency(version.version) == "$"  # nothing in these files names a currency
    store.set_currency(version.version, "€")
    code, _, _ = run(capsys, "train", "--events", str(tmp_path / "visits.csv"), "--window", "180",
                     "--models", "logistic_regression", "--db", str(other), "--format", "json")
    assert code == 0 and store.currency(max(v.version for v in store.list_datasets().versions)) == "€"


def test_train_events_counts_only_the_given_visit_types(log_files, tmp_path, capsys):
    code, out, _ = run(capsys, "train", "--events", str(log_files / "visits.csv"), "--window", "240",
                       "--visit-types", "maintenance", "repair", "--models", "logistic_regression",
                       "--db", str(tmp_path / "v.duckdb"), "--format", "json")
    assert code == 0
    result = json.loads(out)
    store = cc.Store(tmp_path / "v.duckdb")
    assert store.load_dataset(result["dataset_version"]).events.window["visit_types"] == ["maintenance", "repair"]
