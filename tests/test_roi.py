"""churn_core.roi: business cases, profit curves against empulse, strategies, sensitivity."""

from dataclasses import replace

import numpy as np
import pytest
from empulse.metrics import empc_score, mpc_score

import churn_core as cc
from churn_core.roi import PRESETS, CaseInputs, Economics, business_case

# -- the published cases ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("preset", "saved", "retained", "cost", "roi_shown"), [
    pytest.param("telecom_8k", 376, 37_600_000, 2_100_000, "1690%", id="8k-customers"),
    pytest.param("telecom_12k", 732, 73_200_000, 3_200_000, "2188%", id="12k-customers"),
])
def test_published_cases(preset, saved, retained, cost, roi_shown):
    case = business_case(PRESETS[preset])
    assert case.customers_saved == saved
    assert case.value_retained == retained
    assert case.total_cost == cost
    assert case.net_benefit == retained - cost
    assert f"{case.roi:.0%}" == roi_shown


def test_the_printed_1671_percent_does_not_follow_from_its_inputs():
    """The write-up prints 1671% for the 8,000-customer case. Its own inputs give (37.6M − 2.1M) / 2.1M =
    16.905, i.e. 1690%. 1671% would need 37.19M retained (371.9 customers saved, not 376) or a cost of
    2.123M (not 1.5M + 0.6M), so the printed figure is an arithmetic slip and the dashboard shows 1690%."""
    case = business_case(PRESETS["telecom_8k"])
    assert case.roi == pytest.approx(35.5 / 2.1, abs=1e-6)
    assert round(case.roi * 100) == 1690
    assert (1 + 16.71) * 2_100_000 == pytest.approx(37_191_000)  # the value 1671% would need
    assert 37_600_000 / (1 + 16.71) == pytest.approx(2_123_094, abs=1)  # or the cost it would need


def test_200k_base_at_risk_and_saved():
    case = business_case(PRESETS["base_200k"])
    assert case.churners_per_year == 36_000
    assert case.value_at_risk == 144_000_000
    assert case.customers_saved == 12_000
    assert case.value_retained == 48_000_000
    assert case.roi is None  # nothing spent: no ratio to show


@pytest.mark.parametrize(("preset", "payback"), [
    # 1.5M paid back from 376 × 100,000 / 60 months − 50,000 running cost a month (was 0.49 months, the
    # whole lifetime value counted in month one).
    pytest.param("telecom_8k", 1_500_000 / (376 * 100_000 / 60 - 50_000), id="8k-customers"),
    pytest.param("telecom_12k", 2_000_000 / (732 * 100_000 / 60 - 100_000), id="12k-customers"),
])
def test_payback_of_the_published_cases_spreads_the_value_over_five_years(preset, payback):
    case = business_case(PRESETS[preset])
    assert case.lifetime_years == 5
    assert case.payback_months == pytest.approx(payback, abs=1e-6)
    assert f"{case.payback_months:.1f}" == {"telecom_8k": "2.6", "telecom_12k": "1.8"}[preset]


# 100 customers, 20% → 8% churn: 12 saved a year at LTV 100 over 5 years = 20 a month; running cost 5 a month.
HAND = CaseInputs(customers=100, baseline_churn=0.2, target_churn=0.08, ltv=100, investment=120, annual_cost=60)


def test_payback_by_hand():
    case = business_case(HAND)
    assert case.customers_saved == 12 and case.value_retained == 1_200 and case.total_cost == 180
    assert case.roi == pytest.approx(1_020 / 180)  # ROI still counts the whole lifetime value
    assert case.payback_months == 8  # 120 / (12 × 100 / 60 − 60 / 12) = 120 / 15
    months = case.cumulative().set_index("month")
    assert months.at[7, "net"] == pytest.approx(-15) and months.at[8, "net"] == pytest.approx(0)
    assert months.at[12, "value"] == pytest.approx(240)  # a fifth of the lifetime value arrives in year one
    assert business_case(replace(HAND, investment=127.5)).payback_months == 8.5  # interpolated within month 9


