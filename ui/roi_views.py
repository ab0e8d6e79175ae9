"""The ROI page's widgets: inputs kept across modes, presets and scenarios, numbers, charts and exports.

Every input lives under ``roi_<name>`` in the session. Widgets have their own keys (Streamlit drops a
widget's state when it is not drawn, e.g. after switching mode) and are seeded from the stored value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import streamlit as st

import churn_core as cc
from churn_core import roi_page
from churn_core.plots import payback_chart, profit_chart, strategy_bars, tornado_chart

from . import actions, auth, fmt, state
from .cache import cached
from .i18n import current_language, error_text, t, tm, worded, wording
from .widgets import figure, keep_choice, labels

CURRENCIES = cc.CURRENCIES
STARTS = ("active", *cc.PRESETS)
MEASURED = "measured"  # the start built from the last finished campaign (offered once one has finished)
SOURCES = ("model", "manual", "reach")
DEFAULT_ECONOMICS = {"contact_cost": 10.0, "incentive_cost": 100.0, "acceptance": 30.0, "certainty": 20.0}


@dataclass(frozen=True, eq=False, kw_only=True)
class RoiResult:
    """Everything the page draws for one set of inputs."""

    inputs: cc.CaseInputs
    case: cc.BusinessCase
    sensitivity: cc.Sensitivity
    source: str
    economics: cc.Economics
    curve: cc.ProfitCurve | None
    comparison: cc.StrategyComparison | None
    oos: cc.OutOfSample | None
    top_k: float
    currency: str
    start: str  # "active", or the published case (cc.PRESETS) the figures come from
    fit: cc.ModelFit  # whether the champion drives the figures, and why not


# -- inputs ------------------------------------------------------------------------------------------------

def stored(name: str):
    return st.session_state[f"roi_{name}"]


def _apply(values: dict) -> None:
    """Set stored inputs and the widgets that show them (used from callbacks)."""
    for name, value in values.items():
        st.session_state[f"roi_{name}"] = value
        for prefix in ("roi_w_", "roi_s_"):
            st.session_state.pop(f"{prefix}{name}", None)


def _costs(customers: int, ltv: float) -> dict:
    """Investment and running cost: the last scenario saved on the active data, else the published case's costs
    as a share of the base's lifetime value (cc.default_costs), never a free programme."""
    version = state.active_version().version
    for scenario in state.scenarios():  # newest first
        if scenario.dataset_version == version and scenario.inputs.get("investment"):
            return {"investment": float(scenario.inputs["investment"]),
                    "annual_cost": float(scenario.inputs.get("annual_cost") or 0.0)}
    return cc.default_costs(customers, ltv=ltv)


def _active_values() -> dict:
    d = state.roi_defaults()
    # Without a value column: the value per customer the analyst entered (Risk page), else a placeholder the
    # page says is one (roi.no_value_column).
    average = d["value_average"] if d["value_column"] else (state.value_per_customer() or 1200.0) / 12
    annual = (average or 100.0) * 12
    return {"customers": int(d["customers"]), "baseline_pct": round(d["baseline_churn"] * 100, 2),
            "target_pct": round(d["baseline_churn"] * 80, 2), "success_pct": 30.0, "contacted": 0,
            "ltv_how": "given", "ltv": round(annual * 3), "annual_value": round(annual), "remaining_years": 3.0,
            "lifetime_years": 3.0,  # the default LTV is three years of the data's value
            **_costs(int(d["customers"]), round(annual * 3)), "horizon": 1, "top_k_pct": 10.0,
            "source": "model" if state.model_fit().usable else "manual", **DEFAULT_ECONOMICS}


