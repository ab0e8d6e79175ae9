"""DuckDB storage: versioned datasets and an active-dataset pointer. The only module that writes SQL.

The database is one file (``data/churn.duckdb`` by default; the ``CHURN_RADAR_DB``
variable or an explicit path overrides it), created and migrated on first use.
Every write runs in a transaction, so a failed import leaves the active dataset
as it was. A connection is opened per operation and closed after it, so the app
and the command line can take turns on the same file. A run records the process
that trains it, so a run whose process was killed reads as failed, not running.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from .dataset import Dataset, EventContext
from .errors import (
    DatabaseDamagedError,
    DatabaseForeignError,
    DatabaseNewerError,
    DiskFullError,
    NotFoundError,
    ParameterError,
    StoreError,
)
from .money import check_currency, detect_currency
from .roles import ColumnRoles
from .validation import report_from_dict, report_to_dict

logger = logging.getLogger(__name__)

DEFAULT_DB = Path(__file__).resolve().parent.parent / "data" / "churn.duckdb"
ENV_VAR = "CHURN_RADAR_DB"
_LOCK_WAIT_SECONDS = 15.0
# DuckDB shares one database instance between a process's connections to a file, and closing the last
# one tears it down: a connect racing that close fails with "Unique file handle conflict". So within a
# process, connects and closes take turns (each is quick; the queries between them run in parallel).
_OPEN_CLOSE = threading.Lock()
# What DuckDB says about a damaged file: blocks failing their checksums, or a file cut short.
_DAMAGE_SIGNS = ("checksum", "corrupt", "could not read enough bytes", "invalid block", "failed to read block")
_NO_SPACE_SIGNS = ("no space left", "disk quota", "not enough space")
_HEADER_BYTES = 3 * 4096  # a DuckDB file starts with its main header and two database headers
# A write needs this much free space: SPACE_FACTOR times the bytes it writes (the WAL, then the checkpoint,
# hold them twice, and DuckDB's blocks are not full), plus SPACE_MARGIN_BYTES for the catalog and the WAL.
SPACE_FACTOR = 3
SPACE_MARGIN_BYTES = 16 * 1024 * 1024

# Each migration moves the schema from version n-1 to n. Never edit a released one; append.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, (
        "CREATE SEQUENCE dataset_ids START 1",
        """CREATE TABLE datasets (
            id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, source_file VARCHAR, sha256 VARCHAR NOT NULL,
            rows BIGINT NOT NULL, roles_json VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
            table_name VARCHAR NOT NULL)""",
        "CREATE TABLE settings (key VARCHAR PRIMARY KEY, value VARCHAR)",
    )),
    (2, (
        "ALTER TABLE datasets ADD COLUMN n_columns INTEGER",
        "ALTER TABLE datasets ADD COLUMN encoding VARCHAR",
        "ALTER TABLE datasets ADD COLUMN report_json VARCHAR",
    )),
    (3, (
        "CREATE SEQUENCE run_ids START 1",
        """CREATE TABLE model_runs (
            id INTEGER PRIMARY KEY, dataset_version INTEGER NOT NULL, status VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL, finished_at TIMESTAMP, duration_s DOUBLE, params_json VARCHAR,
            models_json VARCHAR, error VARCHAR)""",
        "CREATE SEQUENCE promotion_ids START 1",
        """CREATE TABLE promotions (
            id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, model VARCHAR NOT NULL, action VARCHAR NOT NULL,
            promoted_at TIMESTAMP NOT NULL)""",
    )),
    (4, (
        """CREATE TABLE run_predictions (
            run_id INTEGER NOT NULL, model VARCHAR NOT NULL, row_index INTEGER NOT NULL, y TINYINT NOT NULL,
            proba DOUBLE NOT NULL, proba_raw DOUBLE NOT NULL)""",
    )),
    (5, (
        "CREATE SEQUENCE score_set_ids START 1",
        """CREATE TABLE score_sets (
            id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, model VARCHAR NOT NULL,
            dataset_version INTEGER NOT NULL, created_at TIMESTAMP NOT NULL, rows BIGINT NOT NULL,
            explained BIGINT NOT NULL, units VARCHAR NOT NULL, base_probability DOUBLE, seconds DOUBLE)""",
        """CREATE TABLE scores (
            score_set INTEGER NOT NULL, row_index INTEGER NOT NULL, customer_id VARCHAR,
            probability DOUBLE NOT NULL, probability_raw DOUBLE NOT NULL, explained BOOLEAN NOT NULL,
            reason_1 VARCHAR, reason_1_value VARCHAR, reason_1_points DOUBLE,
            reason_2 VARCHAR, reason_2_value VARCHAR, reason_2_points DOUBLE,
            reason_3 VARCHAR, reason_3_value VARCHAR, reason_3_points DOUBLE)""",
    )),
    (6, (
        "CREATE SEQUENCE scenario_ids START 1",
        """CREATE TABLE roi_scenarios (
            id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, version INTEGER NOT NULL, created_at TIMESTAMP NOT NULL,
            inputs_json VARCHAR NOT NULL, settings_json VARCHAR, dataset_version INTEGER, run_id INTEGER,
            model VARCHAR)""",
        """CREATE TABLE run_thresholds (
            run_id INTEGER NOT NULL, model VARCHAR NOT NULL, kind VARCHAR NOT NULL, threshold DOUBLE NOT NULL,
            rate DOUBLE, assumptions_json VARCHAR, created_at TIMESTAMP NOT NULL)""",
    )),
    (7, (
        # The process training a run, so a run left 'running' by a killed process can be told apart.
        "ALTER TABLE model_runs ADD COLUMN pid INTEGER",
        "ALTER TABLE model_runs ADD COLUMN host VARCHAR",
    )),
    (8, (
        # Out-of-sample scores of every row a run saw: out-of-fold ('train', with the fold) and 'holdout'.
        "ALTER TABLE run_predictions ADD COLUMN split VARCHAR DEFAULT 'holdout'",
        "ALTER TABLE run_predictions ADD COLUMN fold INTEGER",
        # Who is scored (active or churned), by which fit, and reasons that add up to the probability.
        "ALTER TABLE scores ADD COLUMN status VARCHAR",
        "ALTER TABLE scores ADD COLUMN scored_by VARCHAR",
        "ALTER TABLE scores ADD COLUMN other_points DOUBLE",
        "ALTER TABLE scores ADD COLUMN protective VARCHAR",
        "ALTER TABLE scores ADD COLUMN protective_value VARCHAR",
        "ALTER TABLE scores ADD COLUMN protective_points DOUBLE",
    )),
    (9, (
        # Settings of a dataset (its currency, a value per customer when it has no value column), keyed by the
        # dataset's name so that a new version of the same file keeps them.
        """CREATE TABLE settings_by_dataset (
            dataset VARCHAR NOT NULL, key VARCHAR NOT NULL, value VARCHAR, updated_at TIMESTAMP NOT NULL,
            PRIMARY KEY (dataset, key))""",
    )),
    (10, (
        # Event datasets: the log, its customer table and the as-of table live in events_<v>, customers_<v> and
        # asof_<v> beside dataset_<v> (the analysis table); events_json holds the window and the population.
        "ALTER TABLE datasets ADD COLUMN kind VARCHAR DEFAULT 'snapshot'",
        "ALTER TABLE datasets ADD COLUMN events_json VARCHAR",
        # Score sets of an event dataset are scored as of a date; the Risk page's history is their sequence.
        "ALTER TABLE score_sets ADD COLUMN as_of DATE",
    )),
    (11, (
        # Retention campaigns: who was assigned to contact or control (members, fixed at launch), and their
        # outcomes, one version per batch (an upload, an edit, an observation); a batch holds the whole
        # record of each customer it changes, so every earlier state stays readable.
        "CREATE SEQUENCE campaign_ids START 1",
        """CREATE TABLE campaigns (
            id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, owner VARCHAR, created_at TIMESTAMP NOT NULL,
            created_by VARCHAR, dataset_version INTEGER NOT NULL, run_id INTEGER, model VARCHAR,
            score_set INTEGER, as_of DATE, start_date DATE NOT NULL, control_share DOUBLE NOT NULL,
            seed BIGINT NOT NULL, contact_cost DOUBLE NOT NULL, window_days INTEGER, currency VARCHAR,
            params_json VARCHAR NOT NULL)""",
        """CREATE TABLE campaign_members (
            campaign INTEGER NOT NULL, customer_id VARCHAR NOT NULL, arm VARCHAR NOT NULL, tier VARCHAR,
            probability DOUBLE, value DOUBLE, action VARCHAR, due_date DATE, days_since_last_event DOUBLE,
            PRIMARY KEY (campaign, customer_id))""",
        """CREATE TABLE campaign_batches (
            campaign INTEGER NOT NULL, version INTEGER NOT NULL, recorded_at TIMESTAMP NOT NULL,
            recorded_by VARCHAR, source VARCHAR NOT NULL, file_name VARCHAR, rows INTEGER NOT NULL,
            replaced INTEGER NOT NULL, PRIMARY KEY (campaign, version))""",
        """CREATE TABLE campaign_outcomes (
            campaign INTEGER NOT NULL, version INTEGER NOT NULL, customer_id VARCHAR NOT NULL, contacted BOOLEAN,
            contact_date DATE, channel VARCHAR, agent VARCHAR, action_taken VARCHAR, feedback VARCHAR,
            result VARCHAR, failure_reason VARCHAR, PRIMARY KEY (campaign, version, customer_id))""",
    )),
    (12, (
        # Large event logs and score sets live as partitioned Parquet (a local folder or any fsspec URL); the
        # catalog says which Parquet dataset belongs to which dataset version ('events') or score set ('scores').
        """CREATE TABLE parquet_files (
            kind VARCHAR NOT NULL, ref INTEGER NOT NULL, url VARCHAR NOT NULL, rows BIGINT,
            partitions INTEGER, created_at TIMESTAMP NOT NULL, PRIMARY KEY (kind, ref))""",
    )),
)
REASON_COLUMNS = (*(f"reason_{k}{part}" for k in (1, 2, 3) for part in ("", "_value", "_points")), "other_points",
                  "protective", "protective_value", "protective_points")
SCORE_COLUMNS = ("row_index", "customer_id", "probability", "probability_raw", "explained", "status", "scored_by",
                 *REASON_COLUMNS)
SCHEMA_VERSION = MIGRATIONS[-1][0]
PARQUET_KINDS = ("events", "scores")


def _record(cls, row, **named):
    """A keyword-only record from a SQL row whose columns are its first fields, in order; ``named`` fields
    replace or add to them."""
    fields = list(cls.__dataclass_fields__)
    return cls(**{**dict(zip(fields, row)), **named})


@dataclass(frozen=True, kw_only=True)
class DatasetVersion:
    version: int
    name: str
    source_file: str | None
    sha256: str
    rows: int
    n_columns: int | None
    created_at: datetime
    active: bool = False
    reused: bool = False
    target: str | None = None  # the target column of its stored roles
    kind: str = "snapshot"  # or "events": built from an event log

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])


@dataclass(frozen=True, eq=False)
class DatasetList:
    versions: tuple[DatasetVersion, ...]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([v.__dict__ for v in self.versions],
                            columns=[f for f in DatasetVersion.__dataclass_fields__])


@dataclass(frozen=True, kw_only=True)
class ModelEntry:
    """One trained model of a run, as the store keeps it: its holdout metrics at its threshold, the
    cross-validated means and spreads, its rank in the run, what it was fitted on and its artifact files (the
    final fit and the fold fits, each with its sha256). Entries of old runs may lack the later fields (None)."""

    name: str
    artifact: str | None = None
    sha256: str | None = None
    folds_artifact: str | None = None
    folds_sha256: str | None = None
    threshold: float = 0.5
    # holdout metrics (churn_core.modeling.METRIC_NAMES), at ``threshold``
    roc_auc: float = float("nan")
    pr_auc: float = float("nan")
    precision: float = float("nan")
    recall: float = float("nan")
    f1: float = float("nan")
    accuracy: float = float("nan")
    brier: float = float("nan")
    log_loss: float = float("nan")
    ece: float = float("nan")
    roc_auc_ci_low: float | None = None
    roc_auc_ci_high: float | None = None
    # cross-validation: means and standard deviations over the folds, and each fold's metrics
    cv_roc_auc_mean: float | None = None
    cv_roc_auc_std: float | None = None
    cv_pr_auc_mean: float | None = None
    cv_pr_auc_std: float | None = None
    cv_f1_mean: float | None = None
    cv_f1_std: float | None = None
    cv_profit: float | None = None
    cv_folds: tuple[dict, ...] = ()
    rank: int | None = None  # 1 = the run's recommendation (the best cross-validated ``choose_by``)
    choose_by: str | None = None
    within_noise: bool | None = None
    uncalibrated: dict | None = None  # holdout metrics before calibration
    features: tuple[str, ...] = ()
    importance: tuple[dict, ...] = ()  # feature, native, shap, shap_raw
    shap_units: str = ""
    fit_seconds: float | None = None
    predict_seconds: float | None = None

    @classmethod
    def from_dict(cls, entry: dict) -> ModelEntry:
        """An entry from its stored JSON (keys it does not know are left out)."""
        known = {k: v for k, v in entry.items() if k in _ENTRY_FIELDS}
        for key in ("cv_folds", "features", "importance"):
            if known.get(key) is not None:
                known[key] = tuple(known[key])
        return cls(**known)

    def to_dict(self) -> dict:
        """The entry as the store writes it (JSON-ready)."""
        out = dict(self.__dict__)
        for key in ("cv_folds", "features", "importance"):
            out[key] = list(out[key])
        return out

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


_ENTRY_FIELDS = frozenset(ModelEntry.__dataclass_fields__)


@dataclass(frozen=True, kw_only=True)
class ModelRun:
    """One training run: its models' metrics, thresholds and artifact files (``models``)."""

    id: int
    dataset_version: int
    status: str  # running, complete or failed (also a run whose process ended before it finished)
    created_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    params: dict
    models: tuple[ModelEntry, ...]
    error: str | None = None

    def model(self, name: str) -> ModelEntry:
        for entry in self.models:
            if entry.name == name:
                return entry
        raise NotFoundError(f"Run {self.id} has no model '{name}'. It has {[m.name for m in self.models]}.",
                            code="model_not_found", run=self.id, model=name)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([m.to_dict() for m in self.models]).assign(run_id=self.id)