def test_a_longer_lifetime_pays_back_later_with_the_same_roi():
    cases = [business_case(replace(HAND, lifetime_years=years)) for years in (2, 5, 6)]
    paybacks = [c.payback_months for c in cases]
    assert paybacks == pytest.approx([120 / (12 * 100 / 24 - 5), 8, 120 / (12 * 100 / 72 - 5)])
    assert paybacks == sorted(paybacks) and len(set(paybacks)) == 3
    assert {(c.customers_saved, c.value_retained, c.net_benefit, c.roi) for c in cases} == {
        (12, 1_200, 1_020, cases[0].roi)}
    assert cases[0].roi == pytest.approx(1_020 / 180)


def test_payback_beyond_the_horizon_is_none_and_a_longer_horizon_reaches_it():
    slow = replace(HAND, investment=300)  # 300 / 15 = 20 months
    assert business_case(slow).payback_months is None
    two = business_case(replace(slow, horizon_years=2))
    # Year two's saves add another 20 a month from month 12: 300 = 15 × 12 + 35 × (m − 12).
    assert two.payback_months == pytest.approx(12 + (300 - 15 * 12) / 35, abs=1e-6)


def test_month_by_month_net_crosses_zero_at_the_payback():
    case = business_case(replace(PRESETS["telecom_8k"], horizon_years=2))
    months = case.cumulative().set_index("month")
    monthly = 376 * 100_000 / 60
    assert months.at[0, "net"] == -1_500_000  # the investment, up front
    assert months.at[1, "net"] == pytest.approx(monthly - 1_500_000 - 50_000)
    # By month 24 the first year's saves paid 24 months, the second year's 12; the rest arrives later.
    assert months.at[24, "value"] == pytest.approx(monthly * 36)
    assert months.at[24, "net"] == pytest.approx(monthly * 36 - 2_700_000)
    assert months.at[24, "net"] < case.net_benefit == 75_200_000 - 2_700_000
    slope = months.at[1, "net"] - months.at[0, "net"]
    assert -1_500_000 + slope * case.payback_months == pytest.approx(0, abs=10)  # payback kept to 1e-6 months


def test_a_lifetime_ending_inside_a_month_is_interpolated_exactly():
    # 0.1 years = 1.2 months of 1,000 a month: 1,100 is paid back at 1.1 months (not 1.5, the straight
    # line from month 1 to month 2), and once the lifetime has run out all the value has arrived.
    case = business_case(CaseInputs(customers=100, baseline_churn=0.2, target_churn=0.08, ltv=100,
                                    lifetime_years=0.1, investment=1_100, horizon_years=2))
    assert case.payback_months == pytest.approx(1.1)
    assert case.cumulative().set_index("month").at[24, "net"] == pytest.approx(case.net_benefit)


def test_lifetime_defaults_to_the_remaining_years_of_an_annual_value():
    parts = replace(PRESETS["telecom_8k"], ltv=None, annual_value=25_000, remaining_years=4)
    assert business_case(parts).lifetime_years == 4
    assert business_case(parts).payback_months == pytest.approx(1_500_000 / (376 * 25_000 / 12 - 50_000))
    assert business_case(replace(parts, lifetime_years=5)).payback_months == \
        business_case(PRESETS["telecom_8k"]).payback_months


def test_ltv_from_annual_value_and_remaining_years():
    by_ltv = business_case(PRESETS["telecom_8k"])
    by_parts = business_case(replace(PRESETS["telecom_8k"], ltv=None, annual_value=25_000, remaining_years=4))
    assert by_parts.ltv == 100_000
    assert by_parts.value_retained == by_ltv.value_retained


def test_retention_success_times_customers_reached():
    case = business_case(CaseInputs(customers=10_000, baseline_churn=0.2, retention_success=0.25, contacted=2_000,
                                    ltv=1_000, contact_cost=5, incentive_cost=20))
    assert case.customers_saved == 500
    assert case.target_churn == pytest.approx(0.15)
    assert case.total_cost == 2_000 * 25  # everyone contacted is offered the incentive by default
    assert case.net_benefit == 500_000 - 50_000


