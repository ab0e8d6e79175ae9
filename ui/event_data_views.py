"""Widgets of the Data page's visit-log path: read a log (and its customer table), map its roles, choose the
label window, and preview its checks and the population per cut-off before it is saved.

Everything is computed by churn_core (``read_events``, ``suggest_window``, ``validate_events``,
``cutoff_population``) and cached per file (as read) and choice; nothing is stored until the analyst saves.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import streamlit as st

import churn_core as cc
from churn_core import plots

from . import data_views, fmt
from .cache import cached
from .i18n import issue_text, t, tm, worded
from .widgets import chart, guard, keep_choice, kpi_row, labels, takeaway

NONE = data_views.NONE
KINDS = ("table", "events")


def read_file(upload) -> cc.RawTable:
    """An uploaded file as read (a workbook's sheet asked for first); an unreadable file stops the page with
    its message, as the customer-table path does."""
    sheet = data_views.pick_sheet(upload)
    return data_views.read_upload(upload, sheet=sheet)


@cached(scope="args", max_entries=8)
def _log(raw: cc.RawTable, customers: cc.RawTable | None, id_column: str | None, time: str | None,
         amount: str | None, kind: str | None) -> cc.EventLog:
    return cc.read_events(raw, id=id_column, time=time, amount=amount, type=kind, customers=customers)


@cached(scope="args", max_entries=8)
def _suggestion(log: cc.EventLog) -> cc.WindowSuggestion | None:
    try:
        return cc.suggest_window(log)
    except cc.ChurnCoreError:  # too few repeat visits to measure a rhythm: the checks say so
        return None


@cached(scope="args", max_entries=8)
def _report(log: cc.EventLog, window_days: int) -> cc.ValidationReport:
    return cc.validate_events(log, window_days=window_days)


@cached(scope="args", max_entries=8)
def _population(log: cc.EventLog, window: cc.EventWindow) -> cc.CutoffPopulation:
    return cc.cutoff_population(log, window=window)


def _choice(label: str, options: list, default, *, key: str) -> str | None:
    """A column for a role, the detected one preselected ("—" offered only when none was detected: an amount
    or type read_events finds is changed, not removed)."""
    choices = [NONE, *options] if default is None else list(options)
    index = choices.index(default) if default in choices else 0
    choice = st.selectbox(label, choices, index=index, key=key)
    return None if choice == NONE else choice


def role_mapping(raw: cc.RawTable, customers: cc.RawTable | None) -> cc.EventLog:
    """The log read with its detected roles, every one editable (id, date, amount, type); the date format
    found is said under the date, and that day-first was chosen when both orders were possible."""
    key = f"ev_{data_views.table_key(raw)[:12]}"
    with guard():
        detected = _log(raw, customers, None, None, None, None)
    columns = list(raw.frame.columns)
    roles = detected.roles
    left, middle, right, last = st.columns(4)
    with left:
        id_column = _choice(t("events.role.id"), columns, roles.id, key=f"{key}_id")
    with middle:
        time = _choice(t("events.role.time"), columns, roles.time, key=f"{key}_time")
    with right:
        amount = _choice(t("events.role.amount"), columns, roles.amount, key=f"{key}_amount")
    with last:
        kind = _choice(t("events.role.type"), columns, roles.type, key=f"{key}_type")
    chosen = (id_column, time, amount, kind)
    if chosen == (roles.id, roles.time, roles.amount, roles.type):
        log = detected
    else:
        with guard():
            log = _log(raw, customers, *chosen)
    found = log.roles
    st.caption(tm("events.date_format", column=found.time, format=t(f"events.format.{found.time_format}"),
                  first=_day(log.first_date), last=_day(log.last_date)))
    if found.date_order_reason == "ambiguous":
        st.info(tm("events.day_first_chosen", column=found.time))
    if found.customer_id is not None:
        st.caption(tm("events.customers_joined", column=found.customer_id,
                      customers=fmt.count(len(log.customers))))
    return log


def _day(value) -> str:
    return "–" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def window_controls(log: cc.EventLog) -> tuple[cc.EventWindow, bool]:
    """The label window H (default: the suggestion), the lookback L and the minimum history; returns the
    window and whether it is the suggested one."""
    suggestion = _suggestion(log)
    default_h = suggestion.window.window_days if suggestion is not None else cc.EventWindow().window_days
    key = f"win_{hash((log.source_name, log.roles, len(log.frame))) % 10**10}"
    left, middle, right = st.columns(3)
    window_days = left.number_input(t("events.window"), min_value=7, max_value=3650, value=default_h, step=30,
                                    key=f"{key}_h", help=t("events.window_help"))
    lookback = middle.number_input(t("events.lookback"), min_value=7, max_value=3650, value=365, step=30,
                                   key=f"{key}_l", help=t("events.lookback_help"))
    history = right.number_input(t("events.min_history"), min_value=0, max_value=3650, value=180, step=30,
                                 key=f"{key}_m", help=t("events.min_history_help"))
    if suggestion is not None:
        left.caption(tm("events.window_suggested", days=fmt.count(suggestion.gap_quantile_days),
                        median=fmt.count(suggestion.median_gap_days)))
    types = cc.event_types(log)
    visits = None
    if len(types) > 1:  # which kinds of event count as a visit (default: all of them)
        chosen = st.multiselect(t("events.visit_types"), list(types), default=list(types), key=f"{key}_types",
                                help=t("events.visit_types_help"), placeholder=t("common.choose"))
        visits = None if set(chosen) == set(types) or not chosen else tuple(chosen)
    with guard():
        window = cc.EventWindow(window_days=int(window_days), lookback_days=int(lookback),
                                min_history_days=int(history), visit_types=visits)
    return window, suggestion is not None and window == suggestion.window


def checks(log: cc.EventLog, window: cc.EventWindow) -> cc.ValidationReport:
    """The log's counts, then every issue in the user's language: errors (they block saving), warnings, notes."""
    report = _report(log, window.window_days)
    kpi_row([(t("events.kpi.events"), fmt.count(report.rows), None),
             (t("events.kpi.customers"), fmt.count(log.customer_count), None),
             (t("events.kpi.first"), _day(log.first_date), None), (t("events.kpi.last"), _day(log.last_date), None)])
    for issue in report.errors:
        st.error(issue_text(issue), icon=":material/block:")
    for issue in report.warnings:
        st.warning(issue_text(issue), icon=":material/warning:")
    for issue in report.issues:
        if issue.severity == "info":
            st.caption(issue_text(issue))
    if report.ok and not report.warnings:
        st.success(t("data.no_issues"))
    return report


def population(log: cc.EventLog, window: cc.EventWindow) -> cc.CutoffPopulation:
    """Who the window counts per cut-off: the test cut-off in words, a chart and the table."""
    with guard():
        counted = _population(log, window)
    test = counted.test_row
    takeaway(tm("events.preview_line", cutoff=_day(counted.test_cutoff), eligible=fmt.count(test["eligible"]),
                lookback=window.lookback_days, churned=fmt.count(test["churned"]), rate=fmt.pct(test["churn_rate"]),
                window=window.window_days))
    names = {"eligible": t("events.col.eligible"), "lapsed": t("events.col.lapsed"),
             "churn_rate": t("events.col.churn_rate"), "test_cutoff": t("events.test_cutoff"),
             "as_of": t("events.as_of")}
    chart(plots.cutoff_population_chart, counted.population, test_cutoff=counted.test_cutoff, names=names,
          labels=labels(t("events.chart_title", window=window.window_days), y=t("col.customers")),
          key="events_population")
    view = _population_view(counted)
    st.dataframe(view, hide_index=True, width="stretch", height=min(420, 35 * (view.num_rows + 1) + 3))
    st.caption(tm("events.population_caption", as_of=_day(counted.as_of), window=window.window_days))
    return counted


@cached(scope="args", worded=True, max_entries=16)
def _population_view(counted: cc.CutoffPopulation) -> pa.Table:
    table = counted.population
    use = [t("events.test_cutoff") if day == counted.test_cutoff else t("events.as_of") if not labelled else ""
           for day, labelled in zip(table["cutoff"], table["labelled"])]
    counts = {t(f"events.col.{c}"): [fmt.count(v) if pd.notna(v) else "–" for v in table[c]]
              for c in ("customers", "eligible", "lapsed", "churned")}
    view = pd.DataFrame({t("events.col.cutoff"): [_day(d) for d in table["cutoff"]], **counts,
                         t("events.col.churn_rate"): [fmt.pct(v) if pd.notna(v) else "–" for v in table["churn_rate"]],
                         t("events.col.use"): use})
    return pa.Table.from_pandas(view.iloc[::-1], preserve_index=False)


def source_kind() -> str:
    """The analyst's choice at the top of the Data page: a customer table or a visit log."""
    keep_choice("data_kind", list(KINDS), "table")
    return st.radio(t("data.source"), KINDS, format_func=worded("data.source."), key="data_kind")
