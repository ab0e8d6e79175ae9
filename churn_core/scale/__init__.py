"""Beyond one machine: Parquet storage and a Dask engine (issue 18).

:mod:`~churn_core.scale.engine` opens the engine: ``"local"`` (DuckDB and in-process XGBoost, the default) or
``"dask"`` (a ``dask.distributed`` client on a scheduler address, or a LocalCluster). Dask is imported only when
the Dask engine is asked for. :mod:`~churn_core.scale.parquet` stores an event log as Parquet in customer buckets;
:mod:`~churn_core.scale.features` labels it on the Dask engine, one task per bucket;
:mod:`~churn_core.scale.training` fits XGBoost with xgboost.dask (``train_out_of_time(engine=...)``) and
:mod:`~churn_core.scale.scoring` scores and explains per partition into a Parquet score set.
"""

from .engine import ENGINES, Engine, open_engine
from .features import (
    TO_WORKERS_LIMIT,
    ParquetFrame,
    features_with,
    label_and_features_dask,
    load_frame,
    to_workers,
)
from .parquet import (
    ParquetEvents,
    customer_bucket,
    open_events_parquet,
    read_events_parquet,
    save_events_parquet,
    write_events_parquet,
)
from .scoring import SCORE_COLUMNS, DaskScores, save_dask_scores, score_dask
from .training import MemoryCheck, fit_xgboost_dask, memory_check, to_dask_frame

__all__ = ["ENGINES", "Engine", "open_engine", "ParquetEvents", "customer_bucket", "open_events_parquet",
           "read_events_parquet", "save_events_parquet", "write_events_parquet", "TO_WORKERS_LIMIT", "ParquetFrame",
           "features_with", "label_and_features_dask", "load_frame", "to_workers", "SCORE_COLUMNS", "DaskScores",
           "save_dask_scores", "score_dask", "MemoryCheck", "fit_xgboost_dask", "memory_check", "to_dask_frame"]