def test_accepting_limits_the_incentive_cost():
    inputs = CaseInputs(customers=10_000, baseline_churn=0.2, target_churn=0.19, ltv=1_000, contacted=2_000,
                        contact_cost=5, incentive_cost=20, accepting=600)
    assert business_case(inputs).total_cost == 2_000 * 5 + 600 * 20


def test_horizon_repeats_savings_and_running_costs_not_the_investment():
    one = business_case(PRESETS["telecom_8k"])
    three = business_case(replace(PRESETS["telecom_8k"], horizon_years=3))
    assert three.customers_saved == 3 * one.customers_saved
    assert three.value_retained == 3 * one.value_retained
    assert three.total_cost == 1_500_000 + 3 * 600_000
    assert three.payback_months == one.payback_months


def test_payback_never_when_running_costs_exceed_the_value():
    case = business_case(CaseInputs(customers=1_000, baseline_churn=0.1, target_churn=0.099, ltv=100,
                                    investment=10, annual_cost=1_000))
    assert case.payback_months is None
    assert case.net_benefit < 0 and case.roi < 0


@pytest.mark.parametrize(("changes", "match"), [
    pytest.param({"baseline_churn": 1.5}, r"'baseline_churn' parameter must be a number in \[0, 1\]. Got 1.5",
                 id="rate-above-one"),
    pytest.param({"target_churn": None}, "needs either 'target_churn' or 'retention_success'", id="no-target"),
    pytest.param({"ltv": None}, "needs the value of a customer: 'ltv', or 'annual_value'", id="no-value"),
    pytest.param({"contacted": 9_000}, r"'contacted' parameter \(9,000\) is larger than the customer base",
                 id="too-many-contacts"),
    pytest.param({"investment": -1}, r"'investment' parameter must be a number in \[0, inf\]. Got -1",
                 id="negative-money"),
    pytest.param({"customers": 0}, "'customers' parameter must be a number", id="empty-base"),
    pytest.param({"lifetime_years": 0}, r"'lifetime_years' parameter must be a number in \(0, inf\]. Got 0 "
                 r"instead. Give the years a saved customer stays", id="zero-lifetime"),
    pytest.param({"lifetime_years": -2.5}, r"'lifetime_years' parameter .* Got -2.5 instead", id="negative-lifetime"),
    pytest.param({"lifetime_years": float("inf")}, r"'lifetime_years' parameter .* Got inf instead",
                 id="endless-lifetime"),
    pytest.param({"lifetime_years": float("nan")}, r"'lifetime_years' parameter .* Got nan instead",
                 id="nan-lifetime"),
])
def test_bad_inputs_say_what_and_how(changes, match):
    with pytest.raises(cc.ParameterError, match=match):
        replace(PRESETS["telecom_8k"], **changes)


def test_inputs_round_trip_and_reject_unknown_names():
    inputs = PRESETS["telecom_12k"]
    assert CaseInputs.from_dict(inputs.to_dict()) == inputs
    with pytest.raises(cc.ParameterError, match=r"Unknown business-case inputs \['ltv_per_customer'\]"):
        CaseInputs.from_dict({**inputs.to_dict(), "ltv_per_customer": 1})


def test_summary_in_both_languages():
    case = business_case(PRESETS["telecom_8k"])
    en = cc.summary_text(case, lang="en", currency="$")
    zh = cc.summary_text(case, lang="zh", currency="¥")
    assert "376 customers worth $37.6M" in en and "ROI 1690%" in en and "paid back within 2.6 months" in en
    assert en.endswith("ROI is first-year ROI as the published cases define it (a saved customer's whole lifetime "
                       "value counts when the customer is saved); payback spreads that value over a 5-year customer "
                       "lifetime.")
    assert "挽留 376 位客户" in zh and "¥3,760万" in zh and "投资回报率 1690%" in zh and "2.6 个月收回投资" in zh
    assert "首年投资回报率" in zh and "5 年的客户生命周期" in zh
    longer = business_case(replace(PRESETS["telecom_8k"], horizon_years=3, lifetime_years=7.5))
    assert "ROI is 3-year ROI" in cc.roi_note(longer) and "7.5-year customer lifetime" in cc.roi_note(longer)
    with pytest.raises(cc.ParameterError, match="'lang' parameter must be one of"):
        cc.summary_text(case, lang="fr")