def _preset_values(inputs: cc.CaseInputs, **settings) -> dict:
    values = {"customers": inputs.customers, "baseline_pct": round(inputs.baseline_churn * 100, 4),
              "target_pct": round((inputs.target_churn if inputs.target_churn is not None
                                   else inputs.baseline_churn) * 100, 4),
              "success_pct": round((inputs.retention_success or 0.3) * 100, 4), "contacted": int(inputs.contacted),
              "ltv_how": "given" if inputs.ltv is not None else "annual", "ltv": inputs.resolved_ltv,
              "annual_value": inputs.annual_value or inputs.resolved_ltv,
              "remaining_years": inputs.remaining_years or 1.0, "lifetime_years": inputs.resolved_lifetime_years,
              "investment": inputs.investment, "annual_cost": inputs.annual_cost, "horizon": inputs.horizon_years,
              "source": "manual" if inputs.target_churn is not None else "reach"}
    if inputs.contact_cost or inputs.incentive_cost:
        values.update(contact_cost=inputs.contact_cost, incentive_cost=inputs.incentive_cost)
    return {**values, **settings}


def starts() -> tuple[str, ...]:
    """The starting points: the active data, the published cases, and the last finished campaign if any."""
    return (*STARTS, MEASURED) if state.last_finished() is not None else STARTS


def _measured_values() -> dict:
    """The last finished campaign as the ROI page's inputs (``cc.measured_case_inputs``): its contacted arm, the
    control's churn as the baseline, the contacted arm's as the target, its contacts and cost per contact. The
    value of a customer is the contacted customers' mean, else the one entered for the dataset."""
    report = state.last_finished()
    ltv = None if report.value_per_customer is not None else state.value_per_customer()
    inputs = cc.measured_case_inputs(report, ltv=ltv)
    return _preset_values(inputs, baseline_pct=inputs.baseline_churn * 100, target_pct=inputs.target_churn * 100,
                          contact_cost=inputs.contact_cost, incentive_cost=0.0, source="manual",
                          campaign=report.campaign_id, campaign_name=report.name)


def init() -> None:
    """Seed the inputs from the active data (again when another dataset becomes active, unless a preset or
    scenario is loaded). The currency is the active dataset's stored setting, whatever the language."""
    version = state.active_version().version
    gone = st.session_state.get("roi_start") == MEASURED and state.last_finished() is None
    if "roi_customers" not in st.session_state or gone or (
            st.session_state.get("roi_start") == "active" and st.session_state.get("roi_version") != version):
        _apply({**_active_values(), "start": "active", "version": version})  # a new active dataset re-seeds
    st.session_state["roi_currency"] = state.currency()


def _on_start() -> None:
    start = st.session_state["roi_w_start"]
    if start not in starts():  # a label the browser still held from another language: not a choice
        return
    if start == MEASURED:
        try:
            values = _measured_values()
        except cc.ChurnCoreError as err:  # e.g. no value per customer in the data, and none entered
            st.session_state["roi_w_start"] = stored("start")
            st.session_state["roi_flash"] = ("error", error_text(err))
            return
    else:
        values = _active_values() if start == "active" else _preset_values(cc.PRESETS[start])
    _apply({**values, "start": start})


def _on_currency() -> None:
    """The currency is the dataset's: choosing it here writes the stored setting (the Data page's too)."""
    actions.set_currency(st.session_state["roi_w_currency"])
    st.session_state["roi_currency"] = st.session_state["roi_w_currency"]


def _widget(kind, name: str, label: str, *, prefix: str = "roi_w_", **options):
    key = f"{prefix}{name}"
    if "options" in options:  # a worded choice: its state is one of the options, sent again in this language
        keep_choice(key, options["options"], stored(name))
    elif key not in st.session_state:
        st.session_state[key] = stored(name)
    value = kind(label, key=key, **options)
    st.session_state[f"roi_{name}"] = value
    return value


