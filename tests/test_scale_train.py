"""XGBoost on a Dask engine (issue 18): training with xgboost.dask, batch scoring and reasons per partition, and
the command line's --engine dask. One LocalCluster of 2 workers for the module; 20k synthetic customers."""

import json
import logging
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import xgboost
from xgboost import XGBClassifier

import churn_core as cc
from churn_core.__main__ import main
from churn_core.artifacts import load_model, save_model
from churn_core.events import read_events
from churn_core.explain import design_matrix, explain_customers
from churn_core.scale import Engine
from churn_core.scale.scoring import SCORE_COLUMNS, score_dask
from churn_core.scale.training import memory_check, to_dask_frame
from churn_core.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synthetic import generate_events  # noqa: E402

pytestmark = pytest.mark.scale


def _log_from(path):
    return read_events(pd.read_csv(path), id="customer_id", time="visit_date", amount="amount_cny",
                       type="visit_type")


def _log(customers: int):
    return read_events(generate_events(customers, seed=3), id="customer_id", time="visit_date",
                       amount="amount_cny", type="visit_type")


@pytest.fixture(scope="module")
def labelled():
    return cc.label_and_features(_log(20_000))


@pytest.fixture(scope="module")
def local_result(labelled):
    return cc.train_out_of_time(labelled, models=("xgboost",))


@pytest.fixture(scope="module")
def dask_result(labelled, engine):
    return cc.train_out_of_time(labelled, models=("xgboost",), engine=engine)


@pytest.fixture(scope="module")
def as_of_rows(labelled):
    """The test cut-off's customers with their features: a table to score."""
    frame = labelled.frame
    return frame[frame["cutoff"] == frame["cutoff"].max()].reset_index(drop=True)


def test_dask_training_matches_local_auc_and_records_the_engine(local_result, dask_result):
    local, dask = local_result.models[0], dask_result.models[0]
    assert abs(dask.holdout.roc_auc - local.holdout.roc_auc) < 0.005
    assert abs(dask.cv_mean("roc_auc") - local.cv_mean("roc_auc")) < 0.01
    assert (dask_result.engine, local_result.engine) == ("dask", "local")
    assert dask_result.engine_notes["memory"]["sampled"] is False
    assert dask_result.engine_notes["memory"]["rows_after"] == len(dask_result.train_index)
    assert "xgboost.dask" in dask_result.engine_notes["xgboost"]
    assert local_result.engine_notes == {}


def test_the_dask_trained_estimator_is_a_plain_xgboost_pipeline_that_saves_and_loads(dask_result, local_result,
                                                                                     as_of_rows, tmp_path):
    model = dask_result.models[0].estimator
    local = local_result.models[0].estimator
    assert type(model) is type(local)
    assert type(model.estimator_[-1]) is XGBClassifier
    assert model.estimator_[-1].get_params() == local.estimator_[-1].get_params()
    assert all(type(f[-1]) is XGBClassifier for f in dask_result.models[0].fold_models)
    sha = save_model(model, tmp_path / "xgboost.skops")
    loaded = load_model(tmp_path / "xgboost.skops", sha256=sha)
    assert np.array_equal(loaded.predict_proba(as_of_rows)[:, 1], model.predict_proba(as_of_rows)[:, 1])