# -- sensitivity ------------------------------------------------------------------------------------------

def test_tornado_moves_each_assumption_twenty_percent():
    result = cc.sensitivity(PRESETS["telecom_8k"])
    table = result.table.set_index("assumption")
    assert result.base_net_benefit == 35_500_000
    # Value retained is proportional to LTV, base size and the churn reduction: ±20% moves it ±7.52M.
    for name in ("ltv", "customers", "churn_reduction"):
        assert table.at[name, "net_high"] - result.base_net_benefit == pytest.approx(0.2 * 37_600_000, rel=1e-6)
    assert table.at["investment", "net_low"] - result.base_net_benefit == pytest.approx(300_000)
    assert table.at["annual_cost", "swing"] == pytest.approx(240_000)
    assert "contact_cost" not in table.index  # zero: nothing to move
    assert list(result.table["swing"]) == sorted(result.table["swing"], reverse=True)


def test_tornado_change_is_checked():
    with pytest.raises(cc.ParameterError, match="'change' parameter must be a number in"):
        cc.sensitivity(PRESETS["telecom_8k"], change=2)


# -- profit curves ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ranked():
    """A realistic out-of-sample ranking: 3,000 customers, 14% churn, overlapping scores with ties."""
    rng = np.random.default_rng(7)
    y = (rng.random(3_000) < 0.14).astype(int)
    score = np.round(np.clip(0.25 * y + 0.75 * rng.beta(2, 5, 3_000), 0, 1), 3)
    return y, score


ECONOMICS = [
    pytest.param(Economics(clv=200, incentive_cost=10, contact_cost=1), id="paper-defaults"),
    pytest.param(Economics(clv=2_000, incentive_cost=150, contact_cost=15, alpha=3, beta=7), id="telecom"),
    pytest.param(Economics(clv=50, incentive_cost=20, contact_cost=5, alpha=2, beta=18), id="thin-margin"),
]


@pytest.mark.parametrize("economics", ECONOMICS)
def test_empc_is_empulses(ranked, economics):
    y, score = ranked
    curve = cc.profit_curve(y, score, economics=economics)
    assert curve.empc == pytest.approx(empc_score(y, score, **economics.empulse_parameters()))


@pytest.mark.parametrize("economics", ECONOMICS)
def test_the_marked_optimum_is_the_drawn_curves_maximum(ranked, economics):
    y, score = ranked
    curve = cc.profit_curve(y, score, economics=economics)
    best, profit = curve.best, curve.table["profit"]
    assert best["profit"] == profit.max() and (best["profit"] >= profit).all()
    assert best["rate"] == curve.optimal_rate and best["threshold"] == curve.optimal_threshold
    contacted = score >= curve.optimal_threshold
    assert contacted.mean() == pytest.approx(curve.optimal_rate)
    assert best["profit"] == pytest.approx(economics.profit(y[contacted].sum(), (1 - y[contacted]).sum()) / len(y))
    # EMPC's own "optimal" cut (an average over γ of the best cut) earns no more at the mean acceptance.
    empc_cut = score >= empc_score.optimal_threshold(y, score, **economics.empulse_parameters())
    assert economics.profit(y[empc_cut].sum(), (1 - y[empc_cut]).sum()) / len(y) <= best["profit"] + 1e-12


def test_the_paper_defaults_optimum_beats_the_point_nearest_empcs_rate(ranked):
    """Before: the page marked the point nearest empulse's EMPC-optimal rate, 26.4% here, below the curve's top."""
    y, score = ranked
    econ = ECONOMICS[0].values[0]
    curve = cc.profit_curve(y, score, economics=econ)
    empc_rate = empc_score.optimal_rate(y, score, **econ.empulse_parameters())
    nearest = curve.table.iloc[int((curve.table["rate"] - empc_rate).abs().argmin())]
    assert curve.optimal_rate == pytest.approx(0.253) and empc_rate == pytest.approx(0.2635, abs=1e-4)
    assert nearest["profit"] < curve.best["profit"]