def toolbar() -> str:
    """Mode, starting point and currency; returns the mode."""
    mode_col, start_col, currency_col = st.columns([2, 4, 1])
    modes = ("presentation", "analyst")
    asked = st.query_params.get("mode", "presentation")
    keep_choice("roi_mode", modes, asked if asked in modes else "presentation")
    mode = mode_col.segmented_control(t("roi.mode"), modes, key="roi_mode",
                                      format_func=worded("roi.mode.")) or "presentation"
    options = starts()
    keep_choice("roi_w_start", options, stored("start"))
    start_col.selectbox(t("roi.start"), options, key="roi_w_start", on_change=_on_start,
                        format_func=wording(options, case_name))
    currencies = currency_options(stored("currency"))
    st.session_state["roi_w_currency"] = stored("currency")
    currency_col.selectbox(t("roi.currency"), currencies, key="roi_w_currency", on_change=_on_currency,
                           disabled=not auth.is_analyst(),
                           format_func=wording(currencies, lambda c: c or t("roi.currency.none")),
                           help=t("data.currency_help"))
    return mode


def currency_options(current: str) -> tuple[str, ...]:
    """The usual currencies, and the stored one when it is another (a code typed through the command line)."""
    return CURRENCIES if current in CURRENCIES else (*CURRENCIES, current)


def _money_help(name: str, helptext: str | None = None) -> str:
    """A money input's help: what it means, then its value written out in full (inputs cannot group digits)."""
    amount = t("money.entered", amount=fmt.entered(stored(name), stored("currency")))
    return amount if helptext is None else f"{helptext} {amount}"


def keep_source(*, has_model: bool) -> None:
    """Without a model that fits the active data, the effect comes from the target churn rate."""
    if not has_model and stored("source") == "model":
        _apply({"source": "manual"})


def analyst_inputs(*, has_model: bool) -> None:
    """Every assumption, in three columns."""
    base, effect, money = st.columns(3)
    with base:
        st.markdown(t("roi.h_base"))
        _widget(st.number_input, "customers", t("roi.customers"), min_value=1, step=1000)
        _widget(st.number_input, "baseline_pct", t("roi.baseline_churn"), min_value=0.0, max_value=100.0, step=0.1)
        _widget(st.number_input, "horizon", t("roi.horizon"), min_value=1, max_value=10, step=1)
        how = _widget(st.radio, "ltv_how", t("roi.ltv_how"), options=["given", "annual"], horizontal=True,
                      format_func=worded("roi.ltv_how."))
        if how == "given":
            d = state.roi_defaults()
            helptext = tm("roi.ltv_help", column=d["value_column"] or "–",
                         average=fmt.entered(d["value_average"], stored("currency"))) if d["value_column"] else None
            _widget(st.number_input, "ltv", t("roi.ltv"), min_value=0.0, step=100.0, help=_money_help("ltv", helptext))
            if not d["value_column"] and stored("start") == "active":
                st.caption(t("roi.no_value_column"))
            _widget(st.number_input, "lifetime_years", t("roi.lifetime_years"), min_value=0.1, step=0.5,
                    help=t("roi.lifetime_help"))
        else:
            _widget(st.number_input, "annual_value", t("roi.annual_value"), min_value=0.0, step=10.0,
                    help=_money_help("annual_value"))
            _widget(st.number_input, "remaining_years", t("roi.remaining_years"), min_value=0.0, step=0.5,
                    help=t("roi.remaining_years_help"))
    with effect:
        st.markdown(t("roi.h_effect"))
        options = SOURCES if has_model else SOURCES[1:]
        if stored("source") not in options:
            _apply({"source": "manual"})
        source = _widget(st.radio, "source", t("roi.source"), options=list(options),
                         format_func=worded("roi.source."))
        if source == "manual":
            _widget(st.number_input, "target_pct", t("roi.target_churn"), min_value=0.0, max_value=100.0, step=0.1)
        elif source == "reach":
            _widget(st.number_input, "success_pct", t("roi.retention_success"), min_value=0.0, max_value=100.0)
        if source != "model":
            _widget(st.number_input, "contacted", t("roi.contacted"), min_value=0, step=100)
        _widget(st.number_input, "acceptance", t("roi.acceptance"), min_value=1.0, max_value=99.0, step=1.0,
                help=t("roi.acceptance_help"))
        _widget(st.number_input, "certainty", t("roi.certainty"), min_value=2.0, max_value=500.0, step=5.0,
                help=t("roi.certainty_help"))
        _widget(st.slider, "top_k_pct", t("roi.top_k"), min_value=1.0, max_value=100.0, step=1.0, format="%.0f%%")
    with money:
        st.markdown(t("roi.h_money"))
        for name in ("investment", "annual_cost", "contact_cost", "incentive_cost"):
            _widget(st.number_input, name, t(f"roi.{name}"), min_value=0.0, step=100.0 if "cost" in name else 1e4,
                    help=_money_help(name))


