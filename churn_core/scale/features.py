"""Labels and features on the Dask engine: one task per customer bucket of a Parquet event dataset.

Customers are independent, so each task reads its bucket (:mod:`churn_core.scale.parquet`) and runs the local
:func:`~churn_core.events.labels.label_and_features` on it, with the cut-offs and the :class:`LogSettings`
(last date, event types, extra columns) fixed once over the whole log: a first round of tasks profiles each
bucket and the client adds the profiles up. The caller gathers the buckets' rows, aligns them on
``(cutoff, customer_id)`` -- never on position -- and gets the :class:`LabelledEvents` the local engine gives.

Nothing large goes through the task graph: an in-memory log is written to Parquet first, tasks write their rows
to Parquet in ``scratch`` (a folder the workers and the caller share) and return its path, and
:func:`to_workers` sends a frame over :data:`TO_WORKERS_LIMIT` bytes as Parquet. Every function shipped to
workers is a module-level function of ``churn_core.scale`` (workers import it; they cannot import ``__main__``).
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import uuid
from dataclasses import dataclass
from types import SimpleNamespace

import pandas as pd

from ..errors import ParameterError
from ..events.labels import (
    Cutoffs,
    EventWindow,
    LabelledEvents,
    LogSettings,
    _population,
    cutoff_dates,
    label_and_features,
    log_profile,
    log_settings,
    merge_profiles,
)
from ..events.log import EventLog
from .engine import Engine
from .parquet import (
    ParquetEvents,
    _filesystem,
    _join,
    open_events_parquet,
    read_events_parquet,
    write_events_parquet,
)

log = logging.getLogger(__name__)

_DEFAULT_WINDOW = EventWindow()
TO_WORKERS_LIMIT = 100 * 2**20  # bytes: a larger frame goes to the workers as Parquet, not through the graph


@dataclass(frozen=True)
class ParquetFrame:
    """A frame handed to workers as a Parquet file (read by :func:`load_frame` on the worker)."""

    url: str
    rows: int


def to_workers(frame: pd.DataFrame, engine: Engine, *, tmpdir: str | os.PathLike):
    """Hand ``frame`` to the workers: a scattered future when it is small, a :class:`ParquetFrame` written in
    ``tmpdir`` (a folder or fsspec URL the workers can read) when it is over :data:`TO_WORKERS_LIMIT` bytes.
    Tasks take either and call :func:`load_frame`."""
    _require_dask(engine)
    size = int(frame.memory_usage(deep=True).sum())
    if size <= TO_WORKERS_LIMIT:
        return engine.client.scatter(frame, broadcast=False)
    url = _join(str(tmpdir), f"frame-{uuid.uuid4().hex}.parquet")
    _write_frame(frame, url)
    log.info("to_workers: a %d MB frame goes as Parquet (%s), not through the task graph", size // 2**20, url)
    return ParquetFrame(url=url, rows=len(frame))


def load_frame(frame: pd.DataFrame | ParquetFrame) -> pd.DataFrame:
    """On a worker: the frame :func:`to_workers` sent (Dask resolves a scattered future to the frame itself)."""
    return _read_frame(frame.url) if isinstance(frame, ParquetFrame) else frame


def label_and_features_dask(source: ParquetEvents | EventLog | str | os.PathLike, *, engine: Engine,
                            window: EventWindow = _DEFAULT_WINDOW, cutoffs: Cutoffs | list | tuple | None = None,
                            buckets: int = 16, scratch: str | os.PathLike | None = None,
                            collect_share: float = 1.0) -> LabelledEvents:
    """:func:`~churn_core.events.label_and_features` on the Dask ``engine``, one task per customer bucket of
    ``source`` (a Parquet event dataset or its URL; an :class:`EventLog` is first written to Parquet in
    ``buckets`` buckets). Returns the same :class:`LabelledEvents` as the local engine: same rows sorted by
    cut-off then customer id, same columns and dtypes.

    ``scratch`` is where tasks write their rows (a folder or fsspec URL that the workers and this process share);
    default: a temporary folder with a LocalCluster, and the task results themselves with a remote scheduler.

    ``collect_share`` below 1 brings back the rows of only that share of the buckets (every bucket is still
    labelled on the workers; the result, its population too, is the sample's): a random sample of customers,
    since a customer's bucket is a hash of their id, for training on a log whose labelled rows would not fit in
    this process (10M customers at 12 cut-offs are about 87M rows, 20 GB).
    """
    if not 0 < collect_share <= 1:
        raise ParameterError(f"collect_share must be in (0, 1]. Got {collect_share!r}.", code="bad_parameter",
                             name="collect_share", value=str(collect_share))
    _require_dask(engine)
    client = engine.client
    with tempfile.TemporaryDirectory(prefix="churn_dask_") as tmp:
        if isinstance(source, EventLog):
            data = write_events_parquet(source, os.path.join(tmp, "events"), buckets=buckets)
        elif isinstance(source, (ParquetEvents, str, os.PathLike)):
            data = open_events_parquet(source)
        else:
            raise ParameterError(f"The source must be an EventLog, a ParquetEvents or the URL of one. Got "
                                 f"{type(source).__name__}.", code="bad_parameter", name="source",
                                 value=type(source).__name__)
        dates = _dates(data, window, cutoffs)
        filled = data.filled_buckets or [data.bucket_rows[0][0]]
        first = dates[0] if dates else None
        profiles = client.gather(client.map(bucket_profile, [data] * len(filled), filled, first_cutoff=first,
                                            pure=False))
        settings = log_settings(merge_profiles(profiles, type_order=list(data.type_order)), window=window,
                                has_cutoffs=bool(dates))
        out = str(scratch) if scratch is not None else (tmp if engine.local_cluster else None)
        if out is not None:
            out = _join(out, f"labels-{uuid.uuid4().hex}")
        parts = client.gather(client.map(bucket_labels, [data] * len(filled), filled, window=window, dates=dates,
                                         settings=settings, out=out, pure=False))
        keep = set(sorted(filled)[:max(1, math.ceil(collect_share * len(filled)))])
        parts = [p for p in parts if p["bucket"] in keep]  # every bucket was labelled; these come back
        parts = [{**p, "frame": _read_frame(p["frame"]), "lapsed": _read_frame(p["lapsed"])}
                 if isinstance(p["frame"], str) else p for p in parts]
        log.info("labels and features on dask: %d buckets, %d cut-offs", len(filled), len(dates))
        return combine_buckets(parts, window=window, dates=dates, settings=settings)


def features_with(engine: Engine | str | None, source: EventLog | ParquetEvents | str | os.PathLike, *,
                  window: EventWindow = _DEFAULT_WINDOW, cutoffs: Cutoffs | list | tuple | None = None
                  ) -> LabelledEvents:
    """Labels and features on ``engine``: the local one (None or "local": DuckDB in this process, reading a
    Parquet source whole) or a Dask :class:`Engine` (:func:`label_and_features_dask`)."""
    if isinstance(engine, Engine) and engine.is_dask:
        return label_and_features_dask(source, engine=engine, window=window, cutoffs=cutoffs)
    if not (engine is None or engine == "local" or (isinstance(engine, Engine) and engine.name == "local")):
        raise ParameterError(f"The engine must be 'local' or an engine opened with open_engine. Got {engine!r}.",
                             code="bad_parameter", name="engine", value=str(engine))
    events = source if isinstance(source, EventLog) else read_events_parquet(source)
    return label_and_features(events, window=window, cutoffs=cutoffs)


# -- tasks (module-level: shipped to the workers) ----------------------------------------------------------


def bucket_profile(data: ParquetEvents, bucket: int, *, first_cutoff: pd.Timestamp | None) -> dict:
    """A worker task: the :func:`~churn_core.events.labels.log_profile` of one bucket."""
    return log_profile(read_events_parquet(data, bucket=bucket), first_cutoff=first_cutoff)


def bucket_labels(data: ParquetEvents, bucket: int, *, window: EventWindow, dates: list[pd.Timestamp],
                  settings: LogSettings, out: str | None) -> dict:
    """A worker task: one bucket's labels and features with the global cut-offs and settings. Its rows are
    written as Parquet under ``out`` (the paths returned) or, without ``out``, returned."""
    labelled = label_and_features(read_events_parquet(data, bucket=bucket), window=window, cutoffs=dates,
                                  settings=settings)
    part = {"bucket": bucket, "frame": labelled.frame, "lapsed": labelled.lapsed,
            "seen": labelled.population["customers"].tolist(), "feature_names": labelled.feature_names,
            "type_columns": labelled.type_columns}
    if out is not None:
        for name in ("frame", "lapsed"):
            url = _join(out, f"bucket={bucket}", f"{name}.parquet")
            _write_frame(part[name], url)
            part[name] = url
    return part


# -- gathering ---------------------------------------------------------------------------------------------


def combine_buckets(parts: list[dict], *, window: EventWindow, dates: list[pd.Timestamp],
                    settings: LogSettings) -> LabelledEvents:
    """The buckets' rows as one :class:`LabelledEvents`, aligned on ``(cutoff, customer_id)`` whatever order the
    parts come in (the local engine's order: by cut-off, then customer id)."""
    parts = sorted(parts, key=lambda p: p["bucket"])
    frame = _stack([p["frame"] for p in parts], ["cutoff", "customer_id"])
    lapsed = _stack([p["lapsed"] for p in parts], ["cutoff", "customer_id"])
    seen = [sum(p["seen"][i] for p in parts) for i in range(len(dates))]
    return LabelledEvents(frame=frame, population=_population(seen, frame, dates), lapsed=lapsed, window=window,
                          cutoffs=tuple(pd.Timestamp(d) for d in dates), feature_names=parts[0]["feature_names"],
                          basic_type=settings.basic_type, type_columns=dict(parts[0]["type_columns"]))


def _stack(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    filled = [f for f in frames if len(f)] or frames[:1]
    frame = pd.concat(filled, ignore_index=True) if len(filled) > 1 else filled[0]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def _dates(data: ParquetEvents, window: EventWindow, cutoffs) -> list[pd.Timestamp]:
    """The cut-offs as label_and_features reads them (default: those of the whole log's dates)."""
    return cutoff_dates(SimpleNamespace(first_date=data.first_date, last_date=data.last_date), window=window,
                        cutoffs=cutoffs)


def _require_dask(engine) -> None:
    if not isinstance(engine, Engine) or not engine.is_dask or engine.client is None:
        raise ParameterError(f"This needs the dask engine, opened with open_engine('dask', ...). Got {engine!r}.",
                             code="bad_parameter", name="engine", value=str(engine))


def _write_frame(frame: pd.DataFrame, url: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fs, path = _filesystem(url)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with fs.open(path, "wb") as f:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), f)


def _read_frame(url: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    fs, path = _filesystem(url)
    with fs.open(path, "rb") as f:
        return pq.read_table(f).to_pandas()
