"""What the pages read: churn_core's results for the active dataset, the champion and the store, cached
with ``ui.cache`` (see there how keys are derived). Writes are ``ui.actions``'; reads stay here."""

from __future__ import annotations

import threading
from datetime import date

import churn_core as cc

from .cache import cached, once_per_run


@once_per_run
def db_path() -> str:
    """The configured database file (read once per script run)."""
    return str(cc.resolve_db_path())


@cached(scope="path", max_entries=4)
def store() -> cc.Store:
    """The process-wide store for the configured database (created and seeded on first use)."""
    store_ = cc.Store(db_path())
    cc.ensure_active_dataset(store_)
    return store_


@once_per_run
@cached(scope="store", max_entries=4)
def active_version() -> cc.DatasetVersion:
    """The active dataset version, read once per script run (so one page never mixes two), and from the
    database only when it changed."""
    return cc.ensure_active_dataset(store())


@cached(scope="path", max_entries=4)
def dataset(version: int) -> cc.Dataset:
    """A stored dataset version (shared, never modified)."""
    return store().load_dataset(version)


def active_dataset() -> cc.Dataset:
    return dataset(active_version().version)


@cached(scope="path", max_entries=4)
def as_of_dataset(version: int) -> cc.Dataset:
    """An event dataset version's as-of table (its eligible customers at the log's last date)."""
    return store().load_as_of(version)


def scoring_dataset() -> cc.Dataset:
    """The customers the Risk and ROI pages score: the active dataset's rows, or for a visit log its customers
    still active at the log's last date (those who already lapsed are counted apart)."""
    data = active_dataset()
    return as_of_dataset(data.version) if data.events is not None else data


def is_events() -> bool:
    """Whether the active dataset was built from a visit log."""
    return active_dataset().events is not None


@cached(scope="dataset", max_entries=8)
def description() -> cc.Description:
    """The full descriptive analysis of the active dataset, computed once per version.

    Shared between sessions, not copied (unpickling it cost more than the rest of a warm Overview):
    read-only, like every cached result here.
    """
    return cc.describe(active_dataset())


@cached(scope="dataset", max_entries=32)
def churn_by(column: str) -> cc.CategoryChurn:
    return cc.churn_by_category(active_dataset(), column=column)


@cached(scope="dataset", max_entries=32)
def crosstab(rows: str, columns: str) -> cc.CrossTab:
    return cc.cross_tab(active_dataset(), rows=rows, columns=columns)


@cached(scope="store", max_entries=4)
def datasets() -> cc.DatasetList:
    """Every stored dataset version (re-read whenever the database changed)."""
    return store().list_datasets()


@cached(scope="store", max_entries=4)
def scenarios() -> tuple:
    """Every saved ROI scenario version (re-read whenever the database changed)."""
    return tuple(store().list_scenarios())


def scenario(name: str, *, version: int) -> cc.Scenario:
    """One saved ROI scenario version."""
    return store().load_scenario(name, version=version)


@cached(scope="store", max_entries=4)
def runs() -> tuple:
    """Every recorded model run, oldest first (re-read whenever the database changed: statuses change while
    a run trains)."""
    return store().list_runs()


@once_per_run
@cached(scope="store", max_entries=4)
def champion() -> cc.Champion | None:
    """The champion, read once per script run: every part of a page shows the same one even when someone
    promotes meanwhile (the command line, another session); the next run shows the new one."""
    return store().champion()


def _pinned(run_id: int, model: str) -> cc.Champion:
    """The champion a cache entry belongs to: what is cached for one champion must never be computed (or
    stored) with another one promoted in between, so churn_core is given it instead of reading the store."""
    return cc.Champion(run_id, model, store().get_run(run_id).model(model))


@cached(scope="path", max_entries=8)
def model_report(run_id: int):
    """Everything the Models page draws for a complete run (immutable once complete, so shared)."""
    from churn_core.reports import model_report

    return model_report(store().get_run(run_id), store().load_predictions(run_id))


