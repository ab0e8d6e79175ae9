"""An event log as a Parquet dataset partitioned by customer bucket, in a local folder or at any fsspec URL.

    <url>/hash_bucket=0/part-0.parquet ... <url>/hash_bucket=15/part-0.parquet   (hive layout; part-k for the
                                                                                 k-th chunk of a chunked write)
    <url>/_events.json                                                           (rows, customers, dates, roles)
    <url>/_customers.parquet                                                     (the customer table, if any)

A customer's events all sit in one bucket, ``crc32(customer_id) % buckets`` (stable across processes and
machines, unlike Python's salted ``hash``), in the log's row order, so a bucket is a complete log of its
customers: the Dask engine labels the buckets apart (:mod:`churn_core.scale.features`). Files whose names start
with ``_`` are skipped by Parquet readers (pyarrow, DuckDB, Dask), so the dataset reads as the events alone.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..events.log import ID, TIME, EventLog, EventRoles

log = logging.getLogger(__name__)

META = "_events.json"
CUSTOMERS = "_customers.parquet"
_FORMAT = 1
_MAX_BUCKETS = 4096


@dataclass(frozen=True, kw_only=True)
class ParquetEvents:
    """An event log stored as Parquet: where, in how many customer buckets (``bucket_rows``: the rows of each
    bucket written; empty buckets have no folder), its rows, customers and first and last event dates."""

    url: str
    buckets: int
    rows: int
    customers: int
    first_date: pd.Timestamp | None
    last_date: pd.Timestamp | None
    bucket_rows: tuple[tuple[int, int], ...] = ()
    type_order: tuple[str, ...] = ()  # event types in order of first appearance in the log
    has_customers: bool = False

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"url": self.url, "buckets": self.buckets, "rows": self.rows,
                              "customers": self.customers, "first_date": self.first_date,
                              "last_date": self.last_date}])

    def bucket_url(self, bucket: int) -> str:
        """The folder of a bucket (its part-k.parquet files)."""
        return _join(self.url, f"hash_bucket={int(bucket)}")

    @property
    def filled_buckets(self) -> list[int]:
        return [b for b, n in self.bucket_rows if n > 0]


def customer_bucket(ids: pd.Series | np.ndarray | list, *, buckets: int) -> np.ndarray:
    """The bucket of each customer id: ``crc32(utf-8 id) % buckets`` (missing ids: bucket 0). The same id gives
    the same bucket in every process and on every machine."""
    _check_buckets(buckets)
    codes, uniques = pd.factorize(pd.Series(ids, dtype="string") if not isinstance(ids, pd.Series) else ids)
    per_id = np.fromiter((zlib.crc32(str(u).encode("utf-8")) % buckets for u in uniques), dtype=np.int64,
                         count=len(uniques))
    out = np.zeros(len(codes), dtype=np.int64)
    present = codes >= 0
    out[present] = per_id[codes[present]]
    return out


def write_events_parquet(events: EventLog | Iterable[EventLog], url: str | os.PathLike, *,
                         buckets: int = 16) -> ParquetEvents:
    """Write the log's columns (``customer_id``, ``event_time``, ``amount``, ``event_type``, then its other
    columns) as Parquet at ``url`` (a folder, created; or an fsspec URL such as ``s3://bucket/events``), one
    folder per customer bucket. The folder must not hold a dataset already: a dataset is written once.

    ``events`` may also be an iterable of logs holding disjoint customers (a log too large to hold in memory,
    read or generated in chunks): chunk k goes to ``part-k.parquet`` of each bucket, so a bucket still holds
    whole customers, chunk by chunk in the log's order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_buckets(buckets)
    url = str(url)
    fs, root = _filesystem(url)
    if fs.exists(_join(root, META)):
        raise ParameterError(f"{url} already holds an event dataset. Write to a new folder instead of replacing "
                             "it.", code="bad_parameter", name="url", value=url)
    chunks = [events] if isinstance(events, EventLog) else events
    fs.makedirs(root, exist_ok=True)
    totals = np.zeros(buckets, dtype=np.int64)
    rows = customers = 0
    first = last = None
    types: dict[str, None] = {}
    first_log = None
    for k, chunk in enumerate(chunks):
        first_log = chunk if first_log is None else first_log
        frame = chunk.frame
        bucket = customer_bucket(frame[ID], buckets=buckets)
        order = np.argsort(bucket, kind="stable")  # each bucket keeps the log's row order
        counts = np.bincount(bucket, minlength=buckets)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        ends = np.cumsum(counts)
        for b in range(buckets):
            if counts[b] == 0 and not (b == 0 and len(frame) == 0 and k == 0):  # an empty log keeps its schema
                continue
            picked = order[ends[b] - counts[b]:ends[b]]
            fs.makedirs(_join(root, f"hash_bucket={b}"), exist_ok=True)
            with fs.open(_join(root, f"hash_bucket={b}", f"part-{k}.parquet"), "wb") as out:
                pq.write_table(table.take(pa.array(picked, type=pa.int64())), out)
        totals += counts
        rows += len(frame)
        customers += chunk.customer_count
        first = chunk.first_date if first is None or (chunk.first_date is not None and chunk.first_date < first) \
            else first
        last = chunk.last_date if last is None or (chunk.last_date is not None and chunk.last_date > last) else last
        if "event_type" in frame:
            types.update(dict.fromkeys(str(t) for t in frame["event_type"].dropna().unique()))
        if k == 0 and chunk.customers is not None:
            with fs.open(_join(root, CUSTOMERS), "wb") as out:
                pq.write_table(pa.Table.from_pandas(chunk.customers, preserve_index=False), out)
    if first_log is None:
        raise ParameterError("There are no events to write: the iterable of logs was empty.", code="bad_parameter",
                             name="events", value="[]")
    written = [(b, int(totals[b])) for b in range(buckets) if totals[b] or (b == 0 and rows == 0)]
    result = ParquetEvents(url=url, buckets=buckets, rows=rows, customers=customers, first_date=first,
                           last_date=last, bucket_rows=tuple(written), type_order=tuple(types),
                           has_customers=first_log.customers is not None)
    meta = {"format": _FORMAT, "buckets": buckets, "rows": result.rows, "customers": result.customers,
            "first_date": _date_text(result.first_date), "last_date": _date_text(result.last_date),
            "bucket_rows": [list(p) for p in written], "type_order": list(result.type_order),
            "has_customers": result.has_customers, "source_name": first_log.source_name,
            "roles": dataclasses.asdict(first_log.roles)}
    with fs.open(_join(root, META), "w") as out:  # last: a folder with the metadata is a complete dataset
        json.dump(meta, out, indent=1)
    log.info("events: %d rows of %d customers written to %s in %d buckets", result.rows, result.customers, url,
             buckets)
    return result


def _parts(fs, root: str, bucket: int) -> list[str]:
    """A bucket's Parquet files in chunk order (part-0, part-1, ..., part-10)."""
    folder = _join(root, f"hash_bucket={int(bucket)}")
    if not fs.exists(folder):
        return []
    files = [f for f in fs.ls(folder, detail=False) if f.rsplit("/", 1)[-1].startswith("part-")]
    return sorted(files, key=lambda f: int(f.rsplit("part-", 1)[-1].split(".")[0]))


def open_events_parquet(url: str | os.PathLike | ParquetEvents) -> ParquetEvents:
    """The :class:`ParquetEvents` written at ``url`` by :func:`write_events_parquet` (its metadata only)."""
    if isinstance(url, ParquetEvents):
        return url
    meta = _read_meta(str(url))
    return ParquetEvents(url=str(url), buckets=int(meta["buckets"]), rows=int(meta["rows"]),
                         customers=int(meta["customers"]), first_date=_date(meta["first_date"]),
                         last_date=_date(meta["last_date"]),
                         bucket_rows=tuple((int(b), int(n)) for b, n in meta["bucket_rows"]),
                         type_order=tuple(meta.get("type_order", [])), has_customers=bool(meta.get("has_customers")))


def read_events_parquet(url: str | os.PathLike | ParquetEvents, *, bucket: int | None = None) -> EventLog:
    """The event log stored at ``url`` (for the local engine), or only the customers of one ``bucket``. Rows
    come bucket by bucket, each in the log's order; dtypes are the written ones."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = open_events_parquet(url)
    meta = _read_meta(source.url)
    fs, root = _filesystem(source.url)
    wanted = [b for b, _ in source.bucket_rows] if bucket is None else [int(bucket)]
    if bucket is not None and not 0 <= int(bucket) < source.buckets:
        raise ParameterError(f"The bucket must be in [0, {source.buckets}). Got {bucket!r}.", code="bad_parameter",
                             name="bucket", value=str(bucket))
    tables = []
    for b in wanted:
        for path in _parts(fs, root, b):
            with fs.open(path, "rb") as f:
                tables.append(pq.read_table(f))
    if not tables:  # a bucket without customers: the schema of bucket 0 or the first one written
        first = source.bucket_rows[0][0]
        with fs.open(_parts(fs, root, first)[0], "rb") as f:
            tables.append(pq.read_table(f).slice(0, 0))
    frame = (pa.concat_tables(tables) if len(tables) > 1 else tables[0]).to_pandas()
    if TIME in frame:
        frame[TIME] = frame[TIME].astype("datetime64[ns]")
    customers = None
    if source.has_customers:
        with fs.open(_join(root, CUSTOMERS), "rb") as f:
            customers = pq.read_table(f).to_pandas()
    roles = meta["roles"]
    roles = EventRoles(**{**roles, "others": tuple(roles.get("others") or ())})
    return EventLog(frame=frame, roles=roles, source_name=meta.get("source_name", "events"), customers=customers)


PARQUET_ENV = "CHURN_RADAR_PARQUET"


def parquet_root(store) -> str:
    """Where new Parquet datasets go: ``$CHURN_RADAR_PARQUET`` (a folder or fsspec URL every worker can read,
    e.g. the shared volume of deploy/docker-compose.yml or ``s3://bucket/churn``), else ``parquet/`` beside the
    store's database file."""
    return os.environ.get(PARQUET_ENV) or str(Path(store.path).parent / "parquet")


def save_events_parquet(store, version: int, events: EventLog, url: str | os.PathLike, *,
                        buckets: int = 16) -> ParquetEvents:
    """Write ``events`` as Parquet at ``url`` and register it in the ``store`` as dataset ``version``'s events."""
    written = write_events_parquet(events, url, buckets=buckets)
    store.register_parquet("events", version, written.url, rows=written.rows, partitions=len(written.bucket_rows))
    return written


# -- helpers ---------------------------------------------------------------------------------------------


def _check_buckets(buckets: int) -> None:
    if isinstance(buckets, bool) or not isinstance(buckets, (int, np.integer)) or not 1 <= buckets <= _MAX_BUCKETS:
        raise ParameterError(f"The 'buckets' parameter must be a whole number in [1, {_MAX_BUCKETS}]. Got "
                             f"{buckets!r} instead.", code="bad_parameter", name="buckets", value=str(buckets))


def _filesystem(url: str):
    """The fsspec filesystem of ``url`` and the path on it."""
    import fsspec

    try:
        return fsspec.core.url_to_fs(url)
    except (ValueError, ImportError) as err:
        raise ParameterError(f"Cannot open the Parquet location {url!r}: {err}. Use a local folder or an fsspec URL "
                             "whose filesystem is installed (s3:// needs s3fs).", code="bad_parameter", name="url",
                             value=url) from err


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


def _read_meta(url: str) -> dict:
    fs, root = _filesystem(url)
    path = _join(root, META)
    if not fs.exists(path):
        raise ParameterError(f"{url} holds no event dataset written by churn_core ({META} is missing). Write it "
                             "with churn_core.scale.write_events_parquet.",
                             code="bad_parameter", name="url", value=url)
    with fs.open(path, "r") as f:
        meta = json.load(f)
    if meta.get("format") != _FORMAT:
        raise ParameterError(f"{url} holds an event dataset of format {meta.get('format')!r}; this version reads "
                             f"format {_FORMAT}. Write it again.", code="bad_parameter", name="url", value=url)
    return meta


def _date_text(value: pd.Timestamp | None) -> str | None:
    return None if value is None else pd.Timestamp(value).isoformat()


def _date(text: str | None) -> pd.Timestamp | None:
    return None if text is None else pd.Timestamp(text)