def test_dask_scores_equal_local_scores_when_partitions_arrive_shuffled(dask_result, as_of_rows, engine, tmp_path):
    model = dask_result.models[0].estimator
    shuffled = as_of_rows.sample(frac=1.0, random_state=7)
    url = str(tmp_path / "scores")
    scores = score_dask(shuffled, model=model, engine=engine, as_of="2025-06-30", value="spend_365d",
                        out_url=url, npartitions=3)
    out = scores.to_frame()
    assert scores.partitions == 3 and scores.rows == len(as_of_rows) == len(out)
    ids = as_of_rows["customer_id"].astype(str).to_numpy()
    assert not np.array_equal(out["customer_id"].to_numpy(dtype=str), ids)  # positions differ: align on ids
    by_id = out.set_index("customer_id").loc[ids]
    local = model.calibrate(model.predict_raw(as_of_rows))
    assert np.array_equal(by_id["probability"].to_numpy(), local)
    assert np.array_equal(by_id["probability_raw"].to_numpy(), model.predict_raw(as_of_rows))
    assert scores.base_probability == pytest.approx(local.mean(), rel=1e-12)
    # the reasons are those local explanation gives (XGBoost's own contributions, in points around the mean)
    reasons = explain_customers(model, as_of_rows.iloc[:500], calibrate=model.calibrate,
                                mean_probability=scores.base_probability).table
    assert np.array_equal(by_id["reason_1"].to_numpy(dtype=object)[:500], reasons["reason_1"].to_numpy(dtype=object))
    assert np.allclose(by_id["reason_2_points"].to_numpy()[:500], reasons["reason_2_points"].to_numpy())
    # the policy columns: tiers by probability, priority = probability x value x 0.3 / 5
    top = by_id["probability"] >= 0.8
    assert (by_id.loc[top, "tier"] == "critical").all() and (by_id.loc[top, "action"] == "retention_call").all()
    value = as_of_rows["spend_365d"].fillna(0).to_numpy()
    assert np.allclose(by_id["priority"].to_numpy(), local * value * 0.3 / 5)
    schema = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{url}/*.parquet')").fetchall()
    assert [(row[0], row[1]) for row in schema] == list(SCORE_COLUMNS.items())
    assert duckdb.sql(f"SELECT min(as_of) FROM read_parquet('{url}/*.parquet')").fetchall()[0][0].isoformat() \
        == "2025-06-30"


def test_contributions_and_base_value_add_up_to_the_raw_margin(dask_result, as_of_rows):
    model = dask_result.models[0].estimator
    booster = model.estimator_[-1].get_booster()
    matrix = xgboost.DMatrix(design_matrix(model, as_of_rows), missing=np.nan)
    contributions = booster.predict(matrix, pred_contribs=True)  # features, then the base value
    margin = booster.predict(matrix, output_margin=True)
    assert np.allclose(contributions.sum(axis=1), margin, atol=1e-4)
    assert np.allclose(1 / (1 + np.exp(-margin)), model.predict_raw(as_of_rows), atol=1e-6)


def test_memory_check_samples_customers_when_the_workers_memory_is_small(engine, monkeypatch, caplog):
    small = cc.label_and_features(_log(2_000))
    limit = 4 * 2**20  # 4 MB across the workers: about half of what the training set needs
    monkeypatch.setattr(Engine, "worker_memory", lambda self: limit)
    with caplog.at_level(logging.INFO, logger="churn_core.scale.training"):
        result = cc.train_out_of_time(small, models=("xgboost",), engine=engine)
    memory = result.engine_notes["memory"]
    assert memory["sampled"] is True and memory["worker_memory"] == limit
    assert memory["rows_after"] < memory["rows_before"] == len(result.train_index)
    assert memory["customers_after"] < memory["customers_before"]
    assert memory["matrix_bytes"] * memory["rows_after"] / memory["rows_before"] <= 0.6 * limit * 1.05
    assert any("training XGBoost on" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert any(f"fitted {memory['rows_after']} rows" in r.getMessage() for r in caplog.records)  # the final fit
    assert result.models[0].holdout.roc_auc > 0.6


def test_memory_check_keeps_every_cutoff_of_a_kept_customer():
    X = pd.DataFrame({"a": np.arange(1000.0)})
    ids = np.repeat([f"C{i}" for i in range(100)], 10)
    check = memory_check(X, ids, worker_memory=int(X.memory_usage(index=False).sum()), seed=1)
    assert check.sampled and check.customers_after == 30
    kept = pd.Series(check.keep).groupby(ids).agg(["all", "any"])
    assert (kept["all"] == kept["any"]).all() and check.rows_after == 300
    assert not memory_check(X, ids, worker_memory=None).sampled


def test_a_large_frame_goes_to_the_workers_through_parquet_in_its_row_order(engine, tmp_path):
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(1000)], "x": np.arange(1000.0)}).sample(
        frac=1.0, random_state=3)
    small = to_dask_frame(frame, engine, npartitions=3)
    large = to_dask_frame(frame, engine, npartitions=3, folder=str(tmp_path), parquet_bytes=1)  # "over 100 MB"
    assert len(list(tmp_path.glob("churn_radar_*/part.*.parquet"))) == 3
    assert small.npartitions == large.npartitions == 3
    pd.testing.assert_frame_equal(small.compute(), frame)
    pd.testing.assert_frame_equal(large.compute().reset_index(drop=True), frame.reset_index(drop=True),
                                  check_dtype=False)  # Parquet strings read back as pyarrow strings