@cached(scope=("path", "champion"), max_entries=8)
def comparison(version: int, run_id: int):
    """The champion against run ``run_id`` on its holdout rows (recomputed only when the champion changes)."""
    from churn_core.reports import compare_with_champion

    champ = champion()
    return compare_with_champion(dataset(version), store=store(), run_id=run_id,
                                 champion=None if champ is None else _pinned(champ.run_id, champ.model))


def run_dataset_version(run_id: int) -> int | None:
    """The dataset version a run was trained on."""
    return next((r.dataset_version for r in runs() if r.id == run_id), None)


# -- the risk explorer -------------------------------------------------------------------------------------

# Seconds of exact SHAP work before a forest falls back to tree-path contributions (a clock, not an
# estimate): every active customer gets reasons either way.
EXPLAIN_BUDGET_S = 6.0


@cached(scope="path", max_entries=4)
def _model(run_id: int, name: str):
    entry = store().get_run(run_id).model(name)
    return cc.load_model(entry.artifact, sha256=entry.sha256)


def champion_model():
    """The champion's fitted model (loaded once, checked against its sha256; read-only, so shared)."""
    champ = champion()
    return None if champ is None else _model(champ.run_id, champ.model)


def champion_fit(columns) -> cc.ColumnFit:
    """Whether the champion can score a table with these columns (what it lacks); no champion lacks nothing."""
    return cc.column_fit(champion_model(), columns)


@cached(scope=("dataset", "champion"), max_entries=4)
def scored_by_champion() -> cc.ScoredCustomers:
    """The active dataset scored by the champion under the default policy (a champion must exist)."""
    champ = champion()
    return cc.score_dataset(scoring_dataset(), store=store(), champion=_pinned(champ.run_id, champ.model),
                            model=_model(champ.run_id, champ.model), explain_budget_s=EXPLAIN_BUDGET_S)


@cached(scope=("dataset", "champion"), max_entries=8)
def scored_under_policy(retention: float, contact_cost: float, ltv: float | None,
                        likelihoods: tuple[tuple[str, float], ...] = ()) -> cc.ScoredCustomers:
    base = scored_by_champion()
    policy = cc.RiskPolicy(retention_likelihood=retention, contact_cost=contact_cost, ltv=ltv,
                           likelihoods=likelihoods)
    return base if policy == base.policy else base.with_policy(policy)


def scored(*, retention: float, contact_cost: float, ltv: float | None,
           likelihoods: tuple[tuple[str, float], ...] = ()) -> cc.ScoredCustomers | None:
    """The active dataset scored by the champion under these assumptions (None without a champion);
    ``likelihoods``: the retention measured per action by a finished campaign, used in place of ``retention``.

    Scores are computed once per dataset version and champion (and kept in the store); changing an
    assumption only re-derives tiers, priority and actions. Shared, never modified.
    """
    if champion() is None:
        return None
    return scored_under_policy(float(retention), float(contact_cost), None if ltv is None else float(ltv),
                               tuple((str(k), float(v)) for k, v in likelihoods))


# -- a large score set: paged server-side in DuckDB -------------------------------------------------------

@once_per_run
def large_scores() -> cc.ScoreSet | None:
    """The champion's current score set of the active dataset when it is a large one (its scores registered as
    Parquet): the Risk page then filters and pages it in DuckDB without loading the dataset or scoring."""
    champ = champion()
    return None if champ is None else _large_set(active_version().version, champ.run_id, champ.model)


@cached(scope="store", max_entries=8)
def _large_set(version: int, run_id: int, model: str) -> cc.ScoreSet | None:
    sets = [s for s in store().list_score_sets(dataset_version=version) if s.run_id == run_id and s.model == model]
    if not sets:
        return None
    newest = max(sets, key=lambda s: (s.as_of or date.min, s.id))  # a visit log's: as of its latest date
    return newest if store().parquet_url("scores", newest.id) is not None else None