def presentation_sliders(*, source: str) -> None:
    """The few levers a meeting plays with."""
    cols = st.columns(3)
    with cols[0]:
        if source == "model":
            _widget(st.slider, "acceptance", t("roi.acceptance"), min_value=5.0, max_value=80.0, step=1.0,
                    prefix="roi_s_", format="%.0f%%")
        elif source == "reach":
            _widget(st.slider, "success_pct", t("roi.retention_success"), min_value=0.0, max_value=100.0,
                    step=1.0, prefix="roi_s_", format="%.0f%%")
        else:
            top = max(float(stored("baseline_pct")), 0.1)
            st.session_state["roi_target_pct"] = min(float(stored("target_pct")), top)
            _widget(st.slider, "target_pct", t("roi.target_churn"), min_value=0.0, max_value=top, step=0.1,
                    prefix="roi_s_", format="%.1f%%")
    with cols[1]:
        name = "ltv" if stored("ltv_how") == "given" else "annual_value"
        cap_key = f"roi_cap_{name}"
        if f"roi_s_{name}" not in st.session_state or cap_key not in st.session_state:
            st.session_state[cap_key] = max(float(stored(name)) * 3, 100.0)  # fixed while the slider is shown
        cap = st.session_state[cap_key]
        _widget(st.slider, name, t(f"roi.{name}"), min_value=0.0, max_value=cap, step=float(max(round(cap / 300), 1)),
                prefix="roi_s_", format=fmt.SLIDER_WHOLE)
    with cols[2]:
        _widget(st.slider, "horizon", t("roi.horizon"), min_value=1, max_value=10, prefix="roi_s_")


# -- computing --------------------------------------------------------------------------------------------

INPUTS = ("customers", "baseline_pct", "target_pct", "success_pct", "contacted", "ltv_how", "ltv", "annual_value",
          "remaining_years", "lifetime_years", "investment", "annual_cost", "horizon", "top_k_pct", "source",
          "currency", *DEFAULT_ECONOMICS)


def compute() -> RoiResult:
    """The business case, and the model-driven figures when a champion exists, for the stored inputs
    (computed once per set of inputs, dataset and champion)."""
    values = {name: stored(name) for name in INPUTS}
    return _compute(values, start=stored("start"), fit=state.model_fit())


def uses_model(start: str, fit: cc.ModelFit) -> bool:
    """The champion drives the figures only on the active data it was trained on: never for a published case."""
    return start == "active" and fit.usable