@dataclass(frozen=True)
class Champion:
    run_id: int
    model: str
    entry: ModelEntry  # the model's metrics, threshold, artifact path and sha256

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"run_id": self.run_id, **self.entry.to_dict()}])


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """One saved version of a named ROI scenario. Saving under a name adds a version; nothing is overwritten."""

    id: int
    name: str
    version: int
    created_at: datetime
    inputs: dict  # CaseInputs fields
    settings: dict  # everything else the page needs to redraw it (economics, currency, mode...)
    dataset_version: int | None
    run_id: int | None
    model: str | None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])


@dataclass(frozen=True, kw_only=True)
class Campaign:
    """A retention campaign as launched: what it was drawn from (dataset version, run, model, score set, as-of
    day), its start, control share and seed, the cost of one contact, the window a visit log's customers must
    come back in, and its members per arm."""

    id: int
    name: str
    owner: str | None
    created_at: datetime
    created_by: str | None
    dataset_version: int
    run_id: int | None
    model: str | None
    score_set: int | None
    as_of: date | None
    start: date
    control_share: float
    seed: int
    contact_cost: float
    window_days: int | None
    currency: str | None
    params: dict  # the spec (actions per tier...) and the sample-size check at launch
    n_contact: int = 0
    n_control: int = 0
    outcome_version: int = 0  # the latest outcome batch (0: none yet)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{k: v for k, v in self.__dict__.items() if k != "params"}])


@dataclass(frozen=True, kw_only=True)
class OutcomeBatch:
    """One version of a campaign's outcomes: who recorded it, how (upload, editor, observed, cli), from which
    file, how many customers it changed, and how many final results it replaced (with consent)."""

    campaign: int
    version: int
    recorded_at: datetime
    recorded_by: str | None
    source: str
    file_name: str | None
    rows: int
    replaced: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])


@dataclass(frozen=True, kw_only=True)
class RunThreshold:
    """A decision threshold stored on a run's model, e.g. the profit-optimal cut from the ROI page."""

    run_id: int
    model: str
    kind: str
    threshold: float
    rate: float | None
    assumptions: dict
    created_at: datetime

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])


