"""The ROI page: presentation and analyst modes, presets, scenarios, the stored cut, and exports."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import churn_core as cc
from tests.app.conftest import ROOT, texts


def open_roi(app, *, mode: str | None = None, lang: str | None = None):
    if lang:
        app.session_state["lang"] = lang
    if mode:
        app.query_params["mode"] = mode
    return app.run().switch_page("pages/roi.py").run()


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def chart_title(element) -> str:
    return json.loads(element.proto.spec)["layout"]["title"]["text"]


def values(data) -> np.ndarray:
    """A plotly array as sent to the browser: a list, or base64 bytes with their dtype."""
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
    return np.asarray(data, dtype=float)


def pick_start(at, preset: str):
    from ui.roi_views import STARTS

    # By index: AppTest formats a value with the page's format_func outside the page's session (language).
    return at.selectbox(key="roi_w_start").select_index(STARTS.index(preset)).run()


@pytest.mark.parametrize("mode", ["presentation", "analyst"])
def test_published_case_in_both_modes(app, mode):
    at = pick_start(open_roi(app, mode=mode), "telecom_8k")
    assert not at.exception, at.exception
    shown = metrics(at)
    assert shown["Customers saved"] == "376"
    assert shown["Value retained"] == "$37.6M"
    assert shown["Net benefit"] == "$35.5M"
    assert shown["ROI"] == "1690%"
    assert shown["Payback"] == "2.6 months"  # the value spread over 5 years, not counted in month one
    page = texts(at)
    assert "376 customers worth $37.6M" in page
    assert "ROI is first-year ROI as the published cases define it" in page
    assert "payback spreads that value over a 5-year customer lifetime" in page
    (roi_metric,) = [m for m in at.metric if m.label == "ROI"]
    assert "a saved customer's whole lifetime value counts when the customer is saved" in roi_metric.help


def test_presentation_is_uncluttered_and_speaks_chinese(app):
    at = pick_start(open_roi(app, lang="zh"), "telecom_12k")
    assert not at.exception, at.exception
    shown = metrics(at)
    assert shown["挽留客户"] == "732"
    assert shown["保住的价值"] == "$7,320万"  # the language words the amount (万); the currency is the data's
    assert shown["投资回报率"] == "2188%"
    assert len(at.slider) == 3 and not at.number_input  # a few levers, no input form
    (chart,) = at.get("plotly_chart")  # one chart; without a model, the month-by-month net benefit
    assert chart_title(chart) == "累计净收益：1.8 个月后收回投资"
    assert not at.dataframe  # no tables in front of executives
    assert "挽留 732 位客户" in texts(at) and "首年投资回报率" in texts(at)


def test_presentation_sliders_move_the_numbers(app):
    at = pick_start(open_roi(app), "telecom_8k")
    at.slider(key="roi_s_target_pct").set_value(12.15).run()  # half the reduction
    assert metrics(at)["Customers saved"] == "188"
    at.slider(key="roi_s_horizon").set_value(2).run()
    assert metrics(at)["Customers saved"] == "376"
    assert metrics(at)["Value retained"] == "$37.6M"
    ltv = at.slider(key="roi_s_ltv")
    assert ltv.value == 100_000 and ltv.proto.format == "%,.0f"  # the browser shows 100,000, not 100000


def test_analyst_sets_the_customer_lifetime(app):
    at = pick_start(open_roi(app, mode="analyst"), "telecom_8k")
    assert at.number_input(key="roi_w_lifetime_years").value == 5
    at.number_input(key="roi_w_lifetime_years").set_value(10.0).run()
    assert not at.exception, at.exception
    assert metrics(at)["Payback"] == "5.7 months"  # 1.5M / (376 × 100,000 / 120 − 50,000)
    assert metrics(at)["ROI"] == "1690%"  # ROI counts the whole lifetime value whatever the lifetime
    assert "payback spreads that value over a 10-year customer lifetime" in texts(at)
    at.segmented_control(key="roi_mode").set_value("presentation").run()
    assert metrics(at)["Payback"] == "5.7 months"  # kept when the input is not drawn


def test_inputs_survive_a_switch_of_mode(app):
    at = pick_start(open_roi(app, mode="analyst"), "telecom_8k")
    at.number_input(key="roi_w_investment").set_value(3_600_000.0).run()
    at.segmented_control(key="roi_mode").set_value("presentation").run()
    assert not at.exception
    assert metrics(at)["Net benefit"] == "$33.4M"  # 37.6M − 3.6M − 0.6M


def test_analyst_mode_with_a_model_compares_strategies(trained_app, trained_app_db):
    at = open_roi(trained_app, mode="analyst")
    assert not at.exception, at.exception
    store = cc.Store(trained_app_db)
    champ = store.champion()
    oos = cc.out_of_sample(store.load_dataset(1), store=store, run_id=champ.run_id, model=champ.model)
    economics = cc.Economics.with_acceptance(0.3, strength=20, clv=float(at.number_input(key="roi_w_ltv").value),
                                             incentive_cost=100, contact_cost=10)
    expected = cc.compare_strategies(oos.y, oos.score, economics=economics, top_k=0.1, rule_mask=oos.rule_mask,
                                     customers=5_000).table.set_index("strategy")
    table = at.dataframe[0].value.set_index("Strategy")
    assert len(table) == 6 and "Rule-based (2+ segment rules)" in table.index
    assert table["Expected profit"].tolist() == expected["profit"].round().tolist()
    assert metrics(at)["Customers saved"] == f"{round(expected.at['optimal', 'saved']):,}"
    page = texts(at)
    assert "holdout customers it never trained on" in page
    assert len(at.get("plotly_chart")) == 3  # profit curve, strategies, tornado
    curve = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    line, (top,) = values(curve[2]["y"]), values(curve[3]["y"])  # the profit, then the point marked on it
    assert len(line) > 5 and top == line.max() and (top >= line).all()
    assert top == pytest.approx(expected.at["optimal", "profit"])  # the 'optimal' strategy's cut


def test_storing_the_cut_reaches_the_risk_page(trained_app, trained_app_db):
    at = open_roi(trained_app, mode="analyst")
    at.button(key="roi_save_threshold").click().run()
    assert not at.exception, at.exception
    store = cc.Store(trained_app_db)
    champ = store.champion()
    stored = store.threshold(champ.run_id, champ.model)
    assert stored is not None and 0 < stored.threshold < 1
    assert "The Risk page can now show the customers at or above" in at.success[0].value
    risk = at.switch_page("pages/risk.py").run()
    toggle = risk.toggle(key="risk_f_cut")
    assert f"{stored.threshold:.1%}" in toggle.label
    before = metrics(risk)["Customers"]
    toggle.set_value(True).run()
    assert metrics(risk)["Customers"] != before


def test_without_a_model_the_case_still_works(app):
    at = open_roi(app, mode="analyst")
    assert not at.exception, at.exception
    assert "No champion model with holdout predictions yet" in texts(at)
    assert at.radio(key="roi_w_source").options == ["A target churn rate", "Retention success × customers reached"]
    assert metrics(at)["Customers saved"] == "142"  # 5,000 × (14.14% − 11.31%, a fifth less churn)
    # Instead of the profit curve: the month-by-month net benefit, the default investment paid back as value arrives.
    (cash, _tornado) = at.get("plotly_chart")
    assert chart_title(cash) == "Cumulative net benefit: the investment is paid back after 2.6 months"


def test_scenarios_save_new_versions_and_reload(app, app_db):
    at = pick_start(open_roi(app, mode="analyst"), "telecom_8k")
    at.text_input(key="roi_scenario_name").input("Board case")
    at.button[0].click()  # the form's submit button comes first in the form
    at = at.run()
    at.number_input(key="roi_w_annual_cost").set_value(900_000.0).run()
    at.text_input(key="roi_scenario_name").input("Board case")
    at.button[0].click()
    at = at.run()
    saved = cc.Store(app_db).list_scenarios()
    assert [(s.name, s.version) for s in saved] == [("Board case", 2), ("Board case", 1)]
    assert saved[0].inputs["annual_cost"] == 900_000 and saved[1].inputs["annual_cost"] == 600_000
    at.selectbox(key="roi_scenario_choice").set_value(("Board case", 1)).run()
    at.button(key="roi_scenario_load").click().run()
    assert not at.exception, at.exception
    assert at.number_input(key="roi_w_annual_cost").value == 600_000
    assert metrics(at)["Net benefit"] == "$35.5M"
    assert "Loaded “Board case” (version 1)." in [s.value for s in at.success]


def test_an_impossible_input_gets_a_clear_message_in_both_languages(app):
    at = pick_start(open_roi(app, mode="analyst"), "telecom_8k")
    at.number_input(key="roi_w_contacted").set_value(50_000).run()  # more contacts than customers
    assert not at.exception
    assert at.error[0].value == ("50,000 customers contacted a year is more than the 8,000 customers in the base. "
                                 "Contact at most every customer.")
    at.sidebar.radio(key="lang_choice").set_value("zh").run()  # the sidebar's language switch
    assert not at.exception
    assert at.error[0].value == "每年联系 50,000 位客户，超过了客户总数 8,000。联系人数不能超过客户总数。"


def test_export_buttons_are_offered(app):
    at = pick_start(open_roi(app), "telecom_8k")
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["One-page PDF", "PNG"]


def test_a_fresh_install_starts_from_a_programme_that_costs_something(app):
    """Investment and running cost are seeded from the active data (the published case's share of the base's
    lifetime value), so the first screen shows an ROI and a payback in months, not "–" and "Immediate"."""
    at = open_roi(app)
    assert not at.exception, at.exception
    ltv = at.session_state["roi_ltv"]
    assert at.session_state["roi_investment"] == round(5_000 * ltv * cc.INVESTMENT_PER_CUSTOMER) > 0
    assert at.session_state["roi_annual_cost"] == round(5_000 * ltv * cc.ANNUAL_COST_PER_CUSTOMER) > 0
    shown = metrics(at)
    assert shown["Payback"] == "2.6 months" and shown["ROI"] != "–"
    assert "Immediate" not in texts(at) and "paid back after 0.0 months" not in texts(at)


def test_a_published_case_draws_no_model_curve(trained_app):
    """With a champion that fits the active data the page draws its profit curve; a published case draws only
    its own month-by-month net benefit and says where its figures come from."""
    at = open_roi(trained_app)
    (curve,) = at.get("plotly_chart")
    assert chart_title(curve).startswith("Contacting the riskiest")
    at = pick_start(at, "telecom_8k")
    assert not at.exception, at.exception
    (chart,) = at.get("plotly_chart")
    assert chart_title(chart) == "Cumulative net benefit: the investment is paid back after 2.6 months"
    assert "Published case: 8,000 customers, 14.5% → 9.8%: the case's own figures" in texts(at)
    assert metrics(at)["Customers saved"] == "376"  # the case's, not the model's
    analyst = pick_start(open_roi(trained_app, mode="analyst"), "telecom_8k")
    assert not analyst.exception, analyst.exception
    assert not [c for c in analyst.get("plotly_chart") if chart_title(c).startswith("Contacting the riskiest")]
    assert "Model-driven figures use run" not in texts(analyst)


def _export_script():
    import streamlit as st

    import churn_core as cc
    from ui import roi_views as views

    views.init()
    start = st.session_state.get("want_start", "active")
    if start != "active":
        views._apply({**views._preset_values(cc.PRESETS[start]), "start": start})
    result = views.compute()
    st.write(views.one_page(result).subtitle)
    st.write(views.export_name(result))


@pytest.mark.parametrize("start", ["telecom_8k", "active"])
def test_the_export_of_a_published_case_names_the_case(trained_app_db, start):
    from streamlit.testing.v1 import AppTest

    from ui.roi_views import today

    at = AppTest.from_function(_export_script, default_timeout=60)
    at.session_state["want_start"] = start
    at.run()
    assert not at.exception, at.exception
    subtitle, name = (m.value for m in at.markdown)
    if start == "active":
        assert subtitle.startswith("Dataset ") and " · model 1 · " in subtitle
        assert name == f"churn-radar-roi-{today()}"
    else:
        assert subtitle == f"Published case: 8,000 customers, 14.5% → 9.8% · {today()}"
        assert "Dataset" not in subtitle and "model" not in subtitle
        assert name == f"churn-radar-roi-telecom_8k-{today()}"


def test_a_champion_trained_on_other_data_does_not_drive_the_figures(trained_app_db, tmp_path):
    """The active data is another file than the champion's: no holdout counts of other customers beside the
    active data's churn rate; one sentence says why, and the case uses the target churn rate."""
    path = tmp_path / "fewer.csv"
    cc.load_dataset(cc.BUNDLED_CSV).frame.head(3_000).to_csv(path, index=False)
    cc.Store(trained_app_db).save_dataset(cc.load_dataset(path))  # now active: version 2
    for mode in ("presentation", "analyst"):
        at = open_roi(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), mode=mode)
        assert not at.exception, at.exception
        shown = texts(at)
        assert "was trained on dataset v1, not on the active v2" in shown
        assert "the model reaches" not in shown and "Model-driven figures use run" not in shown
        assert not [c for c in at.get("plotly_chart") if chart_title(c).startswith("Contacting the riskiest")]
        assert at.session_state["roi_customers"] == 3_000 and at.session_state["roi_source"] == "manual"
    assert at.radio(key="roi_w_source").options == ["A target churn rate", "Retention success × customers reached"]