@cached(scope=("dataset", "champion"), max_entries=64)
def _compute(values: dict, *, start: str, fit: cc.ModelFit) -> RoiResult:
    given = values["ltv_how"] == "given"
    ltv = float(values["ltv"]) if given else float(values["annual_value"]) * float(values["remaining_years"])
    # The lifetime payback spreads the value over: asked for with a given LTV, the remaining years otherwise.
    lifetime = float(values["lifetime_years"]) if given else float(values["remaining_years"]) or None
    economics = cc.Economics.with_acceptance(float(values["acceptance"]) / 100, strength=float(values["certainty"]),
                                             clv=max(ltv, 1e-9), incentive_cost=float(values["incentive_cost"]),
                                             contact_cost=float(values["contact_cost"]))
    customers, top_k = int(values["customers"]), float(values["top_k_pct"]) / 100
    baseline = float(values["baseline_pct"]) / 100
    fixed = {"investment": float(values["investment"]), "annual_cost": float(values["annual_cost"]),
             "horizon_years": int(values["horizon"]), "lifetime_years": lifetime}
    oos = state.out_of_sample() if uses_model(start, fit) else None
    curve = comparison = None
    if oos is not None:
        curve, comparison = state.targeting(economics, top_k=top_k, customers=customers)
    source = values["source"] if oos is not None or values["source"] != "model" else "manual"
    if source == "model":
        inputs = cc.targeting_inputs(comparison, baseline_churn=baseline, **fixed)
    else:
        per_customer = {"ltv": ltv, "contact_cost": economics.contact_cost,
                        "incentive_cost": economics.incentive_cost, "contacted": float(values["contacted"])}
        effect = {"target_churn": float(values["target_pct"]) / 100} if source == "manual" else \
            {"retention_success": float(values["success_pct"]) / 100}
        inputs = cc.CaseInputs(customers=customers, baseline_churn=baseline, **effect, **per_customer, **fixed)
    case = cc.business_case(inputs)
    return RoiResult(inputs=inputs, case=case, sensitivity=cc.sensitivity(inputs), source=source, economics=economics,
                     curve=curve, comparison=comparison, oos=oos, top_k=top_k,
                     currency=values["currency"], start=start, fit=fit)


# -- drawing ----------------------------------------------------------------------------------------------

def money(x: float | None, currency: str) -> str:
    """An amount with its currency, the sign first: −¥26.7万, $1.2M."""
    return roi_page.money(x, currency, lang=current_language())


def payback_value(case: cc.BusinessCase) -> str:
    return roi_page.payback_words(case, lang=current_language())


def kpi_items(result: RoiResult) -> list[tuple[str, str, str | None]]:
    """(label, value, help): the export's big numbers, the ROI explained."""
    items = roi_page.kpis(result.case, lang=current_language(), currency=result.currency)
    return [(label, value, t("roi.roi_help") if i == 3 else None) for i, (label, value) in enumerate(items)]


def big_numbers(result: RoiResult) -> None:
    st.html("<style>.st-key-roi_big [data-testid='stMetricValue']{font-size:clamp(1.5rem,2.2vw,3.4rem);"
            "line-height:1.15} .st-key-roi_big [data-testid='stMetricValue'] div{overflow:visible;"
            "text-overflow:clip} .st-key-roi_big [data-testid='stMetricLabel'] p{font-size:1.15rem}"
            ".st-key-roi_summary p{font-size:1.45rem;line-height:1.5;font-weight:500}</style>")
    with st.container(key="roi_big"):
        for col, (label, value, helptext) in zip(st.columns(5), kpi_items(result)):
            col.metric(label, value, help=helptext, border=True)


def summary(result: RoiResult) -> str:
    return _summary(result)


@cached(scope="args", worded=True, max_entries=64)
def _summary(result: RoiResult) -> str:
    text = cc.summary_text(result.case, lang=current_language(), currency=result.currency)
    if result.source == "model" and result.comparison is not None:
        row = result.comparison.row("optimal")
        everyone = result.comparison.row("everyone")
        text += ("" if current_language() == "zh" else " ") + t(
            "roi.summary_model", contacted=fmt.count(row["contacted"]), rate=fmt.pct(row["rate"]),
            reached=fmt.count(row["churners_reached"]), churners=fmt.count(everyone["churners_reached"]))
    return text


def summary_block(result: RoiResult) -> None:
    """The plain-language summary, in large type (presentation)."""
    with st.container(key="roi_summary"):
        st.markdown(summary(result))