@pytest.mark.parametrize("economics", ECONOMICS)
def test_curve_peak_is_empulses_maximum_profit(ranked, economics):
    y, score = ranked
    curve = cc.profit_curve(y, score, economics=economics)  # the best cut is drawn, however coarse the grid
    accept = {"accept_rate": economics.acceptance, "clv": economics.clv,
              "incentive_cost": economics.incentive_cost, "contact_cost": economics.contact_cost}
    mpc = mpc_score(y, score, **accept)
    assert curve.table["profit"].max() == pytest.approx(mpc, rel=1e-9, abs=1e-12)
    assert curve.optimal_rate == pytest.approx(mpc_score.optimal_rate(y, score, **accept))
    assert cc.max_profit(y, score, economics=economics) == pytest.approx(
        (mpc, mpc_score.optimal_rate(y, score, **accept)))


def test_ties_go_to_the_fewest_contacts():
    econ = Economics(clv=100, incentive_cost=10, contact_cost=1, alpha=5, beta=5)  # a churner 44, a loyal −11
    y, score = [1, 0, 0, 0, 0, 1], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]  # 44 after the first and after all six
    curve = cc.profit_curve(y, score, economics=econ, points=7)
    assert curve.table["profit"].tolist().count(44 / 6) == 2
    assert (curve.optimal_rate, curve.optimal_threshold) == (pytest.approx(1 / 6), 0.9)
    assert cc.compare_strategies(y, score, economics=econ).row("optimal")["contacted"] == 1


def test_when_no_cut_pays_the_optimum_is_contacting_nobody(ranked):
    y, score = ranked
    econ = ECONOMICS[2].values[0]  # thin margin: every contact loses money on average
    curve = cc.profit_curve(y, score, economics=econ)
    assert curve.optimal_rate == 0 and curve.optimal_threshold == float("inf") and curve.best["profit"] == 0
    assert cc.compare_strategies(y, score, economics=econ).row("optimal")["contacted"] == 0


def test_curve_by_hand_on_four_customers():
    econ = Economics(clv=100, incentive_cost=10, contact_cost=1, alpha=5, beta=5)  # E[γ] = 0.5
    curve = cc.profit_curve([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], economics=econ, points=5)
    by_rate = curve.table.set_index("rate")["profit"]
    assert by_rate[0.0] == 0
    assert by_rate[0.25] == pytest.approx((0.5 * 90 - 1) / 4)  # one churner: 44 earned
    assert by_rate[0.5] == pytest.approx((44 - 11) / 4)  # plus one loyal customer taking the incentive
    assert by_rate[1.0] == pytest.approx((2 * 44 - 2 * 11) / 4)
    low, high = curve.table[["profit_low", "profit_high"]].iloc[1]
    assert low < by_rate[0.25] < high


