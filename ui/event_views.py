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
from .widgets import chart, kpi_row, labels, takeaway


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
        state.prepare_history()  # e.g. a champion promoted from the command line: fill it in the background
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
                   start=start, end=end))
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


def out_of_time(run: cc.ModelRun, *, model_name) -> None:
    """A visit-log run's out-of-time judgement: the population and label, the best model against the best
    recency rule (by how much, and the verdict), the rule engine and the decile chart."""
    summary = run.params.get("summary")
    if not summary or summary.get("mode") != "events":
        return
    pop, base = summary["population"], summary["baseline"]
    best = run.model(summary["best_model"])
    st.subheader(t("events.oot_title"))
    st.caption(tm("events.oot_population", train_rows=fmt.count(pop["train_rows"]), cutoffs=len(pop["cutoffs"]),
                  first=pop["cutoffs"][0], last=pop["cutoffs"][-1], test_rows=fmt.count(pop["test_rows"]),
                  test_cutoff=pop["test_cutoff"], rate=fmt.pct(pop["test_churn_rate"]), window=pop["window_days"],
                  lookback=pop["lookback_days"], gap=pop["gap_days"]))
    verdict = summary["verdict"]
    takeaway(t(f"events.oot_verdict.{verdict}", model=model_name(best.name),
               auc=fmt.number(best.roc_auc, digits=3), low=fmt.number(best.roc_auc_ci_low, digits=3),
               high=fmt.number(best.roc_auc_ci_high, digits=3), rule=_rule_text(base),
               rule_auc=fmt.number(base["roc_auc"], digits=3), lift=fmt.number(summary["lift"], digits=3),
               ranking_auc=fmt.number(base["ranking_auc"], digits=3)))
    kpi_row([(t("events.kpi_model_auc"), fmt.number(best.roc_auc, digits=3), None),
             (t("events.kpi_rule_auc"), fmt.number(base["roc_auc"], digits=3), None),
             (t("events.kpi_lift"), ("+" if summary["lift"] >= 0 else "") + fmt.number(summary["lift"], digits=3),
              None),
             (t("events.kpi_rule_precision"), fmt.pct(base["precision"]), None),
             (t("events.kpi_model_precision"), fmt.pct(best.precision), None)])
    left, right = st.columns([2, 3])
    with left:
        deciles = pd.DataFrame(summary["deciles"])
        if len(deciles):
            chart(plots.decile_chart, deciles, labels=labels(t("events.decile_title", model=model_name(best.name)),
                                                            x=t("events.decile_x"), y=t("events.decile_y")),
                  key="oot_deciles")
    with right:
        st.markdown(tm("events.rules_title", k=summary.get("rules_k") or 2))
        st.dataframe(_rules_table(summary), hide_index=True, width="stretch")
        st.caption(t("events.rules_caption", cutoff=pop["test_cutoff"], rate=fmt.pct(pop["test_churn_rate"])))


def _rule_text(base: dict) -> str:
    return t("events.rule_no_visit", days=fmt.count(base["days"])) if "days" in base else base["rule"]


def _rules_table(summary: dict) -> pd.DataFrame:
    rows = []
    for rule in summary["rules"]:
        name = rule["rule"]
        label = (t("events.rule.at_least", k=name.rsplit("_", 1)[-1]) if name.startswith("at_least_")
                 else t(f"events.rule.{name}"))
        applicable = bool(rule["applicable"])
        rows.append({t("events.col_rule"): label,
                     t("events.col_flagged"): fmt.count(rule["flagged"]) if applicable else
                     t("events.not_applicable", columns=rule.get("missing") or ""),
                     t("events.col_churn_rate"): fmt.pct(rule["churn_rate"]) if applicable else "–",
                     t("events.col_caught"): fmt.pct(rule["caught_share"]) if applicable else "–",
                     t("events.col_lead"): fmt.count(rule["lead_time_days"]) if applicable and
                     rule["lead_time_days"] is not None else "–"})
    return pd.DataFrame(rows)


def overview_sections(dataset: cc.Dataset) -> None:
    """The Overview's visit-log sections: churn by lifecycle stage with the recency ratio, the RFM segments,
    the cohort retention heatmap and the time to lapse."""
    if dataset.events is None:
        return
    from .i18n import current_language

    lang = current_language()
    found = state.event_overview(dataset.version)
    left, right = st.columns(2)
    with left:
        st.subheader(t("events.stage_title"))
        recency = found["recency"]
        takeaway(recency.sentence(lang))
        if recency.trend is not None:
            takeaway(recency.trend.sentence(lang))
        st.plotly_chart(cc.survival_figure(found["lapse"], lang=lang), key="ev_lapse")
    with right:
        st.subheader(t("events.rfm_title"))
        rfm = found["rfm"].to_frame(lang=lang)
        st.dataframe(pd.DataFrame({
            t("events.col_segment"): rfm["name"], t("events.col_share"): [fmt.pct(v) for v in rfm["share"]],
            t("events.col_churn_rate_seg"): [fmt.pct(v) for v in rfm["churn_rate"]],
            t("events.col_strategy"): rfm["strategy"]}), hide_index=True, width="stretch", height=330)
        st.caption(t("events.rfm_caption"))
        st.plotly_chart(cc.cohort_heatmap_figure(found["cohorts"], lang=lang), key="ev_cohorts")