@cached(scope="path", max_entries=2)
def large_table(set_id: int):
    """A large score set read into DuckDB once (``churn_core.risk_sql.LargeScores``; a set's Parquet is written
    once, so shared by every session; thread-safe)."""
    from churn_core.risk_sql import LargeScores

    return LargeScores.open(store(), set_id)


@cached(scope="path", max_entries=64)
def large_kpis(set_id: int, where):
    """The KPI strip of a filter (SQL aggregates), kept while only the page or the sort changes."""
    return large_table(set_id).kpis(where)


@cached(scope="store", max_entries=4)
def last_finished():
    """The report of the newest finished campaign (``cc.last_finished``), or None."""
    return cc.last_finished(store())


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
        store_ = cc.Store(path)  # a thread of its own: no script run, so no cached store
        pinned = cc.Champion(run_id, model, store_.get_run(run_id).model(model))
        data = store_.load_dataset(version)
        if data.events is not None:  # a visit log: as of its last date, then its history back to the test cut-off
            cc.score_dataset(store_.load_as_of(version), store=store_, champion=pinned)
            cc.score_back(store_, version, champion=pinned)
        else:
            cc.score_dataset(data, store=store_, champion=pinned)
        _JOBS[key]["state"] = "done"
    except Exception as err:  # noqa: BLE001 - a thread must not die silently: the Risk page shows the error
        _JOBS[key].update(state="failed", error=str(err))


@cached(scope="store", max_entries=16)
def _stored(version: int, run_id: int, model: str) -> bool:
    events = dataset(version).events  # a visit log is scored as of its last date
    as_of = None if events is None else events.as_of.date()
    return store().find_score_set(run_id=run_id, model=model, dataset_version=version, as_of=as_of) is not None


def scores_state() -> tuple[str, str | None]:
    """Where the active dataset's scores by the champion stand: ``stored``, ``running``, ``failed`` (with the
    error), ``missing``; ``none`` without a champion."""
    champ = champion()
    if champ is None:
        return "none", None
    key = (db_path(), active_version().version, champ.run_id, champ.model)
    job = _JOBS.get(key)
    if job is not None and job["state"] in ("running", "failed"):
        return job["state"], job.get("error")
    return ("stored" if _stored(*key[1:]) else "missing"), None


def prepare_history() -> None:
    """Score the active visit log as of its earlier dates in the background when its history is missing (e.g.
    a champion promoted from the command line), unless under way already."""
    champ, version = champion(), active_version().version
    key = (db_path(), version, champ.run_id, champ.model, "history")
    with _JOBS_LOCK:
        job = _JOBS.get(key)
        if job is not None and job["state"] == "running":
            return
        _JOBS[key] = {"state": "running"}
    threading.Thread(target=_history_job, args=key, daemon=True, name="churn-radar-history").start()


def _history_job(path: str, version: int, run_id: int, model: str, _: str) -> None:
    key = (path, version, run_id, model, "history")
    try:
        store_ = cc.Store(path)
        cc.score_back(store_, version, champion=cc.Champion(run_id, model, store_.get_run(run_id).model(model)))
        _JOBS[key]["state"] = "done"
    except Exception as err:  # noqa: BLE001 - a thread must not die silently
        _JOBS[key].update(state="failed", error=str(err))


def prepare_scores(*, run_id: int | None = None, model: str | None = None) -> None:
    """Score the active dataset with the champion (or the run and model just promoted) in the background,
    unless stored or under way already."""
    champ = champion()
    if run_id is None and champ is None:
        return
    run_id, model = (run_id, model) if run_id is not None else (champ.run_id, champ.model)
    key = (db_path(), active_version().version, run_id, model)
    with _JOBS_LOCK:
        job = _JOBS.get(key)
        if (job is not None and job["state"] == "running") or _stored(*key[1:]):
            return
        _JOBS[key] = {"state": "running"}
    threading.Thread(target=_score_job, args=key, daemon=True, name="churn-radar-scoring").start()


