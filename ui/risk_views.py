"""The Risk page's widgets: assumptions, filters, the KPI strip, the call list, the customer panel, exports."""

from __future__ import annotations

import hashlib

import pandas as pd
import pyarrow as pa
import streamlit as st

import churn_core as cc
from churn_core import plots
from churn_core._labels import flag_word, source_label

from . import actions, auth, fmt, state
from .cache import cached
from .i18n import current_language, t, tm, worded
from .widgets import keep_choice, kpi_row, labels, segment_name

TABLE_ROWS = 500
CUSTOMER_KEY = "risk_customer"  # session state: the position of the customer whose panel is open


def assumptions(*, has_value_column: bool) -> dict:
    """Retention likelihood and contact cost; without a value column, the value per customer the analyst
    entered (stored with the dataset; None until entered: nothing is invented); after a finished campaign, the
    retention it measured per action, when the analyst chooses it (``likelihoods``)."""
    default, currency = cc.RiskPolicy(), state.currency()
    ltv = None
    if not has_value_column:
        st.info(t("risk.no_value_column"))
        ltv = state.value_per_customer()
        st.number_input(t("risk.ltv"), min_value=0.0, value=ltv, step=100.0, key="risk_ltv", on_change=_on_ltv,
                        disabled=not auth.is_analyst(),
                        placeholder=fmt.entered(None), help=t("risk.ltv_help", amount=t(
                            "risk.ltv_entered", amount=fmt.entered(ltv, currency)) if ltv else t("risk.ltv_empty")))
    with st.expander(t("risk.assumptions")):
        a, b = st.columns(2)
        retention = a.slider(t("risk.retention"), 0.05, 1.0, default.retention_likelihood, 0.05,
                             help=t("risk.retention_help"), key="risk_retention")
        shown = st.session_state.get("risk_contact_cost", default.contact_cost)
        cost = b.number_input(t("risk.contact_cost"), min_value=0.5, value=default.contact_cost, step=0.5,
                              key="risk_contact_cost", help=t("money.entered", amount=fmt.entered(shown, currency)))
        likelihoods = measured_retention(retention)
        st.caption(t("risk.priority_formula"))
    return {"retention": retention, "contact_cost": cost, "ltv": ltv, "likelihoods": likelihoods}


def measured_retention(assumed: float) -> tuple[tuple[str, float], ...]:
    """When a campaign has finished: a toggle to prioritise with the retention it measured per action, and
    which actions are measured and which keep the typed value. Returns the chosen (action, likelihood) pairs."""
    report = state.last_finished()
    measured = cc.measured_likelihoods(report) if report is not None else {}
    if not measured:
        return ()
    use = st.toggle(tm("risk.use_measured", name=report.name), key="risk_use_measured",
                    help=t("risk.use_measured_help"))
    lang, policy = current_language(), cc.RiskPolicy()
    words = t("risk.measured_sep").join(t("risk.measured_item", action=policy.action_text(k, lang=lang),
                                          rate=fmt.pct(v, digits=0)) for k, v in sorted(measured.items()))
    st.caption(t("risk.measured_split" if use else "risk.measured_offer", measured=words,
                 assumed=fmt.pct(assumed, digits=0)))
    return tuple(sorted(measured.items())) if use else ()


def _on_ltv() -> None:
    value = st.session_state.get("risk_ltv")
    actions.set_value_per_customer(float(value) if value else None)


def value_words(scored: cc.ScoredCustomers) -> str:
    """What the value column holds, for labels: its column(s) and the dataset's currency."""
    roles = scored.dataset.roles
    columns = [c for c in roles.value if c in scored.dataset.frame]
    return cc.money.unit(columns, state.currency(), lang=current_language())


def tier_name(key: str) -> str:
    return t(f"risk.tier.{key}")