def curve_chart(result: RoiResult, *, big: bool = False):
    curve, scale, c = result.curve, result.comparison.customers, result.currency
    best = curve.best
    title = t("roi.curve_title", rate=fmt.pct(best["rate"]), profit=money(best["profit"] * scale, c),
              low=money(best["profit_low"] * scale, c), high=money(best["profit_high"] * scale, c))
    words = labels(title, x=t("roi.curve_x"), y=t("roi.curve_y"))
    words = cc.plots.Labels(**{**words.__dict__, "band": t("roi.band"), "optimum": t("roi.optimum")})
    return figure(profit_chart, curve, scale=scale, labels=words, currency=c, top_k=None if big else result.top_k,
                  big=big)


def payback_text(case: cc.BusinessCase) -> str:
    if case.payback_months is None:
        return t("roi.payback_title_never")
    if case.payback_months == 0:  # nothing invested up front (a campaign's measured case): it pays from day one
        return t("roi.payback_title_now")
    return t("roi.payback_title", m=f"{case.payback_months:.1f}")


def cash_chart(result: RoiResult, *, big: bool = False):
    """Cumulative net benefit by month: the chart when there is no model to draw a profit curve from."""
    words = labels(payback_text(result.case), x=t("roi.payback_x"), y=t("roi.payback_y"))
    words = cc.plots.Labels(**{**words.__dict__, "optimum": t("roi.k_payback")})
    return figure(payback_chart, result.case, labels=words, currency=result.currency, big=big)


def case_name(start: str) -> str:
    if start == MEASURED:
        report = state.last_finished()
        name = st.session_state.get("roi_campaign_name") if stored("start") == MEASURED else None
        return t("roi.start.measured", name=name or (report.name if report is not None else "–"))
    return t(f"roi.start.{start}", version=state.active_version().version)


def model_absence(result: RoiResult, *, analyst: bool) -> None:
    """Why no model drives the figures, in one sentence: a published case, a champion trained on other data,
    or (for the analyst) no champion yet."""
    fit = result.fit
    if result.start == MEASURED:
        measured_note(result)
    elif result.start != "active":
        st.caption(t("roi.preset_note", case=case_name(result.start)))
    elif fit.reason == "other_dataset":
        st.info(t("roi.model_other_data", run=fit.run_id, model=t(f"model.{fit.model}"), trained=fit.trained_on,
                  active=fit.dataset_version))
    elif analyst:
        st.info(t("roi.no_model"))


def measured_note(result: RoiResult) -> None:
    """Which figures the campaign measured and which are still assumptions (edited inputs stay as typed)."""
    report = state.last_finished()
    if report is None:
        return
    c, inputs = result.currency, result.inputs
    st.caption(tm("roi.measured_figures", name=st.session_state.get("roi_campaign_name") or report.name,
                  baseline=fmt.pct(report.control.churn_rate), target=fmt.pct(report.contacted.churn_rate),
                  customers=fmt.count(report.contacted.assigned), contacts=fmt.count(report.reached),
                  cost=money(inputs.contact_cost, c)))
    key = "roi.assumed_lifetime" if report.value_per_customer is not None else "roi.assumed_value_lifetime"
    st.caption(t(key, ltv=money(inputs.resolved_ltv, c), lifetime=f"{inputs.resolved_lifetime_years:g}"))


def model_note(result: RoiResult) -> None:
    champ = state.champion()
    st.caption(t("roi.model_note", run=champ.run_id, model=t(f"model.{champ.model}"), n=fmt.count(len(result.oos.y)),
                 rate=fmt.pct(result.oos.churn_rate), customers=fmt.count(result.comparison.customers),
                 empc=money(result.curve.empc, result.currency)))


def strategy_names(result: RoiResult) -> dict[str, str]:
    rows = result.comparison.table.set_index("strategy")["rate"]
    return {k: t(f"roi.strategy.{k}", k=fmt.pct(rows.get(k, 0), digits=0 if k == "top_k" else 1))
            for k in cc.STRATEGIES}