def test_a_new_session_starts_from_the_costs_of_the_last_scenario_saved_on_the_data(app, app_db):
    open_roi(app)  # seeds the database with the bundled data (version 1)
    inputs = cc.CaseInputs(customers=5_000, baseline_churn=0.14, target_churn=0.11, ltv=2_000, investment=50_000,
                           annual_cost=12_000).to_dict()
    store = cc.Store(app_db)
    store.save_scenario("Other data", inputs={**inputs, "investment": 1.0}, dataset_version=99)
    store.save_scenario("Board case", inputs=inputs, dataset_version=1)
    store.save_scenario("Newer, other data", inputs={**inputs, "investment": 2.0}, dataset_version=99)
    at = open_roi(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60))  # a new session
    assert not at.exception, at.exception
    assert (at.session_state["roi_investment"], at.session_state["roi_annual_cost"]) == (50_000, 12_000)


def test_a_payback_beyond_the_horizon_fits_its_big_number_box():
    """The ROI page's five KPI boxes hold about 10 Latin or 6 Chinese characters at 1400 px ('期限内无法收回' and
    'Beyond horizon' were cut)."""
    from churn_core.i18n import text

    assert text("roi.payback_never", lang="en", years=3) == "> 3 yr"
    assert len(text("roi.payback_never", lang="en", years=10)) <= 10
    assert len(text("roi.payback_never", lang="zh", years=10)) <= 6


