"""churn_core.scale.parquet: an event log as Parquet in customer buckets, written and read without a cluster."""

from __future__ import annotations

import pandas as pd
import pytest

import churn_core as cc
from bench.synthetic import generate_events
from churn_core.errors import ParameterError
from churn_core.events import label_and_features, read_events
from churn_core.scale import (
    customer_bucket,
    features_with,
    open_events_parquet,
    read_events_parquet,
    save_events_parquet,
    write_events_parquet,
)


@pytest.fixture(scope="module")
def log():
    return read_events(generate_events(600, seed=3), id="customer_id", time="visit_date", amount="amount_cny",
                       type="visit_type")


def _by_customer(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["customer_id", "event_time"], kind="stable").reset_index(drop=True)


def test_the_log_round_trips_with_its_rows_customers_dates_and_dtypes(log, tmp_path):
    written = write_events_parquet(log, tmp_path / "ev", buckets=4)
    assert (written.rows, written.customers) == (len(log.frame), log.customer_count)
    assert (written.first_date, written.last_date) == (log.first_date, log.last_date)
    assert sum(n for _, n in written.bucket_rows) == len(log.frame)
    assert sorted(p.name for p in (tmp_path / "ev").iterdir()) == [
        "_events.json", "hash_bucket=0", "hash_bucket=1", "hash_bucket=2", "hash_bucket=3"]
    back = read_events_parquet(tmp_path / "ev")
    assert back.frame.dtypes.to_dict() == log.frame.dtypes.to_dict()
    pd.testing.assert_frame_equal(_by_customer(back.frame), _by_customer(log.frame))
    assert back.roles == log.roles
    assert open_events_parquet(str(tmp_path / "ev")) == written


def test_a_bucket_holds_all_of_its_customers_events_and_no_other(log, tmp_path):
    written = write_events_parquet(log, tmp_path / "ev", buckets=4)
    parts = [read_events_parquet(written, bucket=b).frame for b in range(4)]
    ids = [set(p["customer_id"]) for p in parts]
    assert all(not (ids[i] & ids[j]) for i in range(4) for j in range(i + 1, 4))
    for b, part in enumerate(parts):
        assert (customer_bucket(part["customer_id"], buckets=4) == b).all()
        whole = log.frame[log.frame["customer_id"].isin(ids[b])].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, whole)  # the log's own row order within a bucket


def test_the_bucket_is_crc32_of_the_id_not_pythons_salted_hash():
    import zlib

    assert customer_bucket(["C0000001", "客户7"], buckets=16).tolist() == [
        zlib.crc32(b"C0000001") % 16, zlib.crc32("客户7".encode()) % 16]


def test_a_customer_table_round_trips(log, tmp_path):
    customers = pd.DataFrame({"customer_id": log.frame["customer_id"].unique()})
    customers["region"] = ["north" if i % 2 else "south" for i in range(len(customers))]
    with_table = cc.events.attach_customers(log, customers)
    back = read_events_parquet(write_events_parquet(with_table, tmp_path / "ev", buckets=3))
    pd.testing.assert_frame_equal(back.customers, with_table.customers)


def test_local_features_on_the_parquet_equal_those_on_the_log(log, tmp_path):
    written = write_events_parquet(log, tmp_path / "ev", buckets=4)
    expected = label_and_features(log)
    got = features_with("local", written)
    pd.testing.assert_frame_equal(got.frame, expected.frame)
    assert got.feature_names == expected.feature_names


def test_saving_registers_the_dataset_in_the_store(log, tmp_path):
    store = cc.Store(tmp_path / "t.duckdb")
    written = save_events_parquet(store, 7, log, tmp_path / "ev", buckets=2)
    assert store.parquet_url("events", 7) == written.url == str(tmp_path / "ev")


@pytest.mark.parametrize(("call", "match"), [
    pytest.param(lambda log, p: write_events_parquet(log, p, buckets=0), r"'buckets' parameter.*Got 0", id="buckets"),
    pytest.param(lambda log, p: write_events_parquet(log, "nosuchfs://x/y"), r"Cannot open the Parquet location",
                 id="protocol"),
    pytest.param(lambda log, p: read_events_parquet(p / "missing"), r"holds no event dataset", id="missing"),
    pytest.param(lambda log, p: features_with("spark", log), r"engine must be 'local'.*spark", id="engine"),
])
def test_bad_options_raise_a_parameter_error(log, tmp_path, call, match):
    with pytest.raises(ParameterError, match=match):
        call(log, tmp_path)


def test_a_dataset_is_written_once(log, tmp_path):
    write_events_parquet(log, tmp_path / "ev", buckets=2)
    with pytest.raises(ParameterError, match="already holds an event dataset"):
        write_events_parquet(log, tmp_path / "ev", buckets=2)


def test_a_log_written_in_chunks_reads_back_as_the_whole_log(tmp_path):
    """A log too large to hold is written chunk by chunk (disjoint customers): part-k per bucket, the same
    metadata as one write, and each bucket reads back with its customers' events in order."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from synthetic import generate_events

    import churn_core as cc
    from churn_core.scale.parquet import open_events_parquet, read_events_parquet, write_events_parquet

    frame = generate_events(3000, seed=4)
    whole = cc.read_events(frame, id="customer_id", time="visit_date", amount="amount_cny", type="visit_type")
    ids = frame["customer_id"]
    halves = [cc.read_events(frame[ids < "C0001500"], id="customer_id", time="visit_date", amount="amount_cny",
                             type="visit_type"),
              cc.read_events(frame[ids >= "C0001500"], id="customer_id", time="visit_date", amount="amount_cny",
                             type="visit_type")]
    one = write_events_parquet(whole, tmp_path / "one", buckets=4)
    two = write_events_parquet(iter(halves), tmp_path / "two", buckets=4)
    assert (two.rows, two.customers, two.first_date, two.last_date) == (one.rows, one.customers, one.first_date,
                                                                        one.last_date)
    assert dict(two.bucket_rows) == dict(one.bucket_rows)
    assert sorted(p.name for p in (tmp_path / "two" / "hash_bucket=1").iterdir()) == ["part-0.parquet",
                                                                                     "part-1.parquet"]
    for b in range(4):
        a = read_events_parquet(one, bucket=b).frame.sort_values(["customer_id", "event_time"], kind="stable")
        c = read_events_parquet(open_events_parquet(tmp_path / "two"), bucket=b).frame.sort_values(
            ["customer_id", "event_time"], kind="stable")
        pd.testing.assert_frame_equal(a.reset_index(drop=True), c.reset_index(drop=True))