def run(capsys, *argv: str) -> dict:
    code = main([*argv, "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_cli_trains_and_scores_on_the_dask_engine_like_the_local_one(engine, tmp_path, capsys):
    events = tmp_path / "visits.csv"
    generate_events(3_000, seed=3).to_csv(events, index=False)
    dask_db, local_db = str(tmp_path / "dask.duckdb"), str(tmp_path / "local.duckdb")
    cluster = ["--engine", "dask", "--scheduler", engine.address]  # the module's cluster, not a new one
    trained = run(capsys, "train", "--events", str(events), *cluster, "--models", "xgboost", "--promote",
                  "--db", dask_db)
    local = run(capsys, "train", "--events", str(events), "--models", "xgboost", "--db", local_db)
    assert trained["engine"] == "dask" and local["engine"] == "local"
    assert abs(trained["models"][0]["roc_auc"] - local["models"][0]["roc_auc"]) < 0.005
    params = Store(dask_db).get_run(trained["run_id"]).params
    # the log is kept as bucketed Parquet beside the database, and the workers labelled it in place
    assert Store(dask_db).parquet_url("events", trained["dataset_version"]) == str(
        tmp_path / "parquet" / "events" / f"v{trained['dataset_version']}")
    assert Store(local_db).parquet_url("events", local["dataset_version"]) is None
    assert params["engine"] == "dask" and params["summary"]["engine_notes"]["memory"]["sampled"] is False
    assert params["engine_notes"] == {"xgboost": "xgboost.dask on the engine's workers, loaded into a plain "
                                                 "XGBClassifier"}
    url = str(tmp_path / "scores")
    scored = run(capsys, "score", "--events", str(events), *cluster, "--out", str(tmp_path / "dask.csv"),
                 "--out-parquet", url, "--db", dask_db)
    assert scored["stored"] and Store(dask_db).parquet_url("scores", scored["score_set"]) == url
    # the same champion scoring the same customers on the local engine gives the same numbers
    again = run(capsys, "score", "--events", str(events), "--out", str(tmp_path / "local.csv"), "--db", dask_db)
    assert again["rows"] == scored["rows"] and again["run_id"] == scored["run_id"]
    stored = Store(dask_db).load_scores(again["score_set"]).set_index("customer_id")
    on_dask = pd.read_parquet(url).set_index("customer_id").loc[stored.index]
    assert np.array_equal(on_dask["probability"].to_numpy(), stored["probability"].to_numpy(dtype=float))
    csv = pd.read_csv(tmp_path / "dask.csv", dtype={"customer_id": str})
    assert np.array_equal(csv.set_index("customer_id").loc[stored.index, "probability"].to_numpy(),
                          stored["probability"].to_numpy(dtype=float))
    # the nightly path: the log as bucketed Parquet, never read into the CLI's process, scores the same
    from churn_core.scale import write_events_parquet

    folder = tmp_path / "nightly_log"
    write_events_parquet(_log_from(events), folder, buckets=8)
    nightly_url = str(tmp_path / "nightly_scores")
    nightly = run(capsys, "score", "--events", str(folder), *cluster, "--out-parquet", nightly_url, "--db", dask_db)
    assert nightly["source"] == "parquet" and nightly["rows"] == scored["rows"] and nightly["stored"]
    assert Store(dask_db).parquet_url("scores", nightly["score_set"]) == nightly_url
    from_parquet = pd.read_parquet(nightly_url).set_index("customer_id").loc[stored.index]
    assert np.array_equal(from_parquet["probability"].to_numpy(), stored["probability"].to_numpy(dtype=float))


def test_cli_refuses_dask_options_without_a_visit_log(capsys, tmp_path):
    code = main(["score", "--events", "x.csv", "--out-parquet", str(tmp_path / "p"), "--db", str(tmp_path / "a")])
    assert code == 1 and "--out-parquet writes a Dask scoring" in capsys.readouterr().err
    code = main(["train", "--data", "x.csv", "--engine", "dask", "--db", str(tmp_path / "a")])
    assert code == 1 and "--engine dask trains visit logs" in capsys.readouterr().err


def test_a_training_set_sent_through_parquet_trains_like_one_scattered(engine, monkeypatch):
    """Over the 100 MB hand-off limit the matrix goes to the workers as Parquet; read back, the features and the
    label must stay the same partitions (dask planned them apart and failed at 200k customers)."""
    import churn_core.scale.training as training

    small = cc.label_and_features(_log(1_000))
    scattered = cc.train_out_of_time(small, models=("xgboost",), engine=engine)
    monkeypatch.setattr(training, "PARQUET_BYTES", 1)
    monkeypatch.setattr(training.to_dask_frame, "__defaults__", (None, None, 1))
    through_parquet = cc.train_out_of_time(small, models=("xgboost",), engine=engine)
    assert through_parquet.models[0].holdout.roc_auc == pytest.approx(scattered.models[0].holdout.roc_auc, abs=0.005)
