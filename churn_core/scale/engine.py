"""The engine switch: ``local`` (DuckDB and in-process XGBoost) or ``dask`` (a ``dask.distributed`` client).

    with open_engine("dask", scheduler="tcp://10.0.0.5:8786") as engine:   # a cluster the user runs
        ...engine.client...
    with open_engine("dask", n_workers=2) as engine:                      # a LocalCluster on this machine
        ...
    with open_engine() as engine:                                         # local: engine.client is None
        ...

A LocalCluster is started with processes (one thread each by default, so XGBoost's OpenMP threads do not
oversubscribe the cores) and closed on exit; a client of a remote scheduler is closed, the cluster left
running. Worker processes re-import the module that started them: code that opens an engine from a script
must sit under ``if __name__ == "__main__":`` (the CLI's entry point does), and every function shipped to
workers lives in an importable ``churn_core`` module, never in ``__main__``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import ParameterError

log = logging.getLogger(__name__)

ENGINES = ("local", "dask")


@dataclass(frozen=True, eq=False)
class Engine:
    """An open engine: its name, and for ``dask`` the client and the scheduler's address."""

    name: str
    client: object | None = None  # dask.distributed.Client
    address: str | None = None
    local_cluster: bool = False

    @property
    def is_dask(self) -> bool:
        return self.name == "dask"

    def worker_memory(self) -> int | None:
        """The workers' combined memory limit in bytes (None: local, or the workers set no limit)."""
        if self.client is None:
            return None
        workers = self.client.scheduler_info().get("workers", {})
        limits = [w.get("memory_limit") or 0 for w in workers.values()]
        return int(sum(limits)) if limits and all(limits) else None

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([{"name": self.name, "address": self.address, "local_cluster": self.local_cluster,
                              "worker_memory": self.worker_memory()}])


@contextmanager
def open_engine(engine: str = "local", *, scheduler: str | None = None, n_workers: int = 2,
                threads_per_worker: int = 1, memory_limit: str | None = None) -> Iterator[Engine]:
    """Open the ``engine`` (see the module docstring). ``scheduler`` is a ``tcp://HOST:8786`` address of a
    running Dask scheduler; without it ``dask`` starts a LocalCluster of ``n_workers`` processes bound to
    127.0.0.1, its dashboard on a free port (``memory_limit`` per worker, e.g. "4GB"; default: the machine's
    memory shared out)."""
    if engine not in ENGINES:
        raise ParameterError(f"The engine must be one of {list(ENGINES)}. Got {engine!r}. Use 'dask' with "
                             "--scheduler tcp://HOST:8786 for a cluster, or leave the default 'local'.",
                             code="bad_parameter", name="engine", value=str(engine))
    if engine == "local":
        if scheduler:
            raise ParameterError(f"A scheduler address ({scheduler}) needs the dask engine. Add --engine dask.",
                                 code="bad_parameter", name="scheduler", value=str(scheduler))
        yield Engine("local")
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - a dependency in requirements.txt
        raise ParameterError("The dask engine needs the packages dask and distributed. Install them with "
                             "`pip install 'dask[dataframe]' distributed`.", code="bad_parameter",
                             name="engine", value="dask") from err
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # inherited by the worker processes
    if scheduler:
        client = Client(scheduler, timeout="20s")
        log.info("dask engine: client of %s", scheduler)
        try:
            yield Engine("dask", client=client, address=scheduler)
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True,
                           host="127.0.0.1", dashboard_address=":0", memory_limit=memory_limit or "auto")
    client = Client(cluster)
    log.info("dask engine: LocalCluster of %d workers at %s", n_workers, cluster.scheduler_address)
    try:
        yield Engine("dask", client=client, address=cluster.scheduler_address, local_cluster=True)
    finally:
        client.close()
        cluster.close()