def strategies(result: RoiResult) -> None:
    table, c = result.comparison.table, result.currency
    names = strategy_names(result)
    profit = table.set_index("strategy")["profit"]
    title = t("roi.strategy_title", best=money(profit["optimal"], c), rules=money(profit["rules"], c)) \
        if "rules" in profit else t("roi.strategy_title_norules", best=money(profit["optimal"], c),
                                    everyone=money(profit["everyone"], c))
    words = labels(title, x=t("roi.c_profit"), y="")
    st.plotly_chart(figure(strategy_bars, result.comparison, names=names, labels=words, currency=c),
                    key="roi_strategy_chart")
    view = _strategy_view(result, names=names)
    st.dataframe(view, hide_index=True, width="stretch",
                 column_config={col: st.column_config.NumberColumn(format="localized")
                                for col in view.column_names[1:-1]})


@cached(scope="args", worded=True, max_entries=64)
def _strategy_view(result: RoiResult, *, names: dict[str, str]) -> pa.Table:
    table, c = result.comparison.table, result.currency
    view = pd.DataFrame({
        t("roi.c_strategy"): [names[k] for k in table["strategy"]],
        t("roi.c_contacted"): table["contacted"].round(), t("roi.c_reached"): table["churners_reached"].round(),
        t("roi.c_saved"): table["saved"].round(1), t("roi.c_value"): table["value_retained"].round(),
        t("roi.c_cost"): table["cost"].round(), t("roi.c_profit"): table["profit"].round(),
        t("roi.c_band"): [f"{money(lo, c)} – {money(hi, c)}" for lo, hi in zip(table["profit_low"],
                                                                                table["profit_high"])]})
    return pa.Table.from_pandas(view, preserve_index=False)


def tornado(result: RoiResult) -> None:
    sens, c = result.sensitivity, result.currency
    if sens.table.empty:
        return
    top = sens.table.iloc[0]
    names = {k: t(f"roi.a.{k}") for k in sens.table["assumption"]}
    title = t("roi.tornado_title", change=f"{sens.change:.0%}", top=names[top["assumption"]],
              low=money(min(top["net_low"], top["net_high"]), c), high=money(max(top["net_low"], top["net_high"]), c))
    st.plotly_chart(figure(tornado_chart, sens, names=names, labels=labels(title, x=t("roi.tornado_x"), y=""),
                           currency=c),
                    key="roi_tornado_chart")


def threshold_button(result: RoiResult) -> None:
    """Store the profit-optimal cut on the champion's run (an analyst's action: it changes the Risk page)."""
    if not auth.is_analyst() or result.curve.optimal_rate == 0:  # contacting nobody pays best: no cut to use
        return
    threshold = fmt.pct(result.curve.optimal_threshold)
    if st.button(t("roi.save_threshold"), help=t("roi.save_threshold_help", threshold=threshold),
                 key="roi_save_threshold"):
        actions.save_threshold(result.curve, result.economics)
        st.success(t("roi.threshold_saved", threshold=threshold))


# -- scenarios ---------------------------------------------------------------------------------------------

_SETTINGS = ("source", "acceptance", "certainty", "top_k_pct", "currency", "contact_cost", "incentive_cost")


def _on_load() -> None:
    choice = st.session_state.get("roi_scenario_choice")
    if choice is None:
        return
    try:
        scenario = state.scenario(choice[0], version=choice[1])
        inputs = cc.CaseInputs.from_dict(scenario.inputs)
    except cc.ChurnCoreError as err:
        st.session_state["roi_flash"] = ("error", error_text(err))
        return
    # The currency stays the dataset's (a scenario records the one it was saved with, for reference).
    settings = {k: v for k, v in scenario.settings.items() if k in _SETTINGS and k != "currency"}
    _apply({**_preset_values(inputs), **settings})
    st.session_state["roi_flash"] = ("success", tm("roi.scenario_loaded", name=scenario.name, version=scenario.version))


