"""Reliability: threads sharing the store, a real server's sessions while the command line retrains,
and recovery after a process is killed in the middle of a training.

The server is a real ``streamlit run app.py``, started by scripts/screenshot.py's ``running_app``
(as the browser tests start it). Its sessions need no browser: ``Session`` speaks Streamlit's
websocket protocol the way the browser does, and keeps what each page drew.

Run 1 (XGBoost, from tests/conftest.py's session template) is the champion; the analyst trains
logistic regressions from the command line.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect

import churn_core as cc
from churn_core import store as store_module

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from screenshot import running_app  # noqa: E402

BUNDLED = ROOT / "data" / "telecom_churn.csv"
NAMES = {"XGBoost": "xgboost", "Logistic regression": "logistic_regression"}
SCORED_BY = re.compile(r"Scored by run (\d+) \(.+? v\d+\) · (.+?)\. Reasons")
CHAMPION_LINE = re.compile(r"Champion: (.+?) from run (\d+) on .+? v\d+ \(holdout")
FINISHED_FOR_RERUN = 2  # ForwardMsg.script_finished: the run stopped early because another one follows


# -- a session of the real server, without a browser ----------------------------------------------------


@dataclass
class Page:
    """What one run of a page drew: its texts, its alerts and exceptions, its tables."""

    texts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # st.error and exceptions
    tables: list[pd.DataFrame] = field(default_factory=list)

    def one(self, pattern: re.Pattern) -> tuple[str, ...]:
        found = [m.groups() for text in self.texts for m in [pattern.search(text)] if m]
        assert len(found) == 1, f"{pattern.pattern!r} is shown {len(found)} times in {self.texts}"
        return found[0]

    def risk(self) -> tuple[int, str, pd.Series]:
        """The Risk page's caption (run, model) and its call list's probabilities (fractions) by customer id."""
        run_id, model = self.one(SCORED_BY)
        table = self.tables[0]
        return int(run_id), NAMES[model], pd.Series(table["Probability"].to_numpy() / 100,
                                                    index=table["Customer"].astype(str))

    def champion(self) -> tuple[int, str]:
        """The Models page's champion line: (run, model)."""
        model, run_id = self.one(CHAMPION_LINE)
        return int(run_id), NAMES[model]


class Session:
    """One session of a running server, driven through its websocket as a browser tab drives it."""

    def __init__(self, websocket) -> None:
        self._ws = websocket

    def open(self, page: str, *, timeout: float = 120) -> Page:
        """Run the page whose URL path is ``page`` ("" for the default) and collect what it drew."""
        msg = BackMsg()
        msg.rerun_script.page_name = page
        self._ws.send(msg.SerializeToString())
        drawn = Page()
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(self._ws.recv(timeout=timeout))
            kind = fwd.WhichOneof("type")
            if kind == "script_finished" and fwd.script_finished != FINISHED_FOR_RERUN:
                return drawn
            if kind == "new_session":
                drawn = Page()  # the run that counts starts again
            if kind != "delta" or fwd.delta.WhichOneof("type") != "new_element":
                continue
            element = fwd.delta.new_element
            match element.WhichOneof("type"):
                case "markdown" | "heading":
                    drawn.texts.append(getattr(element, element.WhichOneof("type")).body)
                case "alert":
                    drawn.texts.append(element.alert.body)
                    if element.alert.format == Alert.ERROR:
                        drawn.problems.append(element.alert.body)
                case "exception":
                    drawn.problems.append(f"{element.exception.type}: {element.exception.message}")
                case "dataframe":
                    drawn.tables.append(convert_arrow_bytes_to_pandas_df(element.dataframe.arrow_data.data))


@contextlib.contextmanager
def session(url: str) -> Iterator[Session]:
    """A new session of the server at ``url`` (a new browser tab)."""
    with connect(url.replace("http://", "ws://") + "/_stcore/stream", subprotocols=["streamlit"],
                 open_timeout=30) as websocket:
        yield Session(websocket)


