"""Beyond one machine: Parquet storage and a Dask engine (issue 18).

:mod:`~churn_core.scale.engine` opens the engine: ``"local"`` (DuckDB and in-process XGBoost, the default) or
``"dask"`` (a ``dask.distributed`` client on a scheduler address, or a LocalCluster). Dask is imported only when
the Dask engine is asked for.
"""

from .engine import ENGINES, Engine, open_engine

__all__ = ["ENGINES", "Engine", "open_engine"]