def scenarios(result: RoiResult) -> None:
    """Save the current inputs under a name (a new version each time) and load any saved version."""
    flash = st.session_state.pop("roi_flash", None)
    if flash:
        getattr(st, flash[0])(flash[1])
    save_col, load_col = st.columns(2)
    if not auth.is_analyst():
        save_col.caption(t("roi.scenario_viewer"))
    else:
        with save_col.form("roi_save_form", border=False):
            name = st.text_input(t("roi.scenario_name"), key="roi_scenario_name", max_chars=80)
            if st.form_submit_button(t("roi.scenario_save")):
                settings = {k: stored(k) for k in _SETTINGS}
                try:
                    saved = actions.save_scenario(name, inputs=result.inputs.to_dict(), settings=settings)
                    st.success(tm("roi.scenario_saved", name=saved.name, version=saved.version))
                except cc.ChurnCoreError as err:
                    st.error(error_text(err))
    saved_list = state.scenarios()
    if not saved_list:
        load_col.caption(t("roi.scenario_none"))
        return
    options = [(s.name, s.version) for s in saved_list]
    when = {(s.name, s.version): s.created_at for s in saved_list}
    keep_choice("roi_scenario_choice", options, options[0])
    load_col.selectbox(t("roi.scenario_pick"), options, key="roi_scenario_choice",
                       format_func=wording(options, lambda o: t("roi.scenario_line", name=o[0], version=o[1],
                                                                when=f"{when[o]:%Y-%m-%d %H:%M}")))
    load_col.button(t("roi.scenario_load"), key="roi_scenario_load", on_click=_on_load)


def today() -> str:
    return dt.date.today().isoformat()


# -- the one-page export -----------------------------------------------------------------------------------

def one_page(result: RoiResult):
    """The presentation view as a plain, worded summary for churn_core.onepager (built by churn_core.roi_page,
    as the command line's export is)."""
    return _one_page(result, version=state.active_version(), date=today())


@cached(scope="args", worded=True, max_entries=16)
def _one_page(result: RoiResult, *, version: cc.DatasetVersion, date: str):
    fit, lang = result.fit, current_language()
    if result.start == MEASURED:  # a campaign's measured figures
        subtitle = t("roi.pdf_subtitle_case", case=case_name(MEASURED), date=date)
    elif result.start != "active":  # a published case: its own figures, no dataset or model behind them
        subtitle = roi_page.case_subtitle(result.start, date=date, lang=lang)
    else:
        model = f"{fit.run_id} · {t(f'model.{fit.model}')}" if result.curve is not None else t("roi.pdf_no_model")
        subtitle = t("roi.pdf_subtitle", dataset=f"{version.name} v{version.version}", model=model, date=date)
    return roi_page.one_page(result.case, subtitle=subtitle, lang=lang, currency=result.currency,
                             source=result.source, summary=summary(result), curve=result.curve,
                             customers=None if result.comparison is None else result.comparison.customers,
                             acceptance=result.economics.acceptance)


def export_name(result: RoiResult) -> str:
    """The export's file name, without extension: a published case names itself."""
    return roi_page.export_name(None if result.start == "active" else result.start, date=today())


def exports(result: RoiResult) -> None:
    """Download the presentation view as a one-page PDF (A4 landscape) or PNG; drawn only when clicked."""
    from churn_core import onepager

    lang = current_language()
    if onepager.find_font(lang) is None and lang == "zh":
        st.warning(t("error.no_cjk_font"))
        return
    page = one_page(result)
    name = export_name(result)
    pdf_col, png_col, _ = st.columns([1, 1, 4])
    pdf_col.download_button(t("roi.export_pdf"), data=lambda: onepager.render_pdf(page), file_name=f"{name}.pdf",
                            mime="application/pdf", key="roi_pdf", on_click="ignore", icon=":material/picture_as_pdf:")
    png_col.download_button(t("roi.export_png"), data=lambda: onepager.render_png(page), file_name=f"{name}.png",
                            mime="image/png", key="roi_png", on_click="ignore", icon=":material/image:")