def filters(scored: cc.ScoredCustomers) -> cc.RiskFilter:
    """The filter widgets; returns the filter they describe."""
    roles, frame = scored.dataset.roles, scored.frame
    lang = current_language()
    with st.container(border=True):
        a, b, c, d = st.columns(4)
        tier_keys = [tr.key for tr in scored.policy.tiers]
        keep_choice("risk_f_tier", tier_keys, [])
        tiers = a.multiselect(t("risk.f_tier"), tier_keys,
                              format_func=worded("risk.tier."), placeholder=t("common.all"), key="risk_f_tier")
        low, high = b.slider(t("risk.f_probability"), 0, 100, (0, 100), format="%d%%", key="risk_f_prob")
        options = list(frame["segment"].cat.categories)
        names = {k: _segment(k) for k in options}  # worded now, in the page's language
        keep_choice("risk_f_segment", options, [])
        segments = c.multiselect(t("risk.f_segment"), options, format_func=names.get, placeholder=t("common.all"),
                                 key="risk_f_segment")
        keep_choice("risk_f_band", ["high", "medium", "low"], [])
        bands = d.multiselect(t("risk.f_value_band"), ["high", "medium", "low"],
                              format_func=worded("risk.band."), placeholder=t("common.all"),
                              key="risk_f_band", disabled=not scored.has_value_column)
        a, b, c, d = st.columns(4)
        flags = []
        for i, flag in enumerate(roles.plan_flags[:2]):
            keep_choice(f"risk_f_flag_{flag}", ["any", "yes", "no"], "any")
            choice = (a, b)[i].selectbox(source_label(flag, roles=roles, lang=lang), ["any", "yes", "no"],
                                         format_func=worded("risk.flag."), key=f"risk_f_flag_{flag}")
            if choice != "any":
                flags.append((flag, choice == "yes"))
        calls = None
        if roles.service_calls:
            lo, hi = _int_range(scored, roles.service_calls)
            if hi > lo:
                picked = c.slider(t("risk.f_calls"), lo, hi, (lo, hi), key="risk_f_calls")
                calls = None if picked == (lo, hi) else picked
        keep_choice("risk_f_reason", list(scored.top_reasons), [])
        top = d.multiselect(t("risk.f_reason"), scored.top_reasons, placeholder=t("common.all"),
                            format_func=lambda s: source_label(s, roles=roles, lang=lang), key="risk_f_reason")
        categories = []
        if roles.categorical:
            a, b = st.columns([1, 3])
            keep_choice("risk_f_column", ["", *roles.categorical], "")
            column = a.selectbox(t("risk.f_column"), ["", *roles.categorical], key="risk_f_column",
                                 format_func=worded("", none="common.none"))
            if column:
                levels = _levels(scored, column)
                values = b.multiselect(tm("risk.f_values", column=column), levels, placeholder=t("common.all"),
                                       key=f"risk_f_values_{column}")
                if values:
                    categories.append((column, tuple(values)))
        cut = state.profit_threshold()
        if cut is not None and st.toggle(t("risk.profit_cut", threshold=fmt.pct(cut.threshold)), key="risk_f_cut"):
            low = max(low, cut.threshold * 100)
    return cc.RiskFilter(tiers=tuple(tiers), probability=(low / 100, high / 100), flags=tuple(flags),
                         categories=tuple(categories), service_calls=calls, value_bands=tuple(bands),
                         segments=tuple(segments), top_reasons=tuple(top))


@cached(scope="args", max_entries=16)
def _int_range(scored: cc.ScoredCustomers, column: str) -> tuple[int, int]:
    x = pd.to_numeric(scored.dataset.frame[column], errors="coerce")
    return int(x.min()), int(x.max())


@cached(scope="args", max_entries=64)
def _levels(scored: cc.ScoredCustomers, column: str) -> list[str]:
    return sorted(scored.dataset.frame[column].dropna().astype(str).unique())


def _segment(key: str) -> str:
    return t("risk.segment_none") if key == "none" else segment_name(key, key)


def kpis(selection: cc.RiskSelection) -> None:
    scored, lang = selection.scored, current_language()
    kpi_row([(t("risk.k_customers"), fmt.count(selection.customers),
              t("risk.k_customers_help", total=fmt.count(len(scored.frame)))),
             (t("risk.k_expected"), fmt.expected(selection.expected_churners), t("risk.k_expected_help")),
             _value_kpi(selection, lang=lang),
             (t("risk.k_urgent"), fmt.count(selection.due_within(72)), t("risk.k_urgent_help"))])
    if selection.value_at_risk is not None:  # the label stays short enough for its box; the caption names the unit
        st.caption(tm("risk.k_value_caption", unit=value_words(scored)))


def _value_kpi(selection: cc.RiskSelection, *, lang: str) -> tuple[str, str, str]:
    """The expected value at risk, named with its unit; "–" while customers have no value."""
    if selection.value_at_risk is None:
        return t("risk.k_value_none"), "–", t("risk.k_value_none_help")
    words = value_words(selection.scored)
    return (t("risk.k_value"), fmt.cash(selection.value_at_risk, state.currency(), lang=lang),
            tm("risk.k_value_help", value=words))


def value_header(currency: str) -> str:
    return t("risk.c_value", currency=currency or "–")


def call_table(selection: cc.RiskSelection, *, sort: str, where: cc.RiskFilter) -> None:
    """The sortable call list (the ``TABLE_ROWS`` best by ``sort``); a picked row opens that customer."""
    view, rows = _call_view(selection.scored, where=where, sort=sort, currency=state.currency())
    config = {t("risk.c_probability"): st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100),
              t("risk.c_priority"): st.column_config.NumberColumn(format="%.2f"),
              value_header(state.currency()): st.column_config.NumberColumn(format="%.2f")}
    key = "risk_table_" + hashlib.sha1(repr((where, sort)).encode()).hexdigest()[:10]
    event = st.dataframe(view, hide_index=True, column_config=config, width="stretch", height=380,
                         on_select="rerun", selection_mode="single-row", key=key)
    select_row(event, rows)