@contextlib.contextmanager
def serving(workdir: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """``running_app`` on ``workdir``/churn.duckdb; also hands back the server process, so a test can kill it."""
    started: list[subprocess.Popen] = []
    popen = subprocess.Popen

    def recording(*args, **kwargs):
        started.append(popen(*args, **kwargs))
        return started[-1]

    with contextlib.ExitStack() as stack:
        with mock.patch.object(subprocess, "Popen", side_effect=recording):
            url = stack.enter_context(running_app(workdir, workdir / "server.log"))
        yield url, started[0]


# -- the command line ----------------------------------------------------------------------------------------


def train(db: Path, *, seed: int) -> subprocess.Popen:
    """`python -m churn_core train --promote`: a logistic regression on the bundled data."""
    return subprocess.Popen([sys.executable, "-m", "churn_core", "train", "--data", str(BUNDLED), "--promote",
                             "--models", "logistic_regression", "--seed", str(seed), "--db", str(db)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stored_probabilities(store: cc.Store, run_id: int, model: str) -> pd.Series:
    """The probabilities the champion ``model`` of run ``run_id`` stored for the bundled data, by customer id."""
    found = store.find_score_set(run_id=run_id, model=model, dataset_version=1)
    assert found is not None, f"no scores of run {run_id} {model} are stored"
    scores = store.load_scores(found.id)
    return pd.Series(scores["probability"].to_numpy(), index=scores["customer_id"].astype(str))


def kill_while_running(proc: subprocess.Popen, db: Path, run_id: int) -> None:
    """SIGKILL ``proc`` once run ``run_id`` is recorded as running (it has no chance to mark it failed)."""
    store = cc.Store(db)
    deadline = time.monotonic() + 120
    while not any(r.id == run_id and r.status == "running" for r in store.list_runs()):
        assert proc.poll() is None, f"the process ended before run {run_id} was running: {proc.communicate()}"
        assert time.monotonic() < deadline, f"run {run_id} never started"
        time.sleep(0.05)
    proc.kill()
    proc.communicate()  # reaped: a killed process left as a zombie still "exists"


@pytest.fixture
def server_dir(trained_db, tmp_path) -> Path:
    """A folder whose churn.duckdb is the trained database (the server's database), with the champion's
    scores stored (without reasons, which take the server seconds of SHAP)."""
    folder = tmp_path / "server"
    folder.mkdir()
    store = cc.Store(shutil.move(trained_db, folder / "churn.duckdb"))
    cc.score_dataset(store.load_dataset(1), store=store, explain="none")
    return folder


# -- threads of one process ------------------------------------------------------------------------------------


class RacyConnections:
    """``duckdb.connect`` as DuckDB behaves inside one process, with the race made wide enough to hit.

    A process's connections to a file share one database instance, torn down when the last one closes;
    a connect that lands in that teardown fails with "Unique file handle conflict". Here every close
    takes 5 ms and counts as a teardown.
    """

    def __init__(self, connect) -> None:
        self._connect, self._lock, self._closing = connect, threading.Lock(), 0

    def __call__(self, *args, **kwargs):
        with self._lock:
            if self._closing:
                raise duckdb.ResourceInUseException('Resource In Use Error: Unique file handle conflict: Cannot '
                                                    'attach "t" - the database file is already attached')
        return _SlowClose(self._connect(*args, **kwargs), self)


class _SlowClose:
    def __init__(self, con, racy: RacyConnections) -> None:
        self._con, self._racy = con, racy

    def close(self) -> None:
        with self._racy._lock:
            self._racy._closing += 1
        time.sleep(0.005)
        self._con.close()
        with self._racy._lock:
            self._racy._closing -= 1

    def __getattr__(self, name):
        return getattr(self._con, name)


def hammer(store: cc.Store, *, readers: int, writes: int) -> tuple[int, list[BaseException]]:
    """``readers`` threads read (pausing as a page does between reads) while one thread trains and promotes
    ``writes`` runs; the number of reads and the errors met."""
    errors: list[BaseException] = []
    reads = [0]
    stop = threading.Event()

    def read(seed: int) -> None:
        pause = random.Random(seed)
        while not stop.is_set():
            try:
                store.champion(), store.list_runs(), store.active_version()
            except BaseException as err:
                errors.append(err)
                return
            reads[0] += 1
            time.sleep(pause.random() * 0.003)

    def write() -> None:
        try:
            for _ in range(writes):
                run_id = store.start_run(1, params={})
                store.complete_run(run_id, models=[{"name": "logistic_regression", "roc_auc": 0.5}])
                store.promote(run_id, "logistic_regression")
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=read, args=(seed,)) for seed in range(readers)]
    writer = threading.Thread(target=write)
    for thread in (*threads, writer):
        thread.start()
    writer.join(timeout=120)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return reads[0], errors


def test_threads_of_one_process_share_the_database(tmp_store, bundled):
    """The app's sessions are threads of one process: eight read while one writes, and none meets an error."""
    tmp_store.save_dataset(bundled)
    reads, errors = hammer(tmp_store, readers=8, writes=10)
    assert not errors, errors[:3]
    assert reads > 50 and tmp_store.champion().run_id == 10


def test_a_connect_never_lands_in_the_teardown_of_a_close(tmp_store, bundled, monkeypatch):
    """What DuckDB refuses (a connect during the last close) the store never asks for: connects and closes take
    turns. (Real DuckDB hits the race only now and then, so the test above alone would miss a regression.)"""
    tmp_store.save_dataset(bundled)
    monkeypatch.setattr(duckdb, "connect", RacyConnections(duckdb.connect))
    reads, errors = hammer(tmp_store, readers=4, writes=3)
    assert not errors, errors[:3]
    assert reads > 10 and tmp_store.champion().run_id == 3


# -- runs whose process is gone ------------------------------------------------------------------------------


def ended_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def record_process(db: Path, run_id: int, *, pid: int | None, host: str | None) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE model_runs SET pid = ?, host = ? WHERE id = ?", [pid, host, run_id])


def test_a_run_reads_as_running_while_its_process_lives(tmp_store, bundled):
    version = tmp_store.save_dataset(bundled).version
    run_id = tmp_store.start_run(version, params={})
    assert (tmp_store.get_run(run_id).status, tmp_store.get_run(run_id).error) == ("running", None)


@pytest.mark.parametrize(("host", "status"), [("this host", "failed"), ("another host", "running")],
                         ids=["same-host-reads-failed", "other-host-left-running"])
def test_a_run_whose_process_ended_reads_as_failed_on_its_host(tmp_store, bundled, host, status):
    version = tmp_store.save_dataset(bundled).version
    run_id = tmp_store.start_run(version, params={})
    pid = ended_pid()
    record_process(tmp_store.path, run_id, pid=pid, host=store_module.socket.gethostname()
                   if host == "this host" else "elsewhere.example")
    run = tmp_store.get_run(run_id)
    assert run.status == status
    if status == "failed":
        assert run.error.startswith(f"Interrupted: process {pid} on ")
        with pytest.raises(cc.StoreError, match=f"Run {run_id} is failed, so its models cannot be promoted"):
            tmp_store.promote(run_id, "logistic_regression")


def test_a_database_of_schema_6_gains_the_process_columns(tmp_path):
    path = tmp_path / "v6.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMP)")
        for version, statements in store_module.MIGRATIONS[:6]:
            for sql in statements:
                con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
        con.execute("INSERT INTO model_runs (id, dataset_version, status, created_at) "
                    "VALUES (1, 1, 'running', now())")
    store = cc.Store(path)
    assert store.schema_version() == store_module.SCHEMA_VERSION == 12
    # A run recorded before its process was: nothing is known about that process, so nothing is guessed.
    assert store.get_run(1).status == "running"