def test_band_comes_from_the_acceptance_quantiles(ranked):
    y, score = ranked
    econ = Economics(clv=200, incentive_cost=10, contact_cost=1)
    curve = cc.profit_curve(y, score, economics=econ, band=(0.1, 0.9))
    row = curve.table.iloc[len(curve.table) // 3]
    from scipy.stats import beta

    gamma = beta.ppf(0.1, 6, 14)
    assert row["profit_low"] == pytest.approx(econ.profit(row["churners"], row["loyal"], gamma=gamma))
    assert (curve.table["profit_low"] <= curve.table["profit_high"] + 1e-12).all()


def _same_rates(a, b):
    """Two curves of one ranking, side by side at the contact rates both drew (each adds its own optimum)."""
    return a.table[["rate", "profit"]].merge(b.table[["rate", "profit"]], on="rate", suffixes=("_a", "_b"))


@pytest.mark.parametrize("seed", range(5))
def test_higher_acceptance_never_lowers_profit(ranked, seed):
    y, score = ranked
    rng = np.random.default_rng(seed)
    money = dict(clv=float(rng.uniform(50, 5_000)), incentive_cost=float(rng.uniform(0, 200)),
                 contact_cost=float(rng.uniform(0, 50)))
    low, high = sorted(rng.uniform(0.05, 0.95, 2))
    a = cc.profit_curve(y, score, economics=Economics.with_acceptance(low, **money))
    b = cc.profit_curve(y, score, economics=Economics.with_acceptance(high, **money))
    both = _same_rates(a, b)
    assert len(both) > 150 and (both["profit_b"] >= both["profit_a"] - 1e-12).all()
    assert b.empc >= a.empc - 1e-12


@pytest.mark.parametrize("cost", ["incentive_cost", "contact_cost"])
def test_higher_cost_never_raises_profit(ranked, cost):
    y, score = ranked
    base = Economics(clv=500, incentive_cost=20, contact_cost=5)
    dearer = replace(base, **{cost: getattr(base, cost) * 1.5})
    a, b = cc.profit_curve(y, score, economics=base), cc.profit_curve(y, score, economics=dearer)
    both = _same_rates(a, b)
    assert len(both) > 150 and (both["profit_b"] <= both["profit_a"] + 1e-12).all()
    assert b.empc <= a.empc
    case = business_case(PRESETS["telecom_8k"])
    for field in ("investment", "annual_cost"):
        assert business_case(replace(PRESETS["telecom_8k"], **{field: 9e6})).net_benefit < case.net_benefit


@pytest.mark.parametrize(("y", "score", "match"), [
    pytest.param([0, 0, 0], [0.1, 0.2, 0.3], "Every customer in the sample has churn = 0", id="constant"),
    pytest.param([0, 1], [0.1], "same, non-zero length", id="lengths"),
    pytest.param([0, 2], [0.1, 0.2], "Labels must be 0/1", id="not-binary"),
])
def test_curve_rejects_unusable_predictions(y, score, match):
    with pytest.raises(cc.ChurnCoreError, match=match):
        cc.profit_curve(y, score)


# -- strategies ---------------------------------------------------------------------------------------------

def test_strategies_on_the_same_customers(ranked):
    y, score = ranked
    econ = Economics(clv=2_000, incentive_cost=100, contact_cost=10)
    rules = score > np.quantile(score, 0.7)
    result = cc.compare_strategies(y, score, economics=econ, top_k=0.1, rule_mask=rules, customers=30_000)
    t = result.table.set_index("strategy")
    scale = 30_000 / len(y)
    assert list(t.index) == list(cc.STRATEGIES)
    assert t.loc["nobody", ["contacted", "profit"]].tolist() == [0, 0]
    assert t.at["everyone", "contacted"] == pytest.approx(30_000)
    assert t.at["everyone", "profit"] == pytest.approx(econ.profit(y.sum(), len(y) - y.sum()) * scale)
    assert t.at["rules", "contacted"] == pytest.approx(rules.sum() * scale)
    assert t.at["top_k", "rate"] == pytest.approx(0.1)
    curve = cc.profit_curve(y, score, economics=econ)
    cut = score >= curve.optimal_threshold  # the optimal strategy contacts the cut the curve marks
    assert t.at["optimal", "churners_reached"] == pytest.approx(y[cut].sum() * scale)
    assert t.at["optimal", "rate"] == pytest.approx(curve.optimal_rate)
    assert t.at["optimal", "profit"] == pytest.approx(curve.best["profit"] * 30_000)
    # Random at the optimal share earns that share of contacting everyone.
    assert t.at["random", "profit"] == pytest.approx(cut.mean() * t.at["everyone", "profit"])
    assert t.at["optimal", "profit"] > max(t.at["random", "profit"], t.at["everyone", "profit"], 0)
    assert (t["value_retained"] - t["cost"]).to_numpy() == pytest.approx(t["profit"].to_numpy())
    assert (t["profit_low"] <= t["profit"]).all() and (t["profit"] <= t["profit_high"]).all()


def test_rule_mask_must_match_the_customers(ranked):
    y, score = ranked
    with pytest.raises(cc.ParameterError, match="'rule_mask' has 3 entries for 3,000 customers"):
        cc.compare_strategies(y, score, rule_mask=[True, False, True])


def test_targeting_inputs_make_a_business_case_with_the_same_profit(ranked):
    y, score = ranked
    econ = Economics(clv=2_000, incentive_cost=100, contact_cost=10)
    result = cc.compare_strategies(y, score, economics=econ, customers=30_000)
    inputs = cc.targeting_inputs(result, baseline_churn=float(y.mean()))
    case = business_case(inputs)
    assert case.net_benefit == pytest.approx(result.row("optimal")["profit"], rel=1e-6)
    assert case.customers_saved == pytest.approx(result.row("optimal")["saved"], rel=1e-6)
    with_investment = business_case(cc.targeting_inputs(result, baseline_churn=float(y.mean()), investment=1e5))
    assert with_investment.net_benefit == pytest.approx(case.net_benefit - 1e5, rel=1e-6)


def test_out_of_sample_uses_the_holdout_predictions(trained_db):
    store = cc.Store(trained_db)
    champion = store.champion()
    run = store.get_run(champion.run_id)
    dataset = store.load_dataset(run.dataset_version)
    oos = cc.out_of_sample(dataset, store=store, run_id=run.id, model=champion.model)
    holdout = store.load_predictions(run.id, champion.model)
    assert len(oos.y) == len(holdout) < dataset.n_rows  # the holdout, not the training rows
    assert oos.score.tolist() == holdout["proba"].tolist()
    masks, _ = cc.segment_masks(dataset)
    expected = masks.to_numpy()[holdout["row_index"].to_numpy()].sum(axis=1) >= 2
    assert oos.rule_mask.tolist() == expected.tolist() and 0 < oos.rule_mask.sum() < len(oos.y)
    curve = cc.profit_curve(oos.y, oos.score, economics=Economics(clv=2_000, incentive_cost=100, contact_cost=10))
    assert curve.empc > 0 and 0 < curve.optimal_rate < 0.5  # a good model contacts a minority, profitably
    with pytest.raises(cc.SchemaError, match="stored no holdout predictions for 'random_forest'"):
        cc.out_of_sample(dataset, store=store, run_id=run.id, model="random_forest")


def test_a_given_threshold_is_the_optimal_cut(ranked):
    y, score = ranked
    econ = Economics(clv=2_000, incentive_cost=100, contact_cost=10)
    curve = cc.profit_curve(y, score, economics=econ)
    given = cc.compare_strategies(y, score, economics=econ, threshold=curve.optimal_threshold).table
    assert given.equals(cc.compare_strategies(y, score, economics=econ).table)
    stricter = cc.compare_strategies(y, score, economics=econ, threshold=0.99).row("optimal")
    assert stricter["contacted"] == (score >= 0.99).sum()


# -- which figures the model may drive, and the costs a new case starts from ------------------------------

def test_the_champion_drives_the_figures_only_of_the_data_it_was_trained_on(trained_db, tmp_path):
    store = cc.Store(trained_db)
    champion, v1 = store.champion(), store.active_version()
    fit = cc.model_fit(v1, store=store, champion=champion)
    assert (fit.usable, fit.reason, fit.trained_on, fit.run_id) == (True, "fits", 1, champion.run_id)
    # Another version with the same file content (e.g. saved again with other roles) is the same customers.
    assert cc.model_fit(replace(v1, version=99), store=store, champion=champion).usable

    path = tmp_path / "fewer.csv"
    cc.load_dataset(cc.BUNDLED_CSV).frame.head(3_000).to_csv(path, index=False)
    v2 = store.save_dataset(cc.load_dataset(path))
    other = cc.model_fit(v2, store=store, champion=champion)
    assert (other.usable, other.reason, other.trained_on, other.dataset_version) == (False, "other_dataset", 1,
                                                                                      v2.version)
    assert cc.model_fit(v2, store=store, champion=None) == cc.ModelFit(usable=False, reason="no_champion",
                                                                       dataset_version=v2.version)


def test_default_costs_are_the_published_case_at_the_datas_scale():
    """At the 8,000-customer case's size and value they are its costs; they scale with customers and value."""
    assert cc.default_costs(8_000, ltv=100_000) == {"investment": 1_500_000, "annual_cost": 600_000}
    assert cc.default_costs(4_000, ltv=2_000) == {"investment": 15_000, "annual_cost": 6_000}
    case = business_case(CaseInputs(customers=4_000, baseline_churn=0.145, target_churn=0.098, ltv=2_000,
                                    **cc.default_costs(4_000, ltv=2_000)))
    assert case.payback_months == pytest.approx(business_case(PRESETS["telecom_8k"]).payback_months)


@pytest.mark.parametrize(("customers", "ltv", "name"), [
    pytest.param(0, 100.0, "customers", id="no-customers"),
    pytest.param(10, -1.0, "ltv", id="negative-ltv"),
])
def test_default_costs_reject_impossible_bases(customers, ltv, name):
    with pytest.raises(cc.ParameterError, match=f"The '{name}' parameter must be a number"):
        cc.default_costs(customers, ltv=ltv)


# -- the one-page export (churn_core.roi_page) --------------------------------------------------------------

def test_one_page_of_a_case_without_a_model_draws_the_cumulative_net_benefit():
    from churn_core import roi_page

    case = business_case(PRESETS["telecom_8k"])
    page = roi_page.one_page(case, subtitle=roi_page.case_subtitle("telecom_8k", date="2026-01-02"), currency="$")
    assert page.subtitle == "Published case: 8,000 customers, 14.5% → 9.8% · 2026-01-02"
    assert dict(page.kpis) == {"Customers saved": "376", "Value retained": "$37.6M", "Net benefit": "$35.5M",
                               "ROI": "1690%", "Payback": "2.6 months"}
    assert page.chart_title == "Cumulative net benefit, month by month"
    assert page.chart.x == tuple(float(m) for m in range(13)) and page.chart.y[-1] < case.net_benefit
    assert page.chart.marker[2] == "Payback: 2.6 months"
    assert page.summary == cc.summary_text(case, currency="$")
    assert roi_page.export_name("telecom_8k", date="2026-01-02") == "churn-radar-roi-telecom_8k-2026-01-02"
    assert roi_page.case_subtitle(None, date="2026-01-02", lang="zh") == "自定假设 · 2026-01-02"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_one_page_of_a_model_driven_case_draws_the_profit_curve(lang):
    from churn_core import roi_page

    rng = np.random.default_rng(0)
    y = rng.random(2_000) < 0.15
    score = np.clip(y * 0.4 + rng.random(2_000) * 0.6, 0, 1)
    curve = cc.profit_curve(y, score, economics=Economics(clv=500.0))
    case = business_case(CaseInputs(customers=2_000, baseline_churn=0.15, target_churn=0.1, ltv=500.0,
                                    contacted=300, contact_cost=10, incentive_cost=100))
    page = roi_page.one_page(case, subtitle="s", lang=lang, currency="¥", source="model", curve=curve,
                             customers=2_000, acceptance=0.3)
    assert page.chart_title == cc.i18n.text("roi.pdf_curve", lang=lang)
    assert page.chart.low is not None and len(page.chart.x) == len(curve.table)
    assert page.chart.marker[1] == pytest.approx(float(curve.best["profit"]) * 2_000)
    names = dict(page.assumptions)
    assert names[cc.i18n.text("roi.a.acceptance", lang=lang)] == "30.0%"
    assert names[cc.i18n.text("roi.a.contacted", lang=lang)] == "300"
    assert names[cc.i18n.text("roi.a.source", lang=lang)] == cc.i18n.text("roi.source.model", lang=lang)


def test_one_page_names_a_bad_language():
    from churn_core import roi_page

    with pytest.raises(cc.ParameterError, match="The 'lang' parameter must be one of"):
        roi_page.one_page(business_case(PRESETS["telecom_8k"]), subtitle="s", lang="fr")