@dataclass(frozen=True, kw_only=True)
class ScoreSet:
    """One scoring of a dataset version by one model of one run (the scores live in table ``scores``)."""

    id: int
    run_id: int
    model: str
    dataset_version: int
    created_at: datetime
    rows: int
    explained: int  # customers whose reasons are stored (the riskiest first)
    units: str  # units of the SHAP values behind the reasons
    base_probability: float | None
    seconds: float | None
    as_of: date | None = None  # event datasets: the day the customers were scored as of

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])


def resolve_db_path(path: str | Path | None = None) -> Path:
    """The database file: ``path`` if given, else $CHURN_RADAR_DB, else data/churn.duckdb."""
    return Path(path or os.environ.get(ENV_VAR) or DEFAULT_DB)


class Store:
    """Versioned datasets in one DuckDB file."""

    def __init__(self, path: str | Path | None = None, *, lock_wait: float = _LOCK_WAIT_SECONDS) -> None:
        self.path = resolve_db_path(path)
        self.lock_wait = lock_wait
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            self._migrate(con)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- connections and schema --------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        deadline = time.monotonic() + self.lock_wait
        while True:
            try:
                with _OPEN_CLOSE:
                    con = duckdb.connect(str(self.path))
                break
            except duckdb.Error as err:
                locked = isinstance(err, duckdb.IOException) and "lock" in str(err).lower()
                if locked and time.monotonic() <= deadline:
                    time.sleep(0.2)
                    continue
                if locked:
                    raise StoreError(
                        f"Cannot open the database '{self.path}' ({err}). If another Churn Radar process is "
                        "writing to it, wait for it to finish and try again.", code="store_locked",
                        path=str(self.path)) from err
                known = self._known_failure(err)
                if known is not None:
                    raise known from err
                # Not a lock (a damaged file, a folder...): waiting would not help.
                raise StoreError(f"Cannot open the database '{self.path}' ({err}). Check that the file is a "
                                 f"Churn Radar database, or point {ENV_VAR} at a new file.",
                                 code="store_unreadable", path=str(self.path)) from err
        try:
            yield con
        except duckdb.Error as err:
            known = self._known_failure(err)
            if known is not None:
                raise known from err
            raise
        finally:
            with _OPEN_CLOSE:
                con.close()

    def _known_failure(self, err: BaseException) -> StoreError | None:
        """A damaged file or a full disk behind a DuckDB (or OS) error, as the StoreError that says so."""
        text = str(err).lower()
        if any(sign in text for sign in _DAMAGE_SIGNS):
            return self._damaged(str(err))
        if any(sign in text for sign in _NO_SPACE_SIGNS):
            return DiskFullError(f"The disk holding the database '{self.path}' is full ({err}). Nothing was "
                                 "changed. Free some space and try again.", path=str(self.path), needed="?",
                                 free=_megabytes(_free_bytes(self.path)))
        return None

    def _damaged(self, detail: str) -> DatabaseDamagedError:
        return DatabaseDamagedError(
            f"The database '{self.path}' is damaged ({detail}). Nothing was read from it or written to it. "
            f"Restore it from a backup, or point {ENV_VAR} at a new file (the app then starts afresh).",
            path=str(self.path))

    def _migrate(self, con: duckdb.DuckDBPyConnection) -> None:
        """Check that the file is Churn Radar's and whole, then bring its schema up to date. Nothing is written
        into a file that has any table, view or sequence but ours."""
        ours = self._schema_table(con)
        if ours is None:
            objects = _one(con, "SELECT (SELECT count(*) FROM duckdb_tables() WHERE NOT internal) "
                                "+ (SELECT count(*) FROM duckdb_views() WHERE NOT internal) "
                                "+ (SELECT count(*) FROM duckdb_sequences())")[0]
            if objects:
                self._refuse_foreign(con)
            current = 0
        else:
            current = _one(con, "SELECT coalesce(max(version), 0) FROM schema_version")[0]
        if current > SCHEMA_VERSION:
            raise DatabaseNewerError(f"The database '{self.path}' has schema version {current}, newer than this "
                                     f"Churn Radar understands ({SCHEMA_VERSION}). Upgrade Churn Radar.",
                                     path=str(self.path), version=current, supported=SCHEMA_VERSION)
        if current > 0 and "datasets" not in _tables(con):
            self._refuse_foreign(con)
        self._check_whole(con)
        if ours is None:
            con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMP)")
        for version, statements in MIGRATIONS:
            if version <= current:
                continue
            self._require_space(0)
            with _transaction(con):
                for sql in statements:
                    con.execute(sql)
                con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
            logger.info("migrated %s to schema version %d", self.path, version)

    def _schema_table(self, con: duckdb.DuckDBPyConnection) -> list[str] | None:
        """The columns of our ``schema_version`` table (None when there is none); another program's table of
        that name is refused."""
        columns = [r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'schema_version' AND schema_name = 'main' "
            "ORDER BY column_index").fetchall()]
        if not columns:
            return None
        if columns != ["version", "applied_at"]:
            self._refuse_foreign(con)
        return columns

    def _refuse_foreign(self, con: duckdb.DuckDBPyConnection) -> None:
        tables = sorted(_tables(con))
        raise DatabaseForeignError(
            f"The database '{self.path}' belongs to another program: it holds the tables {tables[:5]} and no Churn "
            f"Radar schema. Nothing was written to it. Point {ENV_VAR} (or --db) at a Churn Radar database or at "
            "a new file.", path=str(self.path), tables=tables[:5])

    def _check_whole(self, con: duckdb.DuckDBPyConnection) -> None:
        """Refuse a file too short to hold the blocks in use its header lists (a copy or download cut short).
        Checked only with no write-ahead log pending, when the header and the file must agree. The blocks in
        use, not all of them: DuckDB truncates free blocks at the end of the file on a checkpoint, so a whole
        file can be shorter than its total block count."""
        if not self.path.is_file() or self.path.with_name(self.path.name + ".wal").exists():
            return
        row = _one(con, "SELECT block_size, used_blocks FROM pragma_database_size()")
        expected = _HEADER_BYTES + int(row[0]) * int(row[1]) if row and row[1] else 0
        size = self.path.stat().st_size
        if size < expected:
            raise self._damaged(f"the file has {size} bytes where its blocks in use need {expected}")

    def _require_space(self, nbytes: int) -> None:
        """Refuse a write of about ``nbytes`` bytes before it starts when the disk cannot hold it."""
        needed = SPACE_FACTOR * max(int(nbytes), 0) + SPACE_MARGIN_BYTES
        free = _free_bytes(self.path)
        if free is not None and free < needed:
            raise DiskFullError(f"Not enough free space for the write to the database '{self.path}': it needs "
                                f"about {_megabytes(needed)} MB and the disk has {_megabytes(free)} MB free. "
                                "Nothing was changed. Free some space and try again.", path=str(self.path),
                                needed=_megabytes(needed), free=_megabytes(free))

    def schema_version(self) -> int:
        with self._connect() as con:
            return _one(con, "SELECT max(version) FROM schema_version")[0]

    # -- datasets ------------------------------------------------------------------------------

    def save_dataset(self, dataset: Dataset, *, activate: bool = True) -> DatasetVersion:
        """Store a dataset as a new version (or return the identical stored one) and optionally activate it.

        The whole import is one transaction: if anything fails, nothing is written and the
        active dataset stays as it was.
        """
        return self._save_version(dataset, activate=activate)

    def save_events(self, events, *, activate: bool = True) -> DatasetVersion:
        """Store an event dataset (:class:`churn_core.events.EventDataset`) as a new version, in one
        transaction: its analysis table as ``dataset_<v>``, the log as ``events_<v>``, its customer table as
        ``customers_<v>`` and the as-of table as ``asof_<v>``, with the window, the population per cut-off and
        both reports. The same log with the same window returns the stored version."""
        analysis, as_of, log = events.analysis, events.as_of, events.log
        meta = {
            "context": analysis.events.to_dict(), "as_of_context": as_of.events.to_dict(),
            "as_of_roles": as_of.roles.to_dict(), "as_of_report": report_to_dict(as_of.report),
            "log_report": report_to_dict(events.report), "log_roles": dataclasses.asdict(log.roles),
            "log_source": log.source_name, "window_suggested": bool(events.window_suggested),
            "population": json.loads(events.population.to_json(orient="records", date_format="iso")),
        }
        extra = {"events": log.frame, "asof": as_of.frame}
        if log.customers is not None:
            extra["customers"] = log.customers
        return self._save_version(analysis, activate=activate, extra=extra, events_meta=meta,
                                  source=log.source_name, what="event log")

    def _save_version(self, dataset: Dataset, *, activate: bool, extra: dict[str, pd.DataFrame] | None = None,
                      events_meta: dict | None = None, source: str | None = None,
                      what: str = "dataset") -> DatasetVersion:
        """One version in one transaction: ``dataset_<v>`` and each ``extra`` table as ``<name>_<v>``, and its
        row in ``datasets`` (kind ``events`` when ``events_meta`` is given). An identical stored version (same
        sha256 and roles) is returned instead, activated when asked."""
        extra = extra or {}
        for frame in (dataset.frame, *extra.values()):
            clashes = _case_clashes(frame.columns)
            if clashes:
                raise StoreError(
                    f"Cannot store the {what} '{dataset.name}': the columns {clashes} differ only in upper and lower "
                    "case, and the database treats such names as one. Rename one of them in the file and import it "
                    "again.", code="column_case_clash", name=dataset.name, columns=clashes)
        roles_json = dataset.roles.to_json()
        with self._connect() as con:
            same = _one(con, "SELECT id FROM datasets WHERE sha256 = ? AND roles_json = ? ORDER BY id LIMIT 1",
                        [dataset.sha256, roles_json])
            if same:
                if activate:
                    self._set_active(con, same[0])
                return self._version(con, same[0], reused=True)
            self._require_space(sum(_frame_bytes(f) for f in (dataset.frame, *extra.values())))
            try:
                with _transaction(con):
                    version = _one(con, "SELECT nextval('dataset_ids')")[0]
                    tables = {f"dataset_{version}": dataset.frame,
                              **{f"{name}_{version}": frame for name, frame in extra.items()}}
                    for table, frame in tables.items():
                        con.register("incoming_frame", frame)
                        con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM incoming_frame')
                        con.unregister("incoming_frame")
                    con.execute(
                        "INSERT INTO datasets (id, name, source_file, sha256, rows, roles_json, created_at, "
                        "table_name, n_columns, encoding, report_json, kind, events_json) "
                        "VALUES (?, ?, ?, ?, ?, ?, now(), ?, ?, ?, ?, ?, ?)",
                        [version, dataset.name, source or dataset.source_name, dataset.sha256, len(dataset.frame),
                         roles_json, f"dataset_{version}", dataset.frame.shape[1], dataset.encoding,
                         json.dumps(report_to_dict(dataset.report), ensure_ascii=False, default=str),
                         "snapshot" if events_meta is None else "events",
                         None if events_meta is None else json.dumps(events_meta, ensure_ascii=False, default=str)])
                    if activate:
                        self._set_active(con, version)
            except (duckdb.Error, OSError) as err:
                known = self._known_failure(err)
                if isinstance(known, DatabaseDamagedError):
                    raise known from err
                raise StoreError(f"Could not store the {what} '{dataset.name}' ({err}). Nothing was changed; "
                                 "the active dataset is as it was.", code="store_write_failed",
                                 name=dataset.name) from err
            logger.info("stored %s %s as version %d", what, dataset.name, version)
            return self._version(con, version)

    def events_meta(self, version: int) -> dict | None:
        """What an event dataset version was built with (window, population, reports), or None for a snapshot."""
        with self._connect() as con:
            self._require(con, version)
            row = _one(con, "SELECT events_json FROM datasets WHERE id = ? AND kind = 'events'", [version])
        return json.loads(row[0]) if row and row[0] else None

    def load_as_of(self, version: int) -> Dataset:
        """The as-of table of an event dataset version: its eligible customers at the log's last date, to score."""
        meta = self.events_meta(version)
        if meta is None:
            raise ParameterError(f"Dataset version {version} is a customer table, not an event log, so it has no "
                                 "as-of table. Score the version itself.", code="not_event_dataset",
                                 version=version)
        base = self.load_dataset(version)
        with self._connect() as con:
            frame = con.execute(f'SELECT * FROM "asof_{version}"').df()
        roles = ColumnRoles.from_dict(meta["as_of_roles"])
        for col in (*roles.categorical, *roles.plan_flags):
            if col in frame:
                frame[col] = frame[col].astype("category").cat.as_unordered()
        return Dataset(frame=frame, roles=roles, name=base.name, report=report_from_dict(meta["as_of_report"]),
                       sha256=base.sha256, source_name=base.source_name, version=version,
                       events=EventContext.from_dict(meta["as_of_context"]))

    def load_events(self, version: int):
        """The event log of an event dataset version (:class:`churn_core.events.EventLog`), with its customer
        table."""
        from .events.log import EventLog, EventRoles

        meta = self.events_meta(version)
        if meta is None:
            raise ParameterError(f"Dataset version {version} is a customer table, not an event log.",
                                 code="not_event_dataset", version=version)
        with self._connect() as con:
            frame = con.execute(f'SELECT * FROM "events_{version}"').df()
            customers = (con.execute(f'SELECT * FROM "customers_{version}"').df()
                         if f"customers_{version}" in _tables(con) else None)
        roles = meta["log_roles"]
        roles["others"] = tuple(roles.get("others") or ())
        return EventLog(frame=frame, roles=EventRoles(**roles), source_name=meta.get("log_source") or "events",
                        customers=customers)

    def list_datasets(self) -> DatasetList:
        with self._connect() as con:
            ids = [r[0] for r in con.execute("SELECT id FROM datasets ORDER BY id").fetchall()]
            return DatasetList(tuple(self._version(con, i) for i in ids))

    def active_version(self) -> DatasetVersion | None:
        with self._connect() as con:
            active = self._active_id(con)
            return None if active is None else self._version(con, active)

    def activate(self, version: int) -> DatasetVersion:
        with self._connect() as con:
            self._require(con, version)
            with _transaction(con):
                self._set_active(con, version)
            return self._version(con, version)

    def delete_dataset(self, version: int) -> DatasetVersion:
        """Delete a dataset version nothing depends on: not the active one, and no model run trained on it
        (their comparisons and drift checks need it). Its stored scores go with it. Returns what was deleted."""
        with self._connect() as con:
            self._require(con, version)
            if self._active_id(con) == version:
                raise StoreError(f"Dataset version {version} is the active dataset, so it cannot be deleted. "
                                 "Activate another version first, then delete this one.",
                                 code="delete_active", version=version)
            runs = [r[0] for r in con.execute("SELECT id FROM model_runs WHERE dataset_version = ? ORDER BY id",
                                              [version]).fetchall()]
            if runs:
                raise StoreError(f"Dataset version {version} cannot be deleted: model runs {runs} were trained on "
                                 "it, and their comparisons need it. Keep it; it stays out of the way while "
                                 "another version is active.", code="delete_has_runs", version=version, runs=runs)
            gone = self._version(con, version)
            table = _one(con, "SELECT table_name FROM datasets WHERE id = ?", [version])[0]
            with _transaction(con):
                con.execute("DELETE FROM scores WHERE score_set IN "
                            "(SELECT id FROM score_sets WHERE dataset_version = ?)", [version])
                con.execute("DELETE FROM score_sets WHERE dataset_version = ?", [version])
                con.execute("DELETE FROM datasets WHERE id = ?", [version])
                con.execute(f'DROP TABLE IF EXISTS "{table}"')
                for extra in (f"events_{version}", f"customers_{version}", f"asof_{version}"):
                    con.execute(f'DROP TABLE IF EXISTS "{extra}"')
        logger.info("deleted dataset version %d (%s)", version, gone.name)
        return gone

    def load_dataset(self, version: int | None = None) -> Dataset:
        """The stored dataset ``version``, or the active one."""
        with self._connect() as con:
            if version is None:
                version = self._active_id(con)
                if version is None:
                    raise NotFoundError("No dataset is active yet. Import one (the Data page, or "
                                        "`python -m churn_core import --data FILE`).", code="no_active_dataset")
            row = self._require(con, version)
            name, source, sha, roles_json, table, encoding, report_json = row
            frame = con.execute(f'SELECT * FROM "{table}"').df()
        roles = ColumnRoles.from_dict(json.loads(roles_json))
        for col in (*roles.categorical, *roles.plan_flags):
            if col in frame:  # DuckDB returns ENUM columns as ordered categories; the saved frame had unordered
                frame[col] = frame[col].astype("category").cat.as_unordered()
        report = report_from_dict(json.loads(report_json)) if report_json else None
        meta = self.events_meta(version)
        return Dataset(frame=frame, roles=roles, name=name, report=report, sha256=sha, source_name=source or "",
                       encoding=encoding, delimiter=None, version=version,
                       events=EventContext.from_dict(meta["context"]) if meta else None)

    # -- model runs and the champion -------------------------------------------------------------

    def start_run(self, dataset_version: int, *, params: dict) -> int:
        """Record a run as 'running' by this process and return its id (it shows as complete only when it is)."""
        self._require_space(0)
        with self._connect() as con:
            self._require(con, dataset_version)
            with _transaction(con):
                run_id = _one(con, "SELECT nextval('run_ids')")[0]
                con.execute("INSERT INTO model_runs (id, dataset_version, status, created_at, params_json, pid, "
                            "host) VALUES (?, ?, 'running', now(), ?, ?, ?)",
                            [run_id, dataset_version, json.dumps(params, default=str), os.getpid(),
                             socket.gethostname()])
        return run_id

    def complete_run(self, run_id: int, *, models: list[dict | ModelEntry]) -> ModelRun:
        self._require_space(0)
        with self._connect() as con, _transaction(con):
            con.execute("UPDATE model_runs SET status = 'complete', finished_at = now(), models_json = ?, "
                        "duration_s = epoch(now()) - epoch(created_at) WHERE id = ?",
                        [json.dumps([m.to_dict() if isinstance(m, ModelEntry) else m for m in models], default=float),
                         run_id])
        return self.get_run(run_id)

    def save_predictions(self, run_id: int, model: str, *, row_index, y, proba, proba_raw, oof_index=None,
                         oof_y=None, oof_proba=None, oof_raw=None, oof_fold=None) -> None:
        """Keep a run's out-of-sample predictions: the holdout's, and (``oof_*``) the out-of-fold ones of the
        training split with each row's fold, so curves are drawn again and every row is scored honestly."""
        parts = [pd.DataFrame({"row_index": np.asarray(row_index, dtype="int32"), "y": np.asarray(y, dtype="int8"),
                               "proba": np.asarray(proba, dtype=float), "proba_raw": np.asarray(proba_raw, dtype=float),
                               "split": "holdout", "fold": pd.array([None] * len(row_index), dtype="Int32")})]
        if oof_index is not None:
            parts.append(pd.DataFrame({"row_index": np.asarray(oof_index, dtype="int32"),
                                       "y": np.asarray(oof_y, dtype="int8"),
                                       "proba": np.asarray(oof_proba, dtype=float),
                                       "proba_raw": np.asarray(oof_raw, dtype=float), "split": "train",
                                       "fold": pd.array(np.asarray(oof_fold), dtype="Int32")}))
        frame = pd.concat(parts, ignore_index=True).assign(run_id=run_id, model=model)
        self._require_space(_frame_bytes(frame))
        with self._connect() as con, _transaction(con):
            con.register("incoming_predictions", frame)
            con.execute("DELETE FROM run_predictions WHERE run_id = ? AND model = ?", [run_id, model])
            con.execute("INSERT INTO run_predictions (run_id, model, row_index, y, proba, proba_raw, split, fold) "
                        "SELECT run_id, model, row_index, y, proba, proba_raw, split, fold FROM incoming_predictions")
            con.unregister("incoming_predictions")

    def load_predictions(self, run_id: int, model: str | None = None, *, split: str | None = "holdout"
                         ) -> pd.DataFrame:
        """A run's stored predictions (columns model, row_index, y, proba, proba_raw, split, fold), in row order:
        the holdout's by default; ``split="train"`` the out-of-fold ones, ``None`` both."""
        sql = "SELECT model, row_index, y, proba, proba_raw, split, fold FROM run_predictions WHERE run_id = ?"
        params: list = [run_id]
        if model is not None:
            sql += " AND model = ?"
            params.append(model)
        if split is not None:
            sql += " AND coalesce(split, 'holdout') = ?"
            params.append(split)
        with self._connect() as con:
            return con.execute(sql + " ORDER BY model, row_index", params).df()

    def set_run_summary(self, run_id: int, summary: dict) -> ModelRun:
        """Keep a run's summary (a visit log's population, baseline, rules and verdict) in its params, under
        ``summary``."""
        run = self.get_run(run_id)
        params = {**run.params, "summary": summary}
        with self._connect() as con, _transaction(con):
            con.execute("UPDATE model_runs SET params_json = ? WHERE id = ?",
                        [json.dumps(params, default=str, ensure_ascii=False), run_id])
        return self.get_run(run_id)

    def fail_run(self, run_id: int, *, error: str) -> None:
        with self._connect() as con, _transaction(con):
            con.execute("UPDATE model_runs SET status = 'failed', finished_at = now(), error = ?, "
                        "duration_s = epoch(now()) - epoch(created_at) WHERE id = ?", [error[:2000], run_id])

    def get_run(self, run_id: int) -> ModelRun:
        runs = self._runs("WHERE id = ?", [run_id])
        if not runs:
            raise NotFoundError(f"There is no model run {run_id}. List the runs and pick one of those.",
                                code="run_not_found", run=run_id)
        return runs[0]

    def list_runs(self) -> tuple[ModelRun, ...]:
        return self._runs()

    def _runs(self, where: str = "", params: list | None = None) -> tuple[ModelRun, ...]:
        with self._connect() as con:
            rows = con.execute("SELECT id, dataset_version, status, created_at, finished_at, duration_s, params_json, "
                               f"models_json, error, pid, host FROM model_runs {where} ORDER BY id",
                               params or []).fetchall()
        runs = []
        for row in rows:
            status, error, pid, host = row[2], row[8], row[9], row[10]
            if status == "running" and _process_ended(pid, host):
                # Decided when read, never written back: concurrent readers cannot conflict over the row.
                status, error = "failed", (f"Interrupted: process {pid} on {host} ended before the run finished "
                                           "(it was killed or crashed). Nothing of it is used; train again.")
            runs.append(ModelRun(id=row[0], dataset_version=row[1], status=status, created_at=row[3],
                                 finished_at=row[4], duration_s=row[5], params=json.loads(row[6] or "{}"),
                                 models=tuple(ModelEntry.from_dict(m) for m in json.loads(row[7] or "[]")),
                                 error=error))
        return tuple(runs)

    def promote(self, run_id: int, model: str) -> Champion:
        """Make a complete run's model the champion (the previous one stays in the history)."""
        run = self.get_run(run_id)
        if run.status != "complete":
            raise StoreError(f"Run {run_id} is {run.status}, so its models cannot be promoted. Promote a "
                             "complete run.", code="run_not_complete", run=run_id, status=run.status)
        run.model(model)
        self._require_space(0)
        with self._connect() as con, _transaction(con):
            con.execute("INSERT INTO promotions VALUES (nextval('promotion_ids'), ?, ?, 'promote', now())",
                        [run_id, model])
        return self.champion()

    def rollback(self) -> Champion:
        """Return to the champion before the current one."""
        stack = self._champion_stack()
        if len(stack) < 2:
            raise StoreError("There is no earlier champion to roll back to. Promote a model first.",
                             code="nothing_to_roll_back")
        run_id, model = stack[-2]
        with self._connect() as con, _transaction(con):
            con.execute("INSERT INTO promotions VALUES (nextval('promotion_ids'), ?, ?, 'rollback', now())",
                        [run_id, model])
        return self.champion()

    def champion(self) -> Champion | None:
        stack = self._champion_stack()
        if not stack:
            return None
        run_id, model = stack[-1]
        return Champion(run_id, model, self.get_run(run_id).model(model))

    def _champion_stack(self) -> list[tuple[int, str]]:
        """Promotions push, rollbacks pop: the last entry is the champion."""
        with self._connect() as con:
            rows = con.execute("SELECT run_id, model, action FROM promotions ORDER BY id").fetchall()
        stack: list[tuple[int, str]] = []
        for run_id, model, action in rows:
            if action == "rollback":
                stack.pop()
            else:
                stack.append((run_id, model))
        return stack

    # -- scores ----------------------------------------------------------------------------------

    def save_scores(self, frame: pd.DataFrame, *, run_id: int, model: str, dataset_version: int, units: str,
                    base_probability: float | None, seconds: float | None = None,
                    as_of: date | None = None) -> ScoreSet:
        """Store one scoring (columns ``SCORE_COLUMNS``) as a new score set; earlier ones are kept. ``as_of``:
        the day an event dataset's customers were scored as of."""
        missing = [c for c in SCORE_COLUMNS if c not in frame]
        if missing:
            raise StoreError(f"Cannot store scores without the columns {missing}. Received {list(frame.columns)}; "
                             "build them with churn_core.scoring.", code="scores_columns_missing", columns=missing)
        incoming = frame[list(SCORE_COLUMNS)]
        with self._connect() as con:
            self._require(con, dataset_version)
            self._require_space(_frame_bytes(incoming))
            try:
                with _transaction(con):
                    set_id = _one(con, "SELECT nextval('score_set_ids')")[0]
                    con.execute("INSERT INTO score_sets (id, run_id, model, dataset_version, created_at, rows, "
                                "explained, units, base_probability, seconds, as_of) "
                                "VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?, ?, ?)",
                                [set_id, run_id, model, dataset_version, len(incoming),
                                 int(incoming["explained"].sum()), units, base_probability, seconds,
                                 None if as_of is None else pd.Timestamp(as_of).date()])
                    con.register("incoming_scores", incoming)
                    con.execute(f"INSERT INTO scores (score_set, {', '.join(SCORE_COLUMNS)}) SELECT ?, "
                                f"{', '.join(SCORE_COLUMNS)} FROM incoming_scores", [set_id])
                    con.unregister("incoming_scores")
            except (duckdb.Error, OSError) as err:
                known = self._known_failure(err)
                if isinstance(known, DatabaseDamagedError):
                    raise known from err
                raise StoreError(f"Could not store the scores of run {run_id} ({err}). Nothing was changed.",
                                 code="store_write_failed", name=f"run {run_id}") from err
        logger.info("stored score set %d: run %d %s on dataset v%d, %d rows", set_id, run_id, model,
                    dataset_version, len(incoming))
        return self.score_set(set_id)

    def save_score_set_meta(self, run_id: int, model: str, dataset_version: int, *, rows: int, units: str = "",
                            base_probability: float | None = None, as_of: date | None = None,
                            seconds: float | None = None) -> ScoreSet:
        """A score set whose scores live elsewhere (a large one, written as Parquet and registered with
        :meth:`register_parquet`): only its row in ``score_sets``, none in ``scores``."""
        with self._connect() as con:
            self._require(con, dataset_version)
            with _transaction(con):
                set_id = _one(con, "SELECT nextval('score_set_ids')")[0]
                con.execute("INSERT INTO score_sets (id, run_id, model, dataset_version, created_at, rows, "
                            "explained, units, base_probability, seconds, as_of) "
                            "VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?, ?, ?)",
                            [set_id, run_id, model, dataset_version, int(rows), int(rows), units, base_probability,
                             seconds, None if as_of is None else pd.Timestamp(as_of).date()])
        return self.score_set(set_id)

    def update_reasons(self, set_id: int, frame: pd.DataFrame) -> ScoreSet:
        """Store reasons computed later (on demand) for some rows of a score set."""
        cols = list(REASON_COLUMNS)
        incoming = frame[["row_index", *cols]]
        assignments = ", ".join(f"{c} = r.{c}" for c in cols)
        self._require_space(_frame_bytes(incoming))
        with self._connect() as con, _transaction(con):
            con.register("incoming_reasons", incoming)
            con.execute(f"UPDATE scores SET {assignments}, explained = true FROM incoming_reasons r "
                        "WHERE scores.score_set = ? AND scores.row_index = r.row_index", [set_id])
            con.unregister("incoming_reasons")
            con.execute("UPDATE score_sets SET explained = (SELECT count(*) FROM scores WHERE score_set = ? "
                        "AND explained) WHERE id = ?", [set_id, set_id])
        return self.score_set(set_id)

    def score_set(self, set_id: int) -> ScoreSet:
        sets = self._score_sets("WHERE id = ?", [set_id])
        if not sets:
            raise NotFoundError(f"There is no score set {set_id}. List the score sets and pick one of those.",
                                code="score_set_not_found", score_set=set_id)
        return sets[0]

    def list_score_sets(self, *, dataset_version: int | None = None) -> tuple[ScoreSet, ...]:
        if dataset_version is None:
            return self._score_sets()
        return self._score_sets("WHERE dataset_version = ?", [dataset_version])

    def find_score_set(self, *, run_id: int, model: str, dataset_version: int,
                       as_of: date | None = None) -> ScoreSet | None:
        """The newest score set of this model on this dataset version (as of ``as_of``), if any."""
        sets = self._score_sets("WHERE run_id = ? AND model = ? AND dataset_version = ? "
                                "AND as_of IS NOT DISTINCT FROM ?",
                                [run_id, model, dataset_version,
                                 None if as_of is None else pd.Timestamp(as_of).date()])
        return sets[-1] if sets else None

    def load_scores(self, set_id: int) -> pd.DataFrame:
        """The scores of one set (``SCORE_COLUMNS``), in row order."""
        self.score_set(set_id)
        with self._connect() as con:
            return con.execute(f"SELECT {', '.join(SCORE_COLUMNS)} FROM scores WHERE score_set = ? "
                               "ORDER BY row_index", [set_id]).df()

    def _score_sets(self, where: str = "", params: list | None = None) -> tuple[ScoreSet, ...]:
        with self._connect() as con:
            rows = con.execute("SELECT id, run_id, model, dataset_version, created_at, rows, explained, units, "
                               f"base_probability, seconds, as_of FROM score_sets {where} ORDER BY id",
                               params or []).fetchall()
        return tuple(_record(ScoreSet, row) for row in rows)

    # -- ROI scenarios and thresholds ----------------------------------------------------------

    def save_scenario(self, name: str, *, inputs: dict, settings: dict | None = None,
                      dataset_version: int | None = None, run_id: int | None = None,
                      model: str | None = None) -> Scenario:
        """Store a scenario under ``name`` as its next version (earlier versions stay)."""
        clean = name.strip() if isinstance(name, str) else ""
        if not clean or len(clean) > 80:
            raise StoreError(f"A scenario needs a name of 1 to 80 characters. Got {name!r}. Type a short name, "
                             "such as 'Q3 call-centre push'.", code="bad_scenario_name", name=name)
        self._require_space(0)
        with self._connect() as con, _transaction(con):
            latest = _one(con, "SELECT max(version) FROM roi_scenarios WHERE name = ?", [clean])[0]
            scenario_id = _one(con, "SELECT nextval('scenario_ids')")[0]
            con.execute("INSERT INTO roi_scenarios VALUES (?, ?, ?, now(), ?, ?, ?, ?, ?)",
                        [scenario_id, clean, (latest or 0) + 1, json.dumps(inputs), json.dumps(settings or {}),
                         dataset_version, run_id, model])
        return self._scenarios("WHERE id = ?", [scenario_id])[0]

    def list_scenarios(self) -> tuple[Scenario, ...]:
        """Every saved version of every scenario, newest first."""
        return self._scenarios(order="created_at DESC, id DESC")

    def load_scenario(self, name: str, *, version: int | None = None) -> Scenario:
        """A scenario's latest version, or the version asked for."""
        found = self._scenarios("WHERE name = ?" + (" AND version = ?" if version else ""),
                                [name, version] if version else [name], order="version DESC")
        if not found:
            known = sorted({s.name for s in self.list_scenarios()})
            raise NotFoundError(f"There is no saved scenario {name!r}{f' version {version}' if version else ''}. "
                                f"Saved scenarios: {known}. Pick one of those.", code="scenario_not_found",
                                name=name, known=known)
        return found[0]

    def _scenarios(self, where: str = "", params: list | None = None, *, order: str = "id") -> tuple[Scenario, ...]:
        with self._connect() as con:
            rows = con.execute("SELECT id, name, version, created_at, inputs_json, settings_json, dataset_version, "
                               f"run_id, model FROM roi_scenarios {where} ORDER BY {order}", params or []).fetchall()
        return tuple(_record(Scenario, r, inputs=json.loads(r[4]), settings=json.loads(r[5] or "{}")) for r in rows)

    def save_threshold(self, run_id: int, model: str, *, threshold: float, rate: float | None = None,
                       kind: str = "profit", assumptions: dict | None = None) -> RunThreshold:
        """Store a decision threshold on a run's model (the newest of a kind is the one in use)."""
        self.get_run(run_id).model(model)
        self._require_space(0)
        with self._connect() as con, _transaction(con):
            con.execute("INSERT INTO run_thresholds VALUES (?, ?, ?, ?, ?, ?, now())",
                        [run_id, model, kind, float(threshold), rate, json.dumps(assumptions or {})])
        return self.threshold(run_id, model, kind=kind)

    def threshold(self, run_id: int, model: str, *, kind: str = "profit") -> RunThreshold | None:
        with self._connect() as con:
            row = _one(con, "SELECT run_id, model, kind, threshold, rate, assumptions_json, created_at "
                            "FROM run_thresholds WHERE run_id = ? AND model = ? AND kind = ? "
                            "ORDER BY created_at DESC, rowid DESC LIMIT 1", [run_id, model, kind])
        return None if row is None else _record(RunThreshold, row, assumptions=json.loads(row[5] or "{}"))

    # -- retention campaigns ---------------------------------------------------------------------

    def save_campaign(self, plan, *, dataset_version: int, run_id: int | None = None, model: str | None = None,
                      score_set: int | None = None, as_of: date | None = None, currency: str | None = None,
                      created_by: str | None = None, lookback_days: int | None = None) -> Campaign:
        """Store a planned campaign (a :class:`~churn_core.campaigns.design.CampaignPlan`) with its members,
        in one transaction. Its assignment never changes afterwards. ``lookback_days``: a visit log's lookback
        (a customer with no visit in it counts as lapsed), for the lead time."""
        spec, members = plan.spec, plan.members
        params = {"spec": spec.to_dict(), "check": plan.check.to_frame().iloc[0].to_dict(),
                  "lookback_days": lookback_days}
        cols = ["customer_id", "arm", "tier", "probability", "value", "action", "due_date", "days_since_last_event"]
        incoming = members[cols].copy()
        incoming["due_date"] = pd.to_datetime(incoming["due_date"]).dt.date
        with self._connect() as con:
            self._require(con, dataset_version)
            self._require_space(_frame_bytes(incoming))
            with _transaction(con):
                campaign_id = _one(con, "SELECT nextval('campaign_ids')")[0]
                con.execute("INSERT INTO campaigns VALUES (?, ?, ?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [campaign_id, spec.name, spec.owner or None, created_by, dataset_version, run_id, model,
                             score_set, None if as_of is None else pd.Timestamp(as_of).date(), spec.start,
                             float(spec.control_share), int(spec.seed), float(spec.contact_cost), spec.window_days,
                             currency, json.dumps(params, default=str)])
                con.register("incoming_members", incoming)
                con.execute(f"INSERT INTO campaign_members SELECT ?, {', '.join(cols)} FROM incoming_members",
                            [campaign_id])
                con.unregister("incoming_members")
        logger.info("stored campaign %d %r: %d members", campaign_id, spec.name, len(incoming))
        return self.campaign(campaign_id)

    def list_campaigns(self) -> tuple[Campaign, ...]:
        """Every campaign, newest first."""
        return self._campaigns(order="c.id DESC")

    def campaign(self, campaign_id: int) -> Campaign:
        found = self._campaigns("WHERE c.id = ?", [campaign_id])
        if not found:
            known = [c.id for c in self.list_campaigns()]
            raise NotFoundError(f"There is no campaign {campaign_id}. Stored campaigns: {known}. Pick one of "
                                "those (campaign list).", code="campaign_not_found", campaign=campaign_id,
                                known=known)
        return found[0]

    def _campaigns(self, where: str = "", params: list | None = None, *, order: str = "c.id") -> tuple[Campaign, ...]:
        with self._connect() as con:
            rows = con.execute(
                "SELECT c.id, c.name, c.owner, c.created_at, c.created_by, c.dataset_version, c.run_id, c.model, "
                "c.score_set, c.as_of, c.start_date, c.control_share, c.seed, c.contact_cost, c.window_days, "
                "c.currency, c.params_json, "
                "(SELECT count(*) FROM campaign_members m WHERE m.campaign = c.id AND m.arm = 'contact'), "
                "(SELECT count(*) FROM campaign_members m WHERE m.campaign = c.id AND m.arm = 'control'), "
                "(SELECT coalesce(max(version), 0) FROM campaign_batches b WHERE b.campaign = c.id) "
                f"FROM campaigns c {where} ORDER BY {order}", params or []).fetchall()
        return tuple(Campaign(**dict(zip(list(Campaign.__dataclass_fields__), (*r[:16], json.loads(r[16]), *r[17:]))))
                     for r in rows)

    def campaign_members(self, campaign_id: int) -> pd.DataFrame:
        """The campaign's customers as assigned at launch (the members' columns), in the order stored."""
        self.campaign(campaign_id)
        with self._connect() as con:
            frame = con.execute("SELECT customer_id, arm, tier, probability, value, action, due_date, "
                                "days_since_last_event FROM campaign_members WHERE campaign = ? ORDER BY rowid",
                                [campaign_id]).df()
        frame["due_date"] = pd.to_datetime(frame["due_date"])
        return frame

    def save_outcomes(self, campaign_id: int, rows: pd.DataFrame, *, source: str, recorded_by: str | None = None,
                      file_name: str | None = None, replaced: int = 0) -> OutcomeBatch:
        """Store ``rows`` (whole outcome records, churn_core.campaigns.outcomes.FIELDS) as the campaign's next
        version. Earlier versions stay; the current outcome of a customer is their latest record."""
        self.campaign(campaign_id)
        cols = ["customer_id", "contacted", "contact_date", "channel", "agent", "action_taken", "feedback", "result",
                "failure_reason"]
        incoming = rows[cols].copy()
        incoming["contact_date"] = pd.to_datetime(incoming["contact_date"]).dt.date
        with self._connect() as con:
            self._require_space(_frame_bytes(incoming))
            with _transaction(con):
                version = _one(con, "SELECT coalesce(max(version), 0) + 1 FROM campaign_batches WHERE campaign = ?",
                               [campaign_id])[0]
                con.execute("INSERT INTO campaign_batches VALUES (?, ?, now(), ?, ?, ?, ?, ?)",
                            [campaign_id, version, recorded_by, source, file_name, len(incoming), int(replaced)])
                con.register("incoming_outcomes", incoming)
                con.execute(f"INSERT INTO campaign_outcomes SELECT ?, ?, {', '.join(cols)} FROM incoming_outcomes",
                            [campaign_id, version])
                con.unregister("incoming_outcomes")
        logger.info("campaign %d: outcome version %d, %d customers (%s)", campaign_id, version, len(incoming), source)
        return self.outcome_batches(campaign_id)[-1]

    def campaign_outcomes(self, campaign_id: int, *, version: int | None = None) -> pd.DataFrame:
        """Each customer's latest outcome (as of ``version``, default the newest), with the version it is from."""
        self.campaign(campaign_id)
        with self._connect() as con:
            frame = con.execute(
                "SELECT customer_id, contacted, contact_date, channel, agent, action_taken, feedback, result, "
                "failure_reason, version FROM campaign_outcomes WHERE campaign = ? AND version <= ? "
                "QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY version DESC) = 1 "
                "ORDER BY customer_id", [campaign_id, version if version is not None else 2 ** 31 - 1]).df()
        frame["contact_date"] = pd.to_datetime(frame["contact_date"])
        frame["contacted"] = frame["contacted"].astype("boolean")
        for c in ("customer_id", "channel", "agent", "action_taken", "feedback", "result", "failure_reason"):
            frame[c] = frame[c].astype("string")
        return frame

    def outcome_batches(self, campaign_id: int) -> tuple[OutcomeBatch, ...]:
        """Every outcome version of the campaign, oldest first."""
        with self._connect() as con:
            rows = con.execute("SELECT campaign, version, recorded_at, recorded_by, source, file_name, rows, replaced "
                               "FROM campaign_batches WHERE campaign = ? ORDER BY version", [campaign_id]).fetchall()
        return tuple(_record(OutcomeBatch, r) for r in rows)

    # -- Parquet catalog -------------------------------------------------------------------------

    def register_parquet(self, kind: str, ref: int, url: str, *, rows: int | None = None,
                         partitions: int | None = None) -> None:
        """Record that the Parquet dataset at ``url`` (a folder or fsspec URL) holds the ``kind`` ('events' of a
        dataset version, 'scores' of a score set) of ``ref``. A ref's Parquet is written once: registering it
        again is refused, so nothing is silently replaced."""
        if kind not in PARQUET_KINDS:
            raise ParameterError(f"The Parquet kind must be one of {list(PARQUET_KINDS)}. Got {kind!r}.",
                                 code="bad_parameter", name="kind", value=str(kind))
        with self._connect() as con, _transaction(con):
            if _one(con, "SELECT url FROM parquet_files WHERE kind = ? AND ref = ?", [kind, ref]) is not None:
                raise StoreError(f"The {kind} of {ref} already have a Parquet dataset. Write a new version instead "
                                 "of replacing it.", code="parquet_exists", kind=kind, ref=ref)
            con.execute("INSERT INTO parquet_files VALUES (?, ?, ?, ?, ?, now())",
                        [kind, int(ref), str(url), rows, partitions])

    def parquet_url(self, kind: str, ref: int) -> str | None:
        """Where the Parquet dataset of ``kind`` ``ref`` lives (None: it is stored in the database itself)."""
        with self._connect() as con:
            row = _one(con, "SELECT url FROM parquet_files WHERE kind = ? AND ref = ?", [kind, int(ref)])
        return None if row is None else row[0]

    # -- per-dataset settings --------------------------------------------------------------------
    # Keyed by the dataset's name, not its version: saving a new version of the same data keeps them.

    def dataset_setting(self, version: int, key: str) -> str | None:
        """A setting of the dataset that ``version`` belongs to (None when never set)."""
        with self._connect() as con:
            name = self._require(con, version)[0]
        return self.named_setting(name, key)

    def named_setting(self, name: str, key: str) -> str | None:
        """A setting of the dataset called ``name`` (any of its versions; None when never set)."""
        with self._connect() as con:
            row = _one(con, "SELECT value FROM settings_by_dataset WHERE dataset = ? AND key = ?", [name, key])
        return None if row is None else row[0]

    def set_dataset_setting(self, version: int, key: str, value: str | None) -> None:
        """Set (or, with None, forget) a setting of the dataset that ``version`` belongs to."""
        with self._connect() as con:
            name = self._require(con, version)[0]
            with _transaction(con):
                con.execute("DELETE FROM settings_by_dataset WHERE dataset = ? AND key = ?", [name, key])
                if value is not None:
                    con.execute("INSERT INTO settings_by_dataset VALUES (?, ?, ?, now())", [name, key, str(value)])

    def currency(self, version: int) -> str:
        """The currency of a dataset's money: the one chosen for it, else the one its locale suggests
        (:func:`churn_core.money.detect_currency` on its headers and first rows)."""
        chosen = self.dataset_setting(version, "currency")
        if chosen is not None:
            return chosen
        with self._connect() as con:
            table = self._require(con, version)[4]
            head = con.execute(f'SELECT * FROM "{table}" LIMIT 200').df()
        return detect_currency(head)

    def set_currency(self, version: int, symbol: str) -> str:
        """Choose the currency of the dataset that ``version`` belongs to (every version of that name)."""
        clean = check_currency(symbol)
        self.set_dataset_setting(version, "currency", clean)
        return clean

    def value_per_customer(self, version: int) -> float | None:
        """The value per customer the analyst entered for a dataset without a value column (None if not yet)."""
        value = self.dataset_setting(version, "value_per_customer")
        return None if value is None else float(value)

    def set_value_per_customer(self, version: int, value: float | None) -> float | None:
        """Enter (or, with None, forget) the value per customer of a dataset without a value column."""
        if value is not None and (not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0):
            raise ParameterError(f"The value per customer must be a positive number. Got {value!r} instead. Enter "
                                 "your average customer value.", code="bad_parameter", name="value_per_customer",
                                 value=value)
        self.set_dataset_setting(version, "value_per_customer", None if value is None else repr(float(value)))
        return None if value is None else float(value)

    # -- internals -----------------------------------------------------------------------------

    def _require(self, con: duckdb.DuckDBPyConnection, version: int) -> tuple:
        row = _one(con, "SELECT name, source_file, sha256, roles_json, table_name, encoding, report_json "
                          "FROM datasets WHERE id = ?", [version])
        if row is None:
            known = [r[0] for r in con.execute("SELECT id FROM datasets ORDER BY id").fetchall()]
            raise NotFoundError(f"There is no dataset version {version}. Stored versions: {known}. "
                                "Pick one of those, or import the file again.",
                                code="dataset_not_found", version=version, known=known)
        return row

    def _active_id(self, con: duckdb.DuckDBPyConnection) -> int | None:
        row = _one(con, "SELECT value FROM settings WHERE key = 'active_dataset'")
        return None if row is None else int(row[0])

    def _set_active(self, con: duckdb.DuckDBPyConnection, version: int) -> None:
        con.execute("INSERT OR REPLACE INTO settings VALUES ('active_dataset', ?)", [str(version)])

    def _version(self, con: duckdb.DuckDBPyConnection, version: int, *, reused: bool = False) -> DatasetVersion:
        row = _one(con, "SELECT id, name, source_file, sha256, rows, n_columns, created_at, roles_json, "
                          "coalesce(kind, 'snapshot') FROM datasets WHERE id = ?", [version])
        target = json.loads(row[-2]).get("target") if row[-2] else None
        return _record(DatasetVersion, row[:-2], active=self._active_id(con) == version, reused=reused, target=target,
                       kind=row[-1])


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _case_clashes(columns: pd.Index) -> list[str]:
    """Column names equal to another one but for case ('A' and 'a'), which DuckDB would silently rename."""
    seen: dict[str, list[str]] = {}
    for column in map(str, columns):
        seen.setdefault(column.lower(), []).append(column)
    return [name for group in seen.values() if len(group) > 1 for name in group]


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT internal").fetchall()}