@cached(scope="args", worded=True, max_entries=64)
def _call_view(scored: cc.ScoredCustomers, *, where: cc.RiskFilter, sort: str,
               currency: str) -> tuple[pa.Table, list[int]]:
    """The call list as shown (worded in the user's language) and the scored position of each row: built once
    per score list (a new one when more customers are explained), filter, sort, currency and language."""
    lang = current_language()
    selection = cc.filter_customers(scored, where=where)
    table = selection.table(sort=sort, limit=TABLE_ROWS)
    words = cc.in_words(scored, table, lang=lang, currency=currency)
    tiers = {k: tier_name(k) for k in table["tier"].astype(str).unique()}
    # Without a customer value there is no priority or value to show: the ranking is by probability alone.
    valued = {t("risk.c_priority"): table["priority"], value_header(currency): table["value"]} \
        if selection.scored.has_value else {}
    view = pd.DataFrame({
        t("risk.c_id"): words["id"], t("risk.c_probability"): table["probability"] * 100,
        t("risk.c_tier"): table["tier"].astype(str).map(tiers),
        t("risk.c_due"): [_due(h) for h in table["due_hours"]], **valued,
        **{t("risk.c_reason", k=k): words[f"reason_{k}"] for k in (1, 2, 3)},
        t("risk.c_action"): words["action"]})
    return pa.Table.from_pandas(view, preserve_index=False), table["row"].tolist()


def select_row(event, rows: list[int]) -> None:
    """Keep the scored position of the row picked in the table in session state (the open customer)."""
    picked = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    if picked and picked[0] < len(rows):
        st.session_state[CUSTOMER_KEY] = int(rows[picked[0]])