# -- money: the active dataset's currency and value per customer ------------------------------------------

@cached(scope=("dataset", "store"), max_entries=16)
def _money() -> tuple[str, float | None]:
    version = active_version().version
    return store().currency(version), store().value_per_customer(version)


def currency() -> str:
    """The active dataset's currency (stored per dataset, else guessed from its data): the same on every page
    and export, whatever the language. Chosen with ``actions.set_currency``."""
    return _money()[0]


def value_per_customer() -> float | None:
    """The value per customer the analyst entered for an active dataset without a value column (None if not;
    entered with ``actions.set_value_per_customer``)."""
    return _money()[1]


def value_unit(columns=None) -> str:
    """The active data's value for labels: the value column(s) and the currency ("total_charges, $")."""
    from .i18n import current_language

    cols = active_dataset().roles.value if columns is None else columns
    return cc.money.unit([c for c in cols if c in active_dataset().frame], currency(), lang=current_language())


# -- ROI ---------------------------------------------------------------------------------------------------

@cached(scope="dataset", max_entries=8)
def roi_defaults() -> dict:
    """Base size, churn rate and average value of the active dataset (the ROI page's starting point; shared,
    never modified)."""
    data, scored_rows = active_dataset(), scoring_dataset()
    value = scored_rows.value()
    column = next((c for c in data.roles.value if c in data.frame), None)
    average = None if value is None else float(value.mean())
    return {"customers": scored_rows.n_rows, "baseline_churn": float(data.target().mean()), "value_average": average,
            "value_column": column}


@cached(scope="path", max_entries=4)
def _out_of_sample(run_id: int, model: str) -> cc.OutOfSample:
    return cc.out_of_sample(dataset(store().get_run(run_id).dataset_version), store=store(), run_id=run_id,
                            model=model)


@once_per_run
@cached(scope=("store", "dataset", "champion"), max_entries=8)
def model_fit() -> cc.ModelFit:
    """Whether the champion may drive the ROI figures of the active dataset (trained on it), read once per
    run and from the database only when it changed."""
    champ, version = champion(), active_version().version
    active = next(v for v in datasets().versions if v.version == version)
    return cc.model_fit(active, store=store(), champion=None if champ is None else _pinned(champ.run_id, champ.model))


def out_of_sample() -> cc.OutOfSample | None:
    """The champion's holdout predictions (None without a champion)."""
    champ = champion()
    return None if champ is None else _out_of_sample(champ.run_id, champ.model)


@cached(scope="path", max_entries=16)
def _targeting(run_id: int, model: str, economics: cc.Economics, top_k: float, customers: int):
    oos = _out_of_sample(run_id, model)
    curve = cc.profit_curve(oos.y, oos.score, economics=economics)
    comparison = cc.compare_strategies(oos.y, oos.score, economics=economics, top_k=top_k, rule_mask=oos.rule_mask,
                                       customers=customers, threshold=curve.optimal_threshold)
    return curve, comparison


def targeting(economics: cc.Economics, *, top_k: float, customers: int):
    """(profit curve, strategy comparison) of the champion's holdout predictions; cached per assumptions."""
    champ = champion()
    return _targeting(champ.run_id, champ.model, economics, round(top_k, 4), customers)


@cached(scope=("store", "champion"), max_entries=8)
def profit_threshold():
    """The profit-optimal threshold stored on the champion's run, if the ROI page stored one."""
    champ = champion()
    return None if champ is None else store().threshold(champ.run_id, champ.model)


# -- visit logs: who already lapsed, the score history ---------------------------------------------------

@cached(scope="path", max_entries=4)
def event_log(version: int):
    """The visit log of an event dataset version (shared, never modified)."""
    return store().load_events(version)