@pytest.mark.slow  # trains in a process of its own, and kills it
def test_the_command_line_killed_mid_training_leaves_the_champion_and_a_failed_run(trained_db):
    proc = train(trained_db, seed=1)
    kill_while_running(proc, trained_db, run_id=2)

    store = cc.Store(trained_db)  # opens (and is writable) after the kill
    assert store.schema_version() == store_module.SCHEMA_VERSION
    champion = store.champion()
    assert (champion.run_id, champion.model) == (1, "xgboost")
    run = store.get_run(2)
    assert run.status == "failed" and run.models == ()
    assert run.error.startswith(f"Interrupted: process {proc.pid} on ")
    assert [r.id for r in store.list_runs() if r.status == "complete"] == [1]
    with pytest.raises(cc.StoreError, match="Run 2 is failed, so its models cannot be promoted"):
        store.promote(2, "logistic_regression")


# -- a real server beside the command line -------------------------------------------------------------------


@pytest.mark.slow  # a real server, ten sessions, and a whole training from the command line
def test_ten_sessions_of_the_server_while_the_command_line_retrains(server_dir):
    """Ten sessions keep opening Risk and Models while `train --promote` runs; then they all see run 2."""
    db = server_dir / "churn.duckdb"
    seen: list[tuple[int, str, tuple, tuple]] = []  # (session, phase, Risk caption and list, champion line)
    failures: list[BaseException] = []
    with serving(server_dir) as (url, _), contextlib.ExitStack() as tabs:
        sessions = [tabs.enter_context(session(url)) for _ in range(10)]
        cli = train(db, seed=1)

        def browse(number: int, tab: Session) -> None:
            try:
                while True:
                    phase = "during" if cli.poll() is None else "after"
                    risk, models = tab.open("risk"), tab.open("models")
                    assert not risk.problems and not models.problems, risk.problems + models.problems
                    seen.append((number, phase, risk.risk(), models.champion()))
                    if phase == "after":
                        return
            except BaseException as err:  # reported by the test's thread
                failures.append(err)

        threads = [threading.Thread(target=browse, args=pair, daemon=True) for pair in enumerate(sessions)]
        for thread in threads:
            thread.start()
        out, err = cli.communicate(timeout=300)
        for thread in threads:
            thread.join(timeout=300)

    assert not failures, failures[:1]
    assert cli.returncode == 0, err
    assert "champion: run 2 logistic_regression" in out
    store = cc.Store(db)
    stored = {key: stored_probabilities(store, *key) for key in ((1, "xgboost"), (2, "logistic_regression"))}
    assert {number for number, *_ in seen} == set(range(10))
    assert any(phase == "during" for _, phase, *_ in seen)
    for number, phase, (run_id, model, listed), champion in seen:
        # One champion per page: the caption's, and the list shows that champion's scores.
        assert (run_id, model) in stored, (number, run_id, model)
        np.testing.assert_allclose(listed, stored[run_id, model][listed.index], atol=1e-9)
        other = stored[(2, "logistic_regression") if run_id == 1 else (1, "xgboost")]
        assert not np.allclose(listed, other[listed.index], atol=1e-3)  # (so the check above tells them apart)
        if phase == "after":  # the first pages opened after the promotion show it, on both pages
            assert (run_id, model) == champion == (2, "logistic_regression"), number


