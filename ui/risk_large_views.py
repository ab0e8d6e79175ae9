"""The Risk page over a large score set (millions of customers): filters, the KPI strip, a paged call list and
a CSV export, all computed in DuckDB by ``churn_core.risk_sql`` (the dataset is never loaded, nothing is
scored on the page)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from churn_core.risk_sql import PAGE_ROWS, STATUSES, LargeFilter
from churn_core.scoring import DEFAULT_TIERS

from . import fmt, state
from .i18n import current_language, t, worded
from .risk_views import _due, tier_name, value_header
from .widgets import guard, keep_choice, kpi_row

EXPORT_ROWS = 1_000_000  # a CSV download holds at most this many customers (the best by the chosen sort)
PAGE_KEY = "risk_large_page"
VIEW_KEY = "risk_large_view"  # the filter and sort the page number belongs to
SORTS = ("priority", "probability", "value")


def render() -> None:
    """The whole page below its header, for the champion's large score set."""
    meta, champ = state.large_scores(), state.champion()
    with guard(), st.spinner(t("risk.large.opening", rows=fmt.count(meta.rows))):
        scores = state.large_table(meta.id)
    st.caption(t("risk.large.caption", rows=fmt.count(scores.rows), run=champ.run_id,
                 model=t(f"model.{champ.model}"), page=fmt.count(PAGE_ROWS)))
    with guard():
        where = filters(scores)
        numbers = state.large_kpis(meta.id, where)
    kpis(numbers, total=scores.rows)
    keep_choice("risk_large_sort", list(SORTS), SORTS[0])
    sort = st.segmented_control(t("risk.sort"), SORTS, format_func=worded("risk.sort."),
                                key="risk_large_sort") or SORTS[0]
    offset = pager(numbers.customers, view=repr((where, sort)))
    with guard():
        page = scores.page(where, sort=sort, limit=PAGE_ROWS, offset=offset)
    st.caption(t("risk.large.rows", first=fmt.count(min(offset + 1, numbers.customers)),
                 last=fmt.count(offset + len(page.frame)), total=fmt.count(numbers.customers)))
    currency = state.currency()
    st.dataframe(table(page.frame, currency=currency), hide_index=True, width="stretch", height=380,
                 column_config={t("risk.c_probability"): st.column_config.ProgressColumn(
                     format="%.1f%%", min_value=0, max_value=100),
                     t("risk.c_priority"): st.column_config.NumberColumn(format="%.2f"),
                     value_header(currency): st.column_config.NumberColumn(format="%.2f")})
    shown = min(numbers.customers, EXPORT_ROWS)
    st.download_button(t("risk.large.export", n=fmt.count(shown)), data=lambda: export_csv(scores, where, sort),
                       file_name="churn_risk.csv", mime="text/csv", key="risk_large_csv", on_click="ignore")
    if numbers.customers > EXPORT_ROWS:
        st.caption(t("risk.large.export_cap", n=fmt.count(EXPORT_ROWS), total=fmt.count(numbers.customers)))


def filters(scores) -> LargeFilter:
    """The filter widgets (tier, probability, action, top reason, status); returns the filter they describe."""
    order = [tr.key for tr in DEFAULT_TIERS] + ["churned"]
    tiers = sorted(scores.choices("tier"), key=lambda k: order.index(k) if k in order else len(order))
    actions, reasons = list(scores.choices("action")), list(scores.choices("reason_1"))
    with st.container(border=True):
        a, b, c, d, e = st.columns([2, 2, 2, 2, 1])
        keep_choice("risk_lf_tier", tiers, [])
        picked = a.multiselect(t("risk.f_tier"), tiers, format_func=worded("risk.tier."), placeholder=t("common.all"),
                               key="risk_lf_tier")
        low, high = b.slider(t("risk.f_probability"), 0, 100, (0, 100), format="%d%%", key="risk_lf_prob")
        keep_choice("risk_lf_action", actions, [])
        chosen = c.multiselect(t("risk.c_action"), actions, format_func=worded("action."),
                               placeholder=t("common.all"), key="risk_lf_action")
        keep_choice("risk_lf_reason", reasons, [])
        top = d.multiselect(t("risk.f_reason"), reasons, placeholder=t("common.all"), key="risk_lf_reason")
        keep_choice("risk_lf_status", list(STATUSES), "active")
        status = e.selectbox(t("risk.large.status"), STATUSES, format_func=worded("risk.large.status."),
                             key="risk_lf_status")
    return LargeFilter(tiers=tuple(picked), probability=(low / 100, high / 100), actions=tuple(chosen),
                       top_reasons=tuple(top), status=status)


def kpis(numbers, *, total: int) -> None:
    """The KPI strip (SQL aggregates) and the customers by tier."""
    lang = current_language()
    kpi_row([(t("risk.k_customers"), fmt.count(numbers.customers), t("risk.k_customers_help", total=fmt.count(total))),
             (t("risk.k_expected"), fmt.expected(numbers.expected_churners), t("risk.k_expected_help")),
             (t("risk.k_value"), fmt.cash(numbers.value_at_risk, state.currency(), lang=lang),
              t("risk.large.k_value_help")),
             (t("risk.k_urgent"), fmt.count(numbers.due_within_72h), t("risk.k_urgent_help"))])
    if numbers.tier_counts:
        st.caption(t("risk.large.tiers", tiers=t("risk.large.sep").join(
            t("risk.large.tier_item", tier=tier_name(k), n=fmt.count(n)) for k, n in numbers.tier_counts)))


def pager(customers: int, *, view: str) -> int:
    """The page number input (back to the first page when the filter or sort ``view`` changes); returns the
    offset of the page's first row."""
    pages = max(1, math.ceil(customers / PAGE_ROWS))
    if st.session_state.get(VIEW_KEY) != view or not 1 <= int(st.session_state.get(PAGE_KEY, 1)) <= pages:
        st.session_state[PAGE_KEY] = 1
        st.session_state[VIEW_KEY] = view
    number = st.number_input(t("risk.large.page", pages=fmt.count(pages)), min_value=1, max_value=pages, step=1,
                             key=PAGE_KEY)
    return (int(number) - 1) * PAGE_ROWS


def table(frame: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """A page of the call list as shown, worded in the user's language."""
    return pd.DataFrame({
        t("risk.c_id"): frame["customer_id"], t("risk.c_probability"): frame["probability"] * 100,
        t("risk.c_tier"): [tier_name(k) for k in frame["tier"]],
        t("risk.c_due"): [_due(h) for h in frame["due_hours"]],
        t("risk.c_priority"): frame["priority"], value_header(currency): frame["value"],
        **{t("risk.c_reason", k=k): frame[f"reason_{k}"] for k in (1, 2, 3)},
        t("risk.c_action"): [t(f"action.{a}") if isinstance(a, str) else "" for a in frame["action"]]})


def export_csv(scores, where: LargeFilter, sort: str) -> bytes:
    """The filtered customers (at most ``EXPORT_ROWS``, best first) as spreadsheet-safe CSV bytes (DuckDB's COPY;
    UTF-8 with BOM, as the other exports)."""
    with tempfile.TemporaryDirectory(prefix="churn-radar-") as folder:
        done = scores.export(where, Path(folder) / "risk.csv", sort=sort, limit=EXPORT_ROWS)
        return b"\xef\xbb\xbf" + done.path.read_bytes()
