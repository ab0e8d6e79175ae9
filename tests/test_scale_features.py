"""churn_core.scale.features on a LocalCluster of 2 workers: the Dask labels and features equal the local ones."""

from __future__ import annotations

import random
import zlib

import numpy as np
import pandas as pd
import pytest

from bench.synthetic import generate_events
from churn_core.errors import ParameterError
from churn_core.events import cutoffs, label_and_features, read_events
from churn_core.scale import (
    ParquetFrame,
    customer_bucket,
    features,
    label_and_features_dask,
    load_frame,
    to_workers,
    write_events_parquet,
)

pytestmark = pytest.mark.scale


@pytest.fixture(scope="module")
def log():
    return read_events(generate_events(20_000, seed=3), id="customer_id", time="visit_date", amount="amount_cny",
                       type="visit_type")


@pytest.fixture(scope="module")
def parquet(log, tmp_path_factory):
    return write_events_parquet(log, tmp_path_factory.mktemp("events") / "ev", buckets=8)


def _assert_same(got, expected):
    pd.testing.assert_frame_equal(got.frame, expected.frame)  # float32 exact: no tolerance
    pd.testing.assert_frame_equal(got.population, expected.population)
    pd.testing.assert_frame_equal(got.lapsed, expected.lapsed)
    assert (got.feature_names, got.type_columns, got.basic_type, got.cutoffs) == (
        expected.feature_names, expected.type_columns, expected.basic_type, expected.cutoffs)


def test_dask_features_equal_local_at_12_monthly_cutoffs(engine, log, parquet):
    dates = list(cutoffs(log).dates)[-12:]
    expected = label_and_features(log, cutoffs=dates)
    got = label_and_features_dask(parquet, engine=engine, cutoffs=dates)
    assert len(got.frame) > 100_000 and got.frame["churned"].notna().all()
    _assert_same(got, expected)


def test_dask_features_equal_local_at_one_as_of_date_from_an_in_memory_log(engine, log):
    as_of = [log.last_date]
    _assert_same(label_and_features_dask(log, engine=engine, cutoffs=as_of, buckets=5),
                 label_and_features(log, cutoffs=as_of))


def test_results_are_aligned_on_the_customer_not_on_their_order(engine, log, parquet, monkeypatch):
    as_of = [log.last_date]
    expected = label_and_features(log, cutoffs=as_of)
    combine = features.combine_buckets

    def shuffled(parts, **options):
        parts = list(parts)
        random.Random(1).shuffle(parts)
        for p in parts:  # and each bucket's rows
            p["frame"] = p["frame"].sample(frac=1, random_state=2)
            p["lapsed"] = p["lapsed"].sample(frac=1, random_state=2)
        return combine(parts, **options)

    monkeypatch.setattr(features, "combine_buckets", shuffled)
    _assert_same(label_and_features_dask(parquet, engine=engine, cutoffs=as_of), expected)


def test_only_module_functions_of_churn_core_scale_are_shipped(engine, parquet, monkeypatch):
    shipped = []
    client = engine.client
    real_map = client.map

    def spy(func, *args, **kwargs):
        shipped.append(func)
        return real_map(func, *args, **kwargs)

    monkeypatch.setattr(client, "map", spy)
    label_and_features_dask(parquet, engine=engine, cutoffs=[parquet.last_date])
    assert shipped and all(f.__module__.startswith("churn_core.scale.") and "<locals>" not in f.__qualname__
                           for f in shipped)


def test_the_bucket_is_the_same_in_the_worker_processes(engine):
    ids = [f"C{i:07d}" for i in range(50)] + ["客户7"]
    on_workers = engine.client.submit(customer_bucket, ids, buckets=16, pure=False).result()
    assert on_workers.tolist() == customer_bucket(ids, buckets=16).tolist() == [
        zlib.crc32(i.encode()) % 16 for i in ids]


@pytest.mark.parametrize("limit", [features.TO_WORKERS_LIMIT, 1_000], ids=["graph", "parquet"])
def test_large_frames_go_to_workers_as_parquet_with_the_same_result(engine, log, tmp_path, monkeypatch, limit):
    monkeypatch.setattr(features, "TO_WORKERS_LIMIT", limit)
    frame = log.frame.head(5_000)
    sent = to_workers(frame, engine, tmpdir=tmp_path)
    assert isinstance(sent, ParquetFrame) == (limit == 1_000)
    pd.testing.assert_frame_equal(engine.client.submit(load_frame, sent, pure=False).result(), frame)


def test_bad_engine_or_url_raises_a_parameter_error(engine, log, tmp_path):
    with pytest.raises(ParameterError, match="needs the dask engine"):
        label_and_features_dask(log, engine="local")
    with pytest.raises(ParameterError, match="holds no event dataset"):
        label_and_features_dask(tmp_path / "nothing", engine=engine)


def test_a_share_of_the_buckets_comes_back_as_a_sample_of_whole_customers(engine, log):
    """collect_share: every bucket is labelled, a share of them returns, each with all of its customers' rows."""
    from churn_core.scale.parquet import customer_bucket

    full = label_and_features_dask(log, engine=engine, buckets=8, cutoffs=[log.last_date])
    half = label_and_features_dask(log, engine=engine, buckets=8, cutoffs=[log.last_date], collect_share=0.5)
    kept = set(customer_bucket(half.frame["customer_id"], buckets=8))
    assert kept == {0, 1, 2, 3}
    expected = full.frame[np.isin(customer_bucket(full.frame["customer_id"], buckets=8), list(kept))]
    pd.testing.assert_frame_equal(half.frame, expected.reset_index(drop=True))
    with pytest.raises(ParameterError, match="collect_share"):
        label_and_features_dask(log, engine=engine, collect_share=0)