@cached(scope="path", max_entries=4)
def lapsed(version: int):
    """The customers of an event dataset version who had already lapsed at its last date."""
    from churn_core.events.scoring import window_of

    return cc.lapsed_customers(event_log(version), window=window_of(store(), version))


@cached(scope=("store", "champion"), max_entries=4)
def score_history(version: int) -> cc.ScoreHistory:
    """The champion's stored as-of scorings of an event dataset version (re-read when the database changes)."""
    champ = champion()
    return cc.score_history(store(), version, run_id=champ.run_id, model=champ.model)


@cached(scope="path", max_entries=8)
def backtest(version: int, run_id: int, model: str, as_of: str) -> cc.Backtest:
    from churn_core.events.scoring import window_of

    history = cc.score_history(store(), version, run_id=run_id, model=model)
    return cc.backtest(history, event_log(version), window=window_of(store(), version), as_of=as_of)


@cached(scope="path", max_entries=4)
def event_overview(version: int) -> dict:
    """The Overview's visit-log analyses of a version: RFM segments, the recency ratio, cohort retention and
    the time to lapse by lifecycle stage (computed once per version; shared, never modified)."""
    from churn_core.events.dataset import stored_labels
    from churn_core.events.scoring import window_of

    labelled, log, window = stored_labels(dataset(version)), event_log(version), window_of(store(), version)
    return {"rfm": cc.rfm_segments(labelled), "recency": cc.recency_ratio(labelled),
            "cohorts": cc.cohort_retention(log, window=window, period="quarter", max_periods=12),
            "lapse": cc.time_to_lapse(log, window=window, by="lifecycle", labelled=labelled)}


# -- retention campaigns -----------------------------------------------------------------------------------

@cached(scope="store", max_entries=4)
def campaigns() -> tuple:
    """Every stored campaign, newest first (re-read whenever the database changed)."""
    return store().list_campaigns()


@cached(scope="store", max_entries=16)
def campaign_report(campaign_id: int):
    """The measured effect of a campaign from its current outcomes (``cc.campaigns.report``)."""
    from churn_core import campaigns as cmp

    return cmp.report(store(), campaign_id)


@cached(scope="store", max_entries=8)
def is_demo_campaign(campaign_id: int) -> bool:
    """Whether the campaign was drawn from the bundled after-sales demo as of its last day (the demo's generator
    can play it forward)."""
    from churn_core import campaigns as cmp

    return cmp.is_demo_campaign(store(), store().campaign(campaign_id))


@cached(scope="store", max_entries=8)
def campaign_members(campaign_id: int):
    """A campaign's customers as assigned at launch (shared, never modified)."""
    return store().campaign_members(campaign_id)


@cached(scope="store", max_entries=8)
def campaign_outcomes(campaign_id: int):
    """Each campaign customer's latest outcome (shared, never modified)."""
    return store().campaign_outcomes(campaign_id)


@cached(scope="store", max_entries=8)
def outcome_batches(campaign_id: int) -> tuple:
    """Every outcome version of a campaign, oldest first."""
    return store().outcome_batches(campaign_id)


@cached(scope="store", max_entries=8)
def observable_logs(campaign_id: int) -> tuple:
    """The stored visit-log versions a campaign's results can be observed on (newest first)."""
    from churn_core import campaigns as cmp

    return cmp.observable_logs(store(), campaign_id)


@cached(scope="store", max_entries=8)
def call_sheet_csv(campaign_id: int, lang: str) -> bytes:
    """The call centre's sheet of a campaign (its contacted arm) as spreadsheet-safe CSV bytes."""
    from churn_core import campaigns as cmp
    from churn_core.scoring import csv_bytes

    return csv_bytes(cmp.call_sheet(store(), campaign_id, lang=lang))


@cached(scope="args", max_entries=4)
def outcome_sheet(data: bytes, filename: str):
    """An uploaded outcome sheet read as text columns, and the detected mapping of outcome fields to them."""
    from churn_core import campaigns as cmp

    return cmp.read_outcomes(data, filename=filename)