def _due(hours) -> str:
    if pd.isna(hours):
        return "–"
    return t("risk.due_days", n=int(hours) // 24) if hours >= 48 else t("risk.due_hours", n=int(hours))


def find_customer(scored: cc.ScoredCustomers) -> None:
    """Open a customer by id (``?customer=<id>`` in the URL opens one directly)."""
    wanted = st.text_input(t("risk.find"), key="risk_find", placeholder=t("risk.find_placeholder"),
                           value=st.query_params.get("customer", ""))
    if wanted:
        hits = (scored.frame["id"].astype(str) == wanted.strip()).to_numpy().nonzero()[0]
        if hits.size:
            st.session_state[CUSTOMER_KEY] = int(hits[0])
        else:
            st.warning(t("risk.not_found", id=wanted))


def customer_panel(scored: cc.ScoredCustomers, row: int) -> None:
    lang, roles = current_language(), scored.dataset.roles
    profile = cc.customer_profile(scored, row, model=state.champion_model())
    names = {s: source_label(s, roles=roles, lang=lang) for s in profile.explanation.table["source"]}
    st.subheader(t("risk.panel_title", id=profile.customer_id))
    if profile.tier == "churned":
        st.info(t("risk.churned_panel"))
    left, middle, right = st.columns([1, 1.4, 1.2])
    with left:
        bounds = [tr.lower for tr in scored.policy.tiers[:-1]]
        st.plotly_chart(plots.risk_gauge(profile.probability, bounds=bounds, labels=labels(t("risk.gauge"))),
                        key="risk_gauge")
        st.markdown(t("risk.tier_line", tier=tier_name(profile.tier), due=_due(profile.due_hours),
                      priority=fmt.number(profile.priority), value=fmt.entered(profile.value, state.currency())))
    with middle:
        raising, lowering = cc.explanation_in_words(scored, row, profile.explanation, lang=lang,
                                                    currency=state.currency())
        st.markdown(t("risk.reasons") + "\n" + "\n".join(f"1. {s}" for s in raising))
        if lowering:
            st.markdown(t("risk.protective") + "\n" + "\n".join(f"- {s}" for s in lowering))
        wf = labels(t("risk.waterfall"), x=t("risk.points"), y="")
        wf = plots.Labels(**{**wf.__dict__, "baseline": t("risk.wf_base"), "predicted": t("risk.wf_customer"),
                             "overall": t("risk.wf_other")})
        table = profile.explanation.table
        shown = {s: flag_word(v, lang=lang) for s, v in zip(table["source"], table["value"]) if s in roles.plan_flags}
        st.plotly_chart(plots.reason_waterfall(profile.explanation, names=names, labels=wf, values=shown),
                        key="risk_waterfall")
        st.caption(t("risk.units_note", units=t(f"risk.units.{profile.explanation.units}"),
                     base=fmt.pct(profile.explanation.base_probability)))
    with right:
        if profile.tier != "churned":
            st.markdown(t("risk.actions"))
            for i, key in enumerate(profile.actions):
                st.markdown(("**" if i == 0 else "") + "→ " + scored.policy.action_text(key, lang=lang)
                            + ("**" if i == 0 else ""))
        st.markdown(t("risk.similar"))
        st.markdown(_similar_text(profile.similar, names, flags=roles.plan_flags))
    if not profile.population.empty:
        pop = plots.Labels(title=t("risk.population"), x=t("risk.percentile"), overall=t("risk.median"))
        st.plotly_chart(plots.population_percentiles(profile.population, names=names, labels=pop),
                        key="risk_population")


def scoring_caption(scored: cc.ScoredCustomers) -> None:
    """Who scored whom: out of sample on the run's own data, the final model on other data."""
    counts = scored.scored_by_counts()
    st.caption(t(f"risk.scoring.{scored.scoring}", oof=fmt.count(counts.get("oof", 0)),
                 holdout=fmt.count(counts.get("holdout", 0))))


def churned_apart(scored: cc.ScoredCustomers) -> None:
    """The customers who already left: counted and exportable apart, never on the call list."""
    if not scored.churned:
        return
    note, button = st.columns([4, 1], vertical_alignment="center")
    note.caption(t("risk.churned", n=fmt.count(scored.churned), rate=fmt.pct(scored.churned_rate)))
    lang = current_language()
    gone, currency = cc.filter_customers(scored, where=cc.RiskFilter(status="churned")), state.currency()
    button.download_button(t("risk.export_churned"), data=lambda: cc.call_list_for_people(
        gone, lang=lang, sort="probability", currency=currency).csv_bytes(), file_name="churned_customers.csv",
                           mime="text/csv", key="risk_churned_csv", on_click="ignore")


SPARSE_SHARE = 0.02  # below this share of customers still here at medium or above, say why the tiers are empty


def sparse_tiers_note(scored: cc.ScoredCustomers) -> None:
    """Plain words when the upper tiers are nearly empty because the data separates churners sharply."""
    counts, active = scored.tier_counts(), int(scored.active.sum())
    upper = [tr.key for tr in scored.policy.tiers if tr.channel in ("personal", "automated")]
    n = sum(counts[k] for k in upper)
    if active and n / active < SPARSE_SHARE:
        st.info(t("risk.sparse_tiers", n=fmt.count(n), active=fmt.count(active), share=fmt.pct(n / active)))


def wait_for_scores(*, rows: int) -> None:
    """Scores are being computed in the background: say so, and show the page once they are stored."""
    st.info(t("risk.preparing", rows=fmt.count(rows)))

    @st.fragment(run_every=2)
    def poll() -> None:
        if state.scores_state()[0] != "running":
            st.rerun(scope="app")

    poll()


def _similar_text(similar: cc.SimilarCustomers | None, names: dict[str, str], *, flags) -> str:
    if similar is None:
        return t("risk.similar_none")
    lang = current_language()
    sep, join = ("：", "；") if lang == "zh" else (": ", "; ")
    who = join.join(f"{names.get(s, s)}{sep}{flag_word(v, lang=lang) if s in flags else v}"
                    for s, v in similar.clauses)
    if similar.churn_rate is None:
        return t("risk.similar_unlabelled", who=who, n=fmt.count(similar.customers),
                 p=fmt.pct(similar.mean_probability))
    return t("risk.similar_line", who=who, n=fmt.count(similar.customers), rate=fmt.pct(similar.churn_rate),
             low=fmt.pct(similar.ci_low), high=fmt.pct(similar.ci_high), p=fmt.pct(similar.mean_probability))


def exports(selection: cc.RiskSelection, *, sort: str) -> None:
    """The call list as CSV and Excel for people: headers, tiers and statuses in the user's language
    (``cc.call_list_for_people``; the command line writes the machine-readable ``cc.call_list``)."""
    lang = current_language()
    a, b, _ = st.columns([1, 1, 3])
    currency = state.currency()
    a.download_button(t("risk.export_csv"), data=lambda: cc.call_list_for_people(selection, lang=lang, sort=sort,
                                                                                  currency=currency).csv_bytes(),
                      file_name="churn_risk.csv", mime="text/csv", key="risk_csv", on_click="ignore")
    b.download_button(t("risk.export_xlsx"), data=lambda: cc.call_list_for_people(selection, lang=lang, sort=sort,
                                                                                  currency=currency).xlsx_bytes(),
                      file_name="churn_risk.xlsx", key="risk_xlsx", on_click="ignore",
                      mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
