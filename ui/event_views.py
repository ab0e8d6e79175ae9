"""What the pages add for a dataset built from a visit log: the population and label definition beside the
figures, the customers who already lapsed, the risk history, the tier migration and the backtest."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import churn_core as cc
from churn_core import plots

from . import fmt, state
from .i18n import t, tm
from .risk_views import tier_name
from .widgets import labels, takeaway


def _day(value) -> str:
    return pd.Timestamp(value).date().isoformat()


def population_line(dataset: cc.Dataset) -> None:
    """One caption defining who is counted and what churn means (the analysis table of a visit log)."""
    ctx = dataset.events
    if ctx is None:
        return
    st.caption(tm("events.population_line", window=ctx.window_days, cutoff=_day(ctx.cutoff),
                  eligible=fmt.count(dataset.n_rows), lookback=ctx.lookback_days, lapsed=fmt.count(ctx.lapsed)))


def risk_line(scored: cc.ScoredCustomers) -> None:
    """Whom the Risk page scores for a visit log and as of when; the lapsed customers apart, exportable."""
    ctx = scored.dataset.events
    if ctx is None:
        return
    note, button = st.columns([4, 1], vertical_alignment="center")
    note.info(t("events.risk_line", as_of=_day(ctx.cutoff), window=ctx.window_days,
                eligible=fmt.count(scored.dataset.n_rows), lookback=ctx.lookback_days, lapsed=fmt.count(ctx.lapsed)))
    if ctx.lapsed:
        version = scored.dataset.version
        button.download_button(t("events.export_lapsed"),
                               data=lambda: cc.csv_bytes(state.lapsed(version)), file_name="lapsed_customers.csv",
                               mime="text/csv", key="risk_lapsed_csv", on_click="ignore")


def customer_history(scored: cc.ScoredCustomers, row: int) -> None:
    """The probability of the customer at position ``row`` at each stored as-of date."""
    if scored.dataset.events is None:
        return
    rows = state.score_history(scored.dataset.version).customer(scored.frame["id"].iloc[row])
    if len(rows) < 2:
        return
    bounds = [tr.lower for tr in scored.policy.tiers[:-1]]
    st.plotly_chart(plots.risk_over_time(rows, labels=labels(t("events.customer_history"), y=t("risk.c_probability")),
                                         bounds=bounds), key="risk_history")


def history_sections(scored: cc.ScoredCustomers) -> None:
    """The tier migration between two as-of dates and the backtest of an earlier date's flags."""
    ctx = scored.dataset.events
    if ctx is None:
        return
    history = state.score_history(scored.dataset.version)
    st.subheader(t("events.history_title"))
    if len(history.dates) < 2:
        st.caption(t("events.history_pending"))
        return
    st.caption(t("events.history_caption", cutoff=_day(ctx.test_cutoff)))
    dates = [_day(d) for d in history.dates]
    left, right = st.columns(2)
    with left:
        st.markdown(tm('events.migration_title'))
        a, b = st.columns(2)
        start = a.selectbox(t("events.migration_from"), dates[:-1], index=len(dates) - 2, key="ev_mig_from")
        end = b.selectbox(t("events.migration_to"), [d for d in dates if d > start], index=None, key="ev_mig_to",
                          placeholder=dates[-1]) or dates[-1]
        migration = cc.tier_migration(history, start=start, end=end)
        takeaway(t("events.migration_line", up=fmt.count(migration.up), down=fmt.count(migration.down),
                   start=start, end=end), small=True)
        table = migration.transitions.copy()
        name = lambda k: t("events.migration_new") if k == "new" else t("events.migration_lapsed") \
            if k == "lapsed" else tier_name(k)
        table.index = [name(k) for k in table.index]
        table.columns = [name(k) for k in table.columns]
        st.dataframe(table, width="stretch")
    with right:
        st.markdown(tm('events.backtest_title'))
        day = st.selectbox(t("events.backtest_date"), dates[:-1], index=0, key="ev_backtest")
        champ = state.champion()
        result = state.backtest(scored.dataset.version, champ.run_id, champ.model, day)
        if not result.flagged:
            st.caption(t("events.backtest_none", as_of=day))
            return
        takeaway(t("events.backtest_line", flagged=fmt.count(result.flagged), as_of=day,
                   lapsed=fmt.count(result.flagged_lapsed), rate=fmt.pct(result.flagged_rate),
                   days=result.window_days, base=fmt.pct(result.base_rate),
                   lead=fmt.count(result.lead_days_median), caught=fmt.pct(result.caught)))
        if result.elapsed_days < result.window_days:
            st.caption(t("events.backtest_open", as_of=day, elapsed=result.elapsed_days, window=result.window_days))