def _free_bytes(path: Path) -> int | None:
    """Free bytes on the disk holding ``path`` (None when the folder cannot be asked)."""
    try:
        return shutil.disk_usage(path.parent).free
    except OSError:
        return None


def _megabytes(nbytes: int | None) -> str:
    return "?" if nbytes is None else f"{nbytes / 1_048_576:.1f}"


def _frame_bytes(frame: pd.DataFrame) -> int:
    return int(frame.memory_usage(index=False, deep=True).sum())


def _process_ended(pid: int | None, host: str | None) -> bool:
    """Whether the process that started a run is gone (known only for a process on this host)."""
    if pid is None or host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)  # signal 0 delivers nothing: it only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row of a query, reading the result to its end (DuckDB 2 requires it)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def ensure_active_dataset(store: Store, *, default: str | Path | None = None) -> DatasetVersion:
    """The active dataset version; on a new database, import ``default`` (the bundled CSV) first."""
    from .dataset import BUNDLED_CSV, load_dataset

    active = store.active_version()
    if active is not None:
        return active
    logger.info("no active dataset in %s: importing %s", store.path, default or BUNDLED_CSV)
    return store.save_dataset(load_dataset(default or BUNDLED_CSV))


DEMOS = ("telecom", "aftersales")


def ensure_demo(store: Store, name: str, *, activate: bool = True) -> DatasetVersion:
    """Store a bundled demo as a dataset version (or find the one stored before) and, with ``activate``, make
    it the active dataset. Nothing stored is replaced: a demo is one more version.

    ``name`` is ``"telecom"`` (the customer table of :data:`churn_core.dataset.BUNDLED_CSV`) or
    ``"aftersales"`` (the dealer visit log of :func:`churn_core.events.demo.bundled_aftersales`, its window
    the suggested one and its currency ``¥``: the amounts are CNY).
    """
    if name not in DEMOS:
        raise ParameterError(f"The 'name' parameter of ensure_demo must be one of {list(DEMOS)}. Got {name!r} "
                             "instead.", code="unknown_demo", name=name, demos=", ".join(DEMOS))
    if name == "telecom":
        from .dataset import BUNDLED_CSV, load_dataset

        return store.save_dataset(load_dataset(BUNDLED_CSV), activate=activate)
    from .events.demo import BUNDLED_NAME, BUNDLED_VISITS, bundled_aftersales

    stored = [v for v in store.list_datasets().versions
              if v.kind == "events" and v.name == BUNDLED_NAME and v.source_file == BUNDLED_VISITS.name]
    if stored:  # building it takes seconds; the committed files do not change
        found = store.activate(stored[-1].version) if activate else stored[-1]
        return dataclasses.replace(found, reused=True)
    version = store.save_events(bundled_aftersales(), activate=activate)
    store.set_currency(version.version, "¥")
    return version