@pytest.mark.parametrize("mode", ["presentation", "analyst"])
def test_the_chosen_currency_survives_switching_the_language(app, app_db, mode):
    """A currency chosen on the ROI page is the dataset's stored setting: en -> zh -> en keeps it, only the
    wording of the amounts (M or 万) follows the language."""
    from ui.roi_views import CURRENCIES

    at = pick_start(open_roi(app, mode=mode), "telecom_8k")
    at.selectbox(key="roi_w_currency").select_index(CURRENCIES.index("€")).run()
    assert not at.exception, at.exception
    assert metrics(at)["Value retained"] == "€37.6M"
    store = cc.Store(app_db)
    assert store.currency(store.active_version().version) == "€"  # stored with the data, not the session
    for lang, label, value, words in (
            ("zh", "保住的价值", "€3,760万", "终身风险价值，即 LTV × 流失人数：€"),
            ("en", "Value retained", "€37.6M", "lifetime value at risk, LTV × churners: €")):
        at.sidebar.radio(key="lang_choice").set_value(lang).run()
        assert not at.exception, at.exception
        assert metrics(at)[label] == value, (lang, metrics(at))
        assert words in texts(at)
        assert at.selectbox(key="roi_w_currency").value == "€"


def test_a_new_session_keeps_the_datasets_currency(app, app_db):
    at = open_roi(app, lang="zh")
    store = cc.Store(app_db)
    assert store.currency(store.active_version().version) == "$"  # the bundled data's locale, not the language
    assert metrics(at)["保住的价值"].startswith("$")
    store.set_currency(store.active_version().version, "£")
    fresh = open_roi(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60), lang="en")
    assert metrics(fresh)["Value retained"].startswith("£")


def test_money_inputs_show_their_value_with_separators(app):
    at = pick_start(open_roi(app, mode="analyst"), "telecom_8k")
    ltv = at.number_input(key="roi_w_ltv")
    assert ltv.value == 100_000 and "$100,000" in ltv.help  # a number input cannot group its digits itself
    assert "$" in at.number_input(key="roi_w_investment").help
