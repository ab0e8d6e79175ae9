"""Cached access to churn_core for the pages, and ``memo`` for the views drawn from it (a chart, a table as
shown). The only place that decides what is cached, and how."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

import churn_core as cc


@st.cache_resource(show_spinner=False)
def _store(path: str) -> cc.Store:
    store = cc.Store(path)
    cc.ensure_active_dataset(store)
    return store


def store() -> cc.Store:
    """The process-wide store for the configured database (created and seeded on first use)."""
    return once_per_run("store", lambda: _store(str(cc.resolve_db_path())))


@st.cache_resource(max_entries=4, show_spinner=False)
def _active_at(path: str, stamp: tuple) -> cc.DatasetVersion:
    return cc.ensure_active_dataset(_store(path))


def active_version() -> cc.DatasetVersion:
    """The active dataset version, read once per script run (so one page never mixes two), and from the
    database only when its file changed."""
    def read() -> cc.DatasetVersion:
        path = str(store().path)
        return _active_at(path, _stamp(path))
    return once_per_run("active_version", read)


def once_per_run(name: str, compute):
    """``compute()``, once per script run of this session (outside a script run: every time): one page run
    sees one value, and asks for it once."""
    ctx = get_script_run_ctx(suppress_warning=True)
    this_run = getattr(ctx, "cursors", None)  # Streamlit makes a new one for each script run
    if this_run is None:
        return compute()
    if getattr(_THIS_RUN, "run", None) is not this_run:  # a session's script runs on its own thread
        _THIS_RUN.run, _THIS_RUN.values = this_run, {}
    if name not in _THIS_RUN.values:
        _THIS_RUN.values[name] = compute()
    return _THIS_RUN.values[name]


_THIS_RUN = threading.local()


@st.cache_resource(max_entries=4, show_spinner=False)
def _dataset(path: str, version: int) -> cc.Dataset:
    # Shared, not copied: a Dataset is never modified after loading.
    return _store(path).load_dataset(version)


def active_dataset() -> cc.Dataset:
    return _dataset(str(store().path), active_version().version)


@st.cache_resource(max_entries=8, show_spinner=False)
def _description(path: str, version: int) -> cc.Description:
    return cc.describe(_dataset(path, version))


def description() -> cc.Description:
    """The full descriptive analysis of the active dataset, computed once per version.

    Shared between sessions, not copied (unpickling it cost more than the rest of a warm Overview):
    read-only, like every cached resource here.
    """
    return _description(str(store().path), active_version().version)


def data_token() -> tuple:
    """What identifies the active dataset (database and version): a cache key for views of it."""
    return str(store().path), active_version().version


@st.cache_resource(max_entries=32, show_spinner=False)
def _by_column(path: str, version: int, column: str) -> cc.CategoryChurn:
    return cc.churn_by_category(_dataset(path, version), column=column)


def churn_by(column: str) -> cc.CategoryChurn:
    return _by_column(str(store().path), active_version().version, column)


@st.cache_resource(max_entries=32, show_spinner=False)
def _crosstab(path: str, version: int, rows: str, columns: str) -> cc.CrossTab:
    return cc.cross_tab(_dataset(path, version), rows=rows, columns=columns)


def crosstab(rows: str, columns: str) -> cc.CrossTab:
    return _crosstab(str(store().path), active_version().version, rows, columns)


def _stamp(path: str) -> tuple:
    """When the database file (and its write-ahead log) last changed: any write by any process (a promotion
    from the command line, another session's training) changes it, so reads cached under it are current."""
    out = []
    for name in (path, f"{path}.wal"):
        try:
            info = os.stat(name)
            out.append((info.st_mtime_ns, info.st_size))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


@st.cache_resource(max_entries=4, show_spinner=False)
def _runs_at(path: str, stamp: tuple) -> tuple:
    return _store(path).list_runs()


@st.cache_resource(max_entries=4, show_spinner=False)
def _champion_at(path: str, stamp: tuple) -> cc.Champion | None:
    return _store(path).champion()


@st.cache_resource(max_entries=4, show_spinner=False)
def _datasets_at(path: str, stamp: tuple) -> cc.DatasetList:
    return _store(path).list_datasets()


def datasets() -> cc.DatasetList:
    """Every stored dataset version (re-read whenever the database changed)."""
    path = str(store().path)
    return _datasets_at(path, _stamp(path))


@st.cache_resource(max_entries=4, show_spinner=False)
def _scenarios_at(path: str, stamp: tuple) -> tuple:
    return tuple(_store(path).list_scenarios())


def scenarios() -> tuple:
    """Every saved ROI scenario version (re-read whenever the database changed)."""
    path = str(store().path)
    return _scenarios_at(path, _stamp(path))


def runs() -> tuple:
    """Every recorded model run, oldest first (re-read whenever the database changed: statuses change while
    a run trains)."""
    path = str(store().path)
    return _runs_at(path, _stamp(path))


def champion() -> cc.Champion | None:
    """The champion, read once per script run: every part of a page shows the same one even when someone
    promotes meanwhile (the command line, another session); the next run shows the new one."""
    def read() -> cc.Champion | None:
        path = str(store().path)
        return _champion_at(path, _stamp(path))  # a database read only when the file changed
    return once_per_run("champion", read)


def _pinned(path: str, run_id: int, model: str) -> cc.Champion:
    """The champion a cache entry belongs to: what is cached for one champion must never be computed (or
    stored) with another one promoted in between, so churn_core is given it instead of reading the store."""
    return cc.Champion(run_id, model, _store(path).get_run(run_id).model(model))


@st.cache_resource(max_entries=8, show_spinner=False)
def _model_report(path: str, run_id: int):
    from churn_core.reports import model_report

    store_ = _store(path)
    return model_report(store_.get_run(run_id), store_.load_predictions(run_id))


def model_report(run_id: int):
    """Everything the Models page draws for a complete run (immutable once complete, so shared)."""
    return _model_report(str(store().path), run_id)


def refresh() -> None:
    """Forget the active version read in this script run, after a save or activation changed it."""
    getattr(_THIS_RUN, "values", {}).pop("active_version", None)


def dataset(version: int) -> cc.Dataset:
    """A stored dataset version (shared, never modified)."""
    return _dataset(str(store().path), version)


@st.cache_resource(max_entries=8, show_spinner=False)
def _comparison(path: str, version: int, run_id: int, champion: tuple | None):
    from churn_core.reports import compare_with_champion

    return compare_with_champion(_dataset(path, version), store=_store(path), run_id=run_id,
                                 champion=None if champion is None else _pinned(path, *champion))


def comparison(version: int, run_id: int):
    """The champion against run ``run_id`` on its holdout rows (recomputed only when the champion changes)."""
    champ = champion()
    return _comparison(str(store().path), version, run_id, (champ.run_id, champ.model) if champ else None)


# -- the risk explorer -------------------------------------------------------------------------------------

# Seconds of exact SHAP work before a forest falls back to tree-path contributions (a clock, not an
# estimate): every active customer gets reasons either way.
EXPLAIN_BUDGET_S = 6.0


@st.cache_resource(max_entries=4, show_spinner=False)
def _model(path: str, run_id: int, name: str):
    entry = _store(path).get_run(run_id).model(name)
    return cc.load_model(entry["artifact"], sha256=entry["sha256"])


def champion_model():
    """The champion's fitted model (loaded once, checked against its sha256; read-only, so shared)."""
    champ = champion()
    return None if champ is None else _model(str(store().path), champ.run_id, champ.model)


def champion_fit(columns) -> cc.ColumnFit:
    """Whether the champion can score a table with these columns (what it lacks); no champion lacks nothing."""
    return cc.column_fit(champion_model(), columns)


@st.cache_resource(max_entries=4, show_spinner=False)
def _scored(path: str, version: int, run_id: int, name: str) -> cc.ScoredCustomers:
    return cc.score_dataset(_dataset(path, version), store=_store(path), champion=_pinned(path, run_id, name),
                            model=_model(path, run_id, name), explain_budget_s=EXPLAIN_BUDGET_S)


@st.cache_resource(max_entries=8, show_spinner=False)
def _with_policy(path: str, version: int, run_id: int, name: str, retention: float, contact_cost: float,
                 ltv: float | None) -> cc.ScoredCustomers:
    base = _scored(path, version, run_id, name)
    policy = cc.RiskPolicy(retention_likelihood=retention, contact_cost=contact_cost, ltv=ltv)
    return base if policy == base.policy else base.with_policy(policy)


def scored(*, retention: float, contact_cost: float, ltv: float | None) -> cc.ScoredCustomers | None:
    """The active dataset scored by the champion under these assumptions (None without a champion).

    Scores are computed once per dataset version and champion (and kept in the store); changing an
    assumption only re-derives tiers, priority and actions. Shared, never modified.
    """
    champ = champion()
    if champ is None:
        return None
    args = (str(store().path), active_version().version, champ.run_id, champ.model)
    return _with_policy(*args, float(retention), float(contact_cost), None if ltv is None else float(ltv))


# -- scoring ahead of the first visit ----------------------------------------------------------------------
# A promotion or an activation scores the active dataset in a background thread of this process (churn_core
# only, no Streamlit calls), so the Risk page reads stored scores. Data this small is scored on the page
# itself when nothing is stored yet (a second or two); larger data waits for the background job.
SCORE_ON_PAGE_ROWS = 20_000
_JOBS: dict[tuple, dict] = {}
_JOBS_LOCK = threading.Lock()


def _score_job(path: str, version: int, run_id: int, model: str) -> None:
    key = (path, version, run_id, model)
    try:
        store_ = cc.Store(path)
        pinned = cc.Champion(run_id, model, store_.get_run(run_id).model(model))
        cc.score_dataset(store_.load_dataset(version), store=store_, champion=pinned)
        _JOBS[key]["state"] = "done"
    except Exception as err:  # noqa: BLE001 - a thread must not die silently: the Risk page shows the error
        _JOBS[key].update(state="failed", error=str(err))


@st.cache_resource(max_entries=16, show_spinner=False)
def _stored_at(path: str, stamp: tuple, version: int, run_id: int, model: str) -> bool:
    return _store(path).find_score_set(run_id=run_id, model=model, dataset_version=version) is not None


def scores_state() -> tuple[str, str | None]:
    """Where the active dataset's scores by the champion stand: ``stored``, ``running``, ``failed`` (with the
    error), ``missing``; ``none`` without a champion."""
    champ = champion()
    if champ is None:
        return "none", None
    path = str(store().path)
    key = (path, active_version().version, champ.run_id, champ.model)
    job = _JOBS.get(key)
    if job is not None and job["state"] in ("running", "failed"):
        return job["state"], job.get("error")
    return ("stored" if _stored_at(path, _stamp(path), *key[1:]) else "missing"), None


def prepare_scores(*, run_id: int | None = None, model: str | None = None) -> None:
    """Score the active dataset with the champion (or the run and model just promoted) in the background,
    unless stored or under way already."""
    champ = champion()
    if run_id is None and champ is None:
        return
    run_id, model = (run_id, model) if run_id is not None else (champ.run_id, champ.model)
    path = str(store().path)
    key = (path, active_version().version, run_id, model)
    with _JOBS_LOCK:
        job = _JOBS.get(key)
        if (job is not None and job["state"] == "running") or _stored_at(path, _stamp(path), *key[1:]):
            return
        _JOBS[key] = {"state": "running"}
    threading.Thread(target=_score_job, args=key, daemon=True, name="churn-radar-scoring").start()


def explain_more(scored_: cc.ScoredCustomers, *, limit: int) -> None:
    """Explain the next ``limit`` riskiest unexplained customers, keep their reasons, forget the cached scores."""
    cc.explain_rows(scored_, cc.unexplained_rows(scored_, limit=limit), model=champion_model(), store=store())
    _scored.clear()
    _with_policy.clear()


def run_dataset_version(run_id: int) -> int | None:
    """The dataset version a run was trained on."""
    return next((r.dataset_version for r in runs() if r.id == run_id), None)


# -- money: the active dataset's currency and value per customer ------------------------------------------

@st.cache_resource(max_entries=16, show_spinner=False)
def _money_at(path: str, stamp: tuple, version: int) -> tuple[str, float | None]:
    store_ = _store(path)
    return store_.currency(version), store_.value_per_customer(version)


def _money() -> tuple[str, float | None]:
    def read() -> tuple[str, float | None]:
        path = str(store().path)
        return _money_at(path, _stamp(path), active_version().version)
    return once_per_run("money", read)


def currency() -> str:
    """The active dataset's currency (stored per dataset, else guessed from its data): the same on every page
    and export, whatever the language."""
    return _money()[0]


def set_currency(symbol: str) -> None:
    """Choose the active dataset's currency (for every version of it)."""
    store().set_currency(active_version().version, symbol)
    getattr(_THIS_RUN, "values", {}).pop("money", None)


def value_per_customer() -> float | None:
    """The value per customer the analyst entered for an active dataset without a value column (None if not)."""
    return _money()[1]


def set_value_per_customer(value: float | None) -> None:
    store().set_value_per_customer(active_version().version, value)
    getattr(_THIS_RUN, "values", {}).pop("money", None)


def value_unit(columns=None) -> str:
    """The active data's value for labels: the value column(s) and the currency ("total_charges, $")."""
    from .i18n import current_language

    cols = active_dataset().roles.value if columns is None else columns
    return cc.money.unit([c for c in cols if c in active_dataset().frame], currency(), lang=current_language())


# -- ROI ---------------------------------------------------------------------------------------------------

@st.cache_data(max_entries=8, show_spinner=False)
def _roi_defaults(path: str, version: int) -> dict:
    data = _dataset(path, version)
    value = data.value()
    column = next((c for c in data.roles.value if c in data.frame), None)
    average = None if value is None else float(value.mean())
    return {"customers": data.n_rows, "baseline_churn": float(data.target().mean()), "value_average": average,
            "value_column": column}


def roi_defaults() -> dict:
    """Base size, churn rate and average value of the active dataset (the ROI page's starting point)."""
    return _roi_defaults(str(store().path), active_version().version)


@st.cache_resource(max_entries=4, show_spinner=False)
def _out_of_sample(path: str, run_id: int, model: str) -> cc.OutOfSample:
    store_ = _store(path)
    return cc.out_of_sample(_dataset(path, store_.get_run(run_id).dataset_version), store=store_, run_id=run_id,
                            model=model)


@st.cache_resource(max_entries=8, show_spinner=False)
def _model_fit(path: str, stamp: tuple, version: int, run_id: int | None, model: str | None) -> cc.ModelFit:
    store_ = _store(path)
    active = next(v for v in store_.list_datasets().versions if v.version == version)
    return cc.model_fit(active, store=store_, champion=None if run_id is None else _pinned(path, run_id, model))


def model_fit() -> cc.ModelFit:
    """Whether the champion may drive the ROI figures of the active dataset (trained on it), read once per
    run and from the database only when it changed."""
    def read() -> cc.ModelFit:
        path, champ = str(store().path), champion()
        return _model_fit(path, _stamp(path), active_version().version, champ and champ.run_id,
                          champ and champ.model)
    return once_per_run("model_fit", read)


def out_of_sample() -> cc.OutOfSample | None:
    """The champion's holdout predictions (None without a champion)."""
    champ = champion()
    return None if champ is None else _out_of_sample(str(store().path), champ.run_id, champ.model)


@st.cache_resource(max_entries=16, show_spinner=False)
def _targeting(path: str, run_id: int, model: str, economics: cc.Economics, top_k: float, customers: int):
    oos = _out_of_sample(path, run_id, model)
    curve = cc.profit_curve(oos.y, oos.score, economics=economics)
    comparison = cc.compare_strategies(oos.y, oos.score, economics=economics, top_k=top_k, rule_mask=oos.rule_mask,
                                       customers=customers, threshold=curve.optimal_threshold)
    return curve, comparison


def targeting(economics: cc.Economics, *, top_k: float, customers: int):
    """(profit curve, strategy comparison) of the champion's holdout predictions; cached per assumptions."""
    champ = champion()
    return _targeting(str(store().path), champ.run_id, champ.model, economics, round(top_k, 4), customers)


@st.cache_resource(max_entries=8, show_spinner=False)
def _threshold_at(path: str, stamp: tuple, run_id: int, model: str):
    return _store(path).threshold(run_id, model)


def profit_threshold():
    """The profit-optimal threshold stored on the champion's run, if the ROI page stored one."""
    champ = champion()
    if champ is None:
        return None
    path = str(store().path)
    return _threshold_at(path, _stamp(path), champ.run_id, champ.model)


# -- views ------------------------------------------------------------------------------------------------

_MEMO: OrderedDict = OrderedDict()
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 512
_MISSING = object()


def memo(token: tuple, fn, /, *args, **kwargs):
    """``fn(*args, **kwargs)``, cached by ``token`` and the language alone: the token must determine the
    arguments (e.g. ``state.data_token()`` plus the widget values a view depends on).

    Shared between sessions and read-only, like st.cache_resource, but keyed by a plain tuple: looking up
    st.cache_resource hashes every argument, which for a page's few dozen cached views cost more than the
    rest of a warm rerun. The least recently used of more than 512 entries are dropped.
    """
    key = (fn.__module__, fn.__qualname__, _language(), *token)
    with _MEMO_LOCK:
        value = _MEMO.get(key, _MISSING)
        if value is not _MISSING:
            _MEMO.move_to_end(key)
            return value
    value = fn(*args, **kwargs)  # outside the lock: two sessions may compute the same view once each
    with _MEMO_LOCK:
        _MEMO[key] = value
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return value


def _language() -> str:
    from .i18n import current_language  # i18n builds on this module's once_per_run

    return current_language()
