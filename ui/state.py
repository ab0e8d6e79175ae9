"""Cached access to churn_core for the pages. The only place that decides what is cached, and how."""

from __future__ import annotations

import streamlit as st

import churn_core as cc


@st.cache_resource(show_spinner=False)
def _store(path: str) -> cc.Store:
    store = cc.Store(path)
    cc.ensure_active_dataset(store)
    return store


def store() -> cc.Store:
    """The process-wide store for the configured database (created and seeded on first use)."""
    return _store(str(cc.resolve_db_path()))


@st.cache_data(ttl=5, show_spinner=False)
def _active_version(path: str) -> cc.DatasetVersion:
    return cc.ensure_active_dataset(_store(path))


def active_version() -> cc.DatasetVersion:
    return _active_version(str(store().path))


@st.cache_resource(max_entries=4, show_spinner=False)
def _dataset(path: str, version: int) -> cc.Dataset:
    # Shared, not copied: a Dataset is never modified after loading.
    return _store(path).load_dataset(version)


def active_dataset() -> cc.Dataset:
    return _dataset(str(store().path), active_version().version)


@st.cache_data(max_entries=8, show_spinner=False)
def _description(path: str, version: int) -> cc.Description:
    return cc.describe(_dataset(path, version))


def description() -> cc.Description:
    """The full descriptive analysis of the active dataset, computed once per version."""
    return _description(str(store().path), active_version().version)


@st.cache_data(max_entries=32, show_spinner=False)
def _by_column(path: str, version: int, column: str) -> cc.CategoryChurn:
    return cc.churn_by_category(_dataset(path, version), column=column)


def churn_by(column: str) -> cc.CategoryChurn:
    return _by_column(str(store().path), active_version().version, column)


@st.cache_data(max_entries=32, show_spinner=False)
def _crosstab(path: str, version: int, rows: str, columns: str) -> cc.CrossTab:
    return cc.cross_tab(_dataset(path, version), rows=rows, columns=columns)


def crosstab(rows: str, columns: str) -> cc.CrossTab:
    return _crosstab(str(store().path), active_version().version, rows, columns)


def runs() -> tuple:
    """Every recorded model run, oldest first (not cached: a run's status changes while it trains)."""
    return store().list_runs()


def champion():
    return store().champion()


@st.cache_resource(max_entries=8, show_spinner=False)
def _model_report(path: str, run_id: int):
    from churn_core.reports import model_report

    store_ = _store(path)
    return model_report(store_.get_run(run_id), store_.load_predictions(run_id))


def model_report(run_id: int):
    """Everything the Models page draws for a complete run (immutable once complete, so shared)."""
    return _model_report(str(store().path), run_id)


def refresh() -> None:
    """Forget the cached active version, after a save or activation changed it."""
    _active_version.clear()


def dataset(version: int) -> cc.Dataset:
    """A stored dataset version (shared, never modified)."""
    return _dataset(str(store().path), version)


@st.cache_resource(max_entries=8, show_spinner=False)
def _comparison(path: str, version: int, run_id: int, champion: tuple | None):
    from churn_core.reports import compare_with_champion

    return compare_with_champion(_dataset(path, version), store=_store(path), run_id=run_id)


def comparison(version: int, run_id: int):
    """The champion against run ``run_id`` on its holdout rows (recomputed only when the champion changes)."""
    champ = champion()
    return _comparison(str(store().path), version, run_id, (champ.run_id, champ.model) if champ else None)