# Training from the Data page, as an analyst does it, in a process of its own (so it can be killed):
# AppTest runs the same script code on the same store as the server does.
UI_TRAINING = """
import sys

from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

init = PagesManager.__init__


def navigation_init(self, *args, **kwargs):  # as tests/app/conftest.py's _navigation_app
    init(self, *args, **kwargs)
    PagesManager.uses_pages_directory = False


PagesManager.__init__ = navigation_init
at = AppTest.from_file("app.py", default_timeout=300).run().switch_page("pages/data.py").run()
with open(sys.argv[1], "rb") as data:
    at = at.file_uploader(key="upload").upload("telecom_churn.csv", data.read(), "text/csv").run()
at = at.button(key="save").click().run()
at.multiselect(key="train_models").set_value(["logistic_regression"])
at.button(key="train").click().run()
"""


@pytest.mark.slow  # a real server started twice, and a training in a process of its own, killed
def test_killed_in_the_middle_of_a_training_the_app_restarts_with_its_champion(server_dir):
    """The training process and the server die mid-run (the server while drawing a page); after a restart
    the app opens, the champion is the one before, and the half-done run shows as failed."""
    db = server_dir / "churn.duckdb"
    with serving(server_dir) as (url, server), session(url) as tab:
        analyst = subprocess.Popen([sys.executable, "-c", UI_TRAINING, str(BUNDLED)], cwd=ROOT,
                                   env={**os.environ, cc.store.ENV_VAR: str(db)},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        kill_while_running(analyst, db, run_id=2)

        def draw() -> None:
            with contextlib.suppress(Exception):  # the server dies under it
                tab.open("risk")

        drawing = threading.Thread(target=draw, daemon=True)
        drawing.start()
        time.sleep(0.3)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        drawing.join(timeout=30)

    with serving(server_dir) as (url, _), session(url) as tab:
        models = tab.open("models")
        risk = tab.open("risk")
    assert not models.problems and not risk.problems, models.problems + risk.problems
    assert models.champion() == (1, "xgboost") and risk.risk()[:2] == (1, "xgboost")
    (history,) = [table for table in models.tables if "Status" in table]
    run = history.set_index("Run").loc[2]
    assert run["Status"] == "failed" and run["Error"].startswith(f"Interrupted: process {analyst.pid} on ")
    assert cc.Store(db).get_run(2).status == "failed"
